"""The Merkle tree kept beside the log: grown in the same transaction as the records it covers,
append-only like them, read for roots and proofs in O(log n) rows.

The leaf of record ``seq`` is its exported line (``history.record_line``, without the newline);
its leaf index is ``seq - 1``. Two tables hold the tree:

- ``tree_blocks (block, size, leaves)``: the leaf hashes of 16 consecutive records (block ``b``
  holds leaves ``16 b`` … ``16 b + 15``), concatenated. A block still filling is stored again
  each time it grows, as a new row with its new size, so no row ever changes; the row with the
  largest size is the block. (Storing only complete blocks would save a page write per append,
  but then a log cut by fewer than 16 records would still match its stored tree: the row of
  the block still filling is what lets ``verify`` see any cut tail without a pinned head.)
- ``tree_nodes (level, idx, hash)``: every complete subtree of ``2**level`` leaves, level 4
  (one block) and up.

A root or a proof reads O(log n) nodes and at most two blocks, whatever the size of the log;
keeping the tree writes about one row per 6 records (one per 16 and one per 8).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from .chain import GENESIS, link, record_body
from .errors import StorageError, VerificationError
from .history import record_line
from .merkle import CompactRange, fold_right, leaf_hash, node_hash, pieces, root_of, subtree_hash
from .store import Store, StoredEvent

#: Leaves per block, and the level of a block's node.
BLOCK = 16
BLOCK_LEVEL = 4
#: Records read at a time while the tree is built or checked.
CHUNK = 16 * 1024
HASH = 32

SQLITE_TABLES = """
CREATE TABLE IF NOT EXISTS tree_blocks (
    block INTEGER NOT NULL, size INTEGER NOT NULL, leaves BLOB NOT NULL,
    PRIMARY KEY (block, size)) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tree_nodes (
    level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
    tree_size INTEGER NOT NULL, root BLOB NOT NULL, note TEXT NOT NULL, verifier TEXT NOT NULL,
    made_at TEXT NOT NULL) STRICT;
CREATE TRIGGER IF NOT EXISTS tree_blocks_no_update BEFORE UPDATE ON tree_blocks
BEGIN SELECT RAISE(ABORT, 'tree_blocks is append-only: UPDATE is refused'); END;
CREATE TRIGGER IF NOT EXISTS tree_blocks_no_delete BEFORE DELETE ON tree_blocks
BEGIN SELECT RAISE(ABORT, 'tree_blocks is append-only: DELETE is refused'); END;
CREATE TRIGGER IF NOT EXISTS tree_nodes_no_update BEFORE UPDATE ON tree_nodes
BEGIN SELECT RAISE(ABORT, 'tree_nodes is append-only: UPDATE is refused'); END;
CREATE TRIGGER IF NOT EXISTS tree_nodes_no_delete BEFORE DELETE ON tree_nodes
BEGIN SELECT RAISE(ABORT, 'tree_nodes is append-only: DELETE is refused'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints is append-only: UPDATE is refused'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints is append-only: DELETE is refused'); END;
"""

POSTGRES_TABLES = """
CREATE OR REPLACE FUNCTION gigaledger_tree_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is refused', TG_TABLE_NAME, TG_OP;
END $$;
CREATE TABLE IF NOT EXISTS tree_blocks (
    block bigint NOT NULL, size integer NOT NULL, leaves bytea NOT NULL, PRIMARY KEY (block, size));
CREATE TABLE IF NOT EXISTS tree_nodes (
    level integer NOT NULL, idx bigint NOT NULL, hash bytea NOT NULL, PRIMARY KEY (level, idx));
CREATE TABLE IF NOT EXISTS checkpoints (
    tree_size bigint NOT NULL, root bytea NOT NULL, note text NOT NULL, verifier text NOT NULL,
    made_at text NOT NULL);
DROP TRIGGER IF EXISTS tree_blocks_append_only ON tree_blocks;
CREATE TRIGGER tree_blocks_append_only BEFORE UPDATE OR DELETE ON tree_blocks
    FOR EACH ROW EXECUTE FUNCTION gigaledger_tree_append_only();
DROP TRIGGER IF EXISTS tree_nodes_append_only ON tree_nodes;
CREATE TRIGGER tree_nodes_append_only BEFORE UPDATE OR DELETE ON tree_nodes
    FOR EACH ROW EXECUTE FUNCTION gigaledger_tree_append_only();
DROP TRIGGER IF EXISTS checkpoints_append_only ON checkpoints;
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION gigaledger_tree_append_only();
"""

_INSERT_BLOCKS = "INSERT INTO tree_blocks (block, size, leaves) VALUES (?, ?, ?)"
_INSERT_NODES = "INSERT INTO tree_nodes (level, idx, hash) VALUES (?, ?, ?)"
_LAST_BLOCK = "SELECT block, size FROM tree_blocks ORDER BY block DESC, size DESC LIMIT 1"
_BLOCK = "SELECT leaves FROM tree_blocks WHERE block = ? ORDER BY size DESC LIMIT 1"
_NODE = "SELECT hash FROM tree_nodes WHERE level = ? AND idx = ?"


def leaf_of(row: StoredEvent) -> bytes:
    """The leaf of a record: its exported line, without the newline, as UTF-8."""
    return record_line(row)[:-1].encode("utf-8")


def _leaves(blob: bytes) -> list[bytes]:
    return [bytes(blob[at:at + HASH]) for at in range(0, len(blob), HASH)]


class Growing:
    """The tree at the end of the log as this process last wrote it: the compact range of the
    complete blocks and the leaf hashes of the block still filling."""

    def __init__(self, size: int, last_hash: str | None, hashes: Sequence[bytes],
                 pending: list[bytes]) -> None:
        self.blocks = CompactRange(size - len(pending), hashes)
        self.pending = pending
        self.last_hash = last_hash  # the chain hash of record ``size``: the tree is of this log

    @property
    def size(self) -> int:
        return self.blocks.size + len(self.pending)

    def push(self, rows: Iterable[StoredEvent], blocks: list[tuple[int, int, bytes]],
             nodes: list[tuple[int, int, bytes]]) -> None:
        """Add records; collect the rows of the blocks and nodes they complete."""
        pending, sha = self.pending, leaf_hash
        expected = self.size + 1
        for row in rows:
            if row.seq != expected:
                raise VerificationError(f"seq {expected} is missing from the log (next is "
                                        f"{row.seq})", seq=expected)
            expected += 1
            pending.append(sha(record_line(row)[:-1].encode("utf-8")))
            if len(pending) == BLOCK:
                index = self.blocks.size >> BLOCK_LEVEL
                blocks.append((index, BLOCK, b"".join(pending)))
                top = root_of(pending)
                nodes.append((BLOCK_LEVEL, index, top))
                nodes.extend(self.blocks.push(BLOCK_LEVEL, top))
                pending.clear()
            self.last_hash = row.hash

    def root(self) -> bytes:
        if not self.pending:
            return self.blocks.root()
        return fold_right([value for _, value in self.blocks.stack] + [root_of(self.pending)])


def stored_size(store: Store) -> int:
    """How many leaves the stored tree covers (0 when the ledger has no tree yet)."""
    if not store.has_tree:
        return 0
    found = store.fetch(_LAST_BLOCK)
    return found[0][0] * BLOCK + found[0][1] if found else 0


def _load(store: Store, size: int) -> Growing:
    """The growing tree at ``size`` (at most the stored tree's size), from the stored rows."""
    reader = Reader(store, size)
    full = size - size % BLOCK
    hashes = [reader.node(level, index) for level, index in pieces(0, full)]
    pending = reader.block(full >> BLOCK_LEVEL)[:size - full] if size > full else []
    return Growing(size, store.hash_at(size) if size else None, hashes, list(pending))


def _write(store: Store, blocks: list[tuple[int, int, bytes]],
           nodes: list[tuple[int, int, bytes]], state: Growing) -> None:
    """Store the blocks and nodes just made, and the block still filling at its new size."""
    if state.pending:
        blocks.append((state.blocks.size >> BLOCK_LEVEL, len(state.pending),
                       b"".join(state.pending)))
    if blocks:
        store.execute_many(_INSERT_BLOCKS, blocks)
    if nodes:
        store.execute_many(_INSERT_NODES, nodes)


def grow(store: Store, rows: Sequence[StoredEvent]) -> None:
    """Add to the tree the records just inserted (inside the same transaction): called by each
    store's ``insert``. A tree that is behind the log (a ledger made before the tree existed)
    is caught up first."""
    if not rows or not store.has_tree:
        return
    start = rows[0].seq - 1
    state = store.tree_state
    if state is None or state.size != start or not _follows(state.last_hash, rows[0]):
        store.tree_state = None
        state = catch_up(store, start)
    blocks: list[tuple[int, int, bytes]] = []
    nodes: list[tuple[int, int, bytes]] = []
    state.push(rows, blocks, nodes)
    _write(store, blocks, nodes, state)
    store.tree_state = state


def _follows(last_hash: str | None, row: StoredEvent) -> bool:
    """Whether ``row`` is chained to the record whose hash is ``last_hash``: then the tree this
    process kept is of the log that ``row`` extends (no other writer changed it since), checked
    without reading the stored hash back."""
    return link(last_hash or GENESIS, record_body(*row[:10])) == row.hash


def catch_up(store: Store, upto: int,
             progress: Callable[[int, int], None] | None = None) -> Growing:
    """Bring the stored tree up to record ``upto`` (inside a write transaction), reading the
    records it lacks; return the growing tree there."""
    have = stored_size(store)
    if have > upto:
        raise StorageError(f"{store.path or 'ledger'}: the Merkle tree covers {have} records but "
                           f"the log holds {upto}: the tree was not written by this log")
    state = _load(store, have)
    while state.size < upto:
        blocks: list[tuple[int, int, bytes]] = []
        nodes: list[tuple[int, int, bytes]] = []
        before = state.size
        state.push(store.rows(state.size, upto=min(upto, state.size + CHUNK)), blocks, nodes)
        if state.size == before:
            raise VerificationError(f"seq {before + 1} is missing from the log", seq=before + 1)
        _write(store, blocks, nodes, state)
        if progress is not None:
            progress(state.size, upto)
    return state


class Reader:
    """Hashes of the tree of ``size`` leaves, from the stored rows; what the stored tree lacks
    (a ledger on a read-only file made before the tree existed) is computed from the records."""

    def __init__(self, store: Store, size: int) -> None:
        self.store = store
        self.size = size
        self.stored = stored_size(store)
        self._blocks: dict[int, list[bytes]] = {}
        self._nodes: dict[tuple[int, int], bytes] = {}

    def block(self, index: int) -> list[bytes]:
        """The leaf hashes of a block, as far as the tree of ``size`` goes."""
        found = self._blocks.get(index)
        if found is None:
            first = index * BLOCK
            want = min(BLOCK, self.size - first)
            rows = self.store.fetch(_BLOCK, (index,)) if first < self.stored else []
            found = _leaves(rows[0][0]) if rows else []
            if len(found) < want:
                found += [leaf_hash(leaf_of(row)) for row in
                          self.store.rows(first + len(found), upto=first + want)]
            found = self._blocks[index] = found[:want]
        return found

    def node(self, level: int, index: int) -> bytes:
        """The hash of a complete subtree of the tree of ``size``."""
        key = (level, index)
        found = self._nodes.get(key)
        if found is not None:
            return found
        if level < BLOCK_LEVEL:
            start = (index << level) % BLOCK
            leaves = self.block((index << level) >> BLOCK_LEVEL)
            found = root_of(leaves[start:start + (1 << level)])
        else:
            end = (index + 1) << level
            rows = self.store.fetch(_NODE, key) if end <= self.stored else []
            if rows:
                found = bytes(rows[0][0])
            elif level == BLOCK_LEVEL:
                found = root_of(self.block(index))
            else:
                found = node_hash(self.node(level - 1, 2 * index),
                                  self.node(level - 1, 2 * index + 1))
        self._nodes[key] = found
        return found

    def subtree(self, start: int, end: int) -> bytes:
        """MTH of the leaves ``[start, end)``."""
        return subtree_hash(start, end, self.node)

    def root(self) -> bytes:
        return self.subtree(0, self.size)


def check(store: Store, progress: Callable[[int, int], None] | None = None) -> int:
    """Recompute the tree from the records and compare it with the stored one, block by block
    and node by node; raise ``VerificationError`` at the first record (or node) that does not
    match. Return how many leaves the stored tree covers."""
    head = store.head()[0]
    stored = stored_size(store)
    if stored > head:
        raise VerificationError(f"the Merkle tree covers {stored} records but the log ends at seq "
                                f"{head}: records were removed from the tail", seq=head + 1)
    state = Growing(0, None, [], [])
    done = 0
    while done < stored:
        upto = min(stored, done + CHUNK)
        blocks: list[tuple[int, int, bytes]] = []
        nodes: list[tuple[int, int, bytes]] = []
        state.push(store.rows(done, upto=upto), blocks, nodes)
        if state.pending:
            blocks.append((state.blocks.size >> BLOCK_LEVEL, len(state.pending),
                           b"".join(state.pending)))
        _compare_blocks(store, blocks)
        _compare_nodes(store, nodes)
        done = upto
        if progress is not None:
            progress(done, stored)
    return stored


def _compare_blocks(store: Store, blocks: list[tuple[int, int, bytes]]) -> None:
    if not blocks:
        return
    first, last = blocks[0][0], blocks[-1][0]
    rows = store.fetch("SELECT block, size, leaves FROM tree_blocks WHERE block >= ? AND block "
                       "<= ? ORDER BY block, size", (first, last))
    computed = {index: leaves for index, _, leaves in blocks}
    for index, size, leaves in rows:
        expected = computed.get(index, b"")
        if bytes(leaves) == expected[:size * HASH] and len(leaves) == size * HASH:
            continue  # the whole block matches: the usual case, checked at C speed
        for at in range(size):
            if bytes(leaves[at * HASH:(at + 1) * HASH]) != expected[at * HASH:(at + 1) * HASH]:
                seq = index * BLOCK + at + 1
                raise VerificationError(f"seq {seq}: the record does not match its leaf in the "
                                        "Merkle tree", seq=seq)


def _compare_nodes(store: Store, nodes: list[tuple[int, int, bytes]]) -> None:
    by_level: dict[int, dict[int, bytes]] = {}
    for level, index, value in nodes:
        by_level.setdefault(level, {})[index] = value
    for level, computed in by_level.items():
        rows = store.fetch("SELECT idx, hash FROM tree_nodes WHERE level = ? AND idx >= ? AND "
                           "idx <= ?", (level, min(computed), max(computed)))
        found = {index: bytes(value) for index, value in rows}
        for index in sorted(computed):
            if found.get(index) != computed[index]:
                seq = (index << level) + 1
                raise VerificationError(f"seq {seq}: the Merkle tree's node at level {level}, "
                                        f"index {index} does not match the records", seq=seq)


def iter_checkpoints(store: Store) -> Iterator[tuple[int, bytes, str, str, str]]:
    """The checkpoints kept in the ledger, oldest first: (tree size, root, signed note, verifier
    key, when made)."""
    if not store.has_tree:
        return iter(())
    rows: list[Any] = store.fetch("SELECT tree_size, root, note, verifier, made_at FROM "
                                  "checkpoints ORDER BY tree_size, made_at")
    return iter([(size, bytes(root), note, key, made) for size, root, note, key, made in rows])


def keep_checkpoint(store: Store, size: int, root: bytes, note: str, verifier: str,
                    made_at: str) -> None:
    """Keep a checkpoint in the ledger (inside a write transaction)."""
    store.execute_many("INSERT INTO checkpoints (tree_size, root, note, verifier, made_at) "
                       "VALUES (?, ?, ?, ?, ?)", [(size, root, note, verifier, made_at)])
