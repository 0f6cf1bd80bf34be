"""The hooks a gigaledger plugin can implement (pluggy project ``gigaledger``).

Hooks are always called with keyword arguments; an implementation may accept any subset of them.
A plugin implementing a hook that is not listed here is refused when it loads. Every call goes
through ``ledger.hookcalls`` (one path: pluggy's order, the plugin blamed for its exception,
``GIGALEDGER_TRACE_PLUGINS=1`` prints each call). ``validate_event`` and ``derive_events``
implementations may be decorated with ``@ledger.for_types("type", ...)``: they are then called
for events of those types only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from .charts import Chart
    from .event import Event
    from .explain import Finding
    from .ledger import Ledger
    from .materialize import Table
    from .record import Record
    from .replay import Projection, View

PROJECT = "gigaledger"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- Registration: once, when a ledger opens ---------------------------------------------------


@hookspec
def register_event_types(register: Callable[[type[Event]], None]) -> None:
    """Call ``register(EventClass)`` for each event class the plugin defines.

    Called once per ledger, when it opens, for every plugin. A type name registered twice, or a
    class that is not a frozen attrs subclass of ``ledger.Event``, refuses the plugin.
    """


@hookspec
def register_projections(register: Callable[[Projection], None]) -> None:
    """Call ``register(projection)`` for each projection the plugin provides.

    Called once per ledger, when it opens. A projection has ``name``, ``handles`` (event types),
    ``initial()``, ``apply(state, event, record)`` and ``summary(state)``; names are unique.
    A ``summary`` that declares a keyword parameter ``as_of`` (``summary(state, *, as_of=None)``)
    is given the view's ``ledger.AsOf`` when a report is made: its ``seq``, ``occurred_at``,
    ``until``, ``scenario_records`` and ``day``, the as-of date (the ``until`` date of a replay as
    of a date, else the date of the latest record folded; never the wall clock). A projection may
    also have ``render(summary) -> str``, its section of the text report (without it the summary
    is shown as generic tables), and ``snapshot``/``restore`` or ``state_type`` (see
    ``ledger.snapshots``).
    """


@hookspec
def register_charts(register: Callable[[Chart], None]) -> None:
    """Call ``register(chart)`` for each chart the plugin draws.

    Called once per ledger, when it opens. A chart has ``name``, ``title``, ``formats`` (file
    suffixes it writes, such as ``("png", "svg")``) and ``draw(ledger, path, *, format,
    until=None, title=None)``, which writes the figure of the ledger as of ``until`` (a date, a
    time or a seq; all of the log when None) to ``path``. ``gigaledger chart`` draws the chart
    named by ``--name`` (the first registered by default) into a temporary file renamed into
    place once complete. Names are unique.
    """


# --- The append path: every event, given or derived --------------------------------------------


@hookspec
def validate_event(event: Event, record: Record, view: View) -> None:
    """Refuse an event before it is stored by raising ``ledger.Rejected("why")``.

    Called for every event about to be appended (given or derived), with the record it would
    become and the view as of just before it. Every implementation runs until one raises; any
    exception rolls back the whole append and names the plugin. The return value is ignored.
    With ``@for_types(...)`` it is called for events of those types only.
    """


@hookspec
def derive_events(event: Event, record: Record, view: View) -> Iterable[Event] | None:
    """Return the events that follow from one just stored (or None).

    Called after each event is stored, in the same transaction, with a view that includes it.
    Each derived event is stored right after, with ``meta.causation_id`` (the cause's id),
    ``meta.derived_by`` (this plugin), a deterministic id and the cause's ``occurred_at``; it
    passes through ``validate_event`` and ``derive_events`` itself. The results of every
    implementation are appended in call order; any exception rolls back the whole append.
    With ``@for_types(...)`` it is called for events of those types only.
    """


# --- After commit -------------------------------------------------------------------------------


@hookspec
def event_appended(record: Record, view: View) -> None:
    """Observe a record once its transaction has committed (notifications, exports).

    Called for every stored record, given and derived, in seq order, with the view as of the end
    of the append. It cannot veto: an exception is reported as a warning and the record stays.
    """


# --- For people who look: read-only, called on demand ---------------------------------------------


@hookspec
def materialize_tables(ledger: Ledger, view: View) -> Iterable[Table] | None:
    """Return the plain tables (``ledger.Table``) that show this plugin's figures in SQL.

    Called once by ``Ledger.materialize()`` (``gigaledger materialize``), with the ledger (to read
    records) and the view at the seq being materialized. Every plugin's tables are written with
    the engine's own (``materialized``, ``projections``) in one transaction, each replacing the
    table of that name; a name returned twice refuses the whole materialize. It must not write.
    """


@hookspec
def explain_record(record: Record, ledger: Ledger) -> Iterable[Finding] | None:
    """Return what the plugin can say about why ``record`` is in the log (``ledger.Finding``s:
    a label, the records it points to, a note), beyond its causes and effects.

    Called by ``Ledger.explain()`` (``gigaledger explain``) for the record asked about, once per
    plugin, in call order; the findings are shown in that order. It must not write.
    """


# --- The command line ------------------------------------------------------------------------------


@hookspec
def register_commands(cli: click.Group) -> Any:
    """Add click commands to the ``gigaledger`` command line (``@cli.command()``).

    Called once when the command line starts, after plugins are loaded.
    """
