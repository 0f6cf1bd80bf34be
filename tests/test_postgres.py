"""The PostgreSQL store keeps the SQLite store's guarantees: append-only in the database, the
same chain and verify, one writer at a time, streaming reads, and copies both ways record for
record. (The conformance tests taking ``book`` and the state machine also run on it.)"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import psycopg
import pytest

import ledger.postgres_store
from ledger import Ledger, LedgerError, UsageReported, VerificationError

from .conftest import EVENTS

HISTORY = Path(EVENTS) / "openai-compute-2025-2026.jsonl"
#: One record per line of the reported history (none of its lines derives anything).
REPORTED_RECORDS = sum(1 for line in HISTORY.read_text(encoding="utf-8").splitlines() if line.strip())
PLAN = Path(EVENTS) / "nvidia-openai-plan.jsonl"


def sql(url: str, statement: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


@pytest.fixture
def filled(postgres):
    with Ledger.open(postgres, load_entrypoints=False) as book:
        book.import_jsonl(HISTORY)
    return postgres


@pytest.mark.parametrize("statement", [
    "UPDATE events SET data = '{}' WHERE seq = 3",
    "DELETE FROM events WHERE seq = 3",
    "TRUNCATE events",
])
def test_the_database_refuses_changes_to_the_log(filled, statement):
    with pytest.raises(psycopg.errors.RaiseException, match="events is append-only"):
        sql(filled, statement)
    with Ledger.open(filled, load_entrypoints=False) as book:
        assert book.verify()[0] == REPORTED_RECORDS


@pytest.mark.parametrize("change, seq", [
    ("UPDATE events SET data = replace(data, '}', ',\"x\":1}') WHERE seq = 7", 7),
    ("UPDATE events SET meta = '{}' WHERE seq = 12", 12),
    ("UPDATE events SET hash = repeat('0', 64) WHERE seq = 20", 20),
    ("DELETE FROM events WHERE seq = 15", 15),
    ("UPDATE events SET seq = seq + 1000 WHERE seq = 30", 30),
])
def test_tampering_with_the_triggers_dropped_is_found_at_its_seq(filled, change, seq):
    sql(filled, "DROP TRIGGER events_no_update ON events")
    sql(filled, change)
    with Ledger.open(filled, load_entrypoints=False) as book:
        with pytest.raises(VerificationError) as caught:
            book.verify()
    assert caught.value.seq == seq


def test_a_cut_tail_is_found_by_the_pinned_head(filled):
    with Ledger.open(filled, load_entrypoints=False) as book:
        _, head = book.verify()
    sql(filled, "DROP TRIGGER events_no_update ON events")
    sql(filled, "DELETE FROM events WHERE seq > 30")
    with Ledger.open(filled, load_entrypoints=False) as book:
        with pytest.raises(VerificationError) as caught:
            book.verify()  # the Merkle tree remembers the tail
        assert caught.value.seq == 31
    sql(filled, "DROP TRIGGER tree_blocks_append_only ON tree_blocks")
    sql(filled, "DROP TRIGGER tree_nodes_append_only ON tree_nodes")
    sql(filled, "DELETE FROM tree_blocks")  # a tamperer who knows of the tree drops it too
    sql(filled, "DELETE FROM tree_nodes")
    with Ledger.open(filled, load_entrypoints=False) as book:
        assert book.verify()[0] == 30
        with pytest.raises(VerificationError):
            book.verify(head)


def test_read_streams_through_a_server_side_cursor(postgres):
    with Ledger.open(postgres, load_entrypoints=False) as book:
        book.append_many([UsageReported(product="p", weekly_active_users=n) for n in range(5000)])
        records = book.read()
        first = next(records)
        cursors = book._store._reader.execute("SELECT count(*) FROM pg_cursors").fetchone()[0]
        assert cursors == 1  # the rows come in batches from the server, not all at once
        assert first.seq == 1 and sum(1 for _ in records) == 4999
        assert book._store._reader.execute("SELECT count(*) FROM pg_cursors").fetchone()[0] == 0


def test_a_held_write_lock_makes_a_writer_wait_then_fail_clearly(postgres):
    with Ledger.open(postgres, load_entrypoints=False, timeout=1) as book:
        book.append(UsageReported(product="p", weekly_active_users=1))
        key = book._store._lock_key
        holder = psycopg.connect(postgres, autocommit=True)
        holder.execute("BEGIN")
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
        started = time.monotonic()
        with pytest.raises(LedgerError, match="busy: another writer held the write lock for more than 1 s"):
            book.append(UsageReported(product="p", weekly_active_users=2))
        assert time.monotonic() - started >= 0.9
        assert [r.seq for r in book.read()] == [1]  # readers carry on
        releaser = threading.Timer(0.5, lambda: holder.execute("COMMIT"))
        releaser.start()
        record = book.append(UsageReported(product="p", weekly_active_users=3))  # waits, then goes
        releaser.join()
        holder.close()
        assert record.seq == 2


def test_two_ledgers_in_one_database_keep_apart(postgres):
    from ledger.testing import fresh_schema

    other, drop = fresh_schema(postgres.split("?")[0])
    try:
        with Ledger.open(postgres, load_entrypoints=False) as one, \
                Ledger.open(other, load_entrypoints=False) as two:
            one.import_jsonl(HISTORY)
            two.import_jsonl(PLAN)
            assert (len(one), len(two)) == (REPORTED_RECORDS, 53)
            assert one._store._lock_key != two._store._lock_key
            assert one.verify()[0] == REPORTED_RECORDS and two.verify()[0] == 53
    finally:
        drop()


def test_copy_sqlite_to_postgres_and_back_reproduces_the_log(run, tmp_path, postgres):
    source, back = tmp_path / "source.db", tmp_path / "back.db"
    assert run("import", source, HISTORY, PLAN).code == 0
    there = run("copy", source, postgres)
    assert there.code == 0, there.err
    both = REPORTED_RECORDS + 53  # the plan: 43 lines and 10 derived tranches
    assert f"copied {both} records" in there.out and "verified" in there.out
    assert run("copy", postgres, back).code == 0
    exports = [run("log", db, "--json").out for db in (source, postgres, back)]
    assert exports[0] == exports[1] == exports[2]
    assert len(exports[0].splitlines()) == both
    report = json.loads(run("report", postgres, "--json").out)
    assert report == json.loads(run("report", source, "--json").out)
    again = run("copy", source, postgres)
    assert again.code == 1 and f"holds {both} records; copy into an empty ledger" in again.err


def test_the_command_line_takes_a_url(run, postgres):
    assert run("import", postgres, HISTORY).code == 0
    appended = run("append", postgres, "usage.reported", "--data", '{"product": "chatgpt", "weekly_active_users": 900000000}')
    assert appended.code == 0, appended.err
    verified = run("verify", postgres)
    assert verified.code == 0 and verified.out.startswith(f"ok: {REPORTED_RECORDS + 1} records")
    materialized = run("materialize", postgres)
    assert materialized.code == 1 and "copy the ledger to a SQLite file first" in materialized.err


def test_bad_locations_are_one_clear_line(run, postgres):
    secret = "postgresql://someone:hunter2@127.0.0.1:1/nowhere"
    result = run("verify", secret)
    assert result.code == 1 and len(result.err.strip().splitlines()) == 1
    assert "cannot connect" in result.err and "hunter2" not in result.err and "***" in result.err
    missing = run("report", f"{postgres.split('?')[0]}?options=-csearch_path%3Dno_such_schema")
    assert missing.code == 1 and "no ledger in this database" in missing.err
    nowhere = run("import", f"{postgres.split('?')[0]}?options=-csearch_path%3Dno_such_schema", HISTORY)
    assert nowhere.code == 1 and len(nowhere.err.strip().splitlines()) == 1
    assert "no schema has been selected to create in" in nowhere.err and "internal error" not in nowhere.err


def test_without_psycopg_the_message_says_what_to_install(monkeypatch, postgres):
    monkeypatch.setattr(ledger.postgres_store, "psycopg", None)
    with pytest.raises(LedgerError, match=r"pip install 'gigaledger\[postgres\]'"):
        Ledger.open(postgres)


def test_normal_durability_is_accepted(postgres):
    with Ledger.open(postgres, load_entrypoints=False, synchronous="NORMAL") as book:
        book.append(UsageReported(product="p", weekly_active_users=1))
        mode = book._store.conn.execute("SHOW synchronous_commit").fetchone()[0]
    assert mode == "off"
    with Ledger.open(postgres, load_entrypoints=False) as book:
        assert book._store.conn.execute("SHOW synchronous_commit").fetchone()[0] == "on"
        assert len(book) == 1
