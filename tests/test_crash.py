"""Crash safety: a writer killed (SIGKILL) at random moments never leaves part of a batch, and
never loses a batch it saw committed; every reopen verifies."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter

import pytest

from ledger import Ledger

from .test_history import write
from .workers import BATCH_SIZE

WORKER = os.path.join(os.path.dirname(__file__), "workers.py")
KILLS = int(os.environ.get("GIGALEDGER_CRASH_KILLS", "30"))

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")


def batches(db) -> Counter:
    """Reopen after the crash, verify the whole chain, and count the records of each batch
    (named by run and batch: ``r3-b17``), derived records included."""
    with Ledger.open(db, load_entrypoints=False) as book:  # killed before it made the file: empty
        count, _ = book.verify()
        assert count == len(book)
    connection = sqlite3.connect(db)
    try:
        rows = connection.execute(
            "SELECT COALESCE(json_extract(data, '$.agreement'), json_extract(data, '$.product')),"
            " COUNT(*) FROM events GROUP BY 1").fetchall()
    finally:
        connection.close()
    return Counter(dict(rows))


def test_killed_writers_leave_whole_batches_only(tmp_path):
    db = tmp_path / "crash.db"
    rng = random.Random(20250922)
    committed_total = 0
    for run in range(KILLS):
        child = subprocess.Popen([sys.executable, WORKER, "crash", str(db), str(run)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Kill at a random moment after the interpreter has started (on a loaded machine the
        # imports alone can outlast the window), so that kills land while the ledger opens,
        # creates its tables and writes.
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        time.sleep(rng.uniform(0.05, 0.6))
        child.send_signal(signal.SIGKILL)
        out, err = child.communicate()
        assert child.returncode == -signal.SIGKILL, err
        said = [int(line) for line in out.split()]
        counts = batches(db)  # opens the file after the crash and verifies the whole chain
        mine = sorted(int(name.split("-b")[1]) for name in counts if name.startswith(f"r{run}-"))
        assert all(counts[f"r{run}-b{b}"] == BATCH_SIZE for b in mine), "part of a batch was stored"
        assert mine == list(range(len(mine))), "batches are missing in the middle"
        assert len(mine) >= len(said), "a batch reported committed was lost"
        assert len(mine) <= len(said) + 1
        committed_total += len(mine)
    assert sum(batches(db).values()) == committed_total * BATCH_SIZE
    assert committed_total > 0


def test_a_killed_import_is_all_or_nothing(tmp_path):
    lines = [{"type": "usage.reported", "occurred_at": "2026-01-01", "id": f"u{n}",
              "data": {"product": "chatgpt", "weekly_active_users": n}} for n in range(30_000)]
    history = write(tmp_path / "big.jsonl", lines)
    db = tmp_path / "import.db"
    rng = random.Random(7)
    outcomes = set()
    for _ in range(4):
        child = subprocess.Popen([sys.executable, "-m", "ledger", "import", str(db), str(history)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.3, 2.5))
        child.send_signal(signal.SIGKILL)
        child.communicate()
        with Ledger.open(db, load_entrypoints=False) as book:
            count, _ = book.verify()
        assert count in (0, len(lines))
        outcomes.add(count)
        if count:
            break
    assert outcomes  # at least one kill happened; the ledger held all or nothing every time


def test_kills_during_materialize_and_snapshots_leave_all_or_nothing(tmp_path):
    """A process appending, materializing and saving snapshots in turn is killed at random
    moments: every time the file verifies (which checks each stored snapshot against the log),
    each snapshot seq holds every projection's state or none, and the materialized tables are
    those of one run, all of them as of the seq they name."""
    import json

    from ledger.replay import jsonable

    db = tmp_path / "tables.db"
    rng = random.Random(16)
    kills = int(os.environ.get("GIGALEDGER_TABLE_KILLS", "8"))
    seen = set()
    for _ in range(kills):
        child = subprocess.Popen([sys.executable, WORKER, "materialize", str(db)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        time.sleep(rng.uniform(0.3, 1.5))
        child.send_signal(signal.SIGKILL)
        out, err = child.communicate()
        assert child.returncode == -signal.SIGKILL, err
        with Ledger.open(db, load_entrypoints=False, readonly=True) as book:
            book.verify()
            names = set(book.projections) | {"as_of"}
            connection = sqlite3.connect(db)
            try:
                by_seq = {}
                for name, seq in connection.execute("SELECT name, seq FROM snapshots"):
                    by_seq.setdefault(seq, set()).add(name)
                assert all(found == names for found in by_seq.values()), by_seq
                tables = {row[0] for row in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'")}
                if "materialized" not in tables:
                    continue
                (seq,), = connection.execute("SELECT seq FROM materialized").fetchall()
                stored = dict(connection.execute("SELECT name, summary FROM projections"))
            finally:
                connection.close()
            report = book.replay(until=seq).report()
            assert stored == {name: json.dumps(jsonable(summary), ensure_ascii=False)
                              for name, summary in report.items() if name != "as_of"}
            seen.add(seq)
    assert seen, "no materialize committed before a kill"


def test_a_killed_copy_leaves_all_or_nothing(tmp_path):
    """``gigaledger copy`` killed at random moments: the target is missing, an empty ledger, or
    the whole log verifying; a copy into what was left then completes."""
    lines = [{"type": "usage.reported", "occurred_at": "2026-01-01", "id": f"u{n}",
              "data": {"product": "chatgpt", "weekly_active_users": n}} for n in range(10_000)]
    source = tmp_path / "source.db"
    with Ledger.open(source, load_entrypoints=False) as book:
        book.import_jsonl(write(tmp_path / "big.jsonl", lines))
        expected = book.verify()
    rng = random.Random(15)
    outcomes = set()
    for run in range(4):
        target = tmp_path / f"copy{run}.db"
        child = subprocess.Popen([sys.executable, "-m", "ledger", "copy", str(source), str(target)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.4, 1.6))
        child.send_signal(signal.SIGKILL)
        child.communicate()
        if not target.exists():
            outcomes.add("missing")
            continue
        with Ledger.open(target, load_entrypoints=False) as book:
            found = book.verify() if len(book) else (0, None)
            assert found in ((0, None), expected)
            outcomes.add(found[0])
            if not found[0]:  # an empty ledger was left: the copy can be made again into it
                with Ledger.open(source, load_entrypoints=False, readonly=True) as original:
                    assert original.copy_to(book) == expected
    assert outcomes
