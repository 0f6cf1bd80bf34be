"""The SQLite store: the ``events`` table, its append-only triggers, and the queries on it.

It keeps the contract of ``store.py``. Writes happen inside ``transaction()``, which takes
SQLite's write lock at once (``BEGIN IMMEDIATE``) so that concurrent writers queue on the busy
timeout instead of failing half-way.
"""

from __future__ import annotations

import os
import sqlite3
import time
import urllib.parse
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import Any

from .errors import ConflictError, LedgerError, ReadOnly, StorageError, StoreBusy, UsageError
from . import interrupts
from .files import holds_json_text, out_of_space
from .sqlite_schema import check_schema, harden, integrity_problem
from .store import (COLUMNS, SELECT_ROWS, SYNCHRONOUS, SnapshotRow, Store, StoredEvent,
                    TableSpec, rows_query, snapshot_filter, stats_of, stored_event)
from .tree import grow

_INSERT = f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"

#: The indexes of ``events`` an import into an empty ledger builds once, before its commit:
#: their names, the query of their SQL, and the statements that drop them.
DEFERRED_INDEXES = ("events_id", "events_stream_version")
_DEFERRED_SQL = ("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' "
                 "AND name IN ('events_id', 'events_stream_version')")
_DROP_DEFERRED = ('DROP INDEX "events_id"', 'DROP INDEX "events_stream_version"')
#: The migrations of ``sqlite_migrations.py``, by name, in order: a file that has applied them all
#: opens without importing sqlite-utils (about 0.15 s, and numpy where it is installed).
MIGRATIONS = ("m001_events", "m002_snapshots", "m003_tree")
MIGRATIONS_TABLE = "_sqlite_migrations"
MIGRATION_SET = "gigaledger"
# SYNCHRONOUS: in WAL mode, FULL (the default) makes each commit durable on disk before it
# returns; NORMAL survives a crash of the process but may lose the last commits on a power failure.


def write_problem(path: str) -> str | None:
    """Why this process cannot write the ledger at ``path``, or None when it can: the file and
    its folder (for WAL's side files) must be writable, the file must not be marked read-only
    (no write permission for anyone: a superuser may write it, but its owner meant it to stay
    as it is), and side files left by another user must be writable too."""
    folder = os.path.dirname(os.path.abspath(path))
    if not (os.access(path, os.W_OK) and os.access(folder, os.W_OK)):
        return "cannot be written (a read-only file, folder or medium)"
    if not os.stat(path).st_mode & 0o222:
        return "is marked read-only (no one may write it: chmod u+w to allow writes)"
    blocked = [side for side in (f"{path}-wal", f"{path}-shm")
               if os.path.exists(side) and not os.access(side, os.W_OK)]
    if blocked:
        owner = _owner(blocked[0])
        return (f"cannot be written: {' and '.join(blocked)} cannot be written{owner}, left by "
                "someone who read the ledger; when no one is using it, remove them")
    return None


def _owner(path: str) -> str:
    """`` (owned by NAME)`` for a file, or "" when its owner cannot be told."""
    try:
        import pwd  # not on Windows

        return f" (owned by {pwd.getpwuid(os.stat(path).st_uid).pw_name})"
    except (ImportError, KeyError, OSError):
        return ""


def _in_list(types: list[str]) -> tuple[str, list[str]]:
    return f"type IN ({', '.join('?' * len(types))})", types


class SqliteStore(Store):
    """One SQLite database holding a ledger: a file (WAL mode), or in memory when ``path`` is None."""

    #: SQLite's errors, and the text of a damaged file that is not UTF-8 (in a value or in
    #: SQLite's own message quoting it).
    driver_error = (sqlite3.Error, UnicodeDecodeError)
    GUARDED = (*Store.GUARDED, "replace_tables")

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        create: bool = True,
        timeout: float = 30.0,
        synchronous: str = "FULL",
        readonly: bool | None = False,
    ) -> None:
        self.path = None if path is None else os.fspath(path)
        self.timeout = timeout
        if str(synchronous).upper() not in SYNCHRONOUS:
            raise LedgerError(f"synchronous: expected one of {', '.join(SYNCHRONOUS)}, got {synchronous!r}")
        self.readonly = self._check_path(create, readonly)
        self.stale = False  # read-only on a file whose tables are older than this code
        self.deferred: tuple[str, ...] = ()  # the SQL of the indexes dropped until the commit
        self.conn = self._connect()
        try:
            self._prepare(synchronous)
        except LedgerError:
            self.conn.close()
            raise
        except (sqlite3.Error, UnicodeDecodeError) as error:
            self.conn.close()
            translated = self.translate(error)
            if isinstance(translated, (ReadOnly, StoreBusy)) or "full" in translated.message \
                    or "malformed" in translated.message:
                raise translated from None
            raise self._not_a_ledger(error) from None
        except BaseException:
            self.conn.close()
            raise

    def _check_path(self, create: bool, readonly: bool | None) -> bool:
        """Refuse a path that cannot be a ledger; return whether to open it read-only."""
        if self.path is None:
            if readonly:
                raise UsageError("a ledger in memory cannot be opened read-only")
            return False
        if os.path.isdir(self.path):
            raise LedgerError(f"{self.path}: is a directory, not a ledger file")
        if not os.path.exists(self.path):
            folder = os.path.dirname(os.path.abspath(self.path))
            if not create or readonly:
                raise LedgerError(f"{self.path}: no such ledger file")
            if not os.path.isdir(folder):
                raise LedgerError(f"{self.path}: cannot be created: no folder {folder}")
            if not os.access(folder, os.W_OK):
                raise ReadOnly(f"{self.path}: cannot be created: the folder {folder} cannot be "
                               "written")
            return False
        if (not create or readonly) and os.path.getsize(self.path) == 0:
            raise LedgerError(f"{self.path}: an empty file, not a ledger (import or append make a "
                              "new ledger)")  # a read command writes nothing into it
        problem = None if readonly else write_problem(self.path)
        if readonly is None:
            return problem is not None
        if problem is not None:
            raise ReadOnly(f"{self.path}: {problem}; commands that only read it still work")
        return readonly

    def _connect(self) -> sqlite3.Connection:
        """A connection: read-write, or read-only (``mode=ro``; ``immutable`` when even that
        cannot open, as on a read-only folder where SQLite cannot make its shared-memory file)."""
        if not self.readonly:
            try:
                conn = sqlite3.connect(self.path or ":memory:", timeout=self.timeout)
                harden(conn)
                return conn
            except sqlite3.Error as error:
                raise LedgerError(f"{self.path}: cannot be opened: {error}") from None
        uri = "file:" + urllib.parse.quote(os.path.abspath(self.path or ""))
        for query in ("?mode=ro", "?mode=ro&immutable=1"):
            conn = sqlite3.connect(uri + query, uri=True, timeout=self.timeout)
            try:
                harden(conn)
                conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
                conn.execute("PRAGMA query_only = 1")
                return conn
            except sqlite3.OperationalError as error:
                conn.close()
                reason = error
            except (sqlite3.DatabaseError, UnicodeDecodeError) as error:
                conn.close()
                raise self._not_a_ledger(error) from None
        raise LedgerError(f"{self.path}: cannot be opened read-only: {reason}")

    def _not_a_ledger(self, error: BaseException) -> LedgerError:
        """The error for a file SQLite cannot read as a database; when it holds JSON text (a
        history given where the ledger goes), the message says so."""
        if holds_json_text(str(self.path)):
            return LedgerError(f"{self.path}: not a gigaledger database: it holds JSON text (a "
                               "history?); a ledger is an SQLite file, and commands take the "
                               "ledger first, then the history")
        if "file is not a database" in str(error):
            return LedgerError(f"{self.path}: not a gigaledger database (not an SQLite file, or "
                               "one whose header is damaged)")
        reason = self.translate(error).message.split(": ", 1)[-1] \
            if isinstance(error, sqlite3.Error) else str(error)
        return LedgerError(f"{self.path}: not a gigaledger database, or a damaged one ({reason})")

    def _prepare(self, synchronous: str) -> None:
        """WAL mode, the durability setting, and the tables (created or brought up to date)."""
        self._check_is_ledger()
        if self.readonly:
            if "events" not in self._table_names():
                raise LedgerError(f"{self.path}: not a gigaledger database (no events table)")
            self.stale = self._pending()  # read what is there; skip the snapshots
            return
        if self.path is not None:
            self._retry_while_locked(self.timeout, self._enable_wal)
        self.conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
        if self._pending():
            with self.transaction():  # several processes may create the tables at once
                self._check_is_ledger()
                from . import sqlite_migrations  # sqlite-utils, only when a migration is due

                sqlite_migrations.apply(self.db)

    @property
    def db(self) -> Any:
        """The connection as a ``sqlite_utils.Database`` (imported on first use)."""
        database = self.__dict__.get("_db")
        if database is None:
            import sqlite_utils

            database = self.__dict__["_db"] = sqlite_utils.Database(self.conn,
                                                                   execute_plugins=False)
        return database

    def _table_names(self) -> set[str]:
        return {row[0] for row in self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}

    def _pending(self) -> bool:
        """Whether a migration of ``MIGRATIONS`` is still to be applied to this file."""
        if MIGRATIONS_TABLE not in self._table_names():
            return True
        applied = {row[0] for row in self.conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", (MIGRATION_SET,))}
        return not applied.issuperset(MIGRATIONS)

    def _enable_wal(self) -> None:
        if self.conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            self.conn.execute("PRAGMA journal_mode=wal")

    def translate(self, error: BaseException) -> LedgerError:
        """The ledger's error for an ``sqlite3`` exception."""
        where = self.path or "ledger"
        text = str(error)
        low = text.lower()
        if isinstance(error, sqlite3.ProgrammingError):
            if "closed" in low:
                return UsageError(f"{where}: the ledger is closed")
            if "thread" in low:
                return UsageError(f"{where}: a Ledger belongs to the thread that opened it; "
                                  "open another Ledger in this thread")
        if isinstance(error, UnicodeDecodeError):
            return StorageError(f"{where}: the database file is damaged or unreadable (text "
                                "that is not UTF-8)")
        if "readonly" in low or "read-only" in low:
            return ReadOnly(f"{where}: cannot be written (a read-only file, folder or medium)")
        if "locked" in low or "busy" in low:
            return StoreBusy(f"{where}: busy: another process held the write lock for more than "
                             f"{self.timeout:g} s")
        if "full" in low:
            return StorageError(f"{where}: the disk is full")
        if "disk i/o" in low and (reason := out_of_space(self.path)) is not None:
            return StorageError(f"{where}: the disk is full ({reason})")
        if isinstance(error, sqlite3.IntegrityError):
            return ConflictError(f"{where}: {text}")
        if "malformed" in low or "not a database" in low or "disk i/o" in low or "decode" in low:
            return StorageError(f"{where}: the database file is damaged or unreadable ({text}); "
                                "`gigaledger salvage` copies the records that still verify into "
                                "a new ledger")
        return StorageError(f"{where}: {text}")

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
        check_schema(self.conn, self.path or "ledger")  # before anything in the file runs
        tables = self._table_names()
        if tables and "events" not in tables:
            raise LedgerError(f"{self.path}: not a gigaledger database (it has other tables)")
        if "events" in tables and MIGRATIONS_TABLE not in tables:
            raise LedgerError(f"{self.path}: not a gigaledger database (unknown events table)")

    def close(self) -> None:
        try:
            self.conn.close()
        except sqlite3.ProgrammingError as error:  # from another thread: close it in its own
            if "thread" not in str(error):
                raise
            raise UsageError(f"{self.path or 'ledger'}: a Ledger belongs to the thread that opened "
                             "it: close it there (a Ledger no longer referenced is closed when "
                             "it is collected)") from None

    # --- transactions ---------------------------------------------------------------------------

    def begin(self) -> None:
        """Take the write lock (waiting up to the timeout) and start a transaction."""
        self.refuse_writes()
        self.conn.execute("BEGIN IMMEDIATE")
        self.inserted, self.deferred = 0, ()

    def commit(self) -> None:
        self.build_indexes()  # before the held block: Ctrl-C may still stop a long build
        with interrupts.held():  # Ctrl-C before the commit, or after it is counted
            self.conn.execute("COMMIT")
            self.stored, self.inserted = self.stored + self.inserted, 0

    def rollback(self) -> None:
        self.inserted, self.deferred = 0, ()  # the rollback restores the indexes dropped
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def defer_indexes(self) -> None:
        """On a log that is empty inside this write transaction, drop the two unique indexes
        of ``events`` (the ids; the streams' versions), keeping their exact SQL:
        ``build_indexes`` makes them again, from all the rows at once, before the commit (or
        before a look-up by id or stream). Sorting once costs less than updating two B-trees at
        every row: an import of 200,000 records into an empty ledger spent 1.9 s in SQLite
        instead of 3.1 s (py-spy). The transaction keeps it atomic (a rollback or a crash leaves the
        indexes as they were), and a duplicate is still refused at the commit
        (``ConflictError``), though the ledger refuses it first."""
        if self.deferred or self.inserted or not self.conn.in_transaction or self.head()[0]:
            return  # only for a log that is empty inside this transaction
        found = dict(self.conn.execute(_DEFERRED_SQL).fetchall())
        if len(found) != len(DEFERRED_INDEXES):
            return  # not the schema this knows: leave it alone
        for statement in _DROP_DEFERRED:
            self.conn.execute(statement)
        self.deferred = tuple(found[name] for name in DEFERRED_INDEXES)

    def build_indexes(self) -> None:
        """Make again the indexes ``defer_indexes`` dropped (nothing when none were)."""
        deferred, self.deferred = self.deferred, ()
        for sql in deferred:
            self.conn.execute(sql)

    def try_begin(self) -> bool:
        if self.readonly:
            return False
        self.conn.execute("PRAGMA busy_timeout = 0")
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            self.inserted, self.deferred = 0, ()
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            self.conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")

    # --- reads ----------------------------------------------------------------------------------

    def data_version(self) -> int:
        """Changes whenever another connection commits (SQLite's ``PRAGMA data_version``)."""
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def head(self) -> tuple[int, str | None]:
        """The last seq (0 when empty) and its hash."""
        row = self.conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, None)

    def stream_version(self, stream: str) -> int:
        self.build_indexes()  # a look-up in the open import: with its index, not a scan
        row = self.conn.execute(
            "SELECT MAX(version) FROM events WHERE stream = ?", (stream,)
        ).fetchone()
        return row[0] or 0

    def find(self, ids: Sequence[str]) -> dict[str, StoredEvent]:
        """The stored rows of those ids that exist."""
        self.build_indexes()  # a look-up in the open import: with its index, not a scan
        found: dict[str, StoredEvent] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            for row in self.conn.execute(f"{SELECT_ROWS} WHERE id IN ({marks})", chunk):
                found[row[1]] = stored_event(row)
        return found

    def rows(
        self,
        after: int = 0,
        *,
        types: Iterable[str] | None = None,
        stream: str | None = None,
        since_time: str | None = None,
        before_time: str | None = None,
        upto: int | None = None,
        limit: int | None = None,
        reverse: bool = False,
    ) -> Generator[StoredEvent, None, None]:
        query, params = rows_query("?", _in_list, after=after, types=types, stream=stream,
                                   since_time=since_time, before_time=before_time, upto=upto,
                                   limit=limit, reverse=reverse)
        cursor = self.conn.execute(query, params)
        try:
            yield from map(stored_event, cursor)  # stepped row by row: faster than fetchmany
        finally:
            _close(cursor)

    def hash_at(self, seq: int) -> str | None:
        row = self.conn.execute("SELECT hash FROM events WHERE seq = ?", (seq,)).fetchone()
        return row[0] if row else None

    def snapshots(self, name: str, fingerprint: str, upto: int | None,
                  before_time: str | None) -> Iterator[tuple[int, str, str | None, str]]:
        if self.stale:
            return
        where, params = snapshot_filter("?", name, fingerprint, upto, before_time)
        cursor = self.conn.execute(
            f"SELECT seq, hash, occurred_at, state FROM snapshots WHERE {where} ORDER BY seq DESC",
            params)
        try:
            # One by one (the first usable is most often taken), through ``map``: ``yield from``
            # a cursor would close it itself, failing when the database was closed first.
            yield from map(tuple, cursor)
        finally:
            _close(cursor)

    def newest_snapshot(self) -> int:
        if self.stale:
            return 0
        return int(self.conn.execute("SELECT IFNULL(MAX(seq), 0) FROM snapshots").fetchone()[0])

    def stats(self) -> dict[str, Any]:
        has_snapshots = not self.stale or "snapshots" in self._table_names()
        return stats_of(lambda query: self.conn.execute(query).fetchall(),
                        has_snapshots=has_snapshots)

    def damage(self) -> str | None:
        return integrity_problem(self.conn)

    def stream_names(self, limit: int = 10_000) -> list[str]:
        return [row[0] for row in self.conn.execute(
            "SELECT DISTINCT stream FROM events ORDER BY stream LIMIT ?", (limit,))]

    # --- writes ---------------------------------------------------------------------------------

    def save_snapshots(self, rows: Sequence[SnapshotRow], keep: int) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO snapshots (name, seq, fingerprint, hash, occurred_at, state) "
            "VALUES (?, ?, ?, ?, ?, ?)", rows)
        self.conn.execute(
            "DELETE FROM snapshots WHERE rowid IN (SELECT rowid FROM (SELECT rowid, ROW_NUMBER() "
            "OVER (PARTITION BY name ORDER BY seq DESC) AS age FROM snapshots) WHERE age > ?)",
            (keep,))

    def replace_tables(self, tables: Sequence[TableSpec]) -> None:
        """Drop and create plain tables (name, columns, primary key, foreign keys, rows) in one
        transaction, beside the log: ``materialize``'s tables."""
        with self.transaction():
            for name, columns, pk, foreign_keys, rows in tables:
                self.db.table(name).drop(ignore=True)
                self.db.table(name).create(columns, pk=pk, foreign_keys=foreign_keys, not_null=set(pk))
                self.db.table(name).insert_all(rows, batch_size=1000)

    def insert(self, rows: Sequence[StoredEvent]) -> None:
        self.conn.executemany(_INSERT, rows)
        grow(self, rows)
        self.inserted += len(rows)

    @property
    def has_tree(self) -> bool:
        return not self.stale or "tree_blocks" in self._table_names()

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql, params).fetchall()

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)


def _close(cursor: sqlite3.Cursor) -> None:
    """Close a cursor that a generator stepped; quietly when the database was closed first (a
    generator left suspended, by Ctrl-C or a ``break``, is closed when it is collected)."""
    try:
        cursor.close()
    except sqlite3.ProgrammingError:
        pass
