"""The PostgreSQL store: the same contract as SQLite's, for several writers on several hosts.

- One writer at a time: every write transaction takes a transaction-level advisory lock
  (``pg_advisory_xact_lock``) on a key of this ledger's table before it reads the head, so seqs
  are contiguous whatever the number of connections; it waits up to ``timeout`` (``lock_timeout``)
  and is released by the commit or rollback.
- Append-only in the database: triggers refuse UPDATE, DELETE and TRUNCATE on ``events``.
- Rows are the same text as in SQLite (times as ISO text, payloads as the canonical JSON the hash
  covers), so a log copied between the two stores is identical, hashes included.
- ``rows()`` streams through a server-side cursor: inside the write transaction on the writer
  connection, else on a second, read-only connection in a transaction of its own.
- Durability: ``synchronous="FULL"`` commits with ``synchronous_commit = on`` (the default),
  ``"NORMAL"`` with ``off`` (a server crash may lose the last commits, never corrupt the log).

The tables live in the connection's schema (``search_path``), so one database can hold several
ledgers: ``postgresql://host/db?options=-csearch_path%3Dmy_ledger``.
"""

from __future__ import annotations

import itertools
import logging
import re
import uuid
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import Any

from .errors import ConflictError, LedgerError, ReadOnly, StorageError, StoreBusy, UsageError
from .store import (BATCH, COLUMNS, SELECT_ROWS, SYNCHRONOUS, SnapshotRow, Store, StoredEvent,
                    rows_query, snapshot_filter, stats_of, stored_event)
from .tree import POSTGRES_TABLES, grow

try:
    import psycopg
    from psycopg import errors as pg_errors
except ImportError:  # pragma: no cover - the message is tested with psycopg hidden
    psycopg = None  # type: ignore[assignment]

# psycopg logs a lost connection's pipeline as it is torn down; the error itself is raised (and
# translated): without a handler, logging would print that second line on stderr.
logging.getLogger("psycopg").addHandler(logging.NullHandler())

_INSERT = f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"
_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")
_cursors = itertools.count()

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq bigint PRIMARY KEY,
    id text NOT NULL UNIQUE,
    stream text NOT NULL,
    version integer NOT NULL,
    type text NOT NULL,
    schema integer NOT NULL,
    occurred_at text NOT NULL,
    recorded_at text NOT NULL,
    data text NOT NULL,
    meta text NOT NULL,
    hash text NOT NULL,
    UNIQUE (stream, version)
);
CREATE INDEX IF NOT EXISTS events_type ON events (type, seq);
CREATE OR REPLACE FUNCTION gigaledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events is append-only: % is refused', TG_OP;
END $$;
DROP TRIGGER IF EXISTS events_no_update ON events;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION gigaledger_append_only();
DROP TRIGGER IF EXISTS events_no_truncate ON events;
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION gigaledger_append_only();
CREATE TABLE IF NOT EXISTS snapshots (
    name text NOT NULL,
    seq bigint NOT NULL,
    fingerprint text NOT NULL,
    hash text NOT NULL,
    occurred_at text,
    state text NOT NULL,
    PRIMARY KEY (name, seq, fingerprint)
);
CREATE TABLE IF NOT EXISTS gigaledger_schema (version integer NOT NULL);
"""
SCHEMA_VERSION = 1


def public_url(url: str) -> str:
    """The URL without its password, for messages."""
    return _PASSWORD.sub(r"\1***@", url)


class PostgresStore(Store):
    """One ledger in a PostgreSQL schema."""

    driver_error = psycopg.Error if psycopg is not None else ()

    def __init__(self, url: str, *, create: bool = True, timeout: float = 30.0,
                 synchronous: str = "FULL", readonly: bool = False) -> None:
        if psycopg is None:
            raise LedgerError("a PostgreSQL ledger needs psycopg: pip install 'gigaledger[postgres]'")
        if str(synchronous).upper() not in SYNCHRONOUS:
            raise LedgerError(f"synchronous: expected one of {', '.join(SYNCHRONOUS)}, got {synchronous!r}")
        self.url = url
        self.path = public_url(url)
        self.timeout = timeout
        self.readonly = readonly
        self._commit_mode = "off" if synchronous.upper() == "NORMAL" else "on"
        self._reader: Any = None
        self._readers = 0  # server-side cursors open on the reader connection
        self._versions = itertools.count()
        self._closed = False  # closed by close(), not by a lost connection
        self._transaction = False  # a transaction is open on the connection
        self._conn = self._connect()
        try:
            self._lock_key = self.conn.execute(
                "SELECT hashtext(current_schema() || '.gigaledger')").fetchone()[0]
            self._create(create and not readonly)
        except psycopg.Error as error:
            self._conn.close()
            raise self.translate(error) from None
        except BaseException:
            self._conn.close()
            raise

    @property
    def conn(self) -> Any:
        """The connection; one lost between transactions (the server restarted, or ended it)
        is made again, as nothing was in flight on it. A connection lost inside a transaction
        fails that transaction (the server rolled it back) and is made again after it."""
        conn = self._conn
        if conn.closed and not self._closed and not self._transaction:
            conn = self._conn = self._connect()
        return conn

    def _connect(self) -> Any:
        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=max(1, int(self.timeout)))
        except psycopg.Error as error:
            raise LedgerError(f"{self.path}: cannot connect: {_first_line(error)}") from None
        conn.execute(f"SET synchronous_commit = {self._commit_mode}")
        conn.execute(f"SET lock_timeout = {int(self.timeout * 1000)}")
        return conn

    def _create(self, create: bool) -> None:
        exists = self.conn.execute("SELECT to_regclass('events') IS NOT NULL").fetchone()[0]
        if exists:
            if self.conn.execute("SELECT to_regclass('gigaledger_schema') IS NULL").fetchone()[0]:
                raise LedgerError(f"{self.path}: not a gigaledger database (unknown events table)")
            if not self.readonly and not self.has_tree:  # made before the Merkle tree
                with self.transaction():
                    self.conn.execute(POSTGRES_TABLES)
            return
        if not create:
            raise LedgerError(f"{self.path}: no ledger in this database (schema "
                              f"{self.conn.execute('SELECT current_schema()').fetchone()[0]})")
        with self.transaction():  # several processes may create the tables at once
            if self.conn.execute("SELECT to_regclass('events') IS NULL").fetchone()[0]:
                self.conn.execute(SCHEMA)
                self.conn.execute(POSTGRES_TABLES)
                self.conn.execute("INSERT INTO gigaledger_schema (version) VALUES (%s)",
                                  (SCHEMA_VERSION,))

    def translate(self, error: BaseException) -> LedgerError:
        """The ledger's error for a ``psycopg`` exception."""
        where, text = self.path, _first_line(error)
        if isinstance(error, pg_errors.LockNotAvailable):
            return StoreBusy(f"{where}: busy: another writer held the write lock for more than "
                             f"{self.timeout:g} s")
        if isinstance(error, pg_errors.ReadOnlySqlTransaction):
            return ReadOnly(f"{where}: cannot be written (a read-only transaction or server)")
        if isinstance(error, pg_errors.UniqueViolation):
            return ConflictError(f"{where}: {text}")
        if isinstance(error, pg_errors.DiskFull):
            return StorageError(f"{where}: the disk is full")
        if isinstance(error, pg_errors.QueryCanceled):
            return StorageError(f"{where}: a statement was cancelled by the server ({text}); "
                                "its transaction was rolled back")
        if isinstance(error, psycopg.OperationalError) and self._conn.closed:
            if self._closed:
                return UsageError(f"{where}: the ledger is closed")
            return StorageError(f"{where}: the connection to the server was lost ({text}); its "
                                "transaction was rolled back, and the next command connects "
                                "again")
        if isinstance(error, psycopg.InterfaceError):
            return UsageError(f"{where}: the ledger is closed")
        return StorageError(f"{where}: {text}")

    def close(self) -> None:
        self._closed = True
        for conn in (self._reader, self._conn):
            if conn is not None and not conn.closed:
                conn.close()

    # --- transactions ---------------------------------------------------------------------------

    def begin(self) -> None:
        """Start a transaction and take this ledger's write lock, waiting up to the timeout. A
        connection lost since the last transaction (the server restarted, or ended it) is made
        again first: nothing was in flight on it."""
        self.refuse_writes()
        self._start()
        try:
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
        except BaseException:
            self.rollback()
            raise

    def commit(self) -> None:
        # Ctrl-C is not held here (a server that does not answer must stay interruptible): a
        # commit cut short by it may have been made or not, as the server alone knows.
        try:
            self.conn.execute("COMMIT")
            self.stored, self.inserted = self.stored + self.inserted, 0
        finally:
            self._transaction = False

    def rollback(self) -> None:
        self.inserted = 0
        try:
            if self._conn.closed:  # a lost connection: the server rolled the transaction back
                return
            if self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                self.conn.execute("ROLLBACK")
        finally:
            self._transaction = False

    def _start(self) -> None:
        """Open a transaction, connecting again once when the connection turns out to have
        been lost since the last one (nothing is in flight yet: that is safe)."""
        self.inserted = 0
        try:
            self.conn.execute("BEGIN")
        except psycopg.OperationalError:
            if not self._conn.closed or self._closed:
                raise
            self.conn.execute("BEGIN")
        self._transaction = True

    def try_begin(self) -> bool:
        if self.readonly:
            return False
        self._start()
        if self.conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (self._lock_key,)).fetchone()[0]:
            return True
        self.rollback()
        return False

    @property
    def _writing(self) -> bool:
        return bool(self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE)

    # --- reads ----------------------------------------------------------------------------------

    def data_version(self) -> int:
        """PostgreSQL has no cheap 'has anyone committed' counter: always a new value, so the
        ledger reads the head again at each write."""
        return next(self._versions)

    def head(self) -> tuple[int, str | None]:
        row = self.conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, None)

    def stream_version(self, stream: str) -> int:
        row = self.conn.execute("SELECT MAX(version) FROM events WHERE stream = %s", (stream,)).fetchone()
        return row[0] or 0

    def find(self, ids: Sequence[str]) -> dict[str, StoredEvent]:
        found: dict[str, StoredEvent] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start:start + 500])
            for row in self.conn.execute(f"{SELECT_ROWS} WHERE id = ANY(%s)", (chunk,)):
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
        query, params = rows_query("%s", lambda types: ("type = ANY(?)", [types]), after=after,
                                   types=types, stream=stream, since_time=since_time,
                                   before_time=before_time, upto=upto, limit=limit,
                                   reverse=reverse)
        if self._writing:  # inside the write transaction: see its own rows
            yield from self._stream(self.conn, query, params)
            return
        reader = self._reading()
        self._readers += 1
        try:
            streamed = self._stream(reader, query, params)
            try:
                first = next(streamed, None)  # runs the query
            except psycopg.OperationalError:  # a reader connection lost while idle: again
                if not reader.closed or self._readers != 1 or self._closed:
                    raise
                reader = self._reading()
                streamed = self._stream(reader, query, params)
                first = next(streamed, None)
            if first is None:
                return
            yield first
            yield from streamed
        finally:
            self._readers -= 1
            if self._readers == 0 and not reader.closed:
                reader.commit()  # end the read transaction: no old snapshot held open

    def _stream(self, conn: Any, query: str, params: list[Any]) -> Iterator[StoredEvent]:
        cursor = conn.cursor(name=f"gigaledger_rows_{next(_cursors)}")
        cursor.itersize = BATCH
        try:
            cursor.execute(query, params)
            while batch := cursor.fetchmany(BATCH):
                yield from map(stored_event, batch)
        finally:
            if not conn.closed:
                try:
                    cursor.close()
                except psycopg.Error:
                    pass

    def _reading(self) -> Any:
        """The connection for server-side cursors outside a write transaction (they need a
        transaction of their own, which must not hold up this ledger's writes)."""
        if self._reader is None or self._reader.closed:
            self._reader = psycopg.connect(self.url, autocommit=False)
            self._reader.read_only = True
        return self._reader

    def hash_at(self, seq: int) -> str | None:
        row = self.conn.execute("SELECT hash FROM events WHERE seq = %s", (seq,)).fetchone()
        return row[0] if row else None

    def snapshots(self, name: str, fingerprint: str, upto: int | None,
                  before_time: str | None) -> Iterator[tuple[int, str, str | None, str]]:
        where, params = snapshot_filter("%s", name, fingerprint, upto, before_time)
        yield from self.conn.execute(
            f"SELECT seq, hash, occurred_at, state FROM snapshots WHERE {where} ORDER BY seq DESC",
            params).fetchall()

    def newest_snapshot(self) -> int:
        return int(self.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM snapshots").fetchone()[0])

    def stats(self) -> dict[str, Any]:
        return stats_of(lambda query: self.conn.execute(query).fetchall())

    def stream_names(self, limit: int = 10_000) -> list[str]:
        return [row[0] for row in self.conn.execute(
            "SELECT DISTINCT stream FROM events ORDER BY stream LIMIT %s", (limit,))]

    # --- writes ---------------------------------------------------------------------------------

    def insert(self, rows: Sequence[StoredEvent]) -> None:
        with self.conn.cursor() as cursor:
            cursor.executemany(_INSERT, rows)
        grow(self, rows)
        self.inserted += len(rows)

    @property
    def has_tree(self) -> bool:
        if not getattr(self, "_has_tree", False):  # once made, the tables stay
            self._has_tree = bool(self.conn.execute(
                "SELECT to_regclass('tree_blocks') IS NOT NULL").fetchone()[0])
        return self._has_tree

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self.conn.execute(sql.replace("?", "%s"), params).fetchall())

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.conn.cursor() as cursor:
            cursor.executemany(sql.replace("?", "%s"), rows)

    def save_snapshots(self, rows: Sequence[SnapshotRow], keep: int) -> None:
        with self.conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO snapshots (name, seq, fingerprint, hash, occurred_at, state) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (name, seq, fingerprint) DO UPDATE "
                "SET hash = EXCLUDED.hash, occurred_at = EXCLUDED.occurred_at, state = EXCLUDED.state",
                rows)
        self.conn.execute(
            "DELETE FROM snapshots s USING (SELECT name, seq, fingerprint, ROW_NUMBER() OVER "
            "(PARTITION BY name ORDER BY seq DESC) AS age FROM snapshots) old "
            "WHERE old.age > %s AND s.name = old.name AND s.seq = old.seq "
            "AND s.fingerprint = old.fingerprint", (keep,))


def fresh_schema(url: str, prefix: str = "gigaledger") -> tuple[str, Callable[[], None]]:
    """A new, empty schema on the PostgreSQL server at ``url``: the URL of a ledger in it, and a
    function that drops the schema with everything in it (for tests and benchmarks)."""
    if psycopg is None:
        raise LedgerError("a PostgreSQL ledger needs psycopg: pip install 'gigaledger[postgres]'")
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    connect = psycopg.connect
    with connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')

    def drop() -> None:
        with connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')

    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{name}", drop


def _first_line(error: BaseException) -> str:
    return " ".join(str(error).split())
