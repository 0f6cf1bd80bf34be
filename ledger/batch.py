"""The state of one write transaction: the chain's head, stream versions, and rows not yet written."""

from __future__ import annotations

from datetime import datetime, timezone

from .chain import GENESIS
from .clock import format_time
from .store import Store, StoredEvent

#: Rows kept in memory before they are written (still inside the same transaction).
FLUSH_EVERY = 1000


class Batch:
    """Everything appended inside one transaction, as it goes: it is committed whole or not at all."""

    def __init__(self, store: Store, seq: int, head: str | None, recorded_at: datetime,
                 versions: dict[str, int] | None = None) -> None:
        self.store = store
        self.start = seq
        self.seq = seq
        self.hash = head or GENESIS
        self.recorded_at = recorded_at.astimezone(timezone.utc)
        self.recorded_text = format_time(self.recorded_at)  # µs precision: unique enough to cache
        self.versions: dict[str, int] = {} if versions is None else versions
        self.pending: list[StoredEvent] = []
        self.pending_ids: dict[str, StoredEvent] = {}
        #: The ledger was empty when this batch began (under the write lock): nothing is stored
        #: but what this batch writes, so no stream version or id needs looking up.
        self.fresh = seq == 0
        #: In a fresh batch, the rows of the ids that can repeat: given by callers, or derived
        #: (the store's index of ids may be built only at the commit: ``defer_indexes``).
        self.given: dict[str, StoredEvent] = {}
        self.skipped = 0
        #: The seq of the last exported record this batch restored (-1: none yet).
        self.restored_to = -1

    def version(self, stream: str) -> int:
        """A stream's version so far, this batch's appends included."""
        current = self.versions.get(stream)
        if current is None:
            current = self.versions[stream] = 0 if self.fresh else self.store.stream_version(stream)
        return current

    def existing(self, id: str, *, everywhere: bool = False) -> StoredEvent | None:
        """The row of an id, if any: one this batch wrote, or one stored (looked up unless the
        batch is fresh; ``everywhere`` looks up even then, for ids this batch does not keep)."""
        row = self.pending_ids.get(id) or self.given.get(id)
        if row is None and (everywhere or not self.fresh):
            row = self.store.find([id]).get(id)
        return row

    def push(self, row: StoredEvent) -> None:
        self.pending.append(row)
        self.pending_ids[row.id] = row
        self.seq, self.hash = row.seq, row.hash
        self.versions[row.stream] = row.version
        if len(self.pending) >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.store.insert(self.pending)
            self.pending.clear()
            self.pending_ids.clear()
