"""Projections as plain SQLite tables in the ledger's own file, for Datasette and SQL.

``materialize(book)`` replays the ledger to its head and writes the engine's own tables
(``materialized``: the seq and head they were made from; ``projections``: every projection's
summary as JSON) with every plugin's (the ``materialize_tables`` hook), replacing the previous
ones in one transaction: a reader sees the old tables or the new ones, never a mix. The tables
are a cache of the log, outside the hash chain; ``verify()`` never reads them.

Decimals are stored as exact decimal text (as in the log and ``report --json``), never REAL;
counts are integers. ``CAST(amount AS REAL)`` sorts or charts them in SQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from .clock import format_time, now
from .errors import PluginError, decoding
from .replay import View, jsonable

if TYPE_CHECKING:
    from .ledger import Ledger
    from .store import Store

#: Decimals in the tables: exact text, never REAL.
EXACT = str
#: The engine's own tables; a plugin's table may not take these names.
ENGINE_TABLES = ("materialized", "projections")


@attrs.frozen
class Table:
    """One materialized table: its columns (name -> type), primary key, foreign keys, rows."""

    name: str
    columns: Mapping[str, type]
    pk: tuple[str, ...]
    rows: list[dict[str, Any]]
    foreign_keys: tuple[tuple[str, str, str], ...] = ()


def materialize(book: Ledger, plugin_tables: Callable[[View], Iterable[tuple[str, Any]]]
                ) -> dict[str, int]:
    """Write the engine's tables and every plugin's (``plugin_tables(view)``: (plugin, tables)
    pairs, from the ``materialize_tables`` hook) as of the head; return rows written per
    table."""
    seq, head_hash = book.head()
    view = book.replay(until=seq)
    with decoding(book.path or "ledger"):  # a damaged time in the file: one line
        report = view.report()
    day = view.position().day
    tables = [
        Table("materialized", {"seq": int, "hash": str, "materialized_at": str, "as_of_date": str,
                               "scenario_records": int}, ("seq",),
              [{"seq": seq, "hash": head_hash, "materialized_at": format_time(now()),
                "as_of_date": None if day is None else day.isoformat(),
                "scenario_records": view.scenario_records}]),
        Table("projections", {"name": str, "summary": str}, ("name",),
              [{"name": name, "summary": json.dumps(jsonable(summary), ensure_ascii=False)}
               for name, summary in report.items() if name != "as_of"]),
    ]
    owners = {name: "the engine" for name in ENGINE_TABLES}
    for plugin, given in plugin_tables(view):
        for table in given or ():
            if not isinstance(table, Table):
                raise PluginError(f"plugin {plugin}: materialize_tables returned {table!r}, "
                                  "not a ledger.Table", plugin=plugin)
            if table.name in owners:
                raise PluginError(f"plugin {plugin}: table {table.name!r} is written already by "
                                  f"{owners[table.name]}", plugin=plugin)
            owners[table.name] = f"plugin {plugin}"
            tables.append(table)
    write(book._store, tables)
    return {table.name: len(table.rows) for table in tables}


def write(store: Store, tables: Iterable[Table]) -> None:
    """Replace the tables in one transaction."""
    store.replace_tables([
        (table.name, dict(table.columns), list(table.pk), list(table.foreign_keys),
         _exact(table.rows))
        for table in tables
    ])


def _exact(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for row in rows:
        yield {key: format(value, "f") if isinstance(value, Decimal) else value
               for key, value in row.items()}
