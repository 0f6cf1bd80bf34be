"""Would a second thread hide SQLite's share of an import or a replay? (Not part of the test suite.)

    python benchmarks/threads.py --events 200000

Issue 14 names a lever: ``sqlite3`` releases the GIL while a statement steps, so a writer thread
fed finished rows could insert while the next rows are built (and a reader thread could fetch
while the rows before are decoded). This measures that lever on its own, with stdlib ``sqlite3``
and ``orjson`` only, on the rows of a ledger made from the synthetic history, rounds interleaved:

1. **read**: ``SELECT`` every row, ``fetchmany(1000)``, and parse each row's ``data`` (the work of
   a replay between the store and the folds), in one thread; then with the fetching in a second
   thread handing batches over a queue.
2. **write**: ``executemany`` of the same rows into a new file in one transaction, batches of
   1,000, each batch built just before (a copy of each row, standing for the work of building
   it), in one thread; then with the inserts in a second thread fed by a queue of built batches.

The threads win only if the stepping overlaps the Python work. The ``sqlite3`` module gives the
GIL up and takes it back once per row (around each ``sqlite3_step``), so each of the two threads
waits for the other at every row: the table shows what that costs here.
"""

from __future__ import annotations

import argparse
import os
import queue
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from synthetic import write_history  # noqa: E402

from ledger import Ledger  # noqa: E402

SELECT = ("SELECT seq, id, stream, version, type, schema, occurred_at, recorded_at, data, meta, "
          "hash FROM events ORDER BY seq")
BATCH = 1000


def read_direct(db: Path) -> int:
    conn = sqlite3.connect(db)
    cursor, count = conn.execute(SELECT), 0
    while rows := cursor.fetchmany(BATCH):
        for row in rows:
            orjson.loads(row[8])
            count += 1
    conn.close()
    return count


def read_threaded(db: Path) -> int:
    batches: queue.Queue[list[tuple] | None] = queue.Queue(maxsize=4)

    def fetch() -> None:
        conn = sqlite3.connect(db)
        cursor = conn.execute(SELECT)
        while rows := cursor.fetchmany(BATCH):
            batches.put(rows)
        batches.put(None)
        conn.close()

    reader = threading.Thread(target=fetch, daemon=True)
    reader.start()
    count = 0
    while (rows := batches.get()) is not None:
        for row in rows:
            orjson.loads(row[8])
            count += 1
    reader.join()
    return count


def _new_file(path: Path, schema: list[str]) -> sqlite3.Connection:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    for statement in schema:
        conn.execute(statement)
    return conn


def _built(rows: list[tuple], start: int) -> list[tuple]:
    """One batch, built now: each row copied, its data parsed and written again."""
    return [(*row[:8], orjson.dumps(orjson.loads(row[8])).decode(), *row[9:])
            for row in rows[start:start + BATCH]]


def write_direct(rows: list[tuple], schema: list[str], path: Path, insert: str) -> None:
    conn = _new_file(path, schema)
    conn.execute("BEGIN IMMEDIATE")
    for start in range(0, len(rows), BATCH):
        conn.executemany(insert, _built(rows, start))
    conn.execute("COMMIT")
    conn.close()


def write_threaded(rows: list[tuple], schema: list[str], path: Path, insert: str) -> None:
    conn = _new_file(path, schema)
    conn.execute("BEGIN IMMEDIATE")
    batches: queue.Queue[list[tuple] | None] = queue.Queue(maxsize=2)

    def drain() -> None:
        while (batch := batches.get()) is not None:
            conn.executemany(insert, batch)

    writer = threading.Thread(target=drain, daemon=True)
    writer.start()
    for start in range(0, len(rows), BATCH):
        batches.put(_built(rows, start))
    batches.put(None)
    writer.join()
    conn.execute("COMMIT")
    conn.close()


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        history, db = work / "history.jsonl", work / "ledger.db"
        print(f"writing and importing {args.events:,} events", file=sys.stderr)
        write_history(str(history), args.events)
        with Ledger.open(db, load_entrypoints=False) as book:
            book.import_jsonl(history)
        with sqlite3.connect(db) as conn:
            rows = conn.execute(SELECT).fetchall()
            schema = [row[0] for row in conn.execute(
                "SELECT sql FROM sqlite_master WHERE (type = 'table' AND name = 'events') OR "
                "(type = 'index' AND name IN ('events_id', 'events_stream_version')) "
                "ORDER BY type DESC")]
        insert = f"INSERT INTO events VALUES ({', '.join('?' * 11)})"
        times: dict[str, list[float]] = {name: [] for name in (
            "read, one thread", "read, fetching in a second thread",
            "write, one thread", "write, inserting in a second thread")}
        for round_ in range(args.rounds):
            print(f"round {round_ + 1}", file=sys.stderr)
            times["read, one thread"].append(timed(lambda: read_direct(db)))
            times["read, fetching in a second thread"].append(timed(lambda: read_threaded(db)))
            times["write, one thread"].append(
                timed(lambda: write_direct(rows, schema, work / "w.db", insert)))
            times["write, inserting in a second thread"].append(
                timed(lambda: write_threaded(rows, schema, work / "w.db", insert)))
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"{len(rows):,} rows, {args.rounds} rounds (medians), {os.cpu_count()} cores, "
          f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}\n")
    print("| work | seconds | second thread / one thread |")
    print("| --- | --- | --- |")
    for name, seconds in medians.items():
        base = medians["read, one thread" if name.startswith("read") else "write, one thread"]
        print(f"| {name} | {seconds:.3f} | {seconds / base:.2f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
