"""The timeline read straight from the log agrees with a replay as of each of its days."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import Ledger, Rejected
from ledger.default_plugins.timeline import timeline

from .strategies import any_event

START = date(2026, 1, 1)


@settings(max_examples=40)
@given(steps=st.lists(st.tuples(any_event, st.integers(0, 20)), min_size=1, max_size=25))
def test_the_timeline_equals_a_replay_as_of_each_day(steps):
    with Ledger.open(load_entrypoints=False) as book:
        for event, offset in steps:
            try:
                book.append(event, occurred_at=START + timedelta(days=offset))
            except Rejected:
                pass
        line = timeline(book)
        days = [START + timedelta(days=n) for n in range(-1, 22)]
        providers = sorted({change.provider for change in line.capacity})
        capacity = line.capacity_series(days, providers)
        released = line.released_series(days)
        for index, day in enumerate(days):
            report = book.replay(until=day).report()
            expected = report["provider_mix"]["commissioned_gigawatts"]["gigawatts_by_provider"]
            got = {p: capacity[p][index] for p in providers if capacity[p][index]}
            assert got == {p: Decimal(gw) for p, gw in expected.items()}, day
            assert released[index] == Decimal(report["investment"]["released_usd"]), day
        assert timeline(book, until=days[5]).capacity == [c for c in line.capacity if c.day <= days[5]]


def test_a_replay_as_of_a_date_survives_events_dated_before_what_they_depend_on(book):
    """Business time need not follow seq order: a revision or a decommissioning may be dated
    before the signature or commissioning it refers to; a replay as of a date in between folds
    it against nothing and goes on."""
    from ledger import AgreementRevised, CapacityCommissioned, CapacityDecommissioned

    from .test_builtin_plugins import signed

    book.append(signed("late"), occurred_at="2026-02-01")
    book.append(AgreementRevised(agreement="late", status="completed"), occurred_at="2026-01-10")
    book.append(CapacityCommissioned(site="s", provider="p", vendor="v", platform="x",
                                     gigawatts=Decimal(1)), occurred_at="2026-01-15")
    book.append(CapacityDecommissioned(site="s", gigawatts=Decimal("0.4")), occurred_at="2026-01-03")
    early = book.replay(until="2026-01-05").report()
    assert early["investment"]["agreements"] == {}
    assert early["provider_mix"]["commissioned_gigawatts"]["gigawatts_by_provider"] == {}
    assert book.replay().report()["provider_mix"]["commissioned_gigawatts"]["gigawatts_by_provider"] == {
        "p": "0.6"}
    assert [c.cumulative_gigawatts for c in timeline(book, until="2026-01-05").capacity] == []


@settings(max_examples=40)
@given(steps=st.lists(st.tuples(any_event, st.integers(0, 20)), min_size=1, max_size=25),
       until=st.integers(-1, 21))
def test_the_planned_steps_are_the_pipelines_plans_by_due_date(steps, until):
    with Ledger.open(load_entrypoints=False) as book:
        for event, offset in steps:
            try:
                book.append(event, occurred_at=START + timedelta(days=offset))
            except Rejected:
                pass
        day = START + timedelta(days=until)
        plans = book.replay(until=day).report()["pipeline"]["plans"]
        line = timeline(book, until=day)
        dues = sorted({date.fromisoformat(plan["due"]) for plan in plans})
        assert [step.due for step in line.planned] == dues
        for due, total in zip(dues, line.planned_series(dues)):
            assert total == sum((Decimal(plan["planned_gigawatts"]) for plan in plans
                                 if date.fromisoformat(plan["due"]) <= due), Decimal(0))
        if dues and dues[0] > date.min:  # before the first due date, nothing is due yet
            assert line.planned_series([dues[0] - timedelta(days=1)]) == [Decimal(0)]


def _capacity_book(book):
    """A hand-worked history: same-day commissionings, a decommissioning on a day with a
    commissioning of its provider and one on a day without, releases on two days (two on one),
    plans replaced and plans sharing a due date."""
    from ledger import (
        CapacityCommissioned,
        CapacityDecommissioned,
        CapacityPlanned,
        InvestmentReleased,
    )

    def on(day):
        return f"2026-01-{day:02d}"

    for day, site, provider, vendor, gigawatts in [
            (1, "s1", "oracle", "nvidia", "2"), (1, "s2", "oracle", "nvidia", "0.5"),
            (1, "s3", "aws", "amd", "1"), (3, "s1", "oracle", "nvidia", "1")]:
        book.append(CapacityCommissioned(site=site, provider=provider, vendor=vendor,
                                         platform=f"{vendor}-1", gigawatts=Decimal(gigawatts)),
                    occurred_at=on(day))
    book.append(CapacityDecommissioned(site="s1", provider="oracle", gigawatts=Decimal("0.5")),
                occurred_at=on(3))
    book.append(CapacityDecommissioned(site="s2", gigawatts=Decimal("0.5")), occurred_at=on(5))
    book.append(CapacityCommissioned(site="s4", provider="coreweave", vendor="nvidia",
                                     platform="nvidia-1", gigawatts=Decimal(1)), occurred_at=on(5))
    for day, billions in [(2, 10), (4, 5), (4, 1)]:
        book.append(InvestmentReleased(investor="nvidia", investee="openai",
                                       usd=Decimal(billions) * 10**9), occurred_at=on(day))
    for site, provider, vendor, gigawatts, due in [
            ("s1", "oracle", "nvidia", "2", date(2026, 3, 1)),
            ("s2", "oracle", "nvidia", "1", date(2026, 2, 1)),
            ("s1", "oracle", "nvidia", "3", date(2026, 4, 1)),  # replaces the first
            ("s3", "aws", "amd", "0.5", date(2026, 2, 1))]:
        book.append(CapacityPlanned(site=site, provider=provider, vendor=vendor,
                                    platform=f"{vendor}-1", gigawatts=Decimal(gigawatts), due=due),
                    occurred_at=on(1))


def test_a_hand_worked_timeline(book):
    from ledger.default_plugins.timeline import CapacityChange, PlannedStep, Release

    _capacity_book(book)
    line = timeline(book)
    D, B = Decimal, Decimal(10**9)
    jan = [date(2026, 1, day) for day in range(1, 6)]
    assert line.capacity == [
        CapacityChange(jan[0], "aws", D(1), D(1)), CapacityChange(jan[0], "oracle", D("2.5"), D("2.5")),
        CapacityChange(jan[2], "oracle", D("0.5"), D(3)),
        CapacityChange(jan[4], "coreweave", D(1), D(1)),
        CapacityChange(jan[4], "oracle", D("-0.5"), D("2.5"))]
    assert line.releases == [Release(jan[1], 10 * B, 10 * B), Release(jan[3], 6 * B, 16 * B)]
    assert line.planned == [PlannedStep(date(2026, 2, 1), D("1.5"), D("1.5")),
                            PlannedStep(date(2026, 4, 1), D(3), D("4.5"))]
    assert line.providers == ["oracle", "aws", "coreweave"]  # largest at the end, then by name
    assert line.days == jan
    days = [date(2025, 12, 31), *jan]
    assert line.capacity_series(days, line.providers) == {
        "oracle": [0, D("2.5"), D("2.5"), 3, 3, D("2.5")], "aws": [0, 1, 1, 1, 1, 1],
        "coreweave": [0, 0, 0, 0, 0, 1]}
    assert all(type(value) is Decimal
               for series in line.capacity_series(days, line.providers).values() for value in series)
    assert line.released_series(days) == [0, 0, 10 * B, 10 * B, 16 * B, 16 * B]
    assert line.planned_series([date(2026, 1, 31), date(2026, 2, 1), date(2026, 3, 31),
                                date(2026, 4, 1)]) == [0, D("1.5"), D("1.5"), D("4.5")]


def test_a_timeline_bounded_by_a_stored_time_leaves_out_what_occurred_from_it_on(book):
    from ledger.default_plugins.timeline import CapacityChange, Release, build

    _capacity_book(book)
    # the third of January, from midnight, is out; the release of the 2nd, later in seq, is in
    line = build(book.read(), bound="2026-01-03T00:00:00.000000Z")
    D = Decimal
    assert line.capacity == [CapacityChange(date(2026, 1, 1), "aws", D(1), D(1)),
                             CapacityChange(date(2026, 1, 1), "oracle", D("2.5"), D("2.5"))]
    assert line.releases == [Release(date(2026, 1, 2), 10 * D(10**9), 10 * D(10**9))]
    assert len(line.planned) == 2


def test_a_decommissioning_with_nothing_to_take_as_of_a_date_leaves_the_rest_of_the_timeline(book):
    from ledger import CapacityCommissioned, CapacityDecommissioned
    from ledger.default_plugins.timeline import CapacityChange

    def commission(site, provider, day):
        book.append(CapacityCommissioned(site=site, provider=provider, vendor="v", platform="x",
                                         gigawatts=Decimal(1)), occurred_at=day)

    commission("s9", "oracle", "2026-01-10")
    book.append(CapacityDecommissioned(site="s9", gigawatts=Decimal("0.4")), occurred_at="2026-01-02")
    commission("s8", "aws", "2026-01-03")
    assert timeline(book, until="2026-01-05").capacity == [
        CapacityChange(date(2026, 1, 3), "aws", Decimal(1), Decimal(1))]
