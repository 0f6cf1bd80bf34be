"""What the ledger page and a record page show, read from a Ledger: plain data, no HTML.

The ledger page: the head, the verification (and how long it took), every projection's report
as the terminal shows it (read back into tables by ``blocks``), every chart a plugin draws as
SVG, and the latest records. A record page: the record, its causes and effects, and what the
plugins find (for a released tranche, the commissioning that earned it). The engine's own
functions give every figure, so the page says what ``report`` and ``explain`` say.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from typing import Any, Optional

import attrs

from ..charts import draw
from ..errors import LedgerError, VerificationError
from ..explain import Explanation
from ..ledger import Ledger
from ..record import Record
from ..replay import jsonable
from ..tables import render_section, scenario_line
from .blocks import Block, Lines, blocks

#: How many of the latest records the ledger page lists.
LATEST = 25
_PROLOGUE = re.compile(r"^.*?(?=<svg\b)", re.S)


@attrs.frozen
class Verification:
    """``verify()``'s outcome: whether it held, what it says, and how long it took."""

    ok: bool
    message: str
    seconds: float
    seq: Optional[int] = None  # the first bad seq


@attrs.frozen
class Section:
    """One projection's report: its name, and its text's blocks."""

    name: str
    blocks: list[Block]


@attrs.frozen
class Figure:
    """A chart a plugin draws: its name and title, and its SVG (or why there is none)."""

    name: str
    title: str
    svg: Optional[str] = None
    note: Optional[str] = None


@attrs.frozen
class Line:
    """A record in a list: its seq, day, type, summary, stream and version, and the plugin that
    derived it (if one did)."""

    seq: int
    day: str
    type: str
    summary: str
    stream: str
    version: int
    derived_by: Optional[str] = None


@attrs.frozen
class LedgerPage:
    """Everything the ledger page shows."""

    seq: int
    hash: str
    head_line: str  # what the page is as of: the seq and the latest event's day
    scenario_line: Optional[str]
    verification: Verification
    checkpoint: str  # the latest signed checkpoint kept in the ledger, in words
    sections: list[Section]
    figures: list[Figure]
    latest: list[Line]
    unknown_types: dict[str, int]
    report: dict[str, Any]  # as ``report --json`` prints it


@attrs.frozen
class RecordPage:
    """Everything a record page shows."""

    line: Line
    record: dict[str, Any]  # as ``export`` writes it
    causes: list[Line]
    effects: list[Line]
    findings: list[dict[str, Any]]  # label, note, plugin, lines
    explanation: dict[str, Any]  # as ``explain --json`` prints it
    head: int


def line(record: Record) -> Line:
    return Line(record.seq, record.occurred_at.date().isoformat(), record.type, record.summary(),
                record.stream, record.version, record.meta.get("derived_by"))


def ledger_page(book: Ledger) -> LedgerPage:
    """The ledger page of ``book``, at its head."""
    seq, digest = book.head()
    view = book.replay()
    if view.seq != seq:  # another process appended in between
        seq, digest = view.seq, next(iter(book.read(view.seq - 1, limit=1))).hash
    summaries = view.report()
    report = jsonable(summaries)
    as_of = report["as_of"]
    head_line = f"seq {seq:,}"  # under the page's "as of"
    if as_of.get("occurred_at"):
        head_line += f", latest event {as_of['occurred_at'][:10]}"
    scenarios = as_of.get("scenario_records") or 0
    sections = []
    for name in report:
        if name == "as_of":
            continue
        text = view.render(name, summaries[name])
        if text is None:
            text = render_section(name, report[name])
        sections.append(Section(name, _without_heading(blocks(text), name)))
    return LedgerPage(
        seq=seq, hash=digest, head_line=head_line,
        scenario_line=scenario_line(scenarios) if scenarios else None,
        verification=verification(book), checkpoint=latest_checkpoint(book, seq),
        sections=sections, figures=figures(book),
        latest=[line(record) for record in book.read(reverse=True, limit=LATEST)],
        unknown_types=dict(view.unknown_types), report=report,
    )


def latest_checkpoint(book: Ledger, seq: int) -> str:
    """The newest signed checkpoint kept in the ledger: its size, root and signers, and how many
    records the log holds beyond it; or how to make one."""
    kept = book.checkpoints()
    if not kept:
        return "none kept (gigaledger checkpoint LEDGER --key KEY signs one)"
    body, _, signatures = kept[-1].partition("\n\n")
    origin, size, root = (body.split("\n") + ["", "", ""])[:3]
    signers = [part.split(" ")[1] for part in signatures.splitlines()
               if part.startswith("\u2014 ") and len(part.split(" ")) == 3]
    text = f"{int(size):,} records, root {root}, signed by {', '.join(signers) or 'no one'}"
    beyond = seq - int(size)
    return text + (f"; the log holds {beyond:,} records more" if beyond > 0 else "") + \
        f" (origin {origin})"


def _without_heading(found: list[Block], name: str) -> list[Block]:
    """The blocks without the ``== name ==`` line the terminal prints over a section."""
    heading = f"== {name} =="
    kept: list[Block] = []
    for block in found:
        if isinstance(block, Lines):
            block = Lines([text for text in block.lines if text != heading])
            if not block.lines:
                continue
        kept.append(block)
    return kept


def verification(book: Ledger) -> Verification:
    """Verify the whole ledger, and time it."""
    start = time.perf_counter()
    try:
        count, digest = book.verify()
    except VerificationError as error:
        return Verification(False, " ".join(str(error).split()), time.perf_counter() - start,
                            error.seq)
    return Verification(True, f"ok: {count:,} records, head {digest}",
                        time.perf_counter() - start)


def figures(book: Ledger) -> list[Figure]:
    """Every chart the plugins register, drawn as SVG (a chart that cannot be says why)."""
    drawn = []
    for name, chart in book.charts.items():
        title = str(getattr(chart, "title", name))
        if "svg" not in chart.formats:
            drawn.append(Figure(name, title, note=f"the chart {name!r} is not drawn as SVG"))
            continue
        with tempfile.TemporaryDirectory(prefix="gigaledger-web-") as folder:
            path = os.path.join(folder, f"{name}.svg")
            try:
                draw(book, chart, path)
            except Exception as error:  # a plugin's chart that fails costs its figure, not the page
                why = str(error) if isinstance(error, LedgerError) else (  # not the plugin's
                    f"the chart {name!r} could not be written: {type(error).__name__}: {error}")
                drawn.append(Figure(name, title, note=" ".join(why.split())))
                continue
            with open(path, encoding="utf-8") as svg:
                drawn.append(Figure(name, title, svg=_PROLOGUE.sub("", svg.read(), count=1)))
    return drawn


def record_page(book: Ledger, key: str | int) -> RecordPage:
    """The page of the record with this seq or id: ``LedgerError`` when there is none."""
    explanation: Explanation = book.explain(key)
    findings = [
        {"label": finding.label, "note": finding.note, "plugin": finding.plugin,
         "lines": [line(record) for record in finding.records]}
        for finding in explanation.findings
    ]
    return RecordPage(
        line=line(explanation.record), record=explanation.record.to_json(),
        causes=[line(record) for record in explanation.causes],
        effects=[line(record) for record in explanation.effects],
        findings=findings, explanation=jsonable(explanation.to_json()), head=book.head()[0],
    )
