"""Which databases that Datasette serves are ledgers, how each is opened, and its pages.

A database is a ledger when it holds the ``events`` table with the ledger's columns. It is opened
through the library, read-only (``Ledger.open(path, readonly=True)``: nothing is ever written, and
a file on a read-only medium works), with the plugins that Datasette's configuration names for it
(``plugins: {"gigaledger": {"plugins": [...], "builtins": false}}``, for all databases or under
one database). A Ledger belongs to the thread that opens it, so each page is built in a worker
thread that opens the ledger, reads it and closes it. The ledger page (which verifies the whole
log and draws the charts) is kept while the ledger's head and its file stay as they were.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import attrs

from ..errors import LedgerError
from ..ledger import Ledger
from ..plugins import builtins_wanted
from ..store import COLUMNS
from .pages import LedgerPage, RecordPage, ledger_page, record_page

#: The plugin's name in Datasette's configuration (metadata ``plugins``).
NAME = "gigaledger"
#: Ledger pages kept (the newest, by ledger and head).
KEPT = 16
T = TypeVar("T")


@attrs.frozen
class Source:
    """A ledger file and the plugins to open it with."""

    path: str
    plugins: tuple[str, ...] = ()
    builtins: bool = True

    def open(self) -> Ledger:
        return Ledger.open(self.path, plugins=self.plugins, builtins=self.builtins, create=False,
                           readonly=True)


async def is_ledger(database: Any) -> bool:
    """Whether a Datasette database is a ledger file: it has the ``events`` table, with the
    ledger's columns."""
    if database.is_memory or not database.path:
        return False
    if "events" not in await database.table_names():
        return False
    return set(COLUMNS) <= set(await database.table_columns("events"))


def source(datasette: Any, database: Any) -> Source:
    """The ledger behind a Datasette database, with the plugins its configuration names (and
    ``GIGALEDGER_BUILTINS=0`` leaving the built-in domain out, as on the command line)."""
    config = datasette.plugin_config(NAME, database=database.name) or {}
    plugins = config.get("plugins", [])
    if isinstance(plugins, str):
        plugins = [plugins]
    if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
        raise LedgerError(f"the {NAME} plugin's configuration: plugins is a list of plugin "
                          f"paths or module names, not {plugins!r}")
    builtins = config.get("builtins")
    if builtins is None:
        builtins = builtins_wanted()
    if not isinstance(builtins, bool):
        raise LedgerError(f"the {NAME} plugin's configuration: builtins is true or false, not "
                          f"{builtins!r}")
    return Source(str(database.path), tuple(plugins), builtins)


_kept: OrderedDict[tuple[Any, ...], LedgerPage] = OrderedDict()
_lock = threading.Lock()


def _stamp(path: str) -> tuple[tuple[int, int], ...]:
    """When the file and its write-ahead log last changed, and their sizes: a ledger page is
    made again when they change, even at the same head (a file tampered with must not keep
    showing the verification it passed before)."""
    stamps = []
    for name in (path, f"{path}-wal"):
        try:
            facts = os.stat(name)
        except OSError:
            continue
        stamps.append((facts.st_mtime_ns, facts.st_size))
    return tuple(stamps)


def _ledger_page(where: Source) -> LedgerPage:
    with where.open() as book:
        key = (where, *book.head(), _stamp(where.path))
        with _lock:
            if key in _kept:
                _kept.move_to_end(key)
                return _kept[key]
        page = ledger_page(book)
    with _lock:
        _kept[key] = page
        while len(_kept) > KEPT:
            _kept.popitem(last=False)
    return page


def _record_page(where: Source, seq: int) -> RecordPage:
    with where.open() as book:
        return record_page(book, seq)


async def _in_a_thread(work: Callable[[], T]) -> T:
    return await asyncio.get_running_loop().run_in_executor(None, work)


async def the_ledger_page(where: Source) -> LedgerPage:
    """The ledger page at the ledger's head (built in a worker thread, or kept from before)."""
    return await _in_a_thread(functools.partial(_ledger_page, where))


async def the_record_page(where: Source, seq: int) -> RecordPage:
    """The page of the record with this seq (``LedgerError`` when there is none)."""
    return await _in_a_thread(functools.partial(_record_page, where, seq))
