"""The stored envelope: one immutable row of the log, separate from the domain event it carries."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from .clock import format_time
from .canonical import dumps
from .event import Event


class Record(NamedTuple):
    """One appended event as stored: position, identity, times, payload and chain hash.

    ``data`` and ``meta`` are the JSON objects as stored (Decimals as strings); ``event`` is the
    payload as its event class, or None when no loaded plugin knows the type. Immutable (a named
    tuple: cheap to make, which matters when a million are replayed).
    """

    seq: int
    id: str
    stream: str
    version: int
    type: str
    schema: int
    occurred_at: datetime
    recorded_at: datetime
    data: Mapping[str, Any]
    meta: Mapping[str, Any]
    hash: str
    event: Event | None = None

    def summary(self) -> str:
        """One line for people: the event's own ``summary()``, or the payload as JSON when no
        loaded plugin knows the type (or its summary fails: a listing must not stop)."""
        if self.event is not None:
            try:
                return self.event.summary()
            except Exception:
                pass
        return dumps(dict(self.data))

    def to_json(self) -> dict[str, Any]:
        """The record as the export format writes it."""
        return {
            "seq": self.seq,
            "id": self.id,
            "stream": self.stream,
            "version": self.version,
            "type": self.type,
            "schema": self.schema,
            "occurred_at": format_time(self.occurred_at),
            "recorded_at": format_time(self.recorded_at),
            "data": dict(self.data),
            "meta": dict(self.meta),
            "hash": self.hash,
        }
