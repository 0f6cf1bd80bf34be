"""The stored envelope: one immutable row of the log, separate from the domain event it carries."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, NamedTuple

from .canonical import dumps, loads, loads_plain
from .clock import format_time
from .event import Event


class StoredJson(Mapping[str, Any]):
    """A stored JSON object read when first looked into: a record's ``meta`` as replays give it.
    Most folds never look at a record's metadata, so most are never parsed. It is a read-only
    ``Mapping`` equal to the dict it holds."""

    __slots__ = ("_text", "_value")

    def __init__(self, text: str) -> None:
        self._text = text
        self._value: dict[str, Any] | None = None

    def _object(self) -> dict[str, Any]:
        value = self._value
        if value is None:
            value = loads_plain(self._text)
            if not set(map(type, value.values())) <= _FLAT_JSON:  # nested, or a float: exactly
                value = loads(self._text)
            self._value = value
        return value

    def __getitem__(self, key: str) -> Any:
        return self._object()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._object())

    def __len__(self) -> int:
        return len(self._object())

    def __contains__(self, key: object) -> bool:
        return key in self._object()

    def get(self, key: str, default: Any = None) -> Any:
        return self._object().get(key, default)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StoredJson):
            other = other._object()
        return self._object() == other

    __hash__ = None  # type: ignore[assignment]  # a mapping, like a dict

    def __repr__(self) -> str:
        return repr(self._object())


#: The ``meta`` of a record whose stored meta is ``{}``: one read-only empty mapping for all.
EMPTY_META: Mapping[str, Any] = MappingProxyType({})


def stored_meta(meta_text: str) -> Mapping[str, Any]:
    """A record's ``meta`` from its stored text, parsed when first looked into."""
    return EMPTY_META if meta_text == "{}" else StoredJson(meta_text)


#: The types of a flat JSON object's values that orjson reads exactly (its keys are strings).
_FLAT_JSON = frozenset({str, int, bool, type(None)})


class Record(NamedTuple):
    """One appended event as stored: position, identity, times, payload and chain hash.

    ``data`` and ``meta`` are the JSON objects as stored (Decimals as strings; ``meta`` of a
    record read back from the log is a ``StoredJson``, parsed when first looked into); ``event``
    is the payload as its event class, or None when no loaded plugin knows the type. Immutable (a named
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
