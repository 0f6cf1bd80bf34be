"""The chart: one PNG or SVG figure of a ledger, drawn with matplotlib (the ``charts`` extra)."""

from __future__ import annotations

import os
import pathlib
import stat
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
    previous = os.umask(0o022)
    try:
        with loaded(name) as book:
            written = chart(book, tmp_path / "chart.png")
    finally:
        os.umask(previous)
    assert written == tmp_path / "chart.png"
    assert stat.S_IMODE(written.stat().st_mode) == 0o644  # as a new file, not the temporary's 0o600
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
    assert "includes 51 scenario records (meta.scenario)" in plan
    assert "includes 9 scenario records (meta.scenario)" in until  # as report --until says
    assert "scenario" not in real
    assert "includes 1 scenario record (meta.scenario)" in first  # seq 1: the agreement, as if binding



# --- the drawing itself, hand-worked: what each panel shows, read back from matplotlib's artists ---

from datetime import date  # noqa: E402
from decimal import Decimal  # noqa: E402

import matplotlib.dates  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ledger.default_plugins import chart as chart_module  # noqa: E402
from ledger.default_plugins.timeline import CapacityChange, PlannedStep, Release, Timeline  # noqa: E402

D = Decimal


def small_timeline() -> Timeline:
    """oracle 1.5 GW on 1 Jan 2026, coreweave 0.5 on 1 Mar, oracle down to 1.0 on 1 May; $10 B
    released on 1 Feb and $5 B on 1 Apr; 1 GW planned by 1 Jun 2026 and 2 more by 1 Jan 2027."""
    return Timeline(
        capacity=[CapacityChange(date(2026, 1, 1), "oracle", D("1.5"), D("1.5")),
                  CapacityChange(date(2026, 3, 1), "coreweave", D("0.5"), D("0.5")),
                  CapacityChange(date(2026, 5, 1), "oracle", D("-0.5"), D("1.0"))],
        releases=[Release(date(2026, 2, 1), D("10e9"), D("10e9")),
                  Release(date(2026, 4, 1), D("5e9"), D("15e9"))],
        planned=[PlannedStep(date(2026, 6, 1), D("1"), D("1")),
                 PlannedStep(date(2027, 1, 1), D("2"), D("3"))])


def texts_of(ax: object) -> list[tuple[str, str, str, tuple[float, ...], float, bool]]:
    """Each text drawn on an axes: words, alignment, colour, size, placed in axes fractions."""
    return [(t.get_text(), t.get_ha(), t.get_va(), to_rgba(t.get_color()), t.get_fontsize(),
             t.get_transform() == ax.transAxes) for t in ax.texts]  # type: ignore[attr-defined]


def days_of(values: object) -> list[date]:
    return [matplotlib.dates.num2date(x).date() for x in values]  # type: ignore[attr-defined]


def test_the_capacity_panel_hand_worked() -> None:
    """The stacked steps, the planned line and the money line of a small timeline, figure by
    figure: the x range runs from the first day to the last due date with a pad of a fortieth of
    the span (at least 7 days) on each side; the y range is 1.3 times the highest of the stacked
    and planned gigawatts; the money axis 1.15 times the money released in all."""
    figure = Figure()
    ax = figure.add_subplot()
    line = small_timeline()
    colours = {"oracle": "red", "coreweave": "blue"}
    assert line.providers == ["oracle", "coreweave"]
    chart_module._draw_timeline(ax, line, line.providers, colours, date(2026, 5, 1))

    assert ax.get_title() == "Net commissioned capacity, planned capacity and investment released"
    assert ax.get_ylabel() == "Net commissioned and planned capacity (GW)"
    assert all(tick.gridline.get_visible() for tick in ax.yaxis.get_major_ticks())
    assert not any(tick.gridline.get_visible() for tick in ax.xaxis.get_major_ticks())
    assert ax.yaxis.get_major_ticks()[0].gridline.get_alpha() == 0.3
    # 365 days from 1 Jan 2026 to 1 Jan 2027: a pad of 9 days
    assert days_of(ax.get_xlim()) == [date(2025, 12, 23), date(2027, 1, 10)]
    assert ax.get_ylim() == pytest.approx((0, 3 * 1.3))  # the plan's 3 GW is the highest

    oracle, coreweave = ax.collections
    assert (oracle.get_label(), coreweave.get_label()) == ("oracle", "coreweave")
    assert tuple(oracle.get_facecolor()[0]) == (1, 0, 0, 0.85)
    assert tuple(coreweave.get_facecolor()[0]) == (0, 0, 1, 0.85)
    heights = {round(y, 6) for y in oracle.get_paths()[0].vertices[:, 1]}
    assert heights == {0, 1.0, 1.5}  # oracle alone: 1.5 GW, then 1.0 from 1 May
    heights = {round(y, 6) for y in coreweave.get_paths()[0].vertices[:, 1]}
    assert heights == {1.0, 1.5, 2.0}  # on top of oracle: 0.5 GW from 1 March
    xs = days_of(oracle.get_paths()[0].vertices[:, 0])
    # to the end of the as-of day (the plans run past it: the figures stop at its line)
    assert (min(xs), max(xs)) == (date(2026, 1, 1), date(2026, 5, 2))

    planned, as_of = ax.lines
    assert planned.get_label() == "planned GW, cumulative by due date"
    assert list(planned.get_xdata()) == [date(2026, 1, 1), date(2026, 6, 1), date(2027, 1, 1),
                                         date(2027, 1, 10)]
    assert list(planned.get_ydata()) == [0, 1, 3, 3]
    assert (planned.get_drawstyle(), planned.get_linestyle()) == ("steps-post", "--")
    assert (to_rgba(planned.get_color()), planned.get_linewidth()) == (to_rgba("dimgray"), 2)
    # the plans run past the as-of date: a dotted line marks it
    assert list(as_of.get_xdata()) == [date(2026, 5, 1)] * 2
    assert (as_of.get_linestyle(), as_of.get_linewidth()) == (":", 1)
    assert to_rgba(as_of.get_color()) == to_rgba("dimgray")

    left, money = figure.axes
    assert left is ax
    (released,) = money.lines
    assert released.get_label() == "investment released ($B, right)"
    assert list(released.get_xdata()) == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1),
                                          date(2026, 4, 1), date(2026, 5, 1), date(2026, 5, 2)]
    assert list(released.get_ydata()) == [0, 10, 10, 15, 15, 15]
    assert released.get_drawstyle() == "steps-post"
    assert (to_rgba(released.get_color()), released.get_linewidth()) == (to_rgba("black"), 2)
    assert money.get_ylim() == pytest.approx((0, 15 * 1.15))
    assert money.get_ylabel() == "Investment released, cumulative ($B)"

    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [
        "oracle", "coreweave", "planned GW, cumulative by due date",
        "investment released ($B, right)"]
    assert legend._loc == 2  # upper left
    assert legend.get_texts()[0].get_fontsize() == 9
    assert legend.get_frame().get_alpha() == 0.9
    assert isinstance(ax.xaxis.get_major_locator(), matplotlib.dates.AutoDateLocator)
    assert isinstance(ax.xaxis.get_major_formatter(), matplotlib.dates.ConciseDateFormatter)
    assert ax.xaxis.get_major_formatter()._locator is ax.xaxis.get_major_locator()
    assert texts_of(ax) == []


def test_the_capacity_panel_as_of_a_day_after_the_last_event_and_the_last_due_date() -> None:
    """An as-of day after every event and every due date: the steps run to it (and a pad past
    it), no dotted as-of line (no plan runs past it); a short span pads by 7 days."""
    figure = Figure()
    ax = figure.add_subplot()
    line = Timeline(capacity=[CapacityChange(date(2026, 1, 1), "oracle", D("1"), D("1"))],
                    releases=[], planned=[PlannedStep(date(2026, 1, 20), D("2"), D("2"))])
    chart_module._draw_timeline(ax, line, ["oracle"], {"oracle": "red"}, date(2026, 2, 1))
    assert days_of(ax.get_xlim()) == [date(2025, 12, 25), date(2026, 2, 8)]
    (planned,) = ax.lines  # no as-of line
    assert list(planned.get_xdata()) == [date(2026, 1, 1), date(2026, 1, 20), date(2026, 2, 8)]
    assert list(planned.get_ydata()) == [0, 2, 2]
    assert ax.get_ylim() == pytest.approx((0, 2 * 1.3))
    xs = days_of(ax.collections[0].get_paths()[0].vertices[:, 0])
    assert (min(xs), max(xs)) == (date(2026, 1, 1), date(2026, 2, 8))
    assert len(figure.axes) == 1  # no money axis without money released
    assert texts_of(ax) == [("no investment released", "right", "top", to_rgba("grey"), 10.0, True)]
    assert ax.texts[0].get_position() == (0.99, 0.97)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "oracle", "planned GW, cumulative by due date"]


def test_the_capacity_panel_with_money_but_no_capacity_and_with_nothing() -> None:
    figure = Figure()
    ax = figure.add_subplot()
    line = Timeline(capacity=[], releases=[Release(date(2026, 1, 1), D("2e9"), D("2e9"))])
    chart_module._draw_timeline(ax, line, [], {}, None)
    assert texts_of(ax) == [("no capacity commissioned", "center", "center", to_rgba("grey"),
                             12.0, True)]
    assert ax.texts[0].get_position() == (0.5, 0.5)
    assert ax.get_ylim() == (0, 1)  # nothing stacked, nothing planned
    assert figure.axes[1].get_ylim() == pytest.approx((0, 2 * 1.15))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "investment released ($B, right)"]

    figure = Figure()
    ax = figure.add_subplot()
    chart_module._draw_timeline(ax, Timeline(capacity=[], releases=[]), [], {}, None)
    assert texts_of(ax) == [("no capacity commissioned\nno investment released", "center",
                             "center", to_rgba("grey"), 12.0, True)]
    assert ax.texts[0].get_position() == (0.5, 0.5)
    assert list(ax.get_xticks()) == [] and list(ax.get_yticks()) == []
    assert ax.get_legend() is None and len(figure.axes) == 1


def test_the_mix_panel_hand_worked() -> None:
    """The bars are the shares in percent, largest on top; each is labelled with the report's
    share to one decimal (adding up to 100.0) and its gigawatts."""
    figure = Figure()
    ax = figure.add_subplot()
    mix = {"by_provider": {"oracle": "0.5", "coreweave": "0.25", "aws": "0.25"},
           "gigawatts_by_provider": {"oracle": "2", "coreweave": "1", "aws": "1"}}
    colours = {"oracle": "red", "coreweave": "blue", "aws": "green"}
    chart_module._draw_mix(ax, mix, ["oracle", "aws", "coreweave"], colours, date(2026, 5, 1))
    assert ax.get_title() == "Provider mix on 2026-05-01\n% of net commissioned GW"
    bars = ax.patches
    assert [bar.get_width() for bar in bars] == [50, 25, 25]
    assert [bar.get_height() for bar in bars] == pytest.approx([0.6] * 3)
    assert [to_rgba(bar.get_facecolor()) for bar in bars] == [to_rgba(c) for c in
                                                              ("red", "green", "blue")]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["oracle", "aws", "coreweave"]
    assert ax.get_ylim() == (4.5, -0.5)  # room for five bars, the first on top
    labels = [(t.get_text(), t.get_position(), t.get_va(), t.get_fontsize()) for t in ax.texts]
    assert labels == [("50.0 %  (2 GW)", (52, 0), "center", 9), ("25.0 %  (1 GW)", (27, 1),
                                                                 "center", 9),
                      ("25.0 %  (1 GW)", (27, 2), "center", 9)]
    assert ax.get_xlim() == (0, 160)
    assert list(ax.get_xticks()) == [0, 25, 50, 75, 100]
    assert ax.spines["bottom"].get_bounds() == (0, 100)
    assert ax.get_xlabel() == "share (%)"
    assert [ax.spines[s].get_visible() for s in ("top", "right", "bottom", "left")] == [
        False, False, True, True]


def test_the_mix_panel_of_nothing_and_of_many_providers() -> None:
    figure = Figure()
    ax = figure.add_subplot()
    chart_module._draw_mix(ax, {"by_provider": {}, "gigawatts_by_provider": {}}, [], {}, None)
    assert ax.get_title() == "Provider mix\n% of net commissioned GW"
    assert not ax.axison
    assert texts_of(ax) == [("no capacity commissioned", "center", "center", to_rgba("grey"),
                             12.0, True)]
    assert ax.texts[0].get_position() == (0.5, 0.5)

    names = [f"p{i:02}" for i in range(7)]
    figure = Figure()
    ax = figure.add_subplot()
    mix = {"by_provider": dict.fromkeys(names, "0.1428571428571428571428571429"),
           "gigawatts_by_provider": dict.fromkeys(names, "1")}
    chart_module._draw_mix(ax, mix, names, dict.fromkeys(names, "red"), None)
    assert ax.get_ylim() == (6.5, -0.5)  # seven bars: no room left over
    shown = [t.get_text().split()[0] for t in ax.texts]
    assert sum(Decimal(s) for s in shown) == 100  # the largest remainders get the tenths


def drawn_figure(monkeypatch: pytest.MonkeyPatch) -> list[Figure]:
    """Keep each figure ``chart`` saves, to look into it."""
    figures: list[Figure] = []
    save = Figure.savefig

    def keep(self: Figure, *args: object, **kwargs: object) -> None:
        figures.append(self)
        save(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    return figures


def test_the_figure_its_title_its_panels_and_its_colours(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    figures = drawn_figure(monkeypatch)
    with loaded("nvidia-openai-plan.jsonl") as book:
        chart(book, tmp_path / "plan.png")
        report = book.replay().report()
    (figure,) = figures
    assert tuple(figure.get_size_inches()) == (12, 6) and figure.dpi == 100
    assert figure.get_layout_engine().__class__.__name__ == "ConstrainedLayoutEngine"
    assert figure._suptitle.get_text().startswith("gigaledger — ledger as of ")
    assert (figure._suptitle.get_fontsize(), figure._suptitle.get_fontweight()) == (14, "bold")
    assert figure._supxlabel.get_text() == ("includes 51 scenario records (meta.scenario): these "
                                            "figures are partly a scenario, not reported facts")
    assert figure._supxlabel.get_fontsize() == 10
    assert to_rgba(figure._supxlabel.get_color()) == to_rgba("#a04000")
    left, right, *money = figure.axes
    assert len(money) == 1  # the twin axis of money released
    width = left.get_position().width / right.get_position().width
    assert 2 < width < 3  # 5 to 2
    providers = [c.get_label() for c in left.collections]
    palette = matplotlib.colormaps["tab10"]
    assert [tuple(c.get_facecolor()[0][:3]) for c in left.collections] == [
        palette(i)[:3] for i in range(len(providers))]
    mix = report["provider_mix"]["commissioned_gigawatts"]["by_provider"]
    assert [t.get_text() for t in right.get_yticklabels()] == [p for p in providers if p in mix]


@pytest.mark.parametrize(("count", "palette_name"), [(10, "tab10"), (11, "tab20")])
def test_more_than_ten_providers_take_twenty_colours(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, count: int,
        palette_name: str) -> None:
    figures = drawn_figure(monkeypatch)
    with Ledger.open() as book:
        for i in range(count):
            book.append(book.event_from("capacity.commissioned", {
                "site": f"site-{i}", "provider": f"provider-{i:02}", "vendor": "nvidia",
                "platform": "gb200", "gigawatts": str(count - i)}),
                occurred_at=f"2026-01-{i + 1:02}")
        chart(book, tmp_path / "many.svg")
    (figure,) = figures
    colours = [tuple(c.get_facecolor()[0][:3]) for c in figure.axes[0].collections]
    palette = matplotlib.colormaps[palette_name]
    assert colours == [palette(i)[:3] for i in range(count)]
    assert len(set(colours)) == count


def test_the_mix_says_when_others_run_capacity_of_no_published_amount(tmp_path: pathlib.Path) -> None:
    """As the report does: a share of 100 % is of the published figures only, and the chart says
    who else runs capacity (the reported history: Microsoft and CoreWeave, amounts unpublished)."""
    caveat = ("also running, amounts not published: coreweave, microsoft — the shares cover "
              "published figures only")
    figure = Figure()
    ax = figure.add_subplot()
    mix = {"by_provider": {"oracle": "1"}, "gigawatts_by_provider": {"oracle": "0.3"},
           "unquantified_providers": ["coreweave", "microsoft"]}
    chart_module._draw_mix(ax, mix, ["oracle"], {"oracle": "red"}, None)
    label = ax.get_xlabel()
    assert label.startswith("share (%)\n\n") and " ".join(label.split()[2:]) == caveat
    assert max(len(line) for line in label.splitlines()) <= chart_module.CAVEAT_WIDTH

    figure = Figure()
    ax = figure.add_subplot()
    mix = {"by_provider": {}, "gigawatts_by_provider": {},
           "unquantified_providers": ["coreweave"]}
    chart_module._draw_mix(ax, mix, [], {}, None)
    (text,) = ax.texts
    assert text.get_text().startswith("no amount of capacity published\n\n")
    assert " ".join(text.get_text().split()[5:]) == caveat.replace("coreweave, microsoft",
                                                                   "coreweave")
    assert text.get_fontsize() == 9

    with loaded("openai-compute-2025-2026.jsonl") as book:
        svg = chart(book, tmp_path / "real.svg").read_text(encoding="utf-8")
    root = ET.parse(tmp_path / "real.svg").getroot()
    words = " ".join(" ".join(e.itertext()) for e in root.iter() if e.tag.endswith("text"))
    assert caveat in " ".join(words.split())
    assert "also running" in svg


def test_the_steps_hold_until_the_next_change() -> None:
    """A step, not a slope: oracle's 1.5 GW holds up to 1 May, then drops to 1.0 at once."""
    figure = Figure()
    ax = figure.add_subplot()
    line = small_timeline()
    chart_module._draw_timeline(ax, line, line.providers, {"oracle": "r", "coreweave": "b"}, None)
    corners = {(day, round(y, 6)) for day, y in zip(
        days_of(ax.collections[0].get_paths()[0].vertices[:, 0]),
        ax.collections[0].get_paths()[0].vertices[:, 1])}
    assert {(date(2026, 5, 1), 1.5), (date(2026, 5, 1), 1.0), (date(2026, 3, 1), 1.5)} <= corners
    assert (date(2026, 4, 1), 1.25) not in corners  # no point half-way down a slope


@pytest.mark.parametrize(("capacity", "plans", "top"), [
    ("2", [], 2),  # the stack alone sets the range
    (None, [("2026-03-01", "2")], 2),  # the plan alone, from zero
])
def test_the_capacity_range_starts_at_zero_and_fits_what_is_drawn(capacity, plans, top) -> None:
    figure = Figure()
    ax = figure.add_subplot()
    changes = [CapacityChange(date(2026, 1, 1), "oracle", D(capacity), D(capacity))] if capacity else []
    steps, total = [], D(0)
    for due, gigawatts in plans:
        total += D(gigawatts)
        steps.append(PlannedStep(date.fromisoformat(due), D(gigawatts), total))
    releases = [] if capacity else [Release(date(2026, 1, 1), D("1e9"), D("1e9"))]
    line = Timeline(capacity=changes, releases=releases, planned=steps)
    chart_module._draw_timeline(ax, line, line.providers, {"oracle": "red"}, date(2026, 3, 1))
    assert ax.get_ylim() == pytest.approx((0, top * 1.3))
    # as of the last due date itself: no plan runs past it, no dotted line
    assert all(line.get_linestyle() != ":" for line in ax.lines)


def test_the_figure_drawn_as_of_a_date_marks_it_and_names_it(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As of a day on which nothing happened (the plan's last event before 2028-05-15 is of
    2028-03-31): the title, the mix and the dotted line stand at that day, not at the event's."""
    figures = drawn_figure(monkeypatch)
    with loaded("nvidia-openai-plan.jsonl") as book:
        assert [r.occurred_at.date() for r in book.read(until="2028-05-15")][-1] < date(2028, 5, 15)
        svg = chart(book, tmp_path / "q1.svg", until="2028-05-15").read_text(encoding="utf-8")
    (figure,) = figures
    left, right, *_ = figure.axes
    assert figure._suptitle.get_text() == "gigaledger — ledger as of 2028-05-15"
    assert right.get_title().startswith("Provider mix on 2028-05-15\n")
    dotted = [line for line in left.lines if line.get_linestyle() == ":"]
    assert [list(line.get_xdata()) for line in dotted] == [[date(2028, 5, 15)] * 2]
    assert "<dc:date>" not in svg  # no time of drawing: the same ledger draws the same bytes


def test_the_title_of_an_empty_ledger_and_the_message_without_matplotlib(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    figures = drawn_figure(monkeypatch)
    with Ledger.open() as book:
        chart(book, tmp_path / "empty.png")
    assert figures[0]._suptitle.get_text() == "gigaledger — ledger (no events)"
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with Ledger.open() as book, pytest.raises(LedgerError) as raised:
        chart(book, tmp_path / "chart.png")
    assert str(raised.value) == "the chart needs matplotlib: pip install 'gigaledger[charts]'"


def test_the_chart_is_the_same_size_and_lettering_whatever_matplotlibrc_says(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    figures = drawn_figure(monkeypatch)
    with matplotlib.rc_context({"figure.dpi": 50, "savefig.dpi": 50, "font.size": 14}):
        with loaded("nvidia-openai-plan.jsonl") as book:
            data = chart(book, tmp_path / "plan.png").read_bytes()
    assert png_size(data) == (1200, 600)
    assert figures[0]._supxlabel.get_fontsize() == 10


def test_more_than_twenty_providers_wrap_round_the_twenty_colours(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    figures = drawn_figure(monkeypatch)
    with Ledger.open() as book:
        for i in range(21):
            book.append(book.event_from("capacity.commissioned", {
                "site": f"site-{i}", "provider": f"provider-{i:02}", "vendor": "nvidia",
                "platform": "gb200", "gigawatts": str(21 - i)}), occurred_at="2026-01-01")
        chart(book, tmp_path / "many.png")
    colours = [tuple(c.get_facecolor()[0][:3]) for c in figures[0].axes[0].collections]
    assert colours[20] == colours[0] and len(set(colours)) == 20
