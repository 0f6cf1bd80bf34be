"""Money by investor and investee, and the conditional commitments by record id.

Part of the ``investment`` projection's state (DESIGN.md, "Conditions met or lapsed, and money by
investee"): committed, conditional (pending) and released money are kept per investor and
investee, so that money put into a provider (SoftBank into SB Energy) never mixes with money put
into the investee of the agreements (OpenAI); the per-investor figures are their sums. Each
conditional ``funding.committed`` is kept under its record id until a ``funding.resolved`` names
it, at most once: ``met`` moves its money from conditional to committed, ``lapsed`` takes it out
of conditional. So, for every investor and investee, committed + conditional + lapsed money is
the sum of what was committed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, Optional, Protocol

import attrs

from ..errors import Rejected
from ..figures import money, show
from .catalogue import FundingCommitted, FundingResolved, InvestmentReleased

ZERO = Decimal(0)
Pair = tuple[str, str]  # (investor, investee)
#: What a conditional commitment is while no resolution names it.
PENDING = "pending"
#: The money columns of the investor table, in the order of DESIGN.md.
INVESTOR_COLUMNS = ("intended_usd", "agreed_usd", "committed_usd", "conditional_usd", "released_usd")
#: Where an agreement's cap counts in the money by investor, by its status (none: nowhere).
CAP_COUNTS_AS = {"intent": "intended_usd", "definitive": "agreed_usd", "completed": "agreed_usd"}


@attrs.define
class Money:
    """One investor's money for one investee."""

    committed_usd: Decimal = ZERO
    conditional_usd: Decimal = ZERO
    released_usd: Decimal = ZERO


@attrs.define
class Conditional:
    """A conditional commitment: who, how much, and its status (pending, met or lapsed), with the
    seq of the resolution that settled it."""

    investor: str
    investee: str
    usd: Decimal
    status: str = PENDING
    resolved_seq: Optional[int] = None
    #: When the commitment occurred (ISO text; empty in a snapshot made before it was kept).
    occurred_at: str = ""


@attrs.define
class Funds:
    by_pair: dict[Pair, Money] = attrs.field(factory=dict)
    conditional: dict[str, Conditional] = attrs.field(factory=dict)  # by funding.committed id

    def pair(self, investor: str, investee: str) -> Money:
        key = (investor, investee)
        if key not in self.by_pair:
            self.by_pair[key] = Money()
        return self.by_pair[key]

    def commit(self, event: FundingCommitted, record_id: str, occurred_at: str = "") -> None:
        figures = self.pair(event.investor, event.investee)
        if event.conditional:
            figures.conditional_usd += event.usd
            self.conditional[record_id] = Conditional(event.investor, event.investee, event.usd,
                                                      occurred_at=occurred_at)
        else:
            figures.committed_usd += event.usd

    def release(self, event: InvestmentReleased) -> None:
        self.pair(event.investor, event.investee).released_usd += event.usd

    def resolve(self, event: FundingResolved, seq: int) -> None:
        commitment = self.conditional.get(event.commitment)
        if commitment is None or commitment.status != PENDING:
            return  # as of a date before the commitment (seq order and business time may differ)
        figures = self.pair(commitment.investor, commitment.investee)
        figures.conditional_usd -= commitment.usd
        if event.outcome == "met":
            figures.committed_usd += commitment.usd
        commitment.status, commitment.resolved_seq = event.outcome, seq

    def check(self, event: FundingResolved, occurred_at: datetime | None = None) -> None:
        """``Rejected`` unless the resolution names a pending conditional commitment (and restates
        it rightly, when it does), and does not occur before it (``occurred_at``: when the
        resolution occurred)."""
        name = event.commitment
        commitment = self.conditional.get(name)
        if commitment is None:
            raise Rejected(f"commitment {name!r} is not a conditional funding.committed record "
                           "(unknown, or unconditional: nothing to resolve)")
        if commitment.status != PENDING:
            raise Rejected(f"commitment {name!r} is resolved already: {commitment.status} at seq "
                           f"{commitment.resolved_seq}")
        if occurred_at is not None and commitment.occurred_at:
            made = datetime.fromisoformat(commitment.occurred_at)
            if occurred_at < made:
                raise Rejected(f"commitment {name!r} was made on {made.date().isoformat()}; a "
                               f"resolution cannot occur before it (this one is dated "
                               f"{occurred_at.date().isoformat()})")
        stated = (event.investor, event.investee, event.usd)
        actual = (commitment.investor, commitment.investee, commitment.usd)
        if any(given is not None and given != real for given, real in zip(stated, actual)):
            # amounts that differ but read the same rounded ($20 B) are written in full
            same = event.usd != commitment.usd and money(event.usd) == money(commitment.usd)
            shown = _dollars if same else money
            raise Rejected(f"commitment {name!r} is {commitment.investor} -> "
                           f"{commitment.investee} {shown(commitment.usd)}; the resolution says "
                           f"{_stated(event, shown)}")

    def columns(self) -> dict[str, Any]:
        """The state as compact JSON rows, for snapshots."""
        return {
            "pairs": [[investor, investee, str(m.committed_usd), str(m.conditional_usd),
                       str(m.released_usd)] for (investor, investee), m in self.by_pair.items()],
            "conditional": [[name, c.investor, c.investee, str(c.usd), c.status, c.resolved_seq,
                             c.occurred_at] for name, c in self.conditional.items()],
        }

    @classmethod
    def from_columns(cls, data: dict[str, Any]) -> Funds:
        by_pair = {(investor, investee): Money(Decimal(committed), Decimal(conditional),
                                               Decimal(released))
                   for investor, investee, committed, conditional, released in data["pairs"]}
        conditional = {name: Conditional(investor, investee, Decimal(usd), status, seq, *when)
                       for name, investor, investee, usd, status, seq, *when in data["conditional"]}
        return cls(by_pair, conditional)

    def summary(self) -> dict[str, dict[str, Any]]:
        """The conditional commitments by record id, in the order they were committed."""
        return {name: {"investor": c.investor, "investee": c.investee, "usd": c.usd,
                       "status": c.status, "resolved_seq": c.resolved_seq}
                for name, c in self.conditional.items()}


def _dollars(usd: Decimal) -> str:
    return f"${show(usd)}"


def _stated(event: FundingResolved, shown: Any = money) -> str:
    parts = [f"investor {event.investor}" if event.investor is not None else "",
             f"investee {event.investee}" if event.investee is not None else "",
             shown(event.usd) if event.usd is not None else ""]
    return ", ".join(part for part in parts if part)


class _Agreement(Protocol):
    investor: str
    investee: str
    status: str
    cap_usd: Decimal


def money_by_investor(agreements: Iterable[_Agreement], funds: Funds) -> dict[str, dict[str, Any]]:
    """Each investor's intended, agreed, committed, conditional and released money, by name: the
    sums over its investees, then the same figures for each investee under ``by_investee``.
    Intended and agreed are the caps of the agreements by their current status."""
    pairs: dict[Pair, dict[str, Decimal]] = {}

    def figures(pair: Pair) -> dict[str, Decimal]:
        if pair not in pairs:
            pairs[pair] = dict.fromkeys(INVESTOR_COLUMNS, ZERO)
        return pairs[pair]

    for agreement in agreements:
        counted = figures((agreement.investor, agreement.investee))
        key = CAP_COUNTS_AS.get(agreement.status)
        if key is not None:
            counted[key] += agreement.cap_usd
    for pair, own in funds.by_pair.items():
        counted = figures(pair)
        counted["committed_usd"] += own.committed_usd
        counted["conditional_usd"] += own.conditional_usd
        counted["released_usd"] += own.released_usd
    investors: dict[str, dict[str, Any]] = {}
    for investor, investee in sorted(pairs):
        if investor not in investors:
            investors[investor] = {**dict.fromkeys(INVESTOR_COLUMNS, ZERO), "by_investee": {}}
        total, own_figures = investors[investor], pairs[(investor, investee)]
        total["by_investee"][investee] = own_figures
        for key in INVESTOR_COLUMNS:
            total[key] += own_figures[key]
    return investors
