"""Snapshots, incremental catch-up, subscriptions and following: the fast paths give the same
answers as the slow ones."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import (
    ConflictError,
    Ledger,
    PluginWarning,
    Rejected,
    UsageReported,
    VerificationError,
    hookimpl,
)
from ledger.scenarios import ScenarioWarning
from ledger.snapshots import dump_state, load_state

from .conftest import EVENTS
from .test_builtin_plugins import domain_events, put, signed

FOLDS = {"count": 0}


class Counting:
    """A projection that counts how many records it folds (to see the snapshot used)."""

    name = "counting"
    handles = "*"
    state_type = dict[str, int]
    version = "1"

    def initial(self):
        return {}

    def apply(self, state, event, record):
        FOLDS["count"] += 1
        state[record.type] = state.get(record.type, 0) + 1

    def summary(self, state):
        return dict(sorted(state.items()))


def counting_plugin(version="1"):
    projection = Counting()
    projection.version = version

    class CountingPlugin:
        @staticmethod
        @hookimpl
        def register_projections(register):
            register(projection)

    return CountingPlugin


def open_file(path, version="1", **options):
    return Ledger.open(path, plugins=[counting_plugin(version)], load_entrypoints=False, **options)


def apply_all(book, events):
    for event in events:
        try:
            put(book, event, occurred_at=f"2026-01-{1 + book.head()[0] % 28:02d}")
        except (Rejected, ConflictError):  # refused, or an id drawn again with other content
            pass


@settings(max_examples=40, deadline=None)
@given(events=domain_events, split=st.integers(0, 30), until=st.integers(0, 30))
def test_snapshot_plus_tail_is_the_whole_replay_for_any_split(tmp_path_factory, events, split, until):
    path = tmp_path_factory.mktemp("snap") / "ledger.db"
    with open_file(path, snapshot_every=0) as book:
        apply_all(book, events[:split])
        book.snapshot()
        apply_all(book, events[split:])
        whole = book.replay(use_snapshots=False).report()
        assert book.replay().report() == whole
        for point in (until, min(until, book.head()[0])):
            assert book.replay(until=point).report() == book.replay(until=point, use_snapshots=False).report()
        for day in ("2026-01-03", "2026-01-15"):
            assert book.replay(until=day).report() == book.replay(until=day, use_snapshots=False).report()
    with open_file(path, snapshot_every=0) as reopened:  # starts from the snapshot, folds the tail
        assert reopened.view.report() == whole
        assert reopened.verify()[0] == len(reopened)


def test_the_snapshot_is_used_and_only_the_tail_is_folded(tmp_path):
    path = tmp_path / "ledger.db"
    with open_file(path, snapshot_every=0) as book:
        book.append_many([UsageReported(product="p", weekly_active_users=n) for n in range(100)])
        book.snapshot()
        book.append_many([UsageReported(product="p", weekly_active_users=n) for n in range(7)])
    with open_file(path, snapshot_every=0) as book:
        FOLDS["count"] = 0
        assert book.replay().report()["counting"] == {"usage.reported": 107}
        assert FOLDS["count"] == 7
        FOLDS["count"] = 0
        book.replay(use_snapshots=False)
        assert FOLDS["count"] == 107
        FOLDS["count"] = 0
        assert book.replay(until=50).report()["counting"] == {"usage.reported": 50}
        assert FOLDS["count"] == 50  # a point before the snapshot is replayed from the start


def test_snapshots_are_taken_as_the_ledger_grows(tmp_path):
    path = tmp_path / "ledger.db"
    with open_file(path, snapshot_every=10) as book:
        for n in range(25):
            book.append(UsageReported(product="p", weekly_active_users=n))
    connection = sqlite3.connect(path)
    seqs = sorted({seq for (seq,) in connection.execute("SELECT seq FROM snapshots")})
    connection.close()
    assert seqs == [10, 20]
    with open_file(path) as book:
        FOLDS["count"] = 0
        assert book.view.report()["counting"] == {"usage.reported": 25}
        assert FOLDS["count"] == 5


def tamper_snapshots(path, name="counting", state='{"usage.reported": 999}'):
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("UPDATE snapshots SET state = ? WHERE name = ?", (state, name))
    connection.close()


def test_a_stale_snapshot_is_never_used_and_a_forged_one_fails_verify(tmp_path):
    path = tmp_path / "ledger.db"
    with open_file(path, snapshot_every=0) as book:
        book.append_many([UsageReported(product="p", weekly_active_users=n) for n in range(10)])
        book.snapshot()
    tamper_snapshots(path)
    with open_file(path, version="2", snapshot_every=0) as book:  # the plugin changed: stale
        assert book.replay().report()["counting"] == {"usage.reported": 10}
        assert book.verify()[0] == 10
    with open_file(path, version="1", snapshot_every=0) as book:  # same plugin: used, and caught
        assert book.replay().report()["counting"] == {"usage.reported": 999}
        with pytest.raises(VerificationError, match="seq 10: the snapshot of counting does not match the log"):
            book.verify()


def test_a_snapshot_of_another_log_is_ignored(tmp_path):
    one, other = tmp_path / "one.db", tmp_path / "other.db"
    for path, product in ((one, "a"), (other, "b")):
        with open_file(path, snapshot_every=0) as book:
            book.append_many([UsageReported(product=product, weekly_active_users=n) for n in range(5)])
    with open_file(one, snapshot_every=0) as book:
        book.snapshot()
    connection = sqlite3.connect(other)
    with connection:
        connection.execute("ATTACH DATABASE ? AS one", (str(one),))
        connection.execute("INSERT INTO snapshots SELECT * FROM one.snapshots")
    connection.close()
    tamper_snapshots(other)
    with open_file(other, snapshot_every=0) as book:
        assert book.replay().report()["counting"] == {"usage.reported": 5}
        assert book.verify()[0] == 5  # its hash names a record this log does not have


def test_views_from_replay_stay_put_while_the_ledger_moves_on(book, monkeypatch):
    copies = []
    copy_state = book._folder.copy_state
    monkeypatch.setattr(book._folder, "copy_state", lambda name, state: copies.append(name) or copy_state(name, state))
    book.append_many([signed(), UsageReported(product="p", weekly_active_users=1)])
    first = book.replay()
    first_report = first.report()
    book.append(UsageReported(product="p", weekly_active_users=2))
    assert sorted(copies) == ["gpu_inventory", "investment", "pipeline", "provider_mix"]  # first got its own
    assert first.seq == 2 and first.report() == first_report
    second = book.replay()
    assert second.seq == 3 and second.report() == book.replay(use_snapshots=False).report()
    assert first["investment"] is not book.view["investment"]
    copies.clear()
    del first, second
    book.replay().report()  # dropped at once: the next append copies nothing
    book.append(UsageReported(product="p", weekly_active_users=3))
    assert copies == []


# --- subscriptions ------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(st.one_of(
    st.tuples(st.just("append"), st.integers(1, 3), st.booleans()),
    st.tuples(st.just("subscribe"), st.integers(0, 12), st.booleans()),
    st.tuples(st.just("close"), st.integers(0, 5), st.booleans()),
), max_size=25))
def test_subscriptions_see_every_event_once_in_order(steps):
    with Ledger.open(load_entrypoints=False) as book:
        subscribers = []  # (after, seen, subscription)
        for kind, number, flag in steps:
            if kind == "append":
                events = [UsageReported(product="p", weekly_active_users=n) for n in range(number)]
                if flag:  # the second batch signing "dup" is refused, and delivers nothing
                    events.append(signed(name="dup"))
                    if any(r.type == "agreement.signed" for r in book.read()):
                        with pytest.raises(Rejected):
                            book.append_many(events)
                        continue
                book.append_many(events)
            elif kind == "subscribe":
                seen = []
                subscribers.append((number, seen, book.subscribe(lambda r, seen=seen: seen.append(r.seq), after=number)))
            elif subscribers:
                subscribers[number % len(subscribers)][2].close()
        head = book.head()[0]
        for after, seen, subscription in subscribers:
            assert seen == sorted(set(seen)) and all(s > after for s in seen)
            if subscription.active:
                assert seen == list(range(after + 1, head + 1))
            else:
                assert seen == list(range(after + 1, after + 1 + len(seen)))


def test_a_subscriber_that_appends_and_one_that_fails(book):
    seen, echoed = [], []

    def echo(record):
        echoed.append(record.seq)
        if record.data["weekly_active_users"] < 3:
            book.append(UsageReported(product="p", weekly_active_users=record.data["weekly_active_users"] + 1))

    def broken(record):
        raise RuntimeError("down")

    book.subscribe(echo)
    with pytest.warns(PluginWarning) as caught:
        book.subscribe(lambda r: seen.append(r.seq))
        book.subscribe(broken)
        book.append(UsageReported(product="p", weekly_active_users=0))
    assert echoed == [1, 2, 3, 4] and seen == [1, 2, 3, 4]
    assert [str(w.message).split(": failed on ")[1] for w in caught] == [
        f"seq {n}: RuntimeError: down (the record is stored)" for n in (1, 2, 3, 4)]


def test_poll_delivers_what_another_process_appended(tmp_path):
    path = tmp_path / "ledger.db"
    with Ledger.open(path, load_entrypoints=False) as mine, Ledger.open(path, load_entrypoints=False) as other:
        seen = []
        mine.subscribe(lambda r: seen.append(r.seq))
        other.append_many([UsageReported(product="p", weekly_active_users=n) for n in range(3)])
        assert seen == []
        mine.poll()
        assert seen == [1, 2, 3]


def test_follow_waits_through_the_callers_wait_and_stops_when_it_raises(tmp_path):
    """``follow(wait=...)``: between looks it calls ``wait(interval)``; what another writer
    appended meanwhile comes next; an exception from ``wait`` ends the following."""
    path = tmp_path / "ledger.db"
    with Ledger.open(path, load_entrypoints=False) as mine, Ledger.open(path, load_entrypoints=False) as other:
        mine.append(UsageReported(product="p", weekly_active_users=0))
        waits = []

        class Stop(Exception):
            pass

        def wait(seconds):
            waits.append(seconds)
            if len(waits) == 1:
                other.append_many([UsageReported(product="p", weekly_active_users=n) for n in (1, 2)])
            else:
                raise Stop

        seen = []
        with pytest.raises(Stop):
            for record in mine.follow(0, interval=7.5, wait=wait):
                seen.append(record.seq)
        assert seen == [1, 2, 3] and waits == [7.5, 7.5]


def test_log_follow_prints_another_process_appends(tmp_path):
    path = tmp_path / "ledger.db"
    with Ledger.open(path, load_entrypoints=False) as book:
        book.append(UsageReported(product="p", weekly_active_users=1))
    follower = subprocess.Popen(
        [sys.executable, "-m", "ledger", "log", str(path), "--follow", "--json", "--interval", "0.05"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert json.loads(follower.stdout.readline())["seq"] == 1
        with Ledger.open(path, load_entrypoints=False) as book:
            book.append_many([UsageReported(product="p", weekly_active_users=n) for n in range(2, 4)])
        assert [json.loads(follower.stdout.readline())["seq"] for _ in range(2)] == [2, 3]
    finally:
        follower.terminate()
        follower.wait(timeout=10)


def test_progress_is_reported_to_the_end(book, tmp_path):
    history = tmp_path / "h.jsonl"
    history.write_text("".join(json.dumps({"type": "usage.reported", "occurred_at": "2026-01-01",
                                           "data": {"product": "p", "weekly_active_users": n}}) + "\n"
                               for n in range(12_000)))
    calls = []
    book.import_jsonl(history, progress=lambda done, total: calls.append((done, total)))
    size = os.path.getsize(history)
    assert calls[-1] == (size, size) and len(calls) >= 3
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:]))
    replayed = []
    book.replay(use_snapshots=False, progress=lambda done, total: replayed.append((done, total)))
    assert replayed[-1] == (12_000, 12_000)


def test_the_builtin_projections_are_snapshotted(tmp_path):
    path = tmp_path / "ledger.db"
    with Ledger.open(path, load_entrypoints=False, snapshot_every=0) as book:
        with pytest.warns(ScenarioWarning, match="nvidia-openai-plan.jsonl"):
            book.import_jsonl(os.path.join(EVENTS, "nvidia-openai-plan.jsonl"),
                              os.path.join(EVENTS, "openai-compute-2025-2026.jsonl"))
        whole = book.replay(use_snapshots=False).report()
        seq = book.snapshot()
    connection = sqlite3.connect(path)
    names = {name for (name,) in connection.execute("SELECT name FROM snapshots WHERE seq = ?", (seq,))}
    connection.close()
    assert names == {"investment", "gpu_inventory", "provider_mix", "pipeline", "as_of"}
    with Ledger.open(path, load_entrypoints=False) as book:
        assert book.view.report() == whole
        assert book.replay().report() == whole


@settings(max_examples=40, deadline=None)
@given(events=domain_events)
def test_builtin_states_survive_their_snapshot_form(events):
    with Ledger.open(load_entrypoints=False) as book:
        apply_all(book, [signed(), *events])
        view = book.view
        for name in ("investment", "gpu_inventory", "provider_mix", "pipeline"):
            projection = view.projection(name)
            assert load_state(projection, dump_state(projection, view[name])) == view[name]


@settings(max_examples=30, deadline=None)
@given(events=domain_events, split=st.integers(0, 30),
       forged=st.sampled_from(['{"usage.reported": 999}', '{}', '[]', 'not json', '{"x": "y"}']))
def test_a_stale_snapshot_is_never_used_whatever_it_holds(tmp_path_factory, events, split, forged):
    path = tmp_path_factory.mktemp("stale") / "ledger.db"
    with open_file(path, version="1", snapshot_every=0) as book:
        apply_all(book, events[:split])
        book.snapshot()
        apply_all(book, events[split:])
        whole = book.replay(use_snapshots=False).report()
    tamper_snapshots(path, state=forged)
    connection = sqlite3.connect(path)
    with connection:  # every projection's snapshot is forged now
        connection.execute("UPDATE snapshots SET state = ?", (forged,))
    connection.close()
    with open_file(path, version="2", snapshot_every=0) as book:  # a new plugin version: all stale
        book._folder.fingerprints.of = {name: "another-version" for name in book._folder.fingerprints.of}
        assert book.replay().report() == whole
        assert book.view.report() == whole
        assert book.verify()[0] == len(book)


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_the_progress_bar_shows_on_a_terminal_only(tmp_path):
    import pty

    history = tmp_path / "h.jsonl"
    history.write_text("".join(json.dumps({"type": "usage.reported", "occurred_at": "2026-01-01",
                                           "data": {"product": "p", "weekly_active_users": n}}) + "\n"
                               for n in range(20_000)))

    def stderr_of(*args, terminal):
        leader, follower = pty.openpty() if terminal else (None, subprocess.PIPE)
        done = subprocess.run([sys.executable, "-m", "ledger", *args], stdout=subprocess.PIPE,
                              stderr=follower, timeout=120)
        assert done.returncode == 0
        if not terminal:
            return done.stderr.decode()
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(leader)
        return b"".join(chunks).decode(errors="replace")

    assert "importing" in stderr_of("import", str(tmp_path / "a.db"), str(history), terminal=True)
    assert stderr_of("import", str(tmp_path / "b.db"), str(history), terminal=False) == ""
    assert "importing" not in stderr_of("import", str(tmp_path / "c.db"), str(history), "--quiet",
                                        terminal=True)


_COUNTING_PLUGIN = """
from ledger import hookimpl

class Counting:
    name, handles, state_type, version = "counting", "*", dict[str, int], "1"

    def initial(self):
        return {}

    def apply(self, state, event, record):
        state[record.type] = state.get(record.type, 0) + 1

    def summary(self, state):
        return state

@hookimpl
def register_projections(register):
    register(Counting())
"""


def test_verify_checks_a_plugins_snapshots_when_given_the_plugin_and_names_them_when_not(tmp_path, run):
    """A tampered snapshot of a plugin's projection: verify with the plugin finds it; without it,
    verify cannot check it and says so (a note on stderr, ``unchecked_snapshots`` in JSON)."""
    plugin_file = tmp_path / "counting.py"
    plugin_file.write_text(_COUNTING_PLUGIN)
    db = tmp_path / "l.db"
    with Ledger.open(db, plugins=[str(plugin_file)], load_entrypoints=False, snapshot_every=2) as book:
        book.append_many([UsageReported(product="p", weekly_active_users=n) for n in range(1, 6)])
        book.snapshot()
    connection = sqlite3.connect(db)
    with connection:
        connection.execute("UPDATE snapshots SET state = ? WHERE name = 'counting'",
                           ('{"usage.reported": 999}',))
    connection.close()
    alone = run("verify", db)
    assert alone.code == 0 and alone.out.startswith("ok: 5 records")
    assert alone.err == ("note: the snapshots of counting were not checked: no loaded plugin has "
                         "that projection (give its plugin with --plugin)\n")
    assert json.loads(run("verify", db, "--json").out)["unchecked_snapshots"] == ["counting"]
    loaded = run("verify", db, "--plugin", plugin_file)
    assert (loaded.code, loaded.out) == (1, "")
    assert "the snapshot of counting does not match the log" in loaded.err


@settings(max_examples=30, deadline=None)
@given(cap=st.integers(1, 1000), tranche_share=st.integers(1, 100), exponent=st.integers(0, 8),
       shift=st.integers(0, 3), gigawatts=st.integers(1, 40))
def test_amounts_given_in_any_decimal_form_snapshot_as_a_replay_reads_them(
        cap, tranche_share, exponent, shift, gigawatts):
    """``Decimal("100e9")``, ``"1.00E+11"`` and ``100000000000`` are one amount: the live view
    folds the event as the log stores it, so a snapshot taken from it is the one a replay of the
    log makes, ``verify()`` passes, and ``append`` returns the event that ``get`` gives back."""
    from decimal import Decimal

    from ledger import AgreementSigned, CapacityCommissioned

    def written(units: int) -> Decimal:  # the same amount, with an exponent and trailing zeros
        return Decimal(f"{units * 10**shift}E{exponent - shift}")

    with Ledger.open(load_entrypoints=False) as book:
        signed_record = book.append(AgreementSigned(
            agreement="a", investor="nvidia", investee="openai", status="definitive",
            gigawatts=Decimal(gigawatts), cap_usd=written(cap * 100),
            tranche_usd=written(cap * tranche_share)), occurred_at="2025-09-22")
        book.append(CapacityCommissioned(
            site="s", provider="oracle", vendor="nvidia", platform="gb200",
            gigawatts=Decimal(f"{gigawatts}E0"), agreement="a"), occurred_at="2026-01-01")
        assert str(signed_record.event.cap_usd) == str(book.get(signed_record.id).event.cap_usd)
        book.snapshot()
        assert book.verify()[0] == len(book)
        assert book.replay().report() == book.replay(use_snapshots=False).report()
