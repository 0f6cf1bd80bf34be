"""The Ledger: the public object that appends, reads, replays, imports, exports and verifies."""

from __future__ import annotations

import io
import os
import time
import warnings
import weakref
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from contextlib import closing
from datetime import datetime
from typing import IO, Any, TypeVar

import attrs

from .appending import Appender
from .batch import Batch
from .chain import GENESIS, Verified, pinned_hash, verify_rows
from .clock import When, now, since_bound, until_bound, written_seq
from .codec import Codec
from .errors import (LedgerError, PluginError, PluginWarning, StorageError, StoreBusy,
                     UsageError, VerificationError, decoding, undecodable)
from .event import Event
from .explain import Explanation, Finding, explain
from .folding import PROGRESS_EVERY, Folder, Progress
from .files import replacing
from .hints import did_you_mean
from .history import record_line, write_lines
from .materialize import materialize
from .plugins import PluginHost, PluginInfo
from .record import Record
from .replay import View
from .scenarios import ScenarioWarning, mixed_histories, mixed_with_ledger
from .store import Store, StoredEvent, open_store
from .subscriptions import Subscription
from . import readahead, transparency
from .readahead import READY
from .checkpoint import Checkpoint
from .clock import format_time
from .proofs import ConsistencyProof, InclusionProof
from .signed_note import Signer

T = TypeVar("T")

#: A snapshot is saved each time this many records were folded since the newest one.
SNAPSHOT_EVERY = 10_000
#: Rows a subscription reads at a time.
BATCH = 1_000
#: Stream versions remembered between appends (more streams than this: looked up again).
VERSIONS_KEPT = 100_000


def _check_options(timeout: Any, snapshot_every: Any, clock: Any) -> None:
    """Refuse, when the ledger opens, options that would fail later (an append that has
    committed, then fails on ``snapshot_every="2"``): ``UsageError`` naming the option."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout >= 0:
        raise UsageError(f"timeout: seconds to wait for another writer, a number from 0, not "
                         f"{timeout!r}")
    if isinstance(snapshot_every, bool) or not isinstance(snapshot_every, int) \
            or snapshot_every < 0:
        raise UsageError(f"snapshot_every: a whole number of records from 0 (0: never), not "
                         f"{snapshot_every!r}")
    if clock is not None and not callable(clock):
        raise UsageError(f"clock: a function that returns the time now, not "
                         f"{type(clock).__name__} {clock!r}")


#: SQLite's integers: a seq or a limit beyond them is a mistake, not a query.
_MAX_INT = 2**63 - 1


def seq_or_time(until: When | int | None) -> When | int | None:
    """``until`` as given to ``replay``, ``read`` or ``catch_up``: a seq (an int, or ``"#18"`` /
    ``"seq:18"`` as the command line writes it), a date or time, or None; ``UsageError`` for a
    boolean or a negative seq."""
    if isinstance(until, bool):
        raise UsageError("until: a seq, a date or a time, not a boolean")
    if isinstance(until, str) and (seq := written_seq(until)) is not None:
        until = seq  # a seq as the command line writes it: #18 or seq:18
    if isinstance(until, int) and not 0 <= until <= _MAX_INT:
        raise UsageError(f"until: a seq is a whole number from 0, not {until}")
    return until


def whole(name: str, value: Any, *, none: bool = False) -> None:
    """Refuse (``UsageError``) anything but a whole number from 0 for ``after`` or ``limit``
    (None too, where ``none``): SQLite would compare text or a float with the seqs silently."""
    if value is None and none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_INT:
        what = "a seq (a whole number from 0)" if name == "after" else "a whole number from 0"
        raise UsageError(f"{name}: {what}, not {value!r}")


def bounds(until: When | int | None) -> tuple[int | None, str | None]:
    """``until`` as the (seq, time) bounds of a query: a seq (int), or the stored time text of
    the first moment after a date or time."""
    until = seq_or_time(until)
    if until is None:
        return None, None
    if isinstance(until, int):
        return until, None
    return None, until_bound(until)


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
        self._folder = Folder(store, host, self._codec)
        self._appender = Appender(self._codec, host, self._folder.decode)
        self._view: View | None = None  # the live view, at the head: validates appends
        self._snapshot_every = snapshot_every
        self._subscriptions: list[Subscription] = []
        self._delivering = False
        self._shared: list[weakref.ref[View]] = []  # views replay() handed out
        # After a commit: SQLite's data_version then, and the head and stream versions we left,
        # valid for the next write as long as no other connection has committed since.
        self._last: tuple[int, int, str, dict[str, int]] | None = None

    @property
    def records_stored(self) -> int:
        """How many records this object has stored since it was opened (appended, derived,
        imported or copied in, and committed), also when the call that stored them was then
        interrupted: on SQLite, Ctrl-C lands before a commit or after it is counted, never
        between (``ledger/interrupts.py``)."""
        return self._store.stored

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
        readonly: bool | None = False,
        builtins: bool = True,
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
        replays and reopened ledgers fold only the tail. ``readonly=True`` opens an existing
        ledger for reading only (every write raises ``ReadOnly``); ``readonly=None`` does so when
        the file, its folder or its medium cannot be written. ``builtins=False`` leaves the
        built-in domain out: a bare engine with no event types but those of ``plugins`` (and the
        entry points), for a domain of one's own.
        """
        if isinstance(plugins, (str, os.PathLike)):
            plugins = [plugins]  # one plugin, not the letters of its name
        _check_options(timeout, snapshot_every, clock)
        host = PluginHost(plugins, load_entrypoints=load_entrypoints, builtins=builtins)
        store = open_store(path, create=create, timeout=timeout, synchronous=synchronous,
                           readonly=readonly)
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
    def readonly(self) -> bool:
        """Whether this ledger refuses writes (opened read-only)."""
        return self._store.readonly

    @property
    def plugins(self) -> list[PluginInfo]:
        """The loaded plugins, where they came from, and their hooks."""
        return self._host.info()

    @property
    def projections(self) -> dict[str, Any]:
        """Every registered projection, by name (the report's sections)."""
        return dict(self._host.projections)

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

    def info(self) -> dict[str, Any]:
        """What the log holds: ``records``, ``head``, ``streams``, ``by_type`` (records by type),
        ``first_occurred_at`` and ``last_occurred_at``, ``snapshots`` and ``snapshot_seq``,
        ``file_bytes`` (with SQLite's write-ahead log; None off a file), ``readonly``, and
        ``unknown_types``: the types in the log that no loaded plugin registers, with their
        counts (the plugins the log needs)."""
        seq, head = self.head()
        stats = self._store.stats()
        if not all(isinstance(name, str) for name in stats["by_type"]):
            raise StorageError(f"{self.path or 'ledger'}: a stored record's type is not text: "
                               "the file may be damaged; gigaledger verify names the first bad "
                               "seq")
        unknown = {name: count for name, count in stats["by_type"].items()
                   if name not in self._codec.types}
        size = None
        if self.path is not None and os.path.isfile(self.path):
            size = sum(os.path.getsize(name) for name in (self.path, self.path + "-wal")
                       if os.path.isfile(name))
        return {"path": self.path, "records": seq, "head": head, **stats, "file_bytes": size,
                "readonly": self.readonly, "unknown_types": unknown}

    def stream_names(self, limit: int = 10_000) -> list[str]:
        """Up to ``limit`` distinct stream names of the log, in order."""
        return self._store.stream_names(limit)

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
        add = self._appender.add
        return self._write(lambda batch, view: add(batch, view, event, occurred_at, stream,
                                                   expected_version, id, meta))

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
        add = self._appender.add
        return self._write(lambda batch, view: [
            add(batch, view, i.event, i.occurred_at, i.stream, i.expected_version, i.id, i.meta)
            for i in items])

    def import_jsonl(
        self, *paths: str | os.PathLike[str], progress: Progress | None = None
    ) -> ImportResult:
        """Append every line of the histories in one transaction: all of them, or nothing.

        Exported records (lines with ``seq`` and ``hash``) are restored as they were; their derived
        events are in the file, so nothing is derived again. A bad line raises an error whose
        text starts with ``FILE:LINE:``. ``progress(done, total)`` is called now and then with the
        bytes read so far and the size of all the files. Histories with scenario records
        (``meta.scenario``) imported together with histories without any raise a
        ``ScenarioWarning`` naming them. A large history is read ahead by a forked child process
        where that is safe (``ledger/readahead.py``): the same rows and errors, on two cores.
        Into an empty ledger, the store's indexes of the records may be built once, before the
        commit (``Store.defer_indexes``).
        """
        for path in paths:
            if not isinstance(path, (str, os.PathLike)):
                hint = (" (give several as import_jsonl(*paths))" if isinstance(path, (list, tuple))
                        else "")
                raise UsageError(f"import_jsonl takes the paths of history files, not "
                                 f"{type(path).__name__}{hint}")
        total = sum(os.path.getsize(p) for p in paths if os.path.isfile(p))
        appender = self._appender
        add_line, add_sent = appender.add_line, appender.add_sent
        scenarios = {os.fspath(path): 0 for path in paths}
        held = [0, 0]  # the records and scenario records the ledger held before the import

        def import_all(batch: Batch, view: View) -> ImportResult:
            held[:] = [batch.start, view.scenario_records]
            if batch.fresh:  # nothing to look up: the indexes are built once, at the end
                self._store.defer_indexes()
            done = count = 0
            for path in paths:
                with closing(readahead.items(path, appender.prepare_line)) as lines:
                    for kind, number, size, line, mark in lines:  # (closing ends the child)
                        try:
                            if kind == READY:
                                add_sent(batch, view, line)
                            else:
                                add_line(batch, view, line)
                        except (StorageError, StoreBusy):  # the store failed, not the line
                            raise
                        except LedgerError as error:
                            raise error.located(f"{path}:{number}") from None
                        scenarios[os.fspath(path)] += mark
                        done += size
                        count += 1
                        if progress is not None and count % PROGRESS_EVERY == 0:
                            progress(done, total)
            return ImportResult(batch.seq - batch.start, batch.skipped, batch.seq)

        result = self._write(import_all)
        if progress is not None:
            progress(total, total)
        mixed = mixed_histories(scenarios) or mixed_with_ledger(held[0], held[1], scenarios)
        if mixed is not None:
            warnings.warn(mixed, ScenarioWarning, stacklevel=2)
        return result

    def _write(self, work: Callable[[Batch, View], T]) -> T:
        """Run ``work(batch, view)`` in one write transaction: commit what it appended, or roll
        all of it back; then tell the observers and subscribers."""
        store = self._store
        store.begin()
        batch = None
        try:
            changes = store.data_version()
            head: str | None
            if self._last is not None and self._last[0] == changes:
                _, seq, head, versions = self._last  # nobody else wrote since our last commit
            else:
                (seq, head), versions = store.head(), {}
            self._last = None
            view = self._live_view(seq)
            batch = Batch(store, seq, head, self._clock(), versions)
            result = work(batch, view)
            batch.flush()
            store.commit()
        except BaseException:
            store.rollback()
            if batch is not None and batch.seq != batch.start:
                self._view = None  # it folded what was rolled back: rebuild when next needed
            raise
        if len(batch.versions) < VERSIONS_KEPT:
            self._last = (changes, batch.seq, batch.hash, batch.versions)
        self._observe(batch.start, batch.seq)
        self._deliver()
        self._folder.maybe_save(self._view, self._snapshot_every)
        return result

    def _observe(self, start: int, end: int) -> None:
        """Tell the ``event_appended`` observers about each committed record; a failing observer
        is a warning (the records are stored)."""
        hook = self._host.hook("event_appended")
        if not hook or end == start:
            return
        view = self._view
        for row in self._store.rows(start, upto=end):
            record = self._folder.decode(row)
            arguments = {"record": record, "view": view}
            for implementation in hook.implementations:
                try:
                    hook.call_one(implementation, arguments)
                except Exception as error:
                    reason = error.__cause__ or error
                    warnings.warn(
                        f"plugin {implementation.plugin}: event_appended failed on seq "
                        f"{record.seq}: {type(reason).__name__}: {reason} (the record is stored)",
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
        if not callable(callback):
            raise UsageError(f"subscribe takes a function to call with each record, not "
                             f"{type(callback).__name__} {callback!r}")
        whole("after", after)
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
                        if not subscription.active or row.seq <= subscription.position:
                            continue
                        record = self._folder.decode(row)
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
        wait: Callable[[float], Any] = time.sleep,
    ) -> Iterator[Record]:
        """The records after seq ``after``, then forever those appended later by any process,
        polling every ``interval`` seconds (``wait(interval)`` between looks: ``time.sleep``, or
        a function of the caller's that may raise to stop). Stop iterating to stop following."""
        types = self._query(after, types, stream)
        position = after
        while True:
            head = self._store.head()[0]
            for row in self._store.rows(position, types=types, stream=stream, upto=head):
                yield self._folder.decode(row)
            position = head
            wait(interval)

    # --- reading --------------------------------------------------------------------------------

    def read(
        self,
        after: int = 0,
        *,
        types: Iterable[str] | None = None,
        stream: str | None = None,
        since: When | None = None,
        until: When | int | None = None,
        limit: int | None = None,
        reverse: bool = False,
    ) -> Iterator[Record]:
        """The records after seq ``after``, in order (newest first with ``reverse``), streamed
        from the database: of these ``types``, of one ``stream``, whose ``occurred_at`` is on or
        after ``since`` and on or before ``until`` (dates or times, as in ``replay``; ``until``
        may also be a seq), at most ``limit`` of them."""
        decode = self._folder.decode
        for row in self._rows(after, types, stream, since, until, limit, reverse):
            try:
                record = decode(row)
            except LedgerError:
                raise
            except (ValueError, TypeError) as error:
                raise undecodable(f"{self.path or 'ledger'}: seq {row.seq}", error) from None
            yield record

    def export_lines(
        self,
        after: int = 0,
        *,
        types: Iterable[str] | None = None,
        stream: str | None = None,
        since: When | None = None,
        until: When | int | None = None,
        limit: int | None = None,
        reverse: bool = False,
    ) -> Iterator[str]:
        """The records that ``read`` gives, each as the line ``export`` writes for it (without
        the newline): the stored text, byte for byte, which is also the record's Merkle leaf."""
        for row in self._rows(after, types, stream, since, until, limit, reverse):
            yield record_line(row)[:-1]

    def _rows(self, after: int, types: Iterable[str] | None, stream: str | None,
              since: When | None, until: When | int | None, limit: int | None,
              reverse: bool) -> Iterator[StoredEvent]:
        """The stored rows ``read`` and ``export_lines`` give."""
        whole("limit", limit, none=True)
        types = self._query(after, types, stream)
        upto, before_time = bounds(until)
        since_time = None if since is None else since_bound(since)
        yield from self._store.rows(after, types=types, stream=stream, since_time=since_time,
                                    before_time=before_time, upto=upto, limit=limit,
                                    reverse=reverse)

    def _query(self, after: int, types: Iterable[str] | None,
               stream: str | None) -> list[str] | None:
        """The arguments ``read``, ``export_lines`` and ``follow`` share, checked
        (``UsageError``): ``after`` a seq, ``stream`` text, ``types`` known; the types as a list."""
        whole("after", after)
        if stream is not None and not isinstance(stream, str):
            raise UsageError(f"stream: a stream's name, not {type(stream).__name__} {stream!r}")
        if types is None:
            return None
        names = [types] if isinstance(types, str) else list(types)
        self.check_types(names)
        return names

    def check_types(self, types: Iterable[str]) -> None:
        """Raise ``UsageError`` (with a did-you-mean) for a type that no loaded plugin registers
        and no record has: a mistake, most often a typo, that would read nothing. A type of a
        plugin not loaded here passes when the log holds it."""
        registered = self._host.event_types
        for name in [types] if isinstance(types, str) else types:
            if not isinstance(name, str):
                raise UsageError(f"types: event type names, not {type(name).__name__} {name!r}")
            if name in registered or any(True for _ in self._store.rows(0, types=[name], limit=1)):
                continue
            present = self._store.stats()["by_type"]
            raise UsageError(f"no event type {name!r}: no loaded plugin registers it and the log "
                             f"holds none{did_you_mean(name, {*registered, *present})}")

    def get(self, id: str) -> Record | None:
        """The record with this id, or None."""
        row = self._store.find([id]).get(id)
        if row is None:
            return None
        with decoding(f"{self.path or 'ledger'}: seq {row.seq}"):
            return self._folder.decode(row)

    def replay(
        self,
        until: When | int | None = None,
        *,
        use_snapshots: bool = True,
        progress: Progress | None = None,
    ) -> View:
        """Fold the log through every projection: the whole log, or up to ``until``.

        ``until`` is a seq (int), or a date or time: then the records whose ``occurred_at`` is on
        or before it (a date covers its whole UTC day; ``"2027"`` the whole year, ``"2027-06"``
        the whole month) are folded, in seq order, and the view's as-of date is its last day. Each projection
        starts from its newest valid snapshot before that point (unless ``use_snapshots`` is
        false) and folds only the records after it. ``progress(seq, head)`` is called now and
        then while records are folded.
        """
        with decoding(self.path or "ledger"):
            return self._replay(until, use_snapshots, progress)

    def _replay(self, until: When | int | None, use_snapshots: bool,
                progress: Progress | None) -> View:
        if until is None and use_snapshots:
            head = self._store.head()[0]
            if self._view is None or self._view.seq > head:
                self._view = self._folder.build(upto=head, progress=progress)
            elif self._view.seq < head:
                self._live_view(head)
            self._folder.maybe_save(self._view, self._snapshot_every)
            return self._share(self._view)
        until = seq_or_time(until)
        if until is None:
            view = self._folder.build(use_snapshots=use_snapshots, progress=progress)
        elif isinstance(until, int):
            view = self._folder.build(upto=until, use_snapshots=use_snapshots, progress=progress)
            view.until = f"#{until}"  # a seq, as --until takes it: never read as a year
        else:
            view = self._folder.build(before_time=until_bound(until), use_snapshots=use_snapshots,
                               progress=progress)
            view.until = until.isoformat() if hasattr(until, "isoformat") else str(until)
            return view
        if use_snapshots:
            self._folder.maybe_save(view, self._snapshot_every)
        return view

    def snapshot(self) -> int:
        """Save the projections' states at the head now; return its seq (0 for an empty log)."""
        with self._store.transaction():
            seq, _ = self._store.head()
            view = self._live_view(seq)
            self._folder.save(view)
        return seq

    def catch_up(self, view: View, until: int | str | None = None) -> View:
        """Fold into ``view`` the records after ``view.seq`` (up to seq ``until``) and return it.

        Replaying to a seq and catching up gives the same view as replaying at once. A view
        replayed as of a date skipped later-dated records before its seq, so it cannot catch up.
        """
        if not isinstance(view, View):
            raise UsageError(f"catch_up takes a view (what replay() gives), not "
                             f"{type(view).__name__}")
        if view.until_day is not None:
            raise LedgerError(f"a view as of {view.until} cannot catch up; replay it to a seq")
        given = seq_or_time(until)
        if given is not None and not isinstance(given, int):
            raise UsageError(f"catch_up: until is a seq (an int, or '#18'), not {until!r}; for "
                             "the log as of a date, replay(until=...)")
        if given is not None and given < view.seq:
            raise UsageError(f"catch_up: the view is at seq {view.seq} already, after until={given}")
        with decoding(self.path or "ledger"):
            self._folder.fold(view, self._store.rows(view.seq, upto=given))
        view.until = None if given is None else f"#{given}"
        return view

    @property
    def view(self) -> View:
        """The live view, at the head: kept current as this ledger appends, and caught up with
        other processes' appends when read. It moves with the ledger; ``replay()`` gives a view
        that stays put."""
        return self._live_view(self._store.head()[0])

    def verify(self, head: str | None = None) -> Verified:
        """Recompute the whole chain, seq contiguity and stream versions, and refold the log to
        check every snapshot of the loaded projections: return (records, head hash), or raise
        ``VerificationError`` naming the first bad seq. ``head``, a hash pinned earlier, must be
        in the chain (this catches records cut from the tail); the result's ``pinned_seq`` is the
        seq whose hash it is. A ``head`` that is not 64 hexadecimal digits (either case, spaces
        around ignored) is a ``UsageError``."""
        if head is not None:
            head = pinned_hash(head)
        where = self.path or "ledger"
        with closing(self._checked_rows()) as rows:
            try:
                result = verify_rows(rows, head)
                transparency.verify(self._store)  # the Merkle tree and the kept checkpoints
                problem = self._store.damage()  # what hashes cannot see: indexes, free pages
            except StorageError as error:
                if "damaged" not in error.message:
                    raise
                damage: LedgerError = error
            except LedgerError as error:
                raise error.located(where) from None
            except (TypeError, ValueError) as error:  # a damaged value of another type
                damage = StorageError(f"{where}: the file is damaged ({error})")
            else:
                if problem is None:
                    return result
                raise StorageError(  # every record verified: no need to look for the first bad
                    f"{where}: the file is damaged outside the records' contents ({problem}): "
                    "every record verifies, but reads through the damaged part may be wrong; "
                    "`gigaledger salvage` copies the records into a sound file")
        self._find_damage(head)
        raise damage  # the log reads whole: the damage is elsewhere (in the snapshots)

    def unchecked_snapshots(self) -> list[str]:
        """The projections whose stored snapshots ``verify`` cannot check, because no loaded
        plugin has them (open the ledger with their plugins to check them too)."""
        return self._folder.unchecked_snapshots()

    def _find_damage(self, head: str | None) -> None:
        """Verify again one record at a time, to say where a damaged file stops verifying:
        raise ``VerificationError`` at the first record that fails or cannot be read."""
        where = self.path or "ledger"
        read = [0]  # the last seq read: the records up to it verified when reading fails

        def counted(rows: Iterable[StoredEvent]) -> Iterator[StoredEvent]:
            for row in rows:
                read[0] = row.seq
                yield row

        try:
            verify_rows(counted(self._one_by_one()), head)
        except StorageError as error:
            if "damaged" not in error.message:
                raise
            raise VerificationError(
                f"the file is damaged: the records up to seq {read[0]} verify, the next cannot "
                f"be read ({error.message.split(': ', 1)[-1]})", seq=read[0] + 1,
                where=where) from None
        except LedgerError as error:
            raise error.located(where) from None
        except (TypeError, ValueError):
            raise VerificationError(
                f"seq {read[0]}: a field holds a value of the wrong type (the file is damaged)",
                seq=read[0], where=where) from None

    def copy_to(self, target: Ledger, progress: Progress | None = None) -> tuple[int, str]:
        """Copy this log into ``target``, an empty ledger on any store, record for record (ids,
        times and hashes included), in one transaction; verify this ledger before and the target
        after, and return the target's (records, head hash), the same as this one's."""
        if not isinstance(target, Ledger):
            raise UsageError(f"copy_to takes an open Ledger, not {type(target).__name__} "
                             f"{target!r}: copy_to(Ledger.open(path)) (the command line's "
                             "`gigaledger copy SRC DST` takes paths)")
        expected = self.verify()
        if len(target):
            raise LedgerError(f"{target.path or 'ledger'}: holds {len(target)} records; copy into "
                              "an empty ledger")
        store, total = target._store, expected[0]
        with store.transaction():
            store.defer_indexes()  # built once, from all the rows, before the commit
            chunk: list[StoredEvent] = []
            for row in self._store.rows():
                chunk.append(row)
                if len(chunk) == PROGRESS_EVERY:
                    store.insert(chunk)
                    if progress is not None:
                        progress(row.seq, total)
                    chunk = []
            store.insert(chunk)
            transparency.copy_checkpoints(self._store, store)
        target._view, target._last = None, None
        copied = target.verify()
        if copied != expected:  # another writer appended to the target right after the copy
            raise VerificationError(f"{target.path}: the copy ends at {copied}, not {expected}",
                                    seq=min(copied[0], expected[0]) + 1)
        return copied

    def _one_by_one(self) -> Iterator[StoredEvent]:
        """The stored rows, each read on its own: slow, but a damaged page fails only the row
        on it (reading many at once fails them together)."""
        seq = 0
        while True:
            found = list(self._store.rows(seq, limit=1))
            if not found:
                return
            seq = found[0].seq
            yield found[0]

    def _checked_rows(self) -> Generator[StoredEvent, None, None]:
        """The stored rows; when snapshots exist, each is also folded into a fresh view, which
        must match every snapshot at its seq."""
        expected = self._folder.snapshot_checks()
        view = self._folder.new_view() if expected else None
        with closing(self._store.rows()) as rows:
            for row in rows:
                yield row
                if view is None:
                    continue
                self._folder.fold(view, (row,))
                for name, digest, text in expected.get(row.seq, ()):
                    if digest != row.hash:
                        continue  # taken from another log: never used, nothing to check
                    if self._folder.state_text(view, name) != text:
                        raise VerificationError(
                            f"seq {row.seq}: the snapshot of {name} does not match the log",
                            seq=row.seq)

    # --- for people who look ---------------------------------------------------------------------

    def materialize(self) -> dict[str, int]:
        """Write the projections at the head as plain SQLite tables in the ledger's own file:
        the engine's (``materialized``, ``projections``) and every plugin's
        (``materialize_tables``), replacing the previous ones in one transaction; return the
        rows written per table."""
        hook = self._host.hook("materialize_tables")
        return materialize(self, lambda view: hook.call(ledger=self, view=view))

    def explain(self, key: str | int) -> Explanation:
        """Why the record with this seq or id is in the log: its causes, its effects, and what
        the plugins find (``explain_record``; the built-in domain names the agreement behind it
        and, for a released tranche, the commissioning that earned it)."""
        hook = self._host.hook("explain_record")

        def findings(record: Record) -> Iterator[Finding]:
            for plugin, found in hook.call(record=record, ledger=self):
                for finding in found or ():
                    if not isinstance(finding, Finding):
                        raise PluginError(f"plugin {plugin}: explain_record returned "
                                          f"{finding!r}, not a ledger.Finding", plugin=plugin)
                    yield attrs.evolve(finding, plugin=plugin)

        return explain(self, key, findings)

    @property
    def charts(self) -> dict[str, Any]:
        """The charts the plugins registered (``register_charts``), by name."""
        return dict(self._host.charts)

    def export_jsonl(self, target: str | os.PathLike[str] | IO[str]) -> int:
        """Write every record, as stored, one JSON object a line; return how many. A file is
        written whole or not at all (it appears under its name only once complete)."""
        if not isinstance(target, (str, os.PathLike)) and (
                isinstance(target, (io.RawIOBase, io.BufferedIOBase))
                or "b" in str(getattr(target, "mode", ""))):
            raise UsageError("export_jsonl writes text: give a path, or a file opened in text "
                             "mode (open(name, 'w', encoding='utf-8')), not a binary one")
        with decoding(self.path or "ledger"):  # a damaged value in the file: one line
            if not isinstance(target, (str, os.PathLike)):
                return write_lines(self._store.rows(), target)
            with replacing(os.fspath(target)) as out:
                return write_lines(self._store.rows(), out)

    # --- proofs for third parties (transparency.py) ---------------------------------------------

    def build_tree(self, progress: Progress | None = None) -> int:
        """Bring the Merkle tree up to the head (a ledger made before it gets it on first use;
        ``progress(done, total)`` is called now and then); return how many records it covers."""
        return transparency.build(self._store, progress)

    def root(self, size: int | None = None) -> bytes:
        """The RFC 9162 Merkle root of the first ``size`` records (default: all)."""
        return transparency.root(self._store, size)

    def checkpoint(self, key: Signer | str, size: int | None = None) -> str:
        """Sign a checkpoint (a C2SP tlog-checkpoint signed note) of the tree of ``size`` records
        (default: all) with ``key`` (a ``Signer`` or its ``PRIVATE+KEY+...`` text), keep it in
        the ledger, and return it; its origin is the key's name."""
        self.build_tree()
        made = format_time(self._clock())
        return transparency.make_checkpoint(self._store, key, size, made)

    def checkpoints(self) -> list[str]:
        """The signed checkpoints kept in the ledger, oldest first."""
        return transparency.kept(self._store)

    def prove(self, seq: int, size: int | None = None) -> InclusionProof:
        """The proof that record ``seq`` is in the tree of ``size`` records (default: all)."""
        self.build_tree()
        return transparency.prove(self._store, seq, size)

    def prove_consistency(self, old_size: int, size: int | None = None) -> ConsistencyProof:
        """The proof that the tree of ``old_size`` records is a prefix of the tree of ``size``
        records (default: all): nothing before ``old_size`` was changed."""
        self.build_tree()
        return transparency.prove_consistency(self._store, old_size, size)

    def check_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Raise ``VerificationError`` unless this log's tree at the checkpoint's size has the
        checkpoint's root (open it first with ``open_checkpoint`` and the verifier key)."""
        self.build_tree()
        try:
            transparency.check_checkpoint(self._store, checkpoint)
        except LedgerError as error:
            raise error.located(self.path or "ledger") from None

    # --- folding --------------------------------------------------------------------------------

    def _share(self, view: View) -> View:
        """A view that reads the live view's states until the ledger next changes them."""
        shared = view.share()
        self._shared = [ref for ref in self._shared if ref() is not None]
        self._shared.append(weakref.ref(shared))
        return shared

    def _detach(self) -> None:
        """Give the views that ``replay`` handed out their own states, before the live view's
        change (a view nobody holds any more costs nothing)."""
        for ref in self._shared:
            view = ref()
            if view is not None:
                view.own(self._folder.copy_state)
        self._shared.clear()

    def _live_view(self, seq: int) -> View:
        """The view used to validate appends, caught up to ``seq`` (another process may have
        appended since)."""
        try:  # no context manager here: this runs at every write
            return self._catch_up_live(seq)
        except LedgerError:
            raise
        except (ValueError, TypeError) as error:
            raise undecodable(self.path or "ledger", error) from None

    def _catch_up_live(self, seq: int) -> View:
        self._detach()
        view = self._view
        if view is None or view.seq > seq:
            view = self._folder.build(upto=seq)
        if view.seq < seq:
            self._folder.fold(view, self._store.rows(view.seq, upto=seq))
        self._view = view
        return view
