"""Figures over time, read straight from the log: commissioned gigawatts by provider and money
released, by day, and the planned gigawatts by due date. Used by ``materialize`` (the
``capacity_timeline`` table) and ``chart``.

The projections hold the figures as of one point; a timeline needs every point, which one pass
over the three event types that move these figures gives without replaying at each date. The pass
folds in seq order, as replay does, and sums the changes by the day they occurred: each day's
figures are those of a replay as of that day whenever nothing in the log is dated before what it
depends on (a decommissioning before the commissioning it takes from). The plans are those in
force at the end (the latest ``capacity.planned`` of each site, provider and platform, as the
``pipeline`` projection keeps them), summed by their due date.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Optional

import attrs

from ..clock import When, load_time
from .catalogue import (
    CapacityCommissioned,
    CapacityDecommissioned,
    CapacityPlanned,
    InvestmentReleased,
)
from .sites import SiteCapacity

if TYPE_CHECKING:
    from ..ledger import Ledger
    from ..record import Record

ZERO = Decimal(0)
TYPES = ("capacity.commissioned", "capacity.decommissioned", "investment.released",
         "capacity.planned")


@attrs.frozen
class CapacityChange:
    """Net gigawatts a provider gained (or lost) on one day, and its running total after it."""

    day: date
    provider: str
    gigawatts: Decimal
    cumulative_gigawatts: Decimal


@attrs.frozen
class Release:
    """Money released on one day (all investors), and the running total after it."""

    day: date
    usd: Decimal
    cumulative_usd: Decimal


@attrs.frozen
class PlannedStep:
    """Gigawatts planned to be in service by one due date, and the running total by then."""

    due: date
    gigawatts: Decimal
    cumulative_gigawatts: Decimal


@attrs.frozen
class Timeline:
    """Commissioned capacity and released money by day, and planned capacity by due date."""

    capacity: list[CapacityChange]
    releases: list[Release]
    planned: list[PlannedStep] = attrs.field(factory=list)

    @property
    def providers(self) -> list[str]:
        """Providers, largest capacity at the end first (the order a stacked chart wants)."""
        last: dict[str, Decimal] = {}
        for change in self.capacity:
            last[change.provider] = change.cumulative_gigawatts
        return sorted(last, key=lambda name: (-last[name], name))

    @property
    def days(self) -> list[date]:
        return sorted({c.day for c in self.capacity} | {r.day for r in self.releases})

    def capacity_series(self, days: list[date], providers: list[str]) -> dict[str, list[Decimal]]:
        """Each provider's net commissioned gigawatts at the end of each of ``days`` (sorted),
        in one pass over the changes."""
        series: dict[str, list[Decimal]] = {provider: [] for provider in providers}
        totals: dict[str, Decimal] = {}
        changes = iter(self.capacity)
        change = next(changes, None)
        for day in days:
            while change is not None and change.day <= day:
                totals[change.provider] = change.cumulative_gigawatts
                change = next(changes, None)
            for provider in providers:
                series[provider].append(totals.get(provider, ZERO))
        return series

    def planned_series(self, days: list[date]) -> list[Decimal]:
        """Gigawatts planned to be in service by each of ``days`` (sorted): the plans due on or
        before it."""
        series, total = [], ZERO
        steps = iter(self.planned)
        step = next(steps, None)
        for day in days:
            while step is not None and step.due <= day:
                total = step.cumulative_gigawatts
                step = next(steps, None)
            series.append(total)
        return series

    def released_series(self, days: list[date]) -> list[Decimal]:
        """Money released in all by the end of each of ``days`` (sorted)."""
        series, total = [], ZERO
        releases = iter(self.releases)
        release = next(releases, None)
        for day in days:
            while release is not None and release.day <= day:
                total = release.cumulative_usd
                release = next(releases, None)
            series.append(total)
        return series


def timeline(book: Ledger, until: When | int | None = None) -> Timeline:
    """The timeline of ``book``, of the records that occurred on or before ``until`` (a date or
    time; or up to a seq; all when None), folded in seq order as replay does."""
    return build(book.read(types=TYPES, until=until))


def build(records: Iterable[Record], bound: Optional[str] = None) -> Timeline:
    sites = SiteCapacity()
    gigawatts: dict[tuple[date, str], Decimal] = {}
    usd: dict[date, Decimal] = {}
    plans: dict[tuple[str, str, str], CapacityPlanned] = {}
    limit = None if bound is None else load_time(bound)
    for record in records:
        if limit is not None and record.occurred_at >= limit:
            continue
        event, day = record.event, record.occurred_at.date()
        if isinstance(event, CapacityCommissioned):
            sites.commission(event)
            key = (day, event.provider)
            gigawatts[key] = gigawatts.get(key, ZERO) + event.gigawatts
        elif isinstance(event, CapacityDecommissioned):
            taken = sites.decommission(event)
            if taken is None:
                continue
            key = (day, taken[0][1])
            gigawatts[key] = gigawatts.get(key, ZERO) - taken[1]
        elif isinstance(event, InvestmentReleased):
            usd[day] = usd.get(day, ZERO) + event.usd
        elif isinstance(event, CapacityPlanned):
            plans[(event.site, event.provider, event.platform)] = event
    capacity: list[CapacityChange] = []
    running: dict[str, Decimal] = {}
    for (day, provider), change in sorted(gigawatts.items()):
        running[provider] = running.get(provider, ZERO) + change
        capacity.append(CapacityChange(day, provider, change, running[provider]))
    releases, total = [], ZERO
    for day, amount in sorted(usd.items()):
        total += amount
        releases.append(Release(day, amount, total))
    due: dict[date, Decimal] = {}
    for plan in plans.values():
        due[plan.due] = due.get(plan.due, ZERO) + plan.gigawatts
    planned, total = [], ZERO
    for day, amount in sorted(due.items()):
        total += amount
        planned.append(PlannedStep(day, amount, total))
    return Timeline(capacity, releases, planned)

