"""Reading ahead in a child process (ledger/readahead.py) changes nothing but the speed: an import
read ahead stores the very rows an import read in one process stores, and a bad line gets the
very same error, whatever the line and wherever it stops the child."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import threading
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import Ledger, LedgerError, readahead
from ledger.appending import Appender
from ledger.canonical import dumps

from .conftest import EVENTS, HERE
from .strategies import any_event

CORPUS = os.path.join(HERE, "bad_input")
CLOCK = datetime(2026, 12, 3, 7, 0, tzinfo=timezone.utc)
PLAN = os.path.join(EVENTS, "nvidia-openai-plan.jsonl")


def sent_lines(monkeypatch) -> list[int]:
    """Count the lines the importing process got made ready from the child."""
    count = [0]
    original = Appender.add_sent

    def counted(self, *args):
        count[0] += 1
        return original(self, *args)

    monkeypatch.setattr(Appender, "add_sent", counted)
    return count


def import_outcome(db, path, *, ahead: bool, monkeypatch) -> tuple[str, str]:
    """(the error, the export) of importing ``path`` into a copy of nothing or of ``db``, read
    ahead or not."""
    monkeypatch.setattr(readahead, "MIN_BYTES", 0 if ahead else 1 << 62)
    with Ledger.open(db, load_entrypoints=False, clock=lambda: CLOCK) as book:
        try:
            book.import_jsonl(path)
            error = ""
        except LedgerError as failure:
            error = str(failure)
        out = io.StringIO()
        book.export_jsonl(out)
    return error, out.getvalue()


def test_a_large_history_is_read_ahead_and_stored_alike(tmp_path, monkeypatch):
    count = sent_lines(monkeypatch)
    history = tmp_path / "plan.jsonl"
    lines = open(PLAN, encoding="utf-8").read()
    history.write_text(lines)
    ahead = import_outcome(tmp_path / "a.db", history, ahead=True, monkeypatch=monkeypatch)
    assert count[0] == lines.count('"type"')  # every line came made ready from the child
    count[0] = 0
    here = import_outcome(tmp_path / "b.db", history, ahead=False, monkeypatch=monkeypatch)
    assert count[0] == 0
    assert ahead == here and ahead[0] == ""


def test_a_small_file_or_a_threaded_process_is_read_here(tmp_path, monkeypatch):
    assert readahead.MIN_BYTES >= 1 << 20
    assert not readahead.forks(PLAN)  # a few kilobytes
    monkeypatch.setattr(readahead, "MIN_BYTES", 0)
    assert readahead.forks(PLAN)
    assert not readahead.forks(tmp_path / "missing.jsonl")
    with monkeypatch.context() as patch:  # one core: a child would only share it
        patch.setattr(readahead.os, "sched_getaffinity", lambda pid: {0})
        assert not readahead.forks(PLAN)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not readahead.forks(PLAN)  # forking beside another thread is not safe
    finally:
        stop.set()
        thread.join()


@pytest.mark.parametrize("case", sorted(name[:-6] for name in os.listdir(CORPUS)
                                        if name.endswith(".jsonl")))
def test_each_bad_file_gets_the_same_error_read_ahead(tmp_path, monkeypatch, case):
    for name in ("a", "b"):
        with Ledger.open(tmp_path / f"{name}.db", load_entrypoints=False,
                         clock=lambda: CLOCK) as book:
            book.import_jsonl(PLAN)
    path = os.path.join(CORPUS, f"{case}.jsonl")
    ahead = import_outcome(tmp_path / "a.db", path, ahead=True, monkeypatch=monkeypatch)
    here = import_outcome(tmp_path / "b.db", path, ahead=False, monkeypatch=monkeypatch)
    assert ahead == here
    assert ahead[0]  # every file of the corpus is refused


def no_children_left() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_the_child_is_reaped_whether_the_import_ends_well_or_not(tmp_path, monkeypatch):
    history = tmp_path / "h.jsonl"
    shutil.copy(PLAN, history)
    with open(history, "a", encoding="utf-8") as out:
        out.write('{"type": "nothing.known", "occurred_at": "2027-01-01", "data": {}}\n')
    monkeypatch.setattr(readahead, "MIN_BYTES", 0)
    with Ledger.open(tmp_path / "db", load_entrypoints=False) as book:
        with pytest.raises(LedgerError, match="unknown event type"):
            book.import_jsonl(history)
        assert book.head()[0] == 0
        book.import_jsonl(PLAN)
    assert no_children_left()


def test_stopping_midway_leaves_no_child(tmp_path, monkeypatch):
    """A consumer that stops reading (an error in a later line, Ctrl-C) kills the child."""
    monkeypatch.setattr(readahead, "MIN_BYTES", 0)
    monkeypatch.setattr(readahead, "CHUNK", 2)
    with Ledger.open(":memory:", load_entrypoints=False) as book:
        items = readahead.items(PLAN, book._appender.prepare_line)
        first = next(items)
        assert first[0] == readahead.READY and first[1] == 1
        items.close()
    assert no_children_left()


line_ids = st.one_of(st.none(), st.sampled_from(["a", "b", "c"]),
                     st.text("abcdef0123456789", min_size=8, max_size=8))
meta_values = st.one_of(st.text(max_size=8), st.integers(-5, 5), st.booleans(),
                        st.just("\ud800"),  # a lone surrogate: JSON frames cannot carry it
                        st.decimals(places=2, min_value=0, max_value=9))


@st.composite
def history_lines(draw) -> str:
    """A line of a history: mostly events (random ids, streams and metadata, scenario marks),
    some broken, some exported records that cannot follow."""
    kind = draw(st.sampled_from(["event"] * 8 + ["broken", "record"]))
    if kind == "broken":
        return draw(st.sampled_from(['{"type": 1}', "[]", "{", '{"type": "usage.reported"}', "",
                                     '{"type": "usage.reported", "occurred_at": "2026-13-01", '
                                     '"data": {"product": "x", "weekly_active_users": 1}}']))
    if kind == "record":
        return json.dumps({"seq": 1, "id": "r", "stream": "s", "version": 1, "type": "usage.reported",
                           "schema": 1, "occurred_at": "2026-01-01T00:00:00.000000Z",
                           "recorded_at": "2026-01-01T00:00:00.000000Z",
                           "data": {"product": "x", "weekly_active_users": 1}, "meta": {},
                           "hash": "0" * 64})
    event = draw(any_event)
    line = {"type": event.type, "occurred_at": draw(st.dates()).isoformat(),
            "data": json.loads(dumps(book_codec.unstructure(event)))}
    identifier = draw(line_ids)
    if identifier is not None:
        line["id"] = identifier
    if draw(st.booleans()):
        line["stream"] = draw(st.sampled_from(["s1", "s2"]))
    if draw(st.booleans()):
        line["meta"] = draw(st.dictionaries(st.sampled_from(["source", "note", "scenario"]),
                                            meta_values, max_size=2))
    return json.dumps(line, default=str)


book_codec = Ledger.open(":memory:", load_entrypoints=False)._codec


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(history_lines(), min_size=1, max_size=12))
def test_random_histories_import_alike_read_ahead_or_not(tmp_path_factory, monkeypatch, lines):
    """Model comparison: the same outcome (error text, or every stored byte) either way. Lines
    without an id get new random ids, so the exports are compared with those ids blanked."""
    folder = tmp_path_factory.mktemp("h")
    history = folder / "h.jsonl"
    history.write_text("\n".join(lines) + "\n", encoding="utf-8")
    outcomes = []
    for ahead in (True, False):
        error, export = import_outcome(folder / f"{ahead}.db", history, ahead=ahead,
                                       monkeypatch=monkeypatch)
        rows = [json.loads(row) for row in export.splitlines()]
        made = {row["id"] for row in rows if len(row["id"]) == 36}  # uuid7: made by the ledger
        for row in rows:
            row["id"] = "new" if row["id"] in made else row["id"]
            row.pop("hash")
            for key in ("causation_id", "correlation_id"):
                if row["meta"].get(key) in made:
                    row["meta"][key] = "new"
        outcomes.append((error, rows))
    assert outcomes[0] == outcomes[1]
    assert no_children_left()


def test_no_child_to_be_had_reads_here(tmp_path, monkeypatch):
    """fork or pipe failing (no process, memory or descriptor left) is no error: the import
    reads the file itself."""
    monkeypatch.setattr(readahead, "MIN_BYTES", 0)
    count = sent_lines(monkeypatch)
    for broken in ("fork", "pipe"):
        def fail(*args):
            raise OSError(11, "Resource temporarily unavailable")

        with monkeypatch.context() as patch:
            patch.setattr(readahead.os, broken, fail)
            with Ledger.open(tmp_path / f"{broken}.db", load_entrypoints=False) as book:
                assert book.import_jsonl(PLAN).appended == 53
    assert count[0] == 0


def test_a_child_reaped_elsewhere_is_not_signalled(tmp_path, monkeypatch):
    """A host program that reaps every child (a SIGCHLD handler) may have reaped ours: its
    process number may be another's by then, so it gets no signal."""
    monkeypatch.setattr(readahead, "MIN_BYTES", 0)
    real_waitpid, signalled = os.waitpid, []

    def reaped_by_the_host(pid, options):
        real_waitpid(pid, 0)
        raise ChildProcessError(10, "No child processes")

    monkeypatch.setattr(readahead.os, "waitpid", reaped_by_the_host)
    monkeypatch.setattr(readahead.os, "kill", lambda *args: signalled.append(args))
    count = sent_lines(monkeypatch)
    with Ledger.open(tmp_path / "db", load_entrypoints=False) as book:
        assert book.import_jsonl(PLAN).appended == 53
    assert count[0] > 0 and signalled == []
    monkeypatch.undo()
    assert no_children_left()


def test_a_program_that_ignores_sigchld_gets_the_lines_error(tmp_path, monkeypatch):
    """With SIGCHLD ignored (inherited from a launcher), the system reaps the child itself: an
    import that stops early still says why, not that the child is gone."""
    monkeypatch.setattr(readahead, "MIN_BYTES", 0)
    monkeypatch.setattr(readahead, "CHUNK", 1)
    history = tmp_path / "h.jsonl"
    lines = open(PLAN, encoding="utf-8").read().splitlines()
    clash = dict(json.loads(lines[0]), id="twice")
    history.write_text("\n".join([json.dumps(clash), json.dumps(dict(clash, occurred_at="2031-01-01"))]
                                 + lines * 20) + "\n")  # the child still busy at line 2
    previous = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        with Ledger.open(tmp_path / "db", load_entrypoints=False) as book:
            with pytest.raises(LedgerError, match=f"{history}:2: id 'twice' is given twice"):
                book.import_jsonl(history)
            assert book.head()[0] == 0
    finally:
        signal.signal(signal.SIGCHLD, previous)
    assert no_children_left()


@pytest.mark.parametrize("how", ["pipe", "fifo"])
def test_a_history_from_a_pipe_is_read_here(tmp_path, monkeypatch, how):
    monkeypatch.setattr(readahead, "MIN_BYTES", 0)
    count = sent_lines(monkeypatch)
    text = open(PLAN, "rb").read()
    if how == "fifo":
        path = tmp_path / "fifo"
        os.mkfifo(path)
    else:
        reader, writer = os.pipe()
        path = f"/proc/self/fd/{reader}"
    assert not readahead.forks(path)  # not a regular file: no child, whatever its size

    def feed() -> None:
        if how == "fifo":
            with open(path, "wb") as out:
                out.write(text)
        else:
            with open(writer, "wb") as out:
                out.write(text)

    feeder = threading.Thread(target=feed)
    feeder.start()
    try:
        with Ledger.open(tmp_path / "db", load_entrypoints=False) as book:
            assert book.import_jsonl(path).appended == 53
    finally:
        feeder.join()
        if how == "pipe":
            os.close(reader)
    assert count[0] == 0
