"""Folding the log into views: decoding stored rows, starting projections from snapshots, and
saving snapshots.

Besides the projections' states, a view has figures of its own (``View.scenario_records`` and
``View.by_type``, the records passed by type, from which the records no loaded plugin could fold
are told): they
are saved with every snapshot as one more snapshot row, named ``as_of`` like the report's key for
them (no projection may take that name), so that a view started from snapshots reports what a
full replay does.
"""

from __future__ import annotations

import warnings
from copy import deepcopy
from collections.abc import Callable, Iterable
from typing import Any

from .clock import bound_day, load_time, loaded_times
from .canonical import dumps, loads, loads_plain
from .codec import Codec
from .errors import LedgerError, PluginWarning, ReadOnly, StorageError, StoreBusy
from .event import Event
from .plugins import PluginHost
from .record import EMPTY_META, Record, StoredJson, stored_meta
from .replay import View
from .scenarios import MARK, is_scenario
from .snapshots import KEEP, Fingerprints, copy_state, dump_state, load_state
from .store import Store, StoredEvent

#: How often (in records) a progress callback is called.
PROGRESS_EVERY = 5_000
#: ``progress(done, total)``: how far an import (bytes) or a replay (seqs) has got.
Progress = Callable[[int, int], None]
#: The snapshot row of the view's own figures, and its fingerprint (change it with their form).
VIEW_ROW = "as_of"
VIEW_FINGERPRINT = "view-2"


class Folder:
    """Builds views of one ledger's log through its plugins' projections."""

    def __init__(self, store: Store, host: PluginHost, codec: Codec) -> None:
        self.store = store
        self.host = host
        self.codec = codec
        self.fingerprints = Fingerprints(host.projections, host.event_types)
        #: For each type a loaded plugin registers: its schema, whether its payloads are plain,
        #: and the loader that rebuilds its events without validating them again.
        self._readers = {name: (cls.schema, loads_plain if name in codec.plain_types else loads,
                                codec.loader(name))
                         for name, cls in codec.types.items()}
        self.snapshotted: int | None = None  # the newest snapshot's seq, read when first needed

    def decode(self, row: StoredEvent, event: Event | None = None) -> Record:
        """The Record of a stored row, its payload decoded when a loaded plugin knows its type."""
        seq, id, stream, version, type_name, schema, occurred, recorded, data_text, meta_text, digest = row
        reader = self._readers.get(type_name)
        if reader is not None and reader[0] == schema:
            # The ledger wrote a plain type's payload itself (strings, booleans, 64-bit
            # integers): it is read as it is; anything else is read exactly.
            data = reader[1](data_text)
            if event is None:
                try:
                    event = reader[2](data)
                except (LedgerError, ValueError, TypeError, ArithmeticError) as error:
                    raise self._misfit(seq, type_name, error) from None
        else:
            data = loads(data_text)
            if event is None and reader is not None:  # an older schema: upcast, then build
                try:
                    event = self.codec.load(type_name, data, schema)
                except (LedgerError, ValueError, TypeError, ArithmeticError) as error:
                    raise self._misfit(seq, type_name, error) from None
        return Record(seq, id, stream, version, type_name, schema, load_time(occurred),
                      load_time(recorded), data, stored_meta(meta_text),
                      digest, event)

    @staticmethod
    def _misfit(seq: int, type_name: str, error: BaseException) -> LedgerError:
        return LedgerError(f"seq {seq}: the stored {type_name} does not fit its event class: {error}")

    def new_view(self) -> View:
        return View(self.host.projections, self.host.projection_owners, self.host.event_types)

    def fold(self, view: View, rows: Iterable[StoredEvent],
             progress: Progress | None = None) -> None:
        """Fold stored rows into a view, decoding only those some projection handles.

        The same steps as ``decode`` and ``View.fold``, written out in one loop (a replay runs it
        once per record). When a projection fails, the view stands at the last record folded in
        full."""
        total = self.store.head()[0] if progress is not None else 0
        dispatch, everything, states = view._dispatch, view._everything, view._states
        counts, readers, decode = view.by_type, self._readers, self.decode
        new_record, times = tuple.__new__, loaded_times()
        seq, latest, scenarios = view.seq, view.occurred_text, 0
        try:
            for row in rows:
                type_name, occurred, meta_text = row[4], row[6], row[9]
                handlers = dispatch.get(type_name, everything)
                if handlers:
                    reader = readers.get(type_name)
                    if reader is not None and reader[0] == row[5]:
                        data = reader[1](row[8])
                        try:
                            event: Event | None = reader[2](data)
                        except (LedgerError, ValueError, TypeError, ArithmeticError) as error:
                            raise self._misfit(row[0], type_name, error) from None
                        record = new_record(Record, (
                            row[0], row[1], row[2], row[3], type_name, row[5],
                            times.get(occurred) or load_time(occurred),
                            times.get(row[7]) or load_time(row[7]), data,
                            EMPTY_META if meta_text == "{}" else StoredJson(meta_text), row[10],
                            event))
                    else:
                        record = decode(row)
                        event = record.event
                    for name, apply in handlers:
                        try:
                            state = apply(states[name], event, record)
                        except LedgerError:
                            raise
                        except Exception as error:
                            raise view.failure(name, record, error) from error
                        if state is not None:
                            states[name] = state
                seq = row[0]
                counts[type_name] = counts.get(type_name, 0) + 1
                if latest is None or occurred > latest:
                    latest = occurred
                if MARK in meta_text and is_scenario(meta_text):
                    scenarios += 1
                if progress is not None and seq % PROGRESS_EVERY == 0:
                    progress(seq, total)
        finally:
            view.seq, view.occurred_text = seq, latest
            view.scenario_records += scenarios
        if progress is not None:
            progress(view.seq, total)

    def build(self, *, upto: int | None = None, before_time: str | None = None,
              use_snapshots: bool = True, progress: Progress | None = None) -> View:
        """A view folded from the log; each projection starts from its newest usable snapshot,
        and the records are folded in segments, each into the projections behind it."""
        view = self.new_view()
        if before_time is not None:
            view.until_day = bound_day(before_time)
        starts: dict[str, tuple[int, str | None]] = {name: (0, None) for name in view}
        if use_snapshots:
            for name in self.fingerprints.of:
                found = self.usable_snapshot(name, upto, before_time)
                if found is not None:
                    seq, occurred, state = found
                    view.restore(name, state)
                    starts[name] = (seq, occurred)
            first = min(seq for seq, _ in starts.values()) if starts else 0
            figures = self.view_figures(first, before_time) if first else (0, {})
            if figures is None:  # no figures saved at that seq: fold everything instead
                return self.build(upto=upto, before_time=before_time, use_snapshots=False,
                                  progress=progress)
            view.scenario_records, view.by_type = figures
        origins = list(starts.values()) or [(0, None)]  # no projection: the view still moves
        bounds = sorted({start for start, _ in origins})
        view.seq, view.occurred_text = min(origins, key=lambda start: start[0])
        for position, start in enumerate(bounds):
            end = bounds[position + 1] if position + 1 < len(bounds) else upto
            view.activate([name for name, (seq, _) in starts.items() if seq <= start])
            if view.seq < start:  # the projections ahead start here
                view.seq, view.occurred_text = start, next(
                    occurred for seq, occurred in origins if seq == start)
            self.fold(view, self.store.rows(start, upto=end, before_time=before_time), progress)
        return view

    def usable_snapshot(self, name: str, upto: int | None,
                        before_time: str | None) -> tuple[int, str | None, Any] | None:
        """The newest snapshot of a projection that fits this code and this log, if any."""
        projection = self.host.projections[name]
        found = self.store.snapshots(name, self.fingerprints.of[name], upto, before_time)
        for seq, digest, occurred, text in found:
            if self.store.hash_at(seq) != digest:
                continue  # taken from another log: not this one's
            try:
                return seq, occurred, load_state(projection, text)
            except Exception:  # a state that no longer loads is as good as stale
                continue
        return None

    def view_figures(self, seq: int,
                     before_time: str | None) -> tuple[int, dict[str, int]] | None:
        """The scenario records and the records by type counted up to ``seq``, as saved with the
        snapshots there (None when nothing usable was saved there)."""
        for found, digest, _, text in self.store.snapshots(VIEW_ROW, VIEW_FINGERPRINT, seq,
                                                           before_time):
            if found != seq:
                break
            if self.store.hash_at(seq) != digest:
                continue
            try:
                saved = loads(text)
                counted, by_type = saved["scenario_records"], saved["by_type"]
            except (ValueError, KeyError, TypeError):
                continue
            if _count(counted) and isinstance(by_type, dict) and all(
                    isinstance(name, str) and _count(n) for name, n in by_type.items()):
                return counted, dict(by_type)
        return None

    def state_text(self, view: View, name: str) -> str:
        """What a snapshot of ``view`` stores under ``name``: a projection's state, or the view's
        own figures (``VIEW_ROW``)."""
        if name == VIEW_ROW:
            return dumps({"scenario_records": view.scenario_records, "by_type": view.by_type})
        # a projection whose state cannot be written is named (``PluginError``)
        text: str = view._call(name, "snapshot", dump_state, self.host.projections[name],
                               view[name])
        return text

    def copy_state(self, name: str, state: Any) -> Any:
        """An independent copy of one projection's state: through its snapshot form when it has
        one (fast, and it cannot miss a part), else a deep copy."""
        if name in self.fingerprints:
            return copy_state(self.host.projections[name], state)
        return deepcopy(state)

    def save(self, view: View) -> None:
        """Store the view's states at its seq; call inside a write transaction."""
        digest = self.store.hash_at(view.seq)
        if digest is None or not self.fingerprints.of:
            return
        rows = [
            (name, view.seq, fingerprint, digest, view.occurred_text, self.state_text(view, name))
            for name, fingerprint in [*self.fingerprints.of.items(), (VIEW_ROW, VIEW_FINGERPRINT)]
        ]
        self.store.save_snapshots(rows, KEEP)
        self.snapshotted = max(self.snapshotted or 0, view.seq)

    def maybe_save(self, view: View | None, every: int) -> None:
        """Save a snapshot when ``every`` records were folded since the newest one."""
        if view is None or not every or not self.fingerprints.of:
            return
        if view.until not in (None, str(view.seq)):
            return
        if self.snapshotted is None:
            self.snapshotted = self.store.newest_snapshot()
        if view.seq - self.snapshotted < every:
            return
        try:  # the snapshot is only a cache: a busy or read-only file goes without
            with self.store.try_transaction() as locked:
                if locked:
                    self.save(view)
        except (StoreBusy, ReadOnly, StorageError):
            pass
        except LedgerError as error:  # after the commit: the records are stored, whatever this
            self.snapshotted = view.seq  # tried again ``every`` records later
            owner = getattr(error, "plugin", None)
            warnings.warn(f"{f'plugin {owner}: ' if owner else ''}{error}; no snapshot was saved "
                          "(the records are stored)", PluginWarning, stacklevel=3)

    def unchecked_snapshots(self) -> list[str]:
        """The names of stored snapshots that no loaded projection has: ``verify`` cannot check
        them (they are used only by a ledger that loads their plugin, which checks them)."""
        stored = {name for (name,) in self.store.fetch("SELECT DISTINCT name FROM snapshots")}
        return sorted(stored - set(self.host.projections) - {VIEW_ROW})

    def snapshot_checks(self) -> dict[int, list[tuple[str, str, str]]]:
        """Stored snapshots of the loaded projections, by seq: (name, hash, state); and the
        view's own figures saved at those seqs (elsewhere no replay would use them)."""
        expected: dict[int, list[tuple[str, str, str]]] = {}
        for name, fingerprint in self.fingerprints.of.items():
            for seq, digest, _, text in self.store.snapshots(name, fingerprint, None, None):
                expected.setdefault(seq, []).append((name, digest, text))
        for seq, digest, _, text in self.store.snapshots(VIEW_ROW, VIEW_FINGERPRINT, None, None):
            if seq in expected:
                expected[seq].append((VIEW_ROW, digest, text))
        return expected


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
