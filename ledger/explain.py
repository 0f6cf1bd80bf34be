"""Why a record is in the log: its chain of causes, what it led to, and, for a released tranche,
the commissioning that earned it and the agreement that allowed it.

Derived events name their cause in ``meta.causation_id`` and are stored right after it, in the
same transaction; so the causes are found by following ids back, and the effects by reading on
from the record while each next record names one of the records seen so far.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Optional

import attrs

from .errors import LedgerError
from .record import Record
from .figures import show

if TYPE_CHECKING:
    from .ledger import Ledger


@attrs.frozen
class Explanation:
    """``record``; ``causes``: its cause, the cause's cause … back to an event appended by hand;
    ``effects``: the events derived from it, directly or not; for an event about an agreement,
    ``agreement`` (its ``agreement.signed``) and ``revisions`` up to the record; for a released
    tranche, ``earned_by``: the commissioning that brought the agreement's gigawatts to it."""

    record: Record
    causes: list[Record]
    effects: list[Record]
    agreement: Optional[Record] = None
    revisions: list[Record] = attrs.field(factory=list)
    earned_by: Optional[Record] = None
    earned_gigawatts: Optional[Decimal] = None  # the gigawatts the tranche needed

    def to_json(self) -> dict[str, Any]:
        def one(record: Optional[Record]) -> Optional[dict[str, Any]]:
            return None if record is None else record.to_json()

        return {
            "record": one(self.record),
            "causes": [r.to_json() for r in self.causes],
            "effects": [r.to_json() for r in self.effects],
            "agreement": one(self.agreement),
            "revisions": [r.to_json() for r in self.revisions],
            "earned_by": one(self.earned_by),
            "earned_gigawatts": None if self.earned_gigawatts is None else str(self.earned_gigawatts),
        }


def find(book: Ledger, key: str | int) -> Record:
    """The record with this seq (a number) or id; ``LedgerError`` when there is none."""
    text = str(key).strip()
    if text.isdigit():
        seq = int(text)
        record = next(iter(book.read(seq - 1)), None) if seq > 0 else None
        if record is None or record.seq != seq:
            raise LedgerError(f"no record with seq {seq} (the log holds {len(book)})")
        return record
    record = book.get(text)
    if record is None:
        raise LedgerError(f"no record with id {text!r}")
    return record


def explain(book: Ledger, key: str | int) -> Explanation:
    record = find(book, key)
    causes = []
    cause = record
    while "causation_id" in cause.meta:
        found = book.get(cause.meta["causation_id"])
        if found is None:  # an import may name a cause outside this log
            break
        causes.append(found)
        cause = found
    effects = []
    seen = {record.id}
    for later in book.read(record.seq):
        if later.meta.get("causation_id") not in seen:
            break
        effects.append(later)
        seen.add(later.id)
    name = record.data.get("agreement")
    if not isinstance(name, str):
        return Explanation(record, causes, effects)
    stream = list(book.read(stream=f"agreement/{name}"))
    signed = next((r for r in stream if r.type == "agreement.signed"), None)
    revisions = [r for r in stream if r.type == "agreement.revised" and r.seq <= record.seq]
    earned_by, needed = None, None
    tranche = record.data.get("tranche")
    if record.type == "investment.released" and isinstance(tranche, int):
        terms = book.replay(until=record.seq)["investment"].agreements.get(name)
        if terms is not None:
            needed = tranche * terms.tranche_gigawatts
            earned_by = _crossing(book, name, needed, record.seq)
    return Explanation(record, causes, effects, signed, revisions, earned_by, needed)


def _crossing(book: Ledger, agreement: str, gigawatts: Decimal, before: int) -> Optional[Record]:
    """The first commissioning under ``agreement`` that brought its total to ``gigawatts``."""
    total = Decimal(0)
    for record in book.read(types=["capacity.commissioned"]):
        if record.seq > before:
            break
        if record.data.get("agreement") == agreement:
            total += Decimal(record.data["gigawatts"])
            if total >= gigawatts:
                return record
    return None


def describe(record: Record) -> str:
    """One line for people: seq, day, type, and the event's own summary."""
    derived = record.meta.get("derived_by")
    by = f" [derived by {derived}]" if derived else ""
    return f"seq {record.seq}  {record.occurred_at.date()}  {record.type}  {record.summary()}{by}"


def render(explanation: Explanation) -> str:
    """The explanation as text for people."""
    e = explanation
    lines = [describe(e.record)]
    lines += [f"  caused by {describe(cause)}" for cause in e.causes]
    if not e.causes:
        lines.append("  appended by hand (no cause)")
    lines += [f"  led to {describe(effect)}" for effect in e.effects]
    if e.earned_gigawatts is not None:
        if e.earned_by is not None:
            lines.append(f"earned by {describe(e.earned_by)}")
            lines.append(f"  which brought the gigawatts commissioned under {e.record.data['agreement']} "
                         f"to the {show(e.earned_gigawatts)} GW that tranche {e.record.data['tranche']} needs")
        else:
            lines.append(f"earned by: no commissioning reaches {show(e.earned_gigawatts)} GW "
                         "(the tranche was recorded by hand)")
    if e.agreement is not None and e.agreement.seq != e.record.seq:
        label = "allowed by" if e.record.type == "investment.released" else "agreement"
        lines.append(f"{label} {describe(e.agreement)}")
        lines += [f"  revised {describe(revision)}" for revision in e.revisions]
    return "\n".join(lines)
