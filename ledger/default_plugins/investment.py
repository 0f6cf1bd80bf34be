"""investment: money released under milestone agreements, and money by investor.

Rules (DESIGN.md, "The built-in plugins"): tranches are earned per ``tranche_gigawatts`` of
capacity commissioned under the agreement before it ended; tranche k is released, as a derived
``investment.released``, when it is earned while the agreement is ``definitive`` (becoming
definitive releases every tranche already earned); the total never passes ``cap_usd``; after the
agreement ends nothing more is released and what was earned but not released is forfeited.

Money by investor (DESIGN.md, "Commitments and the pipeline"): ``intended_usd`` is the caps of the
investor's agreements still ``intent``, ``agreed_usd`` the caps of those ``definitive`` or
``completed`` (superseded and cancelled agreements count in neither); both are read from the
agreements' current status and cap when the summary is made, so a revision that changes either
moves the money at once and the snapshot needs nothing more. ``committed_usd`` and
``conditional_usd`` come from ``funding.committed`` and ``funding.resolved``, ``released_usd``
from every release. Every figure is kept by investor and investee (``by_investee``), the
per-investor figures being their sums; the conditional commitments are kept by record id
(``funds.py``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Optional

import attrs

from ..errors import Rejected
from ..hookcalls import for_types
from ..hookspecs import hookimpl
from ..tables import money, show, table
from .catalogue import (
    FINAL_STATUSES,
    AgreementRevised,
    AgreementSigned,
    CapacityCommissioned,
    CapacityPlanned,
    FundingCommitted,
    FundingResolved,
    InvestmentReleased,
)
from .funds import INVESTOR_COLUMNS, Funds, money_by_investor

ZERO = Decimal(0)
#: An agreement whose cap allows more tranches than this is refused as a unit mistake.
MAX_TRANCHES = 10_000


#: What each money column of the investor table counts, printed under it.
INVESTOR_LEGEND = (
    "intended: the caps of agreements still intent; agreed: of those definitive or completed.\n"
    "committed: funding committed outright or on a condition since met; conditional: on a\n"
    "condition still pending. released: paid out (tranches, recorded releases), which may be\n"
    "part of what is agreed or committed: it is not added to them.")


@attrs.frozen
class Tranche:
    """One released tranche: its number, the money, and the record that caused it."""

    tranche: int
    usd: Decimal
    seq: int
    cause: str
    occurred_at: str


@attrs.define
class Agreement:
    """One agreement's terms and what it has earned and released so far."""

    investor: str
    investee: str
    status: str
    gigawatts: Decimal
    cap_usd: Decimal
    tranche_usd: Decimal
    tranche_gigawatts: Decimal
    commissioned_gigawatts: Decimal = ZERO  # gross: every commissioning naming it
    earned_gigawatts: Decimal = ZERO  # commissioned before the agreement ended
    released_usd: Decimal = ZERO  # tranches and recorded releases naming it
    released: set[int] = attrs.field(factory=set)
    tranches: list[Tranche] = attrs.field(factory=list)
    superseded_by: Optional[str] = None
    contiguous: int = attrs.field(init=False, default=0)  # tranches 1..contiguous are released

    def __attrs_post_init__(self) -> None:
        while self.contiguous + 1 in self.released:
            self.contiguous += 1

    @property
    def ended(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def tranches_earned(self) -> int:
        return int(self.earned_gigawatts // self.tranche_gigawatts)

    def release(self, tranche: Tranche) -> None:
        self.released.add(tranche.tranche)
        self.tranches.append(tranche)
        while self.contiguous + 1 in self.released:
            self.contiguous += 1

    def unreleased(self) -> list[tuple[int, Decimal]]:
        """Earned tranches not yet released, with what each would pay within the cap."""
        result: list[tuple[int, Decimal]] = []
        paid = self.released_usd
        for number in range(self.contiguous + 1, self.tranches_earned + 1):
            if paid >= self.cap_usd:
                break
            if number not in self.released:
                usd = min(self.tranche_usd, self.cap_usd - paid)
                result.append((number, usd))
                paid += usd
        return result

    def due(self) -> list[tuple[int, Decimal]]:
        """The tranches to release now: only while definitive."""
        return self.unreleased() if self.status == "definitive" else []

    @property
    def forfeited_usd(self) -> Decimal:
        return sum((usd for _, usd in self.unreleased()), ZERO) if self.ended else ZERO


@attrs.define
class InvestmentState:
    agreements: dict[str, Agreement] = attrs.field(factory=dict)
    funds: Funds = attrs.field(factory=Funds)
    released_usd: Decimal = ZERO


class InvestmentProjection:
    name = "investment"
    handles = (
        "agreement.signed",
        "agreement.revised",
        "capacity.commissioned",
        "funding.committed",
        "funding.resolved",
        "investment.released",
    )

    def initial(self) -> InvestmentState:
        return InvestmentState()

    def apply(self, state: InvestmentState, event: Any, record: Any) -> None:
        if isinstance(event, CapacityCommissioned):
            agreement = state.agreements.get(event.agreement) if event.agreement else None
            if agreement is not None:
                agreement.commissioned_gigawatts += event.gigawatts
                if not agreement.ended:
                    agreement.earned_gigawatts += event.gigawatts
        elif isinstance(event, InvestmentReleased):
            state.released_usd += event.usd
            state.funds.release(event)
            agreement = state.agreements.get(event.agreement) if event.agreement else None
            if agreement is not None:
                agreement.released_usd += event.usd
                if event.tranche is not None:
                    agreement.release(Tranche(
                        event.tranche, event.usd, record.seq,
                        record.meta.get("causation_id", record.id),
                        record.occurred_at.date().isoformat(),
                    ))
        elif isinstance(event, FundingCommitted):
            state.funds.commit(event, record.id, record.occurred_at.isoformat())
        elif isinstance(event, FundingResolved):
            state.funds.resolve(event, record.seq)
        elif isinstance(event, AgreementSigned):
            state.agreements[event.agreement] = Agreement(
                event.investor, event.investee, event.status, event.gigawatts, event.cap_usd,
                event.tranche_usd, event.tranche_gigawatts,
            )
        elif isinstance(event, AgreementRevised):
            agreement = state.agreements.get(event.agreement)
            if agreement is None:  # as of a date before the signature it revises (seq order
                return             # and business time may differ)
            if event.status is not None:
                agreement.status = event.status
            if event.superseded_by is not None:
                agreement.superseded_by = event.superseded_by
            for term, value in event.terms().items():
                setattr(agreement, term, value)

    def snapshot(self, state: InvestmentState) -> dict[str, Any]:
        """The state as compact JSON: amounts as text, each agreement's tranches in columns."""
        return {
            "released_usd": str(state.released_usd),
            "funds": state.funds.columns(),
            "agreements": {name: {
                "terms": [a.investor, a.investee, a.status, str(a.gigawatts), str(a.cap_usd),
                          str(a.tranche_usd), str(a.tranche_gigawatts),
                          str(a.commissioned_gigawatts), str(a.earned_gigawatts),
                          str(a.released_usd), a.superseded_by],
                "tranches": [[t.tranche for t in a.tranches], [str(t.usd) for t in a.tranches],
                             [t.seq for t in a.tranches], [t.cause for t in a.tranches],
                             [t.occurred_at for t in a.tranches]],
            } for name, a in state.agreements.items()},
        }

    def restore(self, data: dict[str, Any]) -> InvestmentState:
        agreements = {}
        for name, saved in data["agreements"].items():
            (investor, investee, status, gigawatts, cap, tranche_usd, tranche_gigawatts,
             commissioned, earned, released_usd, superseded_by) = saved["terms"]
            numbers, amounts, seqs, causes, dates = saved["tranches"]
            agreements[name] = Agreement(
                investor, investee, status, Decimal(gigawatts), Decimal(cap), Decimal(tranche_usd),
                Decimal(tranche_gigawatts), Decimal(commissioned), Decimal(earned),
                Decimal(released_usd), set(numbers),
                list(map(Tranche, numbers, map(Decimal, amounts), seqs, causes, dates)),
                superseded_by,
            )
        return InvestmentState(agreements, Funds.from_columns(data["funds"]),
                               Decimal(data["released_usd"]))

    def summary(self, state: InvestmentState) -> dict[str, Any]:
        return {
            "released_usd": state.released_usd,
            "agreements": {
                name: {
                    "status": a.status,
                    "investor": a.investor,
                    "investee": a.investee,
                    "gigawatts": a.gigawatts,
                    "cap_usd": a.cap_usd,
                    "tranche_usd": a.tranche_usd,
                    "tranche_gigawatts": a.tranche_gigawatts,
                    "commissioned_gigawatts": a.commissioned_gigawatts,
                    "earned_gigawatts": a.earned_gigawatts,
                    "tranches_earned": a.tranches_earned,
                    "tranches_released": len(a.released),
                    "released_usd": a.released_usd,
                    "forfeited_usd": a.forfeited_usd,
                    "superseded_by": a.superseded_by,
                    "tranches": [attrs.asdict(t) for t in sorted(a.tranches, key=lambda t: t.tranche)],
                }
                for name, a in sorted(state.agreements.items())
            },
            "investors": money_by_investor(state.agreements.values(), state.funds),
            "conditional_commitments": state.funds.summary(),
        }

    def render(self, summary: dict[str, Any]) -> str:
        """The text report; an agreement's commissioned GW says how much of it came while the
        agreement was in force (only that earns tranches) when some came after it ended."""
        agreements = summary["agreements"]
        parts = [f"released in all: {money(summary['released_usd'])}"]
        if agreements:
            parts.append(table(
                [[name, a["status"] + (f" by {a['superseded_by']}" if a["superseded_by"] else ""),
                  f"{a['investor']} -> {a['investee']}", a["gigawatts"], _commissioned(a),
                  f"{a['tranches_earned']} / {a['tranches_released']}",
                  money(a["released_usd"]), money(a["forfeited_usd"]), money(a["cap_usd"])]
                 for name, a in agreements.items()],
                ["agreement", "status", "parties", "target GW", "commissioned GW",
                 "tranches earned / released", "released", "forfeited", "cap"],
            ))
        tranches = [[name, t["tranche"], money(t["usd"]), t["occurred_at"], t["seq"]]
                    for name, a in agreements.items() for t in a["tranches"]]
        if tranches:
            parts.append(table(tranches, ["agreement", "tranche", "released", "on", "seq"]))
        if summary["investors"]:
            parts.append(table(
                [[name, investee, *(money(figures[key]) for key in INVESTOR_COLUMNS)]
                 for name, i in summary["investors"].items()
                 for investee, figures in i["by_investee"].items()],
                ["investor", "investee", "intended", "agreed", "committed",
                 "conditional (pending)", "released"],
            ) + "\n" + INVESTOR_LEGEND)
        conditional = summary["conditional_commitments"]
        if conditional:
            parts.append(table(
                [[name, f"{c['investor']} -> {c['investee']}", money(c["usd"]), c["status"],
                  c["resolved_seq"]] for name, c in conditional.items()],
                ["conditional commitment", "parties", "amount", "status", "resolved at seq"],
            ))
        return "\n\n".join(parts)


def _commissioned(agreement: dict[str, Any]) -> str:
    """``3.5 (1.5 while in force)``: all the GW commissioned under an agreement, and the part
    that earns tranches when some came after it ended."""
    commissioned, earned = agreement["commissioned_gigawatts"], agreement["earned_gigawatts"]
    if Decimal(commissioned) == Decimal(earned):
        return show(commissioned)
    return f"{show(commissioned)} ({show(earned)} while in force)"


PROJECTION = InvestmentProjection()


@hookimpl
def register_projections(register):
    register(PROJECTION)


def _agreement(view: Any, name: str) -> Agreement:
    agreement = view["investment"].agreements.get(name)
    if agreement is None:
        raise Rejected(f"agreement {name!r} is not signed")
    return agreement


@hookimpl
@for_types(AgreementSigned.type, AgreementRevised.type, FundingResolved.type,
           CapacityCommissioned.type, CapacityPlanned.type, FundingCommitted.type,
           InvestmentReleased.type)
def validate_event(event, record, view):
    if isinstance(event, AgreementSigned):
        if event.agreement in view["investment"].agreements:
            raise Rejected(f"agreement {event.agreement!r} is signed already")
        if event.cap_usd / event.tranche_usd > MAX_TRANCHES:
            raise Rejected(f"cap_usd allows more than {MAX_TRANCHES} tranches of tranche_usd")
    elif isinstance(event, AgreementRevised):
        agreement = _agreement(view, event.agreement)
        if agreement.ended:
            raise Rejected(
                f"agreement {event.agreement!r} is {agreement.status}, which is final"
            )
        cap = event.cap_usd if event.cap_usd is not None else agreement.cap_usd
        tranche = event.tranche_usd if event.tranche_usd is not None else agreement.tranche_usd
        if cap < agreement.released_usd:
            raise Rejected(f"cap_usd {cap} is below the {agreement.released_usd} released already")
        if tranche > cap:
            raise Rejected(f"tranche_usd {tranche} is more than cap_usd {cap}")
        if cap / tranche > MAX_TRANCHES:
            raise Rejected(f"cap_usd allows more than {MAX_TRANCHES} tranches of tranche_usd")
    elif isinstance(event, FundingResolved):
        view["investment"].funds.check(event, record.occurred_at)
    elif isinstance(event, (CapacityCommissioned, CapacityPlanned, FundingCommitted)):
        if event.agreement is not None:
            _agreement(view, event.agreement)
    elif isinstance(event, InvestmentReleased) and event.agreement is not None:
        agreement = _agreement(view, event.agreement)
        if (event.investor, event.investee) != (agreement.investor, agreement.investee):
            raise Rejected(
                f"agreement {event.agreement!r} is between {agreement.investor} and "
                f"{agreement.investee}, not {event.investor} and {event.investee}"
            )
        if agreement.status != "definitive":
            raise Rejected(f"agreement {event.agreement!r} is {agreement.status}: it releases nothing")
        if agreement.released_usd + event.usd > agreement.cap_usd:
            raise Rejected(
                f"releasing {event.usd} would pass the cap of agreement {event.agreement!r}, "
                f"{agreement.cap_usd} ({agreement.released_usd} released already)"
            )
        if event.tranche is not None:
            if event.tranche in agreement.released:
                raise Rejected(f"tranche {event.tranche} of {event.agreement!r} is released already")
            if event.tranche > agreement.tranches_earned:
                raise Rejected(
                    f"tranche {event.tranche} of {event.agreement!r} is not earned "
                    f"({agreement.tranches_earned} earned)"
                )


@hookimpl
@for_types(AgreementSigned.type, AgreementRevised.type, CapacityCommissioned.type)
def derive_events(event, view):
    if isinstance(event, (AgreementSigned, AgreementRevised)):
        name = event.agreement
    elif isinstance(event, CapacityCommissioned) and event.agreement is not None:
        name = event.agreement
    else:
        return None
    agreement = view["investment"].agreements[name]
    return [
        InvestmentReleased(
            investor=agreement.investor, investee=agreement.investee, usd=usd,
            agreement=name, tranche=number,
        )
        for number, usd in agreement.due()
    ]
