"""The plugin manager: one per ledger, loading the built-ins, entry points and the caller's own.

Plugins come from the built-ins (always), installed distributions' entry points in group
``gigaledger`` (filtered by ``GIGALEDGER_PLUGINS``: comma-separated names, empty for none), and
the caller (``Ledger.open(plugins=[...])``, the command line's ``--plugin``): a module object or
any object with hook functions, a dotted module name, or the path of a ``.py`` file.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import os
import re
import sys
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import attrs
import pluggy

from . import hookspecs
from .errors import PluginError, UsageError
from .charts import Chart
from .event import Event, float_fields, template_problem
from .hints import did_you_mean
from .hookcalls import TYPES_ATTRIBUTE, Hook, Implementation, PerPlugin, tracing
from .replay import Projection

#: The package of the built-in plugins; its ``PLUGINS`` lists their modules. The engine imports
#: it by name only when a ledger opens with the built-ins, and knows nothing else of it.
BUILTIN_PACKAGE = "ledger.default_plugins"
ENTRY_POINT_GROUP = "gigaledger"
ALLOW_LIST = "GIGALEDGER_PLUGINS"
_TYPE_NAME = re.compile(r"[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*")  # the whole name (fullmatch)
#: Hooks called once per event (the first two may be routed by type with ``@for_types``).
_PER_PLUGIN_HOOKS = ("validate_event", "derive_events", "event_appended")


@attrs.frozen
class PluginInfo:
    """A loaded plugin: its name, where it came from, and the hooks it implements."""

    name: str
    source: str  # "built-in", "entry point", "file", "module" or "object"
    detail: str  # the distribution and version, the file's path, or the module's name
    hooks: tuple[str, ...]


class PluginHost:
    """A pluggy manager with everything its plugins registered: event types and projections."""

    def __init__(self, plugins: Iterable[Any] = (), *, load_entrypoints: bool = True,
                 builtins: bool = True) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self._sources: dict[str, tuple[str, str]] = {}
        for module_name in builtin_modules() if builtins else ():
            module = importlib.import_module(module_name)
            self._register(module, module_name.rsplit(".", 1)[1], "built-in", module_name)
        if load_entrypoints:
            self._load_entry_points()
        for plugin in plugins:
            self._load(plugin)
        self._refuse_unknown_hooks()
        self.hooks = {name: self._hook(name) for name in self.hook_names()}
        self.event_types: dict[str, type[Event]] = {}
        self.type_owners: dict[str, str] = {}
        self.projections: dict[str, Projection] = {}
        self.projection_owners: dict[str, str] = {}
        self.charts: dict[str, Chart] = {}
        self.chart_owners: dict[str, str] = {}
        self._register_all("register_event_types", self._add_event_type)
        self._register_all("register_projections", self._add_projection)
        self._register_all("register_charts", self._add_chart)
        self._refuse_unknown_routed_types()

    # --- loading --------------------------------------------------------------------------------

    def _register(self, plugin: Any, name: str, source: str, detail: str) -> None:
        if self.pm.has_plugin(name) or name in self._sources:
            rename = (f"; a plugin file's name is its plugin's: rename {os.path.basename(detail)}"
                      if source == "file" and self._sources[name][1] != detail else "")
            raise PluginError(
                f"plugin {name}: a plugin of that name is loaded already "
                f"({self._sources[name][0]}){rename}",
                plugin=name,
            )
        try:
            self.pm.register(plugin, name=name)
        except pluggy.PluginValidationError as error:
            raise PluginError(f"plugin {name}: {_validation_message(error)}", plugin=name) from None
        except ValueError as error:
            raise PluginError(f"plugin {name}: {error}", plugin=name) from None
        self._sources[name] = (source, detail)

    def _load_entry_points(self) -> None:
        allowed = os.environ.get(ALLOW_LIST)
        wanted = None if allowed is None else {n.strip() for n in allowed.split(",") if n.strip()}
        found = set()
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if wanted is not None and entry_point.name not in wanted:
                continue
            found.add(entry_point.name)
            dist = getattr(entry_point, "dist", None)
            detail = f"{dist.name} {dist.version}" if dist is not None else entry_point.value
            try:
                plugin = entry_point.load()
            except Exception as error:
                raise PluginError(
                    f"plugin {entry_point.name}: cannot be loaded from {entry_point.value}: "
                    f"{type(error).__name__}: {error}",
                    plugin=entry_point.name,
                ) from None
            self._register(plugin, entry_point.name, "entry point", detail)
        if wanted:
            missing = sorted(wanted - found)
            if missing:
                name = missing[0]
                raise PluginError(
                    f"plugin {name}: {ALLOW_LIST} names it, but no installed distribution has a "
                    f"{ENTRY_POINT_GROUP!r} entry point of that name",
                    plugin=name,
                )

    def _load(self, plugin: Any) -> None:
        if isinstance(plugin, os.PathLike) or (
            isinstance(plugin, str) and (plugin.endswith(".py") or os.sep in plugin)
        ):
            path = os.path.abspath(os.fspath(plugin))
            name = os.path.splitext(os.path.basename(path))[0]
            self._register(_import_file(path, name), name, "file", path)
        elif isinstance(plugin, str):
            if not plugin.strip():
                raise PluginError("plugin '': an empty name; give a .py file or a module name",
                                  plugin=plugin)
            if os.path.isfile(plugin):  # a file, but not a .py one
                raise PluginError(f"plugin {plugin}: a plugin file is Python source, named .py",
                                  plugin=plugin)
            try:
                module = importlib.import_module(plugin)
            except Exception as error:
                hint = ""
                if isinstance(error, ModuleNotFoundError) and os.path.isfile(f"{plugin}.py"):
                    hint = (f" (a file {plugin}.py is here: give its path, "
                            f"{os.path.join('.', plugin + '.py')})")
                raise PluginError(
                    f"plugin {plugin}: cannot be imported: {type(error).__name__}: {error}{hint}",
                    plugin=plugin,
                ) from None
            self._register(module, plugin, "module", plugin)
        else:
            name = getattr(plugin, "__name__", None) or type(plugin).__name__
            self._register(plugin, name, "object", repr(plugin))

    # --- registration hooks ---------------------------------------------------------------------

    def _register_all(self, hook: str, add: Callable[[str, Any], None]) -> None:
        """Call a registration hook, each plugin getting a ``register`` that knows who calls it;
        in registration order, so that the built-ins' types and projections come first."""
        caller = self.hooks[hook]
        order = Hook(hook, reversed(caller.implementations), caller.trace)
        order.call(register=PerPlugin(lambda plugin: partial(add, plugin)))

    def _add_event_type(self, plugin: str, event_class: Any) -> None:
        if not (isinstance(event_class, type) and issubclass(event_class, Event)):
            raise PluginError(
                f"plugin {plugin}: register_event_types got {event_class!r}, "
                "which is not a subclass of ledger.Event",
                plugin=plugin,
            )
        if getattr(event_class, "__attrs_attrs__", None) is None:  # attrs.has, without narrowing
            raise PluginError(
                f"plugin {plugin}: {event_class.__name__} is not an attrs class (@attrs.frozen)",
                plugin=plugin,
            )
        type_name = event_class.type
        if not isinstance(type_name, str) or not _TYPE_NAME.fullmatch(type_name):
            raise PluginError(
                f"plugin {plugin}: {event_class.__name__}.type must be a lowercase dotted name "
                f"like 'warrant.vested', got {type_name!r}",
                plugin=plugin,
            )
        floats = float_fields(event_class)
        if floats:
            raise PluginError(
                f"plugin {plugin}: {event_class.__name__}.{floats[0]} is a float; amounts are "
                f"exact: annotate it Decimal and make it with ledger.fields.decimal() (or "
                f"fields.usd())", plugin=plugin)
        problem = template_problem(event_class)
        if problem is not None:
            raise PluginError(f"plugin {plugin}: {event_class.__name__}.stream_template "
                              f"{event_class.stream_template!r}: {problem}", plugin=plugin)
        if type_name in self.event_types:
            raise PluginError(
                f"plugin {plugin}: event type {type_name!r} is registered already by plugin "
                f"{self.type_owners[type_name]}",
                plugin=plugin,
            )
        self.event_types[type_name] = event_class
        self.type_owners[type_name] = plugin

    def _add_projection(self, plugin: str, projection: Any) -> None:
        missing = [a for a in ("name", "handles", "initial", "apply", "summary")
                   if not hasattr(projection, a)]
        if missing:
            shown = projection.name if isinstance(getattr(projection, "name", None), str) \
                else type(projection).__name__
            raise PluginError(
                f"plugin {plugin}: projection {shown!r} lacks {', '.join(missing)} (a projection "
                "has name, handles, initial(), apply(state, event, record) and summary(state))",
                plugin=plugin,
            )
        name = projection.name
        if not isinstance(name, str) or not name or name == "as_of":
            raise PluginError(f"plugin {plugin}: projection name {name!r} is not usable", plugin=plugin)
        if name in self.projections:
            raise PluginError(
                f"plugin {plugin}: projection {name!r} is registered already by plugin "
                f"{self.projection_owners[name]}",
                plugin=plugin,
            )
        handles = [projection.handles] if isinstance(projection.handles, str) else projection.handles
        unknown = [t for t in handles if t != "*" and t not in self.event_types]
        if unknown:
            raise PluginError(
                f"plugin {plugin}: projection {name!r} handles {unknown[0]!r}, "
                "which no loaded plugin registers",
                plugin=plugin,
            )
        self.projections[name] = projection
        self.projection_owners[name] = plugin

    def _add_chart(self, plugin: str, chart: Any) -> None:
        missing = [a for a in ("name", "title", "formats", "draw") if not hasattr(chart, a)]
        if missing:
            raise PluginError(f"plugin {plugin}: chart {chart!r} lacks {', '.join(missing)}",
                              plugin=plugin)
        if not isinstance(chart.name, str) or not chart.name:
            raise PluginError(f"plugin {plugin}: chart name {chart.name!r} is not usable",
                              plugin=plugin)
        if chart.name in self.charts:
            raise PluginError(
                f"plugin {plugin}: chart {chart.name!r} is registered already by plugin "
                f"{self.chart_owners[chart.name]}", plugin=plugin)
        self.charts[chart.name] = chart
        self.chart_owners[chart.name] = plugin

    # --- calling --------------------------------------------------------------------------------

    def hook(self, name: str) -> Hook:
        """A hook's implementations, in pluggy's call order, to call (see ``ledger.hookcalls``)."""
        return self.hooks[name]

    def _hook(self, name: str) -> Hook:
        caller = getattr(self.pm.hook, name)
        implementations = []
        for impl in reversed(caller.get_hookimpls()):
            if name in _PER_PLUGIN_HOOKS and (impl.wrapper or impl.hookwrapper):
                raise PluginError(
                    f"plugin {impl.plugin_name}: {name} cannot be a wrapper; "
                    "implement it as a plain function",
                    plugin=impl.plugin_name,
                )
            types = getattr(impl.function, TYPES_ATTRIBUTE, None)
            if types is not None and name not in _PER_PLUGIN_HOOKS[:2]:
                raise PluginError(
                    f"plugin {impl.plugin_name}: @for_types applies to validate_event and "
                    f"derive_events, not to {name}", plugin=impl.plugin_name)
            implementations.append(Implementation(impl.plugin_name, name, impl.function,
                                                  tuple(impl.argnames), types))
        return Hook(name, implementations, trace=tracing())

    def _refuse_unknown_hooks(self) -> None:
        """Refuse a plugin implementing a hook that is not a gigaledger hook (a misspelling),
        found through pluggy's API: a hook caller without a specification."""
        known = set(self.hook_names())
        for name, caller in sorted(vars(self.pm.hook).items()):
            if name in known or not hasattr(caller, "get_hookimpls"):
                continue
            for impl in caller.get_hookimpls():
                raise PluginError(
                    f"plugin {impl.plugin_name}: implements {name!r}, which is not a gigaledger "
                    f"hook{did_you_mean(name, known)} (hooks: {', '.join(sorted(known))})",
                    plugin=impl.plugin_name,
                )
        self.pm.check_pending()  # nothing left: pluggy agrees

    def _refuse_unknown_routed_types(self) -> None:
        """Refuse ``@for_types`` naming a type no loaded plugin registers (a misspelling would
        otherwise switch the implementation off without a word), as a projection's ``handles``."""
        for name in _PER_PLUGIN_HOOKS[:2]:
            for implementation in self.hooks[name].implementations:
                unknown = sorted(set(implementation.types or ()) - set(self.event_types))
                if unknown:
                    raise PluginError(
                        f"plugin {implementation.plugin}: {name} has @for_types({unknown[0]!r}), "
                        f"a type no loaded plugin registers"
                        f"{did_you_mean(unknown[0], self.event_types)}",
                        plugin=implementation.plugin)

    def hook_names(self) -> list[str]:
        return sorted(n for n in dir(hookspecs) if getattr(getattr(hookspecs, n), "gigaledger_spec", None))

    def info(self) -> list[PluginInfo]:
        """Every loaded plugin, built-ins first, with where it came from and its hooks."""
        result = []
        for name, plugin in self.pm.list_name_plugin():
            source, detail = self._sources[name]
            hooks = tuple(sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or ()))
            result.append(PluginInfo(name, source, detail, hooks))
        order = {"built-in": 0, "entry point": 1, "module": 2, "file": 2, "object": 2}
        return sorted(result, key=lambda info: order[info.source])


def _validation_message(error: pluggy.PluginValidationError) -> str:
    """pluggy's refusal of an implementation, in one line; for an argument the hook does not
    have, which one it may have meant and the arguments it has."""
    message = " ".join(str(error).split())
    found = re.search(r"for hook '(\w+)'.*Argument\(s\) \{'(\w+)'", message)
    if found is None:
        return message
    spec = getattr(hookspecs, found.group(1), None)
    if spec is None:
        return message
    hook, argument = found.group(1), found.group(2)
    arguments = [name for name in inspect.signature(spec).parameters]
    return (f"{hook} declares an argument {argument!r}, which the hook does not pass"
            f"{did_you_mean(argument, arguments)} ({hook} passes: {', '.join(arguments)})")


#: The environment variable that leaves the built-in domain out (``0``) on the command line and
#: in Datasette.
BUILTINS_VARIABLE = "GIGALEDGER_BUILTINS"


def builtins_wanted() -> bool:
    """Whether ``GIGALEDGER_BUILTINS`` asks for the built-in domain: unset, ``1``, ``true``,
    ``yes``, ``on``; ``0``, ``false``, ``no``, ``off`` leave it out; anything else is refused."""
    text = os.environ.get(BUILTINS_VARIABLE, "").strip().lower()
    if text in ("", "1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise UsageError(f"{BUILTINS_VARIABLE}={text!r}: expected 0 or 1 (or false/true, no/yes, "
                     "off/on)")


def builtin_modules() -> tuple[str, ...]:
    """The dotted names of the built-in plugins' modules."""
    return tuple(importlib.import_module(BUILTIN_PACKAGE).PLUGINS)


def _import_file(path: str, name: str) -> Any:
    """Import a plugin file once per process: a second ledger loading the same path shares the
    module, so its event classes stay the same classes."""
    if not os.path.isfile(path):
        raise PluginError(f"plugin {path}: no such file", plugin=name)
    digest = hashlib.sha1(path.encode("utf-8")).hexdigest()[:12]
    module_name = f"gigaledger_plugin_{re.sub(r'[^0-9A-Za-z_]', '_', name)}_{digest}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    try:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError("not a Python file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except Exception as error:
        sys.modules.pop(module_name, None)
        raise PluginError(
            f"plugin {path}: cannot be imported: {type(error).__name__}: {error}", plugin=name
        ) from None
    return module
