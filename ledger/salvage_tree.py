"""What ``salvage`` checks of a damaged file's Merkle tree and kept checkpoints, record by record.

Each stored row of the tree depends on the records up to one seq, where it is complete: a block
row of ``size`` leaves of block ``b`` on records up to ``16 b + size``, a node of level ``L`` and
index ``k`` on those up to ``(k + 1) 2**L``, a checkpoint of size ``N`` on those up to ``N``.
When salvage reads that record, the rows completed there are compared with the tree recomputed
from the records read so far; a row that does not match (or is missing, for a node the stored
tree covers, or cannot be read) makes that record the first bad one. So a prefix is kept only when
every stored row that it alone determines matches it, and the kept checkpoints (each signed for
a size the prefix reaches) hold for the new ledger too.

A ledger made before the tree has no tree tables: its records are checked by the chain alone.
"""

from __future__ import annotations

import sqlite3

from .checkpoint import open_checkpoint
from .errors import VerificationError
from .signed_note import NoteError, Verifier
from .store import StoredEvent
from .tree import BLOCK, BLOCK_LEVEL, HASH, Growing

_TABLES = ("tree_blocks", "tree_nodes", "checkpoints")
#: A kept checkpoint as stored: (tree size, root, signed note, verifier key, when made).
Kept = tuple[int, bytes, str, str, str]


class StoredTree:
    """The damaged file's stored tree and checkpoints, checked as the records are read."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.state = Growing(0, None, [], [])
        self.covered = 0
        self.checkpoints: dict[int, list[Kept]] = {}
        self.error: str | None = None  # why the tree cannot be read at all
        try:
            kinds = dict(conn.execute(
                "SELECT name, type FROM sqlite_master WHERE name IN (?, ?, ?)", _TABLES))
            self.present = bool(kinds)
            if not self.present:
                return  # a ledger made before the tree
            for name in _TABLES:
                if kinds.get(name) != "table":
                    self.error = (f"its Merkle tree is not the ledger's ({name} is "
                                  f"{'missing' if name not in kinds else 'a ' + kinds[name]})")
                    return
            last = conn.execute("SELECT block, size FROM tree_blocks ORDER BY block DESC, "
                                "size DESC LIMIT 1").fetchone()
            self.covered = last[0] * BLOCK + last[1] if last else 0
            for size, root, note, key, made in conn.execute(
                    "SELECT tree_size, root, note, verifier, made_at FROM checkpoints"):
                if isinstance(size, int) and size > 0:  # one of the empty log proves nothing
                    self.checkpoints.setdefault(size, []).append((size, root, note, key, made))
        except (sqlite3.Error, UnicodeDecodeError, TypeError) as error:
            self.error = f"SQLite cannot read its Merkle tree ({error_text(error)})"

    def check(self, row: StoredEvent) -> None:
        """Compare the stored rows that record ``row`` completes with the records read so far
        (it included); raise ``VerificationError`` at its seq when one does not match."""
        if not self.present:
            return
        seq = row.seq
        if self.error is not None:
            raise VerificationError(f"seq {seq}: {self.error}", seq=seq)
        blocks: list[tuple[int, int, bytes]] = []
        nodes: list[tuple[int, int, bytes]] = []
        self.state.push([row], blocks, nodes)
        try:
            if seq <= self.covered:
                self._check_block(seq, blocks[-1][2] if blocks else b"".join(self.state.pending))
                for level, index, value in nodes:
                    self._check_node(seq, level, index, value)
            for kept in self.checkpoints.get(seq, ()):
                self._check_checkpoint(seq, kept)
        except (sqlite3.Error, UnicodeDecodeError, TypeError) as error:
            raise VerificationError(f"seq {seq}: SQLite cannot read its rows of the Merkle tree "
                                    f"({error_text(error)})", seq=seq) from None

    def _check_block(self, seq: int, leaves: bytes) -> None:
        index, size = (seq - 1) // BLOCK, (seq - 1) % BLOCK + 1
        found = self.conn.execute("SELECT leaves FROM tree_blocks WHERE block = ? AND size = ?",
                                  (index, size)).fetchone()
        if found is not None and bytes(found[0]) != leaves[:size * HASH]:
            raise VerificationError(
                f"seq {seq}: the Merkle tree's block {index} of {size} leaves (seqs "
                f"{index * BLOCK + 1} to {seq}) does not match the records", seq=seq)

    def _check_node(self, seq: int, level: int, index: int, value: bytes) -> None:
        found = self.conn.execute("SELECT hash FROM tree_nodes WHERE level = ? AND idx = ?",
                                  (level, index)).fetchone()
        if found is None or bytes(found[0]) != value:
            what = "is missing" if found is None else "does not match the records"
            raise VerificationError(
                f"seq {seq}: the Merkle tree's node at level {level}, index {index} (seqs "
                f"{(index << level) + 1} to {seq}) {what}", seq=seq)

    def _check_checkpoint(self, seq: int, kept: Kept) -> None:
        size, root, note, key, made = kept
        try:
            checkpoint = open_checkpoint(note, [Verifier.from_text(key)])
        except NoteError as error:
            raise VerificationError(f"seq {seq}: the checkpoint made {made}: {error.message}",
                                    seq=seq) from None
        if (checkpoint.size, checkpoint.root) != (size, bytes(root)) or \
                checkpoint.root != self.state.root():
            raise VerificationError(f"seq {seq}: the checkpoint made {made} does not match the "
                                    "records up to it", seq=seq)

    def lost_tail(self, saved: int) -> tuple[int | None, str | None]:
        """Where the damage starts when every record read passed, but the stored tree or a kept
        checkpoint covers more: records were lost from the end of the table."""
        if not self.present or self.error is not None:
            return None, None
        for what, size in (("its Merkle tree", self.covered),
                           ("a kept checkpoint", max(self.checkpoints, default=0))):
            if size > saved:
                return saved + 1, f"the table ends at seq {saved} but {what} covers {size} records"
        return None, None

    def kept(self, saved: int) -> list[Kept]:
        """The checkpoints of sizes up to ``saved``, oldest first: each was checked against
        the saved records."""
        return sorted((kept for size, rows in self.checkpoints.items() if size <= saved
                       for kept in rows), key=lambda kept: (kept[0], kept[4]))


def error_text(error: BaseException) -> str:
    """An error's text; a damaged value that is not UTF-8 said as such."""
    return "text that is not UTF-8" if isinstance(error, UnicodeDecodeError) else str(error)
