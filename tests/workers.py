"""Child processes for the crash and concurrency tests: ``python tests/workers.py KIND ARGS``."""

from __future__ import annotations

import sys
import time
from decimal import Decimal

from ledger import AgreementSigned, CapacityCommissioned, ConflictError, Ledger, NewEvent, UsageReported

#: Each crash batch: an agreement, a commissioning that derives RELEASES releases, and usage reports.
USAGE, RELEASES = 40, 3
BATCH_SIZE = 2 + RELEASES + USAGE


def crash_batch(run: int, batch: int) -> list[NewEvent]:
    """The events of one batch; every id names its run and batch."""
    name = f"r{run}-b{batch}"
    signed = AgreementSigned(agreement=name, investor="nvidia", investee="openai", status="definitive",
                             gigawatts=Decimal(10), cap_usd=Decimal(100), tranche_usd=Decimal(10))
    commissioned = CapacityCommissioned(site=name, provider="oracle", vendor="nvidia", platform="gb200",
                                        gigawatts=Decimal(RELEASES), agreement=name)
    usage = [NewEvent(UsageReported(product=name, weekly_active_users=n), id=f"{name}-u{n}",
                      meta={"run": run, "batch": batch}) for n in range(USAGE)]
    meta = {"run": run, "batch": batch}
    return [NewEvent(signed, id=f"{name}-s", meta=meta), *usage[: USAGE // 2],
            NewEvent(commissioned, id=f"{name}-c", meta=meta), *usage[USAGE // 2:]]


def crash_writer(db: str, run: int) -> None:
    """Say "ready" once Python and the ledger are imported, then open the ledger and append
    batches until killed, saying which batch committed after each commit."""
    print("ready", flush=True)
    with Ledger.open(db, load_entrypoints=False) as book:
        for batch in range(10_000):
            book.append_many(crash_batch(run, batch))
            print(batch, flush=True)


def concurrent_writer(db: str, worker: int, count: int) -> None:
    """Append ``count`` events, one a transaction; every fifth to a shared stream at its expected
    version, retrying on conflict."""
    retries = 0
    with Ledger.open(db, load_entrypoints=False, timeout=120) as book:
        for n in range(count):
            event = UsageReported(product=f"w{worker}", weekly_active_users=n)
            if n % 5 == 0:
                while True:
                    version = book.stream_version("shared")
                    time.sleep(0.001)  # let another writer in between the read and the append
                    try:
                        book.append(event, stream="shared", expected_version=version, id=f"w{worker}-{n}")
                        break
                    except ConflictError:
                        retries += 1
            else:
                book.append(event, id=f"w{worker}-{n}")
    print(retries, flush=True)


#: Records in each batch of the batch writers (``read-during-writes``).
READ_BATCH = 8


def batch_writer(db: str, worker: int, batches: int) -> None:
    """Append ``batches`` batches of READ_BATCH records, each id naming its writer and batch."""
    with Ledger.open(db, load_entrypoints=False, timeout=120) as book:
        for batch in range(batches):
            book.append_many([NewEvent(UsageReported(product=f"w{worker}", weekly_active_users=n),
                                       id=f"w{worker}-b{batch}-{n}") for n in range(READ_BATCH)])


def reader(db: str, total: int, seconds: float) -> None:
    """Read the whole log again and again until it holds ``total`` records: each read must be
    a prefix of seqs 1..n whose chain verifies, made of whole batches, never shorter than the
    read before. Print how many reads saw the log part-way, and the number of reads."""
    from collections import Counter

    from ledger.chain import verify_rows

    deadline = time.monotonic() + seconds
    reads = partial = last = 0
    with Ledger.open(db, load_entrypoints=False, readonly=True, timeout=120) as book:
        while True:
            rows = list(book._store.rows())  # one statement: one consistent state of the file
            count, _ = verify_rows(rows)
            assert count == len(rows) >= last, f"read {count} records after {last}"
            batches = Counter(row.id.rsplit("-", 1)[0] for row in rows)
            torn = {name: n for name, n in batches.items() if n != READ_BATCH}
            assert not torn, f"torn batches: {torn}"
            reads += 1
            partial += 0 < count < total
            last = count
            if count == total:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"the log reached only {count} of {total} records")
    print(partial, reads, flush=True)


def materializer(db: str) -> None:
    """Open the ledger and say "ready" (the kills are meant for these writes, not for the
    creation of the file, which test_crash's killed writers cover), then until killed: append a
    commissioning (so that every projection's figures move), materialize, and save a snapshot,
    saying which step committed after each."""
    with Ledger.open(db, load_entrypoints=False, snapshot_every=0) as book:
        print("ready", flush=True)
        for n in range(100_000):
            book.append(CapacityCommissioned(site=f"m{n}", provider=("oracle", "coreweave")[n % 2],
                                             vendor="nvidia", platform="gb200",
                                             gigawatts=Decimal(n % 7 + 1)))
            book.materialize()
            print("materialized", n, flush=True)
            book.snapshot()
            print("snapshot", n, flush=True)


#: The key of the checkpoints the workers sign.
CHECKPOINT_KEY = ("ledger.example/workers", bytes(range(32)))


def checkpointer(db: str) -> None:
    """Say "ready", then until killed: append a record and sign a checkpoint of the log, saying
    which step committed after each."""
    from ledger import Signer

    key = Signer.from_seed(*CHECKPOINT_KEY)
    print("ready", flush=True)
    with Ledger.open(db, load_entrypoints=False) as book:
        for n in range(100_000):
            book.append(UsageReported(product="checkpointed", weekly_active_users=n))
            print("appended", n, flush=True)
            book.checkpoint(key)
            print("checkpoint", n, flush=True)


def tree_builder(db: str, pause: float) -> None:
    """Say "ready", then open a ledger made before the Merkle tree (its migration makes the
    tree's tables) and build its tree, saying how far each part got (pausing ``pause`` seconds
    there, inside the build's transaction) and "built" once it committed."""
    from ledger import tree

    tree.CHUNK = 500  # records read (and progress said) at a time: often, on a small ledger
    print("ready", flush=True)
    with Ledger.open(db, load_entrypoints=False) as book:
        print("opened", flush=True)

        def progress(done: int, total: int) -> None:
            print("building", done, total, flush=True)
            time.sleep(pause)

        book.build_tree(progress)
        print("built", flush=True)


#: The soak's operations, and the records each write makes.
SOAK_KINDS = ("append", "batch", "import", "read", "snapshot", "checkpoint")


def soak_ops(worker: int, seed: int, count: int) -> list[tuple[str, list[tuple[str, str, int]]]]:
    """Worker ``worker``'s operations, the same on every run: (kind, [(id, product, users)])."""
    import random

    rng = random.Random(seed * 1000 + worker)
    ops = []
    for n in range(count):
        kind = rng.choice(SOAK_KINDS)
        size = {"append": 1, "batch": 3, "import": 3}.get(kind, 0)
        ops.append((kind, [(f"w{worker}-o{n}-{k}", f"p{rng.randrange(5)}", rng.randrange(10**6))
                           for k in range(size)]))
    return ops


def soak(db: str, worker: int, seed: int, start: int, count: int) -> None:
    """Run operations ``start`` to ``count`` of ``soak_ops``, saying "start N" before each and
    "done N" once it is acknowledged. Run again from an operation that was in flight when the
    process was killed, it stores nothing twice (ids make appends and imports idempotent)."""
    import json
    import os

    from ledger import Signer
    from ledger.chain import verify_rows

    key = Signer.from_seed(*CHECKPOINT_KEY)
    with Ledger.open(db, load_entrypoints=False, timeout=120, snapshot_every=0) as book:
        for n, (kind, records) in enumerate(soak_ops(worker, seed, count)):
            if n < start:
                continue
            print("start", n, flush=True)
            events = [NewEvent(UsageReported(product=product, weekly_active_users=users), id=id)
                      for id, product, users in records]
            if kind == "append":
                book.append(events[0].event, id=events[0].id)
            elif kind == "batch":
                book.append_many(events)
            elif kind == "import":
                path = f"{db}.w{worker}.jsonl"
                with open(path, "w", encoding="utf-8") as out:
                    for id, product, users in records:
                        out.write(json.dumps({"type": "usage.reported", "id": id,
                                              "occurred_at": "2026-01-01", "data": {
                                                  "product": product,
                                                  "weekly_active_users": users}}) + "\n")
                book.import_jsonl(path)
                os.remove(path)
            elif kind == "read":
                rows = list(book._store.rows())
                assert verify_rows(rows)[0] == len(rows)
            elif kind == "checkpoint":
                book.checkpoint(key)
            else:
                book.snapshot()
            print("done", n, flush=True)


if __name__ == "__main__":
    kind, *args = sys.argv[1:]
    if kind == "crash":
        crash_writer(args[0], int(args[1]))
    elif kind == "batches":
        batch_writer(args[0], int(args[1]), int(args[2]))
    elif kind == "soak":
        soak(args[0], int(args[1]), int(args[2]), int(args[3]), int(args[4]))
    elif kind == "materialize":
        materializer(args[0])
    elif kind == "checkpoint":
        checkpointer(args[0])
    elif kind == "tree":
        tree_builder(args[0], float(args[1]))
    elif kind == "reader":
        reader(args[0], int(args[1]), float(args[2]))
    else:
        concurrent_writer(args[0], int(args[1]), int(args[2]))
