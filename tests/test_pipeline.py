"""The pipeline: planned against commissioned capacity and what is late, as of the report's date.

Hand-worked examples for every rule of DESIGN.md ("Commitments and the pipeline"), then hypothesis
properties against an independent model of the rules.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import (
    CapacityCommissioned,
    CapacityDecommissioned,
    CapacityPlanned,
    Ledger,
    Rejected,
    UsageReported,
)

ZERO = Decimal(0)


@pytest.fixture
def ledger():
    with Ledger.open(load_entrypoints=False) as book:
        yield book


def plan(gigawatts, due, site="s1", provider="oracle", platform="gb200", vendor="nvidia"):
    return CapacityPlanned(site=site, provider=provider, vendor=vendor, platform=platform,
                           gigawatts=Decimal(gigawatts), due=date.fromisoformat(due))


def commission(gigawatts, site="s1", provider="oracle", platform="gb200", vendor="nvidia"):
    return CapacityCommissioned(site=site, provider=provider, vendor=vendor, platform=platform,
                                gigawatts=Decimal(gigawatts))


def pipeline(book, until=None):
    return book.replay(until=until).report()["pipeline"]


def only(summary):
    (single,) = summary["plans"]
    return single


# --- the rules, by example ----------------------------------------------------------------------


def test_the_latest_plan_of_a_key_wins_with_its_due_date(ledger):
    ledger.append(plan("1", "2026-06-30"), occurred_at="2026-01-10")
    ledger.append(plan("2", "2026-12-31", vendor="amd"), occurred_at="2026-02-10")
    ledger.append(commission("0.5"), occurred_at="2026-07-15")
    assert only(pipeline(ledger)) == {
        "site": "s1", "provider": "oracle", "platform": "gb200", "vendor": "amd",
        "planned_gigawatts": "2", "due": "2026-12-31", "commissioned_gigawatts": "0.5",
        "remaining_gigawatts": "1.5", "status": "on_track"}
    # As of a day before the second plan, the first one stands, with its own due date.
    early = pipeline(ledger, until="2026-01-31")
    assert (only(early)["planned_gigawatts"], only(early)["due"]) == ("1", "2026-06-30")
    # Had the first plan stood, the key would be late on 2026-07-15: the new due date moved it.
    assert pipeline(ledger, until="2026-07-15")["totals"]["late_keys"] == 0


def test_commissioning_counts_gross_before_and_after_the_plan(ledger):
    ledger.append(commission("0.4"), occurred_at="2026-01-01")  # before any plan
    ledger.append(plan("1", "2026-12-31"), occurred_at="2026-02-01")
    ledger.append(commission("0.3"), occurred_at="2026-03-01")
    ledger.append(CapacityDecommissioned(site="s1", gigawatts=Decimal("0.5")), occurred_at="2026-03-15")
    key = only(pipeline(ledger))
    assert (key["commissioned_gigawatts"], key["remaining_gigawatts"], key["status"]) == (
        "0.7", "0.3", "on_track")  # decommissioning lowers nothing
    ledger.append(commission("0.6"), occurred_at="2026-04-01")
    summary = pipeline(ledger)
    assert only(summary)["commissioned_gigawatts"] == "1.3"  # more than planned: still gross
    assert (only(summary)["remaining_gigawatts"], only(summary)["status"]) == ("0", "done")
    assert summary["totals"]["delivered_gigawatts"] == "1"  # delivered stops at the plan


def test_partial_delivery_and_totals_by_provider_and_by_the_plans_vendor(ledger):
    ledger.append_many([
        plan("1", "2026-06-30"),
        plan("2", "2027-06-30", site="s2", provider="aws", platform="trainium", vendor="amazon"),
        plan("0.5", "2026-03-31", site="s3", vendor="nvidia"),
        commission("0.25"),
        # The commissioning names another vendor: the pipeline counts by the vendor of the plan.
        commission("2.5", site="s2", provider="aws", platform="trainium", vendor="annapurna"),
    ], occurred_at="2026-05-01")
    summary = pipeline(ledger)
    assert summary["as_of_date"] == "2026-05-01"
    assert summary["totals"] == {"planned_gigawatts": "3.5", "delivered_gigawatts": "2.25",
                                 "remaining_gigawatts": "1.25", "late_gigawatts": "0.5",
                                 "late_keys": 1}
    assert summary["by_provider"] == {
        "aws": {"planned_gigawatts": "2", "delivered_gigawatts": "2", "remaining_gigawatts": "0",
                "late_gigawatts": "0", "late_keys": 0},
        "oracle": {"planned_gigawatts": "1.5", "delivered_gigawatts": "0.25",
                   "remaining_gigawatts": "1.25", "late_gigawatts": "0.5", "late_keys": 1}}
    assert set(summary["by_vendor"]) == {"amazon", "nvidia"}
    assert summary["by_vendor"]["nvidia"]["delivered_gigawatts"] == "0.25"
    assert [(p["site"], p["status"]) for p in summary["plans"]] == [
        ("s1", "on_track"), ("s2", "done"), ("s3", "late")]


def test_late_only_after_the_due_day(ledger):
    ledger.append(plan("1", "2026-06-30"), occurred_at="2026-01-01")
    ledger.append(commission("0.2"), occurred_at="2026-06-30")
    assert only(pipeline(ledger))["status"] == "on_track"  # as of the last record: the due day
    assert only(pipeline(ledger, until="2026-06-30"))["status"] == "on_track"
    late = pipeline(ledger, until="2026-07-01")
    assert late["as_of_date"] == "2026-07-01"
    assert (only(late)["status"], late["totals"]["late_gigawatts"], late["totals"]["late_keys"]) == (
        "late", "0.8", 1)
    # Without --until, the date of the latest record decides, never the wall clock.
    ledger.append(UsageReported(product="p", weekly_active_users=1), occurred_at="2026-07-01")
    assert only(pipeline(ledger))["status"] == "late"
    assert only(pipeline(ledger, until=2))["status"] == "on_track"  # as of seq 2: 2026-06-30


def test_until_a_month_or_a_year_moves_a_key_from_on_track_to_late(run, tmp_path):
    history = tmp_path / "h.jsonl"
    lines = [
        {"type": "capacity.planned", "occurred_at": "2026-01-15",
         "data": {"site": "s1", "provider": "oracle", "vendor": "nvidia", "platform": "gb200",
                  "gigawatts": "1.2", "due": "2026-06-30"}},
        {"type": "capacity.commissioned", "occurred_at": "2026-03-01",
         "data": {"site": "s1", "provider": "oracle", "vendor": "nvidia", "platform": "gb200",
                  "gigawatts": "0.2"}},
    ]
    history.write_text("".join(json.dumps(line) + "\n" for line in lines))

    def as_of(until):
        result = run("replay", history, "--json", "--until", until)
        assert result.code == 0, result.err
        return json.loads(result.out)["pipeline"]

    june, july, year = as_of("2026-06"), as_of("2026-07"), as_of("2026")
    assert (june["as_of_date"], june["plans"][0]["status"]) == ("2026-06-30", "on_track")
    assert (july["as_of_date"], july["plans"][0]["status"]) == ("2026-07-31", "late")
    assert (year["as_of_date"], year["totals"]["late_gigawatts"]) == ("2026-12-31", "1")
    assert as_of("2026-02")["plans"][0]["commissioned_gigawatts"] == "0"
    text = run("replay", history, "--until", "2026-07").out
    assert "late      2026-06-30  31 days past due" in text


def test_capacity_at_keys_never_planned_is_left_out(ledger):
    ledger.append_many([
        plan("1", "2027-01-01"),
        commission("0.5"),
        commission("3", site="s1", platform="gb300"),  # same site and provider, another platform
        commission("2", site="elsewhere", provider="coreweave"),
    ], occurred_at="2026-05-01")
    summary = pipeline(ledger)
    assert [(p["site"], p["platform"]) for p in summary["plans"]] == [("s1", "gb200")]
    assert summary["totals"]["planned_gigawatts"] == "1"
    assert summary["totals"]["delivered_gigawatts"] == "0.5"
    assert set(summary["by_provider"]) == {"oracle"}
    # A plan made later takes in what was commissioned before it.
    ledger.append(plan("2", "2027-01-01", site="elsewhere", provider="coreweave"), occurred_at="2026-06-01")
    assert pipeline(ledger)["by_provider"]["coreweave"]["delivered_gigawatts"] == "2"


def test_an_empty_ledger_has_an_empty_pipeline_and_no_date(ledger):
    summary = pipeline(ledger)
    assert summary == {"as_of_date": None, "plans": [], "by_provider": {}, "by_vendor": {},
                       "totals": {"planned_gigawatts": "0", "delivered_gigawatts": "0",
                                  "remaining_gigawatts": "0", "late_gigawatts": "0",
                                  "late_keys": 0}}
    assert ledger.replay().projection("pipeline").render(summary) == "no capacity planned"


def test_the_text_lists_late_first_with_how_late_then_on_track_then_done(ledger):
    ledger.append_many([
        plan("1", "2026-03-01", site="a-late-a-little"),
        plan("1", "2026-01-01", site="b-late-most"),
        plan("1", "2026-09-01", site="c-due-later"),
        plan("1", "2026-06-01", site="d-due-sooner"),
        plan("1", "2026-02-01", site="e-done"),
        commission("1", site="e-done"),
        commission("0.4", site="a-late-a-little"),
    ], occurred_at="2026-05-01")
    view = ledger.replay()
    text = view.projection("pipeline").render(view.summary("pipeline"))
    rows = [line.split() for line in text.splitlines() if line.split()[:1] in (["late"], ["on"], ["done"])]
    assert [row[-7] for row in rows] == ["b-late-most", "a-late-a-little", "d-due-sooner",
                                         "c-due-later", "e-done"]
    assert " ".join(rows[0][2:6]) == "120 days past due"
    assert " ".join(rows[1][2:6]) == "61 days past due"
    assert " ".join(rows[2][3:6]) == "31 days left"
    assert text.splitlines()[0] == ("as of 2026-05-01: 5 GW planned, 1.4 GW delivered, 3.6 GW "
                                    "remaining; 1.6 GW late (2 of 5 plans)")
    provider_total = next(line for line in text.splitlines()[12:] if line.startswith("total"))
    assert provider_total.split() == ["total", "5", "1.4", "3.6", "1.6", "2"]


def test_the_report_prints_the_pipeline_section(run, tmp_path):
    history = tmp_path / "h.jsonl"
    history.write_text(json.dumps({"type": "capacity.planned", "occurred_at": "2026-01-15", "data": {
        "site": "s1", "provider": "oracle", "vendor": "nvidia", "platform": "gb200",
        "gigawatts": "1", "due": "2026-06-30"}}) + "\n")
    out = run("replay", history).out
    assert "== pipeline ==" in out and "166 days left" in out


# --- properties ---------------------------------------------------------------------------------

START = date(2026, 1, 1)
KEYS = [("s1", "oracle", "gb200"), ("s1", "oracle", "gb300"), ("s2", "aws", "trainium")]
VENDORS = ["nvidia", "amd"]

steps = st.lists(st.one_of(
    st.tuples(st.just("plan"), st.sampled_from(KEYS), st.sampled_from(VENDORS),
              st.sampled_from(["0.5", "1", "1.75"]), st.integers(0, 60), st.integers(0, 60)),
    st.tuples(st.just("commission"), st.sampled_from(KEYS), st.sampled_from(VENDORS),
              st.sampled_from(["0.25", "0.5", "1"]), st.integers(0, 60), st.just(0)),
    st.tuples(st.just("decommission"), st.sampled_from(KEYS), st.just(""),
              st.sampled_from(["0.25", "0.5"]), st.integers(0, 60), st.just(0)),
), max_size=25)


def event_of(kind, key, vendor, gigawatts, due_offset):
    site, provider, platform = key
    if kind == "plan":
        return CapacityPlanned(site=site, provider=provider, vendor=vendor, platform=platform,
                               gigawatts=Decimal(gigawatts), due=START + timedelta(days=due_offset))
    if kind == "commission":
        return CapacityCommissioned(site=site, provider=provider, vendor=vendor, platform=platform,
                                    gigawatts=Decimal(gigawatts))
    return CapacityDecommissioned(site=site, provider=provider, platform=platform,
                                  gigawatts=Decimal(gigawatts))


def stored(book, drawn):
    """Append the drawn steps (refused ones left out); return (day, kind, key, vendor, GW, due)
    of each stored one, in seq order."""
    kept = []
    for kind, key, vendor, gigawatts, offset, due_offset in drawn:
        day = START + timedelta(days=offset)
        try:
            book.append(event_of(kind, key, vendor, gigawatts, due_offset), occurred_at=day)
        except Rejected:
            continue
        kept.append((day, kind, key, vendor, Decimal(gigawatts), START + timedelta(days=due_offset)))
    return kept


def model(kept, day):
    """The pipeline's plans as of ``day``, by the rules, from the stored steps dated by then."""
    plans, commissioned = {}, {}
    for when, kind, key, vendor, gigawatts, due in kept:
        if when > day:
            continue
        if kind == "plan":
            plans[key] = (vendor, gigawatts, due)
        elif kind == "commission":
            commissioned[key] = commissioned.get(key, ZERO) + gigawatts
    result = []
    for key, (vendor, gigawatts, due) in sorted(plans.items()):
        done = commissioned.get(key, ZERO)
        remaining = max(gigawatts - done, ZERO)
        status = "done" if remaining == 0 else "late" if day > due else "on_track"
        result.append((key, vendor, gigawatts, due.isoformat(), done, remaining, status))
    return result


def as_model(summary):
    return [((p["site"], p["provider"], p["platform"]), p["vendor"], Decimal(p["planned_gigawatts"]),
             p["due"], Decimal(p["commissioned_gigawatts"]), Decimal(p["remaining_gigawatts"]),
             p["status"]) for p in summary["plans"]]


def check_sums(summary):
    """Totals are the sums of the keys; delivered + remaining = planned per key and in total;
    the totals by provider and by vendor add up to the totals."""
    totals = {"planned_gigawatts": ZERO, "delivered_gigawatts": ZERO, "remaining_gigawatts": ZERO,
              "late_gigawatts": ZERO, "late_keys": 0}
    for p in summary["plans"]:
        planned, commissioned = Decimal(p["planned_gigawatts"]), Decimal(p["commissioned_gigawatts"])
        remaining = Decimal(p["remaining_gigawatts"])
        delivered = min(commissioned, planned)
        assert delivered + remaining == planned
        totals["planned_gigawatts"] += planned
        totals["delivered_gigawatts"] += delivered
        totals["remaining_gigawatts"] += remaining
        if p["status"] == "late":
            totals["late_gigawatts"] += remaining
            totals["late_keys"] += 1
    got = {key: value if key == "late_keys" else Decimal(value)
           for key, value in summary["totals"].items()}
    assert got == totals
    assert got["delivered_gigawatts"] + got["remaining_gigawatts"] == got["planned_gigawatts"]
    for groups in (summary["by_provider"], summary["by_vendor"]):
        for key in totals:
            assert sum((Decimal(group[key]) for group in groups.values()), ZERO) == totals[key]


@settings(max_examples=60, deadline=None)
@given(drawn=steps, offsets=st.lists(st.integers(-1, 62), min_size=1, max_size=4))
def test_statuses_as_of_a_date_are_a_replay_until_that_date(drawn, offsets):
    with Ledger.open(load_entrypoints=False) as book:
        kept = stored(book, drawn)
        for offset in offsets:
            day = START + timedelta(days=offset)
            summary = pipeline(book, until=day)
            assert summary["as_of_date"] == day.isoformat()
            assert as_model(summary) == model(kept, day)
            check_sums(summary)
        whole = pipeline(book)
        last = max((when for when, *_ in kept), default=None)
        assert whole["as_of_date"] == (last.isoformat() if last else None)
        if last is not None:
            assert as_model(whole) == model(kept, last)
        check_sums(whole)


@settings(max_examples=40, deadline=None)
@given(drawn=steps, split=st.integers(0, 25))
def test_a_prefix_then_the_rest_is_the_whole_pipeline(drawn, split):
    with Ledger.open(load_entrypoints=False) as book:
        stored(book, drawn)
        whole = book.replay().report()["pipeline"]
        prefix = book.replay(until=min(split, len(book)))
        assert book.catch_up(prefix).report()["pipeline"] == whole
        assert book.view.report()["pipeline"] == whole
