"""Untrusted ledger files: a file crafted with triggers, views, indexes or an events table of its
own is refused in one line before anything in it runs; connections never trust the schema; and a
forged log cannot pass ``verify`` given a pinned head (``--head``) or a checkpoint signed before
the forgery (``--checkpoint``)."""

from __future__ import annotations

import shutil
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import Ledger, LedgerError, Signer
from ledger.chain import GENESIS, link, record_body
from ledger.sqlite_store import SqliteStore
from ledger.store import StoredEvent

from .conftest import one_line, run_cli

#: Each crafted schema: SQL run on a genuine ledger file, then the ledger is opened.
CRAFTED = {
    "a trigger on events": "CREATE TRIGGER spy AFTER INSERT ON events BEGIN "
                           "INSERT INTO pwned VALUES (new.seq); END",
    "a trigger on a plain table": "CREATE TABLE notes (x); CREATE TRIGGER spy AFTER INSERT ON notes "
                                  "BEGIN INSERT INTO pwned VALUES (1); END",
    "a trigger posing as the ledger's": "DROP TRIGGER events_no_update; CREATE TRIGGER "
                                        "events_no_update BEFORE INSERT ON events BEGIN "
                                        "INSERT INTO pwned VALUES (new.seq); END",
    "a view": "CREATE VIEW everything AS SELECT * FROM events",
    "an index of its own on events": "CREATE INDEX events_hash ON events (hash)",
    "a partial index posing as the ledger's": "DROP INDEX events_id; CREATE UNIQUE INDEX "
                                              "events_id ON events (id) WHERE seq < 0",
    "a virtual table": "CREATE VIRTUAL TABLE shadow USING rtree(id, x0, x1)",
}


def pwned(db) -> int:
    connection = sqlite3.connect(db)
    try:
        return connection.execute("SELECT COUNT(*) FROM pwned").fetchone()[0]
    finally:
        connection.close()


@pytest.fixture
def genuine(tmp_path):
    db = tmp_path / "genuine.db"
    with Ledger.open(db, load_entrypoints=False) as book:
        for n in range(1, 6):
            book.append(book.event_from("usage.reported", {"product": "chatgpt",
                                                             "weekly_active_users": n}),
                        occurred_at=f"2026-01-0{n}")
    return db


def craft(db, script: str) -> None:
    connection = sqlite3.connect(db)
    try:
        connection.executescript("CREATE TABLE pwned (seq); " + script)
    finally:
        connection.close()


run = run_cli


COMMANDS = {
    "verify": ["verify", "{db}"],
    "log": ["log", "{db}"],
    "append": ["append", "{db}", "usage.reported", "--occurred-at", "2026-02-01",
               "--data", '{"product": "chatgpt", "weekly_active_users": 9}'],
    "materialize": ["materialize", "{db}"],
}


@pytest.mark.parametrize("crafted", sorted(CRAFTED))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_crafted_schema_is_refused_before_anything_runs(genuine, crafted, command, capsys):
    craft(genuine, CRAFTED[crafted])
    args = [str(genuine) if part == "{db}" else part for part in COMMANDS[command]]
    status, out, err = run(capsys, *args)
    line = one_line(err)
    assert status == 1 and out == ""
    assert "refused" in line and "did not create" in line, line
    assert pwned(genuine) == 0


def test_an_events_table_replaced_by_a_view_is_refused(genuine, tmp_path, capsys):
    """The view shows the genuine rows while the file's table would hold others: refused."""
    connection = sqlite3.connect(genuine)
    connection.executescript(
        "PRAGMA legacy_alter_table = ON; DROP TRIGGER events_no_update; "
        "DROP TRIGGER events_no_delete; ALTER TABLE events RENAME TO kept; "
        "CREATE VIEW events AS SELECT * FROM kept")
    connection.close()
    status, out, err = run(capsys, "verify", genuine)
    assert status == 1 and "refused" in one_line(err) and "view 'events'" in err
    with pytest.raises(LedgerError, match="refused"):
        Ledger.open(genuine, load_entrypoints=False)


@pytest.mark.parametrize("column", [
    "extra TEXT",                                       # a column the ledger does not have
    "shadow TEXT GENERATED ALWAYS AS (data || 'x')",    # a generated column
])
def test_an_events_table_of_another_shape_is_refused(tmp_path, column, capsys):
    db = tmp_path / "shaped.db"
    with Ledger.open(db, load_entrypoints=False):
        pass
    connection = sqlite3.connect(db)
    connection.executescript(f"ALTER TABLE events ADD COLUMN {column}")
    connection.close()
    status, _, err = run(capsys, "log", db)
    assert status == 1 and "events table is not the one gigaledger creates" in one_line(err)


def test_connections_never_trust_the_schema(genuine, tmp_path):
    """With ``trusted_schema=OFF`` a function the application registered cannot be called from
    the file's schema (here a DEFAULT of a plain table beside the log), and defensive mode is on
    where Python can set it."""
    calls = []
    connection = sqlite3.connect(genuine)
    connection.create_function("spy", 0, lambda: calls.append(1) or 1)
    connection.execute("CREATE TABLE notes (x DEFAULT (spy()), y)")
    connection.close()
    for readonly in (False, True):
        store = SqliteStore(genuine, readonly=readonly)
        try:
            assert store.conn.execute("PRAGMA trusted_schema").fetchone()[0] == 0
            if hasattr(sqlite3, "SQLITE_DBCONFIG_DEFENSIVE") and hasattr(store.conn, "getconfig"):
                assert store.conn.getconfig(sqlite3.SQLITE_DBCONFIG_DEFENSIVE)
            if not readonly:
                store.conn.create_function("spy", 0, lambda: calls.append(1) or 1)
                with pytest.raises(sqlite3.OperationalError, match="unsafe use of spy"):
                    store.conn.execute("INSERT INTO notes (y) VALUES (1)")
        finally:
            store.close()
    assert calls == []


# --- forged logs and a pinned head ------------------------------------------------------------


def rows_of(db) -> list[StoredEvent]:
    with Ledger.open(db, load_entrypoints=False, readonly=True) as book:
        return list(book._store.rows())


def rechained(rows: list[StoredEvent]) -> list[StoredEvent]:
    """The rows with seqs 1..n, stream versions 1..m and every hash recomputed: a forged log
    that is consistent."""
    previous, out, versions = GENESIS, [], {}
    for seq, row in enumerate(rows, 1):
        version = versions[row.stream] = versions.get(row.stream, 0) + 1
        row = row._replace(seq=seq, version=version)
        previous = link(previous, record_body(*row[:10]))
        out.append(row._replace(hash=previous))
    return out


def write_log(db, rows: list[StoredEvent], template=None) -> None:
    if template is not None:
        shutil.copy(template, db)
    store = SqliteStore(db)
    try:
        with store.transaction():
            store.insert(rows)
    finally:
        store.close()


@pytest.fixture(scope="module")
def empty_ledger(tmp_path_factory):
    db = tmp_path_factory.mktemp("empty") / "empty.db"
    SqliteStore(db).close()
    return db


KEY = Signer.from_seed("ledger.example/genuine", bytes(range(32)))


@pytest.fixture(scope="module")
def genuine_log(tmp_path_factory):
    """The genuine log's rows; a checkpoint of it at each size, signed as it grew, in a file;
    and the verifier key's file."""
    folder = tmp_path_factory.mktemp("genuine")
    db = folder / "genuine.db"
    checkpoints = {}
    with Ledger.open(db, load_entrypoints=False) as book:
        for n in range(1, 9):
            book.append(book.event_from("usage.reported", {"product": f"p{n % 3}",
                                                             "weekly_active_users": n}),
                        occurred_at=f"2026-01-0{n}")
            checkpoints[n] = folder / f"checkpoint-{n}.txt"
            checkpoints[n].write_text(book.checkpoint(KEY), encoding="utf-8")
    pub = folder / "genuine.pub"
    pub.write_text(KEY.verifier.text + "\n", encoding="utf-8")
    return rows_of(db), checkpoints, pub


@pytest.fixture(scope="module")
def genuine_rows(genuine_log) -> list[StoredEvent]:
    return genuine_log[0]


FORGERIES = st.sampled_from(["edit data", "edit time", "drop", "swap", "steal the pinned hash"])


@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pinned=st.integers(1, 8), at=st.integers(1, 8), how=FORGERIES, data=st.data())
def test_a_forged_log_never_passes_a_pinned_head_or_checkpoint(
        genuine_log, empty_ledger, tmp_path_factory, pinned, at, how, data, capsys):
    """Whatever a forger changes at or before the pinned seq, with every hash after recomputed
    so that the chain alone verifies (and the Merkle tree, which the store grows from the forged
    records), ``verify --head`` refuses the file in one line, and so does ``verify
    --checkpoint`` with the checkpoint signed when the genuine log had ``pinned`` records."""
    genuine_rows, checkpoints, pub = genuine_log
    at = min(at, pinned)
    head = genuine_rows[pinned - 1].hash
    rows = list(genuine_rows)
    victim = rows[at - 1]
    if how == "edit data":
        users = data.draw(st.integers(1000, 10**9), label="users")
        rows[at - 1] = victim._replace(data=victim.data.replace(
            f'"weekly_active_users":{at}', f'"weekly_active_users":{users}'))
    elif how == "edit time":
        rows[at - 1] = victim._replace(occurred_at=victim.occurred_at.replace("2026", "2025"))
    elif how == "drop":
        del rows[at - 1]
    elif how == "swap" and at < len(rows):
        rows[at - 1], rows[at] = rows[at], rows[at - 1]
    else:
        how = "steal the pinned hash"
        rows[at - 1] = victim._replace(meta='{"forged":true}')
    forged = rechained(rows)
    if how == "steal the pinned hash":  # the pinned hash written on the forged record at its seq
        forged[pinned - 1] = forged[pinned - 1]._replace(hash=head)
    assert forged[:pinned] != genuine_rows[:pinned]  # a forgery at or before the pinned seq
    db = tmp_path_factory.mktemp("forged") / "forged.db"
    write_log(db, forged, empty_ledger)
    if how != "steal the pinned hash":
        assert run(capsys, "verify", db)[0] == 0  # the forged chain alone verifies
    status, out, err = run(capsys, "verify", db, "--head", head)
    line = one_line(err)
    assert status == 1 and out == "", err
    assert "not in the chain" in line or "hash does not match" in line, line
    status, out, err = run(capsys, "verify", db, "--checkpoint", checkpoints[pinned], "--pub", pub)
    line = one_line(err)
    assert status == 1 and out == "", err
    if how == "steal the pinned hash":  # the chain itself is broken there
        assert "hash does not match" in line, line
    else:
        assert f"checkpoint of {pinned} records" in line, line
        assert "does not match the log" in line or "records were removed" in line, line


def test_the_genuine_log_passes_its_pinned_head_and_checkpoints(genuine_log, tmp_path, capsys):
    genuine_rows, checkpoints, pub = genuine_log
    db = tmp_path / "copy.db"
    write_log(db, genuine_rows)
    for row in genuine_rows:
        status, out, _ = run(capsys, "verify", db, "--head", row.hash)
        assert status == 0 and out.startswith(f"ok: {len(genuine_rows)} records")
        later = len(genuine_rows) - row.seq
        where = (f"the hash of seq {row.seq}; the" if later else "the head (nothing appended")
        assert f"\nok: the pinned head is {where}" in out, out
        status, out, err = run(capsys, "verify", db, "--checkpoint", checkpoints[row.seq],
                               "--pub", pub)
        assert status == 0 and f"matches the checkpoint of {row.seq} records" in out, err


@pytest.mark.parametrize("crafted", sorted(CRAFTED))
def test_salvage_copies_the_verified_records_of_a_crafted_file_into_a_clean_ledger(
        genuine, crafted, tmp_path, capsys):
    """Reading ``events`` runs nothing of the file, and every record copied is verified: the
    records come out into a ledger with only the ledger's own schema."""
    craft(genuine, CRAFTED[crafted])
    target = tmp_path / "clean.db"
    status, out, err = run(capsys, "salvage", genuine, target)
    assert status == 0 and out.startswith("saved 5 records") and "no damage found" in out, err
    assert pwned(genuine) == 0
    status, out, _ = run(capsys, "verify", target)
    assert status == 0 and out.startswith("ok: 5 records")


def test_salvage_refuses_an_events_view(genuine, tmp_path, capsys):
    connection = sqlite3.connect(genuine)
    connection.executescript(
        "PRAGMA legacy_alter_table = ON; DROP TRIGGER events_no_update; "
        "DROP TRIGGER events_no_delete; ALTER TABLE events RENAME TO kept; "
        "CREATE VIEW events AS SELECT * FROM kept")
    connection.close()
    status, _, err = run(capsys, "salvage", genuine, tmp_path / "clean.db")
    assert status == 1 and "no events table (events is a view)" in one_line(err)
    assert not (tmp_path / "clean.db").exists()


def test_salvage_refuses_a_tree_table_replaced_by_a_view(genuine, tmp_path, capsys):
    """The tree is checked as the records are copied: one that is not the ledger's own tables
    cannot be checked, and nothing is saved from it."""
    connection = sqlite3.connect(genuine)
    connection.executescript("DROP TABLE tree_nodes; CREATE VIEW tree_nodes AS SELECT 4 AS "
                             "level, 0 AS idx, x'00' AS hash")
    connection.close()
    status, _, err = run(capsys, "salvage", genuine, tmp_path / "clean.db")
    line = one_line(err)
    assert status == 1 and "nothing could be salvaged: the damage starts at seq 1" in line
    assert "its Merkle tree is not the ledger's (tree_nodes is a view)" in line
    assert not (tmp_path / "clean.db").exists()


def test_every_object_a_new_ledger_creates_is_known(tmp_path):
    """Each trigger and index the migrations create is listed in ``sqlite_schema.KNOWN`` (a
    migration that adds one must list it, or every file it touched would be refused)."""
    from ledger.sqlite_schema import KNOWN, LEDGER_TABLES, check_schema

    db = tmp_path / "fresh.db"
    with Ledger.open(db, load_entrypoints=False) as book:
        book.append(book.event_from("usage.reported", {"product": "p", "weekly_active_users": 1}))
        book.snapshot()
        book.materialize()
    connection = sqlite3.connect(db)
    try:
        objects = connection.execute(
            "SELECT type, name, tbl_name FROM sqlite_master WHERE sql IS NOT NULL AND "
            "type IN ('trigger', 'index')").fetchall()
        ours = {(kind, name) for kind, name, table in objects if table in LEDGER_TABLES}
        assert ours == set(KNOWN)
        check_schema(connection, str(db))  # raises if anything is unknown
    finally:
        connection.close()
