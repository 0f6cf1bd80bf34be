"""What the built-in domain says about a record (``explain_record``): the agreement behind it and
its revisions; for a released tranche, the commissioning that brought the agreement's gigawatts
to what the tranche needs; for a resolved condition, the commitment it resolves."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Optional

from ..explain import Finding
from ..figures import show
from ..hookspecs import hookimpl
from ..record import Record


@hookimpl
def explain_record(record, ledger):
    findings: list[Finding] = []
    if record.type == "funding.resolved":
        commitment = ledger.get(record.data["commitment"])
        if commitment is not None:
            findings.append(Finding("resolves", [commitment]))
    elif record.type == "funding.committed" and record.data.get("conditional"):
        resolutions = [r for r in ledger.read(stream=f"commitment/{record.id}",
                                               types=["funding.resolved"])
                       if r.data.get("commitment") == record.id]
        findings.append(Finding("resolved by", resolutions) if resolutions
                        else Finding("resolved by", note="nothing yet: the condition is pending"))
    name = record.data.get("agreement")
    if not isinstance(name, str):
        return findings
    stream = list(ledger.read(stream=f"agreement/{name}"))
    signed = next((r for r in stream if r.type == "agreement.signed"), None)
    revisions = [r for r in stream if r.type == "agreement.revised" and r.seq <= record.seq]
    tranche = record.data.get("tranche")
    released = record.type == "investment.released"
    if released and isinstance(tranche, int):
        findings.append(_earned_by(ledger, record, name, tranche))
    if signed is not None and signed.seq != record.seq:
        findings.append(Finding("allowed by" if released else "agreement", [signed]))
        if revisions:
            findings.append(Finding("revised", revisions))
    return findings


def _earned_by(ledger: Any, record: Record, name: str, tranche: int) -> Finding:
    terms = ledger.replay(until=record.seq)["investment"].agreements.get(name)
    if terms is None:
        return Finding("earned by", note="the agreement is not signed by then")
    needed = tranche * terms.tranche_gigawatts
    crossing = _crossing(ledger, name, needed, record.seq)
    data = {"earned_gigawatts": needed}
    gigawatts = show(needed.normalize())  # for people: 2 x 0.5 GW is 1 GW, not 1.0 GW
    if crossing is None:
        return Finding("earned by", note=f"no commissioning reaches {gigawatts} GW (the "
                                         "tranche was recorded by hand)", data=data)
    return Finding("earned by", [crossing], data=data,
                   note=(f"which brought the gigawatts commissioned under {name} to the "
                         f"{gigawatts} GW that tranche {tranche} needs"))


def _crossing(ledger: Any, agreement: str, gigawatts: Decimal, before: int) -> Optional[Record]:
    """The first commissioning under ``agreement`` that brought its total to ``gigawatts``."""
    total = Decimal(0)
    for record in ledger.read(types=["capacity.commissioned"], until=before):
        if record.data.get("agreement") == agreement:
            total += Decimal(record.data["gigawatts"])
            if total >= gigawatts:
                return record
    return None
