"""Salvage: the longest prefix of a damaged ledger file's records that still verifies, copied
into a new ledger.

The damaged file is read as it is (read-only, its schema trusted for nothing), record by record
in seq order, through the same checks as ``verify`` (``chain.verify_rows``: seqs, stream
versions, hashes) and unique ids. A record is kept only once the checks have passed it; the first
record that fails, or that SQLite cannot read, is where the damage starts, and nothing from there
on is copied. The kept rows are written as stored (ids, times and hashes included) into a new
ledger in one transaction, which is then verified again; snapshots and materialized tables are
caches and are rebuilt from the log when needed.

The Merkle tree and the checkpoints stored in the file are checked too (``salvage_tree.py``):
a record is kept once the tree rows and checkpoints it completes match the records read so far.
The new ledger grows its own tree from the kept records, and keeps the checked checkpoints of
sizes the saved prefix reaches. Further checks of a prefix join in ``_checked``: a record is kept
once every check has passed it.
"""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from collections.abc import Callable, Iterator

import attrs

from .chain import GENESIS, verify_rows
from .errors import LedgerError, VerificationError
from .files import SIDE_FILES, removed_on_failure
from .salvage_tree import StoredTree, error_text
from .sqlite_schema import check_events, harden, integrity_problem
from .sqlite_store import SqliteStore
from .store import BATCH, SELECT_ROWS, StoredEvent, stored_event
from .tree import check as check_tree
from .tree import keep_checkpoint


@attrs.frozen
class Salvaged:
    """What ``salvage`` saved: the records (seq 1 to ``saved``) and the last one's hash; where
    the damage starts (``first_bad``, None when every record verified) and what it is."""

    saved: int
    head: str
    first_bad: int | None
    damage: str | None
    #: When every record verified: the first problem SQLite's own check finds in the source
    #: file (a damaged index or page, which the copy does not inherit), or None.
    file_damage: str | None = None

    def line(self, target: str) -> str:
        """The one line the command line prints."""
        if self.first_bad is not None:
            where = f"; the damage starts at seq {self.first_bad}: {self.damage}"
        elif self.file_damage is not None:
            where = (f"; every record verified; the source file is damaged outside the records "
                     f"({self.file_damage}), which the copy does not inherit")
        else:
            where = "; every record verified, no damage found"
        return (f"saved {self.saved} record{'s' if self.saved != 1 else ''} (seq 1 to "
                f"{self.saved}) into {target}, head {self.head}{where}")


def salvage(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> Salvaged:
    """Copy the longest verifying prefix of the ledger file ``source`` into ``target``, a new
    file (an existing one is never overwritten). Raises ``LedgerError`` when nothing can be
    saved (the damage starts at the first record, or the file cannot be read at all)."""
    source, target = os.fspath(source), os.fspath(target)
    _check_paths(source, target)
    conn = _open_damaged(source)
    try:
        with removed_on_failure(target):
            store = SqliteStore(target)
            try:
                result = _copy(conn, store)
                if result.saved == 0:
                    raise LedgerError(f"{source}: nothing could be salvaged: the damage starts "
                                      f"at seq 1: {result.damage}")
                copied = verify_rows(store.rows())
                if copied != (result.saved, result.head) or check_tree(store) != result.saved:
                    # never expected: refuse, keep nothing
                    raise LedgerError(f"{target}: the salvaged copy does not verify as read")
                if result.first_bad is None:
                    result = attrs.evolve(result, file_damage=_file_damage(conn))
            finally:
                store.close()
    finally:
        conn.close()
    return result


def _file_damage(conn: sqlite3.Connection) -> str | None:
    """The first problem of SQLite's integrity check of the damaged file, or None."""
    try:
        return integrity_problem(conn)
    except sqlite3.Error as error:
        return str(error)


def _check_paths(source: str, target: str) -> None:
    if not os.path.isfile(source):
        raise LedgerError(f"{source}: no such ledger file")
    for name in (target, *(target + suffix for suffix in SIDE_FILES)):
        if os.path.lexists(name):
            raise LedgerError(f"{name}: exists; salvage writes a new ledger and never "
                              "overwrites a file")


def _open_damaged(path: str) -> sqlite3.Connection:
    """A read-only connection to the damaged file that trusts nothing in its schema. Only the
    ``events`` table must be the ledger's (a table of its columns, ``seq`` its row id): reading
    it runs nothing else of the file (no trigger fires on a read, no function of the schema is
    trusted), and every row copied is verified, so the records of a file with objects of its
    own can be salvaged into a clean ledger too."""
    uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as error:
        raise LedgerError(f"{path}: nothing could be salvaged: SQLite cannot open it "
                          f"({error})") from None
    try:
        harden(conn)
        conn.execute("PRAGMA query_only = 1")
        kind = conn.execute("SELECT type FROM sqlite_master WHERE name = 'events'").fetchone()
        if kind is None or kind[0] != "table":
            raise LedgerError(f"{path}: nothing could be salvaged: it has no events table"
                              f"{'' if kind is None else f' (events is a {kind[0]})'}")
        check_events(conn, path)
    except (sqlite3.Error, UnicodeDecodeError) as error:
        conn.close()
        raise LedgerError(f"{path}: nothing could be salvaged: SQLite reports the file "
                          f"damaged ({error})") from None
    except BaseException:
        conn.close()
        raise
    return conn


class _Kept:
    """The rows that passed the checks, written to the new ledger a batch at a time."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.pending: list[StoredEvent] = []
        self.seq = 0
        self.head = GENESIS

    def __call__(self, row: StoredEvent) -> None:
        self.pending.append(row)
        self.seq, self.head = row.seq, row.hash
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        self.store.insert(self.pending)
        self.pending.clear()


def _copy(conn: sqlite3.Connection, store: SqliteStore) -> Salvaged:
    """Copy the verifying prefix from ``conn`` into ``store`` in one transaction."""
    kept = _Kept(store)
    tree = StoredTree(conn)
    ids: set[str] = set()
    first_bad: int | None = None
    damage: str | None = None
    with store.transaction():
        try:
            verify_rows(_checked(_read(conn), kept, tree, ids))
        except VerificationError as error:
            first_bad, damage = kept.seq + 1, _reason(error.message, error.seq)
        except (sqlite3.Error, UnicodeDecodeError) as error:
            first_bad, damage = kept.seq + 1, f"SQLite cannot read it ({error_text(error)})"
        except (TypeError, ValueError, AttributeError):
            first_bad, damage = kept.seq + 1, "a field holds a value of the wrong type"
        kept.flush()
        for size, root, note, key, made in tree.kept(kept.seq):
            keep_checkpoint(store, size, bytes(root), note, key, made)
    if first_bad is None:
        first_bad, damage = _lost_tail(conn, kept.seq, ids)
    if first_bad is None:
        first_bad, damage = tree.lost_tail(kept.seq)
    return Salvaged(kept.seq, kept.head, first_bad, damage)


def _read(conn: sqlite3.Connection) -> Iterator[StoredEvent]:
    """The rows in seq order, each read by a query of its own: a row that cannot be read
    stops the prefix right before it (a scan reads ahead, and would lose the good row read
    with a bad one)."""
    seq = 0
    while True:
        row = conn.execute(f"{SELECT_ROWS} NOT INDEXED WHERE seq > ? ORDER BY seq LIMIT 1",
                           (seq,)).fetchone()
        if row is None:
            return
        seq = row[0]
        yield stored_event(row)


def _checked(rows: Iterator[StoredEvent], keep: Callable[[StoredEvent], None],
             tree: StoredTree, ids: set[str]) -> Iterator[StoredEvent]:
    """The rows for ``verify_rows``; each is kept once the checks have passed it (when the one
    after it is asked for, or the end). Ids must be unique as well, and the stored tree rows and
    checkpoints the record completes must match. ``ids`` collects the ids read."""
    for row in rows:
        if row.id in ids:
            raise VerificationError(f"seq {row.seq}: its id repeats an earlier record's",
                                    seq=row.seq)
        ids.add(row.id)
        yield row
        tree.check(row)  # resumed: the chain passed it
        keep(row)


def _reason(message: str, seq: int) -> str:
    """A verification message without the seq it starts with (the line names it already)."""
    prefix = f"seq {seq}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def _lost_tail(conn: sqlite3.Connection, saved: int, ids: set[str]
               ) -> tuple[int | None, str | None]:
    """Records the table's pages no longer hold but its id index still lists: a damaged page
    can end the table early without SQLite noticing. An entry of the index whose id is that of
    a record read (its seq damaged in the index) lists no lost record."""
    try:
        listed = max((seq for id, seq in conn.execute(
            "SELECT id, seq FROM events INDEXED BY events_id WHERE seq > ?", (saved,))
            if id not in ids), default=None)
    except (sqlite3.Error, UnicodeDecodeError, TypeError):
        return None, None
    if isinstance(listed, int) and listed > saved:
        return saved + 1, f"the table ends at seq {saved} but its index lists records up to " \
                          f"seq {listed}"
    return None, None
