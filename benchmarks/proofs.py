"""What the Merkle tree of issue 15 costs and how fast its proofs are (not part of the test suite).

    python benchmarks/proofs.py --events 1000000

Measures, on the synthetic history of ``synthetic.py``:

1. **import with and without the tree**: ``import_jsonl`` into a new SQLite file, rounds
   interleaved, once as shipped and once with the tree's upkeep switched off (the stores' call to
   ``tree.grow`` replaced by a no-op, in this process only). The tree's cost is the time spent in
   ``tree.grow`` during the import (timed call by call, one call per 1,000 records), as a
   fraction of the rest of the import (target: at most 10%); the difference between the two
   imports is shown too, but on a shared machine two imports differ by more than that.
2. **proofs at that size**, on the imported file, from a fresh ``Ledger`` object each round: an
   inclusion proof of a random seq against the head (``book.prove``), a consistency proof from a
   random older size (``book.prove_consistency``), the root, and a signed checkpoint (which also
   writes it); medians of ``--proofs`` samples (target: a proof in under 20 ms).
3. **the tree built for an old ledger**: the same file with its tree tables emptied, then
   ``book.build_tree()`` (what a ledger made before the tree does on first use): all of the
   tree's work of an import, and every record read back besides.

It prints one Markdown table and writes every figure to ``--out`` (JSON).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synthetic import write_history  # noqa: E402

import ledger.postgres_store  # noqa: E402
import ledger.sqlite_store  # noqa: E402
from ledger import Ledger, Signer  # noqa: E402


def timed(action: Callable[[], Any]) -> float:
    gc.collect()
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def import_once(history: Path, target: Path, tree: bool) -> tuple[float, float]:
    """The seconds of one import, and of the tree's upkeep inside it (``tree.grow``, timed
    call by call: one call per 1,000 records)."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    grow = ledger.sqlite_store.grow
    spent = [0.0]

    def timed_grow(store: Any, rows: Any) -> None:
        start = time.perf_counter()
        grow(store, rows)
        spent[0] += time.perf_counter() - start

    ledger.sqlite_store.grow = timed_grow if tree else (lambda store, rows: None)  # type: ignore[assignment]
    try:
        with Ledger.open(target, load_entrypoints=False) as book:
            return timed(lambda: book.import_jsonl(history)), spent[0]
    finally:
        ledger.sqlite_store.grow = grow


def samples(action: Callable[[], Any], count: int) -> list[float]:
    return [timed(action) * 1000 for _ in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--proofs", type=int, default=200)
    parser.add_argument("--out", default=str(Path(__file__).with_name("proofs.json")))
    parser.add_argument("--workdir")
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="gigaledger-proofs-"))
    work.mkdir(parents=True, exist_ok=True)
    history = work / f"history-{args.events}.jsonl"
    if not history.exists():
        print(f"writing {args.events:,} events to {history}", file=sys.stderr)
        write_history(str(history), args.events)
    with_tree: list[float] = []
    without: list[float] = []
    upkeep: list[float] = []
    for round_ in range(args.rounds):
        for tree, into in ((True, with_tree), (False, without)):
            seconds, spent = import_once(history, work / f"tree-{tree}.db", tree)
            into.append(seconds)
            if tree:
                upkeep.append(spent / (seconds - spent))
            print(f"round {round_ + 1}: import {'with' if tree else 'without'} the tree "
                  f"{seconds:.1f} s (the tree's upkeep: {spent:.1f} s)", file=sys.stderr)
    db = work / "tree-True.db"
    key = Signer.generate("bench.example/log")
    rng = random.Random(20250922)
    with Ledger.open(db, load_entrypoints=False) as book:
        records = len(book)
    figures: dict[str, list[float]] = {"inclusion_ms": [], "consistency_ms": [], "root_ms": [],
                                       "checkpoint_ms": []}
    for _ in range(args.proofs):
        with Ledger.open(db, load_entrypoints=False) as book:  # nothing cached between samples
            seq = rng.randint(1, records)
            old = rng.randint(1, records - 1)
            figures["inclusion_ms"].append(timed(lambda: book.prove(seq)) * 1000)
            figures["consistency_ms"].append(timed(lambda: book.prove_consistency(old)) * 1000)
            figures["root_ms"].append(timed(book.root) * 1000)
    with Ledger.open(db, load_entrypoints=False) as book:
        figures["checkpoint_ms"] = samples(lambda: book.checkpoint(key), 20)
    old_db = work / "old.db"
    old_db.unlink(missing_ok=True)
    connection = sqlite3.connect(db)
    connection.execute(f"VACUUM INTO '{old_db}'")
    connection.close()
    connection = sqlite3.connect(old_db)
    connection.executescript("DROP TRIGGER tree_blocks_no_delete; DROP TRIGGER tree_nodes_no_delete;"
                             "DELETE FROM tree_blocks; DELETE FROM tree_nodes;")
    connection.close()
    with Ledger.open(old_db, load_entrypoints=False) as book:
        build_s = timed(book.build_tree)
    rows = {
        "records": records,
        "import_with_tree_s": with_tree,
        "import_without_tree_s": without,
        "tree_cost_fraction": statistics.median(with_tree) / statistics.median(without) - 1,
        "upkeep_over_rest_of_import": upkeep,
        **{name: {"median": statistics.median(values), "max": max(values), "samples": len(values)}
           for name, values in figures.items()},
        "build_tree_for_an_old_ledger_s": build_s,
        "build_over_import_without": build_s / statistics.median(without),
        "machine": {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
                    "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "load_average": os.getloadavg()},
    }
    Path(args.out).write_text(json.dumps(rows, indent=1) + "\n")
    cost = rows["tree_cost_fraction"]
    print(f"| measurement ({records:,} records) | value | target | result |")
    print("|---|---|---|---|")
    share = statistics.median(upkeep)
    print(f"| the tree's upkeep inside the import (tree.grow, timed), over the rest of it, "
          f"median of {args.rounds} | +{share:.1%} | ≤ +10% | "
          f"{'met' if share <= 0.10 else 'missed'} |")
    print(f"| import, median of {args.rounds}: with the tree / without (two imports: noisy on a "
          f"busy machine) | {statistics.median(with_tree):.1f} s / "
          f"{statistics.median(without):.1f} s ({cost:+.1%}) | | |")
    for name, label in (("inclusion_ms", "inclusion proof of a random seq"),
                        ("consistency_ms", "consistency proof from a random size"),
                        ("root_ms", "root of the head")):
        figure = rows[name]
        print(f"| {label}, median (max) of {figure['samples']} | {figure['median']:.2f} ms "
              f"({figure['max']:.2f} ms) | < 20 ms | "
              f"{'met' if figure['median'] < 20 else 'missed'} |")
    print(f"| signed checkpoint, kept in the ledger, median of 20 | "
          f"{rows['checkpoint_ms']['median']:.2f} ms | | |")
    bound = build_s / statistics.median(without)
    print(f"| tree built for an old ledger on first use (every record read back and hashed) | "
          f"{build_s:.1f} s ({bound:.1%} of the import without the tree) | | |")


if __name__ == "__main__":
    main()
