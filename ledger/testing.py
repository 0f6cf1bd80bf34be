"""Reusable hypothesis machinery: a reference model of the ledger and a state machine that drives
a real ledger and the model side by side.

For the ledger's own tests, for another store (open it in ``LedgerMachine.open_ledger``), and for
plugin authors (``assert_replays_agree`` checks that a plugin's projections are pure folds). It
needs hypothesis: ``pip install 'gigaledger[test]'``.

The model is deliberately naive and independent of the implementation: records are dicts in a
list, the hash is ``sha256(previous + json.dumps(record, sort_keys=True))``, and the probe
plugin's validation, derivation and projection are re-stated in a few lines.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs

try:
    from hypothesis import event
    from hypothesis import strategies as st
    from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError("ledger.testing needs hypothesis: pip install 'gigaledger[test]'") from error

from . import fields
from .errors import ConflictError, LedgerError, Rejected
from .event import Event
from .hookspecs import hookimpl
from .appending import DERIVED_IDS
from .ledger import Ledger, NewEvent
from .record import Record
from .postgres_store import fresh_schema
from .store import COLUMNS

GENESIS = "0" * 64
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
#: The business dates the machine draws from, and replays "as of".
DATES = ("2025-09-22", "2025-12-31", "2026-02-27", "2026-06-30")

# --- the probe plugin: one event type that can be refused and derive others --------------------


@attrs.frozen
class Note(Event):
    """A test event: refused when ``reject`` is set, followed by ``echoes`` derived echoes."""

    type = "probe.note"
    stream_template = "note/{topic}"

    topic: str = fields.name()
    value: int = fields.whole(minimum=0, maximum=1000)
    echoes: int = fields.whole(minimum=0, maximum=3, default=0)
    reject: bool = fields.flag(default=False)


@attrs.frozen
class Echo(Event):
    """Derived from a note: one per echo."""

    type = "probe.echo"
    stream_template = "echo/{topic}"

    topic: str = fields.name()
    number: int = fields.whole(minimum=1, maximum=3)


class ProbeProjection:
    """Counts and sums of notes and echoes: the model re-computes it from its records."""

    name = "probe"
    handles = ("probe.note", "probe.echo")
    state_type = dict[str, Any]  # JSON types: snapshots need nothing more

    def initial(self) -> dict[str, Any]:
        return {"notes": 0, "echoes": 0, "total": 0, "by_topic": {}}

    def apply(self, state: dict[str, Any], event: Any, record: Any) -> None:
        if isinstance(event, Note):
            state["notes"] += 1
            state["total"] += event.value
            state["by_topic"][event.topic] = state["by_topic"].get(event.topic, 0) + event.value
        else:
            state["echoes"] += 1

    def summary(self, state: dict[str, Any]) -> dict[str, Any]:
        return {**state, "by_topic": dict(sorted(state["by_topic"].items()))}


class ProbePlugin:
    """The plugin the state machine loads (``plugins=[ProbePlugin]``); its name is the class's."""

    @staticmethod
    @hookimpl
    def register_event_types(register: Callable[[type[Event]], None]) -> None:
        register(Note)
        register(Echo)

    @staticmethod
    @hookimpl
    def register_projections(register: Callable[[Any], None]) -> None:
        register(ProbeProjection())

    @staticmethod
    @hookimpl
    def validate_event(event: Event) -> None:
        if isinstance(event, Note) and event.reject:
            raise Rejected("refused on purpose")

    @staticmethod
    @hookimpl
    def derive_events(event: Event) -> list[Event] | None:
        if isinstance(event, Note):
            return [Echo(topic=event.topic, number=n) for n in range(1, event.echoes + 1)]
        return None


# --- the reference model ------------------------------------------------------------------------


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _stored_time(day: str) -> str:
    return f"{day}T00:00:00.000000Z"


@attrs.define
class ModelLedger:
    """What the ledger must hold after each operation, computed the plain way."""

    records: list[dict[str, Any]] = attrs.field(factory=list)

    @property
    def head(self) -> str:
        return self.records[-1]["hash"] if self.records else GENESIS

    def version(self, stream: str, records: list[dict[str, Any]]) -> int:
        return sum(1 for r in records if r["stream"] == stream)

    def append(self, items: list[dict[str, Any]], recorded_at: str, fresh_ids: Iterator[str]) -> str:
        """Apply a batch: return ``"ok"``, or the name of the error that refuses it whole.

        ``fresh_ids`` yields the ids the real ledger gave the items that had none (random uuid4s
        no model can predict)."""
        records = list(self.records)
        try:
            for item in items:
                self._add(records, item, recorded_at, fresh_ids, cause=None, index=0)
        except (ConflictError, Rejected) as error:
            return type(error).__name__
        self.records = records
        return "ok"

    def _add(self, records: list[dict[str, Any]], item: dict[str, Any], recorded_at: str,
             fresh_ids: Iterator[str], cause: dict[str, Any] | None, index: int) -> None:
        defaults = {"echoes": 0, "reject": False} if item["type"] == "probe.note" else {}
        data = {**defaults, **item["data"]}
        stream = item.get("stream") or (
            f"note/{data['topic']}" if item["type"] == "probe.note" else f"echo/{data['topic']}")
        meta = dict(item.get("meta") or {})
        occurred = _stored_time(item["occurred_at"]) if item.get("occurred_at") else None
        id: str | None
        if cause is not None:
            plugin = ProbePlugin.__name__
            id = str(uuid.uuid5(DERIVED_IDS, f"{cause['id']}\x1f{plugin}\x1f{index}"))
            meta.update(causation_id=cause["id"],
                        correlation_id=cause["meta"].get("correlation_id", cause["id"]),
                        derived_by=plugin)
            if "source" in cause["meta"]:
                meta.setdefault("source", cause["meta"]["source"])
            occurred = cause["occurred_at"]
        else:
            id = item.get("id")
        if occurred is None:
            occurred = recorded_at
        if id is not None:
            existing = next((r for r in records if r["id"] == id), None)
            if existing is not None:
                same = (existing["type"], existing["stream"], existing["data"], existing["meta"]) == (
                    item["type"], stream, data, meta)
                if same and (item.get("occurred_at") is None or existing["occurred_at"] == occurred):
                    return
                raise ConflictError(f"id {id} exists with other content")
        else:
            id = next(fresh_ids, None) or str(uuid.uuid4())
        version = self.version(stream, records)
        if item.get("expected_version") is not None and item["expected_version"] != version:
            raise ConflictError(f"{stream} is at {version}")
        if item["type"] == "probe.note" and data.get("reject"):
            raise Rejected("refused on purpose")
        record = {
            "seq": len(records) + 1, "id": id, "stream": stream, "version": version + 1,
            "type": item["type"], "schema": 1, "occurred_at": occurred, "recorded_at": recorded_at,
            "data": data, "meta": meta,
        }
        previous = records[-1]["hash"] if records else GENESIS
        record["hash"] = hashlib.sha256((previous + _canonical(record)).encode()).hexdigest()
        records.append(record)
        if item["type"] == "probe.note":
            for number in range(1, data.get("echoes", 0) + 1):
                echo = {"type": "probe.echo", "data": {"number": number, "topic": data["topic"]}}
                self._add(records, echo, recorded_at, fresh_ids, record, number - 1)

    def probe(self, until: str | int | None = None) -> dict[str, Any]:
        """The probe projection's summary, folding the records up to a seq or a date."""
        state: dict[str, Any] = {"notes": 0, "echoes": 0, "total": 0, "by_topic": {}}
        for r in self.records:
            if isinstance(until, int) and r["seq"] > until:
                break
            if isinstance(until, str) and r["occurred_at"][:10] > until:
                continue
            if r["type"] == "probe.note":
                state["notes"] += 1
                state["total"] += r["data"]["value"]
                topic = r["data"]["topic"]
                state["by_topic"][topic] = state["by_topic"].get(topic, 0) + r["data"]["value"]
            elif r["type"] == "probe.echo":
                state["echoes"] += 1
        state["by_topic"] = dict(sorted(state["by_topic"].items()))
        return state


def assert_same_record(given: Record, stored: Record | None) -> None:
    """``given`` (what an append returned) is ``stored`` (the record read back) to the detail a
    caller sees: equal fields of the same types, ``meta``'s keys in the same order, and ``meta``
    read-only either way (``data`` is a dict, its keys in the event's or the stored order)."""
    assert stored is not None, f"seq {given.seq}: returned by append, but not in the log"
    assert given == stored, f"seq {given.seq}: append returned {given!r}, the log has {stored!r}"
    assert [type(value) for value in given] == [type(value) for value in stored], (
        f"seq {given.seq}: types {[type(v).__name__ for v in given]} returned, "
        f"{[type(v).__name__ for v in stored]} read back")
    assert list(given.meta) == list(stored.meta), f"seq {given.seq}: meta's keys in another order"
    for record in (given, stored):
        assert not hasattr(record.meta, "__setitem__"), f"seq {record.seq}: meta can be changed"


def record_dict(record: Any) -> dict[str, Any]:
    """A ledger Record as the model's plain dict (stored times as text)."""
    exported = record.to_json()
    return {key: exported[key] for key in COLUMNS}


# --- the state machine --------------------------------------------------------------------------

topics = st.sampled_from(["alpha", "beta", "gamma"])
notes = st.fixed_dictionaries(
    {"topic": topics, "value": st.integers(0, 1000)},
    optional={"echoes": st.integers(0, 3), "reject": st.booleans().filter(bool)},
)
items = st.fixed_dictionaries(
    {"type": st.just("probe.note"), "data": notes},
    optional={
        "id": st.sampled_from(["k1", "k2", "k3", "k4"]) | st.uuids().map(str),
        "stream": st.sampled_from(["shared/one", "shared/two"]),
        "expected_version": st.integers(0, 6),
        "occurred_at": st.sampled_from(DATES),
        "meta": st.fixed_dictionaries({}, optional={
            "source": st.sampled_from(["https://a.example", "https://b.example"]),
            "correlation_id": st.sampled_from(["deal-1", "deal-2"]),
        }),
    },
)


class LedgerMachine(RuleBasedStateMachine):
    """Drives a ledger and ``ModelLedger`` with the same operations; after every step they hold
    the same records (same head hash, hence the same chain), and every invariant of the design
    holds. Override ``open_ledger`` to run it against another store."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="gigaledger-machine-"))
        self.time = START
        self.book = self.open_ledger()
        self.model = ModelLedger()
        self.records_at_open = 0  # the model's records when ``book`` was opened

    # --- the ledger under test; override for another store -------------------------------------

    def open_ledger(self) -> Ledger:
        return Ledger.open(plugins=[ProbePlugin], load_entrypoints=False, clock=self.clock)

    def reopen(self) -> Ledger | None:
        """Close and open the same ledger again, or None when it cannot (in memory)."""
        return None

    def clock(self) -> datetime:
        return self.time

    def teardown(self) -> None:
        self.check_everything()
        self.book.close()
        for path in sorted(self.folder.glob("*"), reverse=True):
            path.unlink()
        self.folder.rmdir()

    # --- operations ---------------------------------------------------------------------------

    def _append(self, batch: list[dict[str, Any]]) -> None:
        self.time += timedelta(seconds=1)
        recorded = self.time.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        before = self.book.head()
        events = [NewEvent(Note(**item["data"]), item.get("occurred_at"), item.get("stream"),
                           item.get("expected_version"), item.get("id"), item.get("meta"))
                  for item in batch]
        returned: list[Record] = []
        try:
            returned = self.book.append_many(events)
            outcome = "ok"
        except LedgerError as error:
            outcome = type(error).__name__
            assert self.book.head() == before, "a refused batch changed the ledger"
        for record in returned:  # new or already stored: each as the log gives it back
            assert_same_record(record, self.book.get(record.id))
        # The ids the ledger made up for items without one, in the order it made them.
        new = [record_dict(r) for r in self.book.read(after=before[0])]
        fresh = iter([r["id"] for r in new if r["meta"].get("derived_by") is None
                      and r["id"] not in {i.get("id") for i in batch}])
        expected = self.model.append(batch, recorded, fresh)
        assert outcome == expected, f"ledger: {outcome}, model: {expected}"
        event(f"append: {outcome}")

    @rule(item=items)
    def append_one(self, item: dict[str, Any]) -> None:
        self._append([item])

    @rule(batch=st.lists(items, min_size=2, max_size=5))
    def append_batch(self, batch: list[dict[str, Any]]) -> None:
        self._append(batch)

    @precondition(lambda self: self.model.records)
    @rule(data=st.data())
    def repeat_an_id(self, data: st.DataObject) -> None:
        """Append again a stored record's id: with its own content (a no-op), or with other."""
        record = data.draw(st.sampled_from([r for r in self.model.records
                                            if r["meta"].get("derived_by") is None]))
        same = data.draw(st.booleans())
        value = record["data"]["value"] if same else (record["data"]["value"] + 1) % 1001
        content = {**record["data"], "value": value}
        item = {"type": "probe.note", "data": content, "id": record["id"], "stream": record["stream"],
                "meta": record["meta"]}
        self._append([item])

    @rule(data=st.data())
    def expect_the_current_version(self, data: st.DataObject) -> None:
        stream = data.draw(st.sampled_from(["shared/one", "note/alpha", "echo/beta"]))
        assert self.book.stream_version(stream) == self.model.version(stream, self.model.records)
        self._append([{"type": "probe.note", "data": {"topic": "alpha", "value": 1},
                       "stream": stream, "expected_version": self.book.stream_version(stream)}])

    @rule(until=st.integers(0, 60) | st.sampled_from(DATES))
    def replay_as_of(self, until: int | str) -> None:
        view = self.book.replay(until=until)
        assert view.report()["probe"] == self.model.probe(until)
        if isinstance(until, int):
            assert self.book.catch_up(view).report() == self.book.replay().report()

    @rule()
    def export_and_import(self) -> None:
        exported = self.folder / "export.jsonl"
        self.book.export_jsonl(exported)
        copy_path = self.folder / "copy.db"
        for leftover in self.folder.glob("copy.db*"):
            leftover.unlink()
        with Ledger.open(copy_path, plugins=[ProbePlugin], load_entrypoints=False) as copy:
            if self.model.records:
                copy.import_jsonl(exported)
            assert [record_dict(r) for r in copy.read()] == self.model.records
            if self.model.records:
                assert copy.import_jsonl(exported).appended == 0  # a re-import derives nothing
            assert copy.replay().report() == self.book.replay().report()

    @rule()
    def take_a_snapshot(self) -> None:
        assert self.book.snapshot() == len(self.model.records)
        assert self.book.replay().report()["probe"] == self.model.probe()

    @rule()
    def reopen_the_ledger(self) -> None:
        reopened = self.reopen()
        if reopened is not None:
            self.book = reopened
            self.records_at_open = len(self.model.records)

    # --- invariants ---------------------------------------------------------------------------

    @invariant()
    def same_records_as_the_model(self) -> None:
        assert self.book.head() == (len(self.model.records), self.model.head)

    @invariant()
    def the_records_stored_here_are_counted(self) -> None:
        """``records_stored``: what this object committed since it was opened, no more (a
        refused batch, an id already stored) and no less."""
        assert self.book.records_stored == len(self.model.records) - self.records_at_open

    @invariant()
    def the_chain_verifies(self) -> None:
        assert self.book.verify() == (len(self.model.records), self.model.head)

    @invariant()
    def the_live_view_is_the_replay(self) -> None:
        assert self.book.view.report()["probe"] == self.model.probe()

    def check_everything(self) -> None:
        """The full comparison, record by record (also implied by the head hash), at the end."""
        stored = [record_dict(r) for r in self.book.read()]
        assert stored == self.model.records
        streams: dict[str, list[int]] = {}
        for r in stored:
            streams.setdefault(r["stream"], []).append(r["version"])
        assert all(v == list(range(1, len(v) + 1)) for v in streams.values())
        assert len({r["id"] for r in stored}) == len(stored)


class FileLedgerMachine(LedgerMachine):
    """The same machine on a ledger file, closed and reopened along the way."""

    def open_ledger(self) -> Ledger:
        return Ledger.open(self.folder / "ledger.db", plugins=[ProbePlugin],
                           load_entrypoints=False, clock=self.clock)

    def reopen(self) -> Ledger:
        self.book.close()
        return self.open_ledger()


class PostgresLedgerMachine(LedgerMachine):
    """The same machine on PostgreSQL (needs psycopg): set ``url`` to a server the tests may
    write to; each run gets a schema of its own, dropped at the end."""

    url: str | None = None

    def __init__(self) -> None:
        if self.url is None:
            raise RuntimeError("set PostgresLedgerMachine.url to a PostgreSQL server first")
        self.location, self._drop = fresh_schema(self.url)
        super().__init__()

    def open_ledger(self) -> Ledger:
        return Ledger.open(self.location, plugins=[ProbePlugin], load_entrypoints=False,
                           clock=self.clock)

    def reopen(self) -> Ledger:
        self.book.close()
        return self.open_ledger()

    def teardown(self) -> None:
        try:
            super().teardown()
        finally:
            self._drop()


def assert_replays_agree(book: Ledger, splits: int = 5) -> None:
    """A plugin author's check: replaying is a pure fold. A replay from the first record, a
    replay from the snapshots, a second replay, the live view, and a prefix caught up all give the
    same report; the assertion names the first figure that differs and what usually causes it."""
    whole = book.replay(use_snapshots=False).report()
    _assert_same(book.view.report(), whole, "the live view",
                 "a validator or hook changing view[...] (a view's states are read-only)")
    _assert_same(book.replay().report(), whole, "a replay from the snapshots",
                 "a snapshot or restore that loses or changes part of the state")
    _assert_same(book.replay(use_snapshots=False).report(), whole, "a second replay",
                 "apply reading the clock, a file or another projection")
    count = len(book)
    for step in range(splits + 1):
        until = count * step // max(splits, 1)
        _assert_same(book.catch_up(book.replay(until=until)).report(), whole,
                     f"a replay to seq {until} caught up", "apply depending on what came before it "
                     "other than through its state")


def _assert_same(got: Any, whole: Any, what: str, cause: str, path: str = "report") -> None:
    """Assert ``got == whole``, naming the first key where they differ."""
    if got == whole:
        return
    if isinstance(got, dict) and isinstance(whole, dict):
        for key in sorted(set(got) | set(whole), key=str):
            if got.get(key, _ABSENT) != whole.get(key, _ABSENT):
                _assert_same(got.get(key, _ABSENT), whole.get(key, _ABSENT), what, cause,
                             f"{path}[{key!r}]")
    raise AssertionError(f"{what} differs from a full replay at {path}: {got!r}, against "
                         f"{whole!r} in the full replay (often {cause})")


_ABSENT = "(absent)"


__all__ = [
    "DATES",
    "Echo",
    "FileLedgerMachine",
    "PostgresLedgerMachine",
    "LedgerMachine",
    "ModelLedger",
    "Note",
    "fresh_schema",
    "ProbePlugin",
    "ProbeProjection",
    "assert_replays_agree",
    "record_dict",
]
