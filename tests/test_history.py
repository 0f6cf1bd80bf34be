"""JSON Lines: import and export round trips, and bad lines refused with FILE:LINE: why."""

from __future__ import annotations

import json
import os
import stat
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import ConflictError, Ledger, LedgerError, Rejected

from .strategies import any_event

GOOD = [
    {"type": "usage.reported", "occurred_at": "2025-09-22", "data": {"product": "chatgpt", "weekly_active_users": 700000000}},
    {"type": "capacity.commissioned", "occurred_at": "2025-09-30",
     "data": {"site": "abilene", "provider": "oracle", "vendor": "nvidia", "platform": "gb200", "gigawatts": 0.2},
     "meta": {"source": "https://www.globenewswire.com"}},
    {"type": "gpus.delivered", "occurred_at": "2025-10-01T12:00:00Z", "id": "g1", "stream": "site/abilene",
     "data": {"site": "abilene", "platform": "gb200", "count": 1000}},
]


def write(path, lines):
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def records(book):
    return [r.to_json() for r in book.read()]


def test_import_appends_every_line(book, tmp_path):
    result = book.import_jsonl(write(tmp_path / "h.jsonl", GOOD))
    assert (result.appended, result.skipped, result.head) == (3, 0, 3)
    stored = list(book.read())
    assert stored[1].data["gigawatts"] == "0.2"
    assert stored[1].meta == {"source": "https://www.globenewswire.com"}
    assert (stored[2].id, stored[2].stream) == ("g1", "site/abilene")


def test_blank_lines_and_a_byte_order_mark_are_fine(book, tmp_path):
    path = tmp_path / "h.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(GOOD[0]).encode() + b"\n\n   \n" + json.dumps(GOOD[1]).encode())
    assert book.import_jsonl(path).appended == 2


def test_export_then_import_gives_back_the_identical_log(book, tmp_path):
    book.import_jsonl(write(tmp_path / "h.jsonl", GOOD))
    book.export_jsonl(tmp_path / "out.jsonl")
    with Ledger.open(load_entrypoints=False) as copy:
        result = copy.import_jsonl(tmp_path / "out.jsonl")
        assert records(copy) == records(book)
        assert copy.head() == book.head()
        assert result.appended == 3
        again = copy.import_jsonl(tmp_path / "out.jsonl")
        assert (again.appended, again.skipped) == (0, 3)
        copy.export_jsonl(tmp_path / "again.jsonl")
    assert (tmp_path / "again.jsonl").read_bytes() == (tmp_path / "out.jsonl").read_bytes()


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_an_export_gets_the_permissions_a_new_file_gets_or_keeps_those_it_replaces(book, tmp_path,
                                                                                  umask):
    """Written under a private temporary name and renamed, an export still ends up readable as
    any file the user makes (``0o666`` less the umask: ``-rw-r--r--`` under 022), not
    ``-rw-------``; an export over an existing file keeps that file's permissions."""
    book.import_jsonl(write(tmp_path / "h.jsonl", GOOD))
    previous = os.umask(umask)
    try:
        book.export_jsonl(tmp_path / "new.jsonl")
        (tmp_path / "kept.jsonl").write_text("")
        os.chmod(tmp_path / "kept.jsonl", 0o640)
        book.export_jsonl(tmp_path / "kept.jsonl")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(tmp_path / "new.jsonl").st_mode) == 0o666 & ~umask
    assert stat.S_IMODE(os.stat(tmp_path / "kept.jsonl").st_mode) == 0o640
    assert (tmp_path / "kept.jsonl").read_bytes() == (tmp_path / "new.jsonl").read_bytes()


@settings(max_examples=30)
@given(batches=st.lists(st.lists(any_event, min_size=1, max_size=5), min_size=1, max_size=4))
def test_export_import_round_trip(tmp_path_factory, batches):
    folder = tmp_path_factory.mktemp("round")
    with Ledger.open(load_entrypoints=False) as book:
        for batch in batches:
            try:
                book.append_many(batch, occurred_at="2026-01-01")
            except Rejected:
                pass  # a plugin refused it (say, a retirement beyond deliveries): nothing stored
        book.export_jsonl(folder / "log.jsonl")
        with Ledger.open(load_entrypoints=False) as copy:
            if len(book):  # an empty export is an empty file, which an import refuses
                copy.import_jsonl(folder / "log.jsonl")
            assert records(copy) == records(book)
            assert copy.verify() == book.verify()


def test_importing_an_export_into_another_ledger_is_refused(book, tmp_path):
    book.import_jsonl(write(tmp_path / "h.jsonl", GOOD))
    book.export_jsonl(tmp_path / "out.jsonl")
    with Ledger.open(load_entrypoints=False) as other:
        other.append_many([Ledger.event_from(other, GOOD[0]["type"], GOOD[0]["data"])])
        with pytest.raises(ConflictError, match=r"out.jsonl:1: record seq 1 cannot follow this ledger's seq 1"):
            other.import_jsonl(tmp_path / "out.jsonl")


def test_an_altered_export_is_refused(book, tmp_path):
    book.import_jsonl(write(tmp_path / "h.jsonl", GOOD))
    book.export_jsonl(tmp_path / "out.jsonl")
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    lines[1] = lines[1].replace('"0.2"', '"0.3"')
    write(tmp_path / "forged.jsonl", lines)
    with Ledger.open(load_entrypoints=False) as copy:
        with pytest.raises(Rejected, match=r"forged.jsonl:2: record seq 2: hash does not match"):
            copy.import_jsonl(tmp_path / "forged.jsonl")
        assert len(copy) == 0


def bad_line(**changes):
    line = json.loads(json.dumps(GOOD[1]))
    for key, value in changes.items():
        if key == "data":
            line["data"].update(value)
        elif value is None:
            del line[key]
        else:
            line[key] = value
    return json.dumps(line)


BAD_LINES = {
    "broken JSON": ('{"type": "usage.reported", "occurred_at": ', "not valid JSON: Expecting value at column 43"),
    "unknown type": (bad_line(type="capacity.bought"), "unknown event type 'capacity.bought'"),
    "missing field": (json.dumps({**GOOD[1], "data": {"site": "x"}}), "data.provider: required field is missing"),
    "negative gigawatts": (bad_line(data={"gigawatts": -0.5}), "data.gigawatts: must be greater than 0, got -0.5"),
    "missing occurred_at": (bad_line(occurred_at=None), "occurred_at: required"),
    "wrong date": (bad_line(occurred_at="2025-02-30"), "occurred_at: '2025-02-30' is not a valid date"),
    "unknown key": (bad_line(when="now"), "unknown key 'when'"),
    "not an object": ("[1, 2, 3]", "expected a JSON object"),
    "data not an object": (json.dumps({**GOOD[1], "data": [GOOD[1]["data"]]}), "data: expected an object"),
    "misspelt field": (bad_line(data={"sight": "x"}), "data: unknown field sight"),
}


@pytest.mark.parametrize("kind", BAD_LINES)
def test_a_bad_line_in_the_middle_refuses_the_whole_import(book, tmp_path, kind):
    line, why = BAD_LINES[kind]
    book.import_jsonl(write(tmp_path / "before.jsonl", GOOD[:1]))
    before = (len(book), book.head())
    path = write(tmp_path / "h.jsonl", [GOOD[0], GOOD[2], line, GOOD[1]])
    with pytest.raises(LedgerError) as caught:
        book.import_jsonl(path)
    assert str(caught.value).startswith(f"{path}:3: ")
    assert why in str(caught.value)
    assert (len(book), book.head()) == before


def test_non_utf8_bytes_are_refused_with_the_column(book, tmp_path):
    path = tmp_path / "h.jsonl"
    path.write_bytes(json.dumps(GOOD[0]).encode() + b"\n" + b'{"type": "\xff"}\n')
    with pytest.raises(Rejected, match=r"h.jsonl:2: not valid UTF-8: byte 0xff at column 11"):
        book.import_jsonl(path)
    assert len(book) == 0


def test_an_enormous_line_is_refused_unread(book, tmp_path):
    path = tmp_path / "h.jsonl"
    path.write_bytes(b'{"type": "' + b"x" * (3 << 20) + b'"}\n')
    with pytest.raises(Rejected, match=r"h.jsonl:1: line is longer than 1 MiB"):
        book.import_jsonl(path)


def test_missing_files_and_directories(book, tmp_path):
    with pytest.raises(LedgerError, match="cannot be read"):
        book.import_jsonl(tmp_path / "missing.jsonl")
    with pytest.raises(LedgerError, match="is a directory"):
        book.import_jsonl(tmp_path)


def test_a_second_signing_of_the_same_agreement_is_refused(book, tmp_path):
    signed = {"type": "agreement.signed", "occurred_at": "2025-09-22",
              "data": {"agreement": "a", "investor": "n", "investee": "o", "status": "intent",
                       "gigawatts": "10", "cap_usd": "100", "tranche_usd": "10"}}
    path = write(tmp_path / "h.jsonl", [signed])
    book.import_jsonl(path)
    with pytest.raises(Rejected, match=r"h.jsonl:1: investment: agreement 'a' is signed already"):
        book.import_jsonl(path)
    assert len(book) == 1


def test_exact_sums_survive_append_export_import_and_report(tmp_path):
    lines = [
        {"type": "capacity.commissioned", "occurred_at": "2026-01-01", "data": {
            "site": f"s{n}", "provider": "oracle", "vendor": "nvidia", "platform": "gb200", "gigawatts": gw}}
        for n, gw in enumerate(["0.1", "0.2", 0.1, 0.2, "0.000000007"])
    ]
    with Ledger.open(load_entrypoints=False) as book:
        book.import_jsonl(write(tmp_path / "h.jsonl", lines))
        total = book.replay().report()["provider_mix"]["commissioned_gigawatts"]["total"]
        assert total == "0.600000007"
        assert 0.1 + 0.2 + 0.1 + 0.2 + 0.000000007 != 0.600000007  # what a float would have said
        assert Decimal(total) == Decimal("0.600000007")
        book.export_jsonl(tmp_path / "out.jsonl")
    with Ledger.open(load_entrypoints=False) as copy:
        copy.import_jsonl(tmp_path / "out.jsonl")
        assert copy.replay().report()["provider_mix"]["commissioned_gigawatts"]["total"] == total


def test_an_id_given_again_after_a_derived_record_took_it_is_refused_at_its_line(tmp_path):
    """In an import into an empty ledger the ledger itself keeps the ids that can repeat, given
    or derived (its indexes are built at the end): a line that gives the id of a record derived
    over a thousand records earlier is refused at that line, as a conflict, and nothing is
    stored."""
    plan = os.path.join(os.path.dirname(__file__), "..", "events", "nvidia-openai-plan.jsonl")
    lines = open(plan).read().splitlines()
    with Ledger.open(tmp_path / "scratch.db", load_entrypoints=False) as scratch:
        scratch.import_jsonl(plan)
        derived = next(r for r in scratch.read() if "derived_by" in r.meta)
    filler = [json.dumps({"type": "usage.reported", "occurred_at": "2029-12-31",
                          "data": {"product": f"p{n}", "weekly_active_users": n}})
              for n in range(1100)]
    taken = json.dumps({"type": "usage.reported", "occurred_at": "2029-12-31", "id": derived.id,
                        "data": {"product": "other", "weekly_active_users": 1}})
    crafted = write(tmp_path / "crafted.jsonl", lines + filler + [taken])
    db = tmp_path / "new.db"
    with Ledger.open(db, load_entrypoints=False) as book:
        with pytest.raises(ConflictError) as caught:
            book.import_jsonl(crafted)
        assert str(caught.value) == (
            f"{crafted}:{len(lines) + 1101}: id {derived.id!r} is given twice in this batch or "
            f"import, with other content (first as its record seq {derived.seq})")
        assert len(book) == 0 and book.verify() == (0, "0" * 64)
