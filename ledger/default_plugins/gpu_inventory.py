"""gpu_inventory: GPUs counted at sites, and GPUs estimated from commissioned gigawatts.

Counted GPUs are deliveries minus retirements by site, platform and unit, never below zero.
Estimated GPUs are a low-high band: net commissioned GW times the platform's specified band;
capacity on a platform with no specification is reported as unestimated GW, never guessed.
Counted and estimated figures, and packages and dies, are never added together. Capacity
reported running in an amount not published (``capacity.unquantified``) cannot be estimated: it is
listed beside the estimates (``unquantified``), and the text says that they cover published
gigawatts only.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, Optional

import attrs

from ..errors import Rejected
from ..hookcalls import for_types
from ..hookspecs import hookimpl
from ..tables import show, table
from .catalogue import (
    CapacityCommissioned,
    CapacityDecommissioned,
    CapacityUnquantified,
    GpusDelivered,
    GpusRetired,
    PlatformSpecified,
)
from .sites import ZERO, SiteCapacity

CountKey = tuple[str, str, str]  # (site, platform, unit)


@attrs.define
class GpuState:
    counted: dict[CountKey, int] = attrs.field(factory=dict)
    capacity: SiteCapacity = attrs.field(factory=SiteCapacity)
    specs: dict[str, PlatformSpecified] = attrs.field(factory=dict)
    # capacity.unquantified marks, in the order first seen: (provider, vendor, site, platform)
    unquantified: dict[tuple[str, str, Optional[str], Optional[str]], None] = attrs.field(
        factory=dict)


def _count_key(event: GpusDelivered | GpusRetired) -> CountKey:
    return (event.site, event.platform, event.unit)


class GpuInventoryProjection:
    name = "gpu_inventory"
    handles = (
        "gpus.delivered",
        "gpus.retired",
        "capacity.commissioned",
        "capacity.decommissioned",
        "platform.specified",
        "capacity.unquantified",
    )

    def initial(self) -> GpuState:
        return GpuState()

    def apply(self, state: GpuState, event: Any, record: Any) -> None:
        if isinstance(event, GpusDelivered):
            key = _count_key(event)
            state.counted[key] = state.counted.get(key, 0) + event.count
        elif isinstance(event, GpusRetired):
            key = _count_key(event)
            left = state.counted.get(key, 0) - event.count
            if left > 0:
                state.counted[key] = left
            else:
                state.counted.pop(key, None)
        elif isinstance(event, CapacityCommissioned):
            state.capacity.commission(event)
        elif isinstance(event, CapacityDecommissioned):
            state.capacity.decommission(event)
        elif isinstance(event, PlatformSpecified):
            state.specs[event.platform] = event
        elif isinstance(event, CapacityUnquantified):
            state.unquantified[(event.provider, event.vendor, event.site, event.platform)] = None

    def snapshot(self, state: GpuState) -> dict[str, Any]:
        """The state as compact JSON columns (tens of thousands of keys load in milliseconds)."""
        sites, platforms, units = zip(*state.counted) if state.counted else ((),) * 3
        return {
            "counted": {"site": list(sites), "platform": list(platforms), "unit": list(units),
                        "count": list(state.counted.values())},
            "capacity": state.capacity.columns(),
            "specs": {platform: [spec.vendor, spec.gpus_per_gigawatt_low,
                                 spec.gpus_per_gigawatt_high, spec.unit]
                      for platform, spec in state.specs.items()},
            "unquantified": [list(mark) for mark in state.unquantified],
        }

    def restore(self, data: dict[str, Any]) -> GpuState:
        counted = data["counted"]
        return GpuState(
            dict(zip(zip(counted["site"], counted["platform"], counted["unit"]), counted["count"])),
            SiteCapacity.from_columns(data["capacity"]),
            {platform: PlatformSpecified(platform=platform, vendor=vendor, gpus_per_gigawatt_low=low,
                                         gpus_per_gigawatt_high=high, unit=unit)
             for platform, (vendor, low, high, unit) in data["specs"].items()},
            {(provider, vendor, site, platform): None
             for provider, vendor, site, platform in data["unquantified"]},
        )

    def summary(self, state: GpuState) -> dict[str, Any]:
        counted = {"package": 0, "die": 0}
        counted_by: dict[str, dict[str, dict[str, int]]] = {}
        for (site, platform, unit), count in sorted(state.counted.items()):
            counted[unit] += count
            counted_by.setdefault(site, {}).setdefault(platform, {})[unit] = count
        bands = {"package": [ZERO, ZERO], "die": [ZERO, ZERO]}
        by_platform: dict[str, Any] = {}
        unestimated: dict[str, Decimal] = {}
        for platform, gigawatts in sorted(state.capacity.total_by(3).items()):
            spec = state.specs.get(platform)
            if spec is None:
                unestimated[platform] = gigawatts
                continue
            low = gigawatts * spec.gpus_per_gigawatt_low
            high = gigawatts * spec.gpus_per_gigawatt_high
            bands[spec.unit][0] += low
            bands[spec.unit][1] += high
            by_platform[platform] = {
                "gigawatts": gigawatts, "unit": spec.unit,
                "low": _down(low), "high": _up(high),
            }
        return {
            "counted": counted["package"],
            "counted_dies": counted["die"],
            "counted_by": counted_by,
            "estimated_low": _down(bands["package"][0]),
            "estimated_high": _up(bands["package"][1]),
            "estimated_dies_low": _down(bands["die"][0]),
            "estimated_dies_high": _up(bands["die"][1]),
            "estimated_by_platform": by_platform,
            "unestimated_gigawatts": sum(unestimated.values(), ZERO),
            "unestimated_by_platform": unestimated,
            "unquantified": [dict(zip(("provider", "vendor", "site", "platform"), mark))
                             for mark in sorted(state.unquantified,
                                                key=lambda m: tuple(p or "" for p in m))],
        }

    def render(self, summary: dict[str, Any]) -> str:
        parts = [
            f"GPUs counted:   {show(summary['counted'])} packages, {show(summary['counted_dies'])} dies",
            f"GPUs estimated: {show(summary['estimated_low'])} - {show(summary['estimated_high'])} packages"
            + (f", {show(summary['estimated_dies_low'])} - {show(summary['estimated_dies_high'])} dies"
               if summary["estimated_dies_high"] else ""),
            f"unestimated:    {show(summary['unestimated_gigawatts'])} GW (platforms with no specification)",
        ]
        if summary["unquantified"]:
            running = ", ".join(sorted({_running(mark) for mark in summary["unquantified"]}))
            parts.append(f"not estimated:  capacity running in amounts not published ({running}); "
                         "the estimates cover published gigawatts only")
        counted = [[site, platform, unit, count]
                   for site, platforms in summary["counted_by"].items()
                   for platform, units in platforms.items() for unit, count in units.items()]
        rows = [[platform, e["gigawatts"], e["low"], e["high"], e["unit"]]
                for platform, e in summary["estimated_by_platform"].items()]
        rows += [[platform, gw, "-", "-", "no specification"]
                 for platform, gw in summary["unestimated_by_platform"].items()]
        blocks = ["\n".join(parts)]
        if counted:
            blocks.append(table(counted, ["site", "platform", "unit", "GPUs counted"]))
        if rows:
            blocks.append(table(rows, ["platform", "net GW", "GPUs low", "GPUs high", "unit"]))
        return "\n\n".join(blocks)


def _running(mark: dict[str, Any]) -> str:
    """``microsoft (nvidia gb200)``: who runs unquantified capacity, on what."""
    what = f"{mark['vendor']} {mark['platform']}" if mark["platform"] else mark["vendor"]
    return f"{mark['provider']} ({what})"


def _down(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def _up(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_CEILING))


PROJECTION = GpuInventoryProjection()


@hookimpl
def register_projections(register):
    register(PROJECTION)


@hookimpl
@for_types(GpusRetired.type)
def validate_event(event, view):
    if isinstance(event, GpusRetired):
        held = view["gpu_inventory"].counted.get(_count_key(event), 0)
        if event.count > held:
            raise Rejected(
                f"retires {event.count} {event.unit}s of {event.platform} at {event.site!r}, "
                f"but only {held} are counted there"
            )
