"""The other domain: a tool library on the bare engine (``builtins=False``), through the hooks any
plugin has. Its report, rules, derived fees, tables, explanations, chart and replay are what the
built-in domain's are, with nothing of AI compute loaded."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import Ledger, Rejected

from .conftest import ROOT

PLUGIN = os.path.join(ROOT, "plugins", "tool_library.py")
HISTORY = os.path.join(ROOT, "plugins", "tool_library.jsonl")


def library(path=None, **options) -> Ledger:
    return Ledger.open(path, plugins=[PLUGIN], builtins=False, load_entrypoints=False, **options)


def test_the_bare_engine_knows_only_the_librarys_types():
    with library() as book:
        assert set(book.event_types) == {"tool.added", "tool.lent", "tool.returned", "fee.charged"}
        assert set(book.projections) == {"shelf", "fees"}
        assert set(book.charts) == {"loans"}
        assert [p.name for p in book.plugins] == ["tool_library"]


def test_the_report_of_the_sample_history():
    with library() as book:
        book.import_jsonl(HISTORY)
        report = book.replay().report()
    shelf, fees = report["shelf"], report["fees"]
    assert shelf["as_of_date"] == "2026-03-30"
    assert {name: t["status"] for name, t in shelf["tools"].items()} == {
        "drill-1": "on the shelf", "ladder-1": "lent", "saw-1": "overdue"}
    assert shelf["tools"]["saw-1"]["days_overdue"] == 3  # due 03-27, as of 03-30
    assert (shelf["on_loan"], shelf["overdue"]) == (2, 1)
    # ben: the ladder 5 days late at $2, the drill 3 days late at $1.50
    assert fees == {"charged_usd": "14.5", "by_member": {"ben": {"usd": "14.5", "late_returns": 2}}}
    assert report["as_of"]["unknown_types"] == {}


def test_the_text_report_and_an_as_of_date_that_moves_a_loan_to_overdue(run, monkeypatch):
    monkeypatch.setenv("GIGALEDGER_BUILTINS", "0")
    text = run("replay", HISTORY, "--plugin", PLUGIN)
    assert text.code == 0, text.err
    assert "== shelf ==" in text.out and "as of 2026-03-30: 2 on loan, 1 overdue" in text.out
    assert "late fees in all: $14.5" in text.out and "== investment ==" not in text.out
    later = json.loads(run("replay", HISTORY, "--plugin", PLUGIN, "--until", "2026-04-05",
                           "--json").out)
    assert later["shelf"]["tools"]["ladder-1"] == {
        "name": "extension ladder", "status": "overdue", "lent_to": "ana", "due": "2026-04-02",
        "days_overdue": 3, "loans": 2}


@pytest.mark.parametrize(("line", "why"), [
    ({"type": "tool.lent", "data": {"tool": "drill-1", "member": "x", "due": "2026-05-01"}},
     "tool 'drill-1' is lent to ana until 2026-03-12"),
    ({"type": "tool.returned", "data": {"tool": "drill-1", "member": "ben"}},
     "tool 'drill-1' is lent to ana, not lent to ben"),
    ({"type": "tool.lent", "data": {"tool": "hammer", "member": "x", "due": "2026-05-01"}},
     "no tool 'hammer' in the library"),
    ({"type": "tool.added", "data": {"tool": "drill-1", "name": "again", "daily_fee_usd": "1"}},
     "tool 'drill-1' is in the library already"),
])
def test_the_librarys_rules_refuse(line, why, tmp_path):
    start = tmp_path / "start.jsonl"  # the first five lines: the drill lent to ana, the ladder to ben
    start.write_text("".join(open(HISTORY).readlines()[:5]))
    with library() as book:
        book.import_jsonl(start)
        before = book.head()
        with pytest.raises(Rejected, match=f"^tool_library: {why}$"):
            book.append(book.event_from(line["type"], line["data"]), occurred_at="2026-03-07")
        assert book.head() == before


def test_a_late_fee_is_derived_and_explained():
    with library() as book:
        book.import_jsonl(HISTORY)
        fees = list(book.read(types=["fee.charged"]))
        assert [(f.data["member"], f.data["tool"], f.data["days_late"], f.data["usd"])
                for f in fees] == [("ben", "ladder-1", 5, "10"), ("ben", "drill-1", 3, "4.50")]
        ladder = fees[0]
        assert ladder.meta["derived_by"] == "tool_library"
        why = book.explain(ladder.seq)
        [cause] = why.causes
        assert (cause.type, cause.id) == ("tool.returned", "tl-07")
        charged = why.finding("charged for")
        assert [r.id for r in charged.records] == ["tl-05", "tl-07"]
        assert charged.note == "due 2026-03-08, returned 2026-03-13: 5 days late"
        assert charged.plugin == "tool_library"
        assert book.explain("tl-07").effects == [ladder]


def test_its_tables_equal_its_report(tmp_path):
    db = tmp_path / "tools.db"
    with library(db) as book:
        book.import_jsonl(HISTORY)
        counts = book.materialize()
        report = book.replay().report()
    assert counts == {"materialized": 1, "projections": 2, "tool_library_tools": 3,
                      "tool_library_fees": 1}
    connection = sqlite3.connect(db)
    connection.row_factory = sqlite3.Row
    tools = {row["tool"]: dict(row) for row in connection.execute("SELECT * FROM tool_library_tools")}
    fees = [dict(row) for row in connection.execute("SELECT * FROM tool_library_fees")]
    summaries = dict(connection.execute("SELECT name, summary FROM projections").fetchall())
    connection.close()
    for name, tool in report["shelf"]["tools"].items():
        assert {k: v for k, v in tools[name].items() if k != "tool"} == tool
    assert fees == [{"member": "ben", "usd": "14.5", "late_returns": 2}]
    assert json.loads(summaries["fees"]) == report["fees"]


def test_its_chart_is_drawn_without_matplotlib(run, tmp_path, monkeypatch):
    db = tmp_path / "tools.db"
    with library(db) as book:
        book.import_jsonl(HISTORY)
    monkeypatch.setenv("GIGALEDGER_BUILTINS", "0")
    result = run("chart", db, "-o", tmp_path / "loans.svg", "--plugin", PLUGIN)
    assert result.code == 0, result.err
    svg = (tmp_path / "loans.svg").read_text()
    assert svg.startswith("<svg") and ">ben<" in svg and ">ana<" in svg and ">carla<" in svg
    wrong = run("chart", db, "-o", tmp_path / "loans.png", "--plugin", PLUGIN)
    assert wrong.code == 1 and "is written as .svg" in wrong.err
    assert not (tmp_path / "loans.png").exists()


loans = st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(["m", "n"]),
                           st.integers(0, 20), st.integers(0, 20)), min_size=1, max_size=12)


@settings(max_examples=40)
@given(plan=loans, every=st.sampled_from([0, 3]))
def test_a_prefix_a_snapshot_and_the_rest_give_the_same_report(tmp_path_factory, plan, every):
    """Replays of the library agree however they are cut: the live view, a full replay, a replay
    from snapshots after reopening, and a prefix caught up with the rest."""
    db = tmp_path_factory.mktemp("lib") / "tools.db"
    day = date(2026, 1, 1)
    with library(db, snapshot_every=every) as book:
        for tool in "abc":
            book.append(book.event_from("tool.added", {"tool": tool, "name": tool,
                                                       "daily_fee_usd": "1.25"}),
                        occurred_at=day.isoformat())
        for tool, member, keep, wait in plan:
            state = book.view["shelf"][tool]
            if state.lent_to is None:
                event = book.event_from("tool.lent", {"tool": tool, "member": member,
                                                      "due": (day + timedelta(keep)).isoformat()})
            else:
                event = book.event_from("tool.returned", {"tool": tool, "member": state.lent_to})
            day += timedelta(wait)
            book.append(event, occurred_at=day.isoformat())
        live = book.view.report()
        full = book.replay(use_snapshots=False).report()
        middle = len(book) // 2
        prefix = book.replay(until=middle, use_snapshots=False)
        caught_up = book.catch_up(prefix).report()
    with library(db, snapshot_every=every) as book:
        reopened = book.replay().report()
        charged = sum((Decimal(r.data["usd"]) for r in book.read(types=["fee.charged"])),
                      Decimal(0))
    assert live == full == caught_up == reopened
    assert Decimal(full["fees"]["charged_usd"]) == charged


@pytest.mark.parametrize("value", ["0", "false", "No", " off "])
def test_the_built_in_domain_is_left_out_by_any_usual_way_of_saying_no(run, monkeypatch, value):
    monkeypatch.setenv("GIGALEDGER_BUILTINS", value)
    text = run("replay", HISTORY, "--plugin", PLUGIN)
    assert text.code == 0 and "== shelf ==" in text.out and "== investment ==" not in text.out


def test_a_value_of_gigaledger_builtins_that_says_neither_is_a_usage_error(run, monkeypatch):
    monkeypatch.setenv("GIGALEDGER_BUILTINS", "maybe")
    done = run("replay", HISTORY, "--plugin", PLUGIN)
    assert (done.code, done.out) == (2, "")
    assert "GIGALEDGER_BUILTINS='maybe': expected 0 or 1 (or false/true, no/yes, off/on)" in done.err
