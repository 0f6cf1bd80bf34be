"""The hash chain: each record's SHA-256 covers its canonical JSON and the previous record's hash.

``hash(n) = sha256(hash(n-1) + canonical_json(record n without its hash))``, with 64 zeros before
the first record. The canonical JSON has sorted keys and no spaces; ``data`` and ``meta`` are
embedded as they are stored (themselves canonical JSON), so the stored text is what is hashed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from hashlib import sha256
from json.encoder import encode_basestring as _string

from .errors import UsageError, VerificationError
from .store import StoredEvent

GENESIS = "0" * 64


def record_body(
    seq: int,
    id: str,
    stream: str,
    version: int,
    type: str,
    schema: int,
    occurred_at: str,
    recorded_at: str,
    data: str,
    meta: str,
) -> str:
    """The canonical JSON of a record without its hash (keys in sorted order)."""
    return (
        f'{{"data":{data},"id":{_string(id)},"meta":{meta},'
        f'"occurred_at":{_string(occurred_at)},"recorded_at":{_string(recorded_at)},'
        f'"schema":{schema},"seq":{seq},"stream":{_string(stream)},'
        f'"type":{_string(type)},"version":{version}}}'
    )


def link(previous: str, body: str) -> str:
    """The hash of a record whose canonical JSON is ``body``, after the record hashed ``previous``."""
    return sha256((previous + body).encode("utf-8")).hexdigest()


_HASH = re.compile(r"[0-9a-f]{64}")


def pinned_hash(head: object) -> str:
    """A head hash given to ``verify``: 64 hexadecimal digits, in either case, spaces around
    them ignored; ``UsageError`` for anything else (a mistake, not a sign of tampering)."""
    text = head.strip().lower() if isinstance(head, str) else None
    if text is not None and _HASH.fullmatch(text):
        return text
    parts = text.split() if text is not None else []
    hint = (": give the hash alone, the second field of what `gigaledger head` prints"
            if len(parts) == 2 and _HASH.fullmatch(parts[1]) else
            ": expected the 64 hexadecimal digits of a record's hash (`gigaledger head` prints "
            "the last one)")
    raise UsageError(f"head: {head!r} is not a hash{hint}")


class Verified(tuple[int, str]):
    """What a verification found: ``(records, head hash)``, a pair as before, with
    ``pinned_seq``: the seq whose hash is the pinned head that was asked for (0 for the hash
    before the first record; None when no head was pinned)."""

    pinned_seq: int | None

    def __new__(cls, records: int, head: str, pinned_seq: int | None = None) -> Verified:
        found = super().__new__(cls, (records, head))
        found.pinned_seq = pinned_seq
        return found

    @property
    def records(self) -> int:
        return self[0]

    @property
    def head(self) -> str:
        return self[1]

    def __repr__(self) -> str:
        return f"Verified(records={self[0]}, head={self[1]!r}, pinned_seq={self.pinned_seq})"


def verify_rows(rows: Iterable[StoredEvent], head: str | None = None) -> Verified:
    """Check seq contiguity, stream versions and every hash; return (count, head hash), as a
    ``Verified`` that also says where the pinned ``head`` is.

    ``rows`` are stored rows in seq order: (seq, id, stream, version, type, schema, occurred_at,
    recorded_at, data, meta, hash). ``head``, when given, is a hash pinned outside the file: the
    chain must contain it, which catches a truncated tail. Raises ``VerificationError`` naming the
    first bad seq.
    """
    previous = GENESIS
    expected = 1
    versions: dict[str, int] = {}
    pinned = 0 if head == GENESIS else None
    for seq, id, stream, version, type, schema, occurred, recorded, data, meta, stored in rows:
        if seq != expected:
            if seq > expected:
                raise VerificationError(f"seq {expected} is missing (next is {seq})", seq=expected)
            raise VerificationError(f"seq {seq} is out of order (expected {expected})", seq=seq)
        last = versions.get(stream, 0)
        if version != last + 1:
            raise VerificationError(
                f"seq {seq}: stream {stream!r} version {version} does not follow {last}", seq=seq
            )
        versions[stream] = version
        computed = link(previous, record_body(seq, id, stream, version, type, schema,
                                              occurred, recorded, data, meta))
        if computed != stored:
            raise VerificationError(f"seq {seq}: hash does not match the record", seq=seq)
        if pinned is None and stored == head:
            pinned = seq
        previous = stored
        expected += 1
    if head is not None and pinned is None:
        raise VerificationError(
            f"the pinned head {head} is not in the chain, which ends at seq {expected - 1}: "
            "records were removed from the tail, or the hash is not of this ledger",
            seq=expected,
        )
    return Verified(expected - 1, previous, pinned)
