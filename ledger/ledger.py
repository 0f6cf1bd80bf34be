"""The Ledger: the public object that appends, reads, replays, imports, exports and verifies."""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from typing import IO, Any

import attrs

from .chain import GENESIS, link, record_body, verify_rows
from .clock import When, format_time, load_time, now, stored_time, until_bound
from .codec import Codec, dumps, loads
from .errors import ConflictError, LedgerError, PluginError, Rejected, VerificationError
from .event import Event
from .history import read_lines, write_lines
from .plugins import PluginHost, PluginInfo
from .record import Record
from .replay import View
from .snapshots import KEEP, Fingerprints, dump_state, load_state
from .store import Store
from .subscriptions import Subscription

#: How often (in records) a progress callback is called.
PROGRESS_EVERY = 5_000
#: Rows a subscription reads at a time.
BATCH = 1_000
#: ``progress(done, total)``: how far an import (bytes) or a replay (seqs) has got.
Progress = Callable[[int, int], None]
#: A snapshot is saved each time this many records were folded since the newest one.
SNAPSHOT_EVERY = 10_000
#: Derived ids are uuid5 names in this namespace: the same cause always derives the same ids.
DERIVED_IDS = uuid.UUID("6f1c1d2e-52c4-4e3b-9a57-3c0f4b1e9d10")
#: How deep derived events may derive further events before the chain is taken for a loop.
MAX_DERIVATION_DEPTH = 16
#: Rows kept in memory before they are written (still inside the same transaction).
FLUSH_EVERY = 1000
MAX_ID = 200


class PluginWarning(UserWarning):
    """An ``event_appended`` observer failed; the committed records stay."""


@attrs.frozen
class NewEvent:
    """An event to append with its own options, for ``append_many``."""

    event: Event
    occurred_at: When | None = None
    stream: str | None = None
    expected_version: int | None = None
    id: str | None = None
    meta: Mapping[str, Any] | None = None


@attrs.frozen
class ImportResult:
    """What an import did: records stored (derived ones included) and lines already present."""

    appended: int
    skipped: int
    head: int


class _Batch:
    """The state of one write transaction: the chain's head and the rows not yet written."""

    def __init__(self, store: Store, seq: int, head: str | None, recorded_at: datetime) -> None:
        self.store = store
        self.start = seq
        self.seq = seq
        self.hash = head or GENESIS
        self.recorded_at = recorded_at.astimezone(timezone.utc)
        self.recorded_text = format_time(self.recorded_at)
        self.versions: dict[str, int] = {}
        self.pending: list[tuple] = []
        self.pending_ids: dict[str, tuple] = {}
        self.skipped = 0

    def version(self, stream: str) -> int:
        current = self.versions.get(stream)
        if current is None:
            current = self.versions[stream] = self.store.stream_version(stream)
        return current

    def existing(self, id: str) -> tuple | None:
        row = self.pending_ids.get(id)
        if row is None:
            row = self.store.find([id]).get(id)
        return row

    def push(self, row: tuple) -> None:
        self.pending.append(row)
        self.pending_ids[row[1]] = row
        self.seq, self.hash = row[0], row[10]
        self.versions[row[2]] = row[3]
        if len(self.pending) >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.store.insert(self.pending)
            self.pending.clear()
            self.pending_ids.clear()


class Ledger:
    """An append-only, hash-chained event log with plugins deriving everything else from it.

    Open one with ``Ledger.open(path)`` (or ``Ledger.open()`` in memory) and use it as a context
    manager. A Ledger belongs to the thread that opened it.
    """

    def __init__(
        self,
        store: Store,
        host: PluginHost,
        *,
        clock: Callable[[], datetime] | None = None,
        snapshot_every: int = SNAPSHOT_EVERY,
    ) -> None:
        self._store = store
        self._host = host
        self._clock = clock or now
        self._codec = Codec(host.event_types)
        self._view: View | None = None
        self._fingerprints = Fingerprints(host.projections)
        self._snapshot_every = snapshot_every
        self._snapshotted: int | None = None  # the newest snapshot's seq, read when first needed
        self._subscriptions: list[Subscription] = []
        self._delivering = False

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        plugins: Iterable[Any] = (),
        load_entrypoints: bool = True,
        create: bool = True,
        timeout: float = 30.0,
        synchronous: str = "FULL",
        clock: Callable[[], datetime] | None = None,
        snapshot_every: int = SNAPSHOT_EVERY,
    ) -> Ledger:
        """Open the ledger at ``path`` (created when missing, unless ``create=False``), or a new
        one in memory.

        ``plugins`` adds plugins to the built-ins and the installed entry points: modules or
        objects, dotted module names, or paths of ``.py`` files. ``timeout`` is how many seconds
        to wait for another process's write lock. ``synchronous`` is SQLite's durability setting:
        ``"FULL"`` (the default) makes every commit durable before it returns, ``"NORMAL"``
        survives a crash of the process but not a power failure. ``clock`` replaces the system
        clock that sets ``recorded_at`` (for tests and simulations). A snapshot of the projections
        is saved each time ``snapshot_every`` more records have been folded (0: never), so that
        replays and reopened ledgers fold only the tail.
        """
        host = PluginHost(plugins, load_entrypoints=load_entrypoints)
        store = Store(path, create=create, timeout=timeout, synchronous=synchronous)
        return cls(store, host, clock=clock, snapshot_every=snapshot_every)

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the database; the Ledger is unusable afterwards."""
        self._store.close()

    @property
    def path(self) -> str | None:
        return self._store.path

    @property
    def plugins(self) -> list[PluginInfo]:
        """The loaded plugins, where they came from, and their hooks."""
        return self._host.info()

    @property
    def event_types(self) -> dict[str, type[Event]]:
        """Every registered event type, by type name."""
        return dict(self._codec.types)

    @property
    def plugin_manager(self) -> Any:
        """This ledger's pluggy ``PluginManager``."""
        return self._host.pm

    def event_from(self, type_name: str, data: Mapping[str, Any]) -> Event:
        """The event of a registered type from its JSON payload; ``Rejected`` names a bad field."""
        return self._codec.structure(type_name, data)

    def head(self) -> tuple[int, str]:
        """The last seq (0 when empty) and its hash (64 zeros when empty)."""
        seq, head = self._store.head()
        return seq, head or GENESIS

    def __len__(self) -> int:
        return self.head()[0]

    def stream_version(self, stream: str) -> int:
        """A stream's current version (0 when it has no event): what ``expected_version`` expects."""
        return self._store.stream_version(stream)

    # --- writing --------------------------------------------------------------------------------

    def append(
        self,
        event: Event,
        *,
        occurred_at: When | None = None,
        stream: str | None = None,
        expected_version: int | None = None,
        id: str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> Record:
        """Append one event (with everything plugins derive from it) and return its record.

        ``occurred_at`` defaults to now; ``stream`` to the event type's default; with
        ``expected_version`` the stream must be at that version (0: new) or ``ConflictError`` is
        raised; ``id`` is an idempotency key: the same id with the same content returns the
        existing record, with other content raises ``ConflictError``.
        """
        item = NewEvent(event, occurred_at, stream, expected_version, id, meta)
        return self.append_many([item])[0]

    def append_many(
        self,
        events: Iterable[Event | NewEvent],
        *,
        occurred_at: When | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> list[Record]:
        """Append several events atomically: all are stored, or none. ``occurred_at`` and
        ``meta`` apply to the items that do not set their own. Returns one record per item."""
        items = []
        for item in events:
            if not isinstance(item, NewEvent):
                item = NewEvent(item)
            if item.occurred_at is None and occurred_at is not None:
                item = attrs.evolve(item, occurred_at=occurred_at)
            if item.meta is None and meta is not None:
                item = attrs.evolve(item, meta=meta)
            items.append(item)
        with self._writing() as (batch, view):
            return [self._add(batch, view, item) for item in items]

    def import_jsonl(
        self, *paths: str | os.PathLike[str], progress: Progress | None = None
    ) -> ImportResult:
        """Append every line of the histories in one transaction: all of them, or nothing.

        Exported records (lines with ``seq`` and ``hash``) are restored as they were; their derived
        events are in the file, so nothing is derived again. A bad line raises an error whose
        text starts with ``FILE:LINE:``. ``progress(done, total)`` is called now and then with the
        bytes read so far and the size of all the files.
        """
        total = sum(os.path.getsize(p) for p in paths if os.path.isfile(p))
        done = 0
        with self._writing() as (batch, view):
            for path in paths:
                for where, line, size in read_lines(path):
                    try:
                        if "hash" in line:
                            self._restore(batch, view, line)
                        else:
                            self._add(batch, view, self._line_event(line))
                    except LedgerError as error:
                        raise error.located(where) from None
                    done += size
                    if progress is not None and batch.seq % PROGRESS_EVERY == 0:
                        progress(done, total)
        if progress is not None:
            progress(total, total)
        return ImportResult(batch.seq - batch.start, batch.skipped, batch.seq)

    @contextmanager
    def _writing(self) -> Iterator[tuple[_Batch, View]]:
        batch = None
        try:
            with self._store.transaction():
                seq, head = self._store.head()
                view = self._live_view(seq)
                batch = _Batch(self._store, seq, head, self._clock())
                yield batch, view
                batch.flush()
        except BaseException:
            if batch is not None and batch.seq != batch.start:
                self._view = None  # it folded what was rolled back: rebuild when next needed
            raise
        self._observe(batch.start, batch.seq)
        self._deliver()
        self._maybe_snapshot(self._view)

    def _add(
        self,
        batch: _Batch,
        view: View,
        item: NewEvent,
        cause: Record | None = None,
        plugin: str | None = None,
        index: int = 0,
        depth: int = 0,
    ) -> Record:
        event = item.event
        cls = self._codec.types.get(getattr(event, "type", None))  # type: ignore[arg-type]
        if cls is None:
            raise Rejected(f"unknown event type {getattr(event, 'type', event)!r}; "
                           "a loaded plugin must register it")
        if not isinstance(event, cls):
            raise Rejected(f"{type(event).__name__} is not the class registered for {cls.type!r}")
        data = self._codec.unstructure(event)
        data_text = dumps(data)
        meta = self._meta(item.meta, cause, plugin)
        meta_text = dumps(meta)
        stream = event.default_stream() if item.stream is None else item.stream
        _check_name("stream", stream)
        if item.occurred_at is not None:
            occurred = stored_time(item.occurred_at)
        elif cause is not None:
            occurred = format_time(cause.occurred_at)
        else:
            occurred = batch.recorded_text
        if cause is not None:
            id = str(uuid.uuid5(DERIVED_IDS, f"{cause.id}\x1f{plugin}\x1f{index}"))
        else:
            id = item.id
        if id is not None:
            _check_name("id", id)
            row = batch.existing(id)
            if row is not None:
                same = (row[4], row[2], row[8], row[9]) == (cls.type, stream, data_text, meta_text)
                if same and (item.occurred_at is None or row[6] == occurred):
                    if cause is None:
                        batch.skipped += 1
                    return self._record(row)
                raise ConflictError(f"id {id!r} exists already (seq {row[0]}) with other content")
        else:
            id = str(uuid.uuid4())
        current = batch.version(stream)
        expected = item.expected_version
        if expected is not None and expected != current:
            raise ConflictError(
                f"stream {stream!r} is at version {current}, not the expected {expected}"
            )
        seq, version = batch.seq + 1, current + 1
        body = record_body(seq, id, stream, version, cls.type, cls.schema, occurred,
                           batch.recorded_text, data_text, meta_text)
        try:
            digest = link(batch.hash, body)
        except UnicodeEncodeError:
            raise Rejected("data or meta holds text that is not valid Unicode") from None
        record = Record(seq, id, stream, version, cls.type, cls.schema, load_time(occurred),
                        batch.recorded_at, data, meta, digest, event)
        self._validate(event, record, view)
        batch.push((seq, id, stream, version, cls.type, cls.schema, occurred,
                    batch.recorded_text, data_text, meta_text, digest))
        view.fold(record, event)
        for deriver, derived in self._derive(event, record, view):
            if depth >= MAX_DERIVATION_DEPTH:
                raise PluginError(
                    f"plugin {deriver}: derived events more than {MAX_DERIVATION_DEPTH} levels "
                    f"deep from seq {seq}; is derive_events looping?",
                    plugin=deriver,
                )
            for number, follower in enumerate(derived):
                self._add(batch, view, NewEvent(follower), record, deriver, number, depth + 1)
        return record

    def _restore(self, batch: _Batch, view: View, line: Mapping[str, Any]) -> None:
        """Store an exported record as it was, after checking it continues the chain."""
        id = line["id"]
        _check_name("id", id)
        data_text, meta_text = dumps(line["data"]), dumps(line["meta"])
        row = batch.existing(id)
        given = (line["seq"], id, line["stream"], line["version"], line["type"], line["schema"],
                 line["occurred_at"], line["recorded_at"], data_text, meta_text, line["hash"])
        if row is not None:
            if tuple(row) != given:
                raise ConflictError(f"id {id!r} exists already (seq {row[0]}) with other content")
            batch.skipped += 1
            return
        for key in ("occurred_at", "recorded_at"):
            if stored_time(line[key], key) != line[key]:
                raise Rejected(f"{key}: {line[key]!r} is not in the stored form "
                               "YYYY-MM-DDTHH:MM:SS.ffffffZ")
        if line["seq"] != batch.seq + 1:
            raise ConflictError(
                f"record seq {line['seq']} cannot follow this ledger's seq {batch.seq}: import an "
                "export into an empty ledger, or leave out seq and hash to append the events anew"
            )
        if line["version"] != batch.version(line["stream"]) + 1:
            raise ConflictError(f"record seq {line['seq']}: stream {line['stream']!r} "
                                f"is at version {batch.version(line['stream'])}")
        body = record_body(*given[:10])
        if link(batch.hash, body) != line["hash"]:
            raise Rejected(f"record seq {line['seq']}: hash does not match: the record was "
                           "altered, or does not follow the previous one")
        event = self._codec.structure(line["type"], line["data"], line["schema"])
        record = self._record(given, event)
        self._validate(event, record, view)
        batch.push(given)
        view.fold(record, event)

    def _line_event(self, line: Mapping[str, Any]) -> NewEvent:
        event = self._codec.structure(line["type"], line["data"])
        return NewEvent(event, line["occurred_at"], line.get("stream"), None,
                        line.get("id"), line.get("meta"))

    def _meta(
        self, given: Mapping[str, Any] | None, cause: Record | None, plugin: str | None
    ) -> dict[str, Any]:
        meta: dict[str, Any] = {}
        if given:
            if not isinstance(given, Mapping) or not all(isinstance(k, str) for k in given):
                raise Rejected("meta: expected an object with string keys")
            if "derived_by" in given and cause is None:
                raise Rejected("meta.derived_by: set by the ledger on derived events only")
            try:
                meta = loads(dumps(given))
            except (TypeError, ValueError) as error:
                raise Rejected(f"meta: not JSON: {error}") from None
        if cause is not None:
            meta["causation_id"] = cause.id
            meta["correlation_id"] = cause.meta.get("correlation_id", cause.id)
            meta["derived_by"] = plugin
            if "source" in cause.meta and "source" not in meta:
                meta["source"] = cause.meta["source"]
        return meta

    # --- plugins on the append path -------------------------------------------------------------

    def _validate(self, event: Event, record: Record, view: View) -> None:
        arguments = {"event": event, "record": record, "view": view}
        for plugin, function, argnames in self._host.validators:
            try:
                function(*[arguments[name] for name in argnames])
            except Rejected as error:
                error.message = f"{plugin}: {error.message}"
                raise
            except LedgerError:
                raise
            except Exception as error:
                raise PluginError(
                    f"plugin {plugin}: validate_event failed on {record.type}: "
                    f"{type(error).__name__}: {error}",
                    plugin=plugin,
                ) from error

    def _derive(self, event: Event, record: Record, view: View) -> list[tuple[str, list[Event]]]:
        arguments = {"event": event, "record": record, "view": view}
        results = []
        for plugin, function, argnames in self._host.derivers:
            try:
                derived = function(*[arguments[name] for name in argnames])
                derived = [] if derived is None else list(derived)
            except LedgerError:
                raise
            except Exception as error:
                raise PluginError(
                    f"plugin {plugin}: derive_events failed on {record.type}: "
                    f"{type(error).__name__}: {error}",
                    plugin=plugin,
                ) from error
            for follower in derived:
                if not isinstance(follower, Event):
                    raise PluginError(
                        f"plugin {plugin}: derive_events returned {follower!r}, not an event",
                        plugin=plugin,
                    )
            if derived:
                results.append((plugin, derived))
        return results

    def _observe(self, start: int, end: int) -> None:
        observers = self._host.observers
        if not observers or end == start:
            return
        view = self._view
        for row in self._store.rows(start, upto=end):
            record = self._record(row)
            arguments = {"record": record, "view": view}
            for plugin, function, argnames in observers:
                try:
                    function(*[arguments[name] for name in argnames])
                except Exception as error:
                    warnings.warn(
                        f"plugin {plugin}: event_appended failed on seq {record.seq}: "
                        f"{type(error).__name__}: {error} (the record is stored)",
                        PluginWarning,
                        stacklevel=2,
                    )

    # --- subscriptions ------------------------------------------------------------------------

    def subscribe(self, callback: Callable[[Record], Any], after: int = 0) -> Subscription:
        """Call ``callback(record)`` for every record after seq ``after``, once each, in order:
        first those already stored, then each one this ledger appends, right after its commit.
        Records other processes append reach it on the next append here, or on ``poll()``.
        A failing callback is reported as a ``PluginWarning`` and the subscription moves on.
        """
        subscription = Subscription(callback, after, self._subscriptions.remove)
        self._subscriptions.append(subscription)
        self._deliver()
        return subscription

    def poll(self) -> None:
        """Deliver to the subscriptions what other processes have appended since."""
        self._deliver()

    def _deliver(self) -> None:
        if not self._subscriptions or self._delivering:
            return
        self._delivering = True  # a callback that appends is served by the loop below
        try:
            for subscription in list(self._subscriptions):
                while subscription.active:
                    rows = list(self._store.rows(subscription.position, upto=None, limit=BATCH))
                    if not rows:
                        break
                    for row in rows:
                        if not subscription.active or row[0] <= subscription.position:
                            continue
                        record = self._record(row)
                        subscription.position = record.seq
                        try:
                            subscription.callback(record)
                        except Exception as error:
                            warnings.warn(
                                f"{subscription!r}: failed on seq {record.seq}: "
                                f"{type(error).__name__}: {error} (the record is stored)",
                                PluginWarning, stacklevel=3)
        finally:
            self._delivering = False

    def follow(
        self,
        after: int = 0,
        *,
        types: Iterable[str] | None = None,
        stream: str | None = None,
        interval: float = 0.5,
    ) -> Iterator[Record]:
        """The records after seq ``after``, then forever those appended later by any process,
        polling every ``interval`` seconds. Stop iterating to stop following."""
        if isinstance(types, str):
            types = [types]
        position = after
        while True:
            head = self._store.head()[0]
            for row in self._store.rows(position, types=types, stream=stream, upto=head):
                yield self._record(row)
            position = head
            time.sleep(interval)

    # --- reading --------------------------------------------------------------------------------

    def read(
        self, after: int = 0, *, types: Iterable[str] | None = None, stream: str | None = None
    ) -> Iterator[Record]:
        """The records after seq ``after``, in order, streamed from the database."""
        if isinstance(types, str):
            types = [types]
        for row in self._store.rows(after, types=types, stream=stream):
            yield self._record(row)

    def get(self, id: str) -> Record | None:
        """The record with this id, or None."""
        row = self._store.find([id]).get(id)
        return None if row is None else self._record(row)

    def replay(
        self,
        until: When | int | None = None,
        *,
        use_snapshots: bool = True,
        progress: Progress | None = None,
    ) -> View:
        """Fold the log through every projection: the whole log, or up to ``until``.

        ``until`` is a seq (int), or a date or time: then the records whose ``occurred_at`` is on
        or before it (a date covers its whole UTC day) are folded, in seq order. Each projection
        starts from its newest valid snapshot before that point (unless ``use_snapshots`` is
        false) and folds only the records after it. ``progress(seq, head)`` is called now and
        then while records are folded.
        """
        if until is None:
            live = self._view
            if use_snapshots and live is not None and live.seq == self._store.head()[0]:
                copied = self._copy(live)
                if copied is not None:
                    return copied
            view = self._build(use_snapshots=use_snapshots, progress=progress)
        elif isinstance(until, int) and not isinstance(until, bool):
            view = self._build(upto=until, use_snapshots=use_snapshots, progress=progress)
            view.until = str(until)
        else:
            view = self._build(before_time=until_bound(until), use_snapshots=use_snapshots,
                               progress=progress)
            view.until = until.isoformat() if hasattr(until, "isoformat") else str(until)
            return view
        if use_snapshots:
            self._maybe_snapshot(view)
        return view

    def snapshot(self) -> int:
        """Save the projections' states at the head now; return its seq (0 for an empty log)."""
        with self._store.transaction():
            seq, _ = self._store.head()
            view = self._live_view(seq)
            self._save_snapshot(view)
        return seq

    def catch_up(self, view: View, until: int | None = None) -> View:
        """Fold into ``view`` the records after ``view.seq`` (up to seq ``until``) and return it.

        Replaying to a seq and catching up gives the same view as replaying at once. A view
        replayed as of a date skipped later-dated records before its seq, so it cannot catch up.
        """
        if view.until is not None and not view.until.isdigit():
            raise LedgerError(f"a view as of {view.until} cannot catch up; replay it to a seq")
        self._fold(view, self._store.rows(view.seq, upto=until))
        view.until = None if until is None else str(until)
        return view

    @property
    def view(self) -> View:
        """The live view, at the head: kept current as this ledger appends, and caught up with
        other processes' appends when read. It moves with the ledger; ``replay()`` gives a view
        that stays put."""
        return self._live_view(self._store.head()[0])

    def verify(self, head: str | None = None) -> tuple[int, str]:
        """Recompute the whole chain, seq contiguity and stream versions, and refold the log to
        check every snapshot of the loaded projections: return (records, head hash), or raise
        ``VerificationError`` naming the first bad seq. ``head``, a hash pinned earlier, must be
        in the chain (this catches records cut from the tail)."""
        with closing(self._checked_rows()) as rows:
            try:
                return verify_rows(rows, head)
            except LedgerError as error:
                raise error.located(self.path or "ledger") from None

    def _checked_rows(self) -> Iterator[tuple]:
        """The stored rows; when snapshots exist, each is also folded into a fresh view, which
        must match every snapshot at its seq."""
        expected: dict[int, list[tuple[str, str, str]]] = {}
        for name, fingerprint in self._fingerprints.of.items():
            for seq, digest, _, text in self._store.snapshots(name, fingerprint, None, None):
                expected.setdefault(seq, []).append((name, digest, text))
        view = self._new_view() if expected else None
        with closing(self._store.rows()) as rows:
            for row in rows:
                yield row
                if view is None:
                    continue
                self._fold(view, (row,))
                for name, digest, text in expected.get(row[0], ()):
                    if digest != row[10]:
                        continue  # taken from another log: never used, nothing to check
                    if dump_state(self._host.projections[name], view[name]) != text:
                        raise VerificationError(
                            f"seq {row[0]}: the snapshot of {name} does not match the log",
                            seq=row[0])

    def export_jsonl(self, target: str | os.PathLike[str] | IO[str]) -> int:
        """Write every record, as stored, one JSON object a line; return how many."""
        if hasattr(target, "write"):
            return write_lines(self._store.rows(), target)  # type: ignore[arg-type]
        with open(os.fspath(target), "w", encoding="utf-8") as out:  # type: ignore[arg-type]
            return write_lines(self._store.rows(), out)

    # --- folding --------------------------------------------------------------------------------

    def _new_view(self) -> View:
        return View(self._host.projections, self._host.projection_owners)

    def _fold(self, view: View, rows: Iterable[tuple], progress: Progress | None = None) -> None:
        total = self._store.head()[0] if progress is not None else 0
        for row in rows:
            if view.handlers(row[4]):
                record = self._record(row)
                view.fold(record, record.event)
            else:
                view.skip(row[0], row[6])
            if progress is not None and row[0] % PROGRESS_EVERY == 0:
                progress(row[0], total)
        if progress is not None:
            progress(view.seq, total)

    def _build(self, *, upto: int | None = None, before_time: str | None = None,
               use_snapshots: bool = True, progress: Progress | None = None) -> View:
        """A view folded from the log; each projection starts from its newest usable snapshot,
        and the records are folded in segments, each into the projections that are behind."""
        view = self._new_view()
        starts = {name: (0, None) for name in view}
        if use_snapshots:
            for name in self._fingerprints.of:
                found = self._usable_snapshot(name, upto, before_time)
                if found is not None:
                    seq, occurred, state = found
                    view.restore(name, state)
                    starts[name] = (seq, occurred)
        bounds = sorted({start for start, _ in starts.values()})
        view.seq, view.occurred_text = min(starts.values(), key=lambda s: s[0])
        for position, start in enumerate(bounds):
            end = bounds[position + 1] if position + 1 < len(bounds) else upto
            view.activate([name for name, (seq, _) in starts.items() if seq <= start])
            if view.seq < start:  # every projection but those behind is at `start` already
                view.seq, view.occurred_text = start, next(
                    occurred for seq, occurred in starts.values() if seq == start)
            self._fold(view, self._store.rows(start, upto=end, before_time=before_time), progress)
        return view

    def _usable_snapshot(self, name: str, upto: int | None,
                         before_time: str | None) -> tuple[int, str | None, Any] | None:
        """The newest snapshot of a projection that fits this code and this log, if any."""
        projection = self._host.projections[name]
        found = self._store.snapshots(name, self._fingerprints.of[name], upto, before_time)
        for seq, digest, occurred, text in found:
            if self._store.hash_at(seq) != digest:
                continue  # taken from another log (or before a restore): not this one's
            try:
                return seq, occurred, load_state(projection, text)
            except Exception:  # a state that no longer loads is as good as stale
                continue
        return None

    def _copy(self, view: View) -> View | None:
        """An independent copy of a view, through the snapshot form of each state (None when a
        projection cannot be snapshotted)."""
        if any(name not in self._fingerprints for name in view):
            return None
        copy = self._new_view()
        for name in view:
            projection = self._host.projections[name]
            copy.restore(name, load_state(projection, dump_state(projection, view[name])))
        copy.seq, copy.occurred_text = view.seq, view.occurred_text
        return copy

    def _save_snapshot(self, view: View) -> None:
        """Store the view's states at its seq; call inside a write transaction."""
        digest = self._store.hash_at(view.seq)
        if digest is None or not self._fingerprints.of:
            return
        rows = [
            (name, view.seq, fingerprint, digest, view.occurred_text,
             dump_state(self._host.projections[name], view[name]))
            for name, fingerprint in self._fingerprints.of.items()
        ]
        self._store.save_snapshots(rows, KEEP)
        self._snapshotted = max(self._snapshotted or 0, view.seq)

    def _maybe_snapshot(self, view: View | None) -> None:
        """Save a snapshot when ``snapshot_every`` records were folded since the newest one."""
        if view is None or not self._snapshot_every or view.until not in (None, str(view.seq)):
            return
        if self._snapshotted is None:
            self._snapshotted = self._store.newest_snapshot()
        if view.seq - self._snapshotted < self._snapshot_every:
            return
        try:
            with self._store.transaction():
                self._save_snapshot(view)
        except sqlite3.OperationalError:
            pass  # a read-only file, or a busy one: the snapshot is only a cache

    def _live_view(self, seq: int) -> View:
        """The view used to validate appends, caught up to ``seq`` (another process may have
        appended since)."""
        view = self._view
        if view is None or view.seq > seq:
            view = self._build(upto=seq)
        if view.seq < seq:
            self._fold(view, self._store.rows(view.seq, upto=seq))
        self._view = view
        return view

    def _record(self, row: tuple, event: Event | None = None) -> Record:
        seq, id, stream, version, type_name, schema, occurred, recorded, data_text, meta_text, digest = row
        data = loads(data_text)
        if event is None and type_name in self._codec.types:
            try:
                event = self._codec.structure(type_name, data, schema)
            except LedgerError as error:
                raise LedgerError(
                    f"seq {seq}: the stored {type_name} does not fit its event class: {error}"
                ) from None
        return Record(seq, id, stream, version, type_name, schema, load_time(occurred),
                      load_time(recorded), data, loads(meta_text), digest, event)


def _check_name(field: str, value: Any) -> None:
    if not isinstance(value, str) or not value or len(value) > MAX_ID or not value.isprintable():
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        raise Rejected(f"{field}: expected non-empty printable text of at most {MAX_ID} characters,"
                       f" got {shown}")
