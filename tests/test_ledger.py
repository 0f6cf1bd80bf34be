"""The Python API: append, read, expected versions, idempotent ids, atomic batches."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from ledger import (
    UsageError,
    AgreementSigned,
    CapacityCommissioned,
    ConflictError,
    GpusDelivered,
    GpusRetired,
    Ledger,
    LedgerError,
    NewEvent,
    Rejected,
    UsageReported,
)
from ledger.chain import GENESIS


def site(name="abilene", gigawatts="0.2", **extra):
    return CapacityCommissioned(site=name, provider="oracle", vendor="nvidia", platform="gb200",
                                gigawatts=Decimal(gigawatts), **extra)


def test_append_returns_the_stored_record(book):
    record = book.append(site(), occurred_at="2025-09-30", meta={"source": "https://x"})
    assert (record.seq, record.stream, record.version, record.type) == (1, "site/abilene", 1, "capacity.commissioned")
    assert record.occurred_at == datetime(2025, 9, 30, tzinfo=timezone.utc)
    assert record.recorded_at.tzinfo is timezone.utc
    assert record.data["gigawatts"] == "0.2"
    assert record.meta == {"source": "https://x"}
    assert record.event == site()
    assert list(book.read()) == [record]
    assert book.head() == (1, record.hash)


def test_streams_default_by_type_and_can_be_named(book):
    assert book.append(UsageReported(product="chatgpt", weekly_active_users=700_000_000)).stream == "usage/chatgpt"
    assert book.append(site(), stream="custom/one").stream == "custom/one"
    assert book.append(site()).version == 1
    assert book.append(site()).version == 2


def test_read_filters_by_after_type_and_stream(book):
    book.append_many([site("a"), site("b"), UsageReported(product="p", weekly_active_users=1), site("a")])
    assert [r.seq for r in book.read(after=2)] == [3, 4]
    assert [r.seq for r in book.read(types=["usage.reported"])] == [3]
    assert [r.seq for r in book.read(stream="site/a")] == [1, 4]


def test_reading_a_type_that_neither_a_plugin_nor_the_log_has_is_refused(tmp_path):
    """A misspelt type reads nothing silently no more; a type of a plugin not loaded here is
    still read when the log holds it."""
    path = tmp_path / "l.db"
    with Ledger.open(path, load_entrypoints=False) as book:
        book.append_many([site("a"), UsageReported(product="p", weekly_active_users=1)])
        with pytest.raises(UsageError, match=r"^no event type 'capacity.comissioned': no loaded "
                                             r"plugin registers it and the log holds none "
                                             r"\(did you mean 'capacity.commissioned'\?\)$"):
            list(book.read(types=["usage.reported", "capacity.comissioned"]))
        with pytest.raises(UsageError, match="no event type 'capacity.comissioned'"):
            list(book.export_lines(types="capacity.comissioned"))
        with pytest.raises(UsageError, match="event type names, not int"):
            list(book.read(types=[3]))
        assert [r.seq for r in book.read(types=("usage.reported",))] == [2]
    with Ledger.open(path, load_entrypoints=False, builtins=False) as bare:  # no plugin loaded
        assert [r.type for r in bare.read(types=["usage.reported"])] == ["usage.reported"]
        with pytest.raises(UsageError, match="no event type 'usage.report'.*did you mean "
                                             "'usage.reported'"):
            list(bare.read(types=["usage.report"]))


def test_expected_version_conflict(book):
    book.append(site(), expected_version=0)
    book.append(site(), expected_version=1)
    with pytest.raises(ConflictError, match="stream 'site/abilene' is at version 2, not the expected 1"):
        book.append(site(), expected_version=1)
    with pytest.raises(ConflictError):
        book.append(site("new"), expected_version=3)
    assert len(book) == 2


def test_same_id_same_content_returns_the_existing_record(book):
    first = book.append(site(), id="abilene-phase-1", occurred_at="2025-09-30")
    again = book.append(site(), id="abilene-phase-1", occurred_at="2025-09-30")
    assert again == first
    assert book.append(site(), id="abilene-phase-1") == first  # no occurred_at: not compared
    assert len(book) == 1


@pytest.mark.parametrize("change", [
    {"event": site(gigawatts="0.3")},
    {"occurred_at": "2025-10-01"},
    {"meta": {"source": "other"}},
    {"stream": "site/elsewhere"},
])
def test_same_id_other_content_is_refused(book, change):
    book.append(site(), id="k", occurred_at="2025-09-30")
    arguments = {"event": site(), "occurred_at": "2025-09-30", **change}
    with pytest.raises(ConflictError, match="id 'k' exists already"):
        book.append(arguments.pop("event"), id="k", **arguments)
    assert len(book) == 1


def test_a_batch_is_stored_whole_or_not_at_all(book):
    book.append(site())
    before = book.head()
    with pytest.raises(Rejected, match="gpu_inventory: retires 5"):
        book.append_many([site("b"), GpusRetired(site="b", platform="gb200", count=5)])
    assert book.head() == before
    assert [r.seq for r in book.read()] == [1]
    # the live view was rolled back too: the next append sees the same state
    book.append_many([site("b"), GpusDelivered(site="b", platform="gb200", count=5),
                      GpusRetired(site="b", platform="gb200", count=5)])
    assert len(book) == 4


def test_batch_items_can_carry_their_own_options(book):
    records = book.append_many(
        [NewEvent(site(), occurred_at="2025-01-01", id="x"), site("b")],
        occurred_at="2026-01-01", meta={"source": "s"},
    )
    assert records[0].occurred_at.year == 2025 and records[0].id == "x"
    assert records[1].occurred_at.year == 2026 and records[1].meta == {"source": "s"}


def test_an_id_repeated_inside_a_batch_is_stored_once(book):
    records = book.append_many([NewEvent(site(), id="x"), NewEvent(site(), id="x")])
    assert records[0] == records[1]
    assert len(book) == 1


def test_derived_events_carry_their_cause(book):
    signed = book.append(AgreementSigned(agreement="a", investor="nvidia", investee="openai",
                                         status="definitive", gigawatts=Decimal(10),
                                         cap_usd=Decimal("100e9"), tranche_usd=Decimal("10e9")),
                         occurred_at="2025-09-22", meta={"correlation_id": "deal"})
    cause = book.append(site(gigawatts="2.5", agreement="a"), occurred_at="2026-10-01",
                        meta={"source": "https://report"})
    derived = list(book.read(after=cause.seq))
    assert [r.data["tranche"] for r in derived] == [1, 2]
    for record in derived:
        assert record.meta == {"causation_id": cause.id, "correlation_id": cause.id,
                               "derived_by": "investment", "source": "https://report"}
        assert record.occurred_at == cause.occurred_at
    assert signed.meta == {"correlation_id": "deal"}


def test_derived_ids_are_deterministic():
    ids = []
    for _ in range(2):
        with Ledger.open(load_entrypoints=False) as book:
            book.append(AgreementSigned(agreement="a", investor="n", investee="o", status="definitive",
                                        gigawatts=Decimal(1), cap_usd=Decimal(10), tranche_usd=Decimal(10)))
            book.append(site(agreement="a", gigawatts="1"), id="cause")
            ids.append([r.id for r in book.read(after=2)])
    assert ids[0] == ids[1] and len(ids[0]) == 1


def test_derived_by_is_reserved(book):
    with pytest.raises(Rejected, match="meta.derived_by"):
        book.append(site(), meta={"derived_by": "me"})


@pytest.mark.parametrize("when", ["2025-13-01", "2025-09-30T10:00:00", "yesterday",
                                  datetime(2025, 9, 30), 20250930])
def test_bad_times_are_refused(book, when):
    with pytest.raises(LedgerError, match="occurred_at"):
        book.append(site(), occurred_at=when)


def test_times_are_normalised_to_utc(book):
    record = book.append(site(), occurred_at="2025-09-30T02:00:00+02:00")
    assert record.occurred_at == datetime(2025, 9, 30, tzinfo=timezone.utc)
    assert book.append(site(), occurred_at="2025-09-30T00:00:00Z").occurred_at == record.occurred_at


def test_unregistered_events_are_refused(book):
    with pytest.raises(Rejected, match="unknown event type"):
        book.append(object())  # type: ignore[arg-type]


def test_file_ledger_persists_and_uses_wal(tmp_path):
    path = tmp_path / "deals.db"
    with Ledger.open(path) as book:
        first = book.append(site())
    with Ledger.open(path) as book:
        assert list(book.read()) == [first]
        assert book.append(site()).version == 2
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_context_manager_closes_the_database(tmp_path):
    with Ledger.open(tmp_path / "x.db") as book:
        pass
    with pytest.raises(UsageError, match="the ledger is closed"):
        book.head()


def test_open_refuses_missing_and_foreign_files(tmp_path):
    with pytest.raises(LedgerError, match="no such ledger file"):
        Ledger.open(tmp_path / "missing.db", create=False)
    foreign = tmp_path / "foreign.db"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)")
    with pytest.raises(LedgerError, match="not a gigaledger database"):
        Ledger.open(foreign)
    text = tmp_path / "text.db"
    text.write_text("hello, this is not a database at all" * 100)
    with pytest.raises(LedgerError, match="not a gigaledger database"):
        Ledger.open(text)


def test_empty_ledger_head(book):
    assert book.head() == (0, GENESIS)
    assert book.verify() == (0, GENESIS)


# --- mistakes from Python: one clear error, nothing stored -------------------------------------


def test_a_record_too_big_to_import_again_is_refused_and_one_just_under_round_trips(tmp_path):
    """What ``export`` writes, ``import`` reads: a record whose exported line would pass a
    history line's limit (1 MiB) is refused when appended, not exported into a line that the
    import then refuses; one just under the limit goes out and back in, identical."""
    from ledger.appending import MAX_PAYLOAD

    usage = UsageReported(product="chatgpt", weekly_active_users=1)
    with Ledger.open(tmp_path / "big.db", load_entrypoints=False) as book:
        with pytest.raises(Rejected, match=r"^data and meta hold 1,\d{3},\d{3} bytes of JSON; a "
                                           r"record holds at most 1,040,384, so that its exported"):
            book.append(usage, meta={"note": "x" * 1_200_000})
        with pytest.raises(Rejected, match="data and meta hold"):  # bytes, not characters
            book.append(usage, meta={"note": "é" * (MAX_PAYLOAD // 2)})
        assert len(book) == 0
        near = MAX_PAYLOAD - len('{"note":""}') - len('{"product":"chatgpt","weekly_active_users":1}')
        book.append(usage, meta={"note": "x" * near})
        book.export_jsonl(tmp_path / "big.jsonl")
        with Ledger.open(tmp_path / "again.db", load_entrypoints=False) as again:
            assert again.import_jsonl(tmp_path / "big.jsonl").appended == 1
            assert again.head() == book.head()


def test_wrong_arguments_from_python_are_usage_errors(book, tmp_path):
    import io

    book.append(UsageReported(product="p", weekly_active_users=1))
    book.append(UsageReported(product="p", weekly_active_users=2))
    with pytest.raises(UsageError, match=r"export_jsonl writes text: give a path, or a file opened "
                                         r"in text mode"):
        book.export_jsonl(io.BytesIO())
    with open(tmp_path / "binary.jsonl", "wb") as binary:
        with pytest.raises(UsageError, match="not a binary one"):
            book.export_jsonl(binary)
    text = io.StringIO()
    assert book.export_jsonl(text) == 2 and len(text.getvalue().splitlines()) == 2
    with pytest.raises(UsageError, match=r"copy_to takes an open Ledger, not str 'x.db': "
                                         r"copy_to\(Ledger.open\(path\)\)"):
        book.copy_to("x.db")
    with pytest.raises(UsageError, match=r"import_jsonl takes the paths of history files, not "
                                         r"list \(give several as import_jsonl\(\*paths\)\)"):
        book.import_jsonl(["a.jsonl"])
    with pytest.raises(UsageError, match="not StringIO"):
        book.import_jsonl(io.StringIO("{}"))
    assert book.replay(until="#1").seq == book.replay(until=1).seq == 1
    assert book.replay(until="seq:2").report()["as_of"]["until"] == "#2"
    with pytest.raises(UsageError, match="until: a seq is a whole number from 0, not -1"):
        book.replay(until=-1)
    with pytest.raises(UsageError, match=r"expected_version: a whole number \(0 for a new "
                                         r"stream\), not str '2'"):
        book.append(UsageReported(product="p", weekly_active_users=3), expected_version="2")
    with pytest.raises(UsageError, match="subscribe takes a function to call with each record, "
                                         "not str 'print'"):
        book.subscribe("print")
    with pytest.raises(UsageError, match=r"after: a seq \(a whole number from 0\), not -1"):
        book.subscribe(print, after=-1)
    assert len(book) == 2


def test_an_id_given_twice_in_one_batch_is_named_as_such(book):
    """The first use of the id is in the same batch, which is not stored: the message says so
    rather than name a seq that will not exist."""
    with pytest.raises(ConflictError, match=r"^id 'u1' is given twice in this batch or import, "
                                            r"with other content \(first as its record seq 1\)$"):
        book.append_many([NewEvent(UsageReported(product="p", weekly_active_users=n), id="u1")
                          for n in (1, 2)])
    assert len(book) == 0


def _stop(interval):
    raise RuntimeError("follow waited: the arguments were taken")


@pytest.mark.parametrize("call", [
    lambda b: list(b.read(None)), lambda b: list(b.read("#10")), lambda b: list(b.read("x")),
    lambda b: list(b.read(True)), lambda b: list(b.read(-1)), lambda b: list(b.read(10**30)),
    lambda b: list(b.read(limit=2.5)), lambda b: list(b.read(limit="abc")),
    lambda b: list(b.read(limit=-1)), lambda b: list(b.read(stream=["site/a"])),
    lambda b: list(b.export_lines(limit=1.0)), lambda b: next(b.follow(after=None, wait=_stop)),
    lambda b: next(b.follow(after="#1", wait=_stop)), lambda b: next(b.follow(stream=["site/a"], wait=_stop)),
    lambda b: next(b.follow(types=["capacity.comissioned"], wait=_stop)),
    lambda b: b.catch_up(None), lambda b: b.catch_up(b.replay(until=3), until="2028"),
    lambda b: b.catch_up(b.replay(until=3), until=2), lambda b: b.replay(until=10**30),
])
def test_arguments_a_query_cannot_mean_are_usage_errors(call):
    """Not a silent empty answer, nor SQLite's own error (a datatype mismatch reported as a
    conflict, a binding error as a storage error, an overflow)."""
    with Ledger.open(load_entrypoints=False) as book:
        book.append_many([site("a"), site("b"), site("a"), site("c")])
        with pytest.raises(UsageError):
            call(book)


def test_until_and_catch_up_take_a_seq_as_replay_does():
    with Ledger.open(load_entrypoints=False) as book:
        book.append_many([UsageReported(product=f"p{n}", weekly_active_users=n) for n in range(40)],
                         occurred_at="2025-01-01")
        assert [r.seq for r in book.read(until="#3")] == [1, 2, 3]
        assert [r.seq for r in book.read(until="seq:2")] == [1, 2]
        view = book.replay(until="#18")
        assert book.catch_up(view, until="#30").seq == 30 and view.until == "#30"
        assert view.report() == book.replay(until=30).report()


@pytest.mark.parametrize("options", [
    {"snapshot_every": "2"}, {"snapshot_every": -1}, {"snapshot_every": True},
    {"timeout": "30"}, {"timeout": None}, {"timeout": -1}, {"clock": "x"},
])
def test_options_that_would_fail_later_are_refused_when_the_ledger_opens(options, tmp_path):
    with pytest.raises(UsageError, match=next(iter(options))):
        Ledger.open(tmp_path / "l.db", load_entrypoints=False, **options)
    assert not (tmp_path / "l.db").exists()


def test_a_closed_ledger_is_named_once():
    book = Ledger.open(load_entrypoints=False)
    book.close()
    with pytest.raises(UsageError) as caught:
        book.verify()
    assert str(caught.value) == "ledger: the ledger is closed"
