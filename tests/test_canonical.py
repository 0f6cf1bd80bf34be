"""Canonical JSON is byte for byte the standard library's, with orjson or without: the text the
hash chain covers never depends on which one wrote it, and numbers are read exactly."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import Ledger
from ledger.canonical import dumps, loads, orjson, standard_dumps, standard_loads

from .conftest import EVENTS

keys = st.text(max_size=8)
leaves = (st.none() | st.booleans() | st.text(max_size=12)
          | st.integers(-(2**70), 2**70)
          | st.floats(allow_nan=False, allow_infinity=False)
          | st.decimals(allow_nan=False, allow_infinity=False, places=4)
          | st.dates())
values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(keys, inner, max_size=4), max_leaves=20)


def same_or_both_refuse(make):
    """The result of ``make(standard)`` and ``make(ours)``: equal, or both raising alike."""
    outcomes = []
    for side in (0, 1):
        try:
            outcomes.append(("ok", make(side)))
        except (TypeError, ValueError) as error:
            outcomes.append(("error", type(error).__name__))
    return outcomes


def test_orjson_is_there_to_be_tested():
    assert orjson is not None


@settings(max_examples=400)
@given(values)
def test_dumps_is_the_standard_librarys_text(value):
    standard, ours = same_or_both_refuse(lambda side: (dumps if side else standard_dumps)(value))
    assert standard == ours


@settings(max_examples=400)
@given(values)
def test_loads_reads_exactly_what_the_standard_library_reads(value):
    try:
        text = json.dumps(value, default=str, ensure_ascii=False)
    except ValueError:
        return
    assert loads(text) == standard_loads(text)
    assert repr(loads(text)) == repr(standard_loads(text))  # Decimal('1.0') is not 1.0


@given(st.text(max_size=30))
def test_loads_of_any_text_agrees_or_both_refuse(text):
    standard, ours = same_or_both_refuse(lambda side: (loads if side else standard_loads)(text))
    assert standard[0] == ours[0]
    if standard[0] == "ok":
        assert repr(standard[1]) == repr(ours[1])


def test_every_shipped_line_and_every_stored_text_is_the_same_both_ways(tmp_path):
    for path in sorted(Path(EVENTS).glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                parsed = standard_loads(line)
                assert repr(loads(line)) == repr(parsed)
                assert dumps(parsed) == standard_dumps(parsed)
        with Ledger.open(load_entrypoints=False) as book:
            book.import_jsonl(path)
            for row in book._store.rows():
                for text in (row.data, row.meta):
                    assert dumps(loads(text)) == text == standard_dumps(standard_loads(text))


def test_the_standard_library_alone_gives_the_same_ledger(tmp_path):
    """Without orjson (hidden from the import system), a history imports to the same hashes."""
    history = Path(EVENTS) / "openai-compute-2025-2026.jsonl"
    script = ("import sys; sys.modules['orjson'] = None\n"
              "from ledger import Ledger\n"
              "from ledger import canonical\n"
              "assert canonical.orjson is None\n"
              "import time\n"
              f"book = Ledger.open(load_entrypoints=False, clock=lambda: __import__('datetime')"
              f".datetime(2026, 1, 1, tzinfo=__import__('datetime').timezone.utc))\n"
              f"book.import_jsonl({str(history)!r})\n"
              "print(book.head()[1])\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    import datetime
    with Ledger.open(load_entrypoints=False, clock=lambda: datetime.datetime(
            2026, 1, 1, tzinfo=datetime.timezone.utc)) as book:
        book.import_jsonl(history)
        assert done.stdout.strip() == book.head()[1]


def test_decimals_are_text_and_exact():
    assert dumps({"b": Decimal("1.10"), "a": [Decimal("1e3")]}) == '{"a":["1000"],"b":"1.10"}'
    assert loads('{"x": 0.1000000000000000055}') == {"x": Decimal("0.1000000000000000055")}
    assert loads('[99999999999999999999999]') == [99999999999999999999999]


@settings(max_examples=300)
@given(st.dictionaries(keys, values, max_size=3), st.dictionaries(keys, values, max_size=3),
       st.text(max_size=5))
def test_a_history_line_is_exact_in_its_data_and_meta(data, meta, kind):
    from ledger.canonical import loads_members

    try:
        text = json.dumps({"type": kind, "data": data, "meta": meta}, default=str,
                          ensure_ascii=False)
    except ValueError:
        return
    ours, standard = loads_members(text, ("data", "meta")), standard_loads(text)
    assert repr(ours["data"]) == repr(standard["data"])
    assert repr(ours["meta"]) == repr(standard["meta"])


#: A snapshot's shape: rows (lists or tuples) of leaves, alone or as a dict's columns.
rows = st.lists(st.lists(leaves, max_size=4) | st.tuples(leaves, leaves), min_size=1, max_size=6)


@settings(max_examples=400)
@given(rows | st.dictionaries(keys, rows, max_size=3))
def test_rows_of_values_read_and_write_exactly_as_the_standard_library_does(value):
    standard, ours = same_or_both_refuse(lambda side: (dumps if side else standard_dumps)(value))
    assert standard == ours
    if standard[0] == "ok":
        text = standard[1]
        assert repr(loads(text)) == repr(standard_loads(text))  # a float one row down: Decimal
