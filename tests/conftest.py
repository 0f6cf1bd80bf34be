from __future__ import annotations

import os
import warnings
from collections.abc import Iterator

import attrs
import pytest
from hypothesis import HealthCheck, Phase, settings

from ledger import Ledger
from ledger.cli import main

settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", parent=settings.get_profile("default"), max_examples=1000)
#: tests/mutation/run.py: the same examples on every run, so a mutant's verdict is repeatable.
#: A failing example is not shrunk: the mutant is killed already, and shrinking would take long.
settings.register_profile("mutation", parent=settings.get_profile("default"), max_examples=50,
                          derandomize=True, database=None,
                          phases=(Phase.explicit, Phase.reuse, Phase.generate))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
EVENTS = os.path.join(ROOT, "events")



def without_write_privilege(command: list[str]) -> list[str]:
    """``command`` as a process that obeys file modes: unchanged for a user who is not root;
    for root (who writes anything), root with every capability dropped (``setpriv``), which
    cannot write a read-only file or folder but, unlike another user such as ``nobody``, can
    still read a checkout that only root may enter."""
    if os.geteuid() != 0:
        return command
    return ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--ambient-caps=-all", *command]

# --- PostgreSQL: a server of the run's own, or the one GIGALEDGER_TEST_POSTGRES names ----------

#: Set by .ci/run: the PostgreSQL tests must run (fail, never skip, when no server starts).
REQUIRE_POSTGRES = bool(os.environ.get("GIGALEDGER_REQUIRE_POSTGRES"))
_server: dict[str, object] = {}


def postgres_url() -> str:
    """The URL of a PostgreSQL server for the tests: GIGALEDGER_TEST_POSTGRES, else a throwaway
    server started on loopback for this run (stopped at its end); skips the test, with the
    reason, when there is neither (and fails it in CI)."""
    if "url" not in _server:
        url = os.environ.get("GIGALEDGER_TEST_POSTGRES")
        if url:
            _server["url"] = url
        else:
            import tempfile

            from . import postgres_server

            folder = tempfile.mkdtemp(prefix="gigaledger-postgres-")
            try:
                _server["url"] = postgres_server.start(folder, durable=False)
                _server["folder"] = folder
            except (postgres_server.Unavailable, OSError) as error:
                _server["url"] = None
                _server["why"] = f"no PostgreSQL server: {error}"
    if _server["url"] is None:
        if REQUIRE_POSTGRES:
            pytest.fail(str(_server["why"]))
        pytest.skip(str(_server["why"]))
    return str(_server["url"])


def pytest_sessionfinish(session: pytest.Session) -> None:
    if "folder" in _server:
        import shutil

        from . import postgres_server

        postgres_server.stop(str(_server["folder"]))
        shutil.rmtree(str(_server["folder"]), ignore_errors=True)


@pytest.fixture
def postgres() -> Iterator[str]:
    """The URL of a new, empty ledger on PostgreSQL (a schema of its own, dropped afterwards)."""
    from ledger.testing import fresh_schema

    location, drop = fresh_schema(postgres_url())
    try:
        yield location
    finally:
        drop()


@pytest.fixture(params=["sqlite", "postgres"])
def book(request: pytest.FixtureRequest) -> Iterator[Ledger]:
    """A new ledger, in memory on SQLite and on PostgreSQL: every test that takes it is a
    conformance test of both stores."""
    location = request.getfixturevalue("postgres") if request.param == "postgres" else None
    with Ledger.open(location, load_entrypoints=False) as ledger:
        yield ledger


@attrs.frozen
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]):
    """Run the command line in this process: ``run("verify", db)`` → Result(code, out, err)."""

    def invoke(*args: str) -> Result:
        capsys.readouterr()
        shown = warnings.showwarning
        try:
            code = main([str(a) for a in args])
        finally:
            warnings.showwarning = shown
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


def run_cli(capsys, *args) -> tuple[int, str, str]:
    """``gigaledger ARGS`` in this process: its exit status, stdout and stderr."""
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def drop_tree(path) -> None:
    """Make ``path`` a ledger of the time before the Merkle tree: no tree tables, and migration
    ``m003_tree`` not applied (its next opening for writing applies it; the tree is built on
    first use)."""
    import sqlite3

    connection = sqlite3.connect(path)
    try:
        connection.executescript(
            "DROP TABLE tree_blocks; DROP TABLE tree_nodes; DROP TABLE checkpoints;"
            "DELETE FROM _sqlite_migrations WHERE name = 'm003_tree';")
    finally:
        connection.close()


def one_line(err: str) -> str:
    """The one line a refused command printed, with no traceback and no internal error."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err and "internal error" not in err, err
    return lines[0]
