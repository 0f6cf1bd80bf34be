"""The store contract: what the ledger needs from a database, and how one is chosen.

Two stores keep it: SQLite (``sqlite_store.py``, a file or memory, the embedded default) and
PostgreSQL (``postgres_store.py``, for several writers on several hosts), chosen by the location
given to ``Ledger.open``: a ``postgresql://`` URL, else a path (or None: memory).

A store knows rows, not events: a row is the tuple of ``COLUMNS``. The ledger computes seqs,
versions and hashes itself inside ``transaction()``; a store guarantees that only one transaction
writes at a time (so that seqs stay contiguous), that the events table refuses UPDATE and DELETE,
and that ``(stream, version)`` and ``id`` are unique.
"""

from __future__ import annotations

import abc
import functools
import inspect
import os
import re
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, NamedTuple, Optional

from .errors import LedgerError, ReadOnly

class StoredEvent(NamedTuple):
    """One row of the ``events`` table, as stored: times are the stored ISO text, ``data`` and
    ``meta`` the canonical JSON text the hash covers. The ledger decodes it into a ``Record``."""

    seq: int
    id: str
    stream: str
    version: int
    type: str
    schema: int
    occurred_at: str
    recorded_at: str
    data: str
    meta: str
    hash: str


#: A snapshot as stored: (name, seq, fingerprint, hash, occurred_at, state).
SnapshotRow = tuple[str, int, str, str, Optional[str], str]
#: A plain table to write beside the log: name, columns (name: type), primary key, foreign keys,
#: rows.
TableSpec = tuple[str, dict[str, Any], list[str], list[Any], Iterable[dict[str, Any]]]
#: The columns of ``events``, in order: the fields of ``StoredEvent``.
COLUMNS: tuple[str, ...] = StoredEvent._fields
#: A stored row from the tuple a driver returns, at C speed (no Python call per row).
stored_event: Callable[[Sequence[Any]], StoredEvent] = functools.partial(tuple.__new__, StoredEvent)
SELECT_ROWS = f"SELECT {', '.join(COLUMNS)} FROM events"
#: Rows fetched from the database at a time when streaming the log.
BATCH = 2000
#: The queries of ``stats()``, the same on both stores.
STATS_QUERIES = {
    "times": "SELECT MIN(occurred_at), MAX(occurred_at), COUNT(DISTINCT stream) FROM events",
    "by_type": "SELECT type, COUNT(*) FROM events GROUP BY type ORDER BY type",
    "snapshots": "SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM snapshots",
}
#: The ``synchronous`` settings a ledger accepts (SQLite's; PostgreSQL's commits are durable as
#: its server is configured).
SYNCHRONOUS = ("FULL", "NORMAL", "EXTRA")
_URL = re.compile(r"^postgres(ql)?://", re.I)


class Store(abc.ABC):
    """What both stores share: transactions as context managers, and the boundary where the
    driver's exceptions become the ledger's own errors (``translate``), so that no
    ``sqlite3`` or ``psycopg`` exception ever reaches a caller."""

    path: str | None
    timeout: float
    #: True when the store refuses every write (opened read-only).
    readonly: bool = False
    #: The driver's exception base class, caught at every public method and translated.
    driver_error: ClassVar[type[BaseException] | tuple[type[BaseException], ...]] = ()
    #: The public methods whose driver errors are translated.
    GUARDED: ClassVar[tuple[str, ...]] = (
        "begin", "commit", "rollback", "try_begin", "data_version", "head", "stream_version",
        "find", "rows", "hash_at", "snapshots", "newest_snapshot", "insert", "save_snapshots",
        "stats", "stream_names", "fetch", "execute_many", "damage",
    )
    #: The Merkle tree at the end of the log as this process last grew it (``tree.grow``).
    tree_state: Any = None
    #: Records committed through this object, and records inserted in the open transaction.
    stored = 0
    inserted = 0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in cls.GUARDED:
            function = cls.__dict__.get(name)
            if function is not None:
                setattr(cls, name, _guarded(function))

    @abc.abstractmethod
    def translate(self, error: BaseException) -> LedgerError:
        """The ledger's error for one of the driver's exceptions."""

    @abc.abstractmethod
    def begin(self) -> None: ...

    @abc.abstractmethod
    def try_begin(self) -> bool:
        """Start a write transaction and return True, or return False at once when another
        connection is writing (or the store is read-only)."""

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside is committed together, or rolled back together on any exception."""
        self.begin()
        try:
            yield
        except BaseException:
            self.rollback()
            raise
        self.commit()

    @contextmanager
    def try_transaction(self) -> Iterator[bool]:
        """Like ``transaction()``, for work that may be skipped: yields False at once, instead of
        waiting, when another connection holds the write lock or the store is read-only."""
        if not self.try_begin():
            yield False
            return
        try:
            yield True
        except BaseException:
            self.rollback()
            raise
        self.commit()

    @abc.abstractmethod
    def close(self) -> None: ...

    # --- reads ----------------------------------------------------------------------------------

    @abc.abstractmethod
    def data_version(self) -> int:
        """Unchanged since the last call only if no other connection has committed since."""

    @abc.abstractmethod
    def head(self) -> tuple[int, str | None]:
        """The last seq (0 when empty) and its hash (None when empty)."""

    @abc.abstractmethod
    def stream_version(self, stream: str) -> int:
        """A stream's current version, 0 when it has no record."""

    @abc.abstractmethod
    def find(self, ids: Sequence[str]) -> dict[str, StoredEvent]:
        """The stored rows of those ids that exist, by id."""

    @abc.abstractmethod
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
        """Rows in seq order (newest first with ``reverse``), streamed in batches, never the whole
        log at once: after seq ``after``, up to seq ``upto``, of these ``types``, of one
        ``stream``, whose ``occurred_at`` is at or after ``since_time`` and before
        ``before_time`` (stored time texts), at most ``limit`` of them."""

    @abc.abstractmethod
    def hash_at(self, seq: int) -> str | None: ...

    @abc.abstractmethod
    def snapshots(self, name: str, fingerprint: str, upto: int | None,
                  before_time: str | None) -> Iterator[tuple[int, str, str | None, str]]:
        """A projection's snapshots of this fingerprint, newest first: (seq, hash, occurred_at,
        state), at or before seq ``upto`` and made of records before ``before_time``."""

    @abc.abstractmethod
    def newest_snapshot(self) -> int: ...

    @abc.abstractmethod
    def stats(self) -> dict[str, Any]:
        """What ``gigaledger info`` shows of the stored data: ``streams``, ``by_type`` (records
        by type), ``first_occurred_at``, ``last_occurred_at``, ``snapshots``, ``snapshot_seq``."""

    def damage(self) -> str | None:
        """The first problem the database's own consistency check finds in the stored pages
        (an index that disagrees with its table, a broken page), or None: what the records'
        hashes cannot see. None where the store has no such check."""
        return None

    @abc.abstractmethod
    def stream_names(self, limit: int = 10_000) -> list[str]:
        """Up to ``limit`` distinct stream names, for hints."""

    # --- writes, inside ``transaction()`` -----------------------------------------------------

    @abc.abstractmethod
    def insert(self, rows: Sequence[StoredEvent]) -> None:
        """Insert rows (in ``COLUMNS`` order)."""

    def defer_indexes(self) -> None:
        """Inside a write transaction on an empty log, before a bulk import: the store may drop
        its indexes of the events and build them again, from all the rows at once, before the
        commit (or before a look-up needs them). Nothing by default."""

    @abc.abstractmethod
    def save_snapshots(self, rows: Sequence[SnapshotRow], keep: int) -> None:
        """Store (name, seq, fingerprint, hash, occurred_at, state) rows, keeping the newest
        ``keep`` snapshots of each projection."""

    def replace_tables(self, tables: Sequence[TableSpec]) -> None:
        """Drop and create plain tables (name, columns, primary key, foreign keys, rows) in one
        transaction, beside the log: ``materialize``'s tables. A store that cannot says so."""
        raise LedgerError(f"{self.path}: materialize writes SQLite tables; copy the ledger to a "
                          "SQLite file first (gigaledger copy)")

    # --- the Merkle tree's and the checkpoints' tables (``tree.py``) -----------------------------

    @property
    def has_tree(self) -> bool:
        """Whether the tables of the Merkle tree exist (a read-only ledger made before them
        has none: its tree is computed from the records)."""
        return True

    @abc.abstractmethod
    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of a query (``?`` marks its parameters) on the tree's tables."""

    @abc.abstractmethod
    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run a statement (``?`` marks its parameters) once per row, inside a transaction."""

    def refuse_writes(self) -> None:
        """Raise ``ReadOnly`` when the store was opened read-only."""
        if self.readonly:
            raise ReadOnly(f"{self.path or 'ledger'}: opened read-only: nothing can be written")


def _guarded(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` with the driver's exceptions translated into the ledger's errors."""
    if inspect.isgeneratorfunction(function):
        @functools.wraps(function)
        def stream(self: Store, *args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from function(self, *args, **kwargs)
            except self.driver_error as error:
                raise self.translate(error) from None

        return stream

    @functools.wraps(function)
    def call(self: Store, *args: Any, **kwargs: Any) -> Any:
        try:
            return function(self, *args, **kwargs)
        except self.driver_error as error:
            raise self.translate(error) from None

    return call


def rows_query(mark: str, in_list: Callable[[list[str]], tuple[str, list[Any]]], *, after: int,
               types: Iterable[str] | None, stream: str | None, since_time: str | None = None,
               before_time: str | None, upto: int | None, limit: int | None,
               reverse: bool = False) -> tuple[str, list[Any]]:
    """The query of ``rows()`` and its parameters, with ``mark`` for a parameter (``?`` or
    ``%s``) and ``in_list(types)`` giving the clause for a list of types."""
    parts: list[tuple[str, list[Any]]] = [("seq > ?", [after])]
    if types is not None:
        parts.append(in_list(list(types)))
    if stream is not None:
        parts.append(("stream = ?", [stream]))
    if since_time is not None:
        parts.append(("occurred_at >= ?", [since_time]))
    if before_time is not None:
        parts.append(("occurred_at < ?", [before_time]))
    if upto is not None:
        parts.append(("seq <= ?", [upto]))
    where, params = _joined(parts, mark)
    tail = ""
    if limit is not None:
        tail = f" LIMIT {mark}"
        params.append(limit)
    order = " DESC" if reverse else ""
    return f"{SELECT_ROWS} WHERE {where} ORDER BY seq{order}{tail}", params


def snapshot_filter(mark: str, name: str, fingerprint: str, upto: int | None,
                    before_time: str | None) -> tuple[str, list[Any]]:
    """The WHERE clause of ``snapshots()``: a projection's snapshots of this fingerprint, at or
    before seq ``upto``, made of records before ``before_time``."""
    parts: list[tuple[str, list[Any]]] = [("name = ? AND fingerprint = ?", [name, fingerprint])]
    if upto is not None:
        parts.append(("seq <= ?", [upto]))
    if before_time is not None:
        parts.append(("(occurred_at IS NULL OR occurred_at < ?)", [before_time]))
    return _joined(parts, mark)


def _joined(parts: list[tuple[str, list[Any]]], mark: str) -> tuple[str, list[Any]]:
    clause = " AND ".join(sql for sql, _ in parts).replace("?", mark)
    return clause, [value for _, values in parts for value in values]


def is_url(location: object) -> bool:
    """Whether ``location`` names a PostgreSQL database rather than a file."""
    return isinstance(location, str) and bool(_URL.match(location))


def open_store(
    location: str | os.PathLike[str] | None,
    *,
    create: bool = True,
    timeout: float = 30.0,
    synchronous: str = "FULL",
    readonly: bool | None = False,
) -> Store:
    """The store at ``location``: a ``postgresql://`` URL, a file path, or None for memory.
    ``readonly``: True refuses every write; None opens read-only when the file cannot be
    written (a read-only file, folder or medium)."""
    if is_url(location):
        from .postgres_store import PostgresStore

        return PostgresStore(str(location), create=create, timeout=timeout,
                             synchronous=synchronous, readonly=bool(readonly))
    from .sqlite_store import SqliteStore

    return SqliteStore(location, create=create, timeout=timeout, synchronous=synchronous,
                       readonly=readonly)


def stats_of(fetch: Callable[[str], list[tuple[Any, ...]]], *,
             has_snapshots: bool = True) -> dict[str, Any]:
    """``Store.stats()`` from ``fetch(query) -> rows``, the same queries on both stores
    (``has_snapshots=False``: there is no snapshots table to count)."""
    first, last, streams = fetch(STATS_QUERIES["times"])[0]
    snapshots, snapshot_seq = fetch(STATS_QUERIES["snapshots"])[0] if has_snapshots else (0, 0)
    return {
        "streams": streams,
        "by_type": dict(fetch(STATS_QUERIES["by_type"])),
        "first_occurred_at": first,
        "last_occurred_at": last,
        "snapshots": snapshots,
        "snapshot_seq": snapshot_seq,
    }
