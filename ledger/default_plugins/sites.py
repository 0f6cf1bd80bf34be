"""Net commissioned capacity by site, provider, vendor and platform: shared by two projections.

Not a plugin: ``gpu_inventory`` and ``provider_mix`` each keep their own copy in their state.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Optional

import attrs

from ..errors import Rejected
from .catalogue import CapacityCommissioned, CapacityDecommissioned

Key = tuple[str, str, str, str]  # (site, provider, vendor, platform)
ZERO = Decimal(0)


@attrs.define
class SiteCapacity:
    """Gigawatts still running at each (site, provider, vendor, platform)."""

    net: dict[Key, Decimal] = attrs.field(factory=dict)
    # The keys of each site, built from ``net`` when a decommissioning first needs it.
    _by_site: Optional[dict[str, set[Key]]] = attrs.field(init=False, default=None, eq=False)

    @property
    def by_site(self) -> dict[str, set[Key]]:
        if self._by_site is None:
            self._by_site = {}
            for key in self.net:
                self._by_site.setdefault(key[0], set()).add(key)
        return self._by_site

    def commission(self, event: CapacityCommissioned) -> None:
        key = (event.site, event.provider, event.vendor, event.platform)
        net = self.net
        net[key] = net.get(key, ZERO) + event.gigawatts
        by_site = self._by_site
        if by_site is not None:
            keys = by_site.get(key[0])
            if keys is None:
                by_site[key[0]] = {key}
            else:
                keys.add(key)

    def resolve(self, event: CapacityDecommissioned) -> Key:
        """The capacity a decommissioning takes from; ``Rejected`` when it is not there."""
        provider, platform = event.provider, event.platform
        keys = [
            key for key in self.by_site.get(event.site, ())
            if (provider is None or key[1] == provider) and (platform is None or key[3] == platform)
        ]
        if len(keys) == 1 and event.gigawatts <= self.net[keys[0]]:
            return keys[0]
        which = "".join(
            f" {label} {value!r}" for label, value in
            (("for provider", provider), ("on platform", platform)) if value
        )
        if not keys:
            raise Rejected(f"site {event.site!r} has no capacity commissioned{which}")
        if len(keys) > 1:
            held = ", ".join(sorted(f"{k[1]}/{k[3]}" for k in keys))
            raise Rejected(
                f"site {event.site!r} holds several (provider/platform: {held}); "
                "name the platform and the provider"
            )
        raise Rejected(
            f"decommissions {event.gigawatts} GW, but site {event.site!r} has only "
            f"{self.net[keys[0]]} GW commissioned{which}"
        )

    def decommission(self, event: CapacityDecommissioned) -> tuple[Key, Decimal] | None:
        """Take the gigawatts off the capacity they come from; return its key and the gigawatts
        taken. Validation
        (``resolve``) guarantees it is there when the log is folded in full; a replay as of a date
        may meet a decommissioning dated before the commissioning it takes from (business time
        need not follow seq order): then it takes what is there, or nothing, and returns None
        when it found nothing to take from."""
        try:
            key = self.resolve(event)
        except Rejected:
            keys = [k for k in self.by_site.get(event.site, ())
                    if (event.provider is None or k[1] == event.provider)
                    and (event.platform is None or k[3] == event.platform)]
            if len(keys) != 1:
                return None
            key = keys[0]
        held = self.net[key]
        if held > event.gigawatts:
            self.net[key] = held - event.gigawatts
            return key, event.gigawatts
        del self.net[key]
        self.by_site[event.site].discard(key)
        return key, held

    def columns(self) -> dict[str, list[str]]:
        """The state as JSON columns, for snapshots (columns load with C-speed zips)."""
        sites, providers, vendors, platforms = zip(*self.net) if self.net else ((),) * 4
        return {"site": list(sites), "provider": list(providers), "vendor": list(vendors),
                "platform": list(platforms),
                "gigawatts": [format(gigawatts, "f") for gigawatts in self.net.values()]}

    @classmethod
    def from_columns(cls, columns: dict[str, list[str]]) -> SiteCapacity:
        keys = zip(columns["site"], columns["provider"], columns["vendor"], columns["platform"])
        return cls(dict(zip(keys, map(Decimal, columns["gigawatts"]))))

    def total_by(self, position: int) -> dict[str, Decimal]:
        """Net gigawatts summed by one part of the key (1 provider, 2 vendor, 3 platform)."""
        totals: dict[str, Decimal] = {}
        for key, gigawatts in self.net.items():
            totals[key[position]] = totals.get(key[position], ZERO) + gigawatts
        return totals
