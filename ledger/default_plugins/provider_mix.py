"""provider_mix: who hosts the commissioned capacity, whose silicon it runs, who holds the contracts.

Shares of net commissioned GW by provider and by vendor (whatever the status of the agreement the
capacity names), and of contracted USD by provider (latest value per contract id). Shares are
rounded to 4 places by the largest-remainder method so that they sum to exactly 1.0000; the
Herfindahl-Hirschman index is computed from the exact shares.

Capacity reported running in an amount not published (``capacity.unquantified``) adds no
gigawatts: its providers and vendors are listed beside the shares
(``unquantified_providers``, ``unquantified_vendors``), and the text says that the shares cover
the published figures only, so that a share of 1.0000 is never read as the whole.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Optional

import attrs

from ..codec import tidy
from ..hookcalls import for_types
from ..hookspecs import hookimpl
from ..shares import hhi, percentages, shares
from ..tables import money, show, table
from .catalogue import (
    CapacityCommissioned,
    CapacityDecommissioned,
    CapacityUnquantified,
    ProviderContracted,
)
from .sites import ZERO, SiteCapacity


Mark = tuple[str, str, Optional[str], Optional[str]]


@attrs.define
class MixState:
    capacity: SiteCapacity = attrs.field(factory=SiteCapacity)
    contracts: dict[str, tuple[str, Decimal]] = attrs.field(factory=dict)  # id: (provider, usd)
    # capacity.unquantified marks, in the order first seen: (provider, vendor, site, platform)
    unquantified: dict[Mark, None] = attrs.field(factory=dict)


def _basis(amounts: dict[str, Decimal], unit: str) -> dict[str, Any]:
    return {
        "total": sum(amounts.values(), ZERO),
        "by_provider": shares(amounts),
        f"{unit}_by_provider": dict(sorted(amounts.items())),
        "hhi": hhi(amounts),
    }


class ProviderMixProjection:
    name = "provider_mix"
    handles = ("capacity.commissioned", "capacity.decommissioned", "capacity.unquantified",
               "provider.contracted")

    def initial(self) -> MixState:
        return MixState()

    def apply(self, state: MixState, event: Any, record: Any) -> None:
        if isinstance(event, CapacityCommissioned):
            state.capacity.commission(event)
        elif isinstance(event, CapacityDecommissioned):
            state.capacity.decommission(event)
        elif isinstance(event, ProviderContracted):
            state.contracts[event.contract] = (event.provider, event.usd)
        elif isinstance(event, CapacityUnquantified):
            state.unquantified[(event.provider, event.vendor, event.site, event.platform)] = None

    def snapshot(self, state: MixState) -> dict[str, Any]:
        """The state as compact JSON columns."""
        return {
            "capacity": state.capacity.columns(),
            "contracts": [[contract, provider, format(usd, "f")]
                          for contract, (provider, usd) in state.contracts.items()],
            "unquantified": [list(mark) for mark in state.unquantified],
        }

    def restore(self, data: dict[str, Any]) -> MixState:
        return MixState(
            SiteCapacity.from_columns(data["capacity"]),
            {contract: (provider, Decimal(usd)) for contract, provider, usd in data["contracts"]},
            {(provider, vendor, site, platform): None
             for provider, vendor, site, platform in data["unquantified"]},
        )

    def summary(self, state: MixState) -> dict[str, Any]:
        by_provider = state.capacity.total_by(1)
        by_vendor = state.capacity.total_by(2)
        commissioned = _basis(by_provider, "gigawatts")
        commissioned["by_vendor"] = shares(by_vendor)
        commissioned["gigawatts_by_vendor"] = dict(sorted(by_vendor.items()))
        commissioned["vendor_hhi"] = hhi(by_vendor)
        marks = sorted(state.unquantified, key=lambda mark: tuple(part or "" for part in mark))
        commissioned["unquantified_providers"] = sorted({mark[0] for mark in marks})
        commissioned["unquantified_vendors"] = sorted({mark[1] for mark in marks})
        commissioned["unquantified"] = [dict(zip(("provider", "vendor", "site", "platform"), mark))
                                        for mark in marks]
        usd: dict[str, Decimal] = {}
        for provider, amount in state.contracts.values():
            usd[provider] = usd.get(provider, ZERO) + amount
        return {"commissioned_gigawatts": commissioned, "contracted_usd": _basis(usd, "usd")}

    def render(self, summary: dict[str, Any]) -> str:
        gw, usd = summary["commissioned_gigawatts"], summary["contracted_usd"]
        return "\n\n".join([
            _mix(f"commissioned GW by provider (HHI {show(gw['hhi'])})",
                 "provider", gw["gigawatts_by_provider"], gw["by_provider"], "GW", show)
            + _unquantified(gw["unquantified_providers"]),
            _mix(f"commissioned GW by vendor (HHI {show(gw['vendor_hhi'])})",
                 "vendor", gw["gigawatts_by_vendor"], gw["by_vendor"], "GW", show)
            + _unquantified(gw["unquantified_vendors"]),
            _mix(f"contracted USD by provider (HHI {show(usd['hhi'])})",
                 "provider", usd["usd_by_provider"], usd["by_provider"], "USD", money)
            + (CONTRACT_TERMS if usd["by_provider"] else ""),
        ])


#: Under the contracts' shares: what their amounts are, and are not.
CONTRACT_TERMS = ("\nthe value of each contract as announced, over its own term (years): commitments "
                  "in all, not spending per year")


def _mix(title: str, who: str, amounts: dict, share: dict, unit: str, shown: Any) -> str:
    """A share table: each name's amount, share and percentage, largest first, and the total;
    the percentages (one decimal) add up to exactly 100.0 %."""
    if not share:
        return f"{title}: none"
    exact = {name: Decimal(amounts[name]) for name in share}
    percent = percentages(exact)
    names = sorted(share, key=lambda name: (-exact[name], name))
    rows = [[name, shown(exact[name]), share[name], percent[name]] for name in names]
    rows.append(["total", shown(tidy(sum(exact.values(), ZERO))), "1.0000", "100.0 %"])
    return f"{title}\n{table(rows, [who, unit, 'share', '%'])}"


def unquantified_note(names: list[str]) -> str:
    """What to say beside shares when others also run capacity of no published amount (the
    report's line under a share table, the chart's under its mix): "" when none do."""
    if not names:
        return ""
    return (f"also running, amounts not published: {', '.join(names)} "
            "— the shares cover published figures only")


def _unquantified(names: list[str]) -> str:
    """The line under a share table that names who also runs capacity of no published amount."""
    return f"\n{unquantified_note(names)}" if names else ""


PROJECTION = ProviderMixProjection()


@hookimpl
def register_projections(register):
    register(PROJECTION)


@hookimpl
@for_types(CapacityDecommissioned.type)
def validate_event(event, view):
    if isinstance(event, CapacityDecommissioned):
        view["provider_mix"].capacity.resolve(event)
