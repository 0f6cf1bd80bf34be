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
