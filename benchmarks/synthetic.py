"""A realistic, deterministic synthetic history of the built-in domain, as JSON Lines.

The lines look like ``events/*.jsonl`` (``type``, ``occurred_at``, ``data``, ``meta.source``; an
``id`` only on agreement lines, so the ledger makes the other ids), Decimal quantities are JSON
strings, dates run from 2025 to 2030, and every line is one the ledger accepts: the generator
tracks what is commissioned and delivered where, so a decommissioning or a retirement never takes
more than is there, and agreements are signed before anything names them.

Mix of types (random lines; the 50 agreements and their status changes are scheduled on top):
35% capacity.commissioned, 25% gpus.delivered, 10% gpus.retired, 10% provider.contracted,
5% capacity.decommissioned, 5% usage.reported, 5% funding.committed, 5% specs, plans and
agreement term revisions. Caps of 100 tranches keep derived ``investment.released`` events at
most 5,000, whatever the size.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any, Generic, TypeVar

K = TypeVar("K")

START, END = date(2025, 1, 1), date(2030, 12, 31)
AGREEMENTS = 50
SITES = 2000
CONTRACTS = 400
PLACES = ("abilene", "shackelford", "milam-county", "lordstown", "dona-ana", "saline-township",
          "port-washington", "stargate-uae", "stargate-norway", "quincy", "mount-pleasant",
          "new-albany", "council-bluffs", "the-dalles", "richland-parish", "hillsboro")
PROVIDERS = ("oracle", "microsoft", "coreweave", "aws", "google", "openai", "nebius", "crusoe")
#: Platform -> (vendor, first year it ships, GPUs per GW low and high, unit).
PLATFORMS = {
    "h200": ("nvidia", 2025, 500_000, 700_000, "package"),
    "gb200": ("nvidia", 2025, 400_000, 500_000, "package"),
    "gb300": ("nvidia", 2025, 350_000, 450_000, "package"),
    "mi355x": ("amd", 2025, 450_000, 600_000, "package"),
    "trainium2": ("aws", 2025, 600_000, 900_000, "die"),
    "vera-rubin": ("nvidia", 2026, 240_000, 350_000, "package"),
    "mi450": ("amd", 2026, 300_000, 420_000, "package"),
    "openai-broadcom-asic": ("broadcom", 2026, 350_000, 550_000, "package"),
    "rubin-ultra": ("nvidia", 2027, 150_000, 250_000, "package"),
    "mi500": ("amd", 2027, 200_000, 320_000, "package"),
    "feynman": ("nvidia", 2028, 120_000, 200_000, "package"),
}
INVESTORS = ("nvidia", "amd", "broadcom", "microsoft", "softbank", "oracle", "mgx")
INVESTEES = ("openai", "anthropic", "xai", "mistral", "meta")
BUYERS = ("openai", "anthropic", "meta", "xai", "mistral", "microsoft")
PRODUCTS = ("chatgpt", "claude", "gemini", "copilot", "meta-ai", "grok")
#: Random line types and their weights (percent).
MIX = (
    ("capacity.commissioned", 35), ("gpus.delivered", 25), ("gpus.retired", 10),
    ("provider.contracted", 10), ("capacity.decommissioned", 5), ("usage.reported", 5),
    ("funding.committed", 5), ("platform.specified", 2), ("capacity.planned", 2),
    ("agreement.revised", 1),
)


class Bag(Generic[K]):
    """Keys with a positive amount, with O(1) random choice: what can still be taken out."""

    def __init__(self) -> None:
        self.amount: dict[K, int] = {}
        self._keys: list[K] = []
        self._where: dict[K, int] = {}

    def add(self, key: K, amount: int) -> None:
        if key not in self._where:
            self._where[key] = len(self._keys)
            self._keys.append(key)
        self.amount[key] = self.amount.get(key, 0) + amount

    def take(self, key: K, amount: int) -> None:
        left = self.amount[key] - amount
        assert left >= 0, (key, amount)
        if left:
            self.amount[key] = left
            return
        del self.amount[key]
        index = self._where.pop(key)
        last = self._keys.pop()
        if last != key:
            self._keys[index], self._where[last] = last, index

    def pick(self, rng: random.Random) -> K | None:
        return rng.choice(self._keys) if self._keys else None


def gw(megawatts: int) -> str:
    """Gigawatts as exact text from whole megawatts: 4 -> "0.004"."""
    return f"{megawatts // 1000}.{megawatts % 1000:03d}"


class History:
    """The generator's state: the domain as it stands, so that every next line is valid."""

    def __init__(self, events: int, seed: int) -> None:
        self.n = events
        self.rng = random.Random(seed)
        self.days = (END - START).days
        self.sites = [f"{PLACES[i % len(PLACES)]}-{i // len(PLACES) + 1:03d}"
                      for i in range(min(SITES, max(20, events // 10)))]
        self.site_providers = {s: self.rng.sample(PROVIDERS, self.rng.choice((1, 1, 2)))
                               for s in self.sites}
        self.capacity: Bag[tuple[str, str, str]] = Bag()  # (site, provider, platform) -> MW
        self.gpus: Bag[tuple[str, str, str]] = Bag()  # (site, platform, unit) -> count
        self.contracts: dict[str, tuple[str, str]] = {}
        self.agreements: list[str] = []  # signed
        self.ended: set[str] = set()
        self.schedule = self._schedule(min(AGREEMENTS, max(3, events // 400)))
        self.kinds = [kind for kind, weight in MIX for _ in range(weight)]
        self.makers: dict[str, Callable[[int], dict[str, Any] | None]] = {
            "capacity.commissioned": self.commissioned, "gpus.delivered": self.delivered,
            "gpus.retired": self.retired, "provider.contracted": self.contracted,
            "capacity.decommissioned": self.decommissioned, "usage.reported": self.usage,
            "funding.committed": self.funding, "platform.specified": self.specified,
            "capacity.planned": self.planned, "agreement.revised": self.revised_terms,
        }

    def _schedule(self, count: int) -> dict[int, list[tuple[str, dict[str, Any]]]]:
        """Agreement signings in the first 4% of the history, and their later status changes:
        a third are letters of intent made definitive between 20% and 60%; some end later."""
        plan: dict[int, list[tuple[str, dict[str, Any]]]] = {}
        for k in range(count):
            name = f"agreement-{k + 1:02d}"
            tranche_mw = self.rng.choice((50, 100, 250, 500))
            tranche_usd = self.rng.choice((10**8, 5 * 10**8, 10**9, 25 * 10**8))
            intent = k % 3 == 2
            data = {"agreement": name, "investor": self.rng.choice(INVESTORS),
                    "investee": self.rng.choice(INVESTEES),
                    "status": "intent" if intent else "definitive",
                    "gigawatts": gw(100 * tranche_mw), "cap_usd": str(100 * tranche_usd),
                    "tranche_usd": str(tranche_usd), "tranche_gigawatts": gw(tranche_mw)}
            if k % 2 == 0:
                data["platform"] = self.rng.choice(("gb300", "vera-rubin", "mi450"))
                data["vendor"] = PLATFORMS[data["platform"]][0]
            plan.setdefault(k * self.n * 4 // (100 * count), []).append(("agreement.signed", data))
            if intent:
                at = self.rng.randrange(self.n * 20 // 100, self.n * 60 // 100)
                plan.setdefault(at, []).append(("agreement.revised", {"agreement": name,
                                                                      "status": "definitive"}))
            elif k % 5 == 0:
                ending = {"agreement": name, "status": self.rng.choice(("completed", "cancelled"))}
                plan.setdefault(self.rng.randrange(self.n * 80 // 100, self.n), []).append(
                    ("agreement.revised", ending))
        return plan

    def lines(self) -> Iterator[str]:
        """The history, one JSON line at a time."""
        for i in range(self.n):
            day = (START + timedelta(days=i * self.days // self.n)).isoformat()
            line: dict[str, Any] = {"type": "", "occurred_at": day}
            data: dict[str, Any] | None
            scheduled = self.schedule.get(i)
            if scheduled:
                kind, data = scheduled.pop(0)
                if scheduled:  # two at one index: the rest move to the next line
                    self.schedule.setdefault(i + 1, []).extend(scheduled)
                self._sign_or_revise(kind, data)
                line = {"id": f"bench-{i}", **line}
            else:
                kind = self.rng.choice(self.kinds)
                data = self.makers[kind](i)
                if data is None:  # nothing to retire, decommission or revise yet
                    kind, data = "capacity.commissioned", self.commissioned(i)
            line["type"], line["data"] = kind, data
            line["meta"] = {"source": f"https://example.com/{kind}/{i}"}
            yield json.dumps(line)

    def _sign_or_revise(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "agreement.signed":
            self.agreements.append(data["agreement"])
        elif data["status"] != "definitive":
            self.ended.add(data["agreement"])

    # --- one maker per random type ---------------------------------------------------------------

    def year(self, i: int) -> int:
        return START.year + (i * self.days // self.n) // 365

    def platform(self, i: int) -> str:
        year = self.year(i)
        return self.rng.choice([p for p, spec in PLATFORMS.items() if spec[1] <= year])

    def _capacity(self, i: int) -> tuple[tuple[str, str, str], int, dict[str, Any]]:
        """Where capacity goes (site, provider, platform), how many MW, and its data."""
        site = self.rng.choice(self.sites)
        provider, platform = self.rng.choice(self.site_providers[site]), self.platform(i)
        megawatts = self.rng.choice((1, 2, 2, 3, 4, 4, 5, 6, 8, 10, 12, 16, 20))
        data = {"site": site, "provider": provider, "vendor": PLATFORMS[platform][0],
                "platform": platform, "gigawatts": gw(megawatts)}
        if self.agreements and self.rng.random() < 0.3:
            data["agreement"] = self.rng.choice(self.agreements)
        return (site, provider, platform), megawatts, data

    def commissioned(self, i: int) -> dict[str, Any]:
        key, megawatts, data = self._capacity(i)
        self.capacity.add(key, megawatts)
        return data

    def decommissioned(self, i: int) -> dict[str, Any] | None:
        key = self.capacity.pick(self.rng)
        if key is None:
            return None
        megawatts = self.rng.randint(1, min(self.capacity.amount[key], 10))
        self.capacity.take(key, megawatts)
        data = {"site": key[0], "provider": key[1], "platform": key[2], "gigawatts": gw(megawatts)}
        if self.rng.random() < 0.2:
            data["reason"] = self.rng.choice(("refresh", "power curtailment", "fire", "lease end"))
        return data

    def delivered(self, i: int) -> dict[str, Any]:
        key = (self.rng.choice(self.sites), self.platform(i),
               "die" if self.rng.random() < 0.1 else "package")
        count = self.rng.randint(72, 5000)
        self.gpus.add(key, count)
        return {"site": key[0], "platform": key[1], "count": count, "unit": key[2]}

    def retired(self, i: int) -> dict[str, Any] | None:
        key = self.gpus.pick(self.rng)
        if key is None:
            return None
        count = self.rng.randint(1, min(self.gpus.amount[key], 2000))
        self.gpus.take(key, count)
        return {"site": key[0], "platform": key[1], "count": count, "unit": key[2]}

    def contracted(self, i: int) -> dict[str, Any]:
        contract = f"contract-{self.rng.randrange(min(CONTRACTS, self.n // 20 + 1)):03d}"
        if contract not in self.contracts:
            self.contracts[contract] = (self.rng.choice(BUYERS), self.rng.choice(PROVIDERS))
        buyer, provider = self.contracts[contract]
        data: dict[str, Any] = {"contract": contract, "buyer": buyer, "provider": provider,
                                "usd": str(self.rng.randint(1, 300) * 10**8)}
        if self.rng.random() < 0.5:
            data["gigawatts"] = gw(self.rng.randint(50, 5000))
        if self.rng.random() < 0.5:
            data["term_years"] = str(self.rng.choice((3, 4, 5, 7)))
        return data

    def usage(self, i: int) -> dict[str, Any]:
        users = int(400_000_000 * (1 + 3 * i / self.n)) + self.rng.randint(0, 10**7)
        return {"product": self.rng.choice(PRODUCTS), "weekly_active_users": users}

    def funding(self, i: int) -> dict[str, Any]:
        data: dict[str, Any] = {"investor": self.rng.choice(INVESTORS),
                                "investee": self.rng.choice(INVESTEES),
                                "usd": str(self.rng.randint(1, 400) * 10**8)}
        if self.rng.random() < 0.2:
            data["conditional"] = True
            data["condition"] = "restructuring done by year end"
        if self.agreements and self.rng.random() < 0.2:
            data["agreement"] = self.rng.choice(self.agreements)
        return data

    def specified(self, i: int) -> dict[str, Any]:
        platform = self.platform(i)
        vendor, _, low, high, unit = PLATFORMS[platform]
        bump = self.rng.randint(-20_000, 20_000)
        return {"platform": platform, "vendor": vendor, "gpus_per_gigawatt_low": low + bump,
                "gpus_per_gigawatt_high": high + bump, "unit": unit}

    def planned(self, i: int) -> dict[str, Any]:
        _, _, data = self._capacity(i)  # planned capacity is not running: nothing to track
        when = START + timedelta(days=i * self.days // self.n + self.rng.randint(90, 900))
        data["due"] = when.isoformat()
        return data

    def revised_terms(self, i: int) -> dict[str, Any] | None:
        open_ones = [a for a in self.agreements if a not in self.ended]
        if not open_ones:
            return None
        target = gw(self.rng.randint(1000, 20_000))
        return {"agreement": self.rng.choice(open_ones), "gigawatts": target}


def write_history(path: str, events: int, seed: int = 20250922) -> int:
    """Write ``events`` lines to ``path``; return how many were written."""
    written = 0
    with open(path, "w", encoding="utf-8") as out:
        for line in History(events, seed).lines():
            out.write(line + "\n")
            written += 1
    return written
