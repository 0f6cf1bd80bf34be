"""Invariants under any sequence of appends: contiguous seqs and versions, unique ids, a valid chain."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import ConflictError, Ledger, NewEvent, Rejected

from .strategies import any_event

streams = st.sampled_from([None, "a", "b", "c/d"])
items = st.builds(
    NewEvent,
    event=any_event,
    stream=streams,
    expected_version=st.none() | st.integers(0, 4),
    id=st.none() | st.sampled_from(["k1", "k2", "k3"]),
    occurred_at=st.sampled_from(["2025-09-22", "2026-02-27T10:00:00Z"]),
)


@settings(max_examples=60)
@given(batches=st.lists(st.lists(items, min_size=1, max_size=6), min_size=1, max_size=6))
def test_seq_and_versions_stay_contiguous_after_any_batches(batches):
    with Ledger.open(load_entrypoints=False) as book:
        for batch in batches:
            before = book.head()
            try:
                book.append_many(batch)
            except (ConflictError, Rejected):
                assert book.head() == before  # refused: nothing of the batch stored
        rows = list(book.read())
        assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
        versions: dict[str, list[int]] = {}
        for r in rows:
            versions.setdefault(r.stream, []).append(r.version)
        assert all(v == list(range(1, len(v) + 1)) for v in versions.values())
        assert len({r.id for r in rows}) == len(rows)
        assert book.verify() == (len(rows), book.head()[1])


@settings(max_examples=40)
@given(events=st.lists(any_event, min_size=1, max_size=10), split=st.integers(0, 10))
def test_replaying_is_a_pure_function_of_the_log(events, split):
    with Ledger.open(load_entrypoints=False) as book:
        for event in events:
            try:
                book.append(event, occurred_at="2026-01-01")
            except Rejected:
                pass
        first, second = book.replay().report(), book.replay().report()
        assert first == second
        assert book.replay(until=len(book)).report()["investment"] == first["investment"]
