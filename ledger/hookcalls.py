"""The one way the ledger calls its plugins' hooks.

Each hook's implementations are taken once per ledger, in pluggy's call order, from pluggy's own
API (``get_hookimpls``); each is called with the keyword arguments ``hookspecs.py`` names,
passing those its function declares (as pluggy itself does). A plugin may declare, with
``@for_types(...)``, the event types an append-path implementation cares about: it is then
called for those types only. An exception is blamed on the plugin that raised it.

``GIGALEDGER_TRACE_PLUGINS=1`` prints every call on stderr: the plugin, the hook, the arguments
in short, what it returned and how long it took (like datasette's ``DATASETTE_TRACE_PLUGINS``).
"""

from __future__ import annotations

import functools
import operator
import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from .errors import LedgerError, PluginError, Rejected

#: Set to 1 to print every hook call on stderr.
TRACE = "GIGALEDGER_TRACE_PLUGINS"
#: The attribute ``@for_types`` sets on a hook function.
TYPES_ATTRIBUTE = "gigaledger_types"

F = TypeVar("F", bound=Callable[..., Any])


def for_types(*types: str) -> Callable[[F], F]:
    """Declare the event types an implementation of ``validate_event`` or ``derive_events`` cares
    about: the ledger calls it for events of those types only (the rest never reach it)."""
    if not types or not all(isinstance(name, str) and name for name in types):
        raise TypeError("for_types takes one or more event type names")

    def mark(function: F) -> F:
        setattr(function, TYPES_ATTRIBUTE, frozenset(types))
        return function

    return mark


class PerPlugin:
    """An argument made for each plugin called: ``PerPlugin(lambda plugin: ...)`` (the
    registration hooks give each plugin a ``register`` that knows who registers)."""

    def __init__(self, make: Callable[[str], Any]) -> None:
        self.make = make


class Implementation:
    """One plugin's implementation of one hook: called with the arguments its function declares,
    taken by name from the hook's keyword arguments (as pluggy does)."""

    __slots__ = ("plugin", "hook", "function", "argnames", "types", "_fetch")

    def __init__(self, plugin: str, hook: str, function: Callable[..., Any],
                 argnames: tuple[str, ...], types: frozenset[str] | None = None) -> None:
        self.plugin = plugin
        self.hook = hook
        self.function = function
        self.argnames = argnames
        self.types = types  # declared with @for_types; None: every type
        if not argnames:
            self._fetch: Callable[[dict[str, Any]], tuple[Any, ...]] = lambda arguments: ()
        elif len(argnames) == 1:
            one = operator.itemgetter(argnames[0])
            self._fetch = lambda arguments: (one(arguments),)
        else:
            self._fetch = operator.itemgetter(*argnames)

    def __call__(self, arguments: dict[str, Any]) -> Any:
        return self.function(*self._fetch(arguments))

    def with_plugin_arguments(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The arguments with each ``PerPlugin`` made for this plugin."""
        return {name: value.make(self.plugin) if isinstance(value, PerPlugin) else value
                for name, value in arguments.items()}

    def __repr__(self) -> str:
        return f"<{self.plugin}.{self.hook}>"


class Hook:
    """The implementations of one hook, called through ``call`` (or ``for_type`` on the append
    path, where the list for each event type is computed once)."""

    def __init__(self, name: str, implementations: Iterable[Implementation],
                 trace: bool = False) -> None:
        self.name = name
        self.implementations = list(implementations)
        self.trace = trace
        self._by_type: dict[str, list[Implementation]] = {}

    def __bool__(self) -> bool:
        return bool(self.implementations)

    def for_type(self, type_name: str) -> list[Implementation]:
        """The implementations called for an event of this type, in call order."""
        found = self._by_type.get(type_name)
        if found is None:
            found = self._by_type[type_name] = [
                impl for impl in self.implementations
                if impl.types is None or type_name in impl.types]
        return found

    def call(self, implementations: Iterable[Implementation] | None = None,
             **arguments: Any) -> list[tuple[str, Any]]:
        """Call every implementation (or those given) with these keyword arguments; return
        (plugin, result) pairs in call order. An exception stops the loop and is blamed on the
        plugin that raised it."""
        personal = any(isinstance(value, PerPlugin) for value in arguments.values())
        results = []
        for impl in self.implementations if implementations is None else implementations:
            given = impl.with_plugin_arguments(arguments) if personal else arguments
            results.append((impl.plugin, self.call_one(impl, given)))
        return results

    def call_one(self, impl: Implementation, arguments: dict[str, Any]) -> Any:
        """One implementation's result; its exception blamed on its plugin."""
        try:
            if self.trace:
                return _traced(impl, arguments)
            return impl(arguments)
        except Exception as error:
            blamed = blame(error, impl.plugin, impl.hook, arguments.get("record"))
            if blamed is error:
                raise
            raise blamed from error


def blame(error: Exception, plugin: str, hook: str, record: Any = None) -> Exception:
    """The error to raise for a plugin's exception in a hook: a refusal names the plugin; the
    ledger's own errors pass; anything else is the plugin's failure."""
    if isinstance(error, Rejected):
        if not error.message.startswith(f"{plugin}: "):
            error.message = f"{plugin}: {error.message}"
        return error
    if isinstance(error, LedgerError):
        return error
    on = f" on {record.type}" if record is not None and hasattr(record, "type") else ""
    return PluginError(f"plugin {plugin}: {hook} failed{on}: {type(error).__name__}: {error}",
                       plugin=plugin)


def tracing() -> bool:
    """Whether ``GIGALEDGER_TRACE_PLUGINS`` asks for every call to be printed."""
    return os.environ.get(TRACE, "").strip() not in ("", "0")


def _traced(impl: Implementation, arguments: dict[str, Any]) -> Any:
    shown = ", ".join(f"{name}={_short(arguments[name])}" for name in impl.argnames)
    started = time.perf_counter()
    try:
        result = impl(arguments)
    except BaseException as error:
        _say(f"{impl.plugin}.{impl.hook}({shown}) raised {type(error).__name__} "
             f"in {_ms(started)}")
        raise
    _say(f"{impl.plugin}.{impl.hook}({shown}) -> {_short(result)} in {_ms(started)}")
    return result


def _short(value: Any) -> str:
    if isinstance(value, functools.partial):
        return "a callback"
    kind = getattr(value, "type", None)
    if isinstance(kind, str):
        seq = getattr(value, "seq", None)
        return f"{kind}#{seq}" if isinstance(seq, int) else kind
    if isinstance(value, list):
        return f"[{', '.join(_short(item) for item in value[:3])}{', …' if len(value) > 3 else ''}]"
    if value is None:
        return "None"
    return type(value).__name__


def _ms(started: float) -> str:
    return f"{(time.perf_counter() - started) * 1000:.3f} ms"


def _say(line: str) -> None:
    print(f"gigaledger trace: {line}", file=sys.stderr, flush=True)
