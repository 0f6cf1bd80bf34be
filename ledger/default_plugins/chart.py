"""One figure of a ledger: commissioned gigawatts by provider and money released, over time.

The main panel stacks each provider's net commissioned GW (a step: a figure holds until the next
event changes it) up to the as-of date, beside a dashed line of the planned GW, cumulative by due
date (the plans in force, as the pipeline keeps them, which may run past the as-of date), with the
cumulative investment released, in $ billions, on a second axis. A narrower panel shows the
provider mix at the end, as the report gives it.

matplotlib is optional (``pip install 'gigaledger[charts]'``); it is imported only here, and
used without pyplot, so drawing a chart touches no global state. Amounts stay ``Decimal`` until
they are handed to matplotlib.
"""

from __future__ import annotations

import os
import pathlib
import textwrap
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..charts import draw
from ..clock import parse_time, until_day
from ..errors import LedgerError
from ..hookspecs import hookimpl
from ..shares import percentages
from ..tables import scenario_line
from .provider_mix import unquantified_note
from .timeline import Timeline, timeline

if TYPE_CHECKING:
    from ..ledger import Ledger

FORMATS = ("png", "svg")
SIZE = (12.0, 6.0)  # inches
DPI = 100  # so a PNG is 1200 x 600 pixels
BILLION = Decimal(10) ** 9
INVESTMENT_COLOUR = "black"
PLANNED_COLOUR = "dimgray"
CAVEAT_WIDTH = 44  # characters a line under the mix panel


class CapacityChart:
    """The built-in domain's chart (``register_charts``): capacity by provider over time, planned
    capacity, investment released, and the provider mix at the end."""

    name = "capacity"
    title = "Net commissioned capacity, investment released and the provider mix"
    formats: tuple[str, ...] = FORMATS

    def draw(self, ledger: Ledger, path: str, *, format: str, until: Any = None,
             title: str | None = None) -> None:
        _draw(ledger, path, format, until, title)


CHART = CapacityChart()


@hookimpl
def register_charts(register):
    register(CHART)


def chart(
    book: Ledger,
    output: str | os.PathLike[str],
    *,
    until: str | int | None = None,
    title: str | None = None,
) -> pathlib.Path:
    """Draw ``book`` (as of ``until``, a date, a time or a seq; the whole log when None) to
    ``output``, a ``.png`` or ``.svg`` file, whole or not at all, and return its path."""
    return draw(book, CHART, output, until=until, title=title)


def _draw(book: Ledger, path: str, format: str, until: Any, title: str | None) -> None:
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:
        raise LedgerError("the chart needs matplotlib: pip install 'gigaledger[charts]'") from None

    report = book.replay(until=until).report()
    mix = report["provider_mix"]["commissioned_gigawatts"]
    line = timeline(book, until)
    end = _as_of(until, report["as_of"]["occurred_at"])
    name = os.path.basename(book.path) if book.path else "ledger"
    if title is None:
        title = f"gigaledger — {name} " + (f"as of {end}" if end else "(no events)")

    providers = line.providers + sorted(set(mix["by_provider"]) - set(line.providers))
    palette = matplotlib.colormaps["tab10" if len(providers) <= 10 else "tab20"]
    colours = {p: palette(i % palette.N) for i, p in enumerate(providers)}

    figure = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    left, right = figure.subplots(1, 2, gridspec_kw={"width_ratios": [5, 2]})
    figure.suptitle(title, fontsize=14, fontweight="bold")
    scenarios = report["as_of"].get("scenario_records", 0)
    if scenarios:  # as the text report says it: a figure partly a scenario is marked as such
        figure.supxlabel(scenario_line(scenarios), fontsize=10, color="#a04000")
    _draw_timeline(left, line, providers, colours, end)
    _draw_mix(right, mix, providers, colours, end)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "gigaledger"}):
        figure.savefig(path, format=format, dpi=DPI, metadata={"Date": None})


def _as_of(until: str | int | None, last: str | None) -> date | None:
    """The day the chart stands at: the last day ``until`` covers (a date; a seq stands at the
    last event's day), else the last event's (None for an empty log)."""
    if until is not None and not isinstance(until, int):
        return until_day(until)
    return None if last is None else parse_time(last).date()


def _draw_timeline(
    ax: Any, line: Timeline, providers: list[str], colours: dict[str, Any], end: date | None
) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    ax.set_title("Net commissioned capacity, planned capacity and investment released")
    ax.set_ylabel("Net commissioned and planned capacity (GW)")
    ax.grid(axis="y", alpha=0.3)
    days = line.days
    if end is not None and (not days or end > days[-1]):
        days.append(end)
    if days:
        first, last = min([days[0], *dues(line)]), max([days[-1], *dues(line)])
        pad = timedelta(days=max(7, (last - first).days // 40))
        # One more point, so that the last figures hold for a visible stretch; when the plans
        # run past the as-of date (a dotted line marks it), only to the end of that day: the
        # figures are not drawn beyond what the chart stands at.
        days.append(days[-1] + (pad if end is None or end >= last else timedelta(days=1)))
        last = max(days[-1], last + pad)
        ax.set_xlim(first - pad, last)
    else:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.text(0.5, 0.5, "no capacity commissioned\nno investment released",
                ha="center", va="center", transform=ax.transAxes, color="grey", fontsize=12)
        return
    handles: list[Any] = []
    top = Decimal(0)
    if line.capacity:
        series = line.capacity_series(days, providers)
        stacks = [[float(gigawatts) for gigawatts in series[p]] for p in providers]
        handles = ax.stackplot(days, stacks, labels=providers, step="post", alpha=0.85,
                               colors=[colours[p] for p in providers])
        top = max(sum((series[p][i] for p in providers), Decimal(0)) for i in range(len(days)))
    else:
        ax.text(0.5, 0.5, "no capacity commissioned", ha="center", va="center",
                transform=ax.transAxes, color="grey", fontsize=12)
    if line.planned:
        plan_days = sorted({first, *dues(line), last})
        planned = line.planned_series(plan_days)
        handles += ax.step(plan_days, [float(gigawatts) for gigawatts in planned], where="post",
                           color=PLANNED_COLOUR, linewidth=2, linestyle="--",
                           label="planned GW, cumulative by due date")
        top = max(top, planned[-1])
        if end is not None and end < dues(line)[-1]:  # the plans run past the as-of date
            ax.axvline(end, color=PLANNED_COLOUR, linestyle=":", linewidth=1)
    ax.set_ylim(0, float(top) * 1.3 or 1)
    if line.releases:
        money = ax.twinx()
        released = [float(usd / BILLION) for usd in line.released_series(days)]
        handles += money.step(days, released, where="post", color=INVESTMENT_COLOUR,
                              linewidth=2, label="investment released ($B, right)")
        money.set_ylim(0, max(released) * 1.15 or 1)
        money.set_ylabel("Investment released, cumulative ($B)")
    else:
        ax.text(0.99, 0.97, "no investment released", ha="right", va="top",
                transform=ax.transAxes, color="grey")
    if handles:
        ax.legend(handles=handles, loc="upper left", fontsize=9, framealpha=0.9)
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def dues(line: Timeline) -> list[date]:
    """The due dates of the plans in force, earliest first."""
    return [step.due for step in line.planned]


def _draw_mix(
    ax: Any, mix: dict[str, Any], providers: list[str], colours: dict[str, Any], end: date | None
) -> None:
    ax.set_title(f"Provider mix{f' on {end}' if end else ''}\n% of net commissioned GW")
    shares = {p: Decimal(s) for p, s in mix["by_provider"].items()}
    # as the report says it: a share of 100 % is of the published figures, not of all there is
    caveat = textwrap.fill(unquantified_note(mix.get("unquantified_providers", [])), CAVEAT_WIDTH)
    if not shares:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no capacity commissioned" if not caveat else
                f"no amount of capacity published\n\n{caveat}", ha="center", va="center",
                transform=ax.transAxes, color="grey", fontsize=12 if not caveat else 9)
        return
    names = [p for p in providers if p in shares]
    percents = [shares[p] * 100 for p in names]
    # The labels, to one decimal, add up to exactly 100.0 % like the report's.
    labels = percentages({p: Decimal(mix["gigawatts_by_provider"][p]) for p in names})
    ax.barh(names, [float(x) for x in percents], height=0.6, color=[colours[p] for p in names])
    ax.set_ylim(max(len(names), 5) - 0.5, -0.5)  # largest on top, as in the legend; thin bars
    for row, (name, percent) in enumerate(zip(names, percents)):
        gigawatts = mix["gigawatts_by_provider"].get(name, "0")
        ax.text(float(percent) + 2, row, f"{labels[name]}  ({gigawatts} GW)",
                va="center", fontsize=9)
    ax.set_xlim(0, 160)  # room for the labels
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.spines["bottom"].set_bounds(0, 100)
    ax.set_xlabel("share (%)" + (f"\n\n{caveat}" if caveat else ""))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
