"""Projections as plain SQLite tables in the ledger's own file, for Datasette and SQL.

``materialize(book)`` replays the ledger to its head and writes each built-in projection as
tables (and every projection's summary as JSON in ``projections``), replacing the previous ones
in one transaction: a reader sees the old tables or the new ones, never a mix. The tables are a
cache of the log, outside the hash chain; ``verify()`` never reads them.

Money and gigawatts are stored as exact decimal text (as in the log and ``report --json``);
counts are integers. ``CAST(gigawatts AS REAL)`` sorts or charts them in SQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from .clock import format_time, now
from .default_plugins.investment import INVESTOR_COLUMNS
from .default_plugins.pipeline import TOTALS
from .errors import LedgerError
from .replay import jsonable
from .sqlite_store import SqliteStore
from .timeline import TYPES, Timeline, build

if TYPE_CHECKING:
    from .ledger import Ledger

#: Decimals in the tables: exact text, never REAL.
EXACT = str
#: The columns of ``pipeline_plans``: the report's ``pipeline.plans`` objects.
PLAN_COLUMNS = {"site": str, "provider": str, "platform": str, "vendor": str,
                "planned_gigawatts": EXACT, "due": str, "commissioned_gigawatts": EXACT,
                "remaining_gigawatts": EXACT, "status": str}


@attrs.frozen
class Table:
    """One materialized table: its columns (name -> type), primary key, foreign keys, rows."""

    name: str
    columns: Mapping[str, type]
    pk: tuple[str, ...]
    rows: list[dict[str, Any]]
    foreign_keys: tuple[tuple[str, str, str], ...] = ()


def materialize(book: Ledger) -> dict[str, int]:
    """Write the projections of ``book`` at its head as tables; return rows written per table."""
    store = book._store
    if not isinstance(store, SqliteStore):
        raise LedgerError(f"{store.path}: materialize writes SQLite tables; copy the ledger to a "
                          "SQLite file first (gigaledger copy)")
    seq, head_hash = store.head()
    view = book.replay(until=seq)
    report = view.report()
    records = (record for record in book.read(types=TYPES) if record.seq <= seq)
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
        *investment_tables(report.get("investment"), store),
        *gpu_tables(report.get("gpu_inventory")),
        *mix_tables(report.get("provider_mix")),
        *pipeline_tables(report.get("pipeline")),
        *timeline_tables(build(records)),
    ]
    write(store, tables)
    return {table.name: len(table.rows) for table in tables}


def write(store: SqliteStore, tables: Iterable[Table]) -> None:
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


def investment_tables(summary: Mapping[str, Any] | None, store: SqliteStore) -> list[Table]:
    if summary is None:
        return []
    causes = {t["cause"] for a in summary["agreements"].values() for t in a["tranches"]}
    cause_seq = {id: row[0] for id, row in store.find(sorted(causes)).items()}
    agreements = [
        {"agreement": name, "status": a["status"], "investor": a["investor"],
         "investee": a["investee"], "target_gigawatts": a["gigawatts"], "cap_usd": a["cap_usd"],
         "tranche_usd": a["tranche_usd"], "tranche_gigawatts": a["tranche_gigawatts"],
         "commissioned_gigawatts": a["commissioned_gigawatts"],
         "tranches_earned": a["tranches_earned"], "tranches_released": a["tranches_released"],
         "released_usd": a["released_usd"], "forfeited_usd": a["forfeited_usd"],
         "superseded_by": a["superseded_by"]}
        for name, a in summary["agreements"].items()
    ]
    tranches = [
        {"agreement": name, "tranche": t["tranche"], "usd": t["usd"],
         "released_on": t["occurred_at"], "seq": t["seq"], "cause_seq": cause_seq.get(t["cause"])}
        for name, a in summary["agreements"].items() for t in a["tranches"]
    ]
    investors = [{"investor": name, **{key: i[key] for key in INVESTOR_COLUMNS}}
                 for name, i in summary["investors"].items()]
    investees = [{"investor": name, "investee": investee,
                  **{key: figures[key] for key in INVESTOR_COLUMNS}}
                 for name, i in summary["investors"].items()
                 for investee, figures in i["by_investee"].items()]
    return [
        Table("investment_agreements",
              {"agreement": str, "status": str, "investor": str, "investee": str,
               "target_gigawatts": EXACT, "cap_usd": EXACT, "tranche_usd": EXACT,
               "tranche_gigawatts": EXACT, "commissioned_gigawatts": EXACT,
               "tranches_earned": int, "tranches_released": int, "released_usd": EXACT,
               "forfeited_usd": EXACT, "superseded_by": str},
              ("agreement",), agreements),
        Table("investment_tranches",
              {"agreement": str, "tranche": int, "usd": EXACT, "released_on": str, "seq": int,
               "cause_seq": int},
              ("agreement", "tranche"), tranches,
              (("agreement", "investment_agreements", "agreement"), ("seq", "events", "seq"),
               ("cause_seq", "events", "seq"))),
        Table("investment_investors",
              {"investor": str, **{key: EXACT for key in INVESTOR_COLUMNS}},
              ("investor",), investors),
        Table("investment_investees",
              {"investor": str, "investee": str, **{key: EXACT for key in INVESTOR_COLUMNS}},
              ("investor", "investee"), investees),
    ]


def gpu_tables(summary: Mapping[str, Any] | None) -> list[Table]:
    if summary is None:
        return []
    counted = [
        {"site": site, "platform": platform, "unit": unit, "counted": count}
        for site, platforms in summary["counted_by"].items()
        for platform, units in platforms.items() for unit, count in units.items()
    ]
    estimated = [
        {"platform": platform, "gigawatts": band["gigawatts"], "unit": band["unit"],
         "estimated_low": band["low"], "estimated_high": band["high"]}
        for platform, band in summary["estimated_by_platform"].items()
    ] + [
        {"platform": platform, "gigawatts": gigawatts, "unit": None,
         "estimated_low": None, "estimated_high": None}
        for platform, gigawatts in summary["unestimated_by_platform"].items()
    ]
    return [
        Table("gpu_inventory", {"site": str, "platform": str, "unit": str, "counted": int},
              ("site", "platform", "unit"), counted),
        Table("gpu_estimates",
              {"platform": str, "gigawatts": EXACT, "unit": str, "estimated_low": int,
               "estimated_high": int},
              ("platform",), sorted(estimated, key=lambda row: row["platform"])),
    ]


def mix_tables(summary: Mapping[str, Any] | None) -> list[Table]:
    if summary is None:
        return []
    gigawatts, usd = summary["commissioned_gigawatts"], summary["contracted_usd"]
    bases = [
        ("commissioned_gigawatts", "provider", gigawatts["gigawatts_by_provider"], gigawatts["by_provider"]),
        ("commissioned_gigawatts", "vendor", gigawatts["gigawatts_by_vendor"], gigawatts["by_vendor"]),
        ("contracted_usd", "provider", usd["usd_by_provider"], usd["by_provider"]),
    ]
    rows = [
        {"basis": basis, "dimension": dimension, "name": name, "amount": amounts[name],
         "share": shares[name]}
        for basis, dimension, amounts, shares in bases for name in shares
    ]
    unquantified = [{"dimension": dimension, "name": name}
                    for dimension in ("provider", "vendor")
                    for name in gigawatts[f"unquantified_{dimension}s"]]
    return [Table("provider_mix",
                  {"basis": str, "dimension": str, "name": str, "amount": EXACT, "share": EXACT},
                  ("basis", "dimension", "name"), rows),
            Table("provider_mix_unquantified", {"dimension": str, "name": str},
                  ("dimension", "name"), unquantified)]


def pipeline_tables(summary: Mapping[str, Any] | None) -> list[Table]:
    """The pipeline's planned keys, and its totals in all, by provider and by vendor."""
    if summary is None:
        return []
    plans = [{key: plan[key] for key in PLAN_COLUMNS} for plan in summary["plans"]]
    groups = [("all", "all", summary["totals"])]
    groups += [("provider", name, group) for name, group in summary["by_provider"].items()]
    groups += [("vendor", name, group) for name, group in summary["by_vendor"].items()]
    totals = [{"dimension": dimension, "name": name, **{key: group[key] for key in TOTALS}}
              for dimension, name, group in groups]
    return [
        Table("pipeline_plans", PLAN_COLUMNS, ("site", "provider", "platform"), plans),
        Table("pipeline_totals",
              {"dimension": str, "name": str, **{key: EXACT for key in TOTALS[:-1]},
               "late_keys": int},
              ("dimension", "name"), totals),
    ]


def timeline_tables(timeline: Timeline) -> list[Table]:
    return [
        Table("capacity_timeline",
              {"day": str, "provider": str, "gigawatts": EXACT, "cumulative_gigawatts": EXACT},
              ("day", "provider"),
              [{"day": c.day.isoformat(), "provider": c.provider, "gigawatts": c.gigawatts,
                "cumulative_gigawatts": c.cumulative_gigawatts} for c in timeline.capacity]),
        Table("investment_timeline",
              {"day": str, "usd": EXACT, "cumulative_usd": EXACT}, ("day",),
              [{"day": r.day.isoformat(), "usd": r.usd, "cumulative_usd": r.cumulative_usd}
               for r in timeline.releases]),
    ]
