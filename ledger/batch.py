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
        self.skipped = 0

    def version(self, stream: str) -> int:
        """A stream's version so far, this batch's appends included."""
        current = self.versions.get(stream)
        if current is None:
            current = self.versions[stream] = self.store.stream_version(stream)
        return current

    def existing(self, id: str) -> StoredEvent | None:
        """The stored (or pending) row of an id, if any."""
        row = self.pending_ids.get(id)
        if row is None:
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
