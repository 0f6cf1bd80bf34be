"""gigaledger: an embeddable, append-only, event-driven ledger with pluggy plugins.

The public names below are re-exported from the modules that define them, each imported when it
is first used (PEP 562): ``from ledger import Ledger`` works as always, and ``import ledger``
alone, the command line's first step, loads nothing else (so that Ctrl-C while the command
loads is answered in one line: see ``ledger/cli/__init__.py``).
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # as typing.TYPE_CHECKING (true for type checkers), without importing typing

__version__ = "0.1.0"

#: The public names by the module (under ``ledger``) that defines them; ``name=attribute`` when
#: the module calls it otherwise.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "default_plugins.catalogue": (
        "AgreementRevised", "AgreementSigned", "CapacityCommissioned", "CapacityDecommissioned",
        "CapacityPlanned", "CapacityUnquantified", "FundingCommitted", "FundingResolved",
        "GpusDelivered", "GpusRetired", "InvestmentReleased", "PlatformSpecified",
        "ProviderContracted", "UsageReported"
    ),
    "errors": (
        "ConflictError", "LedgerError", "PluginError", "PluginWarning", "ReadOnly", "Rejected",
        "StorageError", "StoreBusy", "UsageError", "VerificationError"
    ),
    "chain": ("Verified",),
    "checkpoint": ("Checkpoint", "open_checkpoint"),
    "event": ("Event",),
    "explain": ("Explanation", "Finding"),
    "hookcalls": ("for_types",),
    "hookspecs": ("hookimpl",),
    "ledger": ("ImportResult", "Ledger", "NewEvent"),
    "materialize": ("Table",),
    "merkle": ("ProofError",),
    "plugins": ("PluginInfo",),
    "proofs": ("ConsistencyProof", "InclusionProof", "check_proof=check", "parse_proof=parse"),
    "record": ("Record",),
    "replay": ("AsOf", "Projection", "View"),
    "scenarios": ("ScenarioWarning",),
    "signed_note": ("NoteError", "Signer", "Verifier"),
}
_WHERE = {name.partition("=")[0]: (module, name.partition("=")[2] or name)
          for module, names in _EXPORTS.items() for name in names}


def __getattr__(name: str) -> Any:
    found = _WHERE.get(name)
    if found is None and not name.startswith("_"):  # a module: ``ledger.fields``
        try:
            return importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{name}":
                raise
    if found is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = found
    value = getattr(importlib.import_module(f".{module}", __name__), attribute)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})


if TYPE_CHECKING:  # the same names, for type checkers and editors
    from typing import Any

    from .default_plugins.catalogue import (
        AgreementRevised,
        AgreementSigned,
        CapacityCommissioned,
        CapacityDecommissioned,
        CapacityPlanned,
        CapacityUnquantified,
        FundingCommitted,
        FundingResolved,
        GpusDelivered,
        GpusRetired,
        InvestmentReleased,
        PlatformSpecified,
        ProviderContracted,
        UsageReported,
    )
    from .errors import (
        ConflictError,
        LedgerError,
        PluginError,
        PluginWarning,
        ReadOnly,
        Rejected,
        StorageError,
        StoreBusy,
        UsageError,
        VerificationError,
    )
    from .chain import Verified
    from .checkpoint import Checkpoint, open_checkpoint
    from .event import Event
    from .explain import Explanation, Finding
    from .hookcalls import for_types
    from .hookspecs import hookimpl
    from .ledger import ImportResult, Ledger, NewEvent
    from .materialize import Table
    from .merkle import ProofError
    from .plugins import PluginInfo
    from .proofs import ConsistencyProof, InclusionProof
    from .proofs import check as check_proof
    from .proofs import parse as parse_proof
    from .record import Record
    from .replay import AsOf, Projection, View
    from .scenarios import ScenarioWarning
    from .signed_note import NoteError, Signer, Verifier

__all__ = [
    "AgreementRevised",
    "AgreementSigned",
    "AsOf",
    "CapacityCommissioned",
    "CapacityDecommissioned",
    "CapacityPlanned",
    "CapacityUnquantified",
    "Checkpoint",
    "ConflictError",
    "ConsistencyProof",
    "Event",
    "Explanation",
    "Finding",
    "FundingCommitted",
    "FundingResolved",
    "GpusDelivered",
    "GpusRetired",
    "ImportResult",
    "InclusionProof",
    "InvestmentReleased",
    "Ledger",
    "LedgerError",
    "NewEvent",
    "NoteError",
    "PlatformSpecified",
    "PluginError",
    "PluginInfo",
    "PluginWarning",
    "Projection",
    "ProofError",
    "ProviderContracted",
    "ReadOnly",
    "Record",
    "Rejected",
    "ScenarioWarning",
    "Signer",
    "StorageError",
    "StoreBusy",
    "Table",
    "UsageError",
    "UsageReported",
    "VerificationError",
    "Verified",
    "Verifier",
    "View",
    "check_proof",
    "for_types",
    "hookimpl",
    "open_checkpoint",
    "parse_proof",
]
