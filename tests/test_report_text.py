"""The report for people: units, money in $B, percentages adding up to 100.0 %, colour only on a
terminal, and ``--json`` untouched by any of it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ledger import Ledger, UsageReported
from ledger.tables import as_of_line, money

from .conftest import EVENTS

HISTORIES = sorted(Path(EVENTS).glob("*.jsonl"))
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def on_a_terminal(*args: str) -> str:
    """Standard output of the command line run on a pseudo-terminal."""
    import pty

    leader, follower = pty.openpty()
    child = subprocess.Popen([sys.executable, "-m", "ledger", *args], stdout=follower,
                             stderr=subprocess.DEVNULL)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed its side
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert child.wait(timeout=120) == 0
    return b"".join(chunks).decode().replace("\r\n", "\n")


def test_colour_on_a_terminal_only(run):
    piped = run("replay", HISTORIES[0]).out
    assert "\x1b[" not in piped
    shown = on_a_terminal("replay", str(HISTORIES[0]))
    assert "\x1b[" in shown
    assert ANSI.sub("", shown).strip() == piped.strip()


def share_tables(text: str) -> list[list[str]]:
    """The rows of each table that has a % column (total rows left out)."""
    tables, current = [], None
    for line in text.splitlines():
        if re.search(r"\d+\.\d %$", line) and line.split()[0] != "total":
            if current is None:
                current = []
                tables.append(current)
            current.append(line)
        elif not line.strip():
            current = None
    return tables


def test_percentages_add_up_to_one_hundred_and_units_are_shown(run):
    for history in HISTORIES:
        text = run("replay", history).out
        assert "released in all: $" in text and " B" in text
        assert "GPUs counted" in text and "net GW" in text
        tables = share_tables(text)
        assert tables, history
        for rows in tables:
            percents = [Decimal(row.split()[-2]) for row in rows]
            assert sum(percents) == Decimal("100.0"), rows


def test_json_keeps_exact_amounts(run):
    report = json.loads(run("replay", HISTORIES[0], "--json").out)
    assert report["investment"]["released_usd"] == "100000000000"
    assert report["provider_mix"]["commissioned_gigawatts"]["by_provider"]["oracle"] == "0.4500"


def test_money_examples():
    assert money(Decimal("100e9")) == "$100 B"
    assert money(Decimal("22400000000")) == "$22.4 B"
    assert money(Decimal("1469227200")) == "$1.47 B"
    assert money(Decimal("500000000")) == "$500 M"
    assert money(Decimal("12345.5")) == "$12,345.5"
    assert money(Decimal(0)) == "$0"
    assert money(None) == "-"


@given(st.decimals(min_value=0, max_value=10**13, places=2))
def test_money_is_within_half_a_hundredth_of_its_unit(value):
    text = money(value)
    assert text.startswith("$")
    number, _, unit = text[1:].partition(" ")
    scale = {"B": Decimal(10) ** 9, "M": Decimal(10) ** 6, "": Decimal(1)}[unit]
    shown = Decimal(number.replace(",", "")) * scale
    assert abs(shown - value) <= scale / 200


@given(dates=st.lists(st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)),
                      min_size=1, max_size=8),
       until=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)))
def test_the_report_head_says_how_many_records_a_replay_as_of_a_date_folded(dates, until):
    """Records appended out of date order: a replay as of a date folds those dated by then, up to
    some seq; the head line names that seq and, when it left records before it out, how many of
    them it folded, so that "as of seq N" is never read as records 1 to N."""
    with Ledger.open(load_entrypoints=False) as book:
        for n, day in enumerate(dates, 1):
            book.append(UsageReported(product="p", weekly_active_users=n), occurred_at=day)
        as_of = book.replay(until=until).report()["as_of"]
    folded = [n for n, day in enumerate(dates, 1) if day <= until]
    assert (as_of["seq"], as_of["records"]) == (max(folded, default=0), len(folded))
    line = as_of_line(as_of)
    assert line.startswith(f"as of seq {as_of['seq']}")
    gap = f" ({len(folded)} of its first {max(folded)} records: those dated by then)" \
        if folded and len(folded) != max(folded) else ""
    assert line.startswith(f"as of seq {as_of['seq']}{gap}")
