"""A full disk: every command that writes, run with a file size limit (``RLIMIT_FSIZE``, so that
no root is needed; SIGXFSZ is ignored, so a write past the limit fails with EFBIG instead of
killing the process), ends in one line saying the disk is full, exit 1, the ledger exactly as it
was and verifying, no file left behind; and the same command works once the limit is lifted.

A command added later joins by adding a line to ``COMMANDS`` (and, when it needs a ledger of
another kind than ``ledger_file``, to ``SOURCES``): ``checkpoint``, and ``tree``, the Merkle
tree's first build (``verify`` of a ledger made before the tree).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import warnings

import pytest

from ledger import Ledger
from ledger.cli import main
from ledger.signed_note import Signer
from ledger.tree import check as check_tree
from ledger.tree import stored_size

from .conftest import EVENTS, ROOT, drop_tree

resource = pytest.importorskip("resource")  # POSIX only, as the crash tests

HISTORIES = [os.path.join(EVENTS, name)
             for name in ("nvidia-openai-plan.jsonl", "openai-compute-2025-2026.jsonl")]
#: Bytes a file may grow to: above SQLite's shared-memory file (32 KiB), below what each command
#: writes, so that the write fails part-way.
LIMIT = 40_000
BIG_META = json.dumps({"note": "x" * 60_000})
#: Snapshots through the API (the command line has no snapshot command), with a projection whose
#: state is large enough to outgrow the limit.
SNAPSHOT = ("import sys\nfrom ledger import Ledger, LedgerError\ntry:\n"
            "    with Ledger.open(sys.argv[1], load_entrypoints=False, plugins=[sys.argv[2]]) as book:\n"
            "        print(f'snapshot at seq {book.snapshot()}')\n"
            "except LedgerError as error:\n    print(error, file=sys.stderr)\n    sys.exit(1)\n")

#: Each command: its arguments ({db}, {out}: filled in), and the file it creates (or None).
COMMANDS = {
    "import": (["import", "{db}", "{history}"], None),
    "append": (["append", "{db}", "usage.reported", "--occurred-at", "2026-11-01", "--meta",
                BIG_META, "--data", '{"product": "chatgpt", "weekly_active_users": 1}'], None),
    "snapshot": ([SNAPSHOT, "{db}", "{ballast}"], None),
    "materialize": (["materialize", "{db}"], None),
    "export": (["export", "{db}", "-o", "{out}"], "{out}"),
    "copy": (["copy", "{db}", "{out}"], "{out}"),
    "checkpoint": (["checkpoint", "{db}", "--key", "{key}"], None),
    "tree": (["verify", "{db}"], None),
}
#: The ledger each command runs on, when not ``ledger_file``: ``live``, a copy taken while a
#: process had it open (its write-ahead log holds that process's last commit, not yet copied into
#: the file); ``old``, a ledger made before the Merkle tree (``verify`` builds its tree).
SOURCES = {"checkpoint": "live", "tree": "old"}
#: A checkpoint writes one page, appended to the write-ahead log: a limit this far past the log's
#: size lets the page's write start and not end (a torn frame, which SQLite must ignore).
PAST_THE_LOG = 2_000


BALLAST = """
from ledger import hookimpl


class Ballast:
    name = "ballast"
    handles = "*"

    def initial(self):
        return []

    def apply(self, state, event, record):
        state.append(record.hash * 64)

    def summary(self, state):
        return {"records": len(state)}

    def snapshot(self, state):
        return state

    def restore(self, data):
        return list(data)


@hookimpl
def register_projections(register):
    register(Ballast())
"""


@pytest.fixture(scope="module")
def ballast(tmp_path_factory):
    """A plugin whose projection keeps 4 KB per record: its snapshot outgrows the limit."""
    path = tmp_path_factory.mktemp("plugin") / "ballast.py"
    path.write_text(BALLAST)
    return path


def limited(limit: int):
    def start() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return start


def dump(db) -> list[str]:
    """Everything in the file (records, snapshots, materialized tables), read from a copy of it
    and its write-ahead log so that reading leaves nothing behind."""
    with tempfile.TemporaryDirectory() as folder:
        for suffix in ("", "-wal"):
            if os.path.exists(f"{db}{suffix}"):
                shutil.copy(f"{db}{suffix}", os.path.join(folder, f"copy.db{suffix}"))
        connection = sqlite3.connect(os.path.join(folder, "copy.db"))
        try:
            return list(connection.iterdump())
        finally:
            connection.close()


@pytest.fixture(scope="module")
def ledger_file(tmp_path_factory):
    """A ledger of the plan and of usage reports, snapshotted and materialized (the import adds
    the other shipped history)."""
    folder = tmp_path_factory.mktemp("full")
    db = folder / "deals.db"
    usage = folder / "usage.jsonl"
    usage.write_text("".join(json.dumps({
        "type": "usage.reported", "occurred_at": f"2026-0{1 + n % 9}-01", "id": f"u{n}",
        "data": {"product": f"product-{n % 7}", "weekly_active_users": n}}) + "\n"
        for n in range(300)))
    with Ledger.open(db, load_entrypoints=False) as book, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the plan's scenario beside reported usage
        book.import_jsonl(HISTORIES[0], usage)
        book.snapshot()
        book.materialize()
    return db


@pytest.fixture(scope="module")
def live_file(ledger_file, tmp_path_factory):
    """``ledger_file`` and its write-ahead log, copied while a process that has just appended a
    large record holds it open: the next writer appends its pages to that log."""
    folder = tmp_path_factory.mktemp("live")
    db = folder / "deals.db"
    shutil.copy(ledger_file, db)
    with Ledger.open(db, load_entrypoints=False) as book:
        book.append(book.event_from("usage.reported", {"product": "chatgpt",
                                                         "weekly_active_users": 1}),
                    meta=json.loads(BIG_META), occurred_at="2026-10-01")
        copied = folder / "copied.db"
        for suffix in ("", "-wal"):
            shutil.copy(f"{db}{suffix}", f"{copied}{suffix}")
    assert os.path.getsize(f"{copied}-wal") > 32_768 + PAST_THE_LOG  # past SQLite's shm file
    return copied


@pytest.fixture(scope="module")
def old_file(ledger_file, tmp_path_factory):
    """``ledger_file`` as a version before the Merkle tree left it: no tree tables."""
    db = tmp_path_factory.mktemp("old") / "deals.db"
    shutil.copy(ledger_file, db)
    drop_tree(db)
    return db


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    path = tmp_path_factory.mktemp("key") / "deals.key"
    path.write_text(Signer.from_seed("ledger.example/deals", bytes(range(32))).text + "\n")
    return path


def arguments(command: str, db, out, ballast, key=None) -> list[str]:
    args, _ = COMMANDS[command]
    values = {"{db}": str(db), "{out}": str(out), "{history}": HISTORIES[1],
              "{ballast}": str(ballast), "{key}": str(key)}
    return [values.get(part, part) for part in args]


def run_limited(command: str, db, out, ballast, limit: int,
                key=None) -> subprocess.CompletedProcess:
    args = arguments(command, db, out, ballast, key)
    prefix = [sys.executable, "-c"] if command == "snapshot" else [sys.executable, "-m", "ledger"]
    environment = {key: value for key, value in os.environ.items() if key != "GIGALEDGER_DEBUG"}
    return subprocess.run([*prefix, *args], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          preexec_fn=limited(limit), env=environment)


def run_unlimited(command: str, db, out, ballast, capsys, key=None) -> int:
    args = arguments(command, db, out, ballast, key)
    if command == "snapshot":
        with Ledger.open(db, load_entrypoints=False, plugins=[str(ballast)]) as book:
            return 0 if book.snapshot() > 0 else 1
    status = main(args)
    capsys.readouterr()
    return status


def verifies(db) -> int:
    with Ledger.open(db, load_entrypoints=False, readonly=True) as book:
        return book.verify()[0]


def migrated(db, folder) -> list[str]:
    """The dump of ``db`` (a ledger made before the tree) once opened for writing: the tree's
    tables made by migration ``m003_tree``, and empty; the time the migration was applied left
    out."""
    copy = os.path.join(folder, "migrated.db")
    shutil.copy(db, copy)
    with Ledger.open(copy, load_entrypoints=False) as book:
        assert stored_size(book._store) == 0
    return untimed(dump(copy))


def untimed(lines: list[str]) -> list[str]:
    """A dump without the times its migrations were applied."""
    return [re.sub(r",'[0-9: .+-]+'\);$", ");", line)
            if line.startswith('INSERT INTO "_sqlite_migrations"') else line for line in lines]


#: Each command fails part-way through its writes (``checkpoint`` part-way through writing its
#: page); two also fail at once, where even SQLite's shared memory file cannot be made.
FAULTS = [(command, PAST_THE_LOG if command == "checkpoint" else LIMIT)
          for command in sorted(COMMANDS)] + [("append", 20_000), ("import", 20_000)]


@pytest.mark.parametrize(("command", "limit"), FAULTS)
def test_a_full_disk_is_one_line_and_changes_nothing(ledger_file, live_file, old_file, key,
                                                     ballast, tmp_path, tmp_path_factory, command,
                                                     limit, capsys):
    source = {"live": live_file, "old": old_file}.get(SOURCES.get(command), ledger_file)
    db = tmp_path / "deals.db"
    for suffix in ("", "-wal"):
        if os.path.exists(f"{source}{suffix}"):
            shutil.copy(f"{source}{suffix}", f"{db}{suffix}")
    if command == "checkpoint":
        limit += os.path.getsize(f"{db}-wal")
    out = tmp_path / ("copy.db" if command == "copy" else "deals.jsonl")
    before = dump(db)
    # Opening a ledger made before the tree for writing makes the tree's tables (a commit of its
    # own, which fits); the build that follows is one transaction, and it is what runs out.
    unchanged = migrated(db, tmp_path_factory.mktemp("migrated")) if command == "tree" else before
    done = run_limited(command, db, out, ballast, limit, key)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert len(lines) == 1, done.stderr
    assert "the disk is full" in lines[0], lines[0]
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert (untimed(dump(db)) if command == "tree" else dump(db)) == unchanged, \
        "the failed command changed the ledger"
    if command == "checkpoint" and sys.platform == "linux":  # Linux writes up to the limit:
        # the page was written part-way, a torn frame that SQLite ignores
        assert os.path.getsize(f"{db}-wal") == limit, (os.path.getsize(f"{db}-wal"), limit)
    records = verifies(db)
    assert records == sum(1 for line in before if line.startswith('INSERT INTO "events"'))
    leftovers = [name for name in os.listdir(tmp_path)
                 if not name.startswith("deals.db")]
    assert leftovers == [], f"left behind: {leftovers}"
    # once space is back, the same command works and the ledger verifies
    assert run_unlimited(command, db, out, ballast, capsys, key) == 0
    verifies(db)
    if command in ("tree", "checkpoint"):  # the tree covers the log; the checkpoint is kept
        with Ledger.open(db, load_entrypoints=False, readonly=True) as book:
            assert stored_size(book._store) == check_tree(book._store) == records
            assert len(book.checkpoints()) == (command == "checkpoint")
    if command == "copy":
        assert verifies(out) == verifies(db)
    if command == "export":
        assert sum(1 for _ in open(out, encoding="utf-8")) == verifies(db)


def test_an_io_error_is_put_down_to_a_size_limit_only_near_it(tmp_path):
    """With a file size limit far above the ledger's files, an I/O error is not called a full
    disk (unless the file system is nearly full, which the test's is not)."""
    from ledger.files import NEARLY_FULL, out_of_space

    db = tmp_path / "small.db"
    db.write_bytes(b"x" * 1000)
    statvfs = os.statvfs(tmp_path)
    assert statvfs.f_bavail * statvfs.f_frsize > NEARLY_FULL
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    try:
        for limit, expected in ((1 << 40, None),
                                (5000, "the file size limit, ulimit -f, is 5000 bytes")):
            if hard != resource.RLIM_INFINITY and limit > hard:
                limit = hard
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
            assert out_of_space(str(db)) == expected
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert out_of_space(None) is None
