"""Text for people: reports, plugin lists and log lines as aligned tables (tabulate)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import click
from tabulate import tabulate as _tabulate

from .figures import money, show  # noqa: F401  (re-exported: plugins format with them)
from .plugins import PluginInfo
from .record import Record

__all__ = ["heading", "log_line", "money", "pairs", "render_plugins", "render_report",
           "render_section", "show", "table"]


def tabulate(rows: Any, **options: Any) -> str:
    """``tabulate.tabulate``, typed."""
    return str(_tabulate(rows, **options))


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (Mapping, list, tuple))


def render_section(name: str, summary: Any) -> str:
    """One projection's summary: its scalars as ``key: value`` lines, then one table per mapping."""
    if _is_scalar(summary):
        return f"{name}: {show(summary)}"
    if isinstance(summary, list):
        summary = {"items": summary}
    lines = [heading(name)]
    blocks = []
    scalars = [(key, value) for key, value in summary.items() if _is_scalar(value)]
    if scalars:
        width = max(len(key) for key, _ in scalars)
        lines.extend(f"{key.ljust(width)}  {show(value)}" for key, value in scalars)
    for key, value in summary.items():
        if not _is_scalar(value):
            blocks.extend(_blocks(key, value))
    return "\n\n".join(["\n".join(lines), *blocks])


def _blocks(title: str, value: Any) -> list[str]:
    """Tables for a nested value; nested mappings of mappings become one table each."""
    if isinstance(value, list):
        if not value:
            return [f"{title}: none"]
        if all(isinstance(item, Mapping) for item in value):
            columns = [k for k in value[0] if all(_is_scalar(item.get(k)) for item in value)]
            rows = [[show(item.get(k)) for k in columns] for item in value]
            return [f"{title}\n{tabulate(rows, headers=columns, disable_numparse=True)}"]
        return [f"{title}: {', '.join(show(item) for item in value)}"]
    if not value:
        return [f"{title}: none"]
    if all(_is_scalar(item) for item in value.values()):
        rows = [[key, show(item)] for key, item in value.items()]
        return [f"{title}\n{tabulate(rows, tablefmt='plain', disable_numparse=True)}"]
    if all(isinstance(item, Mapping) for item in value.values()):
        keys: list[str] = []
        for item in value.values():
            keys.extend(k for k in item if _is_scalar(item[k]) and k not in keys)
        blocks = []
        if keys:
            rows = [[name, *(show(item.get(k)) for k in keys)] for name, item in value.items()]
            blocks.append(f"{title}\n{tabulate(rows, headers=['', *keys], disable_numparse=True)}")
        for name, item in value.items():
            for key, nested in item.items():
                if not _is_scalar(nested) and nested:
                    blocks.extend(_blocks(f"{title} / {name} / {key}", nested))
        return blocks
    blocks = []
    scalars = {k: v for k, v in value.items() if _is_scalar(v)}
    if scalars:
        blocks.extend(_blocks(title, scalars))
    for key, nested in value.items():
        if not _is_scalar(nested):
            blocks.extend(_blocks(f"{title} / {key}", nested))
    return blocks


def render_report(report: Mapping[str, Any], renderers: Mapping[str, Any] | None = None) -> str:
    """The whole report: ``as_of`` first (with a line saying so when scenario records were
    folded), then each projection, by its own ``render(summary)`` when it has one, else as generic
    tables."""
    renderers = renderers or {}
    as_of = report.get("as_of", {})
    head = as_of_line(as_of)
    if as_of.get("until"):
        head += f" (until {as_of['until']})"
    lines = [click.style(head, dim=True)]
    if as_of.get("scenario_records"):
        lines.append(click.style(scenario_line(as_of["scenario_records"]), fg="yellow"))
    sections = []
    for name, summary in report.items():
        if name == "as_of":
            continue
        render = renderers.get(name)
        sections.append(f"{heading(name)}\n{render(summary)}" if render else render_section(name, summary))
    return "\n\n".join(["\n".join(lines), *sections])


def as_of_line(as_of: Mapping[str, Any]) -> str:
    """``as of seq 45, latest event 2026-07-03``; when a replay as of a date left out records
    dated after it, how many of the first ``seq`` it folded, so that the seq is not read as all
    of them."""
    seq, records = as_of.get("seq", 0), as_of.get("records")
    line = f"as of seq {show(seq)}"
    if records is not None and records != seq:
        line += f" ({show(records)} of its first {show(seq)} records: those dated by then)"
    if as_of.get("occurred_at"):
        line += f", latest event {as_of['occurred_at'][:10]}"
    return line


def scenario_line(count: int) -> str:
    """What the text report says when it folded scenario records (``as_of.scenario_records``)."""
    records = "record" if count == 1 else "records"
    return (f"includes {count:,} scenario {records} (meta.scenario): these figures are partly a "
            "scenario, not reported facts")


def heading(name: str) -> str:
    """A section's title, in bold colour (``click.echo`` drops the colour off a terminal)."""
    return click.style(f"== {name} ==", fg="cyan", bold=True)


_FIGURE = re.compile(r"^(-|[-$]?[\d,.]+( [BM]| %)?)$")


def table(rows: Iterable[Iterable[Any]], headers: Iterable[str]) -> str:
    """An aligned table of scalars shown for people (see ``show``); columns of figures (amounts,
    money, percentages) are aligned right."""
    cells = [[show(v) for v in row] for row in rows]
    headers = list(headers)
    align = [
        "right" if cells and all(_FIGURE.match(row[i]) for row in cells) else "left"
        for i in range(len(headers))
    ]
    return tabulate(cells, headers=headers, disable_numparse=True, colalign=align)


def pairs(rows: Iterable[Iterable[Any]]) -> str:
    """Aligned ``name  value`` lines, without headers."""
    return tabulate([[show(v) for v in row] for row in rows], tablefmt="plain",
                    disable_numparse=True)


def render_plugins(infos: Iterable[PluginInfo]) -> str:
    rows = [[info.name, info.source, info.detail, ", ".join(info.hooks)] for info in infos]
    return tabulate(rows, headers=["plugin", "source", "from", "hooks"])


def log_line(record: Record) -> str:
    """One record on one line: seq, day, type, the event's summary, and its stream and version."""
    when = record.occurred_at.date().isoformat()
    return (f"{record.seq:>7}  {when}  {record.type:<24} {record.summary()}  "
            f"({record.stream} v{record.version})")
