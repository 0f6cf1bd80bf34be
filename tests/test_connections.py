"""Several ``Ledger`` objects on one file (and on one PostgreSQL schema): whatever one of them
appends, refuses or rolls back, every live view, every replay and every snapshot each of them
gives equals a full replay from scratch."""

from __future__ import annotations

import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ledger import (
    AgreementRevised,
    CapacityDecommissioned,
    ConflictError,
    InvestmentReleased,
    Ledger,
    ProviderContracted,
    Rejected,
    UsageReported,
)

from .conftest import postgres_url
from .test_builtin_plugins import B, commission, signed

#: An event every ledger refuses: it revises an agreement nobody signed.
POISON = AgreementRevised(agreement="never-signed", status="definitive")

events = st.one_of(
    st.builds(commission, st.sampled_from(["0.5", "1", "1.5"]), st.sampled_from([None, "a", "b"]),
              site=st.sampled_from(["s1", "s2"]), provider=st.sampled_from(["oracle", "aws"])),
    st.builds(CapacityDecommissioned, site=st.sampled_from(["s1", "s2"]),
              gigawatts=st.sampled_from([Decimal("0.5"), Decimal("2")])),
    st.builds(signed, st.sampled_from(["a", "b"]), st.sampled_from(["intent", "definitive"]),
              cap=st.sampled_from(["15", "40"]), tranche=st.just("10"), per=st.sampled_from(["0.5", "1"])),
    st.builds(AgreementRevised, agreement=st.sampled_from(["a", "b"]),
              status=st.sampled_from(["definitive", "cancelled", "completed"])),
    st.builds(InvestmentReleased, investor=st.just("nvidia"), investee=st.just("openai"),
              usd=st.integers(1, 12).map(lambda n: n * B), agreement=st.sampled_from([None, "a"])),
    st.builds(ProviderContracted, contract=st.sampled_from(["c1", "c2"]), buyer=st.just("openai"),
              provider=st.sampled_from(["oracle", "aws"]), usd=st.integers(1, 50).map(lambda n: n * B)),
    st.builds(UsageReported, product=st.sampled_from(["chat", "api"]), weekly_active_users=st.integers(0, 99)),
)
who = st.integers(0, 2)


def full_replay(location):
    """The report of a new ledger object that folds the whole log, no snapshot used."""
    with Ledger.open(location, load_entrypoints=False, snapshot_every=0) as fresh:
        return fresh.head(), fresh.replay(use_snapshots=False).report()


class Connections(RuleBasedStateMachine):
    """Three ledger objects on one log: appends, batches (some rolled back by a refused event),
    stale expected versions, replays held and replays as of a seq, snapshots and reopenings,
    interleaved in any order."""

    def __init__(self):
        super().__init__()
        self.location = self.new_location()
        self.books = [self.open(n) for n in range(3)]
        self.held = []  # (view, its report when handed out)
        self.stored = 0  # records stored, counted by what each write returned

    def new_location(self):
        self.folder = tempfile.mkdtemp(prefix="gigaledger-connections-")
        return str(Path(self.folder) / "ledger.db")

    def open(self, n):
        # one ledger never saves snapshots, one now and then, one often
        return Ledger.open(self.location, load_entrypoints=False, snapshot_every=(0, 7, 3)[n])

    def teardown(self):
        for book in self.books:
            book.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def length(self):
        return len(self.books[0])

    @rule(n=who, event=events)
    def append(self, n, event):
        before = self.length()
        try:
            self.books[n].append(event)
        except Rejected:
            assert self.length() == before
            return
        after = self.length()
        assert after >= before + 1  # the event, and what it derived
        self.stored = after

    @rule(n=who, batch=st.lists(events, min_size=1, max_size=5), poison=st.booleans())
    def append_a_batch(self, n, batch, poison):
        before = self.length()
        try:
            self.books[n].append_many(batch + [POISON] if poison else batch)
        except Rejected:
            assert self.length() == before  # rolled back, whatever it had folded
            return
        assert not poison and self.length() >= before + len(batch)
        self.stored = self.length()

    @rule(reader=who, writer=who, users=st.integers(0, 9))
    def a_stale_expected_version_is_refused(self, reader, writer, users):
        stream = "usage/chat"
        seen = self.books[reader].stream_version(stream)
        self.books[writer].append(UsageReported(product="chat", weekly_active_users=users))
        assert self.books[reader].stream_version(stream) == seen + 1
        before = self.length()
        with pytest.raises(ConflictError, match=f"at version {seen + 1}, not the expected {seen}"):
            self.books[reader].append(UsageReported(product="chat", weekly_active_users=users),
                                      expected_version=seen)
        assert self.length() == before
        self.books[reader].append(UsageReported(product="chat", weekly_active_users=users),
                                  expected_version=seen + 1)
        self.stored = self.length()

    @rule(n=who)
    def hold_a_replay(self, n):
        view = self.books[n].replay()
        self.held.append((view, view.report()))

    @rule(n=who, data=st.data())
    def replay_as_of_a_seq(self, n, data):
        head = self.length()
        seq = data.draw(st.integers(0, head))
        with Ledger.open(self.location, load_entrypoints=False, snapshot_every=0) as fresh:
            expected = fresh.replay(until=seq, use_snapshots=False).report()
        assert self.books[n].replay(until=seq).report() == expected

    @rule(n=who)
    def snapshot(self, n):
        assert self.books[n].snapshot() == self.length()

    @rule(n=who)
    def reopen(self, n):
        self.books[n].close()
        self.books[n] = self.open(n)

    @precondition(lambda self: self.stored)
    @rule(n=who)
    def catch_up_a_replay_of_a_prefix(self, n):
        book = self.books[n]
        view = book.replay(until=self.stored // 2)
        assert book.catch_up(view).report() == full_replay(self.location)[1]

    @invariant()
    def every_view_and_replay_is_a_full_replay(self):
        head, report = full_replay(self.location)
        for book in self.books:
            assert book.head() == head
            assert book.view.report() == report
            assert book.replay().report() == report
        for view, then in self.held:  # a view replay() handed out stays where it was
            assert view.report() == then


Connections.TestCase.settings = settings(max_examples=25, stateful_step_count=20, deadline=None)
TestOnFile = Connections.TestCase


class PostgresConnections(Connections):
    """The same machine on one PostgreSQL schema."""

    url = None

    def new_location(self):
        from ledger.testing import fresh_schema

        location, self.drop = fresh_schema(self.url)
        return location

    def open(self, n):
        return Ledger.open(self.location, load_entrypoints=False, snapshot_every=(0, 7, 3)[n])

    def teardown(self):
        for book in self.books:
            book.close()
        self.drop()


class TestOnPostgres(PostgresConnections.TestCase):
    settings = settings(max_examples=10, stateful_step_count=15, deadline=None)

    def setUp(self):
        PostgresConnections.url = postgres_url()


# --- hand-worked: the caches each of these would leave stale ------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def location(request, tmp_path):
    if request.param == "postgres":
        return request.getfixturevalue("postgres")
    return str(tmp_path / "ledger.db")


def two(location, **options):
    return (Ledger.open(location, load_entrypoints=False, **options),
            Ledger.open(location, load_entrypoints=False, **options))


def test_a_live_view_after_its_batch_was_rolled_back_and_another_connection_appended(location):
    first, second = two(location)
    with first, second:
        first.append(signed(cap="100", tranche="10"))
        assert second.view.report() == first.view.report()
        with pytest.raises(Rejected):  # folds 1 GW, a derived tranche, then is refused
            second.append_many([commission("1", "a"), POISON])
        assert second.view.report() == full_replay(location)[1]
        first.append_many([UsageReported(product="p", weekly_active_users=1),
                           UsageReported(product="p", weekly_active_users=2)])  # the same seqs
        report = full_replay(location)[1]
        assert second.view.report() == report and second.replay().report() == report
        assert report["investment"]["agreements"]["a"]["commissioned_gigawatts"] == "0"


def test_replay_after_another_connection_appended(location):
    first, second = two(location)
    with first, second:
        first.append(signed(cap="100", tranche="10"))
        before = first.replay()
        kept = before.report()
        second.append(commission("2", "a"))  # and two derived tranches
        after = first.replay()
        assert after.report() == full_replay(location)[1]
        assert after.report()["investment"]["agreements"]["a"]["tranches_released"] == 2
        assert before.report() == kept  # the view handed out earlier stays put
        assert first.head() == second.head() and first.head()[0] == 4


def test_appends_after_another_connection_appended_continue_its_seq_and_versions(location):
    first, second = two(location)
    with first, second:
        first.append(UsageReported(product="p", weekly_active_users=1))
        second.append(UsageReported(product="p", weekly_active_users=2))
        record = first.append(UsageReported(product="p", weekly_active_users=3), expected_version=2)
        assert (record.seq, record.version) == (3, 3)
        with pytest.raises(ConflictError):
            second.append(UsageReported(product="p", weekly_active_users=4), expected_version=2)
        assert second.append(UsageReported(product="p", weekly_active_users=4)).version == 4
        assert first.verify()[0] == 4 and second.verify() == first.verify()


def test_a_snapshot_taken_by_another_connection_gives_the_full_replay(location):
    first, second = two(location, snapshot_every=0)
    with first, second:
        first.append(signed(cap="40", tranche="10", status="intent"))
        first.append(commission("2.5", "a"))
        assert second.snapshot() == 2  # nothing derived under intent
        first.append(AgreementRevised(agreement="a", status="definitive"))  # two tranches
        with Ledger.open(location, load_entrypoints=False, snapshot_every=0) as third:
            assert third.replay().report() == full_replay(location)[1]
            assert third.view.report()["investment"]["agreements"]["a"]["tranches_released"] == 2
