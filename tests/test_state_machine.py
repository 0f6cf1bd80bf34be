"""The ledger and its reference model agree under any sequence of operations (ledger.testing)."""

from __future__ import annotations

import os

from hypothesis import settings

from ledger.testing import FileLedgerMachine, LedgerMachine, PostgresLedgerMachine

from .conftest import postgres_url

#: CI runs 100 examples of 50 steps in memory, where the rules are (each rule also has fast
#: tests of its own in test_rules); a quarter of them on a file and an eighth on PostgreSQL (the
#: stores' own guarantees have their own suites: test_connections, test_postgres, test_crash);
#: HYPOTHESIS_PROFILE=deep runs ten times more.
DEEP = os.environ.get("HYPOTHESIS_PROFILE") == "deep"
EXAMPLES = 1000 if DEEP else 100

TestInMemory = LedgerMachine.TestCase
TestInMemory.settings = settings(max_examples=EXAMPLES, stateful_step_count=50, deadline=None)

TestOnFile = FileLedgerMachine.TestCase
TestOnFile.settings = settings(max_examples=EXAMPLES // 4, stateful_step_count=50, deadline=None)


class TestOnPostgres(PostgresLedgerMachine.TestCase):
    """The same machine, unchanged, on PostgreSQL."""

    settings = settings(max_examples=EXAMPLES // 8, stateful_step_count=50, deadline=None)

    def setUp(self) -> None:
        PostgresLedgerMachine.url = postgres_url()
