"""Bad input: every file in tests/bad_input/ (and a few made here) is refused by `gigaledger
import` with exit 1 and one line, FILE:LINE: why, no traceback, and the ledger unchanged.
A hypothesis fuzz test of the importer: random lines are accepted or refused cleanly, never crash."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import Ledger, LedgerError

from .conftest import EVENTS, HERE
from .test_cli import state
from .test_history import GOOD

CORPUS = os.path.join(HERE, "bad_input")

#: file → (line, what the one line says after "FILE:LINE: ")
EXPECTED = {
    "01-broken-json": (3, "not valid JSON: Expecting property name enclosed in double quotes at column 66"),
    "02-trailing-garbage": (3, "not valid JSON: Extra data at column 123"),
    "03-array-line": (3, "expected a JSON object ({...}) on each line"),
    "04-string-line": (3, "expected a JSON object ({...}) on each line"),
    "05-missing-type": (3, "type: required"),
    "06-missing-occurred-at": (3, "occurred_at: required"),
    "07-missing-data": (3, "data: required"),
    "08-unknown-key": (3, "unknown key 'when'; a line has type, occurred_at, data and optionally id, stream, meta"),
    "09-unknown-type": (3, "unknown event type 'capacity.bought' (did you mean 'capacity.unquantified'?); "
                           "a loaded plugin must register it"),
    "10-type-not-a-string": (3, "type: expected a non-empty string"),
    "11-data-not-an-object": (3, "data: expected an object"),
    "12-missing-field": (3, "data.weekly_active_users: required field is missing"),
    "13-unknown-field": (3, "data: unknown field users (check the spelling)"),
    "14-string-for-a-whole-number": (3, "data.count: expected a whole number, got the string '12'"),
    "15-boolean-for-a-number": (3, "data.gigawatts: expected a number, got a boolean"),
    "16-fraction-for-a-whole-number": (3, "data.count: expected a whole number, got the number 12.5"),
    "17-negative-gigawatts": (3, "data.gigawatts: must be greater than 0, got -0.5"),
    "18-zero-gigawatts": (3, "data.gigawatts: must be greater than 0, got 0"),
    "19-absurd-gigawatts": (3, "data.gigawatts: 5000 is beyond 1000; check the unit"),
    "20-absurd-dollars": (3, "data.usd: 100000000000000000000 is beyond 10000000000000; check the unit"),
    "21-nan": (3, "not valid JSON: NaN is not a number JSON allows"),
    "22-infinity-as-text": (3, "data.gigawatts: Infinity is not a finite number"),
    "23-too-many-decimal-places": (3, "data.gigawatts: 0.0000000001 has more than 9 digits after the point"),
    "24-impossible-date": (3, "occurred_at: '2025-02-30' is not a valid date (YYYY-MM-DD)"),
    "25-time-without-offset": (3, "occurred_at: 2025-09-30T12:00:00 has no UTC offset; add 'Z' or '+00:00'"),
    "26-year-out-of-range": (3, "occurred_at: year 1800 is outside 1900-9998"),
    "27-not-a-date": (3, "data.due: 'soon' is not a valid date (YYYY-MM-DD)"),
    "28-status-not-allowed": (3, "data.status: must be one of intent, definitive; got 'signed'"),
    "29-unit-not-allowed": (3, "data.unit: must be one of package, die; got 'chip'"),
    "30-empty-name": (3, "data.site: must be a non-empty name without surrounding spaces, got ''"),
    "31-control-character": (3, r"data.site: contains a control character: 'corpus\x07site'"),
    "32-lone-surrogate": (3, "data or meta holds text that is not valid Unicode"),
    "33-duplicate-id-with-other-content": (4, "id 'dup' is given twice in this batch or import, with other content (first as its record seq 56)"),
    "34-agreement-signed-twice": (4, "investment: agreement 'corpus-a' is signed already"),
    "35-revision-of-an-unknown-agreement": (3, "investment: agreement 'nowhere' is not signed"),
    "36-final-status-changed": (5, "investment: agreement 'corpus-a' is cancelled, which is final"),
    "37-release-over-the-cap": (4, "investment: releasing 101 would pass the cap of agreement 'corpus-a', 100 (0 released already)"),
    "38-retirement-beyond-deliveries": (4, "gpu_inventory: retires 11 packages of gb200 at 'corpus-site', but only 10 are counted there"),
    "39-decommissioning-beyond-commissioned": (3, "provider_mix: decommissions 0.6 GW, but site 'corpus-site' has only 0.5 GW commissioned"),
    "40-deeply-nested": (3, "not valid JSON: nested too deeply"),
    "41-huge-integer": (3, "not valid JSON: a number has more digits than Python reads (4300)"),
    "42-meta-not-an-object": (3, "meta: expected an object"),
    "43-derived-by-in-meta": (3, "meta.derived_by: set by the ledger on derived events only"),
    "44-empty-stream": (3, "stream: expected a non-empty string"),
    "45-id-too-long": (3, "id: expected non-empty printable text of at most 200 characters, got '" + "x" * 56 + "..."),
    "46-export-record-missing-keys": (3, "an exported record lacks id, stream, version, schema, recorded_at, meta"),
    "47-export-record-out-of-sequence": (3, "record seq 99 cannot follow this ledger's seq 55: import an export into an empty ledger, or leave out seq and hash to append the events anew"),
    "48-export-record-with-a-forged-hash": (3, "record seq 56: hash does not match: the record was altered, or does not follow the previous one"),
    "49-non-utf8-byte": (3, "not valid UTF-8: byte 0xff at column 25"),
    "50-utf16-file": (1, "not valid UTF-8: byte 0xff at column 1 (the file looks like UTF-16)"),
    "51-empty-file": (None, "holds no events (the file is empty)"),
    "52-blank-lines-only": (None, "holds no events (the file is empty)"),
}


def test_the_corpus_is_complete():
    files = sorted(name[:-6] for name in os.listdir(CORPUS) if name.endswith(".jsonl"))
    assert files == sorted(EXPECTED) and len(files) >= 30


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A ledger that already holds the founding plan (importing the corpus adds to it)."""
    path = tmp_path_factory.mktemp("base") / "base.db"
    with Ledger.open(path, load_entrypoints=False) as book:
        book.import_jsonl(os.path.join(EVENTS, "nvidia-openai-plan.jsonl"))
    return path


def refused(run, db, *args, where):
    before = state(db)
    result = run(*args)
    assert result.code == 1
    assert result.err.count("\n") == 1, result.err
    assert "Traceback" not in result.err and result.out == ""
    assert state(db) == before
    assert result.err.startswith(where), result.err
    return result.err[len(where):].strip()


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_each_bad_file_is_refused_with_one_located_line(run, base, tmp_path, case):
    db = tmp_path / "db.sqlite"
    shutil.copy(base, db)
    path = os.path.join(CORPUS, f"{case}.jsonl")
    line, why = EXPECTED[case]
    where = f"{path}:{line}: " if line else f"{path}: "
    assert refused(run, db, "import", db, path, where=where) == why


def test_a_ten_megabyte_line(run, base, tmp_path):
    db = tmp_path / "db.sqlite"
    shutil.copy(base, db)
    path = tmp_path / "big.jsonl"
    path.write_text(json.dumps(GOOD[0]) + "\n" + '{"type": "' + "x" * (10 << 20) + '"}\n')
    assert refused(run, db, "import", db, path, where=f"{path}:2: ") == "line is longer than 1 MiB"


def test_a_directory_and_a_missing_file(run, base, tmp_path):
    db = tmp_path / "db.sqlite"
    shutil.copy(base, db)
    before = state(db)
    folder = run("import", db, tmp_path)  # a usage error on the command line, as a folder for DB
    assert (folder.code, folder.out, state(db)) == (2, "", before)
    assert folder.err == (f"gigaledger import: {tmp_path}: is a directory, not a history file "
                          "(see gigaledger import --help)\n")
    with Ledger.open(db, load_entrypoints=False) as book, \
            pytest.raises(LedgerError, match=r": is a directory, not a history file$"):
        book.import_jsonl(tmp_path)
    missing = tmp_path / "missing.jsonl"
    assert refused(run, db, "import", db, missing, where=f"{missing}: ") == "cannot be read: No such file or directory"


def test_a_wrong_expected_version(run, base, tmp_path):
    db = tmp_path / "db.sqlite"
    shutil.copy(base, db)
    why = refused(run, db, "append", db, "usage.reported", "--data",
                  '{"product": "chatgpt", "weekly_active_users": 1}', "--expect-version", "7", where="")
    assert why == "stream 'usage/chatgpt' is at version 1, not the expected 7"


@pytest.mark.parametrize(("source", "why"), [
    ("raise RuntimeError('no config')\n", "plugin {path}: cannot be imported: RuntimeError: no config"),
    ("from ledger import hookimpl\n@hookimpl\ndef validate_event(event):\n    raise KeyError('site')\n",
     "plugin broken: validate_event failed on usage.reported: KeyError: 'site'"),
    ("from ledger import hookimpl\n@hookimpl\ndef derive_events(event):\n    return [event.missing]\n",
     "plugin broken: derive_events failed on usage.reported: AttributeError: 'UsageReported' object has no attribute 'missing'"),
])
def test_a_plugin_that_raises(run, base, tmp_path, source, why):
    db = tmp_path / "db.sqlite"
    shutil.copy(base, db)
    plugin = tmp_path / "broken.py"
    plugin.write_text(source)
    history = tmp_path / "h.jsonl"
    history.write_text(json.dumps(GOOD[0]) + "\n")
    where = f"{history}:1: " if "failed on" in why else ""
    assert refused(run, db, "import", db, history, "--plugin", plugin, where=where) == why.format(path=plugin)


def test_an_observer_that_raises_loses_nothing_and_is_reported(run, base, tmp_path):
    db = tmp_path / "db.sqlite"
    shutil.copy(base, db)
    plugin = tmp_path / "observer.py"
    plugin.write_text("from ledger import hookimpl\n@hookimpl\ndef event_appended(record):\n"
                      "    raise ConnectionError('webhook down')\n")
    history = tmp_path / "h.jsonl"
    history.write_text(json.dumps(GOOD[0]) + "\n")
    count = state(db)[0]
    result = run("import", db, history, "--plugin", plugin)
    assert result.code == 0
    observer, mixed = result.err.strip().splitlines()  # the base ledger is of a scenario
    assert observer == (f"warning: plugin observer: event_appended failed on seq {count + 1}: "
                        "ConnectionError: webhook down (the record is stored)")
    assert mixed.startswith(f"warning: histories of reported facts only, {history}, are imported "
                            "into a ledger with 51 scenario records")
    assert state(db)[0] == count + 1


# --- fuzzing the importer ----------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=10,
)
good_lines = st.sampled_from([json.loads(line) if isinstance(line, str) else line for line in GOOD])


@st.composite
def mutated(draw):
    """A good line with one key replaced, removed or added, at the top or inside data."""
    line = json.loads(json.dumps(draw(good_lines)))
    target = line["data"] if draw(st.booleans()) else line
    key = draw(st.sampled_from(sorted(target)) | st.text(max_size=8))
    if draw(st.booleans()):
        target.pop(key, None)
    else:
        target[key] = draw(json_values)
    return json.dumps(line)


lines = st.one_of(
    mutated(),
    json_values.map(json.dumps),
    st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
    st.text(max_size=60),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(st.lists(lines, min_size=1, max_size=4))
def test_random_lines_are_accepted_or_refused_cleanly(tmp_path, batch):
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes("\n".join(batch).replace("\r", " ").encode("utf-8", "surrogatepass") + b"\n")
    with Ledger.open(load_entrypoints=False) as book:
        book.import_jsonl(os.path.join(EVENTS, "nvidia-openai-plan.jsonl"))
        before = book.head()
        try:
            book.import_jsonl(path)
        except LedgerError as error:
            assert str(error).startswith(f"{path}:")
            assert "\n" not in str(error)
            assert book.head() == before
        assert book.verify()[1] == book.head()[1]
