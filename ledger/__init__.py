"""gigaledger: an embeddable, append-only, event-driven ledger with pluggy plugins."""

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
    ReadOnly,
    Rejected,
    StorageError,
    StoreBusy,
    UsageError,
    VerificationError,
)
from .checkpoint import Checkpoint, open_checkpoint
from .event import Event
from .explain import Explanation, Finding
from .hookcalls import for_types
from .hookspecs import hookimpl
from .ledger import ImportResult, Ledger, NewEvent, PluginWarning
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

__version__ = "0.1.0"

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
    "Verifier",
    "View",
    "check_proof",
    "for_types",
    "hookimpl",
    "open_checkpoint",
    "parse_proof",
]
