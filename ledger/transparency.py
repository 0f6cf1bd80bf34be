"""What a ledger does with its Merkle tree: build it for a ledger made before it, roots, proofs,
signed checkpoints kept in the ledger, and their verification against the records.

The ``Ledger`` methods (``checkpoint``, ``prove``, ``prove_consistency``, ``root``,
``build_tree``, ``check_checkpoint``) call these functions with its store.
"""

from __future__ import annotations

from collections.abc import Callable

from .checkpoint import Checkpoint, open_checkpoint
from .errors import LedgerError, VerificationError
from .merkle import (ProofError, consistency_path, inclusion_path, leaf_hash, verify_consistency,
                     verify_inclusion)
from .proofs import ConsistencyProof, InclusionProof
from .signed_note import NoteError, Signer, Verifier
from .store import Store
from .tree import Reader, catch_up, check, iter_checkpoints, keep_checkpoint, leaf_of, stored_size

Progress = Callable[[int, int], None]


def build(store: Store, progress: Progress | None = None) -> int:
    """Bring the stored tree up to the head (a ledger made before the tree gets it on first
    use); return how many records it covers. A read-only ledger is left as it is (its proofs
    are computed from the records)."""
    if store.readonly or not store.has_tree:
        return stored_size(store)
    head = store.head()[0]
    if stored_size(store) >= head:
        return head
    with store.transaction():
        head = store.head()[0]
        store.tree_state = catch_up(store, head, progress)
    return head


def tree_size(store: Store, size: int | None) -> int:
    """``size`` (default: the head), refused unless the log holds that many records."""
    head = store.head()[0]
    if size is None:
        return head
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= head:
        raise LedgerError(f"size {size!r}: the log holds {head} records; give a size from 0 to "
                          f"{head}")
    return size


def root(store: Store, size: int | None = None) -> bytes:
    """The root of the tree of the first ``size`` records (default: all)."""
    return Reader(store, tree_size(store, size)).root()


def _proved(store: Store, reader: Reader, seq: int) -> InclusionProof:
    """The inclusion proof of record ``seq`` in the reader's tree, checked against the tree's
    root before it is handed out (O(log n) hashes): a record changed on disk after its leaf was
    stored gets a ``VerificationError``, not a proof that ``check`` would then reject."""
    size = reader.size
    path = inclusion_path(seq - 1, size, reader.subtree)
    row = next(iter(store.rows(seq - 1, upto=seq)))
    leaf = leaf_of(row)
    try:
        verify_inclusion(seq - 1, size, leaf_hash(leaf), path, reader.root())
    except ProofError:
        raise VerificationError(f"record seq {seq} does not match the Merkle tree of {size} "
                                "records: the log was changed after it was stored; run "
                                "gigaledger verify", seq=seq) from None
    return InclusionProof(seq, size, leaf.decode("utf-8"), tuple(path))


def prove(store: Store, seq: int, size: int | None = None) -> InclusionProof:
    """The proof that record ``seq`` is in the tree of ``size`` records (default: all),
    refused (``VerificationError``) when the record no longer matches the tree."""
    size = tree_size(store, size)
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq <= size:
        hint = f"give a seq from 1 to {size}" if size else "a tree of no records proves nothing"
        raise LedgerError(f"seq {seq!r}: not in the tree of {size} records; {hint}")
    return _proved(store, Reader(store, size), seq)


def prove_consistency(store: Store, old_size: int, size: int | None = None) -> ConsistencyProof:
    """The proof that the tree of ``old_size`` records is a prefix of the tree of ``size``,
    checked against the stored roots of both before it is handed out (O(log n) hashes)."""
    size = tree_size(store, size)
    if isinstance(old_size, bool) or not isinstance(old_size, int) or not 0 <= old_size <= size:
        raise LedgerError(f"old size {old_size!r}: give a size from 0 to {size}")
    reader = Reader(store, size)
    path = consistency_path(old_size, size, reader.subtree)
    try:
        verify_consistency(old_size, size, Reader(store, old_size).root(), reader.root(), path)
    except ProofError:
        raise VerificationError(f"the Merkle tree of {size} records does not hold the one of "
                                f"{old_size}: the tree was changed after it was stored; run "
                                "gigaledger verify", seq=old_size) from None
    return ConsistencyProof(old_size, size, tuple(path))


def signer_of(key: Signer | str) -> Signer:
    return key if isinstance(key, Signer) else Signer.from_text(key)


def make_checkpoint(store: Store, key: Signer | str, size: int | None, made_at: str) -> str:
    """Sign a checkpoint of the tree of ``size`` records (origin: the key's name), keep it in
    the ledger, and return the signed note; refused (``VerificationError``) when the record at
    ``size`` no longer matches the tree's last leaf."""
    signer = signer_of(key)
    store.refuse_writes()
    with store.transaction():
        size = tree_size(store, size)
        reader = Reader(store, size)
        if size:  # the last record is still the tree's last leaf (O(log n), not a pass)
            try:
                _proved(store, reader, size)
            except VerificationError as error:
                raise VerificationError(f"no checkpoint signed: {error.message}",
                                        seq=error.seq) from None
        digest = reader.root()
        note = Checkpoint(signer.name, size, digest).signed([signer])
        keep_checkpoint(store, size, digest, note, signer.verifier.text, made_at)
    return note


def kept(store: Store) -> list[str]:
    """The signed checkpoints kept in the ledger, oldest first."""
    return [note for _, _, note, _, _ in iter_checkpoints(store)]


def copy_checkpoints(source: Store, target: Store) -> None:
    """Keep in ``target`` the checkpoints kept in ``source`` (inside a write transaction of
    ``target``): a copy of the log is the same tree, so they hold there too."""
    for size, digest, note, key, made in iter_checkpoints(source):
        keep_checkpoint(target, size, digest, note, key, made)


def check_checkpoint(store: Store, checkpoint: Checkpoint, where: str = "checkpoint") -> None:
    """Raise ``VerificationError`` unless the log's tree at the checkpoint's size has its root:
    a log rewritten since the checkpoint was signed fails here, however self-consistent."""
    head = store.head()[0]
    if checkpoint.size > head:
        raise VerificationError(f"{where} of {checkpoint.size} records, but the log ends at seq "
                                f"{head}: records were removed, or the checkpoint is not of this "
                                "ledger", seq=head + 1)
    if Reader(store, checkpoint.size).root() != checkpoint.root:
        raise VerificationError(f"{where} of {checkpoint.size} records does not match the log: a "
                                f"record up to seq {checkpoint.size} was changed since it was "
                                "signed, or the checkpoint is not of this ledger",
                                seq=checkpoint.size)


def verify(store: Store) -> int:
    """Check the tree against the records and every kept checkpoint against the tree (its
    signature too); return how many records the tree covers."""
    build(store)
    covered = check(store)
    for size, digest, note, key, made in iter_checkpoints(store):
        where = f"the checkpoint made {made}"
        try:
            checkpoint = open_checkpoint(note, [Verifier.from_text(key)])
        except NoteError as error:
            raise VerificationError(f"{where}: {error.message}", seq=size) from None
        if (checkpoint.size, checkpoint.root) != (size, digest):
            raise VerificationError(f"{where}: its note and its row disagree", seq=size)
        check_checkpoint(store, checkpoint, where)
    return covered
