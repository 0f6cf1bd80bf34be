"""The text report as blocks for a web page: tables where the terminal shows tables, lines
where it shows lines.

A projection's ``render(summary)`` writes text for a terminal (tabulate's tables under a row of
dashes, aligned ``name  value`` lines, sentences). The web page shows the same figures, formatted
the same way ($100 B, 1.25 GW, 45.0 %), so it reads that text back: a header over a row of
dashes becomes a table whose columns are the runs of dashes; every other line stays a line.
"""

from __future__ import annotations

import re
from typing import ClassVar, Union

import attrs

_STYLE = re.compile(r"\x1b\[[0-9;]*m")  # click.style's colours
_DASHES = re.compile(r"^ *-+( +-+)* *$")
_RUN = re.compile(r"-+")


@attrs.frozen
class Lines:
    """Lines shown as they are (their alignment kept)."""

    kind: ClassVar[str] = "lines"
    lines: list[str]


@attrs.frozen
class TextTable:
    """A table of the text report: lines above it (its caption), headers, rows of cells, and
    which columns are figures (aligned right, as in the terminal)."""

    kind: ClassVar[str] = "table"
    caption: list[str]
    headers: list[str]
    rows: list[list[str]]
    right: list[bool]


Block = Union[Lines, TextTable]


def blocks(text: str) -> list[Block]:
    """The blocks of a text report, in order (paragraphs are separated by blank lines)."""
    found: list[Block] = []
    for paragraph in re.split(r"\n[ \t]*\n", _STYLE.sub("", text).strip("\n")):
        found.extend(_paragraph(paragraph.rstrip().split("\n")))
    return [block for block in found if not isinstance(block, Lines) or block.lines]


def _paragraph(lines: list[str]) -> list[Block]:
    rule = next((i for i, line in enumerate(lines) if i > 0 and _DASHES.match(line)), None)
    if rule is None:
        return [Lines([line for line in lines if line.strip()])]
    spans = [(m.start(), m.end()) for m in _RUN.finditer(lines[rule])]
    body = rule + 1
    while body < len(lines) and _fits(lines[body], spans):
        body += 1
    rows = [_cells(line, spans) for line in lines[rule + 1:body]]
    header = lines[rule - 1]
    right = [all(_ends_at(line, end) for line in (header, *lines[rule + 1:body])
                 if line[start:end].strip())
             and any(line[start:end].strip() for line in lines[rule + 1:body])
             for start, end in spans]
    table = TextTable(lines[:rule - 1], _cells(header, spans), rows, right)
    return [table, *_paragraph(lines[body:])] if body < len(lines) else [table]


def _fits(line: str, spans: list[tuple[int, int]]) -> bool:
    """Whether a line is a row of the table: nothing in the gutters, nothing past the last
    column."""
    if not line.strip() or len(line.rstrip()) > spans[-1][1]:
        return False
    edges = [0, *(edge for span in spans for edge in span)]
    return all(not line[start:end].strip() for start, end in zip(edges[::2], edges[1::2]))


def _cells(line: str, spans: list[tuple[int, int]]) -> list[str]:
    return [line[start:end].strip() for start, end in spans]


def _ends_at(line: str, end: int) -> bool:
    return len(line) >= end and line[end - 1] != " "
