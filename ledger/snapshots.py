"""Snapshots: projection states saved at a seq, so that a replay folds only the records after it.

A snapshot is a cache, never part of the chain: it is keyed by projection name and by a
fingerprint of the projection's code, and it names the hash of the record it was taken at. A
snapshot whose fingerprint differs (the plugin changed) or whose record's hash differs (the log is
not the one it was taken from) is ignored, and the state is rebuilt from the log.

A projection can be snapshotted when it has ``snapshot(state) -> JSON`` and ``restore(data) ->
state`` methods (``restore`` builds a fresh state, sharing nothing mutable with ``data``), or a
``state_type`` (an attrs class, or JSON types) that the ledger's state
converter turns into JSON and back.
"""

from __future__ import annotations

import gc
import hashlib
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from .canonical import dumps, loads
from .codec import make_state_converter

#: Bump when the stored form of states changes for every projection.
FORMAT = "1"
#: Snapshots kept per projection.
KEEP = 3

_converter = make_state_converter()


def fingerprint(projection: Any, known_types: Iterable[str] = ()) -> str:
    """Changes whenever the projection's module, its ``version`` attribute or the format change;
    and, for a projection that handles every type (``"*"``), whenever the set of registered
    types changes (``known_types``): it sees the events of registered types and None for the
    others, so its state depends on which plugins are loaded."""
    module = sys.modules.get(type(projection).__module__)
    source = b""
    path = getattr(module, "__file__", None)
    if path:
        try:
            with open(path, "rb") as handle:
                source = handle.read()
        except OSError:
            source = b""
    parts = [FORMAT, projection.name, str(getattr(projection, "version", "")),
             hashlib.sha256(source).hexdigest()]
    handles = projection.handles
    if handles == "*" or (not isinstance(handles, str) and "*" in handles):
        parts.append(",".join(sorted(known_types)))
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def can_snapshot(projection: Any) -> bool:
    return (hasattr(projection, "snapshot") and hasattr(projection, "restore")) or hasattr(
        projection, "state_type")


def dump_state(projection: Any, state: Any) -> str:
    if hasattr(projection, "snapshot"):
        return dumps(projection.snapshot(state))
    return dumps(_converter.unstructure(state, projection.state_type))


def load_state(projection: Any, text: str) -> Any:
    """A state from its snapshot text. The garbage collector is paused meanwhile: a state is tens
    of thousands of new objects and no garbage, which would otherwise set off collections that
    find nothing (a third of the load time at a million events)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        if hasattr(projection, "restore"):
            return projection.restore(loads(text))
        return _converter.structure(loads(text), projection.state_type)
    finally:
        if paused:
            gc.enable()


def copy_state(projection: Any, state: Any) -> Any:
    """An independent copy of a state, through its snapshot form but without the JSON text
    (``restore`` builds a fresh state from what ``snapshot`` gives)."""
    if hasattr(projection, "snapshot"):
        return projection.restore(projection.snapshot(state))
    return _converter.structure(_converter.unstructure(state, projection.state_type),
                                projection.state_type)


class Fingerprints:
    """The fingerprints of the projections that can be snapshotted, computed once per ledger."""

    def __init__(self, projections: Mapping[str, Any], known_types: Iterable[str] = ()) -> None:
        known = sorted(known_types)
        self.of = {name: fingerprint(p, known) for name, p in projections.items()
                   if can_snapshot(p)}

    def __contains__(self, name: str) -> bool:
        return name in self.of
