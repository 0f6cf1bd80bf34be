"""The built-in event catalogue: one frozen attrs class per event type of the AI compute build-out.

Type names are the file format's contract. Every field not marked optional is required, and a
field a type does not define is refused.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Optional

import attrs

from .. import fields
from ..errors import Rejected
from ..event import Event
from ..figures import money, show
from . import quantities
from ..hookspecs import hookimpl

AGREEMENT_STATUSES = ("intent", "definitive")
REVISED_STATUSES = ("definitive", "superseded", "cancelled", "completed")
#: An agreement in one of these states has ended: it changes no more and releases nothing more.
FINAL_STATUSES = frozenset({"superseded", "cancelled", "completed"})
UNITS = ("package", "die")
OUTCOMES = ("met", "lapsed")


@attrs.frozen
class AgreementSigned(Event):
    """A milestone agreement: ``tranche_usd`` per ``tranche_gigawatts`` commissioned, up to
    ``cap_usd``; an ``intent`` releases nothing until it becomes ``definitive``."""

    type = "agreement.signed"
    stream_template = "agreement/{agreement}"

    agreement: str = fields.name()
    investor: str = fields.name()
    investee: str = fields.name()
    status: str = fields.choice(*AGREEMENT_STATUSES)
    gigawatts: Decimal = quantities.gigawatts()
    cap_usd: Decimal = fields.usd()
    tranche_usd: Decimal = fields.usd()
    tranche_gigawatts: Decimal = quantities.gigawatts(default=Decimal(1))
    vendor: Optional[str] = fields.name(optional=True)
    platform: Optional[str] = fields.name(optional=True)

    def __attrs_post_init__(self) -> None:
        if self.tranche_usd > self.cap_usd:
            raise Rejected(f"tranche_usd: {self.tranche_usd} is more than cap_usd {self.cap_usd}")

    def summary(self) -> str:
        return (f"{self.agreement}: {self.investor} -> {self.investee}, {self.status}, "
                f"{money(self.tranche_usd)} per {show(self.tranche_gigawatts)} GW up to "
                f"{money(self.cap_usd)} for {show(self.gigawatts)} GW")


@attrs.frozen
class AgreementRevised(Event):
    """A change of status (forward only) or of terms of a signed agreement."""

    type = "agreement.revised"
    stream_template = "agreement/{agreement}"

    agreement: str = fields.name()
    status: Optional[str] = fields.choice(*REVISED_STATUSES, optional=True)
    superseded_by: Optional[str] = fields.name(optional=True)
    gigawatts: Optional[Decimal] = quantities.gigawatts(optional=True)
    cap_usd: Optional[Decimal] = fields.usd(optional=True)
    tranche_usd: Optional[Decimal] = fields.usd(optional=True)
    tranche_gigawatts: Optional[Decimal] = quantities.gigawatts(optional=True)

    def __attrs_post_init__(self) -> None:
        if self.superseded_by is not None and self.status != "superseded":
            raise Rejected("superseded_by: only goes with status 'superseded'")
        if self.superseded_by == self.agreement:
            raise Rejected("superseded_by: an agreement cannot supersede itself")
        if self.status is None and not self.terms():
            raise Rejected("status: a revision changes the status or at least one term")

    def terms(self) -> dict[str, Decimal]:
        """The terms this revision sets."""
        names = ("gigawatts", "cap_usd", "tranche_usd", "tranche_gigawatts")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}

    def summary(self) -> str:
        changes = []
        if self.status is not None:
            by = f" by {self.superseded_by}" if self.superseded_by else ""
            changes.append(f"{self.status}{by}")
        for term, value in self.terms().items():
            shown = money(value) if term.endswith("_usd") else f"{show(value)} GW"
            changes.append(f"{term} {shown}")
        return f"{self.agreement}: {', '.join(changes)}"


@attrs.frozen
class _Capacity(Event):
    """What planned and commissioned capacity have in common: where, who, what and how much."""

    stream_template = "site/{site}"

    site: str = fields.name()
    provider: str = fields.name()
    vendor: str = fields.name()
    platform: str = fields.name()
    gigawatts: Decimal = quantities.gigawatts()

    def summary(self) -> str:
        text = (f"{show(self.gigawatts)} GW at {self.site} ({self.provider}, {self.vendor} "
                f"{self.platform})")
        due = getattr(self, "due", None)
        if due is not None:
            text += f", due {due.isoformat()}"
        agreement = getattr(self, "agreement", None)
        return f"{text} under {agreement}" if agreement else text


@attrs.frozen
class CapacityPlanned(_Capacity):
    """Capacity announced for a date; it changes no inventory, release or mix."""

    type = "capacity.planned"

    due: date = fields.day()
    agreement: Optional[str] = fields.name(optional=True)


@attrs.frozen
class CapacityCommissioned(_Capacity):
    """Capacity reported running: it counts towards the agreement it names, if any."""

    type = "capacity.commissioned"

    agreement: Optional[str] = fields.name(optional=True)


@attrs.frozen
class CapacityDecommissioned(Event):
    """Capacity taken out of service: at most what is still commissioned at the site."""

    type = "capacity.decommissioned"
    stream_template = "site/{site}"

    site: str = fields.name()
    gigawatts: Decimal = quantities.gigawatts()
    platform: Optional[str] = fields.name(optional=True)
    provider: Optional[str] = fields.name(optional=True)
    reason: Optional[str] = fields.text(optional=True)

    def summary(self) -> str:
        which = ", ".join(v for v in (self.provider, self.platform) if v)
        text = f"{show(self.gigawatts)} GW off {self.site}" + (f" ({which})" if which else "")
        return f"{text}: {self.reason}" if self.reason else text


@attrs.frozen
class FundingCommitted(Event):
    """Money promised by an investor; ``conditional`` money stays pending."""

    type = "funding.committed"
    stream_template = "funding/{investor}"

    investor: str = fields.name()
    investee: str = fields.name()
    usd: Decimal = fields.usd()
    conditional: bool = fields.flag(default=False)
    condition: Optional[str] = fields.text(optional=True)
    agreement: Optional[str] = fields.name(optional=True)

    def summary(self) -> str:
        text = f"{self.investor} -> {self.investee} {money(self.usd)} committed"
        if self.conditional:
            text += f", conditional ({self.condition})" if self.condition else ", conditional"
        return f"{text} under {self.agreement}" if self.agreement else text


@attrs.frozen
class FundingResolved(Event):
    """The condition of a conditional ``funding.committed`` record met or lapsed: ``met`` moves
    its money from conditional to committed, ``lapsed`` takes it out of conditional. A
    commitment is resolved at most once; ``commitment`` is that record's id.

    ``investor``, ``investee`` and ``usd`` are optional: they restate the commitment for people
    reading the log (checked against it when given), so that its line names the money.
    """

    type = "funding.resolved"
    stream_template = "commitment/{commitment}"

    commitment: str = fields.name()
    outcome: str = fields.choice(*OUTCOMES)
    note: Optional[str] = fields.text(optional=True)
    investor: Optional[str] = fields.name(optional=True)
    investee: Optional[str] = fields.name(optional=True)
    usd: Optional[Decimal] = fields.usd(optional=True)

    def summary(self) -> str:
        parties = ""
        if self.investor is not None and self.investee is not None:
            parties = f"{self.investor} -> {self.investee} "
        amount = f"{money(self.usd)} " if self.usd is not None else ""
        text = f"{parties}{amount}conditional commitment {self.commitment}: {self.outcome}"
        return f"{text} ({self.note})" if self.note else text


@attrs.frozen
class InvestmentReleased(Event):
    """Money actually moved: recorded by hand, or derived from an agreement's tranches."""

    type = "investment.released"
    stream_template = "funding/{investor}"

    investor: str = fields.name()
    investee: str = fields.name()
    usd: Decimal = fields.usd()
    agreement: Optional[str] = fields.name(optional=True)
    tranche: Optional[int] = fields.whole(optional=True, maximum=10**6)

    def __attrs_post_init__(self) -> None:
        if self.tranche is not None and self.agreement is None:
            raise Rejected("tranche: a tranche belongs to an agreement; name it")

    def summary(self) -> str:
        text = f"{self.investor} -> {self.investee} {money(self.usd)} released"
        if self.tranche is not None:
            return f"{text}, tranche {self.tranche} of {self.agreement}"
        return f"{text} under {self.agreement}" if self.agreement else text


@attrs.frozen
class ProviderContracted(Event):
    """A compute contract; the same ``contract`` id again revises it (the latest wins)."""

    type = "provider.contracted"
    stream_template = "contract/{contract}"

    contract: str = fields.name()
    buyer: str = fields.name()
    provider: str = fields.name()
    usd: Decimal = fields.usd()
    gigawatts: Optional[Decimal] = quantities.gigawatts(optional=True)
    term_years: Optional[Decimal] = fields.decimal(maximum=100, optional=True)

    def summary(self) -> str:
        text = f"{self.contract}: {self.buyer} contracts {self.provider} for {money(self.usd)}"
        if self.gigawatts is not None:
            text += f", {show(self.gigawatts)} GW"
        if self.term_years is not None:
            text += f", over {show(self.term_years)} years"
        return text


@attrs.frozen
class CapacityUnquantified(Event):
    """Capacity reported running at a provider in an amount not published. It adds no
    gigawatts anywhere: the commissioned mix names the provider and the vendor, so that shares of
    the published figures are never read as complete."""

    type = "capacity.unquantified"
    stream_template = "provider/{provider}"

    provider: str = fields.name()
    vendor: str = fields.name()
    site: Optional[str] = fields.name(optional=True)
    platform: Optional[str] = fields.name(optional=True)

    def summary(self) -> str:
        what = f"{self.vendor} {self.platform}" if self.platform else self.vendor
        where = f" at {self.site}" if self.site else ""
        return f"capacity running at {self.provider} ({what}){where}, amount not published"


@attrs.frozen
class _GpuCount(Event):
    """GPUs counted at a site, in packages (sockets) or dies."""

    stream_template = "site/{site}"

    site: str = fields.name()
    platform: str = fields.name()
    count: int = fields.whole()
    unit: str = fields.choice(*UNITS, default="package")

    def summary(self) -> str:
        verb = "delivered to" if self.type == "gpus.delivered" else "retired from"
        return f"{show(self.count)} {self.platform} GPUs ({self.unit}s) {verb} {self.site}"


@attrs.frozen
class GpusDelivered(_GpuCount):
    """GPUs counted in at a site."""

    type = "gpus.delivered"


@attrs.frozen
class GpusRetired(_GpuCount):
    """GPUs counted out of a site: never more than were delivered there."""

    type = "gpus.retired"


@attrs.frozen
class PlatformSpecified(Event):
    """How many GPUs a gigawatt of a platform holds, as a low-high band; the latest wins."""

    type = "platform.specified"
    stream_template = "platform/{platform}"

    platform: str = fields.name()
    vendor: str = fields.name()
    gpus_per_gigawatt_low: int = fields.whole(maximum=10**8)
    gpus_per_gigawatt_high: int = fields.whole(maximum=10**8)
    unit: str = fields.choice(*UNITS)

    def summary(self) -> str:
        return (f"{self.platform} ({self.vendor}): {show(self.gpus_per_gigawatt_low)}-"
                f"{show(self.gpus_per_gigawatt_high)} GPUs ({self.unit}s) per GW")

    def __attrs_post_init__(self) -> None:
        if self.gpus_per_gigawatt_low > self.gpus_per_gigawatt_high:
            raise Rejected(
                f"gpus_per_gigawatt_low: {self.gpus_per_gigawatt_low} is more than "
                f"gpus_per_gigawatt_high {self.gpus_per_gigawatt_high}"
            )


@attrs.frozen
class UsageReported(Event):
    """A product's reported weekly active users."""

    type = "usage.reported"
    stream_template = "usage/{product}"

    product: str = fields.name()
    weekly_active_users: int = fields.whole(minimum=0, maximum=10**10)

    def summary(self) -> str:
        return f"{self.product}: {show(self.weekly_active_users)} weekly active users"


CATALOGUE: tuple[type[Event], ...] = (
    AgreementSigned,
    AgreementRevised,
    CapacityPlanned,
    CapacityCommissioned,
    CapacityDecommissioned,
    CapacityUnquantified,
    FundingCommitted,
    FundingResolved,
    InvestmentReleased,
    ProviderContracted,
    GpusDelivered,
    GpusRetired,
    PlatformSpecified,
    UsageReported,
)


@hookimpl
def register_event_types(register):
    for event_class in CATALOGUE:
        register(event_class)
