"""Every command against the situations users meet: a missing file, a read-only archive, a
directory, a text file posing as a ledger, an unwritable output, a ledger locked by another
writer, Ctrl-C. Each ends in one line and a documented exit status, never "internal error" or a
traceback, and leaves the ledger as it was and still verifying.

Read-only is tested as a process that cannot write (``conftest.without_write_privilege``: root
without its capabilities when the tests run as root, else the files' own permissions), and
in-process with SQLite's read-only open.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from contextlib import contextmanager
from pathlib import Path

import attrs
import pytest

from ledger import (
    AgreementSigned, Event, Ledger, LedgerError, ReadOnly, Rejected, StoreBusy, UsageError,
    UsageReported, fields, hookimpl, interrupts,
)

from .conftest import EVENTS, ROOT, without_write_privilege

HISTORY = os.path.join(EVENTS, "openai-compute-2025-2026.jsonl")
APPEND = ["append", "{db}", "usage.reported", "--occurred-at", "2026-11-01",
          "--data", '{"product": "chatgpt", "weekly_active_users": 1}']
#: Commands that only read the ledger (DB is their first argument).
READS = {
    "log": ["log", "{db}"],
    "report": ["report", "{db}"],
    "verify": ["verify", "{db}"],
    "head": ["head", "{db}"],
    "info": ["info", "{db}"],
    "export": ["export", "{db}"],
    "explain": ["explain", "{db}", "5"],
    "prove": ["prove", "{db}", "5"],
}
#: Commands that write it.
WRITES = {
    "append": APPEND,
    "import": ["import", "{db}", HISTORY],
    "materialize": ["materialize", "{db}"],
}


def gigaledger(*args: str, env: dict | None = None, restricted: bool = False,
               timeout: float = 120) -> subprocess.CompletedProcess:
    """The command line in a process of its own (without the privilege to write what file
    modes forbid, when ``restricted``)."""
    command = [sys.executable, "-m", "ledger", *map(str, args)]
    if restricted:
        command = without_write_privilege(command)
    environment = dict(os.environ, **(env or {}))
    environment.pop("GIGALEDGER_DEBUG", None)
    return subprocess.run(command, capture_output=True, text=True, env=environment,
                          timeout=timeout, cwd=ROOT)


def assert_one_clean_line(done: subprocess.CompletedProcess, status: int) -> str:
    """Exit ``status`` with exactly one line on stderr, and no traceback or internal error."""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == status, done.stderr
    assert len(lines) == 1, done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    return lines[0]


def fill(args: list[str], **values: str) -> list[str]:
    """The arguments with ``{db}`` and the like replaced (JSON arguments are left as they are)."""
    filled = []
    for part in args:
        for name, value in values.items():
            part = part.replace("{" + name + "}", value)
        filled.append(part)
    return filled


def fingerprint(db: Path) -> tuple:
    """What must not change: the records and their hashes, as an independent reader sees them
    (from a copy of the file and its write-ahead log, so that reading leaves no side files)."""
    with tempfile.TemporaryDirectory() as folder:
        for suffix in ("", "-wal"):
            if os.path.exists(f"{db}{suffix}"):
                shutil.copy(f"{db}{suffix}", os.path.join(folder, f"copy.db{suffix}"))
        connection = sqlite3.connect(os.path.join(folder, "copy.db"))
        try:
            return tuple(connection.execute("SELECT seq, hash FROM events ORDER BY seq"))
        finally:
            connection.close()


@pytest.fixture(scope="module")
def ledger_file(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("ledger") / "deals.db"
    with Ledger.open(db, load_entrypoints=False) as book:
        book.import_jsonl(HISTORY)
    return db


@pytest.fixture
def copy(ledger_file, tmp_path) -> Path:
    db = tmp_path / "deals.db"
    shutil.copy(ledger_file, db)
    return db


def test_the_command_alone_prints_its_help_as_it_is():
    """``gigaledger`` with nothing after it: the help on stderr, status 2, without the
    "gigaledger: " and "(see gigaledger --help)" that a usage error's one line carries."""
    done = gigaledger()
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("Usage: gigaledger [OPTIONS] COMMAND [ARGS]...\n")
    assert "\nCommands:\n" in done.stderr and "  verify " in done.stderr
    assert "(see gigaledger --help)" not in done.stderr


# --- missing, directory, text file -----------------------------------------------------------


@pytest.mark.parametrize("name", sorted({**READS, **WRITES}))
def test_a_missing_ledger(name, tmp_path):
    db = tmp_path / "missing" / "deals.db"
    done = gigaledger(*fill({**READS, **WRITES}[name], db=str(db)))
    line = assert_one_clean_line(done, 1)
    assert ("no such ledger file" in line) or ("cannot be created: no folder" in line), line
    assert not db.exists() and not db.parent.exists()


@pytest.mark.parametrize("name", sorted({**READS, **WRITES}))
def test_a_directory_given_as_the_ledger(name, tmp_path):
    done = gigaledger(*fill({**READS, **WRITES}[name], db=str(tmp_path)))
    assert "is a directory" in assert_one_clean_line(done, 2)  # a usage error: DB is a file


@pytest.mark.parametrize("name", sorted({**READS, **WRITES}))
def test_a_text_file_posing_as_a_ledger(name, tmp_path):
    db = tmp_path / "notes.db"
    db.write_text("these are my notes, not a ledger\n" * 200)
    before = db.read_bytes()
    done = gigaledger(*fill({**READS, **WRITES}[name], db=str(db)))
    line = assert_one_clean_line(done, 1)
    assert line == (f"{db}: not a gigaledger database (not an SQLite file, or one whose header "
                    "is damaged)"), line
    assert db.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["notes.db"]


def test_a_history_given_as_the_ledger_names_the_swap(tmp_path, copy):
    history = tmp_path / "h.jsonl"
    shutil.copy(HISTORY, history)
    before = fingerprint(copy)
    done = gigaledger("import", history, copy)
    line = assert_one_clean_line(done, 2)
    assert "not a JSON Lines history" in line and "swap" in line
    assert fingerprint(copy) == before
    assert history.read_text() == Path(HISTORY).read_text()


@pytest.mark.parametrize("name", sorted(READS))
def test_a_history_where_the_ledger_goes_is_named_as_a_history(name, tmp_path):
    history = tmp_path / "h.jsonl"
    shutil.copy(HISTORY, history)
    done = gigaledger(*fill(READS[name], db=str(history)))
    line = assert_one_clean_line(done, 2)  # the arguments in the wrong places: a usage error
    assert f"{history}: holds JSON text (a history?), not a ledger database" in line, line
    assert history.read_text() == Path(HISTORY).read_text()
    assert sorted(os.listdir(tmp_path)) == ["h.jsonl"]


def test_an_import_with_the_history_first_creates_nothing(tmp_path):
    history = tmp_path / "h.jsonl"
    shutil.copy(HISTORY, history)
    line = assert_one_clean_line(gigaledger("import", history, tmp_path / "new.db"), 2)
    assert line == (f"gigaledger import: {history}: holds JSON text (a history?), not a ledger "
                    "database (did you swap them? gigaledger import DB HISTORY...) (see "
                    "gigaledger import --help)")
    assert sorted(os.listdir(tmp_path)) == ["h.jsonl"]


def test_a_failed_import_into_a_new_file_leaves_no_file(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(Path(HISTORY).read_text() + '{"type": "gpu.delivered", "occurred_at": '
                   '"2026-01-01", "data": {}}\n')
    db = tmp_path / "new.db"
    line = assert_one_clean_line(gigaledger("import", db, bad), 1)
    assert "did you mean 'gpus.delivered'?" in line
    assert sorted(os.listdir(tmp_path)) == ["bad.jsonl"]


# --- read-only archives ------------------------------------------------------------------------


def read_only_folder(ledger_file: Path) -> Path:
    """A copy of the ledger, read-only, in a read-only folder (for a process that obeys file
    modes: ``gigaledger(..., restricted=True)``)."""
    base = Path(tempfile.mkdtemp(prefix="gigaledger-ro-"))
    os.chmod(base, 0o755)
    folder = base / "archive"
    folder.mkdir()
    shutil.copy(ledger_file, folder / "deals.db")
    os.chmod(folder / "deals.db", 0o444)
    os.chmod(folder, 0o555)
    return folder / "deals.db"


@pytest.fixture
def archive(ledger_file):
    db = read_only_folder(ledger_file)
    yield db
    os.chmod(db.parent, 0o755)
    shutil.rmtree(db.parent.parent)


@pytest.mark.parametrize("name", sorted(READS))
def test_every_read_command_works_on_a_read_only_archive(name, archive):
    db = archive
    before = sorted(os.listdir(db.parent)), fingerprint(db)
    done = gigaledger(*fill(READS[name], db=str(db)), restricted=True)
    assert done.returncode == 0, done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    assert done.stdout.strip()
    assert (sorted(os.listdir(db.parent)), fingerprint(db)) == before


@pytest.mark.parametrize("name", sorted(WRITES))
def test_a_write_to_a_read_only_archive_says_so_in_one_line(name, archive):
    db = archive
    before = fingerprint(db)
    line = assert_one_clean_line(gigaledger(*fill(WRITES[name], db=str(db)), restricted=True), 1)
    assert "cannot be written" in line or "read-only" in line, line
    assert fingerprint(db) == before


def test_a_write_to_a_read_only_file_in_a_writable_folder(ledger_file):
    base = Path(tempfile.mkdtemp(prefix="gigaledger-ro-"))
    os.chmod(base, 0o777)
    db = base / "deals.db"
    shutil.copy(ledger_file, db)
    os.chmod(db, 0o444)
    try:
        before = fingerprint(db)
        line = assert_one_clean_line(gigaledger(*fill(APPEND, db=str(db)), restricted=True), 1)
        assert "cannot be written" in line or "read-only" in line, line
        assert fingerprint(db) == before
        assert gigaledger("verify", db, restricted=True).returncode == 0
    finally:
        shutil.rmtree(base)


def test_a_file_marked_read_only_is_not_written_even_by_root(copy):
    """``chmod 444`` protects a ledger from writes whoever runs the command (root may write any
    file, but the mode says its owner wants it left as it is); reads still work."""
    os.chmod(copy, 0o444)
    before = fingerprint(copy)
    line = assert_one_clean_line(gigaledger(*fill(APPEND, db=str(copy))), 1)
    assert line == (f"{copy}: is marked read-only (no one may write it: chmod u+w to allow "
                    "writes); commands that only read it still work")
    with pytest.raises(ReadOnly, match="is marked read-only"):
        Ledger.open(copy, load_entrypoints=False)
    assert gigaledger("verify", copy).returncode == 0
    assert fingerprint(copy) == before
    os.chmod(copy, 0o644)
    assert gigaledger(*fill(APPEND, db=str(copy))).returncode == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the side files to another user")
def test_side_files_left_by_another_user_are_named_when_they_block_a_write(copy):
    """A reader of another user leaves SQLite's side files (-wal, -shm) beside a ledger it could
    not write; the owner's next write is refused naming them and what to do, not as a read-only
    file."""
    for side in (f"{copy}-wal", f"{copy}-shm"):
        Path(side).write_bytes(b"")
        os.chown(side, 65534, 65534)
        os.chmod(side, 0o644)
    before = fingerprint(copy)
    line = assert_one_clean_line(gigaledger(*fill(APPEND, db=str(copy)), restricted=True), 1)
    assert line.startswith(f"{copy}: cannot be written: {copy}-wal and {copy}-shm cannot be "
                           "written (owned by "), line
    assert line.endswith("left by someone who read the ledger; when no one is using it, remove "
                         "them; commands that only read it still work"), line
    for side in (f"{copy}-wal", f"{copy}-shm"):
        os.remove(side)
    assert fingerprint(copy) == before


def test_readonly_open_in_process(copy):
    before = fingerprint(copy)
    with Ledger.open(copy, readonly=True, load_entrypoints=False) as book:
        assert book.readonly
        assert book.verify()[0] == len(before)
        assert book.replay().report()["as_of"]["seq"] == len(before)
        assert len(list(book.read())) == len(before)
        with pytest.raises(ReadOnly, match="read-only"):
            book.append(UsageReported(product="x", weekly_active_users=1))
        with pytest.raises(ReadOnly):
            book.snapshot()
    assert fingerprint(copy) == before
    with pytest.raises(UsageError, match="memory"):
        Ledger.open(None, readonly=True)


# --- outputs that cannot be written ---------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["export", "{db}", "-o", "{missing}/out.jsonl"],
    ["chart", "{db}", "-o", "{missing}/chart.png"],
    ["export", "{db}", "-o", "{db}"],
])
def test_an_output_that_cannot_be_written(args, copy, tmp_path):
    before = sorted(os.listdir(tmp_path)), fingerprint(copy)
    done = gigaledger(*fill(args, db=str(copy), missing=str(tmp_path / "nowhere")))
    line = assert_one_clean_line(done, 2 if args[-1] == "{db}" else 1)
    assert "cannot be written" in line or "is the ledger itself" in line, line
    assert (sorted(os.listdir(tmp_path)), fingerprint(copy)) == before


# --- locked by another writer ------------------------------------------------------------------


@contextmanager
def locked(db: Path):
    """Another process holding the ledger's write lock (a process of its own: POSIX locks are
    per process, so a file this process opens and closes would release a lock it held)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
         "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); sys.stdin.read()", str(db)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.communicate("", timeout=60)


def test_a_ledger_locked_by_another_writer(copy):
    with locked(copy):
        before = fingerprint(copy)
        for name in sorted(WRITES):
            done = gigaledger(*fill(WRITES[name], db=str(copy)), env={"GIGALEDGER_TIMEOUT": "0.2"})
            assert "busy" in assert_one_clean_line(done, 1), (name, done.stdout)
        for name in sorted(READS):  # readers do not wait for a writer (WAL)
            done = gigaledger(*fill(READS[name], db=str(copy)), env={"GIGALEDGER_TIMEOUT": "0.2"})
            assert done.returncode == 0, (name, done.stderr)
        assert fingerprint(copy) == before
    assert gigaledger("verify", copy).returncode == 0


def test_a_bad_timeout_setting_is_a_usage_error(copy):
    done = gigaledger("head", copy, env={"GIGALEDGER_TIMEOUT": "soon"})
    assert "GIGALEDGER_TIMEOUT" in assert_one_clean_line(done, 2)


# --- Ctrl-C ----------------------------------------------------------------------------------


def test_ctrl_c_during_an_import_exits_130_and_stores_nothing(tmp_path, copy):
    big = tmp_path / "big.jsonl"
    with open(big, "w") as out:
        for n in range(200_000):
            out.write(json.dumps({"type": "usage.reported", "occurred_at": "2026-01-01",
                                  "data": {"product": f"p{n % 50}", "weekly_active_users": n}})
                      + "\n")
    before = fingerprint(copy)
    # Ctrl-C reaches the command even when the tests run where SIGINT is ignored (a background
    # job): the child starts with the default disposition, as from a terminal.
    process = subprocess.Popen([sys.executable, "-m", "ledger", "import", str(copy), str(big)],
                               stderr=subprocess.PIPE, text=True, cwd=ROOT,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(2.0)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert err == "interrupted (Ctrl-C): nothing of this command was stored\n"  # one line only
    assert fingerprint(copy) == before
    assert gigaledger("verify", copy).returncode == 0


def test_ctrl_c_waits_for_the_end_of_a_held_block_then_lands():
    """``interrupts.held()``, around a commit and its count: SIGINT sent inside the block runs
    its handler only after the block, at once (so that a commit is never split from its count)."""
    class CtrlC(BaseException):
        pass

    def handler(signum, frame):
        raise CtrlC

    previous = signal.signal(signal.SIGINT, handler)
    done = []
    try:
        with pytest.raises(CtrlC):
            with interrupts.held():
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.05)  # a handler not held off would run here
                done.append("block")
            done.append("after")  # not reached: the handler runs as the block ends
    finally:
        signal.signal(signal.SIGINT, previous)
    assert done == ["block"]


#: A plugin that presses Ctrl-C once the records are stored: its ``event_appended`` observer
#: runs after the commit, and sends the process SIGINT the first time it is told of a record.
_CTRL_C_AFTER_COMMIT = """
import os, signal
from ledger import hookimpl

_sent = []

@hookimpl
def event_appended(record, view):
    if not _sent:
        _sent.append(record.seq)
        os.kill(os.getpid(), signal.SIGINT)
"""


@pytest.mark.parametrize("target", ["existing", "new"])
def test_ctrl_c_after_the_records_are_stored_says_so_and_keeps_them(tmp_path, target):
    """Ctrl-C that lands once an import has committed (here: while its observers are told)
    must not say "nothing of this command was stored": the records are in the ledger, which
    keeps them (a new file too), and the line says how many."""
    plugin = tmp_path / "ctrl_c_after_commit.py"
    plugin.write_text(_CTRL_C_AFTER_COMMIT)
    db = tmp_path / "ledger.db"
    before = 0
    if target == "existing":
        with Ledger.open(db) as book:
            before = book.import_jsonl(os.path.join(EVENTS, "nvidia-openai-plan.jsonl")).appended
    process = subprocess.run(
        [sys.executable, "-m", "ledger", "import", str(db), HISTORY, "--plugin", str(plugin)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    with Ledger.open(db, readonly=True) as book:
        stored = len(book) - before
        book.verify()
    assert stored > 0
    assert (process.returncode, process.stderr, process.stdout) == (
        130, f"interrupted (Ctrl-C) after this command had stored {stored} records: they are "
             "kept\n", "")


def test_ctrl_c_after_an_import_into_memory_says_nothing_was_stored(tmp_path):
    """``gigaledger replay HISTORY`` without ``--db`` keeps its ledger in memory: Ctrl-C after
    the import's commit leaves nothing behind, and the line says so."""
    plugin = tmp_path / "ctrl_c_after_commit.py"
    plugin.write_text(_CTRL_C_AFTER_COMMIT)
    process = subprocess.run(
        [sys.executable, "-m", "ledger", "replay", HISTORY, "--plugin", str(plugin)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert (process.returncode, process.stderr, process.stdout) == (
        130, "interrupted (Ctrl-C): nothing of this command was stored\n", "")


#: A process that meets Ctrl-C while the command line is still loading: an import hook raises
#: KeyboardInterrupt when ``ledger.cli.base`` is imported (as SIGINT would, at that moment).
_CTRL_C_WHILE_LOADING = """
import runpy, sys
class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == "ledger.cli.base":
            raise KeyboardInterrupt
sys.meta_path.insert(0, CtrlC())
way, sys.argv = sys.argv[1], ["gigaledger", "report", sys.argv[2]]
if way == "script":
    from ledger.cli import entry
    entry()
else:
    runpy.run_module("ledger", run_name="__main__")
"""


@pytest.mark.parametrize("way", ["script", "module"])
def test_ctrl_c_while_the_command_line_loads_is_one_line_too(copy, way):
    """Ctrl-C in the first third of a second, while Python loads the commands, ends as it does
    later: status 130 and the one line, no traceback; both for the ``gigaledger`` script and for
    ``python -m ledger``."""
    done = subprocess.run([sys.executable, "-c", _CTRL_C_WHILE_LOADING, way, str(copy)],
                          capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert (done.returncode, done.stderr, done.stdout) == (
        130, "interrupted (Ctrl-C): nothing of this command was stored\n", "")


#: A process that meets Ctrl-C as it exits, once the command has answered: an exit handler
#: sends SIGINT to the process itself (as a key pressed at that moment would).
_CTRL_C_AT_EXIT = """
import atexit, os, signal, sys
atexit.register(lambda: os.kill(os.getpid(), signal.SIGINT))
sys.argv = ["gigaledger", "head", sys.argv[1]]
from ledger.cli import entry
entry()
"""


def test_ctrl_c_once_the_command_has_answered_changes_nothing(copy):
    """Ctrl-C after the command's output, while Python shuts down, neither prints "Exception
    ignored" with a traceback nor turns the command's status into 130: the command is done."""
    head = subprocess.run([sys.executable, "-m", "ledger", "head", str(copy)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    done = subprocess.run([sys.executable, "-c", _CTRL_C_AT_EXIT, str(copy)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert head.returncode == 0 and head.stdout.split()[0] == str(len(fingerprint(copy)))
    assert (done.returncode, done.stderr, done.stdout) == (0, "", head.stdout)


def test_ctrl_c_stops_log_follow_quietly(copy):
    """Ctrl-C is how ``log --follow`` is stopped: exit 0, the records it printed, no complaint."""
    process = subprocess.Popen([sys.executable, "-m", "ledger", "log", str(copy), "--follow",
                                "--interval", "0.05"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=ROOT,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert process.stdout.readline().split()[0] == "1"  # following: the first record is out
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)
    finally:
        process.kill()  # a failed test leaves no follower behind (no-op once it has ended)
    assert (process.returncode, err) == (0, "")


def test_log_follow_ends_when_its_reader_has_gone_without_waiting_for_a_record(copy):
    """``gigaledger log DB --follow | head -3``: once ``head`` has its lines and closes the pipe,
    the follower ends (exit 0, nothing on stderr) while it waits, not at the next record to
    print, which may never come (here it would wait a minute between looks)."""
    count = len(gigaledger("log", copy).stdout.splitlines())
    process = subprocess.Popen([sys.executable, "-m", "ledger", "log", str(copy), "--follow",
                                "--interval", "60"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, cwd=ROOT)
    try:
        lines = [process.stdout.readline() for _ in range(count)]  # all it has: now it waits
        assert lines[-1].split()[0] == str(count).encode()
        process.stdout.close()
        assert process.wait(timeout=20) == 0
        assert process.stderr.read() == b""
    finally:
        process.kill()


@pytest.mark.parametrize("command", [["info"], ["export"], ["log"], ["verify"], ["report"]])
def test_a_reader_closing_the_pipe_is_not_a_failure(copy, command):
    """``gigaledger info DB | head -1``: the command stops where the reader stopped reading,
    exit 0 and nothing on stderr (as ``cat`` in a pipeline, not an error). The pipe is closed
    before the command has started, so its first write meets the closed pipe."""
    process = subprocess.Popen([sys.executable, "-m", "ledger", command[0], str(copy),
                                *command[1:]], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               cwd=ROOT)
    process.stdout.close()
    assert (process.wait(timeout=120), process.stderr.read()) == (0, b"")


@pytest.mark.parametrize("name", sorted(READS))
def test_a_read_command_on_an_empty_file_writes_nothing_into_it(tmp_path, name):
    empty = tmp_path / "empty.db"
    empty.touch()
    line = assert_one_clean_line(gigaledger(*fill(READS[name], db=str(empty))), 1)
    assert line == f"{empty}: an empty file, not a ledger (import or append make a new ledger)"
    assert empty.stat().st_size == 0 and sorted(os.listdir(tmp_path)) == ["empty.db"]


def test_until_a_seq_past_the_end_says_so(copy):
    last = int(gigaledger("head", copy).stdout.split()[0])
    done = gigaledger("report", copy, "--until", f"#{last + 5}", "--json")
    assert done.returncode == 0
    assert done.stderr == (f"warning: --until #{last + 5} is past the last record (seq {last}): "
                           "the report is of the whole log\n")
    assert json.loads(done.stdout)["as_of"]["seq"] == last
    assert gigaledger("report", copy, "--until", f"#{last}").stderr == ""


def test_append_to_a_name_that_does_not_exist_says_it_made_a_new_ledger(tmp_path):
    """A misspelt ledger name is a new ledger for append (as for import): it says so, once."""
    typo = tmp_path / "deals-typo.db"
    data = '{"product": "chatgpt", "weekly_active_users": 1}'
    first = gigaledger("append", typo, "usage.reported", "--data", data, "--json")
    assert first.returncode == 0 and json.loads(first.stdout)["seq"] == 1
    assert first.stderr == f"note: {typo} did not exist: it is a new ledger\n"
    again = gigaledger("append", typo, "usage.reported", "--data", data)
    assert again.returncode == 0 and again.stderr == "" and again.stdout.startswith("seq 2: ")
    refused = gigaledger("append", tmp_path / "other.db", "usage.reported", "--data", "{}")
    assert refused.returncode == 1 and "new ledger" not in refused.stderr
    assert not (tmp_path / "other.db").exists()


@pytest.mark.parametrize(("args", "says"), [
    (["prove", "{db}", "abc"], "gigaledger prove: Invalid value for '[SEQ]': 'abc' is not a whole "
                               "number (see gigaledger prove --help)"),
    (["log", "{db}", "--limit", "1.5"], "gigaledger log: Invalid value for '--limit': '1.5' is not "
                                        "a whole number (see gigaledger log --help)"),
    (["report", "{db}", "--until", "tomorrow"],
     "gigaledger report: Invalid value for '--until': 'tomorrow' is not an ISO-8601 date or time; "
     "give a year (2027), a month (2027-06), a date (2027-06-30), an ISO time, or a seq (#18 or "
     "seq:18) (see gigaledger report --help)"),
    (["check", "nope.proof", "--checkpoint", "nope.txt", "--pub", "{db}"], None),
    (["export", "{db}", "out.jsonl"], "gigaledger export: Got unexpected extra argument "
                                      "(out.jsonl); export writes to a file given with -o FILE "
                                      "(see gigaledger export --help)"),
])
def test_a_wrong_value_is_said_once_in_plain_words(copy, args, says):
    done = gigaledger(*[a.format(db=copy) for a in args])
    line = assert_one_clean_line(done, 2 if says else 1)
    if says is None:  # the file named once, as everywhere
        assert line.startswith(f"{copy}: ") and line.count(str(copy)) == 1
    else:
        assert line == says


def test_append_dated_after_it_is_recorded_warns_unless_it_is_a_scenario(copy):
    """A fact cannot be reported before it occurs: an event dated days after it is recorded
    (2062 for 2026, a typo) is stored, with a warning; a scenario (assumed) is not warned about."""
    data = '{"product": "chatgpt", "weekly_active_users": 900000000}'
    typo = gigaledger("append", copy, "usage.reported", "--data", data, "--occurred-at",
                      "2062-03-01", "--json")
    assert typo.returncode == 0
    seq = json.loads(typo.stdout)["seq"]
    assert typo.stderr.startswith(f"warning: seq {seq} is dated 2062-03-01, ")
    assert "days after it was recorded (a typo?)" in typo.stderr and typo.stderr.count("\n") == 1
    for extra in (["--occurred-at", "2062-03-01", "--meta", '{"scenario": true}'], []):
        done = gigaledger("append", copy, "usage.reported", "--data", data, *extra)
        assert done.returncode == 0 and done.stderr == "", extra


def test_until_a_date_after_the_last_event_says_what_the_figures_assume(copy):
    """Statuses as of a date after the log's last event ("late") assume that nothing happened in
    between: said on stderr, when the whole log is folded and only then."""
    last = json.loads(gigaledger("report", copy, "--json").stdout)["as_of"]["occurred_at"][:10]
    after = (date.fromisoformat(last) + timedelta(days=1)).isoformat()
    done = gigaledger("report", copy, "--until", after, "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["as_of"]["until"] == after
    assert done.stderr == (f"note: the log ends with an event of {last}; as of {after} (--until) "
                           "the figures assume that nothing happened after it (a plan due in "
                           "between counts as late)\n")
    year = gigaledger("report", copy, "--until", str(int(last[:4]) + 1))
    assert f"as of {int(last[:4]) + 1}-12-31 (--until)" in year.stderr
    for until in (last, f"{last}T23:59:59Z", "2025-10-01", "#3"):
        assert gigaledger("report", copy, "--until", until).stderr == "", until


def test_since_takes_a_year_or_a_month_as_until_does(copy):
    def seqs(*options: str) -> list[str]:
        done = gigaledger("log", copy, "--json", *options)
        assert done.returncode == 0, done.stderr
        return [json.loads(line)["seq"] for line in done.stdout.splitlines()]

    assert seqs("--since", "2026") == seqs("--since", "2026-01-01") != []
    assert seqs("--since", "2026-03") == seqs("--since", "2026-03-01T00:00:00Z")
    assert seqs("--since", "2025-06") != seqs("--since", "2026")
    line = assert_one_clean_line(gigaledger("log", copy, "--since", "2026-13"), 2)
    assert "a year (2026), a month (2026-06)" in line


# --- from Python: closed ledgers and other threads ---------------------------------------------


def test_a_closed_ledger_raises_usage_error(copy):
    book = Ledger.open(copy, load_entrypoints=False)
    book.close()
    for action in (book.head, lambda: list(book.read()), book.replay, book.verify,
                   lambda: book.append(UsageReported(product="x", weekly_active_users=1))):
        with pytest.raises(UsageError, match="closed"):
            action()


def test_a_ledger_used_from_another_thread_raises_usage_error(copy):
    errors: list[BaseException] = []
    with Ledger.open(copy, load_entrypoints=False) as book:
        def other() -> None:
            for call in (lambda: book.append(UsageReported(product="x", weekly_active_users=1)),
                         book.close):
                try:
                    call()
                except BaseException as error:  # noqa: BLE001 - collected for the assertion
                    errors.append(error)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        assert len(errors) == 2 and all(isinstance(e, UsageError) for e in errors), errors
        assert all("thread" in str(error) for error in errors)
        assert "close it there" in str(errors[1])
        assert book.verify()[0] == len(fingerprint(copy))  # still open in its own thread


def test_a_writer_that_waits_too_long_raises_store_busy(copy):
    with locked(copy), Ledger.open(copy, load_entrypoints=False, timeout=0.1) as book:
        with pytest.raises(StoreBusy, match="busy"):
            book.append(UsageReported(product="x", weekly_active_users=1))


def test_python_mistakes_get_the_ledgers_own_errors(tmp_path):
    with pytest.raises(Rejected, match="required fields missing: investor, investee"):
        AgreementSigned(agreement="a")
    with pytest.raises(Rejected, match="unknown field colour"):
        UsageReported(product="x", weekly_active_users=1, colour="red")
    with Ledger.open(load_entrypoints=False) as book:
        with pytest.raises(Rejected, match="event_from"):
            book.append({"type": "usage.reported", "product": "x"})
        with pytest.raises(ValueError, match="occurred_at"):  # Rejected is a ValueError
            book.append(UsageReported(product="x", weekly_active_users=1), occurred_at="soon")
        with pytest.raises(Rejected, match="did you mean 'gpus.delivered'"):
            book.event_from("gpu.delivered", {})
    plugin = tmp_path / "one.py"

    @attrs.frozen
    class Priced(Event):
        type = "thing.priced"
        site: str = fields.name()
        usd: Decimal = fields.usd(optional=True)  # a plain annotation on an optional field

    class Things:
        @hookimpl
        def register_event_types(self, register):
            register(Priced)

    with Ledger.open(plugins=[Things()], load_entrypoints=False) as book:
        record = book.append(Priced(site="s"), occurred_at="2026-01-01")
        assert record.data == {"site": "s"} and "site s" in record.summary()
        assert book.append(Priced(site="s", usd=Decimal(3)), occurred_at="2026-01-01").data == \
            {"site": "s", "usd": "3"}
    plugin.write_text("from ledger import hookimpl\n")
    with Ledger.open(plugins=str(plugin), load_entrypoints=False) as book:  # one plugin, a path
        assert "one" in [info.name for info in book.plugins]
    with pytest.raises(LedgerError):
        Ledger.open(plugins=str(tmp_path / "missing.py"), load_entrypoints=False)
