"""Projections and views: folds of the log, dispatched by event type.

A projection is any object with ``name``, ``handles`` (event types, or ``"*"`` for all),
``initial()``, ``apply(state, event, record)`` and ``summary(state)``, and optionally
``render(summary)``, the text for people. ``apply`` returns the new state, or None when it changed
``state`` in place. A view holds every projection's state at one position of the log, and where
that position is (``AsOf``): a summary that depends on the date the report stands at (something is
late only after its due date) declares an ``as_of`` keyword and receives it.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Optional, Protocol, runtime_checkable

import attrs

from .clock import format_time, load_time
from .canonical import decimal_text
from .codec import tidy
from .errors import LedgerError, PluginError

if TYPE_CHECKING:
    from .event import Event
    from .record import Record


@runtime_checkable
class Projection(Protocol):
    """What ``register_projections`` registers.

    ``summary(state)`` is the report's JSON-ready value. A summary whose figures depend on the
    date the report stands at declares a keyword parameter named ``as_of``
    (``def summary(self, state, *, as_of=None)``); ``View.summary`` then passes it an ``AsOf``:
    the view's ``seq``, ``occurred_at``, ``until`` (the last day a replay as of a date covers),
    ``day`` (the as-of date: ``until`` when the view was replayed as of a date or time, else the
    date of the latest ``occurred_at`` folded, never the wall clock) and ``scenario_records``.
    The signature is inspected once per function; summaries without the parameter are called with
    the state alone.
    """

    name: str
    handles: Any

    def initial(self) -> Any: ...

    def apply(self, state: Any, event: Event, record: Record) -> Any: ...

    def summary(self, state: Any) -> Any: ...


Apply = Callable[[Any, Any, Any], Any]


@attrs.frozen
class AsOf:
    """Where a view stands, as a projection's ``summary(state, *, as_of)`` sees it.

    ``seq``: the last record folded (0 for none); ``occurred_at``: the latest business time
    folded (None for none); ``until``: the last day covered when the view was replayed as of a
    date or time (a year covers to 31 December), else None; ``day``: the as-of date, ``until`` when
    given, else the date of ``occurred_at`` (None for an empty view); ``scenario_records``: how
    many folded records are marked ``meta.scenario``.
    """

    seq: int
    occurred_at: Optional[datetime]
    until: Optional[date]
    day: Optional[date]
    scenario_records: int = 0


@functools.lru_cache(maxsize=None)
def _takes_as_of(function: Callable[..., Any]) -> bool:
    try:
        parameter = inspect.signature(function).parameters.get("as_of")
    except (TypeError, ValueError):  # a builtin or a callable without a signature
        return False
    return parameter is not None and parameter.kind in (
        inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def takes_as_of(summary: Callable[..., Any]) -> bool:
    """Whether a projection's ``summary`` declares an ``as_of`` parameter (inspected once per
    function)."""
    function = getattr(summary, "__func__", summary)
    try:
        return _takes_as_of(function)
    except TypeError:  # an unhashable callable: inspect it every time
        return _takes_as_of.__wrapped__(function)


class View(Mapping[str, Any]):
    """The projections' states as of one position: ``view[name]`` is a projection's state.

    ``seq`` is the last record folded (0 for none) and ``occurred_at`` the latest business time
    among the folded records; ``until`` is what the view was replayed up to (as given) and
    ``until_day`` the last day that covers when it was a date or time; ``scenario_records`` counts
    the folded records marked ``meta.scenario`` (whoever folds a record counts it: see
    ``ledger.scenarios``); ``by_type`` counts the records passed, folded or not, by type, and
    ``unknown_types`` those of types no loaded plugin registers (``known_types``): records a report
    cannot fold, which it must not drop silently.
    """

    def __init__(self, projections: Mapping[str, Projection], owners: Mapping[str, str],
                 known_types: Iterable[str] = ()) -> None:
        self._projections = dict(projections)
        self._owners = dict(owners)
        self._known = frozenset(known_types)
        self.by_type: dict[str, int] = {}
        self._states: dict[str, Any] = {}
        self.seq = 0
        self.occurred_text: str | None = None
        self.until: str | None = None
        self.until_day: date | None = None
        self.scenario_records = 0
        self._dated = frozenset(name for name, projection in self._projections.items()
                                if takes_as_of(projection.summary))
        #: The type of each state as ``initial()`` gave it: named when a fold fails on a state
        #: that an ``apply`` replaced by what it returned.
        self._initial_types: dict[str, type] = {}
        for name, projection in self._projections.items():
            self._states[name] = self._call(name, "initial", projection.initial)
            self._initial_types[name] = type(self._states[name])
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
        twin.by_type = dict(self.by_type)
        return twin

    def own(self, copy_state: Callable[[str, Any], Any]) -> None:
        """Replace every state by a copy, so that this view no longer shares any."""
        for name, state in self._states.items():
            self._states[name] = self._call(name, "copy", copy_state, name, state)

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
                raise self.failure(name, record, error) from error
            if new is not None:
                states[name] = new
        self.seq = record.seq
        counts = self.by_type
        counts[record.type] = counts.get(record.type, 0) + 1
        if self.occurred_text is None or occurred_text > self.occurred_text:
            self.occurred_text = occurred_text

    def failure(self, name: str, record: Record, error: Exception) -> PluginError:
        """The error for a projection whose ``apply`` raised ``error`` on ``record``."""
        return PluginError(
            f"projection {name} failed on seq {record.seq} ({record.type}): "
            f"{type(error).__name__}: {error}{self._replaced(name)}",
            plugin=self._owners.get(name, name),
        )

    def _replaced(self, name: str) -> str:
        """When a projection's state is no longer of the type ``initial()`` gave, say so: an
        ``apply`` returned something (``0``, ``True``, a count) where it meant to change the
        state in place and return None, and that value became the state."""
        state, initial = self._states.get(name), self._initial_types.get(name)
        if initial is None or initial is type(None) or isinstance(state, initial):
            return ""
        shown = repr(state)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        return (f" (its state is now {type(state).__name__} {shown}, not the {initial.__name__} "
                f"its initial() gave: apply returns the new state, or None when it changed the "
                f"state in place; whatever else it returns replaces the state)")

    @property
    def unknown_types(self) -> dict[str, int]:
        """The records passed whose type no loaded plugin registers, counted by type: the report
        could not fold them (``gigaledger info`` names the plugins the log needs)."""
        return {name: count for name, count in sorted(self.by_type.items())
                if name not in self._known}

    @property
    def occurred_at(self) -> datetime | None:
        """The latest business time among the records folded so far."""
        return None if self.occurred_text is None else load_time(self.occurred_text)

    def _call(self, name: str, what: str, function: Callable[..., Any], *args: Any,
              **keywords: Any) -> Any:
        try:
            return function(*args, **keywords)
        except LedgerError:
            raise
        except Exception as error:
            raise PluginError(
                f"projection {name} failed in {what}: {type(error).__name__}: {error}"
                f"{self._replaced(name)}",
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
        """One projection's summary, JSON-ready (Decimals as strings); given the view's ``AsOf``
        when its ``summary`` declares an ``as_of`` parameter."""
        state = self[name]
        summary = self._projections[name].summary
        if name in self._dated:
            value = self._call(name, "summary", summary, state, as_of=self.position())
        else:
            value = self._call(name, "summary", summary, state)
        try:
            return jsonable(value)
        except FloatFigure as error:
            raise PluginError(f"projection {name}: its summary holds {error}",
                              plugin=self._owners.get(name, name)) from None

    def render(self, name: str, summary: Any) -> str | None:
        """A projection's own text for its summary (its ``render``), or None when it has none;
        when it fails, or gives something other than text, the error names its plugin."""
        render = getattr(self.projection(name), "render", None)
        if render is None:
            return None
        text = self._call(name, "render", render, summary)
        if not isinstance(text, str):
            raise PluginError(f"projection {name}: render gave {type(text).__name__}, not text",
                              plugin=self._owners.get(name, name))
        return text

    def position(self) -> AsOf:
        """Where this view stands, with its as-of date (see ``AsOf``)."""
        occurred = self.occurred_at
        day = self.until_day
        if day is None and occurred is not None:
            day = occurred.date()
        return AsOf(self.seq, occurred, self.until_day, day, self.scenario_records)

    def as_of(self) -> dict[str, Any]:
        """The report's ``as_of``: the last seq folded, how many records were folded (fewer than
        ``seq`` when a replay as of a date left out records dated after it), the latest
        ``occurred_at``, what the view was replayed up to, how many scenario records it folded,
        and the records it could not fold because no loaded plugin registers their type, by
        type."""
        return {
            "seq": self.seq,
            "records": sum(self.by_type.values()),
            "occurred_at": self.occurred_text,
            "until": self.until,
            "scenario_records": self.scenario_records,
            "unknown_types": self.unknown_types,
        }

    def report(self) -> dict[str, Any]:
        """Every projection's summary, plus ``as_of``: the object ``report --json`` prints."""
        report = {name: self.summary(name) for name in self._states}
        report["as_of"] = self.as_of()
        return report


class FloatFigure(LedgerError):
    """A float where a report's figures must be exact (``jsonable``)."""


def jsonable(value: Any) -> Any:
    """A JSON-ready copy: Decimals as strings without trailing zeros (``"10"``, not ``"10.00"``),
    dates as ISO text, tuples and sets as lists. A float is refused (``FloatFigure``): a figure
    shown to a reader is exact, and a float's digits are not the number meant."""
    if isinstance(value, Decimal):
        return decimal_text(tidy(value))
    if isinstance(value, float):
        raise FloatFigure(f"the float {value!r}: figures are Decimals (exact), never floats")
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
