"""Crash safety: a writer killed (SIGKILL) at random moments never leaves part of a batch, and
never loses a batch it saw committed; every reopen verifies."""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter

import pytest

from ledger import Ledger, NewEvent, Signer, UsageReported, open_checkpoint
from ledger.tree import check as check_tree
from ledger.tree import stored_size

from .conftest import drop_tree
from .test_history import write
from .workers import BATCH_SIZE, CHECKPOINT_KEY

WORKER = os.path.join(os.path.dirname(__file__), "workers.py")
KILLS = int(os.environ.get("GIGALEDGER_CRASH_KILLS", "20"))

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


def test_kills_during_checkpoints_leave_all_or_nothing(tmp_path):
    """A process appending and signing checkpoints in turn, killed as it starts a checkpoint (on
    reading that its append committed, after a random few milliseconds): every time the file
    verifies (the tree against the records, each kept checkpoint's signature and root against
    the tree), it keeps the checkpoints the process said it made, or one more, and the next
    checkpoint works."""
    db = tmp_path / "checkpoints.db"
    key = Signer.from_seed(*CHECKPOINT_KEY)
    rng = random.Random(17)
    kills = int(os.environ.get("GIGALEDGER_CHECKPOINT_KILLS", "5"))
    kept = 0
    for _ in range(kills):
        child = subprocess.Popen([sys.executable, WORKER, "checkpoint", str(db)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        lines = []
        for _ in range(rng.randrange(1, 6)):  # a few rounds, then kill as a checkpoint starts
            while not (line := child.stdout.readline()).startswith("appended"):
                assert line, child.stderr.read()
                lines.append(line)
        time.sleep(rng.uniform(0, 0.01))
        child.send_signal(signal.SIGKILL)
        out, err = child.communicate()
        assert child.returncode == -signal.SIGKILL, err
        said = kept + sum(line.startswith("checkpoint") for line in [*lines, *out.splitlines()])
        with Ledger.open(db, load_entrypoints=False, readonly=True) as book:
            count, _ = book.verify()  # the tree and every kept checkpoint
            notes = book.checkpoints()
        assert said <= len(notes) <= said + 1, (said, len(notes))
        sizes = [open_checkpoint(note, [key.verifier]).size for note in notes]
        assert sizes == sorted(sizes) and sizes[-1] <= count
        kept = len(notes)
    assert kept > 0
    with Ledger.open(db, load_entrypoints=False) as book:
        assert open_checkpoint(book.checkpoint(key), [key.verifier]).size == len(book)
        assert book.verify()[0] == len(book) and len(book.checkpoints()) == kept + 1


def test_a_killed_first_build_of_the_tree_leaves_all_or_nothing(tmp_path):
    """A ledger made before the Merkle tree, opened for writing and its tree built, killed at
    random moments (and once inside the build's transaction, for sure): the tree is absent,
    empty, or whole and matching the records; the records are untouched and verify; and the
    next opening builds the tree."""
    old = tmp_path / "old.db"
    with Ledger.open(old, load_entrypoints=False) as book:
        book.append_many([NewEvent(UsageReported(product=f"p{n % 5}", weekly_active_users=n),
                                   id=f"u{n}") for n in range(3_000)])
        expected = book.verify(), book.root()
    drop_tree(old)
    rng = random.Random(18)
    for run in range(int(os.environ.get("GIGALEDGER_TREE_KILLS", "4"))):
        db = tmp_path / f"build{run}.db"
        shutil.copy(old, db)
        pause = 0.3 if run == 0 else 0.0
        child = subprocess.Popen([sys.executable, WORKER, "tree", str(db), str(pause)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        if run % 2 == 0:  # once the tables are made (run 0: inside the build, for sure)
            while not (line := child.stdout.readline()).startswith(
                    "building" if run == 0 else "opened"):
                assert line, child.stderr.read()
        time.sleep(0 if run == 0 else rng.uniform(0, 0.1) if run % 2 == 0 else
                   rng.uniform(0.2, 0.9))  # else while it opens (and migrates) the file
        child.send_signal(signal.SIGKILL)
        out, err = child.communicate()
        assert child.returncode in (-signal.SIGKILL, 0), err
        with Ledger.open(db, load_entrypoints=False, readonly=True) as book:
            assert book.verify() == expected[0]  # the tree too, as far as it is stored
            size = stored_size(book._store)
            state = ("absent" if not book._store.has_tree else "empty" if size == 0 else
                     "whole")
        assert size in (0, expected[0][0]), f"part of the tree was stored: {size}"
        assert run > 0 or state == "empty", state  # killed inside the build: none of it
        with Ledger.open(db, load_entrypoints=False) as book:  # the next opening builds it
            assert book.build_tree() == expected[0][0] and book.root() == expected[1]
            assert check_tree(book._store) == expected[0][0]
