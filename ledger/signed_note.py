"""Signed notes and their keys, as C2SP ``signed-note`` and Go's ``golang.org/x/mod/sumdb/note``
write them, with Ed25519 (the ``cryptography`` package): keys made by other implementations sign
and verify here, and notes signed here open there.

- signer key: ``PRIVATE+KEY+<name>+<key id, 8 hex>+<base64(0x01 ‖ 32-byte seed)>``;
- verifier key: ``<name>+<key id, 8 hex>+<base64(0x01 ‖ 32-byte public key)>``;
- key id: the first 4 bytes (big-endian) of SHA-256(name ‖ "\\n" ‖ 0x01 ‖ public key);
- a signed note: text ending in a newline, a blank line, then lines
  ``— <name> <base64(key id ‖ signature)>``, each signature over the text.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Sequence

from typing import TYPE_CHECKING

import attrs

from .errors import LedgerError

if TYPE_CHECKING:  # imported when first used: the command line starts without it
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

#: The algorithm byte of Ed25519 keys, the only kind signed notes define.
ALG_ED25519 = 1
SIGNATURE_PREFIX = "— "
#: More signatures than this make a note malformed (as in Go's implementation).
MAX_SIGNATURES = 100


class NoteError(LedgerError, ValueError):
    """A key or a note that cannot be used, or a signature that does not hold."""


def valid_name(name: str) -> bool:
    """A key name: non-empty, no spaces, no ``+``."""
    return bool(name) and "+" not in name and not any(char.isspace() for char in name)


def key_id(name: str, public_key: bytes) -> int:
    """The 32-bit id of an Ed25519 public key under a name."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError(f"{text[:20]!r}: not base64") from None


def _parts(text: str, count: int, what: str) -> list[str]:
    parts = text.strip().split("+", count - 1)
    if len(parts) != count:
        raise NoteError(f"not a {what}: expected {count} fields separated by '+'")
    return parts


def _key_body(name: str, hex_id: str, data: str, what: str) -> tuple[int, bytes]:
    if not valid_name(name):
        raise NoteError(f"not a {what}: the name {name!r} is empty or has a space or a '+'")
    if len(hex_id) != 8 or any(char not in "0123456789abcdefABCDEF" for char in hex_id):
        raise NoteError(f"not a {what}: the key id {hex_id!r} is not 8 hex digits")
    raw = _b64(data)
    if not raw or raw[0] != ALG_ED25519:
        raise NoteError(f"not a {what}: unknown algorithm (only Ed25519, 0x01, is known)")
    if len(raw) != 33:
        raise NoteError(f"not a {what}: an Ed25519 key has 32 bytes, not {len(raw) - 1}")
    return int(hex_id, 16), raw[1:]


@attrs.frozen
class Verifier:
    """A public key that checks signatures by one name."""

    name: str
    id: int
    public_key: bytes = attrs.field(repr=False)

    @classmethod
    def from_text(cls, text: str) -> Verifier:
        """Parse ``<name>+<id>+<base64>``; the id must be that of the key."""
        if text.strip().startswith("PRIVATE+KEY+"):
            raise NoteError("this is a signer key (secret), not a verifier key: give the .pub "
                            "file that gigaledger keygen wrote beside it")
        if "\n\u2014 " in text:  # a signature line: a signed note, e.g. a checkpoint
            raise NoteError("this is a signed note (a checkpoint?), not a verifier key: give the "
                            "one-line .pub file that gigaledger keygen wrote")
        name, hex_id, data = _parts(text, 3, "verifier key")
        claimed, public = _key_body(name, hex_id, data, "verifier key")
        if key_id(name, public) != claimed:
            raise NoteError(f"verifier key {name}: the key id {hex_id} is not that of the key")
        return cls(name, claimed, public)

    @property
    def text(self) -> str:
        data = base64.b64encode(bytes([ALG_ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.id:08x}+{data}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


@attrs.frozen
class Signer:
    """A private key that signs under a name. Keep its text secret."""

    name: str
    id: int
    seed: bytes = attrs.field(repr=False)

    @classmethod
    def generate(cls, name: str) -> Signer:
        """A new random key pair for ``name``."""
        if not valid_name(name):
            raise NoteError(f"key name {name!r}: expected non-empty text without spaces or '+'")
        return cls.from_seed(name, _private(None).private_bytes_raw())

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> Signer:
        """The key of a 32-byte Ed25519 seed, under ``name``."""
        if len(seed) != 32:
            raise NoteError(f"an Ed25519 seed has 32 bytes, not {len(seed)}")
        return cls(name, key_id(name, _public_bytes(seed)), seed)

    @classmethod
    def from_text(cls, text: str) -> Signer:
        """Parse ``PRIVATE+KEY+<name>+<id>+<base64>``; the id must be that of the key."""
        private, key, name, hex_id, data = _parts(text, 5, "signer key")
        if (private, key) != ("PRIVATE", "KEY"):
            raise NoteError("not a signer key: it does not start with PRIVATE+KEY+")
        claimed, seed = _key_body(name, hex_id, data, "signer key")
        signer = cls.from_seed(name, seed)
        if signer.id != claimed:
            raise NoteError(f"signer key {name}: the key id {hex_id} is not that of the key")
        return signer

    @property
    def text(self) -> str:
        data = base64.b64encode(bytes([ALG_ED25519]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.id:08x}+{data}"

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, self.id, _public_bytes(self.seed))

    def sign(self, message: bytes) -> bytes:
        return _private(self.seed).sign(message)


def _private(seed: bytes | None) -> Ed25519PrivateKey:
    """The Ed25519 private key of a seed (None: a new random one)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if seed is None:
        return Ed25519PrivateKey.generate()
    return Ed25519PrivateKey.from_private_bytes(seed)


def _public_bytes(seed: bytes) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return _private(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


@attrs.frozen
class Signature:
    """One signature line of a note: the name, the key id, and the base64 of id ‖ signature."""

    name: str
    id: int
    base64: str

    @property
    def line(self) -> str:
        return f"{SIGNATURE_PREFIX}{self.name} {self.base64}\n"


@attrs.frozen
class Note:
    """An opened note: its text, the signatures verified, and those by keys not given."""

    text: str
    signatures: tuple[Signature, ...]
    unverified: tuple[Signature, ...] = ()


def signature_line(signer: Signer, text: str) -> str:
    """The line that signs ``text`` with this key."""
    signed = signer.id.to_bytes(4, "big") + signer.sign(text.encode())
    return Signature(signer.name, signer.id, base64.b64encode(signed).decode()).line


def sign(text: str, signers: Iterable[Signer]) -> str:
    """The signed note: ``text`` (which must end in a newline), a blank line, a line per key."""
    check_text(text)
    lines = [signature_line(signer, text) for signer in signers]
    if not lines:
        raise NoteError("a note needs at least one signer")
    return text + "\n" + "".join(lines)


def check_text(text: str) -> None:
    """Refuse text a note cannot hold: no final newline, or control characters."""
    if not text.endswith("\n"):
        raise NoteError("malformed note: the text does not end in a newline")
    if any(char < " " and char != "\n" for char in text):
        raise NoteError("malformed note: a control character")


def _is_verifier_key(text: str) -> bool:
    try:
        Verifier.from_text(text.strip())
    except NoteError:
        return False
    return True


def open_note(message: str | bytes, verifiers: Sequence[Verifier]) -> Note:
    """Parse a signed note and check its signatures, as Go's ``note.Open`` does: a signature by
    a key given must hold, signatures by other keys are kept unverified, and at least one must
    be verified."""
    if isinstance(message, bytes):
        try:
            message = message.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("malformed note: not UTF-8") from None
    if any(char < " " and char != "\n" for char in message):
        raise NoteError("malformed note: a control character (a note's lines end in \\n alone)")
    split = message.rfind("\n\n")
    if split < 0:
        if _is_verifier_key(message):
            raise NoteError("this is a verifier key (a .pub file), not a signed note: give the "
                            "checkpoint that gigaledger checkpoint printed")
        raise NoteError("malformed note: no blank line before the signatures")
    text, block = message[:split + 1], message[split + 2:]
    if not block or not block.endswith("\n"):
        raise NoteError("malformed note: the signatures do not end in a newline")
    known: dict[tuple[str, int], list[Verifier]] = {}
    for verifier in verifiers:
        known.setdefault((verifier.name, verifier.id), []).append(verifier)
    verified: list[Signature] = []
    unverified: list[Signature] = []
    seen: set[tuple[str, int]] = set()
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"malformed note: more than {MAX_SIGNATURES} signatures")
    for line in lines:
        signature, raw = _signature(line)
        key = (signature.name, signature.id)
        found = known.get(key)
        if not found:
            if signature not in unverified:
                unverified.append(signature)
            continue
        if len(found) > 1:
            raise NoteError(f"ambiguous key {signature.name}+{signature.id:08x}")
        if key in seen:
            continue
        seen.add(key)
        if not found[0].verify(text.encode(), raw[4:]):
            raise NoteError(f"invalid signature for key {signature.name}+{signature.id:08x}")
        verified.append(signature)
    if not verified:
        names = ", ".join(f"{s.name}+{s.id:08x}" for s in unverified)
        raise NoteError(f"note has no verifiable signatures (signed by {names}; not by the key "
                        "given)")
    return Note(text, tuple(verified), tuple(unverified))


def _signature(line: str) -> tuple[Signature, bytes]:
    if not line.startswith(SIGNATURE_PREFIX):
        raise NoteError("malformed note: a signature line does not start with '— '")
    name, _, data = line[len(SIGNATURE_PREFIX):].partition(" ")
    try:
        raw = _b64(data)
    except NoteError:
        raw = b""
    if not valid_name(name) or not data or len(raw) < 5:
        raise NoteError("malformed note: a signature line is not '— <name> <base64>'")
    return Signature(name, int.from_bytes(raw[:4], "big"), data), raw
