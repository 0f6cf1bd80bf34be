"""The command line: one line on stderr and exit 1 for refused input, 2 for usage, never a traceback."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from .test_history import GOOD, bad_line, write


@pytest.fixture
def history(tmp_path):
    return write(tmp_path / "h.jsonl", GOOD)


def state(db):
    connection = sqlite3.connect(db)
    try:
        return connection.execute("SELECT COUNT(*), MAX(hash) FROM events").fetchone()
    finally:
        connection.close()


def test_import_verify_export_log(run, tmp_path, history):
    db = tmp_path / "db.sqlite"
    result = run("import", db, history)
    assert result.code == 0 and "imported 3 records" in result.out
    verified = run("verify", db)
    assert verified.code == 0 and verified.out.startswith("ok: 3 records, head ")
    exported = run("export", db)
    assert [json.loads(line)["seq"] for line in exported.out.splitlines()] == [1, 2, 3]
    logged = run("log", db, "--type", "gpus.delivered")
    assert logged.out.split()[:3] == ["3", "2025-10-01", "gpus.delivered"]
    as_json = run("log", db, "--json", "--after", "1")
    assert [json.loads(line)["seq"] for line in as_json.out.splitlines()] == [2, 3]
    # the export format, byte for byte (a line is the record's Merkle leaf), filters and all
    assert run("log", db, "--json").out == exported.out
    assert as_json.out.splitlines() == exported.out.splitlines()[1:]
    reverse = run("log", db, "--json", "--reverse", "--type", "gpus.delivered", "--limit", "1")
    assert reverse.out == exported.out.splitlines(keepends=True)[2]
    assert run("export", db, "-o", tmp_path / "out.jsonl").code == 0
    copy = tmp_path / "copy.sqlite"
    assert run("import", copy, tmp_path / "out.jsonl").code == 0
    assert state(copy) == state(db)


def test_verify_names_the_tampered_seq(run, tmp_path, history):
    db = tmp_path / "db.sqlite"
    run("import", db, history)
    connection = sqlite3.connect(db)
    connection.executescript("DROP TRIGGER events_no_update; UPDATE events SET data = "
                             "replace(data, '0.2', '0.25') WHERE seq = 2;")
    connection.close()
    result = run("verify", db)
    assert result.code == 1
    assert result.err.strip() == f"{db}: seq 2: hash does not match the record"
    assert result.out == ""


def test_verify_with_a_pinned_head(run, tmp_path, history):
    db = tmp_path / "db.sqlite"
    run("import", db, history)
    head = run("verify", db).out.split()[-1]
    assert run("verify", db, "--head", head).code == 0
    assert run("verify", db, "--head", "f" * 64).code == 1


@pytest.mark.parametrize("line", [
    '{"type": broken',
    bad_line(type="capacity.bought"),
    bad_line(data={"gigawatts": "-1"}),
    json.dumps({**GOOD[1], "data": {"site": "x"}}),
])
def test_a_bad_line_exits_1_with_one_located_line_and_changes_nothing(run, tmp_path, history, line):
    db = tmp_path / "db.sqlite"
    run("import", db, history)
    before = state(db)
    bad = write(tmp_path / "bad.jsonl", [GOOD[0], line, GOOD[1]])
    result = run("import", db, bad)
    assert result.code == 1
    assert result.err.count("\n") == 1 and result.err.startswith(f"{bad}:2: ")
    assert "Traceback" not in result.err and result.out == ""
    assert state(db) == before


def test_a_non_utf8_byte_exits_1(run, tmp_path, history):
    db = tmp_path / "db.sqlite"
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(history.read_bytes() + b'{"type": "\xfe"}\n')
    result = run("import", db, bad)
    assert (result.code, result.err.strip()) == (1, f"{bad}:4: not valid UTF-8: byte 0xfe at column 11")
    assert not db.exists()  # a failed command leaves no new file behind


def test_append_and_expect_version(run, tmp_path):
    db = tmp_path / "db.sqlite"
    data = json.dumps({"product": "chatgpt", "weekly_active_users": 800000000})
    first = run("append", db, "usage.reported", "--data", data, "--occurred-at", "2025-10-13",
                "--expect-version", "0")
    assert first.code == 0 and first.out.startswith("seq 1: usage.reported on usage/chatgpt v1")
    again = run("append", db, "usage.reported", "--data", data, "--expect-version", "0")
    assert again.code == 1
    assert again.err.strip() == "stream 'usage/chatgpt' is at version 1, not the expected 0"
    as_json = run("append", db, "usage.reported", "--data", data, "--expect-version", "1", "--json",
                  "--id", "k", "--meta", '{"source": "https://x"}')
    record = json.loads(as_json.out)
    assert (record["seq"], record["version"], record["id"], record["meta"]) == (2, 2, "k", {"source": "https://x"})


@pytest.mark.parametrize(("args", "why"), [
    (["usage.reported", "--data", "{not json"], "--data: not valid JSON"),
    (["usage.reported", "--data", "[1]"], "--data: expected a JSON object"),
    (["usage.reported", "--data", '{"product": "p"}'], "data.weekly_active_users: required field is missing"),
    (["usage.tallied", "--data", "{}"], "unknown event type 'usage.tallied'"),
    (["usage.reported", "--data", '{"product": "p", "weekly_active_users": 1}', "--occurred-at", "soon"],
     "occurred_at: 'soon' is not an ISO-8601 date or time"),
])
def test_append_refusals(run, tmp_path, args, why):
    result = run("append", tmp_path / "db.sqlite", *args)
    assert result.code == 1 and result.err.strip().startswith(why), result.err


def test_usage_errors_exit_2(run, tmp_path):
    assert run("append", tmp_path / "db.sqlite", "usage.reported").code == 2  # --data missing
    assert run("frobnicate").code == 2
    assert run("log", tmp_path / "db.sqlite", "--after", "x").code == 2


def test_reading_commands_do_not_create_files(run, tmp_path):
    for command in ("verify", "log", "report", "export"):
        result = run(command, tmp_path / "missing.db")
        assert result.code == 1 and result.err.strip() == f"{tmp_path / 'missing.db'}: no such ledger file"
    assert not (tmp_path / "missing.db").exists()


def test_report_and_replay(run, tmp_path, history):
    replayed = run("replay", history, "--json")
    report = json.loads(replayed.out)
    assert set(report) == {"investment", "gpu_inventory", "provider_mix", "pipeline", "as_of"}
    assert report["as_of"]["seq"] == 3
    assert report["gpu_inventory"]["counted"] == 1000
    until = json.loads(run("replay", history, "--json", "--until", "2025-09-30").out)
    assert until["as_of"]["seq"] == 2 and until["gpu_inventory"]["counted"] == 0
    db = tmp_path / "db.sqlite"
    run("replay", history, "--db", db)
    assert json.loads(run("report", db, "--json").out) == report
    people = run("report", db)
    assert people.code == 0 and "== gpu_inventory ==" in people.out and "1,000" in people.out


def test_the_installed_command_runs(tmp_path, history):
    script = os.path.join(os.path.dirname(sys.executable), "gigaledger")
    done = subprocess.run([script, "replay", str(history), "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["as_of"]["seq"] == 3
    bad = write(tmp_path / "bad.jsonl", ['{"type": '])
    done = subprocess.run([sys.executable, "-m", "ledger", "import", str(tmp_path / "x.db"), str(bad)],
                          capture_output=True, text=True)
    assert done.returncode == 1 and done.stderr.startswith(f"{bad}:1: not valid JSON")
