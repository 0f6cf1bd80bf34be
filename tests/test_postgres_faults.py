"""PostgreSQL faults: the server connection killed during an import (``pg_terminate_backend``
from another connection) and a statement timeout: each ends in one line and exit 1, with nothing
of the import stored, and the next command (a new connection) works. A server restarted between
appends: the ledger connects again at its next write."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import psycopg
import pytest

from ledger import Ledger, UsageReported
from ledger.cli import main

from .conftest import ROOT, postgres_url

LINES = 40_000


@pytest.fixture(scope="module")
def big_history(tmp_path_factory):
    path = tmp_path_factory.mktemp("pg") / "big.jsonl"
    path.write_text("".join(json.dumps({
        "type": "usage.reported", "occurred_at": "2026-01-01", "id": f"u{n}",
        "data": {"product": f"p{n % 13}", "weekly_active_users": n}}) + "\n"
        for n in range(LINES)))
    return path


def server(location: str) -> str:
    """The server's URL without the ledger's schema option (for a second connection)."""
    return location.split("?options=")[0].split("&options=")[0]


def records(location: str) -> int:
    with Ledger.open(location, load_entrypoints=False, readonly=True) as book:
        return book.verify()[0]


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    return lines[0]


def test_a_connection_killed_during_an_import_stores_nothing(postgres, big_history, capsys):
    name = f"gl-import-{os.getpid()}"
    location = f"{postgres}&application_name={name}"
    with Ledger.open(postgres, load_entrypoints=False):
        pass  # the tables exist: the import below only appends
    child = subprocess.Popen([sys.executable, "-m", "ledger", "import", location, str(big_history)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    killed = 0
    with psycopg.connect(server(postgres), autocommit=True) as admin:
        deadline = time.monotonic() + 60
        while not killed and child.poll() is None and time.monotonic() < deadline:
            # kill it once it is inside its transaction, part-way through the import
            killed = admin.execute(
                "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                "application_name = %s AND xact_start IS NOT NULL AND "
                "now() - xact_start > interval '300 milliseconds'", (name,)).fetchone()[0]
            time.sleep(0.05)
    out, err = child.communicate(timeout=120)
    assert killed, f"the import ended before it could be killed: {out} {err}"
    line = one_line(err)
    assert child.returncode == 1 and "the connection to the server was lost" in line, line
    assert records(postgres) == 0
    # the next command connects again and imports everything
    assert main(["import", postgres, str(big_history), "--quiet"]) == 0
    capsys.readouterr()
    assert records(postgres) == LINES


def test_a_statement_timeout_stores_nothing(postgres, big_history, capsys):
    """The import's inserts wait behind a lock another session holds, longer than the server's
    ``statement_timeout``: the server cancels the statement."""
    location = f"{postgres}%20-cstatement_timeout%3D300"
    assert "options=-csearch_path" in postgres  # the option joins the schema's
    with Ledger.open(postgres, load_entrypoints=False):
        pass
    schema = postgres.rsplit("%3D", 1)[1]
    with psycopg.connect(server(postgres)) as holder:  # a transaction until the block ends
        holder.execute(f'LOCK TABLE "{schema}".events IN SHARE MODE')
        status = main(["import", location, str(big_history), "--quiet"])
        _, err = capsys.readouterr()
    line = one_line(err)
    assert status == 1 and "cancelled by the server" in line and "statement timeout" in line, line
    assert records(postgres) == 0
    assert main(["import", location, str(big_history), "--quiet"]) == 0  # nothing in the way
    capsys.readouterr()
    assert records(postgres) == LINES


@pytest.fixture
def own_server(tmp_path):
    """A PostgreSQL server of this test's own (restarting the shared one would disturb others)."""
    postgres_url()  # skips (or fails in CI) as the other PostgreSQL tests do without a server
    from . import postgres_server

    try:
        url = postgres_server.start(tmp_path / "pg", durable=False)
    except postgres_server.Unavailable as error:
        pytest.fail(f"cannot start a server of its own: {error}")
    try:
        yield url, lambda: postgres_server.restart(tmp_path / "pg")
    finally:
        postgres_server.stop(tmp_path / "pg")


def test_a_server_restarted_between_appends(own_server, capsys):
    """The ledger connects again at its next write; a command line started after the restart
    works as usual; nothing is lost or doubled."""
    url, restart = own_server
    with Ledger.open(url, load_entrypoints=False) as book:
        book.append(UsageReported(product="before", weekly_active_users=1))
        restart()
        book.append(UsageReported(product="after", weekly_active_users=2))  # connects again
        assert [r.data["product"] for r in book.read()] == ["before", "after"]
        restart()
        assert main(["append", url, "usage.reported", "--data",
                     '{"product": "cli", "weekly_active_users": 3}']) == 0
        capsys.readouterr()
        book.append(UsageReported(product="last", weekly_active_users=4))
        assert book.verify()[0] == 4
        assert [r.data["product"] for r in book.read()] == ["before", "after", "cli", "last"]
