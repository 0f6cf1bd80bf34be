"""The chart: one PNG or SVG figure of a ledger, drawn with matplotlib (the ``charts`` extra)."""

from __future__ import annotations

import pathlib
import struct
import sys
import xml.etree.ElementTree as ET

import matplotlib.image
import pytest

from ledger.default_plugins.chart import chart
from ledger.errors import LedgerError
from ledger.ledger import Ledger

EVENTS = pathlib.Path(__file__).resolve().parent.parent / "events"
HISTORIES = ["nvidia-openai-plan.jsonl", "openai-compute-2025-2026.jsonl"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def loaded(name: str) -> Ledger:
    book = Ledger.open()
    book.import_jsonl(EVENTS / name)
    return book


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which follows the signature."""
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("name", HISTORIES)
def test_png_of_each_shipped_history(tmp_path: pathlib.Path, name: str) -> None:
    with loaded(name) as book:
        written = chart(book, tmp_path / "chart.png")
    assert written == tmp_path / "chart.png"
    data = written.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert png_size(data) == (1200, 600)
    assert len(data) > 10_000
    image = matplotlib.image.imread(written)
    assert image.shape[:2] == (600, 1200)
    assert image.shape[2] in (3, 4)


def test_svg_is_xml_with_the_providers_as_text(tmp_path: pathlib.Path) -> None:
    with loaded("nvidia-openai-plan.jsonl") as book:
        written = chart(book, str(tmp_path / "chart.svg"), title="the plan")
    root = ET.parse(written).getroot()
    assert root.tag.endswith("svg")
    texts = {"".join(e.itertext()).strip() for e in root.iter() if e.tag.endswith("text")}
    for provider in ("oracle", "microsoft", "coreweave", "sb-energy", "softbank"):
        assert provider in texts
    assert "the plan" in texts
    assert "45.0 %  (4.5 GW)" in texts  # the report's share and gigawatts


def test_until_draws_an_earlier_state(tmp_path: pathlib.Path) -> None:
    with loaded("nvidia-openai-plan.jsonl") as book:
        full = chart(book, tmp_path / "full.png").read_bytes()
        earlier = chart(book, tmp_path / "earlier.png", until="2027-12-31").read_bytes()
        svg = chart(book, tmp_path / "earlier.svg", until="2027-12-31").read_text(encoding="utf-8")
    assert png_size(earlier) == (1200, 600)
    assert earlier != full
    assert "as of 2027-12-31" in svg
    assert "softbank" not in svg  # its first gigawatts come in 2028


def test_until_before_any_capacity(tmp_path: pathlib.Path) -> None:
    with loaded("openai-compute-2025-2026.jsonl") as book:
        svg = chart(book, tmp_path / "early.svg", until="2025-06-30").read_text(encoding="utf-8")
    assert "no capacity commissioned" in svg


def test_empty_ledger(tmp_path: pathlib.Path) -> None:
    with Ledger.open() as book:
        data = chart(book, tmp_path / "empty.png").read_bytes()
        svg = chart(book, tmp_path / "empty.svg").read_text(encoding="utf-8")
    assert png_size(data) == (1200, 600)
    assert "no capacity commissioned" in svg
    assert "no events" in svg


def test_title_names_the_database_file(tmp_path: pathlib.Path) -> None:
    with Ledger.open(tmp_path / "build-out.db") as book:
        book.import_jsonl(EVENTS / "openai-compute-2025-2026.jsonl")
        svg = chart(book, tmp_path / "chart.svg").read_text(encoding="utf-8")
    assert "gigaledger — build-out.db as of 2026-04-15" in svg


@pytest.mark.parametrize("suffix", [".pdf", ".jpg", ""])
def test_unknown_format(tmp_path: pathlib.Path, suffix: str) -> None:
    output = tmp_path / f"chart{suffix}"
    with Ledger.open() as book, pytest.raises(LedgerError) as raised:
        chart(book, output)
    assert str(raised.value) == f"{output}: the chart 'capacity' is written as .png or .svg"
    assert not output.exists()


def test_without_matplotlib(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with Ledger.open() as book, pytest.raises(LedgerError, match=r"gigaledger\[charts\]"):
        chart(book, tmp_path / "chart.png")
    assert not (tmp_path / "chart.png").exists()


@pytest.mark.parametrize("name", HISTORIES)
def test_planned_capacity_is_a_dashed_line_beside_commissioned(tmp_path: pathlib.Path, name: str) -> None:
    with loaded(name) as book:
        svg = chart(book, tmp_path / "chart.svg").read_text(encoding="utf-8")
    assert "planned GW, cumulative by due date" in svg
    root = ET.parse(tmp_path / "chart.svg").getroot()
    dashed = [e for e in root.iter() if e.tag.endswith("path")
              and "stroke-dasharray" in (e.get("style") or "") and "#696969" in (e.get("style") or "")]
    assert dashed  # dimgray, dashed: the planned line (and its legend sample)


def test_until_a_year_draws_the_plan_as_of_its_last_day(tmp_path: pathlib.Path) -> None:
    with loaded("openai-compute-2025-2026.jsonl") as book:
        svg = chart(book, tmp_path / "year.svg", until="2025").read_text(encoding="utf-8")
    assert "as of 2025-12-31" in svg
    assert "planned GW, cumulative by due date" in svg  # the plans made in 2025


def test_no_plans_no_planned_line(tmp_path: pathlib.Path) -> None:
    with loaded("openai-compute-2025-2026.jsonl") as book:  # money moved, nothing planned yet
        svg = chart(book, tmp_path / "early.svg", until="2025-05-01").read_text(encoding="utf-8")
    assert "investment released ($B, right)" in svg and "planned GW" not in svg


def test_a_chart_partly_of_a_scenario_says_so(tmp_path: pathlib.Path) -> None:
    """As the text report does: the plan's scenario records folded are named under the chart;
    a history of reported facts only, or a part of the plan without any, has no such line."""
    with loaded("nvidia-openai-plan.jsonl") as book:
        plan = chart(book, tmp_path / "plan.svg").read_text(encoding="utf-8")
        until = chart(book, tmp_path / "early.svg", until="2025-12-31").read_text(encoding="utf-8")
        first = chart(book, tmp_path / "first.svg", until=1).read_text(encoding="utf-8")
    with loaded("openai-compute-2025-2026.jsonl") as book:
        real = chart(book, tmp_path / "real.svg").read_text(encoding="utf-8")
    assert "includes 40 scenario records (meta.scenario)" in plan
    assert "includes 8 scenario records (meta.scenario)" in until  # as report --until says
    assert "scenario" not in real and "scenario" not in first  # seq 1: a reported agreement

