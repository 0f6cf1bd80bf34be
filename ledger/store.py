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

import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

COLUMNS = (
    "seq", "id", "stream", "version", "type", "schema",
    "occurred_at", "recorded_at", "data", "meta", "hash",
)
SELECT_ROWS = f"SELECT {', '.join(COLUMNS)} FROM events"
#: Rows fetched from the database at a time when streaming the log.
BATCH = 2000
#: The ``synchronous`` settings a ledger accepts (SQLite's; PostgreSQL's commits are durable as
#: its server is configured).
SYNCHRONOUS = ("FULL", "NORMAL", "EXTRA")
_URL = re.compile(r"^postgres(ql)?://", re.I)


class Store(Protocol):
    """What a ledger needs from its database."""

    #: Where it is, for messages (a URL without its password, a path, or None for memory).
    path: str | None

    def close(self) -> None: ...

    # Transactions: one writer at a time, waiting up to the store's timeout for the others.
    def begin(self) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def transaction(self) -> AbstractContextManager[None]: ...
    def try_transaction(self) -> AbstractContextManager[bool]:
        """A transaction, or False at once when another connection is writing."""
        ...

    # Reads.
    def data_version(self) -> int:
        """Unchanged since the last call only if no other connection has committed since."""
        ...
    def head(self) -> tuple[int, str | None]: ...
    def stream_version(self, stream: str) -> int: ...
    def find(self, ids: Sequence[str]) -> dict[str, tuple]: ...
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
        """Rows in seq order, streamed in batches (never the whole log at once)."""
        ...
    def hash_at(self, seq: int) -> str | None: ...
    def snapshots(self, name: str, fingerprint: str, upto: int | None,
                  before_time: str | None) -> Iterator[tuple[int, str, str | None, str]]: ...
    def newest_snapshot(self) -> int: ...

    # Writes, inside ``transaction()``.
    def insert(self, rows: Sequence[tuple]) -> None: ...
    def save_snapshots(self, rows: Sequence[tuple], keep: int) -> None: ...


class Transactions:
    """``transaction()`` and ``try_transaction()`` for a store that has ``begin()``,
    ``try_begin()``, ``commit()`` and ``rollback()``."""

    def begin(self) -> None:
        raise NotImplementedError

    def try_begin(self) -> bool:
        """Start a write transaction and return True, or return False at once when another
        connection is writing."""
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def rollback(self) -> None:
        raise NotImplementedError

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
        waiting, when another connection holds the write lock."""
        if not self.try_begin():
            yield False
            return
        try:
            yield True
        except BaseException:
            self.rollback()
            raise
        self.commit()


def rows_query(mark: str, in_list: Callable[[list[str]], tuple[str, list[Any]]], *, after: int,
               types: Iterable[str] | None, stream: str | None, before_time: str | None,
               upto: int | None, limit: int | None) -> tuple[str, list[Any]]:
    """The query of ``rows()`` and its parameters, with ``mark`` for a parameter (``?`` or
    ``%s``) and ``in_list(types)`` giving the clause for a list of types."""
    parts: list[tuple[str, list[Any]]] = [("seq > ?", [after])]
    if types is not None:
        parts.append(in_list(list(types)))
    if stream is not None:
        parts.append(("stream = ?", [stream]))
    if before_time is not None:
        parts.append(("occurred_at < ?", [before_time]))
    if upto is not None:
        parts.append(("seq <= ?", [upto]))
    where, params = _joined(parts, mark)
    tail = ""
    if limit is not None:
        tail = f" LIMIT {mark}"
        params.append(limit)
    return f"{SELECT_ROWS} WHERE {where} ORDER BY seq{tail}", params


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
) -> Store:
    """The store at ``location``: a ``postgresql://`` URL, a file path, or None for memory."""
    if is_url(location):
        from .postgres_store import PostgresStore

        return PostgresStore(str(location), create=create, timeout=timeout, synchronous=synchronous)
    from .sqlite_store import SqliteStore

    return SqliteStore(location, create=create, timeout=timeout, synchronous=synchronous)
