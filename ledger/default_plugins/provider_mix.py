"""provider_mix: who hosts the commissioned capacity, whose silicon it runs, who holds the contracts.

Shares of net commissioned GW by provider and by vendor (whatever the status of the agreement the
capacity names), and of contracted USD by provider (latest value per contract id). Shares are
rounded to 4 places by the largest-remainder method so that they sum to exactly 1.0000; the
Herfindahl-Hirschman index is computed from the exact shares.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import attrs

from ..codec import decimal_text
from ..hookspecs import hookimpl
from ..tables import money, show, table
from .catalogue import CapacityCommissioned, CapacityDecommissioned, ProviderContracted
from .sites import ZERO, SiteCapacity

PLACES = 4
_UNITS = 10**PLACES


@attrs.define
class MixState:
    capacity: SiteCapacity = attrs.field(factory=SiteCapacity)
    contracts: dict[str, tuple[str, Decimal]] = attrs.field(factory=dict)  # id: (provider, usd)


def shares(amounts: dict[str, Decimal]) -> dict[str, str]:
    """Each amount's share of the total, written to 4 places, summing to exactly 1.0000
    (largest remainder).

    Ties in the remainders go to the larger amount, then to the name first in alphabetical order.
    Zero amounts have no share; an empty or zero total gives no shares.
    """
    positive = {name: Fraction(amount) for name, amount in amounts.items() if amount > 0}
    total = sum(positive.values(), Fraction(0))
    if not total:
        return {}
    units, remainders = {}, []
    for name, amount in positive.items():
        exact = amount * _UNITS / total
        units[name] = exact.numerator // exact.denominator
        remainders.append((exact - units[name], amount, name))
    left = _UNITS - sum(units.values())
    for _, _, name in sorted(remainders, key=lambda r: (-r[0], -r[1], r[2]))[:left]:
        units[name] += 1
    return {name: decimal_text(Decimal(units[name]).scaleb(-PLACES)) for name in sorted(units)}


def hhi(amounts: dict[str, Decimal]) -> int | None:
    """Σ(100 × share)² over the exact shares, rounded half up; None for an empty basis."""
    positive = [Fraction(amount) for amount in amounts.values() if amount > 0]
    total = sum(positive, Fraction(0))
    if not total:
        return None
    index = sum(a * a for a in positive) * 10_000 / (total * total)
    return int(index + Fraction(1, 2))


def _basis(amounts: dict[str, Decimal], unit: str) -> dict[str, Any]:
    return {
        "total": sum(amounts.values(), ZERO),
        "by_provider": shares(amounts),
        f"{unit}_by_provider": dict(sorted(amounts.items())),
        "hhi": hhi(amounts),
    }


class ProviderMixProjection:
    name = "provider_mix"
    handles = ("capacity.commissioned", "capacity.decommissioned", "provider.contracted")

    def initial(self) -> MixState:
        return MixState()

    def apply(self, state: MixState, event: Any, record: Any) -> None:
        if isinstance(event, CapacityCommissioned):
            state.capacity.commission(event)
        elif isinstance(event, CapacityDecommissioned):
            state.capacity.decommission(event)
        elif isinstance(event, ProviderContracted):
            state.contracts[event.contract] = (event.provider, event.usd)

    def snapshot(self, state: MixState) -> dict[str, Any]:
        """The state as compact JSON columns."""
        return {
            "capacity": state.capacity.columns(),
            "contracts": [[contract, provider, format(usd, "f")]
                          for contract, (provider, usd) in state.contracts.items()],
        }

    def restore(self, data: dict[str, Any]) -> MixState:
        return MixState(
            SiteCapacity.from_columns(data["capacity"]),
            {contract: (provider, Decimal(usd)) for contract, provider, usd in data["contracts"]},
        )

    def summary(self, state: MixState) -> dict[str, Any]:
        by_provider = state.capacity.total_by(1)
        by_vendor = state.capacity.total_by(2)
        commissioned = _basis(by_provider, "gigawatts")
        commissioned["by_vendor"] = shares(by_vendor)
        commissioned["gigawatts_by_vendor"] = dict(sorted(by_vendor.items()))
        commissioned["vendor_hhi"] = hhi(by_vendor)
        usd: dict[str, Decimal] = {}
        for provider, amount in state.contracts.values():
            usd[provider] = usd.get(provider, ZERO) + amount
        return {"commissioned_gigawatts": commissioned, "contracted_usd": _basis(usd, "usd")}

    def render(self, summary: dict[str, Any]) -> str:
        gw, usd = summary["commissioned_gigawatts"], summary["contracted_usd"]
        return "\n\n".join([
            _mix(f"commissioned GW by provider (total {show(gw['total'])} GW, HHI {show(gw['hhi'])})",
                 "provider", gw["gigawatts_by_provider"], gw["by_provider"], "GW", show),
            _mix(f"commissioned GW by vendor (HHI {show(gw['vendor_hhi'])})",
                 "vendor", gw["gigawatts_by_vendor"], gw["by_vendor"], "GW", show),
            _mix(f"contracted USD by provider (total {money(usd['total'])}, HHI {show(usd['hhi'])})",
                 "provider", usd["usd_by_provider"], usd["by_provider"], "USD", money),
        ])


def _mix(title: str, who: str, amounts: dict, share: dict, unit: str, shown: Any) -> str:
    if not share:
        return f"{title}: none"
    rows = [[name, shown(amounts[name]), share[name]] for name in share]
    return f"{title}\n{table(rows, [who, unit, 'share'])}"


PROJECTION = ProviderMixProjection()


@hookimpl
def register_projections(register):
    register(PROJECTION)


@hookimpl
def validate_event(event, view):
    if isinstance(event, CapacityDecommissioned):
        view["provider_mix"].capacity.resolve(event)
