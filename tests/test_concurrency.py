"""Concurrent writers: four processes appending to one ledger file at once, and eight appending
through PostgreSQL, some to one stream at its expected version, retrying on conflict. Nothing is
lost, duplicated or out of order."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict

from ledger import Ledger

WORKER = os.path.join(os.path.dirname(__file__), "workers.py")
WRITERS = 4
APPENDS = int(os.environ.get("GIGALEDGER_CONCURRENT_APPENDS", "2500"))
PG_APPENDS = int(os.environ.get("GIGALEDGER_CONCURRENT_PG_APPENDS", "400"))


def check_concurrent_writers(location: str, writers: int, appends: int) -> None:
    """``writers`` processes append ``appends`` events each to the ledger at ``location``: seq
    1..n with nothing missing, duplicated or reordered, versions contiguous, the chain verifies."""
    processes = [subprocess.Popen([sys.executable, WORKER, "concurrent", location, str(w), str(appends)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for w in range(writers)]
    results = [process.communicate(timeout=900) for process in processes]
    for process, (out, err) in zip(processes, results):
        assert process.returncode == 0, err  # a busy database waited instead of failing
    assert sum(int(out) for out, _ in results) > 0  # expected versions did conflict, and were retried
    with Ledger.open(location, load_entrypoints=False) as book:
        total = writers * appends
        assert book.verify()[0] == total
        records = list(book.read())
    assert [r.seq for r in records] == list(range(1, total + 1))
    assert {r.id for r in records} == {f"w{w}-{n}" for w in range(writers) for n in range(appends)}
    versions = defaultdict(list)
    for record in records:
        versions[record.stream].append(record.version)
    assert all(v == list(range(1, len(v) + 1)) for v in versions.values())
    assert len(versions["shared"]) == writers * len(range(0, appends, 5))
    for w in range(writers):  # each writer's own appends kept their order
        mine = [r.data["weekly_active_users"] for r in records if r.id.startswith(f"w{w}-")]
        assert mine == list(range(appends))


def test_four_processes_append_without_gaps_duplicates_or_losses(tmp_path):
    check_concurrent_writers(str(tmp_path / "shared.db"), WRITERS, APPENDS)


def test_eight_connections_append_through_postgres_without_gaps_or_losses(postgres):
    check_concurrent_writers(postgres, 8, PG_APPENDS)


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


def test_readers_see_a_verifying_prefix_of_whole_batches_while_four_processes_append(tmp_path):
    """Two reader processes read the whole log again and again while four processes append
    batches: every read is seqs 1..n whose chain verifies, of whole batches only, never shorter
    than the read before (the checks are in ``workers.reader``)."""
    from .workers import READ_BATCH

    db = str(tmp_path / "read.db")
    with Ledger.open(db, load_entrypoints=False):
        pass  # the tables exist before anyone reads
    batches = int(os.environ.get("GIGALEDGER_READ_BATCHES", "60"))
    total = WRITERS * batches * READ_BATCH
    readers = [subprocess.Popen([sys.executable, WORKER, "reader", db, str(total), "240"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    writers = [subprocess.Popen([sys.executable, WORKER, "batches", db, str(w), str(batches)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for w in range(WRITERS)]
    for process in writers:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    partial_reads = 0
    for process in readers:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        partial, reads = map(int, out.split())
        partial_reads += partial
    assert partial_reads > 0, "no read happened while the writers were part-way"
    with Ledger.open(db, load_entrypoints=False) as book:
        assert book.verify()[0] == total
