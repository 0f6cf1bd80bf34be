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
