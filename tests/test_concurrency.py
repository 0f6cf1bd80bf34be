"""Concurrent writers: four processes appending to one ledger file at once, some to one stream at
its expected version, retrying on conflict. Nothing is lost, duplicated or out of order."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict

from ledger import Ledger

WORKER = os.path.join(os.path.dirname(__file__), "workers.py")
WRITERS = 4
APPENDS = int(os.environ.get("GIGALEDGER_CONCURRENT_APPENDS", "2500"))


def test_four_processes_append_without_gaps_duplicates_or_losses(tmp_path):
    db = tmp_path / "shared.db"
    writers = [subprocess.Popen([sys.executable, WORKER, "concurrent", str(db), str(w), str(APPENDS)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for w in range(WRITERS)]
    results = [writer.communicate(timeout=600) for writer in writers]
    for writer, (out, err) in zip(writers, results):
        assert writer.returncode == 0, err  # a busy database waited instead of failing
    assert sum(int(out) for out, _ in results) > 0  # expected versions did conflict, and were retried
    with Ledger.open(db, load_entrypoints=False) as book:
        total = WRITERS * APPENDS
        assert book.verify()[0] == total
        records = list(book.read())
    assert [r.seq for r in records] == list(range(1, total + 1))
    assert {r.id for r in records} == {f"w{w}-{n}" for w in range(WRITERS) for n in range(APPENDS)}
    versions = defaultdict(list)
    for record in records:
        versions[record.stream].append(record.version)
    assert all(v == list(range(1, len(v) + 1)) for v in versions.values())
    assert len(versions["shared"]) == WRITERS * len(range(0, APPENDS, 5))
    for w in range(WRITERS):  # each writer's own appends kept their order
        mine = [r.data["weekly_active_users"] for r in records if r.id.startswith(f"w{w}-")]
        assert mine == list(range(APPENDS))


def test_a_held_lock_makes_writers_wait_then_fail_clearly_and_readers_carry_on(tmp_path):
    import sqlite3

    from ledger import LedgerError, UsageReported

    path = tmp_path / "busy.db"
    with Ledger.open(path, load_entrypoints=False, snapshot_every=5) as book:
        book.append_many([UsageReported(product="p", weekly_active_users=n) for n in range(20)])
    holder = sqlite3.connect(path)
    holder.execute("BEGIN IMMEDIATE")  # another process's long write
    try:
        with Ledger.open(path, load_entrypoints=False, timeout=0.3) as book:  # opening only reads
            assert book.replay().report()["as_of"]["seq"] == 20  # a snapshot is skipped, not awaited
            try:
                book.append(UsageReported(product="p", weekly_active_users=1))
                raise AssertionError("the append did not wait for the lock")
            except LedgerError as error:
                assert str(error) == f"{path}: busy: another process held the write lock for more than 0.3 s"
            assert len(book) == 20
    finally:
        holder.execute("ROLLBACK")
        holder.close()
