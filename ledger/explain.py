"""Why a record is in the log: its chain of causes, what it led to, and what the plugins know.

Derived events name their cause in ``meta.causation_id`` and are stored right after it, in the
same transaction; so the causes are found by following ids back, and the effects by reading on
from the record while each next record names one of the records seen so far. Beyond that, each
plugin may add ``Finding``s through the ``explain_record`` hook (the built-in domain names the
agreement behind a record and, for a released tranche, the commissioning that earned it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import attrs

from .clock import written_seq
from .errors import LedgerError
from .record import Record
from .replay import jsonable

if TYPE_CHECKING:
    from .ledger import Ledger


@attrs.frozen
class Finding:
    """What a plugin says about a record: a ``label`` ("earned by", "allowed by" …), the
    ``records`` it points to, a ``note`` for people, and ``data`` for programs."""

    label: str
    records: list[Record] = attrs.field(factory=list)
    note: Optional[str] = None
    data: dict[str, Any] = attrs.field(factory=dict)
    plugin: Optional[str] = None  # set by the ledger: who said it

    def to_json(self) -> dict[str, Any]:
        return {"plugin": self.plugin, "label": self.label,
                "records": [r.to_json() for r in self.records], "note": self.note,
                "data": jsonable(self.data)}


@attrs.frozen
class Explanation:
    """``record``; ``causes``: its cause, the cause's cause … back to an event recorded directly
    (appended or imported); ``effects``: the events derived from it, directly or not;
    ``findings``: what the plugins add, in their call order."""

    record: Record
    causes: list[Record]
    effects: list[Record]
    findings: list[Finding] = attrs.field(factory=list)

    def finding(self, label: str) -> Optional[Finding]:
        """The first finding with this label, or None."""
        return next((f for f in self.findings if f.label == label), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "record": self.record.to_json(),
            "causes": [r.to_json() for r in self.causes],
            "effects": [r.to_json() for r in self.effects],
            "findings": [f.to_json() for f in self.findings],
        }


def find(book: Ledger, key: str | int) -> Record:
    """The record with this seq (a number) or id; ``LedgerError`` when there is none."""
    text = str(key).strip()
    seq = written_seq(text)  # a seq as --until writes it, unless an id reads so
    if seq is not None and book.get(text) is None:
        text = str(seq)
    if text.isdigit():
        seq = int(text)
        # beyond the head: none, without asking the store for a seq past SQLite's integers
        record = next(iter(book.read(seq - 1)), None) if 0 < seq <= len(book) else None
        if record is None or record.seq != seq:
            raise LedgerError(f"no record with seq {seq} (the log holds {len(book)})")
        return record
    record = book.get(text)
    if record is None:
        raise LedgerError(f"no record with id {text!r}")
    return record


def explain(book: Ledger, key: str | int, findings: Any) -> Explanation:
    """The explanation of the record with this seq or id; ``findings(record)`` gives what the
    plugins add (the ledger's ``explain_record`` hook)."""
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
    return Explanation(record, causes, effects, list(findings(record)))


def describe(record: Record) -> str:
    """One line for people: seq, day, type, and the event's own summary."""
    derived = record.meta.get("derived_by")
    by = f" [derived by {derived}]" if derived else ""
    return f"seq {record.seq}  {record.occurred_at.date()}  {record.type}  {record.summary()}{by}"


def render(explanation: Explanation) -> str:
    """The explanation as text for people: the record, its causes and effects, then each
    finding (its records under its label, and its note)."""
    e = explanation
    lines = [describe(e.record)]
    lines += [f"  caused by {describe(cause)}" for cause in e.causes]
    if not e.causes:
        lines.append("  recorded directly, appended or imported (not derived from another record)")
    lines += [f"  led to {describe(effect)}" for effect in e.effects]
    for finding in e.findings:
        if finding.records:
            lines += [f"{finding.label} {describe(record)}" for record in finding.records]
            if finding.note:
                lines.append(f"  {finding.note}")
        else:
            lines.append(f"{finding.label}: {finding.note or '-'}")
    return "\n".join(lines)
