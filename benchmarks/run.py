"""Benchmark gigaledger against the limit (stdlib sqlite3) and the peer (eventsourcing).

    python benchmarks/run.py --events 1000000 [--rounds 3] [--out benchmarks/results.json]
                             [--rss-sizes 100000,1000000] [--workdir DIR] [--seed N]
                             [--postgres URL|auto|none] [--baseline GIT-REF]

It generates a synthetic history (``synthetic.py``), then measures, several rounds each:
import, full replay, incremental replay after one more event, single durable append, and the peak
RSS of a full replay, verify, export and report (each beside the same operation by the code of an
earlier commit, ``--baseline``, measured in the same run); then import, full replay and four concurrent writers on PostgreSQL beside
SQLite (``postgres.py``). It prints one table (Markdown) on stdout, progress on stderr, and writes every
figure to a JSON file. See benchmarks/README.md for what each row means.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import inspect
import json
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import typing
import uuid
import warnings
from collections.abc import Callable, Iterable
from contextlib import closing
from datetime import datetime, timezone
from decimal import Decimal
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import write_history  # noqa: E402

from ledger import CapacityCommissioned, Ledger  # noqa: E402

COLUMNS = "seq, id, stream, version, type, schema, occurred_at, recorded_at, data, meta, hash"
SELECT_ALL = f"SELECT {COLUMNS} FROM events ORDER BY seq"
INSERT = f"INSERT INTO events ({COLUMNS}) VALUES ({', '.join('?' * 11)})"
APPENDS = 200  # single appends timed per round
ES_BATCH = 1000  # events per eventsourcing save()
NO_ES = "n/a (pip install eventsourcing)"
#: The issue's targets: (name, ratio key, comparison, bound).
TARGETS = (
    ("import vs raw executemany", "import.ours_over_raw", ">=", 0.3),
    ("import vs eventsourcing", "import.ours_over_eventsourcing", ">=", 1.5),
    ("full replay vs SELECT + decode", "full_replay.ours_over_raw", ">=", 0.75),
    ("full replay vs eventsourcing", "full_replay.ours_over_eventsourcing", ">=", 1.5),
    ("incremental / full replay time", "incremental_replay.fraction_of_full", "<=", 0.01),
    ("single append / raw insert+commit", "single_append.ours_over_raw", "<=", 1.3),
    ("peak RSS at the largest size, MB", "peak_rss.largest_mb", "<", 100.0),
    ("peak RSS largest / smallest size", "peak_rss.largest_over_smallest", "<=", 1.25),
)


def log(message: str) -> None:
    """Progress on stderr, with the wall-clock time."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the machine ---------------------------------------------------------------------------------

def machine_info() -> dict[str, Any]:
    """CPU model, cores, RAM, Python, SQLite, library versions and the date of the run."""
    cpu, ram_kb = "unknown", 0
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info
                        if line.startswith("model name")), cpu)
        with open("/proc/meminfo") as info:
            ram_kb = next(int(line.split()[1]) for line in info if line.startswith("MemTotal"))
    except OSError:
        pass
    probe = sqlite3.connect(":memory:")
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "ram_gb": round(ram_kb / 1024**2, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlite_default_synchronous": probe.execute("PRAGMA synchronous").fetchone()[0],
        "gigaledger": _version("gigaledger"),
        "gigaledger_commit": _git_commit(),
        "ledger_sources_sha256": sources_digest(),
        "eventsourcing": _version("eventsourcing"),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "load_average_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    """The commit of the checkout, with ``+changes`` when ``ledger/`` differs from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).resolve().parent).stdout.strip()
    try:
        return git("rev-parse", "--short", "HEAD") + (
            "+changes" if git("status", "--porcelain", "--", "../ledger") else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def sources_digest() -> str:
    """A digest of the ``ledger`` package's sources: which code exactly was measured."""
    import ledger

    digest = hashlib.sha256()
    for path in sorted(Path(ledger.__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


# --- timing --------------------------------------------------------------------------------------

def timed(action: Callable[[], Any]) -> float:
    """Seconds one call of ``action`` takes, after a garbage collection."""
    gc.collect()
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def figures(seconds: list[float], events: int) -> dict[str, Any]:
    """Every round's seconds, their median, and events per second at the median."""
    median = statistics.median(seconds)
    return {"rounds_s": seconds, "median_s": median, "events": events,
            "events_per_s": events / median if median else None}


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


# --- the ledger: its API as it stands ------------------------------------------------------------

def open_ledger(path: Path) -> Ledger:
    """A fresh Ledger object on ``path`` (built-in plugins only), default durability."""
    return Ledger.open(path, load_entrypoints=False)


def has_snapshots(book: Ledger) -> bool:
    """Whether this Ledger has ``snapshot()`` and ``replay(use_snapshots=...)`` yet."""
    replay = inspect.signature(book.replay).parameters
    return hasattr(book, "snapshot") and "use_snapshots" in replay


def full_replay(book: Ledger) -> Any:
    """Every event through the three built-in projections, no snapshot: the view, up to date.
    (Building the report from a view is timed on its own: it costs the same after any replay.)"""
    if has_snapshots(book):
        return book.replay(use_snapshots=False)  # type: ignore[call-arg]
    return book.replay()


def commissioning(i: int) -> CapacityCommissioned:
    """One more realistic event to append: 1 MW more at a benchmark site."""
    return CapacityCommissioned(site="bench-site", provider="oracle", vendor="nvidia",
                                platform="gb300", gigawatts=Decimal("0.001") * (i % 7 + 1))


def read_rows(db: Path) -> list[tuple]:
    """Every stored row of a ledger file, in seq order."""
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(SELECT_ALL).fetchall()


def events_schema(db: Path) -> list[str]:
    """The ledger's CREATE TABLE for ``events`` and its two unique indexes, without triggers."""
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            "SELECT sql FROM sqlite_master WHERE (type = 'table' AND name = 'events') OR "
            "(type = 'index' AND name IN ('events_id', 'events_stream_version')) ORDER BY type DESC"
        ).fetchall()
    assert len(rows) == 3, rows
    return [row[0] for row in rows]


def raw_connection(db: Path) -> sqlite3.Connection:
    """A stdlib connection with the ledger's durability: WAL, synchronous=FULL, explicit BEGIN."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


# --- 1. import -----------------------------------------------------------------------------------

def import_ours(history: Path, db: Path) -> tuple[float, int]:
    """``import_jsonl`` into a new file: parse, validate, derive, hash-chain, one transaction.
    Returns the seconds and the records stored (derived releases included)."""
    book = open_ledger(db)
    result: list[Any] = []
    seconds = timed(lambda: result.append(book.import_jsonl(history)))
    book.close()
    return seconds, result[0].appended


def import_raw(rows: list[tuple], schema: list[str], db: Path) -> float:
    """The same rows with ``executemany`` into the same table and indexes, no triggers, no checks,
    one transaction."""
    conn = raw_connection(db)
    for statement in schema:
        conn.execute(statement)

    def insert() -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(INSERT, rows)
        conn.execute("COMMIT")

    seconds = timed(insert)
    conn.close()
    return seconds


# --- eventsourcing, the peer ---------------------------------------------------------------------

def es_available() -> bool:
    try:
        import eventsourcing  # noqa: F401
    except ImportError:
        return False
    return True


class EsModel:
    """The ledger's streams as eventsourcing aggregates: one ``Stream`` aggregate per stream, and
    per event type two domain event classes with the catalogue's fields (the first event of a
    stream creates the aggregate, the others are triggered on it)."""

    def __init__(self, event_types: dict[str, type]) -> None:
        from eventsourcing.domain import Aggregate
        from eventsourcing.utils import get_topic

        class Stream(Aggregate):
            def __init__(self) -> None:
                pass

        Stream.__qualname__ = "Stream"  # its topic: run:Stream

        self.stream = Stream
        self.classes: dict[str, tuple[type, type]] = {}
        self.decimals: dict[str, frozenset[str]] = {}
        for type_name, cls in event_types.items():
            hints = typing.get_type_hints(cls)
            names = [f.name for f in cls.__attrs_attrs__]  # type: ignore[attr-defined]
            self.decimals[type_name] = frozenset(
                n for n in names if Decimal in (hints[n], *typing.get_args(hints[n])))
            namespace = {"__annotations__": {n: Any for n in names}, **dict.fromkeys(names),
                         "__module__": __name__}
            pair = tuple(
                type(base)(f"{cls.__name__}{suffix}", (base,),  # type: ignore[misc]
                           {**namespace, "__qualname__": f"Stream.{cls.__name__}{suffix}"})
                for base, suffix in ((Stream.Created, "Started"), (Stream.Event, ""))
            )
            for event_class in pair:
                get_topic(event_class)  # registers the topic, so that decoding resolves it
            self.classes[type_name] = pair  # type: ignore[assignment]

    def prepare(self, rows: Iterable[tuple]) -> list[tuple[str, uuid.UUID, tuple, datetime, dict]]:
        """(stream, aggregate id, classes, timestamp, payload with Decimals) for each row."""
        ids: dict[str, uuid.UUID] = {}
        times: dict[str, datetime] = {}
        prepared = []
        for row in rows:
            stream, type_name, occurred, data = row[2], row[4], row[6], json.loads(row[8])
            for name in self.decimals[type_name].intersection(data):
                data[name] = Decimal(data[name])
            if stream not in ids:
                ids[stream] = uuid.uuid5(uuid.NAMESPACE_URL, stream)
            if occurred not in times:
                times[occurred] = datetime.fromisoformat(occurred[:-1]).replace(tzinfo=timezone.utc)
            prepared.append((stream, ids[stream], self.classes[type_name], times[occurred], data))
        return prepared


def es_app(db: Path) -> Any:
    """An eventsourcing Application on a SQLite file."""
    from eventsourcing.application import Application

    return Application(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                            "SQLITE_DBNAME": str(db)})


def import_es(model: EsModel, prepared: list[tuple], db: Path) -> float:
    """The same events as aggregate events, ``app.save()`` every 1,000 events."""
    app = es_app(db)
    aggregates: dict[str, Any] = {}
    touched: dict[str, Any] = {}

    def append_all() -> None:
        for count, (stream, agg_id, (started, later), when, data) in enumerate(prepared, 1):
            aggregate = aggregates.get(stream)
            if aggregate is None:
                aggregate = model.stream._create(started, id=agg_id, timestamp=when, **data)
                aggregates[stream] = aggregate
            else:
                aggregate.trigger_event(later, timestamp=when, **data)
            touched[stream] = aggregate
            if count % ES_BATCH == 0:
                app.save(*touched.values())
                touched.clear()
        if touched:
            app.save(*touched.values())

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        seconds = timed(append_all)
    app.close()
    return seconds


def replay_es(db: Path) -> tuple[float, int]:
    """Read every notification in pages of 1,000 and decode each into its domain event."""
    app = es_app(db)
    count = 0

    def read_all() -> None:
        nonlocal count
        start = 1
        while page := app.recorder.select_notifications(start, limit=1000):
            for notification in page:
                app.mapper.to_domain_event(notification)
            count += len(page)
            start = page[-1].id + 1

    seconds = timed(read_all)
    app.close()
    return seconds, count


# --- 2. full replay ------------------------------------------------------------------------------

def replay_raw(db: Path) -> tuple[float, int]:
    """``SELECT`` every row in seq order and ``json.loads`` its data and meta."""
    conn = sqlite3.connect(db)
    count = 0

    def read_all() -> None:
        nonlocal count
        loads = json.loads
        for row in conn.execute(SELECT_ALL):
            loads(row[8])
            loads(row[9])
            count += 1

    seconds = timed(read_all)
    conn.close()
    return seconds, count


# --- 3. incremental replay -----------------------------------------------------------------------

def incremental(db: Path, rounds: int, full_s: float) -> dict[str, Any]:
    """Per round, after ``snapshot()`` at the head and one more append (untimed):

    - reopened: a fresh Ledger object's ``replay()``, which loads the newest snapshot and folds
      the one event after it (the target);
    - open: in the Ledger that appended, whose view is current, ``replay()`` after one more
      append (its live view has folded the event already; replay hands out a view of it).

    The ``report()`` that follows a replay is timed apart: it costs the same after any replay.
    """
    snapshots: list[float] = []
    appends: list[float] = []
    replays: list[float] = []
    open_replays: list[float] = []
    reports: list[float] = []
    with open_ledger(db) as book:
        supported = has_snapshots(book)
    for i in range(rounds):
        if supported:
            with open_ledger(db) as book:
                snapshots.append(timed(book.snapshot))  # type: ignore[attr-defined]
        with open_ledger(db) as book:
            appends.append(timed(partial(book.append, commissioning(2 * i))))
        with open_ledger(db) as book:
            replay_s, report_s = replay_then_report(book)
            replays.append(replay_s)
            reports.append(report_s)
            book.append(commissioning(2 * i + 1))
            open_replays.append(replay_then_report(book)[0])
        log(f"  incremental round {i + 1}: reopened {replays[-1]:.3f} s, open "
            f"{open_replays[-1]:.4f} s (first append on the reopened ledger {appends[-1]:.2f} s)")
    result = figures(replays, 1)
    result.update(snapshots_supported=supported, snapshots_stored=stored_snapshots(db),
                  snapshot_s=snapshots, report_s=reports,
                  report_median_s=statistics.median(reports),
                  open_ledger_s=open_replays, open_median_s=statistics.median(open_replays),
                  first_append_after_reopen_s=appends,
                  fraction_of_full=ratio(result["median_s"], full_s))
    return result


def replay_then_report(book: Ledger) -> tuple[float, float]:
    """Seconds of ``book.replay()`` and of the ``report()`` that follows (one timing, split)."""
    gc.collect()
    start = time.perf_counter()
    view = book.replay()
    middle = time.perf_counter()
    view.report()
    return middle - start, time.perf_counter() - middle


def stored_snapshots(db: Path) -> int | None:
    """How many snapshot rows the file holds (None when it has no ``snapshots`` table)."""
    with closing(sqlite3.connect(db)) as conn:
        try:
            return conn.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0]
        except sqlite3.OperationalError:
            return None


# --- 4. single durable append --------------------------------------------------------------------

def appends_ours(db: Path, rounds: int) -> dict[str, Any]:
    """A fresh Ledger object (synchronous=FULL), one warm-up append, then ``APPENDS`` timed
    ``append()`` calls per round: each is its own durable transaction."""
    samples: list[list[float]] = []
    with open_ledger(db) as book:
        warmup = timed(partial(book.append, commissioning(0)))
        for _ in range(rounds):
            times = []
            for i in range(APPENDS):
                start = time.perf_counter()
                book.append(commissioning(i))
                times.append(time.perf_counter() - start)
            samples.append(times)
    return _append_figures(samples, warmup_s=warmup)


def appends_raw(db: Path, rounds: int) -> dict[str, Any]:
    """The same count of single-row ``INSERT`` + ``COMMIT`` on the raw file, WAL and FULL."""
    conn = raw_connection(db)
    seq = conn.execute("SELECT MAX(seq) FROM events").fetchone()[0]
    data = json.dumps({"site": "bench-site", "gigawatts": "0.001"})
    samples: list[list[float]] = []
    for _ in range(rounds):
        rows = [(seq + i + 1, str(uuid.uuid4()), "site/bench-raw", seq + i + 1,
                 "capacity.commissioned", 1, "2030-12-31T00:00:00.000000Z",
                 "2030-12-31T00:00:00.000000Z", data, "{}", "0" * 64) for i in range(APPENDS)]
        seq += APPENDS
        times = []
        for row in rows:
            start = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(INSERT, row)
            conn.execute("COMMIT")
            times.append(time.perf_counter() - start)
        samples.append(times)
    conn.close()
    return _append_figures(samples)


def single_appends(ledger_db: Path, raw_db: Path, rounds: int) -> tuple[dict[str, Any],
                                                                          dict[str, Any]]:
    """Rounds of ours and of raw, alternating (a durable commit's time drifts with the state of
    the file system: its write-ahead log growing, the journal's flushes), so that each side
    meets the same drift."""
    ours: list[dict[str, Any]] = []
    raw: list[dict[str, Any]] = []
    for _ in range(rounds):
        ours.append(appends_ours(ledger_db, 1))
        raw.append(appends_raw(raw_db, 1))
    return (_append_figures([r["samples_s"][0] for r in ours],
                            warmup_s=ours[0]["warmup_s"]),  # the first after the import
            _append_figures([r["samples_s"][0] for r in raw]))


def _append_figures(samples: list[list[float]], **extra: Any) -> dict[str, Any]:
    medians = [statistics.median(s) for s in samples]
    return {"rounds_s": medians, "median_s": statistics.median(medians),
            "samples_s": samples, **extra}


# --- 5. peak RSS of a full replay, in child processes --------------------------------------------

def child(argv: list[str]) -> None:
    """``run.py --child import HISTORY DB`` or ``run.py --child replay DB``: one step in a process
    of its own; prints one JSON object."""
    if argv[0] == "import":
        book = open_ledger(Path(argv[2]))
        print(json.dumps({"seconds": timed(lambda: book.import_jsonl(argv[1]))}))
        return
    if argv[0] == "replay-raw":
        seconds, count = replay_raw(Path(argv[1]))
        print(json.dumps({"seconds": seconds, "count": count}))
        return
    if argv[0] == "replay-es":  # the event classes' topics first, as the import made them
        with open_ledger(Path(argv[2])) as book:
            EsModel(book.event_types)
        seconds, count = replay_es(Path(argv[1]))
        print(json.dumps({"seconds": seconds, "count": count}))
        return
    if argv[0] == "read":  # every record read and decoded, nothing folded
        with open_ledger(Path(argv[1])) as book:
            counted: list[int] = []
            seconds = timed(lambda: counted.append(sum(1 for _ in book.read())))
        print(json.dumps({"seconds": seconds, "count": counted[0]}))
        return
    if argv[0] in EVERYDAY:
        book = open_ledger(Path(argv[1]))
        if argv[0] == "report":
            view = full_replay(book)
            print(json.dumps({"seconds": timed(view.report)}))
        else:
            print(json.dumps({"seconds": timed(partial(EVERYDAY[argv[0]], book, *argv[2:]))}))
        book.close()
        return
    book = open_ledger(Path(argv[1]))
    before = peak_mb()
    seconds = timed(lambda: full_replay(book))
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "before_replay_mb": before, "peak_mb": peak_mb(),
                      "ru_maxrss_mb": maxrss * (1 if sys.platform == "darwin" else 1024) / 1e6}))


def peak_mb() -> float:
    """This process's peak RSS in MB (10^6 bytes): ``VmHWM`` on Linux, else ``ru_maxrss``.

    On Linux ``ru_maxrss`` keeps the parent's peak across fork and exec, so a child started by a
    parent holding 500 MB reports at least 500 MB; ``VmHWM`` is the peak of this process alone.
    """
    try:
        with open("/proc/self/status") as status:
            kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
        return kib * 1024 / 1e6
    except (OSError, StopIteration):
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return maxrss * (1 if sys.platform == "darwin" else 1024) / 1e6


def run_child(*args: str, code: Path | None = None) -> dict[str, Any]:
    """``child(args)`` in a new process; with the ledger package of the checkout ``code``."""
    env = dict(os.environ)
    if code is not None:  # ahead of the installed package on the path
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code), env.get("PYTHONPATH")]))
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True,
                         text=True, env=env)
    if out.returncode:
        raise RuntimeError(f"child {args[0]} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def peak_rss(sizes: list[int], workdir: Path, seed: int, ready: dict[int, Path]) -> dict[str, Any]:
    """Peak RSS of a full replay at each size: import in one child (unless ``ready`` has a file
    of that size already), replay in another, which reports ``ru_maxrss``."""
    result: dict[str, Any] = {}
    for size in sizes:
        db = ready.get(size)
        if db is None:
            history, db = workdir / f"rss-{size}.jsonl", workdir / f"rss-{size}.db"
            write_history(str(history), size, seed)
            run_child("import", str(history), str(db))
        result[str(size)] = run_child("replay", str(db))
        log(f"  peak RSS at {size:,}: {result[str(size)]['peak_mb']:.1f} MB")
    peaks = [result[str(s)]["peak_mb"] for s in sizes]
    result["largest_mb"] = peaks[sizes.index(max(sizes))]
    result["largest_over_smallest"] = ratio(result["largest_mb"], peaks[sizes.index(min(sizes))])
    return result


# --- 6. everyday operations, beside an earlier commit --------------------------------------------

#: Operations timed in a child process of their own on the imported file (read-only work).
EVERYDAY: dict[str, Callable[..., Any]] = {
    "verify": lambda book: book.verify(),
    "export": lambda book, out: book.export_jsonl(out),
    "report": lambda book: None,  # the child times view.report() after a full replay
}


def baseline_checkout(ref: str, workdir: Path) -> tuple[Path | None, str]:
    """A checkout of ``ref`` (``git worktree``) whose ``ledger`` package the baseline runs."""
    root = Path(__file__).resolve().parent.parent
    target = workdir / "baseline"
    done = subprocess.run(["git", "-C", str(root), "worktree", "add", "--detach", str(target), ref],
                          capture_output=True, text=True)
    if done.returncode:
        return None, f"n/a (git worktree add {ref}: {' '.join(done.stderr.strip().splitlines()[-1:])})"
    commit = subprocess.run(["git", "-C", str(target), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    return target, commit


def remove_checkout(target: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(target)],
                   capture_output=True)


def measure_everyday(db: Path, history: Path, workdir: Path, rounds: int,
                     baseline: str | None) -> dict[str, Any]:
    """Import, full replay, verify, export and report by this code and, when ``baseline`` names
    a git ref, by that commit's code, rounds interleaved; each in a fresh process. Each side
    imports the history into a file of its own; the rest read this run's file, ``db``, and both
    sides' exports of it must be the same bytes."""
    code, commit = (None, "") if baseline is None else baseline_checkout(baseline, workdir)
    sides = {"this": None} if code is None else {"this": None, "baseline": code}
    samples: dict[str, dict[str, list[float]]] = {side: {} for side in sides}
    try:
        for r in range(rounds):
            for side, checkout in sides.items():
                got = samples[side]
                target = workdir / f"everyday-{side}.db"
                remove_db(target)
                got.setdefault("import", []).append(
                    run_child("import", str(history), str(target), code=checkout)["seconds"])
                remove_db(target)
                got.setdefault("full_replay", []).append(
                    run_child("replay", str(db), code=checkout)["seconds"])
                for op in EVERYDAY:
                    extra = [str(workdir / f"export-{side}.jsonl")] if op == "export" else []
                    got.setdefault(op, []).append(
                        run_child(op, str(db), *extra, code=checkout)["seconds"])
                log(f"  everyday round {r + 1}, {side}: " + ", ".join(
                    f"{op} {values[-1]:.2f} s" for op, values in got.items()))
            if code is not None:
                same = (workdir / "export-this.jsonl").read_bytes() == \
                    (workdir / "export-baseline.jsonl").read_bytes()
                assert same, "this code and the baseline export different bytes"
    finally:
        if code is not None:
            remove_checkout(code)
        for side in sides:
            remove_db(workdir / f"everyday-{side}.db")
            (workdir / f"export-{side}.jsonl").unlink(missing_ok=True)
    medians = {side: {op: statistics.median(v) for op, v in got.items()}
               for side, got in samples.items()}
    result: dict[str, Any] = {"baseline_ref": baseline, "baseline_commit": commit or None,
                              "samples_s": samples, "median_s": medians}
    if "baseline" in medians:
        result["this_over_baseline_time"] = {
            op: ratio(medians["this"][op], medians["baseline"][op]) for op in medians["this"]}
    return result


# --- the run -------------------------------------------------------------------------------------

def remove_db(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def measure_imports(history: Path, workdir: Path, rounds: int, es: bool) -> dict[str, Any]:
    """Rounds of the three imports, side by side; the last round's files stay for what follows."""
    ours: list[float] = []
    raw: list[float] = []
    peer: list[float] = []
    model, records = None, 0
    for r in range(rounds):
        files = {name: workdir / f"{name}-{r}.db" for name in ("ledger", "raw", "es")}
        for name in files:
            remove_db(workdir / f"{name}-{r - 1}.db")
        seconds, records = import_ours(history, files["ledger"])
        ours.append(seconds)
        rows = read_rows(files["ledger"])
        raw.append(import_raw(rows, events_schema(files["ledger"]), files["raw"]))
        log(f"  import round {r + 1}: gigaledger {ours[-1]:.2f} s, raw {raw[-1]:.2f} s")
        if es:
            if model is None:
                with open_ledger(files["ledger"]) as book:
                    model = EsModel(book.event_types)
            prepared = model.prepare(rows)
            del rows
            peer.append(import_es(model, prepared, files["es"]))
            del prepared
            log(f"  import round {r + 1}: eventsourcing {peer[-1]:.2f} s")
    result = {"gigaledger": figures(ours, records), "raw_sqlite3": figures(raw, records),
              "eventsourcing": figures(peer, records) if es else None, "files": files}
    return with_ratios(result)


def measure_replays(files: dict[str, Path], rounds: int, records: int) -> dict[str, Any]:
    """Rounds of the three full replays, side by side, on the last import's files, each in a
    fresh process (as the target says: a replay is what a new process does first; a process
    that has just imported and compared three times carries a heap that slows any of them)."""
    ours: list[float] = []
    read: list[float] = []
    raw: list[float] = []
    peer: list[float] = []
    for r in range(rounds):
        ours.append(run_child("replay", str(files["ledger"]))["seconds"])
        done = run_child("read", str(files["ledger"]))
        assert done["count"] == records, (done["count"], records)
        read.append(done["seconds"])
        done = run_child("replay-raw", str(files["raw"]))
        assert done["count"] == records, (done["count"], records)
        raw.append(done["seconds"])
        if files.get("es"):
            done = run_child("replay-es", str(files["es"]), str(files["ledger"]))
            assert done["count"] == records, (done["count"], records)
            peer.append(done["seconds"])
        log(f"  replay round {r + 1}: gigaledger {ours[-1]:.2f} s (read alone {read[-1]:.2f} s), "
            f"raw {raw[-1]:.2f} s" + (f", eventsourcing {peer[-1]:.2f} s" if peer else ""))
    result = with_ratios({"gigaledger": figures(ours, records),
                          "raw_sqlite3": figures(raw, records),
                          "eventsourcing": figures(peer, records) if peer else None})
    # Like for like with the peer's read (not a target): every record read and decoded into its
    # event, nothing folded; the replay also folds the four built-in projections.
    result["read"] = with_ratios({"gigaledger": figures(read, records),
                                  "raw_sqlite3": result["raw_sqlite3"],
                                  "eventsourcing": result["eventsourcing"]})
    return result


def with_ratios(result: dict[str, Any]) -> dict[str, Any]:
    """Throughput ratios: ours / raw and ours / eventsourcing (events per second)."""
    ours = result["gigaledger"]["events_per_s"]
    result["ours_over_raw"] = ratio(ours, result["raw_sqlite3"]["events_per_s"])
    peer = result["eventsourcing"]
    result["ours_over_eventsourcing"] = ratio(ours, peer["events_per_s"]) if peer else None
    return result


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Every measurement, in an order that leaves each file as the next step needs it."""
    machine, es = machine_info(), es_available()
    history = workdir / "history.jsonl"
    log(f"generating {args.events:,} events in {history}")
    generation = timed(lambda: write_history(str(history), args.events, args.seed))
    log(f"import, {args.rounds} rounds" + ("" if es else " (eventsourcing not installed)"))
    imports = measure_imports(history, workdir, args.rounds, es)
    files = imports.pop("files")
    if not es:
        files.pop("es")
    records = imports["gigaledger"]["events"]
    log(f"full replay of {records:,} records, {args.rounds} rounds")
    replays = measure_replays(files, args.rounds, records)
    log(f"peak RSS of a full replay at {', '.join(f'{s:,}' for s in args.rss_sizes)} events")
    rss = peak_rss(args.rss_sizes, workdir, args.seed, {args.events: files["ledger"]})
    log("everyday operations, each in a fresh process" + (
        f", beside {args.baseline}" if args.baseline else ""))
    everyday = measure_everyday(files["ledger"], history, workdir, args.rounds, args.baseline)
    log("incremental replay after one more event")
    inc = incremental(files["ledger"], args.rounds, replays["gigaledger"]["median_s"])
    log(f"single durable appends, {APPENDS} per round")
    ours, raw = single_appends(files["ledger"], files["raw"], args.rounds)
    single = {"gigaledger": ours, "raw_sqlite3": raw,
              "ours_over_raw": ratio(ours["median_s"], raw["median_s"])}
    pg = measure_postgres(args, history, workdir, imports, replays)
    results: dict[str, Any] = {
        "machine": machine,
        "parameters": {"events": args.events, "rounds": args.rounds, "seed": args.seed,
                       "rss_sizes": args.rss_sizes, "records": records,
                       "appends_per_round": APPENDS, "eventsourcing_batch": ES_BATCH,
                       "history_bytes": history.stat().st_size, "generation_s": generation},
        "import": imports, "full_replay": replays, "incremental_replay": inc,
        "single_append": single, "peak_rss": rss, "everyday": everyday, "postgres": pg,
    }
    results["targets"] = check_targets(results)
    return results


def measure_postgres(args: argparse.Namespace, history: Path, workdir: Path,
                     imports: dict[str, Any], replays: dict[str, Any]) -> dict[str, Any]:
    """The PostgreSQL rows, side by side with the SQLite figures (``postgres.py``)."""
    stop: Callable[[], None] = lambda: None  # noqa: E731
    if args.postgres == "none":
        return {"skipped": "n/a (--postgres none)"}
    # Imported here, not at the top: psycopg would otherwise be loaded in every child process
    # too, and counted in the peak memory of the replays (about 13 MB).
    import postgres
    if args.postgres == "auto":
        url, why, stop = postgres.start_server(workdir)
        if url is None:
            log(f"PostgreSQL rows skipped: {why}")
            return {"skipped": why}
    else:
        url = args.postgres
    try:
        log(f"PostgreSQL: import and full replay, {postgres.ROUNDS} round; "
            f"{postgres.WRITERS} processes appending at once")
        result = postgres.measure(url, history, workdir, postgres.ROUNDS)
    except Exception as error:  # the other figures are kept: say why these are missing
        log(f"PostgreSQL rows failed: {type(error).__name__}: {error}")
        return {"skipped": f"failed: {type(error).__name__}: {error}"}
    finally:
        stop()
    sqlite_import = imports["gigaledger"]["median_s"]
    sqlite_replay = replays["gigaledger"]["median_s"]
    result["import_over_sqlite"] = ratio(sqlite_import, result["import_median_s"])
    result["replay_over_sqlite"] = ratio(sqlite_replay, result["replay_median_s"])
    result["concurrent_over_sqlite"] = ratio(result["concurrent_postgres"]["appends_per_s"],
                                             result["concurrent_sqlite"]["appends_per_s"])
    log(f"  PostgreSQL import {result['import_median_s']:.2f} s, replay "
        f"{result['replay_median_s']:.2f} s, {postgres.WRITERS} writers "
        f"{result['concurrent_postgres']['appends_per_s']:.0f}/s "
        f"(SQLite {result['concurrent_sqlite']['appends_per_s']:.0f}/s)")
    return result


def check_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue with its measured value and whether it was met."""
    checks = []
    for name, key, op, bound in TARGETS:
        value: Any = results
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        met = None if value is None else {">=": value >= bound, "<=": value <= bound,
                                          "<": value < bound}[op]
        checks.append({"target": name, "key": key, "value": value, "bound": f"{op} {bound}",
                       "met": met})
    return checks


# --- the table -----------------------------------------------------------------------------------

def rate(figure: dict[str, Any] | None) -> str:
    if figure is None:
        return NO_ES
    return f"{figure['events_per_s']:,.0f}/s ({figure['median_s']:.2f} s)"


def verdict(results: dict[str, Any], key: str) -> list[str]:
    """The ratio, target and result cells of the target whose ratio is ``key``."""
    check = next(c for c in results["targets"] if c["key"] == key)
    if check["value"] is None:
        return ["n/a", check["bound"].replace(">=", "≥").replace("<=", "≤"), "n/a"]
    shown = f"{check['value']:.4f}" if check["value"] < 0.1 else f"{check['value']:.2f}"
    return [shown, check["bound"].replace(">=", "≥").replace("<=", "≤"),
            "met" if check["met"] else "missed"]


def table_rows(results: dict[str, Any]) -> list[list[str]]:
    imp, rep = results["import"], results["full_replay"]
    inc, one, rss = results["incremental_replay"], results["single_append"], results["peak_rss"]
    sizes = results["parameters"]["rss_sizes"]
    n = results["parameters"]["records"]
    es = "ours/eventsourcing"
    rows = [
        [f"import {n:,} events: events/s (median s)", rate(imp["gigaledger"]),
         rate(imp["raw_sqlite3"]), rate(imp["eventsourcing"]), "ours/raw",
         *verdict(results, "import.ours_over_raw")],
        ["", "", "", "", es, *verdict(results, "import.ours_over_eventsourcing")],
        [f"full replay {n:,} events: events/s (median s)", rate(rep["gigaledger"]),
         rate(rep["raw_sqlite3"]), rate(rep["eventsourcing"]), "ours/raw",
         *verdict(results, "full_replay.ours_over_raw")],
        ["", "", "", "", es, *verdict(results, "full_replay.ours_over_eventsourcing")],
        *read_table_rows(rep.get("read"), n),
        ["incremental replay after 1 more event, reopened ledger" + (
            " (no snapshot API)" if not inc["snapshots_supported"] else
            " (no snapshot stored)" if not inc["snapshots_stored"] else ""),
         f"{inc['median_s']:.3f} s", "", "", "of full replay",
         *verdict(results, "incremental_replay.fraction_of_full")],
        ["incremental replay after 1 more event, open ledger (not a target)",
         f"{inc['open_median_s'] * 1000:.2f} ms", "", "", "", "", "", ""],
        ["report() from an up-to-date view (not a target)",
         f"{inc['report_median_s']:.3f} s", "", "", "", "", "", ""],
        [f"single durable append (median of {APPENDS} x {len(one['gigaledger']['rounds_s'])})",
         f"{one['gigaledger']['median_s'] * 1000:.2f} ms",
         f"{one['raw_sqlite3']['median_s'] * 1000:.2f} ms", "", "ours/raw",
         *verdict(results, "single_append.ours_over_raw")],
        ["first append after reopening (warm-up, not a target)",
         f"{one['gigaledger']['warmup_s']:.2f} s", "", "", "", "", "", ""],
    ]
    for size in sorted(sizes):
        rows.append([f"peak RSS, full replay of {size:,} events",
                     f"{rss[str(size)]['peak_mb']:.1f} MB", "", "", "", "", "", ""])
    rows[-1][4:] = ["peak MB", *verdict(results, "peak_rss.largest_mb")]
    rows.append(["", "", "", "", f"{max(sizes):,} / {min(sizes):,}",
                 *verdict(results, "peak_rss.largest_over_smallest")])
    return rows + everyday_rows(results.get("everyday"), n) + postgres_rows(
        results.get("postgres") or {"skipped": "n/a"}, n)


def read_table_rows(read: dict[str, Any] | None, n: int) -> list[list[str]]:
    """``Ledger.read()`` of every record, beside the peer's read and decode: like for like, as
    neither folds anything (not a target; the full replay folds the four projections too)."""
    if read is None:
        return []
    peer = read["ours_over_eventsourcing"]
    return [[f"read and decode {n:,} events, no folds (not a target): events/s (median s)",
             rate(read["gigaledger"]), rate(read["raw_sqlite3"]), rate(read["eventsourcing"]),
             "ours/eventsourcing", "n/a" if peer is None else f"{peer:.2f}", "", ""]]


EVERYDAY_ROWS = {
    "import": "import in a fresh process",
    "full_replay": "full replay in a fresh process",
    "verify": "verify() (chain, versions, snapshots)",
    "export": "export_jsonl() to a file",
    "report": "report() after a full replay",
}


def everyday_rows(everyday: dict[str, Any] | None, n: int) -> list[list[str]]:
    """This code's time for each everyday operation, beside the baseline commit's (the ratio is
    of times: below 1 is faster)."""
    if not everyday:
        return []
    medians = everyday["median_s"]
    base = medians.get("baseline")
    where = f"commit {everyday['baseline_commit']}" if base else "no --baseline"
    rows = []
    for op, label in EVERYDAY_ROWS.items():
        this = medians["this"][op]
        cells = [f"{label}, {n:,} events (median s)", f"{this:.2f} s"]
        if base:
            rows.append(cells + ["", "", f"time this / {where} ({base[op]:.2f} s)",
                                 f"{this / base[op]:.2f}", "≤ 1.05",
                                 "met" if this <= base[op] * 1.05 else "missed"])
        else:
            rows.append(cells + ["", "", "", "", "", ""])
    return rows


def postgres_rows(pg: dict[str, Any], n: int) -> list[list[str]]:
    """Our figures on PostgreSQL against ours on SQLite (not targets: the choice of store)."""
    if "skipped" in pg:
        return [["PostgreSQL store (import, replay, concurrent appends)", pg["skipped"],
                 "", "", "", "", "", ""]]
    records = pg["records"]
    writers = (f"{pg['concurrent_postgres']['writers']} processes x "
               f"{pg['concurrent_postgres']['appends_each']} appends at once")

    def per_s(count: float, seconds: float) -> str:
        return f"{count / seconds:,.0f}/s ({seconds:.2f} s)"

    return [
        [f"PostgreSQL: import {records:,} events, 1 round (SQLite: row 1)",
         per_s(records, pg["import_median_s"]), "", "", "PostgreSQL/SQLite",
         f"{pg['import_over_sqlite']:.2f}", "", ""],
        [f"PostgreSQL: full replay {records:,} events, 1 round (SQLite: row 3)",
         per_s(records, pg["replay_median_s"]), "", "", "PostgreSQL/SQLite",
         f"{pg['replay_over_sqlite']:.2f}", "", ""],
        [f"PostgreSQL: {writers}",
         per_s(pg["concurrent_postgres"]["writers"] * pg["concurrent_postgres"]["appends_each"],
               pg["concurrent_postgres"]["seconds"]), "", "", "PostgreSQL/SQLite",
         f"{pg['concurrent_over_sqlite']:.2f}", "", ""],
        [f"SQLite file: {writers}",
         per_s(pg["concurrent_sqlite"]["writers"] * pg["concurrent_sqlite"]["appends_each"],
               pg["concurrent_sqlite"]["seconds"]), "", "", "", "", "", ""],
    ]


def render(results: dict[str, Any]) -> str:
    """One Markdown table, with a caption naming the machine."""
    m, p = results["machine"], results["parameters"]
    es = f"eventsourcing {m['eventsourcing']}" if m["eventsourcing"] else "eventsourcing"
    header = ["measurement", "gigaledger", "raw sqlite3", es, "ratio", "value", "target", "result"]
    rows = table_rows(results)
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    caption = (f"gigaledger {m['gigaledger']} ({m['gigaledger_commit']}), {p['events']:,} events, "
               f"{p['rounds']} rounds, {m['date']}: {m['cpu']}, {m['cores']} cores, "
               f"{m['ram_gb']} GB RAM, Python {m['python']}, SQLite {m['sqlite']}; "
               f"run took {results['total_seconds'] / 60:.1f} min")
    return "\n".join([caption, "", line(header), line(["-" * w for w in widths]),
                      *(line(r) for r in rows)])


# --- main ----------------------------------------------------------------------------------------

class _Defaults(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` shows each option's default, except where there is none."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None:
            return action.help or ""
        return super()._get_help_string(action) or ""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=_Defaults)
    parser.add_argument("--events", type=int, default=1_000_000,
                        help="history size (lines), at least 1000")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each measurement")
    parser.add_argument("--out", type=Path, help="the JSON file of every figure (the published "
                                                 "run is benchmarks/results.json)",
                        default=Path("benchmark-results.json"))
    parser.add_argument("--rss-sizes", default="100000,1000000",
                        help="two or more comma-separated history sizes for peak RSS")
    parser.add_argument("--workdir", type=Path, help="keep the files here (without it: a "
                                                     "temporary folder, removed afterwards)")
    parser.add_argument("--seed", type=int, default=20250922, help="the generator's seed")
    parser.add_argument("--postgres", default="auto", metavar="URL|auto|none",
                        help="PostgreSQL rows: a server URL, a throwaway local server (auto: "
                             "when psycopg and the server binaries are there), or none")
    parser.add_argument("--baseline", metavar="GIT-REF",
                        help="time import, replay, verify, export and report by this commit's "
                             "code as well (a git worktree in the work directory), side by side")
    args = parser.parse_args(argv)
    try:
        args.rss_sizes = sorted({int(s.replace("_", "")) for s in args.rss_sizes.split(",") if s})
    except ValueError:
        parser.error(f"--rss-sizes {args.rss_sizes!r}: expected sizes separated by commas, "
                     "e.g. 100000,1000000")
    if args.events < 1000:
        parser.error(f"--events {args.events}: at least 1000")
    if args.rounds < 1:
        parser.error(f"--rounds {args.rounds}: at least 1")
    if len(args.rss_sizes) < 2 or args.rss_sizes[0] < 1:
        parser.error("--rss-sizes: two or more different sizes, each at least 1 (the target "
                     "compares the peaks at the largest and the smallest)")
    if args.workdir is not None and args.workdir.exists() and not args.workdir.is_dir():
        parser.error(f"--workdir {args.workdir}: exists and is not a folder")
    if args.baseline is not None:
        root = Path(__file__).resolve().parent.parent
        found = subprocess.run(["git", "-C", str(root), "rev-parse", "--verify", "--quiet",
                                f"{args.baseline}^{{commit}}"], capture_output=True, text=True)
        if found.returncode:
            parser.error(f"--baseline {args.baseline}: not a commit of this repository")
    return args


def main(argv: list[str]) -> None:
    if argv[:1] == ["--child"]:
        return child(argv[1:])
    args = parse_args(argv)
    started = time.perf_counter()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="gigaledger-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        results = run(args, workdir)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    results["total_seconds"] = time.perf_counter() - started
    results["load_average_at_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    results["ledger_changed_during_run"] = sources_digest() != results["machine"][
        "ledger_sources_sha256"]
    if results["ledger_changed_during_run"]:
        log("warning: the ledger's sources changed during the run; the figures mix versions")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(render(results))
    log(f"wrote {args.out}; the run took {results['total_seconds'] / 60:.1f} min")


if __name__ == "__main__":
    main(sys.argv[1:])
