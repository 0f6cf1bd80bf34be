"""A bounded soak: 4 processes run a fixed number of mixed operations each (appends, batches,
imports, reads, snapshots, signed checkpoints) against one ledger file while the test kills them
at random moments and restarts each from the operation it was in; at the end every acknowledged
write is present, nothing is stored twice, the chain, the Merkle tree and every kept checkpoint
verify, and the log agrees with a model of the writes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from ledger import Ledger, Signer, open_checkpoint
from ledger.tree import check as check_tree

from .workers import CHECKPOINT_KEY, soak_ops

WORKER = os.path.join(os.path.dirname(__file__), "workers.py")
WORKERS = 4
OPERATIONS = int(os.environ.get("GIGALEDGER_SOAK_OPERATIONS", "30"))
KILLS = int(os.environ.get("GIGALEDGER_SOAK_KILLS", "6"))
SEED = 16

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")


def start(db, worker: int, first: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, WORKER, "soak", str(db), str(worker), str(SEED),
                             str(first), str(OPERATIONS)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def resume_point(out: str, first: int) -> tuple[int, set[int]]:
    """Where a killed worker resumes (the operation in flight, else the next one), and the
    operations it acknowledged."""
    done = {int(line.split()[1]) for line in out.splitlines() if line.startswith("done ")}
    started = [int(line.split()[1]) for line in out.splitlines() if line.startswith("start ")]
    in_flight = [n for n in started if n not in done]
    return (in_flight[0] if in_flight else max(done | {first - 1}) + 1), done


def test_a_bounded_soak_with_random_kills_loses_nothing_acknowledged(tmp_path):
    db = tmp_path / "soak.db"
    with Ledger.open(db, load_entrypoints=False):
        pass
    rng = random.Random(SEED)
    running = {w: (start(db, w, 0), 0) for w in range(WORKERS)}
    acknowledged: set[tuple[int, int]] = set()
    kills = 0
    deadline = time.monotonic() + 240
    while running:
        assert time.monotonic() < deadline, "the soak did not finish in time"
        time.sleep(rng.uniform(0.02, 0.15))  # soon enough to land before fast workers finish
        alive = sorted(w for w, (process, _) in running.items() if process.poll() is None)
        if kills < KILLS and alive:
            process, first = running[rng.choice(alive)]
            process.send_signal(signal.SIGKILL)
            kills += 1
        for worker, (process, first) in list(running.items()):
            if process.poll() is None:
                continue
            out, err = process.communicate()
            resume, done = resume_point(out, first)
            acknowledged |= {(worker, n) for n in done}
            if process.returncode == 0:
                assert resume == OPERATIONS, out
                del running[worker]
            else:
                assert process.returncode == -signal.SIGKILL, err
                running[worker] = (start(db, worker, resume), resume)
    assert kills == KILLS
    # the model: every operation's records, once each, as written
    model = {id: (product, users) for w in range(WORKERS)
             for _, records in soak_ops(w, SEED, OPERATIONS) for id, product, users in records}
    assert acknowledged == {(w, n) for w in range(WORKERS) for n in range(OPERATIONS)}
    checkpoints = sum(kind == "checkpoint" for w in range(WORKERS)
                      for kind, _ in soak_ops(w, SEED, OPERATIONS))
    with Ledger.open(db, load_entrypoints=False) as book:
        count, _ = book.verify()  # the chain, the tree and every kept checkpoint
        assert check_tree(book._store) == count  # the tree covers the whole log
        stored = {record.id: (record.data["product"], record.data["weekly_active_users"])
                  for record in book.read()}
        kept = book.checkpoints()
    assert count == len(stored) == len(model), "a write was lost or stored twice"
    assert stored == model
    # each checkpoint operation kept one, or two when killed after its commit and run again
    assert 0 < checkpoints <= len(kept) <= checkpoints + KILLS, (checkpoints, len(kept))
    verifier = Signer.from_seed(*CHECKPOINT_KEY).verifier
    assert all(open_checkpoint(note, [verifier]).size <= count for note in kept)
