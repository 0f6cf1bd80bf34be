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
from .event import Event
from .explain import Explanation, Finding
from .hookcalls import for_types
from .hookspecs import hookimpl
from .ledger import ImportResult, Ledger, NewEvent, PluginWarning
from .materialize import Table
from .plugins import PluginInfo
from .record import Record
from .replay import AsOf, Projection, View
from .scenarios import ScenarioWarning

__version__ = "0.1.0"

__all__ = [
    "AgreementRevised",
    "AgreementSigned",
    "AsOf",
    "CapacityCommissioned",
    "CapacityDecommissioned",
    "CapacityPlanned",
    "CapacityUnquantified",
    "ConflictError",
    "Event",
    "Explanation",
    "Finding",
    "FundingCommitted",
    "FundingResolved",
    "GpusDelivered",
    "GpusRetired",
    "ImportResult",
    "InvestmentReleased",
    "Ledger",
    "LedgerError",
    "NewEvent",
    "PlatformSpecified",
    "PluginError",
    "PluginInfo",
    "PluginWarning",
    "Projection",
    "ProviderContracted",
    "ReadOnly",
    "Record",
    "Rejected",
    "ScenarioWarning",
    "StorageError",
    "StoreBusy",
    "Table",
    "UsageError",
    "UsageReported",
    "VerificationError",
    "View",
    "for_types",
    "hookimpl",
]
