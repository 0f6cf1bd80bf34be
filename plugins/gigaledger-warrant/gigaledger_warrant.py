"""gigaledger-warrant: share warrants that vest on gigawatts deployed and on share-price thresholds.

The template is AMD's warrant to OpenAI (8-K and Exhibit 4.1, issued 2025-10-05;
events/domain-facts.md §4): up to 160,000,000 AMD shares at $0.01, the first tranche vesting
after the first 1 GW of MI450, full vesting at 6 GW, with share-price targets escalating to $600.
How the shares split across the intermediate tranches is not public, so the schedule is part of
the ``warrant.issued`` event. AMD's warrant to Meta (2026-02-24) follows the same template.

Events: ``warrant.issued`` (terms and schedule), ``share_price.reported`` (the issuer's price) and
``warrant.vested`` (derived when a tranche's milestone is met). Projection: ``warrants``.

Rules:

- Gigawatts counted: every ``capacity.commissioned`` of the issuer's silicon (``vendor`` equal to
  the issuer) appended after the warrant was issued, whoever hosts it: GW bought through the
  holder's "Authorized Purchasers" (clouds buying on its behalf) count. With ``purchasers`` set,
  only capacity whose ``provider`` is the holder or one of them counts, so that two warrants of one
  issuer (OpenAI's and Meta's) do not count each other's capacity. The count is gross:
  decommissioning takes nothing back.
- Tranche k vests when the counted GW reach its ``gigawatts`` and the issuer's latest reported share
  price is at least its ``price_threshold_usd``. It is derived as ``warrant.vested``, caused by the
  commissioning or the price report that met it, once, whatever is replayed or re-imported.
- Not modelled: exercise (it needs technical and commercial conditions as well) and expiry.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs

from ledger import CapacityCommissioned, Event, Projection, Record, Rejected, View, hookimpl
from ledger.default_plugins import quantities
from ledger import fields

#: Beyond these a figure is taken for a mistake.
MAX_SHARES = 10**10
MAX_MILESTONES = 100

ZERO = Decimal(0)


@attrs.frozen
class Milestone:
    """One tranche of a schedule: ``shares`` vest once ``gigawatts`` (cumulative) are counted and
    the issuer's share price is at least ``price_threshold_usd``."""

    gigawatts: Decimal = quantities.gigawatts()
    shares: int = fields.whole(maximum=MAX_SHARES)
    price_threshold_usd: Decimal = fields.usd()


def _list(*, optional: bool = False) -> Any:
    """A field maker, like those of ``ledger.fields``: a list, kept as a tuple so that the frozen
    event compares and hashes; with ``optional``, None by default."""

    def convert(value: Any, field: "attrs.Attribute[Any]") -> Any:
        if isinstance(value, list):
            return tuple(value)
        if isinstance(value, tuple) or (value is None and optional):
            return value
        raise Rejected(f"{field.name}: expected a list, got {type(value).__name__}")

    return attrs.field(default=None if optional else attrs.NOTHING,
                       converter=attrs.Converter(convert, takes_field=True))


@attrs.frozen
class WarrantIssued(Event):
    """A warrant on ``shares`` of ``issuer`` held by ``holder``, vesting by its ``milestones``:
    cumulative gigawatts strictly increasing, shares adding up to at most ``shares``."""

    type = "warrant.issued"
    stream_template = "warrant/{warrant}"

    warrant: str = fields.name()
    issuer: str = fields.name()
    holder: str = fields.name()
    shares: int = fields.whole(maximum=MAX_SHARES)
    exercise_price_usd: Decimal = fields.usd()
    milestones: tuple[Milestone, ...] = _list()
    #: Providers whose capacity counts besides the holder's own; None: any provider's.
    purchasers: tuple[str, ...] | None = _list(optional=True)

    def __attrs_post_init__(self) -> None:
        if not 1 <= len(self.milestones) <= MAX_MILESTONES:
            raise Rejected(f"milestones: between 1 and {MAX_MILESTONES}, got {len(self.milestones)}")
        previous = ZERO
        for number, milestone in enumerate(self.milestones, 1):
            if not isinstance(milestone, Milestone):
                raise Rejected(f"milestones: {number} is a {type(milestone).__name__}, not a Milestone")
            if milestone.gigawatts <= previous:
                raise Rejected(
                    f"milestones: cumulative gigawatts must increase: milestone {number} has "
                    f"{milestone.gigawatts} GW after {previous} GW"
                )
            previous = milestone.gigawatts
        scheduled = sum(m.shares for m in self.milestones)
        if scheduled > self.shares:
            raise Rejected(
                f"milestones: vest {scheduled} shares in all, more than the warrant's {self.shares}"
            )
        for purchaser in self.purchasers or ():
            if not isinstance(purchaser, str) or not purchaser or purchaser != purchaser.strip():
                raise Rejected(f"purchasers: {purchaser!r} is not a provider name")

    def counts(self, event: CapacityCommissioned) -> bool:
        """Whether a commissioning counts towards this warrant's milestones."""
        if event.vendor != self.issuer:
            return False
        return self.purchasers is None or event.provider in (self.holder, *self.purchasers)


@attrs.frozen
class SharePriceReported(Event):
    """The issuer's share price; the latest reported is the one milestones are checked against."""

    type = "share_price.reported"
    stream_template = "share_price/{issuer}"

    issuer: str = fields.name()
    usd: Decimal = fields.usd()


@attrs.frozen
class WarrantVested(Event):
    """Tranche ``tranche`` (1-based, in schedule order) of a warrant vested: ``shares`` shares."""

    type = "warrant.vested"
    stream_template = "warrant/{warrant}"

    warrant: str = fields.name()
    tranche: int = fields.whole(maximum=MAX_MILESTONES)
    shares: int = fields.whole(maximum=MAX_SHARES)


@attrs.define
class Warrant:
    """One warrant's terms, the gigawatts counted so far, and its vested tranches by number."""

    terms: WarrantIssued
    gigawatts: Decimal = ZERO
    vested: dict[int, dict[str, Any]] = attrs.field(factory=dict)

    @property
    def shares_vested(self) -> int:
        return sum(tranche["shares"] for tranche in self.vested.values())

    def met(self, number: int, price: Decimal | None) -> bool:
        """Whether milestone ``number`` is met now: gigawatts reached and price at its threshold."""
        milestone = self.terms.milestones[number - 1]
        return (
            self.gigawatts >= milestone.gigawatts
            and price is not None
            and price >= milestone.price_threshold_usd
        )

    def due(self, price: Decimal | None) -> list[int]:
        """The tranches met now and not vested yet, in schedule order."""
        return [
            number for number in range(1, len(self.terms.milestones) + 1)
            if number not in self.vested and self.met(number, price)
        ]


@attrs.define
class WarrantsState:
    """Every warrant by id, and each issuer's latest share price."""

    warrants: dict[str, Warrant] = attrs.field(factory=dict)
    prices: dict[str, Decimal] = attrs.field(factory=dict)

    def price(self, warrant: Warrant) -> Decimal | None:
        return self.prices.get(warrant.terms.issuer)


class WarrantsProjection:
    """Warrants, the gigawatts and share price their milestones are checked against, and vesting."""

    name = "warrants"
    handles = ("warrant.issued", "warrant.vested", "share_price.reported", "capacity.commissioned")

    def initial(self) -> WarrantsState:
        return WarrantsState()

    def apply(self, state: WarrantsState, event: Event, record: Record) -> None:
        if isinstance(event, CapacityCommissioned):
            for warrant in state.warrants.values():
                if warrant.terms.counts(event):
                    warrant.gigawatts += event.gigawatts
        elif isinstance(event, SharePriceReported):
            state.prices[event.issuer] = event.usd
        elif isinstance(event, WarrantVested):
            state.warrants[event.warrant].vested[event.tranche] = {
                "tranche": event.tranche,
                "shares": event.shares,
                "seq": record.seq,
                "cause": record.meta.get("causation_id", record.id),
                "occurred_at": record.occurred_at.date().isoformat(),
            }
        elif isinstance(event, WarrantIssued):
            state.warrants[event.warrant] = Warrant(event)

    def summary(self, state: WarrantsState) -> dict[str, Any]:
        return {
            "warrants": {
                name: {
                    "issuer": w.terms.issuer,
                    "holder": w.terms.holder,
                    "shares": w.terms.shares,
                    "exercise_price_usd": w.terms.exercise_price_usd,
                    "gigawatts": w.gigawatts,
                    "share_price_usd": state.price(w),
                    "tranches_vested": len(w.vested),
                    "shares_vested": w.shares_vested,
                    "shares_unvested": w.terms.shares - w.shares_vested,
                    "tranches": [w.vested[number] for number in sorted(w.vested)],
                    "schedule": [
                        {"tranche": number, "gigawatts": m.gigawatts, "shares": m.shares,
                         "price_threshold_usd": m.price_threshold_usd,
                         "vested": number in w.vested}
                        for number, m in enumerate(w.terms.milestones, 1)
                    ],
                }
                for name, w in sorted(state.warrants.items())
            },
            "share_prices": dict(sorted(state.prices.items())),
        }


PROJECTION = WarrantsProjection()


@hookimpl
def register_event_types(register: Callable[[type[Event]], None]) -> None:
    for event_class in (WarrantIssued, SharePriceReported, WarrantVested):
        register(event_class)


@hookimpl
def register_projections(register: Callable[[Projection], None]) -> None:
    register(PROJECTION)


@hookimpl
def validate_event(event: Event, view: View) -> None:
    state: WarrantsState = view["warrants"]
    if isinstance(event, WarrantIssued):
        if event.warrant in state.warrants:
            raise Rejected(f"warrant {event.warrant!r} is issued already")
    elif isinstance(event, WarrantVested):
        warrant = state.warrants.get(event.warrant)
        if warrant is None:
            raise Rejected(f"warrant {event.warrant!r} is not issued")
        milestones = warrant.terms.milestones
        if event.tranche > len(milestones):
            raise Rejected(f"warrant {event.warrant!r} has {len(milestones)} tranches, "
                           f"not {event.tranche}")
        if event.tranche in warrant.vested:
            raise Rejected(f"tranche {event.tranche} of warrant {event.warrant!r} is vested already")
        if warrant.shares_vested + event.shares > warrant.terms.shares:
            raise Rejected(
                f"vesting {event.shares} shares would vest {warrant.shares_vested + event.shares} "
                f"of warrant {event.warrant!r}, more than its {warrant.terms.shares}"
            )
        milestone = milestones[event.tranche - 1]
        if event.shares != milestone.shares:
            raise Rejected(f"tranche {event.tranche} of warrant {event.warrant!r} vests "
                           f"{milestone.shares} shares, not {event.shares}")
        price = state.price(warrant)
        if not warrant.met(event.tranche, price):
            raise Rejected(
                f"tranche {event.tranche} of warrant {event.warrant!r} is not met: "
                f"{warrant.gigawatts} GW counted of {milestone.gigawatts}, share price "
                f"{'not reported' if price is None else price} against "
                f"{milestone.price_threshold_usd}"
            )


@hookimpl
def derive_events(event: Event, view: View) -> list[WarrantVested] | None:
    state: WarrantsState = view["warrants"]
    if isinstance(event, CapacityCommissioned):
        affected = [w for w in state.warrants.values() if w.terms.counts(event)]
    elif isinstance(event, SharePriceReported):
        affected = [w for w in state.warrants.values() if w.terms.issuer == event.issuer]
    else:
        return None
    return [
        WarrantVested(warrant=w.terms.warrant, tranche=number,
                      shares=w.terms.milestones[number - 1].shares)
        for w in affected
        for number in w.due(state.price(w))
    ]
