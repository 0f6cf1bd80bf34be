"""Rules at their boundaries: the cases where a wrong rule gives a different answer.

Each test here is there because a small, realistic bug (a rounding mode, a tie rule, a check left
out, a cache not reset) passed the rest of the suite: exact halves for half-up rounding, equal
remainders with unequal amounts, money checked on the projection itself, ``verify`` checks that
the hash check would shadow, snapshot fingerprints, ``expected_version=0``.
"""

from __future__ import annotations

import json
import re
import sqlite3
import textwrap
from datetime import date, datetime, timezone
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import (
    AgreementRevised,
    AgreementSigned,
    CapacityCommissioned,
    CapacityDecommissioned,
    CapacityPlanned,
    CapacityUnquantified,
    ConflictError,
    Event,
    FundingCommitted,
    FundingResolved,
    GpusDelivered,
    GpusRetired,
    InvestmentReleased,
    Ledger,
    NewEvent,
    PluginError,
    PlatformSpecified,
    ProviderContracted,
    Rejected,
    UsageReported,
    VerificationError,
    hookimpl,
)
from ledger.chain import GENESIS, verify_rows
from ledger.shares import hhi, percentages, shares
from ledger.store import StoredEvent

from .test_builtin_plugins import B, agreement, commission, signed

def exactly(text):
    """A pattern for ``pytest.raises(match=...)`` that matches the whole message, no more."""
    return "^" + re.escape(text) + "$"


# --- shares and HHI: ties and halves, and an exact model in whole numbers -----------------------


def test_equal_remainders_go_to_the_larger_amount():
    # ×10 units: a 0.5, b 1.5, c 8: one unit left, a and b tie on .5, b is larger
    assert shares({"a": Decimal(1), "b": Decimal(3), "c": Decimal(16)}, 1) == {
        "a": "0.0", "b": "0.2", "c": "0.8"}
    assert shares({"a": Decimal(1), "b": Decimal(3), "c": Decimal(19996)}) == {
        "a": "0.0000", "b": "0.0002", "c": "0.9998"}
    # the larger remainder wins over the larger amount: 9 → 0.45 of 0.2-units, 1 → 0.05
    assert shares({"big": Decimal(16), "mid": Decimal(3), "small": Decimal(1)}, 1) == {
        "big": "0.8", "mid": "0.2", "small": "0.0"}
    assert shares({"a": Decimal(1), "b": Decimal(2)}, 1) == {"a": "0.3", "b": "0.7"}


def test_equal_remainders_and_amounts_go_in_alphabetical_order():
    assert shares({"z": Decimal(1), "m": Decimal(1), "a": Decimal(1)}) == {
        "a": "0.3334", "m": "0.3333", "z": "0.3333"}
    assert shares({"y": Decimal(2), "x": Decimal(2), "w": Decimal(2)}, 1) == {
        "w": "0.4", "x": "0.3", "y": "0.3"}


def test_zero_and_empty_amounts_have_no_share():
    assert shares({"a": Decimal(0), "b": Decimal(5)}) == {"b": "1.0000"}
    assert shares({"a": Decimal(0)}) == {} and shares({}) == {}
    assert hhi({"a": Decimal(0)}) is None and hhi({}) is None
    assert hhi({"a": Decimal(0), "b": Decimal(5)}) == 10_000
    assert percentages({"a": Decimal(0)}) == {}


def test_hhi_rounds_an_exact_half_up():
    # (1² + 199²) / 200² × 10,000 = 9900.5 exactly: half-up gives 9901 (half-even 9900, floor 9900)
    assert hhi({"a": Decimal(1), "b": Decimal(199)}) == 9901
    # 7 and 1: 50/64 × 10,000 = 7812.5 → 7813 (half-even would give 7812)
    assert hhi({"a": Decimal(7), "b": Decimal(1)}) == 7813
    # just below and above a half: 3 and 1 → 6250 exactly, 2 and 1 → 5555.6 → 5556
    assert hhi({"a": Decimal(3), "b": Decimal(1)}) == 6250
    assert hhi({"a": Decimal(2), "b": Decimal(1)}) == 5556
    assert hhi({"a": Decimal(1), "b": Decimal(1), "c": Decimal(1)}) == 3333


def test_percentages_round_at_their_places_by_largest_remainder():
    # thirds to one place: 33.4 + 33.3 + 33.3
    assert percentages({"a": Decimal(1), "b": Decimal(1), "c": Decimal(1)}) == {
        "a": "33.4 %", "b": "33.3 %", "c": "33.3 %"}
    assert percentages({"a": Decimal(1), "b": Decimal(3), "c": Decimal(16)}, 0) == {
        "a": "5 %", "b": "15 %", "c": "80 %"}
    assert percentages({"a": Decimal(1), "b": Decimal(2)}, 2) == {"a": "33.33 %", "b": "66.67 %"}


def model_shares(amounts, places):
    """Largest remainder in whole numbers: amounts over a common denominator, units as integer
    quotients, remainders as integer residues, ties to the larger amount then the name."""
    positive = {name: Fraction(value) for name, value in amounts.items() if value > 0}
    if not positive:
        return {}
    denominator = 1
    for value in positive.values():
        denominator = denominator * value.denominator // _gcd(denominator, value.denominator)
    whole = {name: int(value * denominator) for name, value in positive.items()}
    total, units = sum(whole.values()), 10**places
    quotient = {name: w * units // total for name, w in whole.items()}
    residue = {name: w * units % total for name, w in whole.items()}
    left = units - sum(quotient.values())
    order = sorted(whole, key=lambda name: (-residue[name], -whole[name], name))
    for name in order[:left]:
        quotient[name] += 1
    return {name: f"{Decimal(quotient[name]).scaleb(-places):.{places}f}" for name in quotient}


def _gcd(a, b):
    while b:
        a, b = b, a % b
    return a


def model_hhi(amounts):
    """Σ a² × 10,000 / T² rounded half up, in whole numbers."""
    positive = [Fraction(value) for value in amounts.values() if value > 0]
    if not positive:
        return None
    numerator = sum(a * a for a in positive) * 10_000
    denominator = sum(positive) ** 2
    ratio = numerator / denominator
    return (2 * ratio.numerator + ratio.denominator) // (2 * ratio.denominator)


amounts = st.dictionaries(st.sampled_from("abcdef"),
                          st.integers(0, 40).map(Decimal) | st.decimals(0, 1000, places=2),
                          max_size=6)


@given(amounts, st.integers(0, 4))
def test_shares_are_the_whole_number_model(values, places):
    expected = model_shares(values, places)
    got = shares(values, places)
    assert {name: Decimal(text) for name, text in got.items()} == {
        name: Decimal(text) for name, text in expected.items()}
    assert all(len(text.split(".")[1]) == places for text in got.values() if places)


@given(amounts)
def test_hhi_is_the_whole_number_model(values):
    assert hhi(values) == model_hhi(values)


# --- investment: money on the projection itself ---------------------------------------------------


def test_forfeited_money_of_an_agreement_that_earned_more_than_its_cap(book):
    # cap 10, tranches of 4 per GW: 3 GW earn 12, but within the cap only 4 + 4 + 2
    book.append(signed(status="intent", cap="10", tranche="4"))
    book.append(commission("3", "a"))
    assert agreement(book)["forfeited_usd"] == "0"  # not ended: nothing is forfeited yet
    book.append(AgreementRevised(agreement="a", status="cancelled"))
    a = agreement(book)
    assert (a["tranches_earned"], a["released_usd"], a["forfeited_usd"]) == (3, "0", str(10 * B))
    assert book.view.report()["investment"]["agreements"]["a"]["forfeited_usd"] == str(10 * B)


def test_forfeited_money_counts_only_what_the_cap_leaves_after_releases(book):
    book.append(signed(status="definitive", cap="10", tranche="4"))
    book.append(commission("1", "a"))  # tranche 1: 4 released
    book.append(InvestmentReleased(investor="nvidia", investee="openai", usd=5 * B, agreement="a"))
    book.append(AgreementRevised(agreement="a", status="completed"))
    book.append(commission("5", "a"))  # after the end: earns nothing
    a = agreement(book)
    assert (a["released_usd"], a["tranches_earned"], a["forfeited_usd"]) == (str(9 * B), 1, "0")
    assert a["commissioned_gigawatts"] == "6"


def test_forfeited_money_of_tranches_earned_under_intent_then_ended(book):
    book.append(signed(name="x", status="intent", cap="100", tranche="10", per="0.5"))
    book.append(commission("1.75", "x"))  # 3 tranches of 0.5 GW
    book.append(AgreementRevised(agreement="x", status="superseded"))
    book.append(commission("1", "x"))
    x = agreement(book, "x")
    assert (x["tranches_earned"], x["forfeited_usd"], x["released_usd"]) == (3, str(30 * B), "0")
    assert x["commissioned_gigawatts"] == "2.75"


def test_a_capped_last_tranche_pays_what_the_cap_leaves(book):
    book.append(signed(cap="25", tranche="10"))
    book.append(commission("5", "a"))
    a = agreement(book)
    assert [t["usd"] for t in a["tranches"]] == [str(10 * B), str(10 * B), str(5 * B)]
    assert (a["released_usd"], a["tranches_released"], a["forfeited_usd"]) == (str(25 * B), 3, "0")


def test_gross_gigawatts_after_decommissioning(book):
    book.append(signed(cap="100", tranche="10"))
    book.append(commission("2.5", "a"))
    book.append(CapacityDecommissioned(site="s1", gigawatts=Decimal("2"), provider="oracle",
                                       platform="gb200"))
    book.append(commission("0.5", "a"))  # 3 GW gross: a third tranche
    a = agreement(book)
    assert (a["commissioned_gigawatts"], a["tranches_earned"], a["tranches_released"]) == ("3", 3, 3)
    mix = book.view.report()["provider_mix"]["commissioned_gigawatts"]
    assert mix["gigawatts_by_provider"] == {"oracle": "1"}  # the mix is net


# --- verify: the checks the hash check would shadow -----------------------------------------------


def body(seq, id, stream, version, type, schema, occurred, recorded, data, meta):
    """The record's canonical JSON, written here apart from ledger.chain (checked against
    json.dumps in test_chain.py)."""
    text = lambda value: json.dumps(value, ensure_ascii=False)  # noqa: E731
    return (f'{{"data":{data},"id":{text(id)},"meta":{meta},"occurred_at":{text(occurred)},'
            f'"recorded_at":{text(recorded)},"schema":{schema},"seq":{seq},'
            f'"stream":{text(stream)},"type":{text(type)},"version":{version}}}')


def rechain(rows):
    """The rows with every hash recomputed: a forger who knows the chain."""
    import hashlib

    previous, result = GENESIS, []
    for row in rows:
        digest = hashlib.sha256((previous + body(*row[:10])).encode()).hexdigest()
        result.append(StoredEvent(*row[:10], digest))
        previous = digest
    return result


def rows_of(path):
    connection = sqlite3.connect(path)
    rows = connection.execute("SELECT seq, id, stream, version, type, schema, occurred_at, "
                              "recorded_at, data, meta, hash FROM events ORDER BY seq").fetchall()
    connection.close()
    return rows


def forge(path, *statements):
    """Run ``statements`` with the triggers dropped, then recompute every hash after them."""
    connection = sqlite3.connect(path)
    connection.executescript("DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;"
                             + ";".join(statements))
    rows = connection.execute("SELECT seq, id, stream, version, type, schema, occurred_at, "
                              "recorded_at, data, meta FROM events ORDER BY seq").fetchall()
    with connection:
        for row in rechain(rows):
            connection.execute("UPDATE events SET hash = ? WHERE seq = ?", (row[10], row[0]))
    connection.close()


def filled(tmp_path):
    path = tmp_path / "x.db"
    with Ledger.open(path, load_entrypoints=False, snapshot_every=0) as book:
        for n in range(6):  # streams usage/p0 (seq 1, 3, 5) and usage/p1 (seq 2, 4, 6)
            book.append(UsageReported(product=f"p{n % 2}", weekly_active_users=n),
                        occurred_at="2025-09-22")
    return path


FORGERIES = {
    "a version skipped": (["UPDATE events SET version = 7 WHERE seq = 4"], 4, "version 7 does not follow 1"),
    "a stream starting past 1": (["UPDATE events SET version = version + 10 WHERE stream = 'usage/p1'"], 2,
                                 "version 11 does not follow 0"),
    "a row moved to another stream": (["UPDATE events SET stream = 'usage/p2' WHERE seq = 6"], 6,
                                      "version 3 does not follow 0"),
    "a row taken out of its stream": (["UPDATE events SET stream = 'usage/q' WHERE seq = 4"], 4,
                                      "version 2 does not follow 0"),
    "a row deleted": (["DELETE FROM events WHERE seq = 3"], 3, "seq 3 is missing (next is 4)"),
    "the first row deleted": (["DELETE FROM events WHERE seq = 1"], 1, "seq 1 is missing (next is 2)"),
    "a row added after a gap": (["INSERT INTO events SELECT 8, 'forged', 'usage/new', 1, type, schema, "
                                 "occurred_at, recorded_at, data, meta, hash FROM events WHERE seq = 6"],
                                7, "seq 7 is missing (next is 8)"),
}


@pytest.mark.parametrize("kind", FORGERIES)
def test_verify_finds_a_forgery_whose_hashes_were_recomputed(tmp_path, kind):
    statements, bad, why = FORGERIES[kind]
    path = filled(tmp_path)
    forge(path, *statements)
    stored = rows_of(path)
    assert rechain(stored) == [StoredEvent(*row) for row in stored]  # every hash is right
    with Ledger.open(path, load_entrypoints=False) as book, pytest.raises(VerificationError) as caught:
        book.verify()
    assert caught.value.seq == bad
    assert why in str(caught.value)


def unchained(*rows):
    """Rows (seq, stream, version) as stored events with correct hashes."""
    return rechain([(seq, f"id{n}", stream, version, "t", 1, "2025-01-01T00:00:00.000000Z",
                     "2025-01-01T00:00:00.000000Z", "{}", "{}")
                    for n, (seq, stream, version) in enumerate(rows)])


def test_verify_rows_checks_seq_order_before_the_hash():
    with pytest.raises(VerificationError, match=r"seq 2 is out of order \(expected 3\)") as caught:
        verify_rows(unchained((1, "s", 1), (2, "s", 2), (2, "s", 3)))
    assert caught.value.seq == 2
    with pytest.raises(VerificationError, match=r"seq 1 is missing \(next is 2\)") as caught:
        verify_rows(unchained((2, "s", 1)))
    assert caught.value.seq == 1
    with pytest.raises(VerificationError, match="seq 0 is out of order") as caught:
        verify_rows(unchained((0, "s", 1)))
    assert caught.value.seq == 0


def test_verify_rows_counts_versions_per_stream():
    rows = unchained((1, "a", 1), (2, "b", 1), (3, "a", 2), (4, "b", 2), (5, "c", 1))
    assert verify_rows(rows) == (5, rows[-1][10])
    assert verify_rows([]) == (0, GENESIS)
    for bad in ([(1, "a", 1), (2, "b", 2)], [(1, "a", 1), (2, "a", 1)], [(1, "a", 0)]):
        with pytest.raises(VerificationError, match="does not follow") as caught:
            verify_rows(unchained(*bad))
        assert caught.value.seq == len(bad)


def test_verify_rows_finds_the_pinned_head_anywhere_in_the_chain():
    rows = unchained((1, "a", 1), (2, "a", 2), (3, "a", 3))
    for row in rows:
        assert verify_rows(rows, row[10]) == (3, rows[-1][10])
    assert verify_rows([], GENESIS) == (0, GENESIS)
    assert verify_rows(rows, GENESIS) == (3, rows[-1][10])
    with pytest.raises(VerificationError, match=exactly(
            f"the pinned head {rows[2][10]} is not in the chain, which ends at seq 2: "
            "records were removed from the tail, or the hash is not of this ledger")) as caught:
        verify_rows(rows[:2], rows[2][10])
    assert caught.value.seq == 3
    with pytest.raises(VerificationError, match="hash does not match") as caught:
        verify_rows([rows[0], rows[1]._replace(hash="f" * 64), rows[2]])
    assert caught.value.seq == 2


# --- expected versions ------------------------------------------------------------------------------


def test_expected_version_zero_on_an_existing_stream_is_refused(book):
    book.append(UsageReported(product="p", weekly_active_users=1), expected_version=0)
    with pytest.raises(ConflictError, match="stream 'usage/p' is at version 1, not the expected 0"):
        book.append(UsageReported(product="p", weekly_active_users=2), expected_version=0)
    with pytest.raises(ConflictError, match="at version 1, not the expected 2"):
        book.append(UsageReported(product="p", weekly_active_users=2), expected_version=2)
    with pytest.raises(ConflictError, match="at version 0, not the expected 1"):
        book.append(UsageReported(product="q", weekly_active_users=2), expected_version=1)
    assert len(book) == 1
    book.append(UsageReported(product="p", weekly_active_users=2), expected_version=1)
    assert book.stream_version("usage/p") == 2


def test_expected_version_in_a_batch_counts_the_batchs_own_appends(book):
    with pytest.raises(ConflictError, match="at version 1, not the expected 0"):
        book.append_many([NewEvent(UsageReported(product="p", weekly_active_users=1), expected_version=0),
                          NewEvent(UsageReported(product="p", weekly_active_users=2), expected_version=0)])
    assert len(book) == 0


# --- snapshots: a projection whose source changed is folded again ----------------------------------

PLUGIN = '''
from ledger import hookimpl


class Tally:
    """Counts the usage reports it folds."""

    name = "tally"
    handles = ("usage.reported",)
    state_type = dict[str, int]

    def initial(self):
        return {}

    def apply(self, state, event, record):
        state["n"] = state.get("n", 0) + 1

    def summary(self, state):
        return dict(state)


@hookimpl
def register_projections(register):
    register(Tally())
'''


def test_a_snapshot_of_a_projection_whose_source_was_edited_is_not_reused(tmp_path):
    plugin = tmp_path / "tally.py"
    plugin.write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    path = tmp_path / "x.db"

    def report():
        with Ledger.open(path, plugins=[str(plugin)], load_entrypoints=False, snapshot_every=0) as book:
            return book.replay().report()["tally"]

    with Ledger.open(path, plugins=[str(plugin)], load_entrypoints=False, snapshot_every=0) as book:
        book.append_many([UsageReported(product="p", weekly_active_users=n) for n in range(10)])
        assert book.snapshot() == 10
    connection = sqlite3.connect(path)
    with connection:  # a forged state, to see whether the snapshot is used
        assert connection.execute("UPDATE snapshots SET state = '{\"n\": 999}' WHERE name = 'tally'").rowcount
    connection.close()
    assert report() == {"n": 999}  # same source: the snapshot is used
    plugin.write_text(textwrap.dedent(PLUGIN) + "# edited\n", encoding="utf-8")
    assert report() == {"n": 10}  # the source changed: folded from the log


def test_refused_appends_leave_the_live_view_as_a_replay(book):
    book.append(signed(cap="10", tranche="10"))
    with pytest.raises(Rejected):
        book.append_many([commission("1", "a"), InvestmentReleased(
            investor="nvidia", investee="openai", usd=1 * B, agreement="a")])  # passes the cap
    assert len(book) == 1
    assert book.view.report() == book.replay(use_snapshots=False).report()
    assert agreement(book)["commissioned_gigawatts"] == "0"


# --- times: the boundaries of years, months, days and the stored form ----------------------------


def test_times_are_parsed_to_utc_and_refused_outside_the_years_and_without_an_offset():
    from datetime import date, datetime, timedelta, timezone

    from ledger.clock import parse_time

    assert parse_time(date(2027, 6, 30)) == datetime(2027, 6, 30, tzinfo=timezone.utc)
    assert parse_time(" 2027-06-30 ") == datetime(2027, 6, 30, tzinfo=timezone.utc)
    assert parse_time("2027-06-30T02:00:00+02:00") == datetime(2027, 6, 30, tzinfo=timezone.utc)
    assert parse_time("2027-06-30T00:00:00z") == datetime(2027, 6, 30, tzinfo=timezone.utc)
    east = datetime(2027, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    assert parse_time(east).tzinfo is timezone.utc and parse_time(east).hour == 0
    assert parse_time("1900-01-01").year == 1900 and parse_time("9998-12-31").year == 9998
    for bad, why in [("1899-12-31", "year 1899 is outside 1900-9998"),
                     ("9999-01-01", "year 9999 is outside 1900-9998"),
                     ("2027-02-30", "is not a valid date (YYYY-MM-DD)"),
                     ("2027-06-30T00:00:00", "has no UTC offset"),
                     ("30/06/2027 12:00", "is not an ISO-8601 date or time"),
                     (datetime(2027, 1, 1), "has no UTC offset"),
                     (20270630, "expected a date or an ISO-8601 time, got int")]:
        with pytest.raises(Rejected, match=re.escape(why)):
            parse_time(bad, "occurred_at")
    with pytest.raises(Rejected, match="^due: "):
        parse_time("nope", "due")


def test_a_time_refused_names_its_field_occurred_at_unless_told_another():
    from datetime import date

    from ledger.clock import parse_time, stored_time

    for call, why in [
        (lambda: parse_time("soon"), "occurred_at: 'soon' is not an ISO-8601 date or time"),
        (lambda: stored_time("soon"), "occurred_at: 'soon' is not an ISO-8601 date or time"),
        (lambda: stored_time(5), "occurred_at: expected a date or an ISO-8601 time, got int"),
        (lambda: stored_time("soon", "due"), "due: 'soon' is not an ISO-8601 date or time"),
        (lambda: stored_time(5, "due"), "due: expected a date or an ISO-8601 time, got int"),
        # one hour before the first moment a datetime holds, once moved to UTC
        (lambda: parse_time("0001-01-01T00:00:00+01:00"),
         "occurred_at: 0001-01-01T00:00:00+01:00 is out of range"),
    ]:
        with pytest.raises(Rejected, match=exactly(why)):
            call()
    assert stored_time(date(2027, 6, 30), "due") == "2027-06-30T00:00:00.000000Z"


def test_the_stored_form_is_fixed_width_utc_text():
    from datetime import datetime, timedelta, timezone

    from ledger.clock import format_time, load_time, stored_time

    assert stored_time("2027-06-30") == "2027-06-30T00:00:00.000000Z"
    assert stored_time("1900-01-01T00:00:00.5+00:00") == "1900-01-01T00:00:00.500000Z"
    west = datetime(2027, 6, 30, 20, tzinfo=timezone(timedelta(hours=-5)))
    assert format_time(west) == "2027-07-01T01:00:00.000000Z" == stored_time(west)
    assert load_time("2027-07-01T01:00:00.000000Z") == datetime(2027, 7, 1, 1, tzinfo=timezone.utc)
    for n in range(5000):  # past the caches' size: still the same answers
        assert stored_time(f"2027-01-01T00:00:{n % 60:02d}.{n:06d}Z").endswith(f".{n:06d}Z")
    assert load_time(stored_time("2027-06-30")) == datetime(2027, 6, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("until, bound, day", [
    ("2027", "2028-01-01T00:00:00.000000Z", "2027-12-31"),
    ("2027-12", "2028-01-01T00:00:00.000000Z", "2027-12-31"),
    ("2027-02", "2027-03-01T00:00:00.000000Z", "2027-02-28"),
    ("2028-02", "2028-03-01T00:00:00.000000Z", "2028-02-29"),
    ("2027-06-30", "2027-07-01T00:00:00.000000Z", "2027-06-30"),
    ("2027-06-30T00:00:00Z", "2027-06-30T00:00:00.000001Z", "2027-06-30"),
    ("2027-06-30T23:59:59.999999Z", "2027-07-01T00:00:00.000000Z", "2027-06-30"),
])
def test_until_covers_its_whole_year_month_or_day(until, bound, day):
    from datetime import date

    from ledger.clock import bound_day, until_bound, until_day

    assert until_bound(until) == bound
    assert until_day(until) == date.fromisoformat(day) == bound_day(bound)


def test_since_starts_at_the_first_moment_of_its_period():
    from datetime import date

    from ledger.clock import since_bound, until_bound

    assert since_bound("2027") == "2027-01-01T00:00:00.000000Z"
    assert since_bound("2027-06") == "2027-06-01T00:00:00.000000Z"
    assert since_bound(" 2027-06-30 ") == "2027-06-30T00:00:00.000000Z"
    assert since_bound("2027-06-30T12:00:00Z") == "2027-06-30T12:00:00.000000Z"
    assert until_bound(date(2027, 6, 30)) == "2027-07-01T00:00:00.000000Z"
    for bad, why in [("2027-13", "not a valid month"), ("2027-00", "not a valid month"),
                     ("1899", "year 1899 is outside"), ("9999", "year 9999 is outside"),
                     ("2027-02-30", "until: '2027-02-30' is not a valid date"),
                     ("2027-06-30T25:00Z", "or an ISO-8601 time")]:
        with pytest.raises(Rejected, match=re.escape(why)):
            until_bound(bad)
    with pytest.raises(Rejected, match="not a valid month"):
        since_bound("2027-13")
    assert until_bound("9998") == "9999-01-01T00:00:00.000000Z"
    assert until_bound("1900-01") == "1900-02-01T00:00:00.000000Z"


def test_new_ids_are_version_7_uuids_in_creation_order():
    import uuid

    from ledger.clock import new_id

    ids = [new_id() for _ in range(6000)]  # more than 4,096 in some millisecond, likely
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for text in ids[:50] + ids[-50:]:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 7 and parsed.variant == uuid.RFC_4122


# --- the built-in events: their log lines, streams and the checks at construction ----------------

D = Decimal

LOG_LINES = [
    (AgreementSigned(agreement="a", investor="nvidia", investee="openai", status="intent", gigawatts=D(10), cap_usd=100*B, tranche_usd=10*B),
     'a: nvidia -> openai, intent, $10 B per 1 GW up to $100 B for 10 GW', 'agreement/a'),
    (AgreementSigned(agreement="a", investor="nvidia", investee="openai", status="definitive", gigawatts=D("2.5"), cap_usd=10*B, tranche_usd=10*B, tranche_gigawatts=D("0.5"), vendor="nvidia", platform="gb200"),
     'a: nvidia -> openai, definitive, $10 B per 0.5 GW up to $10 B for 2.5 GW', 'agreement/a'),
    (AgreementRevised(agreement="a", status="definitive"),
     'a: definitive', 'agreement/a'),
    (AgreementRevised(agreement="a", status="superseded", superseded_by="b"),
     'a: superseded by b', 'agreement/a'),
    (AgreementRevised(agreement="a", cap_usd=50*B, tranche_gigawatts=D("1.5")),
     'a: cap_usd $50 B, tranche_gigawatts 1.5 GW', 'agreement/a'),
    (AgreementRevised(agreement="a", status="completed", gigawatts=D(3), tranche_usd=5*B),
     'a: completed, gigawatts 3 GW, tranche_usd $5 B', 'agreement/a'),
    (CapacityPlanned(site="abilene", provider="oracle", vendor="nvidia", platform="gb200", gigawatts=D("1.2"), due=date(2026, 6, 30)),
     '1.2 GW at abilene (oracle, nvidia gb200), due 2026-06-30', 'site/abilene'),
    (CapacityPlanned(site="abilene", provider="oracle", vendor="nvidia", platform="gb200", gigawatts=D("1.2"), due=date(2026, 6, 30), agreement="a"),
     '1.2 GW at abilene (oracle, nvidia gb200), due 2026-06-30 under a', 'site/abilene'),
    (CapacityCommissioned(site="abilene", provider="oracle", vendor="nvidia", platform="gb200", gigawatts=D("0.2")),
     '0.2 GW at abilene (oracle, nvidia gb200)', 'site/abilene'),
    (CapacityCommissioned(site="abilene", provider="oracle", vendor="nvidia", platform="gb200", gigawatts=D("0.2"), agreement="a"),
     '0.2 GW at abilene (oracle, nvidia gb200) under a', 'site/abilene'),
    (CapacityDecommissioned(site="abilene", gigawatts=D("0.1")),
     '0.1 GW off abilene', 'site/abilene'),
    (CapacityDecommissioned(site="abilene", gigawatts=D("0.1"), platform="gb200"),
     '0.1 GW off abilene (gb200)', 'site/abilene'),
    (CapacityDecommissioned(site="abilene", gigawatts=D("0.1"), provider="oracle", platform="gb200", reason="fire"),
     '0.1 GW off abilene (oracle, gb200): fire', 'site/abilene'),
    (FundingCommitted(investor="softbank", investee="openai", usd=30*B),
     'softbank -> openai $30 B committed', 'funding/softbank'),
    (FundingCommitted(investor="softbank", investee="openai", usd=D("22.5")*B, conditional=True),
     'softbank -> openai $22.5 B committed, conditional', 'funding/softbank'),
    (FundingCommitted(investor="softbank", investee="openai", usd=20*B, conditional=True, condition="restructuring", agreement="a"),
     'softbank -> openai $20 B committed, conditional (restructuring) under a', 'funding/softbank'),
    (FundingResolved(commitment="c1", outcome="met"),
     'conditional commitment c1: met', 'commitment/c1'),
    (FundingResolved(commitment="c1", outcome="lapsed", note="deadline passed", investor="softbank", investee="openai", usd=20*B),
     'softbank -> openai $20 B conditional commitment c1: lapsed (deadline passed)', 'commitment/c1'),
    (FundingResolved(commitment="c1", outcome="met", investor="softbank", usd=20*B),
     '$20 B conditional commitment c1: met', 'commitment/c1'),
    (InvestmentReleased(investor="nvidia", investee="openai", usd=10*B),
     'nvidia -> openai $10 B released', 'funding/nvidia'),
    (InvestmentReleased(investor="nvidia", investee="openai", usd=10*B, agreement="a"),
     'nvidia -> openai $10 B released under a', 'funding/nvidia'),
    (InvestmentReleased(investor="nvidia", investee="openai", usd=10*B, agreement="a", tranche=3),
     'nvidia -> openai $10 B released, tranche 3 of a', 'funding/nvidia'),
    (ProviderContracted(contract="c", buyer="openai", provider="oracle", usd=300*B),
     'c: openai contracts oracle for $300 B', 'contract/c'),
    (ProviderContracted(contract="c", buyer="openai", provider="oracle", usd=300*B, gigawatts=D("4.5"), term_years=D(5)),
     'c: openai contracts oracle for $300 B, 4.5 GW, over 5 years', 'contract/c'),
    (ProviderContracted(contract="c", buyer="openai", provider="oracle", usd=300*B, term_years=D("2.5")),
     'c: openai contracts oracle for $300 B, over 2.5 years', 'contract/c'),
    (CapacityUnquantified(provider="microsoft", vendor="nvidia"),
     'capacity running at microsoft (nvidia), amount not published', 'provider/microsoft'),
    (CapacityUnquantified(provider="microsoft", vendor="nvidia", site="fairwater", platform="gb200"),
     'capacity running at microsoft (nvidia gb200) at fairwater, amount not published', 'provider/microsoft'),
    (GpusDelivered(site="abilene", platform="gb200", count=12000),
     '12,000 gb200 GPUs (packages) delivered to abilene', 'site/abilene'),
    (GpusRetired(site="abilene", platform="gb200", count=5, unit="die"),
     '5 gb200 GPUs (dies) retired from abilene', 'site/abilene'),
    (PlatformSpecified(platform="gb200", vendor="nvidia", gpus_per_gigawatt_low=350000, gpus_per_gigawatt_high=500000, unit="package"),
     'gb200 (nvidia): 350,000-500,000 GPUs (packages) per GW', 'platform/gb200'),
    (UsageReported(product="chatgpt", weekly_active_users=800_000_000),
     'chatgpt: 800,000,000 weekly active users', 'usage/chatgpt'),
]


@pytest.mark.parametrize("event, line, stream", LOG_LINES)
def test_each_event_has_its_log_line_and_stream(event, line, stream):
    assert (event.summary(), event.default_stream()) == (line, stream)


def test_construction_refuses_inconsistent_terms_at_their_boundaries():
    terms = dict(agreement="a", investor="n", investee="o", status="intent", gigawatts=D(1))
    assert AgreementSigned(**terms, cap_usd=B, tranche_usd=B).tranche_usd == B  # equal is fine
    with pytest.raises(Rejected, match=exactly("tranche_usd: 1000000001 is more than cap_usd 1000000000")):
        AgreementSigned(**terms, cap_usd=B, tranche_usd=B + 1)
    with pytest.raises(Rejected, match=exactly("superseded_by: only goes with status 'superseded'")):
        AgreementRevised(agreement="a", status="cancelled", superseded_by="b")
    with pytest.raises(Rejected, match=exactly("superseded_by: an agreement cannot supersede itself")):
        AgreementRevised(agreement="a", status="superseded", superseded_by="a")
    with pytest.raises(Rejected, match=exactly("status: a revision changes the status or at least one term")):
        AgreementRevised(agreement="a")
    assert AgreementRevised(agreement="a", tranche_usd=B).terms() == {"tranche_usd": B}
    assert AgreementRevised(agreement="a", status="definitive").terms() == {}
    with pytest.raises(Rejected, match=exactly("tranche: a tranche belongs to an agreement; name it")):
        InvestmentReleased(investor="n", investee="o", usd=B, tranche=1)
    spec = dict(platform="p", vendor="v", unit="die")
    assert PlatformSpecified(**spec, gpus_per_gigawatt_low=5, gpus_per_gigawatt_high=5).gpus_per_gigawatt_low == 5
    with pytest.raises(Rejected, match=exactly("gpus_per_gigawatt_low: 6 is more than gpus_per_gigawatt_high 5")):
        PlatformSpecified(**spec, gpus_per_gigawatt_low=6, gpus_per_gigawatt_high=5)


def test_gigawatt_fields_at_their_limits():
    # quantities.gigawatts: required unless optional, greater than 0, at most 1,000, to the watt
    where = dict(site="s", provider="p", vendor="v", platform="x")
    assert CapacityCommissioned(**where, gigawatts=D(1000)).gigawatts == 1000
    assert CapacityCommissioned(**where, gigawatts=D("0.000000001")).gigawatts == D("1E-9")
    with pytest.raises(Rejected, match=exactly("gigawatts: 1000.000000001 is beyond 1000; check the unit")):
        CapacityCommissioned(**where, gigawatts=D("1000.000000001"))
    with pytest.raises(Rejected, match=exactly("gigawatts: 0.0000000001 has more than 9 digits after the point")):
        CapacityCommissioned(**where, gigawatts=D("0.0000000001"))
    with pytest.raises(Rejected, match=exactly("capacity.commissioned: required field missing: gigawatts")):
        CapacityCommissioned(**where)  # type: ignore[call-arg]
    terms = dict(agreement="a", investor="n", investee="o", status="intent", gigawatts=D(1),
                 cap_usd=B, tranche_usd=B)
    assert AgreementSigned(**terms).tranche_gigawatts == 1  # the default: $X per 1 GW
    revised = AgreementRevised(agreement="a", cap_usd=B)
    assert (revised.gigawatts, revised.tranche_gigawatts) == (None, None)


# --- investment: the refusals at their boundaries (equal is allowed) -----------------------------


def release(usd, agreement="a", tranche=None, investor="nvidia"):
    return InvestmentReleased(investor=investor, investee="openai", usd=Decimal(usd),
                              agreement=agreement, tranche=tranche)


def test_agreement_terms_at_their_limits(book):
    # exactly 10,000 tranches is allowed, one more is not
    book.append(AgreementSigned(agreement="a", investor="nvidia", investee="openai", status="intent",
                                gigawatts=D(1), cap_usd=D(10_000), tranche_usd=D(1)))
    with pytest.raises(Rejected, match=exactly("investment: cap_usd allows more than 10000 tranches of tranche_usd")):
        book.append(AgreementSigned(agreement="b", investor="nvidia", investee="openai",
                                    status="intent", gigawatts=D(1), cap_usd=D(10_001),
                                    tranche_usd=D(1)))
    with pytest.raises(Rejected, match=exactly("investment: cap_usd allows more than 10000 tranches of tranche_usd")):
        book.append(AgreementRevised(agreement="a", cap_usd=D(10_001)))
    book.append(AgreementRevised(agreement="a", cap_usd=D(20_000), tranche_usd=D(2)))
    with pytest.raises(Rejected, match=exactly("investment: tranche_usd 20001 is more than cap_usd 20000")):
        book.append(AgreementRevised(agreement="a", tranche_usd=D(20_001)))
    book.append(AgreementRevised(agreement="a", tranche_usd=D(20_000)))  # one tranche: the cap
    a = agreement(book)
    assert (a["cap_usd"], a["tranche_usd"], a["status"]) == ("20000", "20000", "intent")


def test_releases_by_hand_at_the_cap_and_on_agreements_that_release_nothing(book):
    book.append(signed(status="intent", cap="10", tranche="10"))
    with pytest.raises(Rejected, match=exactly("investment: agreement 'a' is intent: it releases nothing")):
        book.append(release(B))
    book.append(AgreementRevised(agreement="a", status="definitive"))
    with pytest.raises(Rejected, match=exactly("investment: agreement 'a' is between nvidia and openai, not amd and openai")):
        book.append(release(B, investor="amd"))
    book.append(release(4 * B))
    book.append(release(6 * B))  # exactly the cap
    with pytest.raises(Rejected, match=exactly(
            "investment: releasing 1 would pass the cap of agreement 'a', 10000000000 "
            "(10000000000 released already)")):
        book.append(release(1))
    with pytest.raises(Rejected, match=exactly("investment: cap_usd 9999999999 is below the 10000000000 released already")):
        book.append(AgreementRevised(agreement="a", cap_usd=10 * B - 1))
    book.append(AgreementRevised(agreement="a", cap_usd=10 * B))  # equal to what was released
    book.append(AgreementRevised(agreement="a", status="cancelled"))
    with pytest.raises(Rejected, match=exactly("investment: agreement 'a' is cancelled: it releases nothing")):
        book.append(release(1))
    assert agreement(book)["released_usd"] == str(10 * B)
    assert book.view.report()["investment"]["released_usd"] == str(10 * B)


def test_a_tranche_released_by_hand_is_the_next_one_and_counts_once(book):
    book.append(signed(cap="100", tranche="10", status="intent"))
    book.append(commission("2", "a"))
    book.append(AgreementRevised(agreement="a", status="definitive"))  # releases tranches 1 and 2
    with pytest.raises(Rejected, match=exactly("investment: tranche 2 of 'a' is released already")):
        book.append(release(10 * B, tranche=2))
    with pytest.raises(Rejected, match=exactly("investment: tranche 3 of 'a' is not earned (2 earned)")):
        book.append(release(10 * B, tranche=3))
    book.append(commission("1", "a"))
    a = agreement(book)
    assert [t["tranche"] for t in a["tranches"]] == [1, 2, 3]
    assert (a["tranches_released"], a["released_usd"]) == (3, str(30 * B))


# --- pipeline: due today, a day either side, done exactly, and the text --------------------------


def planned(site, due, gigawatts="1", provider="oracle", vendor="nvidia"):
    return CapacityPlanned(site=site, provider=provider, vendor=vendor, platform="gb200",
                           gigawatts=D(gigawatts), due=date.fromisoformat(due))


def commissioned(site, gigawatts):
    return CapacityCommissioned(site=site, provider="oracle", vendor="nvidia", platform="gb200",
                                gigawatts=D(gigawatts))


PIPELINE_TEXT = '''\
as of 2026-06-30: 6.5 GW planned, 1.5 GW delivered, 5 GW remaining; 2.5 GW late (2 of 6 plans)

status    due         when              site    provider    platform    vendor      planned GW    commissioned GW    remaining GW
--------  ----------  ----------------  ------  ----------  ----------  --------  ------------  -----------------  --------------
late      2026-06-20  10 days past due  b       oracle      gb200       nvidia               2                0.5             1.5
late      2026-06-29  1 day past due    a       oracle      gb200       nvidia               1                  0               1
on track  2026-06-30  due today         c       oracle      gb200       nvidia               1                  0               1
on track  2026-07-01  1 day left        d       aws         gb200       amd                  1                  0               1
on track  2027-06-30  365 days left     e       oracle      gb200       nvidia             0.5                  0             0.5
done      2026-01-01  -                 f       oracle      gb200       nvidia               1                1.5               0

provider      planned GW    delivered GW    remaining GW    late GW    late plans
----------  ------------  --------------  --------------  ---------  ------------
aws                    1               0               1          0             0
oracle               5.5             1.5               4        2.5             2
total                6.5             1.5               5        2.5             2

vendor      planned GW    delivered GW    remaining GW    late GW    late plans
--------  ------------  --------------  --------------  ---------  ------------
amd                  1               0               1          0             0
nvidia             5.5             1.5               4        2.5             2
total              6.5             1.5               5        2.5             2
'''


def test_the_pipeline_around_its_due_days_and_its_text(book):
    from ledger.default_plugins.pipeline import PROJECTION

    assert PROJECTION.render(book.view.report()["pipeline"]) == "no capacity planned"
    for event in [planned("a", "2026-06-29"), planned("b", "2026-06-20", "2"),
                  planned("c", "2026-06-30"), planned("d", "2026-07-01", provider="aws", vendor="amd"),
                  planned("e", "2027-06-30", "0.5"), planned("f", "2026-01-01")]:
        book.append(event, occurred_at="2026-01-01")
    book.append(commissioned("f", "1.5"), occurred_at="2026-06-30")
    book.append(commissioned("b", "0.5"), occurred_at="2026-06-30")
    pipeline = book.view.report()["pipeline"]
    assert {plan["site"]: plan["status"] for plan in pipeline["plans"]} == {
        "a": "late", "b": "late", "c": "on_track", "d": "on_track", "e": "on_track", "f": "done"}
    assert PROJECTION.render(pipeline) == PIPELINE_TEXT.rstrip("\n")


def test_a_plan_met_exactly_is_done_and_one_plan_is_named_so(book):
    from ledger.default_plugins.pipeline import PROJECTION

    book.append(planned("a", "2026-01-01", "1.25"), occurred_at="2026-01-01")
    book.append(commissioned("a", "1.25"), occurred_at="2026-03-01")
    pipeline = book.view.report()["pipeline"]
    plan = pipeline["plans"][0]
    assert (plan["status"], plan["remaining_gigawatts"], pipeline["totals"]["late_keys"]) == ("done", "0", 0)
    assert PROJECTION.render(pipeline).splitlines()[0] == (
        "as of 2026-03-01: 1.25 GW planned, 1.25 GW delivered, 0 GW remaining; 0 GW late (0 of 1 plan)")
    book.append(planned("b", "2026-03-02", "1"), occurred_at="2026-03-01")
    text = PROJECTION.render(book.view.report()["pipeline"])
    assert "1 day left" in text and "(0 of 2 plans)" in text


def test_a_pipeline_summary_made_without_an_as_of_date_is_on_track_and_says_so(book):
    from ledger.default_plugins.pipeline import PROJECTION
    from ledger.replay import jsonable

    book.append(planned("a", "2026-01-01", "2"), occurred_at="2026-03-01")  # late as of March
    book.append(commissioned("a", "0.5"), occurred_at="2026-03-01")
    summary = jsonable(PROJECTION.summary(book.view["pipeline"]))
    assert [plan["status"] for plan in summary["plans"]] == ["on_track"]
    text = PROJECTION.render(summary).splitlines()
    assert text[0] == ("as of no date: 2 GW planned, 0.5 GW delivered, 1.5 GW remaining; 0 GW late "
                       "(0 of 1 plan)")
    assert text[4].split()[:4] == ["on", "track", "2026-01-01", "-"]  # no days left or past due


# --- snapshots: what the fingerprint covers, and the copies of states ------------------------------


class _Plain:
    name = "plain"
    handles = ("usage.reported",)
    state_type = dict[str, int]


class _Everything(_Plain):
    name = "everything"
    handles = "*"


def test_the_fingerprint_covers_name_version_source_and_for_every_type_the_types():
    from ledger.snapshots import fingerprint

    plain, everything = _Plain(), _Everything()
    assert fingerprint(plain) == fingerprint(_Plain()) and len(fingerprint(plain)) == 32
    assert fingerprint(plain, ["a"]) == fingerprint(plain, ["a", "b"])  # it sees its types only
    assert fingerprint(everything, ["a"]) != fingerprint(everything, ["a", "b"])
    assert fingerprint(everything, ["b", "a"]) == fingerprint(everything, ["a", "b"])
    listed = _Plain()
    listed.handles = ("usage.reported", "*")
    assert fingerprint(listed, ["a"]) != fingerprint(listed, ["a", "b"])
    versioned = _Plain()
    versioned.version = "2"
    assert fingerprint(versioned) != fingerprint(plain)
    versioned.version = ""  # an empty version is no version
    assert fingerprint(versioned) == fingerprint(plain)
    renamed = _Plain()
    renamed.name = "other"
    assert fingerprint(renamed) != fingerprint(plain)


def test_which_projections_can_be_snapshotted_and_their_states_copied_apart():
    import gc

    from ledger.snapshots import Fingerprints, can_snapshot, copy_state, dump_state, load_state

    class Both:
        name, handles = "both", ("x",)

        def snapshot(self, state):
            return {"n": state["n"]}

        def restore(self, data):
            return {"n": data["n"]}

    class Half:
        name, handles = "half", ("x",)

        def snapshot(self, state):
            return state

    assert can_snapshot(Both()) and can_snapshot(_Plain()) and not can_snapshot(Half())
    assert set(Fingerprints({"both": Both(), "plain": _Plain(), "half": Half()}).of) == {"both", "plain"}
    assert "both" in Fingerprints({"both": Both()}) and "half" not in Fingerprints({"half": Half()})
    for projection, state in ((Both(), {"n": 3}), (_Plain(), {"n": 3})):
        copy = copy_state(projection, state)
        copy["n"] += 1
        assert state == {"n": 3} and copy == {"n": 4}
        assert load_state(projection, dump_state(projection, state)) == state
    assert dump_state(_Plain(), {"b": 1, "a": 2}) == '{"a":2,"b":1}'
    gc.disable()
    try:
        load_state(_Plain(), "{}")
        assert not gc.isenabled()  # left as it was
    finally:
        gc.enable()
    load_state(_Plain(), "{}")
    assert gc.isenabled()


# --- appending: names, metadata and what derived events carry ------------------------------------


def test_ids_and_streams_are_short_printable_text(book):
    def add(**where):
        return book.append(UsageReported(product="p", weekly_active_users=1), **where)

    assert add(id="x" * 200).id == "x" * 200 and add(stream="s" * 200).stream == "s" * 200
    why = "{}: expected non-empty printable text of at most 200 characters, got {}"
    for where, shown in [({"id": "x" * 201}, "'" + "x" * 56 + "..."), ({"id": ""}, "''"),
                         ({"id": "a\nb"}, "'a\\nb'"), ({"id": 5}, "5"), ({"stream": ""}, "''"),
                         ({"stream": "s" * 201}, "'" + "s" * 56 + "..."),
                         ({"id": "\t" * 29}, "'" + "\\t" * 29 + "'"),  # a repr of 60: whole
                         ({"id": "\t" * 30}, "'" + "\\t" * 28 + "..."),  # of 62: cut
                         ({"id": "\t"}, "'\\t'")]:
        with pytest.raises(Rejected, match=exactly(why.format(next(iter(where)), shown))):
            add(**where)
    assert len(book) == 2


def test_metadata_is_stored_and_returned_as_the_stored_json_reads_back(book):
    meta = {"nested": {"exact": Decimal("1.50"), "list": [1, (2, 3)]}, "pair": (1, 2),
            "float": 2.5, "none": None, "flag": True, "text": "t", "day": date(2026, 1, 2)}
    record = book.append(UsageReported(product="p", weekly_active_users=1), meta=meta)
    stored = book.get(record.id)
    assert record.meta == stored.meta == {
        "nested": {"exact": "1.50", "list": [1, [2, 3]]}, "pair": [1, 2], "float": "2.5",
        "none": None, "flag": True, "text": "t", "day": "2026-01-02"}
    assert record == stored
    flat = {"a": 1, "b": "x", "c": None, "d": False}
    assert book.append(UsageReported(product="p", weekly_active_users=2), meta=flat).meta == flat
    for bad, why in [({"a": {1: 2}}, "meta: expected an object with string keys"),
                     ({1: 2}, "meta: expected an object with string keys"),
                     ({"a": object()}, "meta: not JSON: object cannot be written as JSON"),
                     ({"derived_by": "me"}, "meta.derived_by: set by the ledger on derived events only")]:
        with pytest.raises(Rejected, match=exactly(why)):
            book.append(UsageReported(product="p", weekly_active_users=3), meta=bad)
    assert len(book) == 2


def test_derived_events_carry_the_correlation_of_their_cause(book):
    book.append(signed(cap="100", tranche="10"))
    cause = book.append(commission("1", "a"), meta={"correlation_id": "deal", "source": "s"})
    derived = list(book.read(after=cause.seq))
    assert len(derived) == 1 and derived[0].meta == {
        "causation_id": cause.id, "correlation_id": "deal", "derived_by": "investment", "source": "s"}
    again = book.append(commission("1", "a"))
    assert list(book.read(after=again.seq))[0].meta == {
        "causation_id": again.id, "correlation_id": again.id, "derived_by": "investment"}


# --- gpu_inventory: bands rounded outward, retirements to zero, the text ----------------------------

GPU_TEXT = '''\
GPUs counted:   0 packages, 15 dies
GPUs estimated: 116,655 - 166,651 packages, 1 - 3 dies
unestimated:    0.25 GW (platforms with no specification)

site    platform    unit      GPUs counted
------  ----------  ------  --------------
s1      gb200       die                 10
s2      mi450       die                  5

platform      net GW    GPUs low    GPUs high  unit
----------  --------  ----------  -----------  ----------------
gb200         0.3333     116,655      166,651  package
mi450            0.5           1            3  die
tpu             0.25           -            -  no specification
'''


def test_gpu_bands_round_outward_and_retirements_count_down_to_zero(book):
    from ledger.default_plugins.gpu_inventory import PROJECTION

    def capacity(gigawatts, platform, site="s1"):
        return CapacityCommissioned(site=site, provider="oracle", vendor="nvidia", platform=platform,
                                    gigawatts=D(gigawatts))

    book.append(PlatformSpecified(platform="gb200", vendor="nvidia", gpus_per_gigawatt_low=350_001,
                                  gpus_per_gigawatt_high=500_001, unit="package"))
    book.append(PlatformSpecified(platform="mi450", vendor="amd", gpus_per_gigawatt_low=3,
                                  gpus_per_gigawatt_high=5, unit="die"))
    book.append(capacity("0.3333", "gb200"))  # 116,655.33 - 166,650.33 packages
    book.append(capacity("0.5", "mi450", "s2"))  # 1.5 - 2.5 dies
    book.append(capacity("0.25", "tpu", "s2"))  # no specification
    book.append(GpusDelivered(site="s1", platform="gb200", count=100))
    book.append(GpusDelivered(site="s1", platform="gb200", count=10, unit="die"))
    book.append(GpusDelivered(site="s2", platform="mi450", count=7, unit="die"))
    book.append(GpusRetired(site="s1", platform="gb200", count=100))  # all of them
    book.append(GpusRetired(site="s2", platform="mi450", count=2, unit="die"))
    with pytest.raises(Rejected, match=exactly("gpu_inventory: retires 1 packages of gb200 at 's1', but only 0 are counted there")):
        book.append(GpusRetired(site="s1", platform="gb200", count=1))
    with pytest.raises(Rejected, match=exactly("gpu_inventory: retires 11 dies of gb200 at 's1', but only 10 are counted there")):
        book.append(GpusRetired(site="s1", platform="gb200", count=11, unit="die"))
    book.append(GpusRetired(site="s1", platform="gb200", count=10, unit="die"))
    book.append(GpusDelivered(site="s1", platform="gb200", count=10, unit="die"))
    gpus = book.view.report()["gpu_inventory"]
    assert (gpus["counted"], gpus["counted_dies"]) == (0, 15)
    assert gpus["counted_by"] == {"s1": {"gb200": {"die": 10}}, "s2": {"mi450": {"die": 5}}}
    assert (gpus["estimated_low"], gpus["estimated_high"]) == (116_655, 166_651)
    assert (gpus["estimated_dies_low"], gpus["estimated_dies_high"]) == (1, 3)
    assert gpus["estimated_by_platform"] == {
        "gb200": {"gigawatts": "0.3333", "unit": "package", "low": 116_655, "high": 166_651},
        "mi450": {"gigawatts": "0.5", "unit": "die", "low": 1, "high": 3}}
    assert (gpus["unestimated_gigawatts"], gpus["unestimated_by_platform"]) == ("0.25", {"tpu": "0.25"})
    assert PROJECTION.render(gpus) == GPU_TEXT.rstrip("\n")
    assert book.replay(use_snapshots=False).report()["gpu_inventory"] == gpus


def test_gpu_estimates_add_up_over_platforms_and_a_retirement_dated_early_counts_nothing(book):
    from ledger.default_plugins.gpu_inventory import PROJECTION
    from ledger.snapshots import dump_state, load_state

    empty = book.view.report()["gpu_inventory"]
    assert (empty["unestimated_gigawatts"], empty["estimated_low"], empty["estimated_high"]) == (
        "0", 0, 0)
    for platform, low, high in [("gb200", 100, 200), ("gb300", 10, 20)]:  # both in packages
        book.append(PlatformSpecified(platform=platform, vendor="nvidia", gpus_per_gigawatt_low=low,
                                      gpus_per_gigawatt_high=high, unit="package"))
        book.append(CapacityCommissioned(site="s1", provider="oracle", vendor="nvidia",
                                         platform=platform, gigawatts=D(1)))
    book.append(GpusDelivered(site="s1", platform="gb200", count=5), occurred_at="2026-03-01")
    book.append(GpusRetired(site="s1", platform="gb200", count=3), occurred_at="2026-02-01")
    gpus = book.view.report()["gpu_inventory"]
    assert (gpus["estimated_low"], gpus["estimated_high"], gpus["counted"]) == (110, 220, 2)
    # as of mid-February the retirement is folded before the delivery it took from: none left
    early = book.replay(until="2026-02-15")
    assert early.report()["gpu_inventory"]["counted_by"] == {}
    state = book.view["gpu_inventory"]
    assert load_state(PROJECTION, dump_state(PROJECTION, state)) == state  # specs and all


# --- sites: which capacity a decommissioning takes from -------------------------------------------


def test_a_decommissioning_names_its_capacity_or_is_refused(book):
    def capacity(site, provider, platform, gigawatts, day):
        book.append(CapacityCommissioned(site=site, provider=provider, vendor="nvidia", platform=platform,
                                         gigawatts=D(gigawatts)), occurred_at=day)

    def off(gigawatts, day="2026-06-01", site="s1", **which):
        return book.append(CapacityDecommissioned(site=site, gigawatts=D(gigawatts), **which),
                           occurred_at=day)

    capacity("s1", "oracle", "gb200", "1", "2026-01-01")
    capacity("s1", "aws", "mi450", "2", "2026-01-01")
    for which, why in [
        ({"gigawatts": "0.5"}, "site 's1' holds several (provider/platform: aws/mi450, oracle/gb200); "
                               "name the platform and the provider"),
        ({"gigawatts": "1.5", "platform": "gb200"},
         "decommissions 1.5 GW, but site 's1' has only 1 GW commissioned on platform 'gb200'"),
        ({"gigawatts": "1", "site": "s9"}, "site 's9' has no capacity commissioned"),
        ({"gigawatts": "1", "provider": "oracle", "platform": "mi450"},
         "site 's1' has no capacity commissioned for provider 'oracle' on platform 'mi450'"),
    ]:
        with pytest.raises(Rejected, match=exactly(f"provider_mix: {why}")):
            off(**which)
    off("1", platform="gb200")  # all of it
    off("0.5")  # one capacity left at the site: it needs no name
    mix = book.view.report()["provider_mix"]["commissioned_gigawatts"]
    assert mix["gigawatts_by_provider"] == {"aws": "1.5"} and mix["by_provider"] == {"aws": "1.0000"}
    capacity("s1", "oracle", "gb200", "0.25", "2026-07-01")  # back after it was all taken off
    assert book.view.report()["provider_mix"]["commissioned_gigawatts"]["gigawatts_by_provider"] == {
        "aws": "1.5", "oracle": "0.25"}


def test_a_decommissioning_dated_before_its_capacity_takes_what_is_there_as_of_a_date(book):
    def capacity(gigawatts, day, site="s4"):
        book.append(CapacityCommissioned(site=site, provider="oracle", vendor="nvidia", platform="gb200",
                                         gigawatts=D(gigawatts)), occurred_at=day)

    capacity("1", "2026-01-01")
    capacity("1", "2026-03-01")
    book.append(CapacityDecommissioned(site="s4", gigawatts=D("1.5")), occurred_at="2026-02-01")
    capacity("1", "2026-05-01", site="s5")
    book.append(CapacityDecommissioned(site="s5", gigawatts=D("0.5")), occurred_at="2026-04-01")

    def net(until=None):
        view = book.replay(until=until) if until else book.view
        return view.report()["provider_mix"]["commissioned_gigawatts"]["gigawatts"
                                                                       "_by_provider"].get("oracle")

    assert net() == "1"  # 0.5 at s4, 0.5 at s5
    assert net("2026-02-15") is None  # s4: 1 held, 1.5 taken off: all of it
    assert net("2026-04-15") == "0.5"  # s4: 2 held (seq order), 1.5 off; s5: nothing to take from
    assert book.replay(until="2026-04-15").report()["gpu_inventory"]["unestimated_gigawatts"] == "0.5"


def test_a_decommissioning_dated_too_early_takes_all_of_the_capacity_it_names(book):
    # as of 15 February only 1 GW of the named capacity is there to take 1.5 GW from: it takes
    # that one and leaves the site's other capacity (another provider, another platform) alone
    def capacity(site, provider, platform, day):
        book.append(CapacityCommissioned(site=site, provider=provider, vendor="nvidia",
                                         platform=platform, gigawatts=D(1)), occurred_at=day)

    for site, provider, platform in [("s6", "oracle", "gb200"), ("s6", "aws", "mi450"),
                                     ("s7", "oracle", "gb200"), ("s7", "oracle", "mi450")]:
        capacity(site, provider, platform, "2026-01-01")
    capacity("s6", "oracle", "gb200", "2026-03-01")
    capacity("s7", "oracle", "gb200", "2026-03-01")
    book.append(CapacityDecommissioned(site="s6", provider="oracle", gigawatts=D("1.5")),
                occurred_at="2026-02-01")
    book.append(CapacityDecommissioned(site="s7", platform="gb200", gigawatts=D("1.5")),
                occurred_at="2026-02-01")
    for projection in ("provider_mix", "gpu_inventory"):
        assert book.replay(until="2026-02-15")[projection].capacity.net == {
            ("s6", "aws", "nvidia", "mi450"): 1, ("s7", "oracle", "nvidia", "mi450"): 1}
        assert book.view[projection].capacity.net == {
            ("s6", "oracle", "nvidia", "gb200"): D("0.5"), ("s6", "aws", "nvidia", "mi450"): 1,
            ("s7", "oracle", "nvidia", "gb200"): D("0.5"), ("s7", "oracle", "nvidia", "mi450"): 1}


# --- funds: a resolution restates its commitment rightly, or is refused saying what it said -----


def test_a_resolution_restating_its_commitment(book):
    from .test_builtin_plugins import pledge

    book.append(pledge("20", conditional=True), id="cond")
    why = "investment: commitment 'cond' is softbank -> openai $20 B; the resolution says {}"
    for stated, said in [({"investee": "sb-energy"}, "investee sb-energy"),
                         ({"investor": "amazon", "investee": "openai", "usd": 20 * B},
                          "investor amazon, investee openai, $20 B"),
                         ({"usd": 20 * B + 1}, "$20,000,000,001")]:
        if "usd" in stated and len(stated) == 1:  # reads as $20 B rounded: both in full
            why = why.replace("$20 B;", "$20,000,000,000;")
        with pytest.raises(Rejected, match=exactly(why.format(said))):
            book.append(FundingResolved(commitment="cond", outcome="met", **stated))
    book.append(FundingResolved(commitment="cond", outcome="lapsed", investor="softbank",
                                investee="openai", usd=20 * B))
    investor = book.view.report()["investment"]["investors"]["softbank"]
    assert (investor["committed_usd"], investor["conditional_usd"]) == ("0", "0")
    assert book.view.report()["investment"]["conditional_commitments"]["cond"] == {
        "investor": "softbank", "investee": "openai", "usd": str(20 * B), "status": "lapsed",
        "resolved_seq": 2}


def test_a_resolution_dated_before_its_commitment_is_refused(book):
    """A condition cannot be settled before the commitment it conditions was made: a resolution
    dated earlier (a mistyped year, most often) is refused, naming both dates; the same moment
    or later is accepted, and the figures as of a date between the two are the commitment's."""
    from .test_builtin_plugins import pledge

    book.append(pledge("20", conditional=True), id="cond", occurred_at="2026-03-01T12:00:00Z")
    before = (book.head(), book.replay().report())
    for early in ("2025-01-01", "2026-03-01T11:59:59.999999Z"):
        with pytest.raises(Rejected, match=exactly(
                "investment: commitment 'cond' was made on 2026-03-01; a resolution cannot occur "
                f"before it (this one is dated {early[:10]})")):
            book.append(FundingResolved(commitment="cond", outcome="met"), occurred_at=early)
    assert (book.head(), book.replay().report()) == before
    book.append(FundingResolved(commitment="cond", outcome="met"), occurred_at="2026-03-01T12:00:00Z")
    for until, committed, conditional in [("2026-02-28", None, None),
                                          ("2026-03-01", str(20 * B), "0")]:
        investor = book.replay(until=until).report()["investment"]["investors"].get("softbank", {})
        assert (investor.get("committed_usd"), investor.get("conditional_usd")) == (committed, conditional)


def test_a_snapshot_made_before_commitments_kept_their_date_still_loads():
    """Snapshots of the investment state written before each conditional commitment kept its
    date (six columns a commitment) load, and then resolutions are checked as before."""
    from ledger.default_plugins.funds import Funds

    funds = Funds.from_columns({"pairs": [], "conditional": [
        ["cond", "softbank", "openai", "2E+10", "pending", None]]})
    assert funds.conditional["cond"].occurred_at == ""
    funds.check(FundingResolved(commitment="cond", outcome="met"),
                datetime(2020, 1, 1, tzinfo=timezone.utc))  # no date kept: nothing to compare


# --- every built-in projection restores what it snapshots -------------------------------------------


@pytest.mark.parametrize("history", ["openai-compute-2025-2026.jsonl", "nvidia-openai-plan.jsonl"])
def test_every_projection_restores_what_it_snapshots(history):
    from ledger.snapshots import can_snapshot, copy_state, dump_state, load_state

    from .conftest import EVENTS

    with Ledger.open(load_entrypoints=False) as book:
        book.import_jsonl(f"{EVENTS}/{history}")
        book.append(CapacityCommissioned(site="x", provider="oracle", vendor="nvidia",
                                         platform="gb200", gigawatts=D("0.3")))
        book.append(CapacityDecommissioned(site="x", gigawatts=D("0.1")))
        book.append(GpusDelivered(site="x", platform="gb200", count=7, unit="die"))
        view = book.view
        for name, projection in book.projections.items():
            if not can_snapshot(projection):
                continue
            state = view[name]
            text = dump_state(projection, state)
            restored = load_state(projection, text)
            assert dump_state(projection, restored) == text, name
            assert projection.summary(restored) == projection.summary(state), name
            copied = copy_state(projection, state)
            assert projection.summary(copied) == projection.summary(state), name



# --- provider_mix: the latest contract value, who runs what unpublished, the tables -----------------

MIX_EMPTY = '''\
commissioned GW by provider (HHI -): none

commissioned GW by vendor (HHI -): none

contracted USD by provider (HHI -): none
'''

MIX_TEXT = '''\
commissioned GW by provider (HHI 3,750)
provider      GW    share        %
----------  ----  -------  -------
coreweave      2   0.5000   50.0 %
aws            1   0.2500   25.0 %
oracle         1   0.2500   25.0 %
total          4   1.0000  100.0 %
also running, amounts not published: google, microsoft — the shares cover published figures only

commissioned GW by vendor (HHI 6,250)
vendor      GW    share        %
--------  ----  -------  -------
nvidia       3   0.7500   75.0 %
amd          1   0.2500   25.0 %
total        4   1.0000  100.0 %
also running, amounts not published: nvidia, tpu — the shares cover published figures only

contracted USD by provider (HHI 5,918)
provider       USD    share        %
----------  ------  -------  -------
microsoft   $250 B   0.7143   71.4 %
oracle      $100 B   0.2857   28.6 %
total       $350 B   1.0000  100.0 %
the value of each contract as announced, over its own term (years): commitments in all, not spending per year
'''


def test_the_provider_mix_and_its_text(book):
    from ledger.default_plugins.provider_mix import PROJECTION

    assert PROJECTION.render(book.view.report()["provider_mix"]) == MIX_EMPTY.rstrip("\n")
    for site, provider, vendor, gigawatts in [("s1", "oracle", "nvidia", "1"), ("s2", "aws", "amd", "1"),
                                              ("s3", "coreweave", "nvidia", "2")]:
        book.append(CapacityCommissioned(site=site, provider=provider, vendor=vendor, platform="p",
                                         gigawatts=D(gigawatts)))
    book.append(CapacityUnquantified(provider="microsoft", vendor="nvidia"))
    book.append(CapacityUnquantified(provider="google", vendor="tpu", site="s9"))
    book.append(ProviderContracted(contract="c1", buyer="openai", provider="oracle", usd=300 * B))
    book.append(ProviderContracted(contract="c2", buyer="openai", provider="microsoft", usd=250 * B))
    book.append(ProviderContracted(contract="c1", buyer="openai", provider="oracle", usd=100 * B))  # latest wins
    mix = book.view.report()["provider_mix"]
    usd = mix["contracted_usd"]
    assert (usd["total"], usd["usd_by_provider"], usd["hhi"]) == (
        str(350 * B), {"microsoft": str(250 * B), "oracle": str(100 * B)}, 5918)
    gw = mix["commissioned_gigawatts"]
    assert (gw["total"], gw["hhi"], gw["vendor_hhi"]) == ("4", 3750, 6250)
    assert gw["unquantified"] == [
        {"provider": "google", "vendor": "tpu", "site": "s9", "platform": None},
        {"provider": "microsoft", "vendor": "nvidia", "site": None, "platform": None}]
    assert PROJECTION.render(mix) == MIX_TEXT.rstrip("\n")


def test_the_provider_mix_of_nothing_and_of_marks_that_name_no_site(book):
    empty = book.view.report()["provider_mix"]
    assert (empty["commissioned_gigawatts"]["total"], empty["contracted_usd"]["total"]) == ("0", "0")
    # by provider, vendor, site and platform, a part not named before any name ("2nd" and "A"
    # sort before letters further on; "" before both)
    for site, platform in [("A-site", None), ("2nd", "Zeta"), (None, None), ("2nd", None)]:
        book.append(CapacityUnquantified(provider="m", vendor="n", site=site, platform=platform))
    assert [(mark["site"], mark["platform"]) for mark in
            book.view.report()["provider_mix"]["commissioned_gigawatts"]["unquantified"]] == [
        (None, None), ("2nd", None), ("2nd", "Zeta"), ("A-site", None)]



# --- investment: the text, with a superseded agreement's forfeited money ---------------------------

INVESTMENT_TEXT = '''\
released in all: $25 B

agreement    status           parties             target GW    commissioned GW  tranches earned / released      released    forfeited    cap
-----------  ---------------  ----------------  -----------  -----------------  ----------------------------  ----------  -----------  -----
a            definitive       nvidia -> openai           10                  3  3 / 3                              $25 B           $0  $25 B
b            superseded by a  amd -> openai              10                  1  1 / 0                                 $0        $20 B  $40 B

agreement      tranche    released  on            seq
-----------  ---------  ----------  ----------  -----
a                    1       $10 B  2026-02-01      4
a                    2       $10 B  2026-02-01      5
a                    3        $5 B  2026-05-01     12

investor    investee      intended    agreed    committed    conditional (pending)    released
----------  ----------  ----------  --------  -----------  -----------------------  ----------
amd         openai              $0        $0           $0                       $0          $0
nvidia      openai              $0     $25 B           $0                       $0       $25 B
softbank    openai              $0        $0        $20 B                       $0          $0
softbank    sb-energy           $0        $0         $5 B                       $0          $0
intended: the caps of agreements still intent; agreed: of those definitive or completed.
committed: funding committed outright or on a condition since met; conditional: on a
condition still pending. released: paid out (tranches, recorded releases), which may be
part of what is agreed or committed: it is not added to them.

conditional commitment    parties               amount  status      resolved at seq
------------------------  ------------------  --------  --------  -----------------
cond                      softbank -> openai     $20 B  met                      10
'''


def test_the_investment_text(book):
    from ledger.default_plugins.investment import PROJECTION

    from .test_builtin_plugins import pledge

    assert PROJECTION.render(book.view.report()["investment"]) == 'released in all: $0'
    book.append(signed(name="a", cap="25", tranche="10"), occurred_at="2026-01-01")
    book.append(signed(name="b", status="intent", cap="40", tranche="20", investor="amd"),
                occurred_at="2026-01-01")
    book.append(commission("2", "a"), occurred_at="2026-02-01")
    book.append(commission("1", "b"), occurred_at="2026-02-01")
    book.append(AgreementRevised(agreement="b", status="superseded", superseded_by="a"),
                occurred_at="2026-03-01")
    book.append(pledge("20", conditional=True), id="cond", occurred_at="2026-03-01")
    book.append(pledge("5", investee="sb-energy"), occurred_at="2026-03-01")
    book.append(FundingResolved(commitment="cond", outcome="met"), occurred_at="2026-04-01")
    book.append(commission("1", "a"), occurred_at="2026-05-01")  # the cap leaves $5 B of tranche 3
    investment = book.view.report()["investment"]
    assert investment["agreements"]["b"]["forfeited_usd"] == str(20 * B)
    assert PROJECTION.render(investment) == INVESTMENT_TEXT.rstrip("\n")


def test_new_ids_borrow_the_next_millisecond_after_4096_in_one(monkeypatch):
    import uuid

    import ledger.clock as clock

    now = 4_000_000_000_000 * 1_000_000  # nanoseconds, later than any id made so far
    monkeypatch.setattr(clock, "_last_ms", clock._last_ms)  # put back afterwards
    monkeypatch.setattr(clock, "_counter", clock._counter)
    monkeypatch.setattr(clock, "time_ns", lambda: now)
    ids = [clock.new_id() for _ in range(4096 * 2 + 5)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    stamps = [uuid.UUID(text).int >> 80 for text in ids]  # the 48 bits of milliseconds
    counters = [(uuid.UUID(text).int >> 64) & 0xFFF for text in ids]
    first = now // 1_000_000
    assert stamps[:4096] == [first] * 4096 and counters[:4096] == list(range(4096))
    assert stamps[4096:8192] == [first + 1] * 4096 and counters[4096] == 0
    assert stamps[8192:] == [first + 2] * 5 and counters[8192:] == list(range(5))
    monkeypatch.setattr(clock, "time_ns", lambda: (first + 5) * 1_000_000)  # time moved on
    later = clock.new_id()
    assert uuid.UUID(later).int >> 80 == first + 5 and (uuid.UUID(later).int >> 64) & 0xFFF == 0


def test_tranches_held_back_by_the_cap_are_released_after_a_restore_when_the_cap_rises(tmp_path):
    path = tmp_path / "x.db"
    with Ledger.open(path, load_entrypoints=False, snapshot_every=0) as book:
        book.append(signed(cap="30", tranche="10"))
        book.append(commission("5", "a"))  # 5 earned, 3 released: the cap
        assert agreement(book)["tranches_released"] == 3
        book.snapshot()
    with Ledger.open(path, load_entrypoints=False, snapshot_every=0) as book:  # from the snapshot
        book.append(AgreementRevised(agreement="a", cap_usd=50 * B))
        a = agreement(book)
        assert [t["tranche"] for t in a["tranches"]] == [1, 2, 3, 4, 5]
        assert book.view.report() == book.replay(use_snapshots=False).report()


# --- importing an export: each record restored as it was, or refused saying why -------------------


def exported(tmp_path, meta=None):
    """A ledger's export (two streams, a derived tranche, metadata) and its records."""
    with Ledger.open(load_entrypoints=False) as book:
        book.append(signed(cap="100", tranche="10"), meta={"source": "s", "n": 1})
        book.append(commission("1.5", "a"), occurred_at="2026-02-01T12:30:00.25Z")
        book.append(UsageReported(product="p", weekly_active_users=5), meta=meta)
        if meta:
            book.append(UsageReported(product="q", weekly_active_users=6), meta=meta)
        book.export_jsonl(tmp_path / "out.jsonl")
        return [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()], list(book.read())


def write_lines(path, lines):
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def test_an_export_is_restored_record_for_record_and_a_second_import_skips_it(tmp_path):
    lines, records = exported(tmp_path, meta={"scenario": True})
    assert len(lines) == 5
    with Ledger.open(load_entrypoints=False) as copy:
        result = copy.import_jsonl(tmp_path / "out.jsonl")
        assert (result.appended, result.skipped, result.head) == (5, 0, 5)
        assert list(copy.read()) == records  # data, meta, versions, schema, times and hashes
        assert copy.view.report() == copy.replay(use_snapshots=False).report()
        assert copy.view.report()["as_of"]["scenario_records"] == 2
        again = copy.import_jsonl(tmp_path / "out.jsonl")
        assert (again.appended, again.skipped, again.head) == (0, 5, 5)
    with Ledger.open(load_entrypoints=False) as copy:  # the same records twice in one import
        twice = copy.import_jsonl(write_lines(tmp_path / "twice.jsonl", lines + lines[:2]))
        assert (twice.appended, twice.skipped) == (5, 2) and list(copy.read()) == records


def test_an_altered_export_record_is_refused_saying_why(tmp_path):
    lines, _ = exported(tmp_path)

    def refused(number, change, error, why):
        altered = [dict(line) for line in lines]
        change(altered[number])
        path = write_lines(tmp_path / "altered.jsonl", altered)
        with Ledger.open(load_entrypoints=False) as copy:
            with pytest.raises(error, match=exactly(f"{path}:{number + 1}: {why}")):
                copy.import_jsonl(path)
            assert len(copy) == 0

    refused(1, lambda line: line.update(occurred_at="2026-02-01T12:30:00.25Z"), Rejected,
            "occurred_at: '2026-02-01T12:30:00.25Z' is not in the stored form YYYY-MM-DDTHH:MM:SS.ffffffZ")
    refused(0, lambda line: line.update(recorded_at="2026-02-01"), Rejected,
            "recorded_at: '2026-02-01' is not in the stored form YYYY-MM-DDTHH:MM:SS.ffffffZ")
    refused(1, lambda line: line.update(occurred_at="soon"), Rejected,
            "occurred_at: 'soon' is not an ISO-8601 date or time")
    refused(0, lambda line: line.update(recorded_at="never"), Rejected,
            "recorded_at: 'never' is not an ISO-8601 date or time")
    refused(3, lambda line: line.update(version=2), ConflictError,
            "record seq 4: gives version 2 of stream 'usage/p', which is at version 0: the next "
            "is 1")
    refused(3, lambda line: line.update(stream="agreement/a"), ConflictError,
            "record seq 4: gives version 1 of stream 'agreement/a', which is at version 1: the "
            "next is 2")
    refused(2, lambda line: line.update(seq=4), ConflictError,
            "record seq 4 follows seq 2 in this export: seq 3 is not next (left out, or out of "
            "order); an export is imported whole and in order")
    forged = ("record seq 3: hash does not match: the record was altered, or does not follow the "
              "previous one")
    for change in [{"data": {"product": "p", "weekly_active_users": 6}}, {"meta": {}},
                   {"stream": "x", "version": 1}, {"schema": 2}, {"hash": "0" * 64},
                   {"occurred_at": "2026-02-01T12:30:00.000000Z"}]:
        refused(2, lambda line, change=change: line.update(change), Rejected, forged)


def test_an_export_record_whose_id_exists_with_other_content_is_a_conflict(tmp_path):
    lines, _ = exported(tmp_path)
    with Ledger.open(load_entrypoints=False) as copy:
        copy.import_jsonl(tmp_path / "out.jsonl")
        other = dict(lines[3], data={"product": "p", "weekly_active_users": 6})
        path = write_lines(tmp_path / "other.jsonl", [other])
        with pytest.raises(ConflictError, match=exactly(
                f"{path}:1: id {lines[3]['id']!r} exists already (seq 4) with other content")):
            copy.import_jsonl(path)
        for key, value in [("meta", {"x": 1}), ("hash", "f" * 64), ("version", 9), ("seq", 9),
                           ("recorded_at", "2020-01-01T00:00:00.000000Z"), ("schema", 2)]:
            with pytest.raises(ConflictError, match="exists already"):
                copy.import_jsonl(write_lines(tmp_path / "other.jsonl", [dict(lines[3], **{key: value})]))
        assert len(copy) == 4


def test_a_state_of_an_attrs_class_round_trips_as_that_class():
    import attrs

    from ledger.snapshots import copy_state, dump_state, load_state

    @attrs.define
    class Totals:
        gigawatts: Decimal = Decimal(0)
        by_site: dict[str, Decimal] = attrs.field(factory=dict)
        days: list[date] = attrs.field(factory=list)

    class Typed:
        name, handles, state_type = "typed", ("x",), Totals

    state = Totals(Decimal("1.25"), {"s1": Decimal("0.5")}, [date(2026, 1, 2)])
    text = dump_state(Typed(), state)
    assert json.loads(text) == {"gigawatts": "1.25", "by_site": {"s1": "0.5"}, "days": ["2026-01-02"]}
    for again in (load_state(Typed(), text), copy_state(Typed(), state)):
        assert type(again) is Totals and again == state
        assert again.by_site is not state.by_site and again.days is not state.days


def test_an_agreement_in_the_report(book):
    book.append(signed(cap="25", tranche="10", per="0.5"), occurred_at="2026-01-01")
    cause = book.append(commission("0.5", "a"), occurred_at="2026-02-01")
    assert agreement(book) == {
        "status": "definitive", "investor": "nvidia", "investee": "openai", "gigawatts": "10",
        "cap_usd": str(25 * B), "tranche_usd": str(10 * B), "tranche_gigawatts": "0.5",
        "commissioned_gigawatts": "0.5", "earned_gigawatts": "0.5", "tranches_earned": 1, "tranches_released": 1,
        "released_usd": str(10 * B), "forfeited_usd": "0", "superseded_by": None,
        "tranches": [{"tranche": 1, "usd": str(10 * B), "seq": 3, "cause": cause.id,
                      "occurred_at": "2026-02-01"}]}


def test_an_export_imported_twice_at_once_into_an_empty_ledger_is_stored_once(tmp_path):
    from ledger.batch import FLUSH_EVERY

    with Ledger.open(load_entrypoints=False) as book:  # more records than a batch keeps in memory
        book.append_many([UsageReported(product="p", weekly_active_users=n) for n in range(FLUSH_EVERY + 5)])
        book.export_jsonl(tmp_path / "out.jsonl")
        head = book.head()
    with Ledger.open(load_entrypoints=False) as copy:
        result = copy.import_jsonl(tmp_path / "out.jsonl", tmp_path / "out.jsonl")
        assert (result.appended, result.skipped) == (FLUSH_EVERY + 5, FLUSH_EVERY + 5)
        assert copy.head() == head


def test_a_history_with_ids_imported_twice_at_once_into_an_empty_ledger_is_stored_once(tmp_path):
    """Lines that name their id, repeated further on than a batch keeps rows in memory: each is
    stored once and counted as skipped once; a line without an id is appended again."""
    from ledger.batch import FLUSH_EVERY

    lines = [{"id": f"u-{n}", "type": "usage.reported", "occurred_at": "2026-01-01",
              "data": {"product": "p", "weekly_active_users": n}} for n in range(FLUSH_EVERY + 5)]
    anonymous = {"type": "usage.reported", "occurred_at": "2026-01-02",
                 "data": {"product": "q", "weekly_active_users": 1}}
    history = write_lines(tmp_path / "h.jsonl", [*lines, anonymous])
    with Ledger.open(load_entrypoints=False) as book:
        result = book.import_jsonl(history, history)
        assert (result.appended, result.skipped, result.head) == (len(lines) + 2, len(lines),
                                                                  len(lines) + 2)
        again = book.import_jsonl(history)
        assert (again.appended, again.skipped) == (1, len(lines))
        assert [r.id for r in book.read(limit=3)] == ["u-0", "u-1", "u-2"]
        changed = write_lines(tmp_path / "changed.jsonl", [dict(lines[0], occurred_at="2026-01-03")])
        with pytest.raises(ConflictError, match="id 'u-0' exists already"):
            book.import_jsonl(changed)
        assert book.verify()[0] == len(book) == len(lines) + 3


def test_the_live_view_counts_the_scenario_records_it_folds_as_a_replay_does(book):
    book.append(UsageReported(product="p", weekly_active_users=1), meta={"scenario": True})
    book.append(UsageReported(product="p", weekly_active_users=2))
    book.append_many([UsageReported(product="p", weekly_active_users=n) for n in (3, 4)],
                     meta={"scenario": True})
    assert book.view.report()["as_of"]["scenario_records"] == 3
    assert book.replay(use_snapshots=False).report()["as_of"]["scenario_records"] == 3


def test_an_export_record_with_a_bad_id_is_refused_naming_the_field(tmp_path):
    lines, _ = exported(tmp_path)
    path = write_lines(tmp_path / "bad.jsonl", [dict(lines[0], id="x" * 201)])
    with Ledger.open(load_entrypoints=False) as copy:
        with pytest.raises(Rejected, match=exactly(
                f"{path}:1: id: expected non-empty printable text of at most 200 characters, got '"
                + "x" * 56 + "...")):
            copy.import_jsonl(path)


def test_the_fingerprint_of_a_projection_whose_module_has_no_readable_source(monkeypatch):
    import sys
    import types

    from ledger.snapshots import Fingerprints, fingerprint

    def projection_in(module_name, file=None):
        module = types.ModuleType(module_name)
        if file is not None:
            module.__file__ = file
        monkeypatch.setitem(sys.modules, module_name, module)
        cls = type("Made", (_Plain,), {"__module__": module_name})
        return cls()

    no_file = projection_in("gigaledger_test_no_file")
    missing = projection_in("gigaledger_test_missing", "/nonexistent/gigaledger/projection.py")
    assert fingerprint(no_file) == fingerprint(missing)  # both: no source to hash
    assert fingerprint(no_file) != fingerprint(_Plain())  # this module's source is hashed
    everything = _Everything()
    assert Fingerprints({"e": everything}, ["a"]).of != Fingerprints({"e": everything}, ["a", "b"]).of
    assert Fingerprints({"e": everything}, ["b", "a"]).of == {"e": fingerprint(everything, ["a", "b"])}


def test_an_export_record_that_breaks_a_plugins_rule_is_refused_even_with_its_hashes_recomputed(tmp_path):
    import hashlib

    with Ledger.open(load_entrypoints=False) as book:
        book.append(signed(cap="100", tranche="10"))
        book.append(release(50 * B))
        book.export_jsonl(tmp_path / "out.jsonl")
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    lines[1]["data"]["usd"] = str(500 * B)  # past the cap
    previous = GENESIS
    for line in lines:  # a forger who knows the chain
        text = lambda value: json.dumps(value, sort_keys=True, separators=(",", ":"))  # noqa: E731
        line["hash"] = previous = hashlib.sha256((previous + body(
            line["seq"], line["id"], line["stream"], line["version"], line["type"], line["schema"],
            line["occurred_at"], line["recorded_at"], text(line["data"]), text(line["meta"]))).encode()).hexdigest()
    path = write_lines(tmp_path / "forged.jsonl", lines)
    with Ledger.open(load_entrypoints=False) as copy:
        with pytest.raises(Rejected, match=exactly(
                f"{path}:2: investment: releasing 500000000000 would pass the cap of agreement 'a', "
                "100000000000 (0 released already)")):
            copy.import_jsonl(path)
        assert len(copy) == 0


def test_time_bounds_do_not_depend_on_the_local_time_zone(monkeypatch):
    import time as clock_time

    from ledger.clock import since_bound, until_bound, until_day

    if not hasattr(clock_time, "tzset"):
        pytest.skip("no time.tzset on this platform")
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    clock_time.tzset()
    try:
        assert until_bound("2027") == "2028-01-01T00:00:00.000000Z"
        assert until_bound("2027-12") == "2028-01-01T00:00:00.000000Z"
        assert until_bound("2027-06") == "2027-07-01T00:00:00.000000Z"
        assert until_bound("2027-06-30") == "2027-07-01T00:00:00.000000Z"
        assert until_bound(date(2027, 6, 30)) == "2027-07-01T00:00:00.000000Z"
        assert since_bound("2027") == "2027-01-01T00:00:00.000000Z"
        assert since_bound("2027-10") == "2027-10-01T00:00:00.000000Z"
        assert until_day("2027-02") == date(2027, 2, 28)
    finally:
        monkeypatch.delenv("TZ")
        clock_time.tzset()


def test_a_bad_since_or_until_names_its_option():
    from ledger.clock import since_bound, until_bound

    with pytest.raises(Rejected, match=exactly("since: '2027-13-45' is not a valid date (YYYY-MM-DD)")):
        since_bound("2027-13-45")
    with pytest.raises(Rejected, match=exactly(
            "until: '2027-06-30T25:00' is not an ISO-8601 date or time; give a year (2027), "
            "a month (2027-06), a day (2027-06-30) or an ISO-8601 time")):
        until_bound("2027-06-30T25:00")
    assert since_bound("2027-10-01T00:00:00Z") == "2027-10-01T00:00:00.000000Z"


def test_a_history_line_may_name_its_stream(tmp_path):
    path = write_lines(tmp_path / "h.jsonl", [
        {"type": "usage.reported", "occurred_at": "2026-01-01", "stream": "usage/elsewhere",
         "data": {"product": "p", "weekly_active_users": 1}},
        {"type": "usage.reported", "occurred_at": "2026-01-01",
         "data": {"product": "p", "weekly_active_users": 2}}])
    with Ledger.open(load_entrypoints=False) as book:
        book.import_jsonl(path)
        assert [(r.stream, r.version) for r in book.read()] == [("usage/elsewhere", 1), ("usage/p", 1)]


class _Generating:
    """A plugin whose derive_events is a generator that fails while it is iterated."""

    @staticmethod
    @hookimpl
    def derive_events(event):
        if event.type == "usage.reported" and event.weekly_active_users == 13:
            raise ValueError("unlucky")
        yield from ()


def test_a_plugin_failing_while_its_derived_events_are_iterated_is_named():
    from ledger import PluginError

    with Ledger.open(load_entrypoints=False, plugins=[_Generating]) as book:
        book.append(UsageReported(product="p", weekly_active_users=12))
        with pytest.raises(PluginError) as caught:
            book.append(UsageReported(product="p", weekly_active_users=13))
        name = caught.value.plugin
        assert name and str(caught.value) == (
            f"plugin {name}: derive_events failed on usage.reported: ValueError: unlucky")
        assert len(book) == 1


def test_a_type_name_given_to_append_and_an_event_of_another_class_are_refused_saying_so(book):
    """A type name where an event belongs gets the unknown-type line with its hint; an event of a
    class that only carries a registered type's name (not the class registered) is named."""
    with pytest.raises(Rejected, match=exactly(
            "unknown event type 'usage.reportd' (did you mean 'usage.reported'?); a loaded plugin "
            "must register it")):
        book.append("usage.reportd")  # type: ignore[arg-type]

    class Impostor:
        type = "usage.reported"

    with pytest.raises(Rejected, match=exactly(
            "Impostor is not the class registered for 'usage.reported'")):
        book.append(Impostor())  # type: ignore[arg-type]
    assert len(book) == 0


def test_the_payload_of_a_subclass_is_written_by_the_standard_library_rules(book):
    """A subclass of a registered class (accepted: it is one) may carry a field of its own; its
    payload is not one the ledger vouches for, so its canonical text is checked as any other:
    a float is written as the standard library writes it (``2.5e-05``, where orjson would write
    ``0.000025``)."""
    import attrs

    from ledger.canonical import standard_dumps

    @attrs.frozen
    class Measured(UsageReported):
        ratio: float = 2.5e-5

    record = book.append(Measured(product="p", weekly_active_users=1))
    stored = next(book._store.rows(record.seq - 1)).data
    assert stored == standard_dumps({"product": "p", "ratio": 2.5e-5, "weekly_active_users": 1})
    assert '"ratio":2.5e-05' in stored


def test_the_payload_of_a_plugin_class_with_a_field_of_its_own_making_is_checked_too():
    """A field not made by ``ledger.fields`` is not vouched for either: the payload of a class
    registered with one is written by the standard library's rules (and read back before it is
    stored); a field annotated ``float`` refuses the class."""
    import attrs

    from ledger.canonical import standard_dumps

    @attrs.frozen
    class Ratio(Event):
        type = "test.ratio"
        ratio: Decimal = attrs.field(default=Decimal("2.5E-5"))

    @attrs.frozen
    class FloatRatio(Event):
        type = "test.float-ratio"
        ratio: float = attrs.field(default=2.5e-5)

    class Plugin:
        register_event_types = staticmethod(hookimpl(lambda register: register(Ratio)))

    with Ledger.open(plugins=[Plugin], load_entrypoints=False) as book:
        record = book.append(Ratio())
        assert next(book._store.rows(record.seq - 1)).data == standard_dumps(
            {"ratio": Decimal("2.5E-5")})

    class Floats:
        register_event_types = staticmethod(hookimpl(lambda register: register(FloatRatio)))

    with pytest.raises(PluginError, match=r"FloatRatio\.ratio is a float; amounts are exact"):
        Ledger.open(plugins=[Floats], load_entrypoints=False)


def test_a_dict_given_to_append_and_a_name_shown_at_its_length_limit(book):
    with pytest.raises(Rejected, match=exactly(
            "append takes an event object (an instance of a registered event class), not a dict; "
            "for a type name and a JSON payload, use book.event_from(type, data)")):
        book.append({"type": "usage.reported", "data": {"product": "p", "weekly_active_users": 1}})
    with pytest.raises(Rejected, match=exactly(  # a repr of 61 characters is cut
            "id: expected non-empty printable text of at most 200 characters, got '"
            + "\\t" * 28 + "...")):
        book.append(UsageReported(product="p", weekly_active_users=1), id="\t" * 29 + "x")
