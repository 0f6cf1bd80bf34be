"""The PostgreSQL rows of the benchmark: import, full replay, and concurrent appends from four
processes, each side by side with the same work on a SQLite file.

``run.py --postgres URL`` uses that server (a new schema per measurement, dropped afterwards);
``--postgres auto`` (the default) starts a throwaway server with ``tests/postgres_server.py`` when
psycopg and the server binaries are there, with the server's default durability (fsync and
synchronous commits on); ``--postgres none`` skips these rows.

    python benchmarks/postgres.py append LOCATION WORKER COUNT   # one appending process
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ledger import Ledger, UsageReported
from ledger.postgres_store import fresh_schema

ROOT = Path(__file__).resolve().parent.parent
WRITERS = 4
APPENDS_EACH = 500
#: Rounds of the PostgreSQL import and replay (one: a million rows take minutes to import).
ROUNDS = 1


def start_server(workdir: Path) -> tuple[str | None, str, Callable[[], None]]:
    """A throwaway server in ``workdir``: (url or None, why not, stop)."""
    try:
        import psycopg

        del psycopg
    except ImportError:
        return None, "n/a (pip install 'gigaledger[postgres]')", lambda: None
    sys.path.insert(0, str(ROOT / "tests"))
    import postgres_server

    folder = workdir / "postgres"
    try:
        url = postgres_server.start(folder)
    except postgres_server.Unavailable as error:
        return None, f"n/a ({error})", lambda: None
    return url, "", lambda: postgres_server.stop(folder)


def _schema(url: str) -> tuple[str, Callable[[], None]]:
    return fresh_schema(url, prefix="bench")


def _timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def import_and_replay(url: str, history: Path, rounds: int) -> dict[str, Any]:
    """``import_jsonl`` into a new PostgreSQL ledger, then full replays (no snapshot) by a fresh
    Ledger object, ``rounds`` times each; the medians."""
    imports, replays, records = [], [], 0
    for _ in range(rounds):
        location, drop = _schema(url)
        try:
            with Ledger.open(location, load_entrypoints=False) as book:
                result: list[Any] = []
                imports.append(_timed(lambda: result.append(book.import_jsonl(history))))
                records = result[0].appended
            with Ledger.open(location, load_entrypoints=False, snapshot_every=0) as book:
                replays.append(_timed(lambda: book.replay(use_snapshots=False)))
        finally:
            drop()
    return {"records": records, "import_s": imports, "replay_s": replays,
            "import_median_s": statistics.median(imports), "replay_median_s": statistics.median(replays)}


def concurrent_appends(location: str) -> dict[str, Any]:
    """``WRITERS`` processes each append ``APPENDS_EACH`` events, one transaction each, at once;
    the wall time from the first start to the last exit, and appends per second."""
    with Ledger.open(location, load_entrypoints=False):
        pass  # create the tables before the race
    started = time.perf_counter()
    writers = [subprocess.Popen([sys.executable, __file__, "append", location, str(w), str(APPENDS_EACH)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for w in range(WRITERS)]
    for writer in writers:
        _, err = writer.communicate(timeout=1800)
        if writer.returncode:
            raise RuntimeError(f"an appending process failed:\n{err}")
    seconds = time.perf_counter() - started
    with Ledger.open(location, load_entrypoints=False) as book:
        count, _ = book.verify()
    assert count == WRITERS * APPENDS_EACH, count
    return {"writers": WRITERS, "appends_each": APPENDS_EACH, "seconds": seconds,
            "appends_per_s": count / seconds}


def measure(url: str, history: Path, workdir: Path, rounds: int) -> dict[str, Any]:
    result = import_and_replay(url, history, rounds)
    location, drop = _schema(url)
    try:
        result["concurrent_postgres"] = concurrent_appends(location)
    finally:
        drop()
    sqlite = workdir / "concurrent.db"
    result["concurrent_sqlite"] = concurrent_appends(str(sqlite))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{sqlite}{suffix}").unlink(missing_ok=True)
    return result


def append_worker(location: str, worker: int, count: int) -> None:
    with Ledger.open(location, load_entrypoints=False, timeout=600) as book:
        for n in range(count):
            book.append(UsageReported(product=f"w{worker}", weekly_active_users=n))


if __name__ == "__main__":
    if sys.argv[1:2] != ["append"] or len(sys.argv) != 5:
        sys.exit(__doc__)
    append_worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
