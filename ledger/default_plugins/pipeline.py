"""pipeline: capacity planned against capacity commissioned, and what is late, as of the report's date.

Rules (DESIGN.md, "Commitments and the pipeline"): a ``capacity.planned`` sets the plan of its key
(site, provider, platform), gigawatts and ``due``, and a later plan for the same key replaces it;
a key's ``commissioned_gigawatts`` is gross, every ``capacity.commissioned`` at that key, before or
after the plan (decommissioning never lowers it). A planned key's ``remaining_gigawatts`` is
max(planned - commissioned, 0), and its status is ``done`` when nothing remains, else ``late``
when the as-of date is after ``due``, else ``on_track``. The as-of date is the view's (``AsOf.day``:
the ``--until`` date, else the date of the latest record folded), never the wall clock. Capacity
commissioned at keys that were never planned is not part of the pipeline.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any, Optional

import attrs

from ..hookspecs import hookimpl
from ..replay import AsOf
from ..tables import show, table
from .catalogue import CapacityCommissioned, CapacityPlanned

Key = tuple[str, str, str]  # (site, provider, platform)
ZERO = Decimal(0)
#: The totals of a group of plans, in the order of the report and of the tables.
TOTALS = ("planned_gigawatts", "delivered_gigawatts", "remaining_gigawatts", "late_gigawatts",
          "late_keys")
#: The order of the statuses in the text: what needs attention first.
STATUS_ORDER = {"late": 0, "on_track": 1, "done": 2}


@attrs.define
class Plan:
    """The latest plan of one key: the silicon it names, how much, and by when."""

    vendor: str
    gigawatts: Decimal
    due: date


@attrs.define
class PipelineState:
    plans: dict[Key, Plan] = attrs.field(factory=dict)
    commissioned: dict[Key, Decimal] = attrs.field(factory=dict)  # gross, planned keys or not


def status(remaining: Decimal, due: date, day: Optional[date]) -> str:
    """``done`` when nothing remains, ``late`` when the as-of ``day`` is after ``due``, else
    ``on_track`` (also when there is no as-of date: an empty view, or a summary made without one)."""
    if remaining <= 0:
        return "done"
    if day is not None and day > due:
        return "late"
    return "on_track"


def totals(plans: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The five totals of some plans: planned, delivered (each key's commissioned gigawatts up to
    its plan), remaining, late gigawatts and late keys."""
    result: dict[str, Any] = {"planned_gigawatts": ZERO, "delivered_gigawatts": ZERO,
                              "remaining_gigawatts": ZERO, "late_gigawatts": ZERO, "late_keys": 0}
    for plan in plans:
        result["planned_gigawatts"] += plan["planned_gigawatts"]
        result["delivered_gigawatts"] += min(plan["commissioned_gigawatts"], plan["planned_gigawatts"])
        result["remaining_gigawatts"] += plan["remaining_gigawatts"]
        if plan["status"] == "late":
            result["late_gigawatts"] += plan["remaining_gigawatts"]
            result["late_keys"] += 1
    return result


def grouped(plans: list[dict[str, Any]], by: str) -> dict[str, dict[str, Any]]:
    """The totals of the plans by provider or by vendor (``by``), by name."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for plan in plans:
        groups.setdefault(plan[by], []).append(plan)
    return {name: totals(groups[name]) for name in sorted(groups)}


class PipelineProjection:
    name = "pipeline"
    handles = ("capacity.planned", "capacity.commissioned")

    def initial(self) -> PipelineState:
        return PipelineState()

    def apply(self, state: PipelineState, event: Any, record: Any) -> None:
        key = (event.site, event.provider, event.platform)
        if isinstance(event, CapacityCommissioned):
            state.commissioned[key] = state.commissioned.get(key, ZERO) + event.gigawatts
        elif isinstance(event, CapacityPlanned):
            state.plans[key] = Plan(event.vendor, event.gigawatts, event.due)

    def snapshot(self, state: PipelineState) -> dict[str, Any]:
        """The state as compact JSON columns."""
        plans, commissioned = state.plans, state.commissioned
        return {
            "plans": {"key": [list(key) for key in plans],
                      "vendor": [plan.vendor for plan in plans.values()],
                      "gigawatts": [format(plan.gigawatts, "f") for plan in plans.values()],
                      "due": [plan.due.isoformat() for plan in plans.values()]},
            "commissioned": {"key": [list(key) for key in commissioned],
                             "gigawatts": [format(gw, "f") for gw in commissioned.values()]},
        }

    def restore(self, data: dict[str, Any]) -> PipelineState:
        plans, commissioned = data["plans"], data["commissioned"]
        return PipelineState(
            {(site, provider, platform): Plan(vendor, Decimal(gigawatts), date.fromisoformat(due))
             for (site, provider, platform), vendor, gigawatts, due
             in zip(plans["key"], plans["vendor"], plans["gigawatts"], plans["due"])},
            {(site, provider, platform): Decimal(gigawatts)
             for (site, provider, platform), gigawatts
             in zip(commissioned["key"], commissioned["gigawatts"])},
        )

    def summary(self, state: PipelineState, *, as_of: Optional[AsOf] = None) -> dict[str, Any]:
        day = None if as_of is None else as_of.day
        plans = []
        for key, plan in sorted(state.plans.items()):
            commissioned = state.commissioned.get(key, ZERO)
            remaining = max(plan.gigawatts - commissioned, ZERO)
            plans.append({
                "site": key[0], "provider": key[1], "platform": key[2], "vendor": plan.vendor,
                "planned_gigawatts": plan.gigawatts, "due": plan.due,
                "commissioned_gigawatts": commissioned, "remaining_gigawatts": remaining,
                "status": status(remaining, plan.due, day),
            })
        return {
            "as_of_date": day,
            "totals": totals(plans),
            "by_provider": grouped(plans, "provider"),
            "by_vendor": grouped(plans, "vendor"),
            "plans": plans,
        }

    def render(self, summary: dict[str, Any]) -> str:
        plans, whole = summary["plans"], summary["totals"]
        if not plans:
            return "no capacity planned"
        day = summary["as_of_date"]
        head = (f"as of {day or 'no date'}: {show(whole['planned_gigawatts'])} GW planned, "
                f"{show(whole['delivered_gigawatts'])} GW delivered, "
                f"{show(whole['remaining_gigawatts'])} GW remaining; "
                f"{show(whole['late_gigawatts'])} GW late ({whole['late_keys']} of {len(plans)} "
                f"{'plan' if len(plans) == 1 else 'plans'})")
        today = None if day is None else date.fromisoformat(day)
        rows = [[plan["status"].replace("_", " "), plan["due"], _when(plan, today), plan["site"],
                 plan["provider"], plan["platform"], plan["vendor"], plan["planned_gigawatts"],
                 plan["commissioned_gigawatts"], plan["remaining_gigawatts"]]
                for plan in sorted(plans, key=_urgency)]
        parts = [head, table(rows, ["status", "due", "when", "site", "provider", "platform",
                                    "vendor", "planned GW", "commissioned GW", "remaining GW"])]
        for title, groups in (("provider", summary["by_provider"]), ("vendor", summary["by_vendor"])):
            lines = [[name, *(group[key] for key in TOTALS)] for name, group in groups.items()]
            lines.append(["total", *(whole[key] for key in TOTALS)])
            parts.append(table(lines, [title, "planned GW", "delivered GW", "remaining GW",
                                       "late GW", "late plans"]))
        return "\n\n".join(parts)


def _days(plan: dict[str, Any], today: Optional[date]) -> Optional[int]:
    """Days from the as-of date to the plan's due date (negative: past due)."""
    return None if today is None else (date.fromisoformat(plan["due"]) - today).days


def _urgency(plan: dict[str, Any]) -> tuple:
    """Late first (the longest overdue first), then on track (the soonest due first), then done."""
    return (STATUS_ORDER[plan["status"]], plan["due"], plan["site"], plan["provider"],
            plan["platform"])


def _when(plan: dict[str, Any], today: Optional[date]) -> str:
    days = _days(plan, today)
    if plan["status"] == "done" or days is None:
        return "-"
    if plan["status"] == "late":
        return f"{-days:,} {'day' if days == -1 else 'days'} past due"
    if days == 0:
        return "due today"
    return f"{days:,} {'day' if days == 1 else 'days'} left"


PROJECTION = PipelineProjection()


@hookimpl
def register_projections(register):
    register(PROJECTION)
