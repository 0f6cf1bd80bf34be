"""Scenario marks (``meta.scenario``): counted in every view, through snapshots, said in the text
report, and warned about when an import mixes scenarios with reported facts. Also ``--until`` with
a year or a month, which sets the as-of date of such a report."""

from __future__ import annotations

import json
import sqlite3
import warnings
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import (
    CapacityCommissioned,
    Ledger,
    LedgerError,
    ScenarioWarning,
    UsageReported,
    VerificationError,
)
from ledger.clock import until_bound, until_day
from ledger.scenarios import is_scenario
from ledger.tables import scenario_line

from .conftest import EVENTS

PLAN = f"{EVENTS}/nvidia-openai-plan.jsonl"
REPORTED = f"{EVENTS}/openai-compute-2025-2026.jsonl"


def usage(n):
    return UsageReported(product="p", weekly_active_users=n)


def write(path, lines):
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def usage_line(n, scenario=None, day="2026-01-01"):
    line = {"type": "usage.reported", "occurred_at": day,
            "data": {"product": "p", "weekly_active_users": n}}
    if scenario is not None:
        line["meta"] = scenario
    return line


# --- what counts as a scenario record ----------------------------------------------------------


@pytest.mark.parametrize(("meta", "counted"), [
    ({"scenario": True}, True),
    ({"scenario": True, "source": "https://x", "note": "assumed"}, True),
    ({"scenario": "true"}, False),
    ({"scenario": False}, False),
    ({"scenario": 1}, False),
    ({"nested": {"scenario": True}}, False),
    ({"note": '"scenario":true'}, False),
    ({}, False),
])
def test_only_a_top_level_true_mark_counts(book, meta, counted):
    book.append(usage(1), meta=meta, occurred_at="2026-01-01")
    book.append(usage(2), occurred_at="2026-01-02")
    assert book.replay().report()["as_of"]["scenario_records"] == int(counted)
    assert book.view.as_of()["scenario_records"] == int(counted)
    assert book.replay(use_snapshots=False).as_of()["scenario_records"] == int(counted)


def test_the_stored_text_test_agrees_with_parsing():
    assert is_scenario('{"scenario":true}') and is_scenario('{"a":1,"scenario":true,"z":2}')
    assert not is_scenario('{"n":{"scenario":true}}') and not is_scenario("{}")
    assert not is_scenario('{"note":"\\"scenario\\":true"}')


def test_records_no_projection_folds_are_counted_too(book):
    """A record of a type only a missing plugin knows is skipped by every projection, not by
    the count."""
    book.append(usage(1), meta={"scenario": True}, occurred_at="2026-01-01")
    assert book.replay().handlers("usage.reported") == []  # no built-in folds it
    assert book.replay().as_of()["scenario_records"] == 1


def test_what_is_derived_from_a_scenario_is_a_scenario_and_from_a_fact_a_fact(book):
    """A tranche released by a scenario's commissioning carries the mark (and is counted); one
    released by a reported commissioning does not, whatever else is marked in the log."""
    from .test_builtin_plugins import commission, signed

    book.append(signed(), occurred_at="2026-01-01")
    fact = book.append(commission("1", agreement="a"), occurred_at="2026-02-01")
    assumed = book.append(commission("1", agreement="a"), occurred_at="2026-03-01",
                          meta={"scenario": True, "source": "assumed"})
    released = [r for r in book.read() if r.type == "investment.released"]
    assert [r.meta["causation_id"] for r in released] == [fact.id, assumed.id]
    assert "scenario" not in released[0].meta
    assert released[1].meta["scenario"] is True and released[1].meta["source"] == "assumed"
    assert book.replay().as_of()["scenario_records"] == 2  # the commissioning and its release
    assert book.verify()[0] == len(book) == 5


def test_the_plan_counts_its_scenario_lines_and_the_releases_derived_from_them(run):
    """Every line of the plan but the platform's and the users' is a scenario (the agreement is
    replayed as if binding; the schedule is assumed), and what the ledger derives from a scenario
    is one too: the ten tranches released by the scenario's commissionings."""
    def marked(until: str = "9999") -> int:
        return sum(1 for line in open(PLAN, encoding="utf-8")
                   if json.loads(line)["meta"].get("scenario") is True
                   and json.loads(line)["occurred_at"] <= until)

    report = json.loads(run("replay", PLAN, "--json").out)
    releases = report["investment"]["agreements"]["nvidia-openai-10gw"]["tranches_released"]
    assert (marked(), releases) == (41, 10)
    assert report["as_of"]["scenario_records"] == 51 and report["as_of"]["seq"] == 53
    until = json.loads(run("replay", PLAN, "--json", "--until", "2027-06-30").out)
    releases = until["investment"]["agreements"]["nvidia-openai-10gw"]["tranches_released"]
    assert releases == 2
    assert until["as_of"]["scenario_records"] == marked("2027-06-30") + releases
    assert json.loads(run("replay", REPORTED, "--json").out)["as_of"]["scenario_records"] == 0


def test_the_text_report_says_so_whenever_it_folded_a_scenario(run):
    plan = run("replay", PLAN).out.splitlines()
    assert plan[1] == ("includes 51 scenario records (meta.scenario): these figures are partly a "
                       "scenario, not reported facts")
    assert "scenario" not in "\n".join(run("replay", REPORTED).out.splitlines()[:3])
    early = run("replay", PLAN, "--until", "2026-06-30").out.splitlines()[1]
    assert early.startswith("includes 9 scenario records")  # the agreement, the 8 plans
    assert scenario_line(1).startswith("includes 1 scenario record (meta.scenario)")


# --- through snapshots ---------------------------------------------------------------------------

marks = st.lists(st.tuples(st.booleans(), st.integers(1, 28)), max_size=30)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=marks, split=st.integers(0, 30), until=st.integers(0, 30), day=st.integers(1, 28))
def test_a_prefix_a_snapshot_and_the_rest_count_what_a_full_replay_counts(
        tmp_path_factory, steps, split, until, day):
    path = tmp_path_factory.mktemp("scenarios") / "ledger.db"
    with Ledger.open(path, load_entrypoints=False, snapshot_every=0) as book:
        for number, (scenario, on) in enumerate(steps):
            if number == split:
                book.snapshot()
            book.append(usage(number), meta={"scenario": True} if scenario else None,
                        occurred_at=f"2026-02-{on:02d}")
        if split >= len(steps):
            book.snapshot()
        expected = sum(scenario for scenario, _ in steps)
        full = book.replay(use_snapshots=False).as_of()
        assert full["scenario_records"] == expected
        assert book.replay().as_of() == full == book.view.as_of()
        point = min(until, len(book))
        assert book.replay(until=point).as_of() == book.replay(until=point, use_snapshots=False).as_of()
        assert book.replay(until=point).as_of()["scenario_records"] == sum(
            scenario for scenario, _ in steps[:point])
        dated = f"2026-02-{day:02d}"
        assert book.replay(until=dated).as_of()["scenario_records"] == sum(
            scenario for scenario, on in steps if on <= day)
        assert book.catch_up(book.replay(until=point)).as_of() == full
    with Ledger.open(path, load_entrypoints=False, snapshot_every=0) as reopened:
        assert reopened.view.as_of() == full == reopened.replay().as_of()
        assert reopened.verify()[0] == len(steps)


def test_the_count_survives_snapshots_on_both_stores(book):
    book.append_many([usage(n) for n in range(3)], meta={"scenario": True}, occurred_at="2026-01-01")
    book.append(usage(9), occurred_at="2026-01-02")
    book.snapshot()
    book.append(usage(10), meta={"scenario": True}, occurred_at="2026-01-03")
    with Ledger.open(book._store.url if hasattr(book._store, "url") else None,
                     load_entrypoints=False) as other:
        if other.path is not None:  # the same PostgreSQL ledger, opened afresh
            assert other.replay().as_of()["scenario_records"] == 4
    assert book.replay().as_of()["scenario_records"] == 4
    assert book.replay(until=4).as_of()["scenario_records"] == 3
    assert book.verify()[0] == 5


def test_a_forged_count_fails_verify_and_a_missing_one_falls_back_to_the_log(tmp_path):
    path = tmp_path / "ledger.db"
    with Ledger.open(path, load_entrypoints=False, snapshot_every=0) as book:
        book.append_many([usage(n) for n in range(4)], meta={"scenario": True}, occurred_at="2026-01-01")
        book.snapshot()
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("UPDATE snapshots SET state = '{\"scenario_records\":99}' WHERE name = 'as_of'")
    connection.close()
    with Ledger.open(path, load_entrypoints=False) as book:
        with pytest.raises(VerificationError, match="seq 4: the snapshot of as_of does not match the log"):
            book.verify()
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("DELETE FROM snapshots WHERE name = 'as_of'")
    connection.close()
    with Ledger.open(path, load_entrypoints=False) as book:
        assert book.replay().as_of()["scenario_records"] == 4
        assert book.verify()[0] == 4


# --- mixing scenarios with facts -----------------------------------------------------------------


def test_importing_scenarios_with_facts_warns_naming_the_files(tmp_path):
    scenario = write(tmp_path / "scenario.jsonl", [usage_line(1, {"scenario": True}), usage_line(2)])
    facts = write(tmp_path / "facts.jsonl", [usage_line(3, {"source": "https://x"})])
    other = write(tmp_path / "other.jsonl", [usage_line(4, {"scenario": True})])
    with Ledger.open(load_entrypoints=False) as book:
        with pytest.warns(ScenarioWarning) as caught:
            book.import_jsonl(scenario, facts)
        (message,) = [str(w.message) for w in caught]
        assert f"{scenario} (1)" in message and str(facts) in message
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            book.import_jsonl(other)  # one file, of scenarios, into a ledger that has some
            book.import_jsonl(scenario, other)  # scenarios only
        with pytest.warns(ScenarioWarning, match=r"histories of reported facts only, .*facts\.jsonl, "
                                                 r"are imported into a ledger with 4 scenario"):
            book.import_jsonl(facts, facts)  # facts only, into a ledger with scenario records
        assert book.replay().as_of()["scenario_records"] == 4


def test_importing_one_kind_into_a_ledger_of_the_other_warns_as_importing_both_at_once(tmp_path):
    """Histories imported one command at a time mix as much as histories imported together: a
    history with scenario records into a ledger of facts, or facts into a ledger with scenario
    records, warns; the same kind again does not."""
    scenario = write(tmp_path / "scenario.jsonl", [usage_line(1, {"scenario": True}), usage_line(2)])
    facts = write(tmp_path / "facts.jsonl", [usage_line(3, {"source": "https://x"})])
    more = write(tmp_path / "more.jsonl", [usage_line(4)])
    with Ledger.open(load_entrypoints=False) as book:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            book.import_jsonl(facts)  # into an empty ledger
            book.import_jsonl(more)  # facts into facts
        with pytest.warns(ScenarioWarning, match=rf"^histories with scenario records "
                                                 rf"\(meta.scenario\), {scenario} \(1\), are "
                                                 rf"imported into a ledger of reported facts only "
                                                 rf"\(2 records\)"):
            book.import_jsonl(scenario)
    with Ledger.open(load_entrypoints=False) as book:
        book.import_jsonl(scenario)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            book.import_jsonl(scenario)  # the same kind again (its lines have no ids: twice)
        with pytest.warns(ScenarioWarning, match=r"into a ledger with 2 scenario records"):
            book.import_jsonl(facts)


@pytest.mark.parametrize("command", ["replay", "import"])
def test_the_command_line_prints_one_warning_line(run, tmp_path, command):
    arguments = [PLAN, REPORTED] if command == "replay" else [tmp_path / "both.db", PLAN, REPORTED]
    result = run(command, *arguments)
    assert result.code == 0
    (line,) = result.err.strip().splitlines()
    assert line.startswith("warning: histories with scenario records (meta.scenario), ")
    assert f"{PLAN} (41)" in line and f"reported facts only, {REPORTED}:" in line
    if command == "replay":
        assert "includes 51 scenario records" in result.out
    assert run("replay", REPORTED).err == ""


# --- --until a year or a month -------------------------------------------------------------------


@pytest.mark.parametrize(("until", "bound", "day"), [
    ("2027", "2028-01-01T00:00:00.000000Z", date(2027, 12, 31)),
    ("2027-06", "2027-07-01T00:00:00.000000Z", date(2027, 6, 30)),
    ("2028-02", "2028-03-01T00:00:00.000000Z", date(2028, 2, 29)),
    ("2027-12", "2028-01-01T00:00:00.000000Z", date(2027, 12, 31)),
    ("2027-06-15", "2027-06-16T00:00:00.000000Z", date(2027, 6, 15)),
    (date(2027, 6, 15), "2027-06-16T00:00:00.000000Z", date(2027, 6, 15)),
    ("2027-06-15T23:00:00-02:00", "2027-06-16T01:00:00.000001Z", date(2027, 6, 16)),
])
def test_until_bounds_and_the_last_day_covered(until, bound, day):
    assert until_bound(until) == bound
    assert until_day(until) == day


@pytest.mark.parametrize(("until", "why"), [
    ("2027-13", "until: '2027-13' is not a valid month (YYYY-MM)"),
    ("2027-00", "until: '2027-00' is not a valid month (YYYY-MM)"),
    ("1899", "until: year 1899 is outside 1900-9998"),
    ("next year", "until: 'next year' is not an ISO-8601 date or time; give a year (2027), a "
                  "month (2027-06), a day (2027-06-30) or an ISO-8601 time"),
])
def test_a_bad_until_is_one_clear_line(run, until, why):
    with pytest.raises(LedgerError, match="^" + why.replace("(", r"\(").replace(")", r"\)") + "$"):
        until_bound(until)
    result = run("replay", REPORTED, "--until", until)  # a usage error: one line, exit 2
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1
    reason = why.split("; give")[0][len("until: "):]  # the option is named once, by click
    assert result.err.startswith(f"gigaledger replay: Invalid value for '--until': {reason}; ")
    assert "Traceback" not in result.err


def test_replay_until_a_year_or_a_month(tmp_path):
    with Ledger.open(load_entrypoints=False) as book:
        book.import_jsonl(PLAN)
        year, last_day = book.replay(until="2027"), book.replay(until="2027-12-31")
        assert year.report() | {"as_of": None} == last_day.report() | {"as_of": None}
        assert (year.until, year.until_day, year.position().day) == ("2027", date(2027, 12, 31),
                                                                     date(2027, 12, 31))
        assert year.report()["pipeline"]["as_of_date"] == "2027-12-31"
        month = book.replay(until="2027-06")
        assert month.seq == book.replay(until="2027-06-30").seq
        assert month.report()["investment"]["released_usd"] == "20000000000"
        with pytest.raises(LedgerError, match="a view as of 2027 cannot catch up"):
            book.catch_up(year)
        assert book.replay(until=2027).until_day is None  # an int is a seq


def test_the_as_of_date_of_a_seq_or_the_head_is_the_latest_record(book):
    book.append(CapacityCommissioned(site="s", provider="p", vendor="v", platform="x",
                                     gigawatts=Decimal(1)), occurred_at="2026-03-01")
    book.append(usage(1), occurred_at="2026-02-01")  # dated earlier, appended later
    position = book.replay().position()
    assert (position.seq, position.day, position.until) == (2, date(2026, 3, 1), None)
    assert book.replay(until=1).position().day == date(2026, 3, 1)
    assert book.replay(until="2026-02").position().day == date(2026, 2, 28)
