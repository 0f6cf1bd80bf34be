from __future__ import annotations

import os
import warnings
from collections.abc import Iterator

import attrs
import pytest
from hypothesis import HealthCheck, settings

from ledger import Ledger
from ledger.cli import main

settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", parent=settings.get_profile("default"), max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
EVENTS = os.path.join(ROOT, "events")


@pytest.fixture
def book() -> Iterator[Ledger]:
    with Ledger.open(load_entrypoints=False) as ledger:
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
