"""Projections and views: folds of the log, dispatched by event type.

A projection is any object with ``name``, ``handles`` (event types, or ``"*"`` for all),
``initial()``, ``apply(state, event, record)`` and ``summary(state)``, and optionally
``render(summary)``, the text for people. ``apply`` returns the new state, or None when it changed
``state`` in place. A view holds every projection's state at one position of the log.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Protocol, runtime_checkable

from .clock import format_time, load_time
from .codec import decimal_text, tidy
from .errors import LedgerError, PluginError

if TYPE_CHECKING:
    from .event import Event
    from .record import Record


@runtime_checkable
class Projection(Protocol):
    """What ``register_projections`` registers."""

    name: str
    handles: Any

    def initial(self) -> Any: ...

    def apply(self, state: Any, event: Event, record: Record) -> Any: ...

    def summary(self, state: Any) -> Any: ...


Apply = Callable[[Any, Any, Any], Any]


class View(Mapping[str, Any]):
    """The projections' states as of one position: ``view[name]`` is a projection's state.

    ``seq`` is the last record folded (0 for none) and ``occurred_at`` the latest business time
    among the folded records.
    """

    def __init__(self, projections: Mapping[str, Projection], owners: Mapping[str, str]) -> None:
        self._projections = dict(projections)
        self._owners = dict(owners)
        self._states: dict[str, Any] = {}
        self.seq = 0
        self.occurred_text: str | None = None
        self.until: str | None = None
        for name, projection in self._projections.items():
            self._states[name] = self._call(name, "initial", projection.initial)
        self._dispatch: dict[str, list[tuple[str, Apply]]] = {}
        self._everything: list[tuple[str, Apply]] = []
        self.activate(self._projections)

    def activate(self, names: Iterable[str]) -> None:
        """Fold into these projections only (the others are ahead, restored from a snapshot)."""
        dispatch: dict[str, list[tuple[str, Apply]]] = {}
        everything: list[tuple[str, Apply]] = []
        for name in names:
            projection = self._projections[name]
            handles = projection.handles
            if handles == "*" or (not isinstance(handles, str) and "*" in handles):
                everything.append((name, projection.apply))
                continue
            for type_name in [handles] if isinstance(handles, str) else handles:
                dispatch.setdefault(type_name, []).append((name, projection.apply))
        for handlers in dispatch.values():
            handlers.extend(everything)
        self._dispatch, self._everything = dispatch, everything

    def restore(self, name: str, state: Any) -> None:
        """Start a projection from a saved state (a snapshot)."""
        self._states[name] = state

    def share(self) -> View:
        """Another view of the same states, to read: whoever changes the states first gives this
        one its own copies (see ``Ledger.replay``)."""
        twin = copy.copy(self)
        twin._states = dict(self._states)
        return twin

    def own(self, copy_state: Callable[[str, Any], Any]) -> None:
        """Replace every state by a copy, so that this view no longer shares any."""
        for name, state in self._states.items():
            self._states[name] = copy_state(name, state)

    def handlers(self, type_name: str) -> list[tuple[str, Apply]]:
        """The (projection, apply) pairs for one event type: empty when nothing folds it."""
        return self._dispatch.get(type_name, self._everything)

    def fold(self, record: Record, event: Event | None, occurred_text: str) -> None:
        """Fold one record (whose stored ``occurred_at`` is ``occurred_text``) into every
        projection that handles its type."""
        states = self._states
        for name, apply in self._dispatch.get(record.type, self._everything):
            try:
                new = apply(states[name], event, record)
            except LedgerError:
                raise
            except Exception as error:
                raise PluginError(
                    f"projection {name} failed on seq {record.seq} ({record.type}): "
                    f"{type(error).__name__}: {error}",
                    plugin=self._owners.get(name, name),
                ) from error
            if new is not None:
                states[name] = new
        self.seq = record.seq
        if self.occurred_text is None or occurred_text > self.occurred_text:
            self.occurred_text = occurred_text

    def skip(self, seq: int, occurred_text: str) -> None:
        """Move past a record that no projection folds."""
        self.seq = seq
        if self.occurred_text is None or occurred_text > self.occurred_text:
            self.occurred_text = occurred_text

    @property
    def occurred_at(self) -> datetime | None:
        """The latest business time among the records folded so far."""
        return None if self.occurred_text is None else load_time(self.occurred_text)

    def _call(self, name: str, what: str, function: Callable[..., Any], *args: Any) -> Any:
        try:
            return function(*args)
        except LedgerError:
            raise
        except Exception as error:
            raise PluginError(
                f"projection {name} failed in {what}: {type(error).__name__}: {error}",
                plugin=self._owners.get(name, name),
            ) from error

    # --- Mapping --------------------------------------------------------------------------------

    def __getitem__(self, name: str) -> Any:
        try:
            return self._states[name]
        except KeyError:
            known = ", ".join(self._states) or "none"
            raise KeyError(f"no projection named {name!r} (loaded: {known})") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._states)

    def __len__(self) -> int:
        return len(self._states)

    # --- summaries ------------------------------------------------------------------------------

    def projection(self, name: str) -> Projection:
        """The projection object registered under ``name``."""
        self[name]
        return self._projections[name]

    def summary(self, name: str) -> Any:
        """One projection's summary, JSON-ready (Decimals as strings)."""
        state = self[name]
        return jsonable(self._call(name, "summary", self._projections[name].summary, state))

    def as_of(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "occurred_at": self.occurred_text,
            "until": self.until,
        }

    def report(self) -> dict[str, Any]:
        """Every projection's summary, plus ``as_of``: the object ``report --json`` prints."""
        report = {name: self.summary(name) for name in self._states}
        report["as_of"] = self.as_of()
        return report


def jsonable(value: Any) -> Any:
    """A JSON-ready copy: Decimals as strings without trailing zeros (``"10"``, not ``"10.00"``),
    dates as ISO text, tuples and sets as lists."""
    if isinstance(value, Decimal):
        return decimal_text(tidy(value))
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted(jsonable(item) for item in value)
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
