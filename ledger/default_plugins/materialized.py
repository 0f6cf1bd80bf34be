"""The built-in domain's tables for ``gigaledger materialize`` (the ``materialize_tables`` hook):
agreements, tranches, money by investor and investee, GPUs, the provider mix, the pipeline, and
capacity and money released by day. Money and gigawatts are exact decimal text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..hookspecs import hookimpl
from ..materialize import EXACT, Table
from .funds import INVESTOR_COLUMNS
from .pipeline import TOTALS
from .timeline import TYPES, Timeline, build

#: The columns of ``pipeline_plans``: the report's ``pipeline.plans`` objects.
PLAN_COLUMNS = {"site": str, "provider": str, "platform": str, "vendor": str,
                "planned_gigawatts": EXACT, "due": str, "commissioned_gigawatts": EXACT,
                "remaining_gigawatts": EXACT, "status": str}


@hookimpl
def materialize_tables(ledger, view):
    summaries = {name: view.summary(name) for name in view}
    records = ledger.read(types=TYPES, until=view.seq)
    return [
        *investment_tables(summaries.get("investment"), ledger),
        *gpu_tables(summaries.get("gpu_inventory")),
        *mix_tables(summaries.get("provider_mix")),
        *pipeline_tables(summaries.get("pipeline")),
        *timeline_tables(build(records)),
    ]


def investment_tables(summary: Mapping[str, Any] | None, ledger: Any) -> list[Table]:
    if summary is None:
        return []
    causes = {t["cause"] for a in summary["agreements"].values() for t in a["tranches"]}
    cause_seq = {id: record.seq for id in sorted(causes)
                 if (record := ledger.get(id)) is not None}
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
