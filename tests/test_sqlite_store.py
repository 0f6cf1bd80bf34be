"""The SQLite store's tables: created by sqlite-utils migrations on a new file, brought up to date
on an older one, and read without importing sqlite-utils when the file is current."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from decimal import Decimal

import pytest

from ledger import CapacityCommissioned, Ledger, ReadOnly
from ledger.sqlite_migrations import migrations
from ledger.sqlite_store import MIGRATIONS, MIGRATIONS_TABLE

from .conftest import ROOT


def commissioning(site: str) -> CapacityCommissioned:
    return CapacityCommissioned(site=site, provider="oracle", vendor="nvidia", platform="gb200",
                                gigawatts=Decimal("0.25"))


def test_the_names_the_store_checks_are_the_migrations_it_applies():
    assert tuple(m.name for m in migrations._migrations) == MIGRATIONS


def tables(path) -> set[str]:
    with closing(sqlite3.connect(path)) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def make_old(path) -> None:
    """A file as the first version wrote it: the events table, no snapshots table."""
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("DROP TABLE snapshots")
        conn.execute(f"DELETE FROM {MIGRATIONS_TABLE} WHERE name = 'm002_snapshots'")
        conn.execute("PRAGMA journal_mode=delete")
        conn.commit()


def old_ledger(path) -> dict:
    """An older file holding one record; the report it gives."""
    with Ledger.open(path) as book:
        book.append(commissioning("abilene"))
        view = book.replay(use_snapshots=False).report()
    make_old(path)
    return view


def test_an_older_file_is_brought_up_to_date_when_opened_for_writing(tmp_path):
    path = tmp_path / "old.db"
    view = old_ledger(path)
    assert "snapshots" not in tables(path)
    with Ledger.open(path) as book:
        assert book.replay().report() == view
        book.snapshot()
        book.append(commissioning("milam"))
    assert "snapshots" in tables(path)
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0] > 0


def test_an_older_file_opened_read_only_is_read_as_it_is(tmp_path):
    path = tmp_path / "old.db"
    view = old_ledger(path)
    with Ledger.open(path, readonly=True) as book:
        assert book.replay().report() == view
        with pytest.raises(ReadOnly):
            book.append(commissioning("milam"))
    assert "snapshots" not in tables(path)


def imports_after(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code + "\nimport sys\n"
                           "print('sqlite_utils' in sys.modules)"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_a_current_file_opens_without_sqlite_utils_and_a_new_one_with_it(tmp_path):
    path = tmp_path / "ledger.db"
    make = f"from ledger import Ledger\nLedger.open({str(path)!r}).close()"
    assert imports_after(make) == "True"  # a new file: the migrations ran
    assert imports_after(make) == "False"  # up to date: plain sqlite3 checks it
    make_old(path)
    assert imports_after(make) == "True"
    assert imports_after(make) == "False"


@pytest.mark.parametrize("reading", ["rows", "snapshots"])
def test_a_reading_left_suspended_ends_quietly_once_the_ledger_is_closed(tmp_path, reading):
    """A generator over the file that is still suspended when the ledger is closed (Ctrl-C or an
    error in the middle of a replay, a ``break``) is closed later, when it is collected: without
    an error, which Python could only print as "Exception ignored" with a traceback."""
    book = Ledger.open(tmp_path / "l.db", snapshot_every=1)
    book.append(commissioning("a"))
    book.append(commissioning("b"))
    book.replay()  # saves a snapshot
    store = book._store
    rows = (store.rows(0) if reading == "rows"
            else store.snapshots("gpu_inventory", book._folder.fingerprints.of["gpu_inventory"],
                                 None, None))
    assert next(rows)
    book.close()
    rows.close()  # raised UsageError ("the ledger is closed") for snapshots


def index_sql(path) -> dict[str, str]:
    with closing(sqlite3.connect(path)) as conn:
        return dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                                 "tbl_name = 'events'"))


def test_an_import_into_an_empty_ledger_builds_the_indexes_once_at_its_end(tmp_path):
    """During an import into an empty ledger the two unique indexes of ``events`` are not
    there (they are built from all the rows before the commit); afterwards they are exactly as
    a new ledger has them, and a failed import leaves them as they were."""
    from ledger import hookimpl

    seen: list[int] = []

    class Watcher:
        @hookimpl
        def validate_event(self, event, view):
            seen.append(book._store.conn.execute(
                "SELECT COUNT(*) FROM sqlite_master WHERE name IN "
                "('events_id', 'events_stream_version')").fetchone()[0])

    history = tmp_path / "h.jsonl"
    lines = [f'{{"type": "usage.reported", "occurred_at": "2025-09-22", '
             f'"data": {{"product": "p{n % 7}", "weekly_active_users": {n}}}}}' for n in range(2500)]
    history.write_text("\n".join(lines) + "\n")
    made = tmp_path / "new.db"
    Ledger.open(made, load_entrypoints=False).close()
    expected = index_sql(made)
    assert set(expected) == {"events_id", "events_stream_version"}

    path = tmp_path / "l.db"
    with Ledger.open(path, plugins=[Watcher()], load_entrypoints=False) as book:
        book.import_jsonl(history)
        assert set(seen) == {0}  # no index while the rows went in
        assert index_sql(path) == expected
        seen.clear()
        book.import_jsonl(history)  # into a ledger that holds records: indexes kept throughout
        assert set(seen) == {2} and len(book) == 5000
        assert book.verify()[0] == 5000
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines + ['{"type": "usage.reported"}']) + "\n")
    empty = tmp_path / "empty.db"
    with Ledger.open(empty, load_entrypoints=False) as book:
        with pytest.raises(Exception, match=f"{bad}:2501"):
            book.import_jsonl(bad)
        assert len(book) == 0
    assert index_sql(empty) == expected


def test_an_export_imported_into_an_empty_ledger_looks_its_ids_up_with_the_index(tmp_path):
    """Restoring exported records looks each id up; the indexes are built at the first look-up,
    and the copy is record for record the original."""
    source = tmp_path / "a.db"
    with Ledger.open(source, load_entrypoints=False) as book:
        book.append_many([commissioning(f"s{n}") for n in range(30)])
        book.export_jsonl(tmp_path / "a.jsonl")
    copy = tmp_path / "b.db"
    with Ledger.open(source, load_entrypoints=False) as original:
        expected = original.verify()
    with Ledger.open(copy, load_entrypoints=False) as book:
        book.import_jsonl(tmp_path / "a.jsonl", tmp_path / "a.jsonl")  # twice: skipped the 2nd
        assert book.verify() == expected
    assert index_sql(copy) == index_sql(source)


def test_a_copy_into_an_empty_ledger_builds_its_indexes_once_and_as_they_were(tmp_path):
    source, target = tmp_path / "a.db", tmp_path / "b.db"
    with Ledger.open(source, load_entrypoints=False) as book:
        book.append_many([commissioning(f"s{n % 5}") for n in range(40)])
        with Ledger.open(target, load_entrypoints=False) as copy:
            assert book.copy_to(copy) == book.verify()
            with pytest.raises(Exception, match="UNIQUE constraint failed: events.id"):
                copy._store.conn.execute(  # the index is there again, and holds
                    "INSERT INTO events SELECT seq + 100, id, stream, version + 100, type, schema, "
                    "occurred_at, recorded_at, data, meta, hash FROM events WHERE seq = 1")
    assert index_sql(target) == index_sql(source)
