"""The SQLite store: the ``events`` table, its append-only triggers, and the queries on it.

It keeps the contract of ``store.py``. Writes happen inside ``transaction()``, which takes
SQLite's write lock at once (``BEGIN IMMEDIATE``) so that concurrent writers queue on the busy
timeout instead of failing half-way.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

import sqlite_utils
from sqlite_utils.migrations import Migrations

from .errors import LedgerError
from .store import BATCH, COLUMNS, SELECT_ROWS, SYNCHRONOUS, Transactions, rows_query, snapshot_filter

_INSERT = f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"

migrations = Migrations("gigaledger")
# SYNCHRONOUS: in WAL mode, FULL (the default) makes each commit durable on disk before it
# returns; NORMAL survives a crash of the process but may lose the last commits on a power failure.


@migrations()
def m001_events(db: sqlite_utils.Database) -> None:
    db["events"].create(
        {
            "seq": int, "id": str, "stream": str, "version": int, "type": str, "schema": int,
            "occurred_at": str, "recorded_at": str, "data": str, "meta": str, "hash": str,
        },
        pk="seq",
        not_null=set(COLUMNS),
        strict=True,
    )
    db["events"].create_index(["id"], unique=True, index_name="events_id")
    db["events"].create_index(["stream", "version"], unique=True, index_name="events_stream_version")
    db.executescript(
        """
        CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'events is append-only: UPDATE is refused'); END;
        CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'events is append-only: DELETE is refused'); END;
        """
    )


@migrations()
def m002_snapshots(db: sqlite_utils.Database) -> None:
    """Projection states saved at a seq: a cache that replay may use, never part of the chain."""
    db["snapshots"].create(
        {"name": str, "seq": int, "fingerprint": str, "hash": str, "occurred_at": str,
         "state": str},
        pk=("name", "seq", "fingerprint"),
        not_null={"name", "seq", "fingerprint", "hash", "state"},
        strict=True,
    )


def _in_list(types: list[str]) -> tuple[str, list[str]]:
    return f"type IN ({', '.join('?' * len(types))})", types


class SqliteStore(Transactions):
    """One SQLite database holding a ledger: a file (WAL mode), or in memory when ``path`` is None."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        create: bool = True,
        timeout: float = 30.0,
        synchronous: str = "FULL",
    ) -> None:
        self.path = None if path is None else os.fspath(path)
        self.timeout = timeout
        if str(synchronous).upper() not in SYNCHRONOUS:
            raise LedgerError(f"synchronous: expected one of {', '.join(SYNCHRONOUS)}, got {synchronous!r}")
        if self.path is not None and not create and not os.path.isfile(self.path):
            raise LedgerError(f"{self.path}: no such ledger file")
        if self.path is not None and os.path.isdir(self.path):
            raise LedgerError(f"{self.path}: is a directory, not a ledger file")
        try:
            self.conn = sqlite3.connect(self.path or ":memory:", timeout=timeout)
        except sqlite3.Error as error:
            raise LedgerError(f"{self.path}: cannot be opened: {error}") from None
        try:
            self.db = sqlite_utils.Database(self.conn, execute_plugins=False)
            if self.path is not None:
                self._retry_while_locked(timeout, self.db.enable_wal)
            self.conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
            self._check_is_ledger()
            if migrations.pending(self.db):
                with self.transaction():  # several processes may create the tables at once
                    self._check_is_ledger()
                    migrations.apply(self.db)
        except sqlite3.OperationalError as error:
            self.conn.close()
            if "locked" in str(error) or "busy" in str(error):
                raise LedgerError(f"{self.path}: busy: another process held its lock for more "
                                  f"than {timeout:g} s") from None
            raise LedgerError(f"{self.path}: not a gigaledger database ({error})") from None
        except sqlite3.DatabaseError as error:
            self.conn.close()
            raise LedgerError(f"{self.path}: not a gigaledger database ({error})") from None
        except BaseException:
            self.conn.close()
            raise

    def _retry_while_locked(self, timeout: float, action: Callable[[], None]) -> None:
        """Run ``action``, retrying while another connection holds a lock it needs (changing the
        journal mode takes no busy timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return action()
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _check_is_ledger(self) -> None:
        tables = set(self.db.table_names())
        if tables and "events" not in tables:
            raise LedgerError(f"{self.path}: not a gigaledger database (it has other tables)")
        if "events" in tables and migrations.migrations_table not in tables:
            raise LedgerError(f"{self.path}: not a gigaledger database (unknown events table)")

    def close(self) -> None:
        self.conn.close()

    # --- transactions ---------------------------------------------------------------------------

    def begin(self) -> None:
        """Take the write lock (waiting up to the timeout) and start a transaction."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise
            raise LedgerError(f"{self.path or 'ledger'}: busy: another process held the write "
                              f"lock for more than {self.timeout:g} s") from None

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def try_begin(self) -> bool:
        self.conn.execute("PRAGMA busy_timeout = 0")
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            self.conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")

    # --- reads ----------------------------------------------------------------------------------

    def data_version(self) -> int:
        """Changes whenever another connection commits (SQLite's ``PRAGMA data_version``)."""
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    def head(self) -> tuple[int, str | None]:
        """The last seq (0 when empty) and its hash."""
        row = self.conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, None)

    def stream_version(self, stream: str) -> int:
        row = self.conn.execute(
            "SELECT MAX(version) FROM events WHERE stream = ?", (stream,)
        ).fetchone()
        return row[0] or 0

    def find(self, ids: Sequence[str]) -> dict[str, tuple]:
        """The stored rows of those ids that exist."""
        found: dict[str, tuple] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            for row in self.conn.execute(f"{SELECT_ROWS} WHERE id IN ({marks})", chunk):
                found[row[1]] = row
        return found

    def rows(
        self,
        after: int = 0,
        *,
        types: Iterable[str] | None = None,
        stream: str | None = None,
        before_time: str | None = None,
        upto: int | None = None,
        limit: int | None = None,
    ) -> Iterator[tuple]:
        """Stored rows in seq order, streamed in batches (the log is never loaded whole)."""
        query, params = rows_query("?", _in_list, after=after, types=types, stream=stream,
                                   before_time=before_time, upto=upto, limit=limit)
        cursor = self.conn.execute(query, params)
        try:
            while batch := cursor.fetchmany(BATCH):
                yield from batch
        finally:
            try:
                cursor.close()
            except sqlite3.ProgrammingError:  # the database was closed first
                pass

    def hash_at(self, seq: int) -> str | None:
        row = self.conn.execute("SELECT hash FROM events WHERE seq = ?", (seq,)).fetchone()
        return row[0] if row else None

    def snapshots(self, name: str, fingerprint: str, upto: int | None,
                  before_time: str | None) -> Iterator[tuple[int, str, str | None, str]]:
        """A projection's snapshots of this fingerprint, newest first: (seq, hash, occurred_at,
        state), at or before seq ``upto`` and made of records before ``before_time``."""
        where, params = snapshot_filter("?", name, fingerprint, upto, before_time)
        yield from self.conn.execute(
            f"SELECT seq, hash, occurred_at, state FROM snapshots WHERE {where} ORDER BY seq DESC",
            params)

    def newest_snapshot(self) -> int:
        return self.conn.execute("SELECT IFNULL(MAX(seq), 0) FROM snapshots").fetchone()[0]

    # --- writes ---------------------------------------------------------------------------------

    def save_snapshots(self, rows: Sequence[tuple], keep: int) -> None:
        """Store (name, seq, fingerprint, hash, occurred_at, state) rows, keeping the newest
        ``keep`` snapshots of each projection; call inside ``transaction()``."""
        self.conn.executemany(
            "INSERT OR REPLACE INTO snapshots (name, seq, fingerprint, hash, occurred_at, state) "
            "VALUES (?, ?, ?, ?, ?, ?)", rows)
        self.conn.execute(
            "DELETE FROM snapshots WHERE rowid IN (SELECT rowid FROM (SELECT rowid, ROW_NUMBER() "
            "OVER (PARTITION BY name ORDER BY seq DESC) AS age FROM snapshots) WHERE age > ?)",
            (keep,))

    def insert(self, rows: Sequence[tuple]) -> None:
        """Insert rows (in ``COLUMNS`` order); call inside ``transaction()``."""
        self.conn.executemany(_INSERT, rows)
