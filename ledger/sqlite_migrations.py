"""The SQLite store's tables, as sqlite-utils migrations: imported only when a file needs one
(a new file, or one written by an older version), so that opening a current file stays quick."""

from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

from .sqlite_schema import NO_DELETE, NO_UPDATE
from .store import COLUMNS
from .tree import SQLITE_TABLES

migrations = Migrations("gigaledger")
# A file is refused on open when its schema holds a trigger, or an index on the ledger's own
# tables, that ``sqlite_schema.KNOWN`` does not list: list there every one a migration creates
# (and its table in ``sqlite_schema.LEDGER_TABLES``).


@migrations()
def m001_events(db: sqlite_utils.Database) -> None:
    db.table("events").create(
        {
            "seq": int, "id": str, "stream": str, "version": int, "type": str, "schema": int,
            "occurred_at": str, "recorded_at": str, "data": str, "meta": str, "hash": str,
        },
        pk="seq",
        not_null=set(COLUMNS),
        strict=True,
    )
    db.table("events").create_index(["id"], unique=True, index_name="events_id")
    db.table("events").create_index(["stream", "version"], unique=True, index_name="events_stream_version")
    db.executescript(f"{NO_UPDATE}\n{NO_DELETE}\n")


@migrations()
def m002_snapshots(db: sqlite_utils.Database) -> None:
    """Projection states saved at a seq: a cache that replay may use, never part of the chain."""
    db.table("snapshots").create(
        {"name": str, "seq": int, "fingerprint": str, "hash": str, "occurred_at": str,
         "state": str},
        pk=("name", "seq", "fingerprint"),
        not_null={"name", "seq", "fingerprint", "hash", "state"},
        strict=True,
    )


@migrations()
def m003_tree(db: sqlite_utils.Database) -> None:
    """The Merkle tree over the log and the checkpoints signed of it (``tree.py``); a ledger
    made before them gets its tree on first use."""
    db.executescript(SQLITE_TABLES)


def apply(db: sqlite_utils.Database) -> None:
    migrations.apply(db)
