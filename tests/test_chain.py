"""The hash chain and the append-only table: tampering is found at the right seq."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import CapacityCommissioned, Ledger, UsageReported, VerificationError
from ledger.chain import GENESIS, link, record_body


def fill(path, count=6):
    with Ledger.open(path, load_entrypoints=False) as book:
        for n in range(count):
            book.append(UsageReported(product=f"p{n % 2}", weekly_active_users=n), occurred_at="2025-09-22")
        return book.head()


def tamper(path, *statements):
    connection = sqlite3.connect(path)
    connection.executescript(
        "DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;"
        + ";".join(statements)
    )
    connection.close()


@given(
    seq=st.integers(1, 10**9), version=st.integers(1, 10**6), schema=st.integers(1, 9),
    texts=st.lists(st.text(max_size=10), min_size=5, max_size=5),
    data=st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3),
)
def test_record_body_is_the_canonical_json_of_the_record(seq, version, schema, texts, data):
    id, stream, type, occurred, recorded = texts
    dump = lambda v: json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)  # noqa: E731
    record = {"seq": seq, "id": id, "stream": stream, "version": version, "type": type,
              "schema": schema, "occurred_at": occurred, "recorded_at": recorded,
              "data": data, "meta": {"source": "s"}}
    body = record_body(seq, id, stream, version, type, schema, occurred, recorded, dump(data),
                       dump({"source": "s"}))
    assert body == dump(record)
    assert link(GENESIS, body) == hashlib.sha256((GENESIS + body).encode()).hexdigest()


def test_update_and_delete_are_refused_while_the_triggers_stand(tmp_path):
    path = tmp_path / "x.db"
    fill(path)
    connection = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only: UPDATE is refused"):
        connection.execute("UPDATE events SET data = '{}' WHERE seq = 2")
    with pytest.raises(sqlite3.DatabaseError, match="append-only: DELETE is refused"):
        connection.execute("DELETE FROM events WHERE seq = 6")
    connection.close()
    assert Ledger.open(path).verify()[0] == 6


TAMPERING = {
    "edit data": (["UPDATE events SET data = replace(data, ':3', ':4') WHERE seq = 4"], 4),
    "edit meta": (["UPDATE events SET meta = '{\"source\":\"forged\"}' WHERE seq = 3"], 3),
    "edit occurred_at": (["UPDATE events SET occurred_at = '2020-01-01T00:00:00.000000Z' WHERE seq = 5"], 5),
    "change a hash": (["UPDATE events SET hash = '" + "a" * 64 + "' WHERE seq = 2"], 2),
    "delete a row": (["DELETE FROM events WHERE seq = 3"], 3),
    "reorder": (["UPDATE events SET seq = -1 WHERE seq = 2", "UPDATE events SET seq = 2 WHERE seq = 3",
                 "UPDATE events SET seq = 3 WHERE seq = -1"], 2),
    "insert a row": (["INSERT INTO events SELECT 7, 'forged', stream, 99, type, schema, occurred_at, "
                      "recorded_at, data, meta, hash FROM events WHERE seq = 6"], 7),
    "edit version": (["UPDATE events SET version = 9 WHERE seq = 4"], 4),
}


@pytest.mark.parametrize("kind", TAMPERING)
def test_tampering_is_found_at_the_first_bad_seq(tmp_path, kind):
    statements, bad = TAMPERING[kind]
    path = tmp_path / "x.db"
    fill(path)
    tamper(path, *statements)
    with Ledger.open(path) as book, pytest.raises(VerificationError) as caught:
        book.verify()
    assert caught.value.seq == bad
    assert f"seq {bad}" in str(caught.value)


def test_a_pinned_head_catches_a_truncated_tail(tmp_path):
    path = tmp_path / "x.db"
    _, head = fill(path)
    tamper(path, "DELETE FROM events WHERE seq >= 5")
    with Ledger.open(path) as book:
        with pytest.raises(VerificationError, match="Merkle tree covers 6") as caught:
            book.verify()  # the chain itself is intact, but the Merkle tree remembers the tail
        assert caught.value.seq == 5
    sqlite3.connect(path).executescript(  # a tamperer who knows of the tree drops it too
        "DROP TRIGGER tree_blocks_no_delete; DROP TRIGGER tree_nodes_no_delete;"
        "DELETE FROM tree_blocks; DELETE FROM tree_nodes;")
    with Ledger.open(path) as book:
        assert book.verify()[0] == 4  # the chain and the tree, rebuilt from it, are intact
        with pytest.raises(VerificationError, match="pinned head") as caught:
            book.verify(head)
    assert caught.value.seq == 5


def test_verify_names_the_file(tmp_path):
    path = tmp_path / "x.db"
    fill(path)
    tamper(path, "UPDATE events SET data = '{}' WHERE seq = 1")
    with Ledger.open(path) as book, pytest.raises(VerificationError) as caught:
        book.verify()
    assert str(caught.value).startswith(f"{path}: seq 1:")


def test_hash_covers_every_field(book):
    a = book.append(CapacityCommissioned(site="s", provider="p", vendor="v", platform="x",
                                         gigawatts=Decimal("0.1")), occurred_at="2025-01-01")
    body = record_body(a.seq, a.id, a.stream, a.version, a.type, a.schema,
                       "2025-01-01T00:00:00.000000Z", a.recorded_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                       json.dumps(a.data, sort_keys=True, separators=(",", ":")), "{}")
    assert link(GENESIS, body) == a.hash


@given(count=st.integers(0, 12), data=st.data())
def test_verify_says_where_the_pinned_head_is(count, data):
    """``verify(head)`` gives the seq whose hash the pinned head is (0 for the hash before the
    first record), and stays the (records, head) pair it always was."""
    from ledger.chain import verify_rows
    from ledger.store import StoredEvent

    rows, previous = [], GENESIS
    for seq in range(1, count + 1):
        body = (seq, f"id-{seq}", f"s{seq % 3}", (seq + 2) // 3, "usage.reported", 1,
                "2025-09-22T00:00:00.000000Z", "2025-09-22T00:00:00.000000Z", "{}", "{}")
        previous = link(previous, record_body(*body))
        rows.append(StoredEvent(*body, previous))
    hashes = [GENESIS] + [row.hash for row in rows]
    at = data.draw(st.integers(0, count))
    found = verify_rows(rows, hashes[at])
    assert found == (count, hashes[-1]) and found.records == count and found.head == hashes[-1]
    assert found.pinned_seq == at
    assert verify_rows(rows).pinned_seq is None
    records, head = verify_rows(rows)  # still unpacks as a pair
    assert (records, head) == (count, hashes[-1])


def test_verify_takes_a_pinned_head_as_the_command_line_does(tmp_path):
    """Either case and spaces around are the same hash; anything that is not 64 hexadecimal
    digits is a ``UsageError`` (a mistake), never "records were removed from the tail"."""
    from ledger import UsageError

    path = tmp_path / "x.db"
    fill(path)
    with Ledger.open(path, load_entrypoints=False) as book:
        third = next(r.hash for r in book.read() if r.seq == 3)
        for given in (third, third.upper(), f"  {third}\n"):
            assert book.verify(given).pinned_seq == 3
        assert "pinned_seq=3" in repr(book.verify(third))
        for bad in ("abc", "", third[:-1], f"3 {third}", 123, third.encode()):
            with pytest.raises(UsageError, match="is not a hash"):
                book.verify(bad)
