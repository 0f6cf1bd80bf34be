"""power_cost: the energy, power bill and capital cost of the capacity in service, by site.

A single-file plugin: it registers one event type, ``power.priced`` (a site's electricity price and,
optionally, its PUE), and one projection, ``power_cost``, which folds ``capacity.commissioned``,
``capacity.decommissioned`` and ``power.priced``. Load it by path::

    gigaledger replay events/nvidia-openai-plan.jsonl --plugin plugins/power_cost.py
    Ledger.open(plugins=["plugins/power_cost.py"])

Price a site with a line such as::

    {"type": "power.priced", "occurred_at": "2026-01-01",
     "data": {"site": "abilene", "usd_per_mwh": "55", "pue": "1.2"}}

The site ``"*"`` sets the price (or PUE) of every site that has none of its own; the latest price of
a site wins. What it reports, all exact Decimals:

- ``commissioned_gigawatts``: net GW in service (commissioned minus decommissioned), by site.
- ``annual_mwh``: facility energy over a year at full load, an upper bound:
  GW × 1,000 MW/GW × 8,760 h × PUE. The GW of ``capacity.commissioned`` are read as IT load and
  the PUE turns them into facility power; price a site with ``pue`` 1 when its GW figure is
  already facility or grid power (announcements mix the two bases: domain-facts §3, "PUE and the
  GW basis"). Without a PUE, ``DEFAULT_PUE`` is used.
- ``annual_energy_usd``: that energy at the site's price. A site with no price (and no ``"*"``
  price) is never guessed: its energy is reported as ``unpriced_mwh`` and costs nothing here.
- ``capex_usd``: the capital cost of the capacity in service at ``CAPEX_USD_PER_GIGAWATT``, with
  ``capex_low_usd`` at the low end of the range.

Figures assumed (events/domain-facts.md §3):

- capex of about $50B per GW, the central figure (Reuters citing industry executives: "1 GW … can
  cost around $50 billion"), within a range of $40–50B per GW;
- PUE of 1.10–1.25 for liquid-cooled hyperscale halls in 2026, and 1.3 as the conservative default
  (https://aiinframap.com/tools/energy/datacenter-power-calculator).

MWh are rounded half-even to the kWh and dollars to the cent, per site; totals are sums of the
rounded site figures, so that the table adds up.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

import attrs

from ledger import (
    CapacityCommissioned,
    CapacityDecommissioned,
    Event,
    Projection,
    Record,
    Rejected,
    hookimpl,
)
from ledger import fields
from ledger.tables import money, table

#: The price (and PUE) of the site ``"*"`` applies to every site without its own.
ANY_SITE = "*"
#: Hours in a (non-leap) year: the energy is an annual run rate at full load.
HOURS_PER_YEAR = 8760
MW_PER_GW = 1000
#: Conservative PUE when a site's is not recorded (domain-facts §3: 1.10–1.25 in 2026, 1.3 default).
DEFAULT_PUE = Decimal("1.3")
#: Total capex per GW in service (domain-facts §3: about $50B central, $40–50B range).
CAPEX_USD_PER_GIGAWATT = Decimal(50_000_000_000)
CAPEX_LOW_USD_PER_GIGAWATT = Decimal(40_000_000_000)
#: A wholesale or PPA price beyond this is taken for a unit mistake; below $1/MWh, for $/kWh.
MAX_USD_PER_MWH = 1000
MIN_USD_PER_MWH = Decimal(1)
#: No real facility is below 1 (all power reaches the IT load) or above 3.
MAX_PUE = 3

KWH = Decimal("0.001")
CENT = Decimal("0.01")
ZERO = Decimal(0)


@attrs.frozen
class PowerPriced(Event):
    """A site's electricity price in USD per MWh and, optionally, its PUE; the latest wins."""

    type = "power.priced"
    stream_template = "power/{site}"

    site: str = fields.name()
    usd_per_mwh: Decimal = fields.decimal(maximum=MAX_USD_PER_MWH)
    pue: Decimal | None = fields.decimal(minimum=1, inclusive=True, maximum=MAX_PUE, optional=True)

    def __attrs_post_init__(self) -> None:
        if self.usd_per_mwh < MIN_USD_PER_MWH:
            raise Rejected(
                f"usd_per_mwh: {self.usd_per_mwh} is below {MIN_USD_PER_MWH} per MWh; is it a "
                "price per kWh? ($80/MWh is $0.08/kWh)"
            )


@attrs.define
class PowerState:
    """Net gigawatts in service by site, and the latest price recorded for each site."""

    gigawatts: dict[str, Decimal] = attrs.field(factory=dict)
    prices: dict[str, PowerPriced] = attrs.field(factory=dict)

    def price(self, site: str) -> Decimal | None:
        """The site's price per MWh, else the ``"*"`` price, else None (unpriced)."""
        for name in (site, ANY_SITE):
            if name in self.prices:
                return self.prices[name].usd_per_mwh
        return None

    def pue(self, site: str) -> Decimal:
        """The site's PUE, else the ``"*"`` PUE, else ``DEFAULT_PUE``."""
        for name in (site, ANY_SITE):
            priced = self.prices.get(name)
            if priced is not None and priced.pue is not None:
                return priced.pue
        return DEFAULT_PUE


def _exact(value: Decimal, step: Decimal) -> Decimal:
    """``value`` rounded half-even to ``step``; the products are formed with enough precision to
    be exact, so only this rounding ever happens."""
    return value.quantize(step, rounding=ROUND_HALF_EVEN)


def site_figures(gigawatts: Decimal, pue: Decimal, usd_per_mwh: Decimal | None) -> dict[str, Any]:
    """One site's annual energy, power bill and capex."""
    with localcontext() as context:
        context.prec = 80
        mwh = gigawatts * MW_PER_GW * HOURS_PER_YEAR * pue
        usd = None if usd_per_mwh is None else _exact(mwh * usd_per_mwh, CENT)
        return {
            "gigawatts": gigawatts,
            "pue": pue,
            "usd_per_mwh": usd_per_mwh,
            "annual_mwh": _exact(mwh, KWH),
            "annual_energy_usd": usd,
            "capex_usd": _exact(gigawatts * CAPEX_USD_PER_GIGAWATT, CENT),
            "capex_low_usd": _exact(gigawatts * CAPEX_LOW_USD_PER_GIGAWATT, CENT),
        }


class PowerCostProjection:
    """Folds capacity and prices into the power and cost figures of the capacity in service."""

    name = "power_cost"
    handles = ("capacity.commissioned", "capacity.decommissioned", "power.priced")

    def initial(self) -> PowerState:
        return PowerState()

    def apply(self, state: PowerState, event: Event, record: Record) -> None:
        if isinstance(event, CapacityCommissioned):
            state.gigawatts[event.site] = state.gigawatts.get(event.site, ZERO) + event.gigawatts
        elif isinstance(event, CapacityDecommissioned):
            # The built-in catalogue refuses a decommissioning beyond what a site holds.
            remaining = state.gigawatts.get(event.site, ZERO) - event.gigawatts
            if remaining > 0:
                state.gigawatts[event.site] = remaining
            else:
                state.gigawatts.pop(event.site, None)
        elif isinstance(event, PowerPriced):
            state.prices[event.site] = event

    def summary(self, state: PowerState) -> dict[str, Any]:
        sites = {
            site: site_figures(gigawatts, state.pue(site), state.price(site))
            for site, gigawatts in sorted(state.gigawatts.items())
        }
        rows = sites.values()
        return {
            "commissioned_gigawatts": sum((s["gigawatts"] for s in rows), ZERO),
            "annual_mwh": sum((s["annual_mwh"] for s in rows), ZERO),
            "annual_energy_usd": sum(
                (s["annual_energy_usd"] for s in rows if s["annual_energy_usd"] is not None), ZERO
            ),
            "unpriced_mwh": sum(
                (s["annual_mwh"] for s in rows if s["annual_energy_usd"] is None), ZERO
            ),
            "capex_usd": sum((s["capex_usd"] for s in rows), ZERO),
            "capex_low_usd": sum((s["capex_low_usd"] for s in rows), ZERO),
            "assumptions": {
                "gigawatts_basis": "IT load (times PUE for facility energy)",
                "hours_per_year": HOURS_PER_YEAR,
                "default_pue": DEFAULT_PUE,
                "capex_usd_per_gigawatt": CAPEX_USD_PER_GIGAWATT,
                "capex_low_usd_per_gigawatt": CAPEX_LOW_USD_PER_GIGAWATT,
                "source": "events/domain-facts.md §3 (cost per GW; PUE and the GW basis)",
            },
            "sites": sites,
        }

    def render(self, summary: dict[str, Any]) -> str:
        """A table by site and a total line, for people."""
        rows = [
            [site, s["gigawatts"], s["pue"], money(s["usd_per_mwh"]), s["annual_mwh"],
             money(s["annual_energy_usd"]), money(s["capex_usd"])]
            for site, s in summary["sites"].items()
        ]
        rows.append(["total", summary["commissioned_gigawatts"], "", "", summary["annual_mwh"],
                     money(summary["annual_energy_usd"]), money(summary["capex_usd"])])
        lines = [table(rows, ["site", "GW", "PUE", "$/MWh", "MWh a year", "power a year",
                              "capex at $50B/GW"])]
        if summary["unpriced_mwh"]:
            lines.append(f"unpriced: {summary['unpriced_mwh']} MWh a year (no power.priced "
                         "for the site or for '*')")
        lines.append("full load all year; GW read as IT load; capex range $40-50B/GW "
                     "(domain-facts §3)")
        return "\n".join(lines)


PROJECTION = PowerCostProjection()


@hookimpl
def register_event_types(register: Callable[[type[Event]], None]) -> None:
    register(PowerPriced)


@hookimpl
def register_projections(register: Callable[[Projection], None]) -> None:
    register(PROJECTION)
