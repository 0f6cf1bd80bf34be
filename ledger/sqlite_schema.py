"""What a ledger file may hold, checked before anything in it runs: a file from elsewhere is
untrusted.

A SQLite file carries code of its own: triggers fire on writes, views stand in for tables, and
expressions in the schema call functions. Every connection is made with ``trusted_schema=OFF`` (so
that the schema can call no function with side effects) and, where Python offers it (3.12+),
SQLite's defensive mode; and a file whose schema holds an object the ledger did not create on its
own tables (a trigger, a view, a virtual table, an index, an ``events`` that is not the ledger's
table) is refused with one line before a statement touches its tables. Plain tables beside the
log (``materialize``'s, or a user's own) are fine: they are never read by the ledger.
"""

from __future__ import annotations

import re
import sqlite3

from .errors import LedgerError
from .store import COLUMNS
from .tree import SQLITE_TABLES

#: The ledger's own tables (``sqlite_migrations.py`` creates them).
LEDGER_TABLES = ("events", "snapshots", "_sqlite_migrations", "tree_blocks", "tree_nodes",
                 "checkpoints")

#: The append-only triggers, as ``sqlite_migrations.m001_events`` creates them.
NO_UPDATE = ("CREATE TRIGGER events_no_update BEFORE UPDATE ON events\n"
             "        BEGIN SELECT RAISE(ABORT, 'events is append-only: UPDATE is refused'); END;")
NO_DELETE = ("CREATE TRIGGER events_no_delete BEFORE DELETE ON events\n"
             "        BEGIN SELECT RAISE(ABORT, 'events is append-only: DELETE is refused'); END;")


def _normal(sql: str | None) -> str:
    """SQL text without quotes around names, case or spacing: how it was written does not
    matter, only what it says."""
    text = re.sub(r'["`\[\]]', "", sql or "").lower().rstrip("; \n")
    return " ".join(text.replace("(", " ( ").replace(")", " ) ").replace(",", " , ").split())


#: The objects the ledger creates on its tables, by (type, name): their SQL, normalized.
KNOWN = {
    ("trigger", "events_no_update"): _normal(NO_UPDATE),
    ("trigger", "events_no_delete"): _normal(NO_DELETE),
    ("index", "events_id"): _normal('CREATE UNIQUE INDEX "events_id" ON "events" ("id")'),
    ("index", "events_stream_version"): _normal(
        'CREATE UNIQUE INDEX "events_stream_version" ON "events" ("stream", "version")'),
    ("index", "idx__sqlite_migrations_migration_set_name"): _normal(
        'CREATE UNIQUE INDEX "idx__sqlite_migrations_migration_set_name" ON '
        '"_sqlite_migrations" ("migration_set", "name")'),
}


def _tree_objects() -> dict[tuple[str, str], tuple[str, str]]:
    """The triggers and indexes of the tree's tables (``tree.SQLITE_TABLES``, migration
    ``m003_tree``), as SQLite records them: (type, name) -> (table, normalized SQL)."""
    memory = sqlite3.connect(":memory:")
    try:
        memory.executescript(SQLITE_TABLES)
        return {(kind, name): (table, _normal(sql)) for kind, name, table, sql in memory.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('trigger', "
            "'index') AND sql IS NOT NULL")}
    finally:
        memory.close()


#: The table each known trigger and index is on.
KNOWN_TABLE = {key: "events" for key in KNOWN if key[1].startswith("events_")}
KNOWN_TABLE[("index", "idx__sqlite_migrations_migration_set_name")] = "_sqlite_migrations"
for _key, (_table, _sql) in _tree_objects().items():
    KNOWN[_key], KNOWN_TABLE[_key] = _sql, _table


def harden(conn: sqlite3.Connection) -> None:
    """Let the schema of the file run nothing with side effects: ``trusted_schema=OFF``, and
    SQLite's defensive mode where the Python version can set it (3.12+)."""
    conn.execute("PRAGMA trusted_schema = OFF")
    defensive = getattr(sqlite3, "SQLITE_DBCONFIG_DEFENSIVE", None)
    setconfig = getattr(conn, "setconfig", None)
    if defensive is not None and setconfig is not None:
        setconfig(defensive, True)


def check_schema(conn: sqlite3.Connection, where: str) -> None:
    """Refuse, in one line, a file whose schema holds what the ledger did not make: a trigger or
    an index on its tables, a view, a virtual table, or an ``events`` that is not its table."""
    objects = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
    for kind, name, table, sql in objects:
        problem = _problem(kind, name, table, sql)
        if problem is not None:
            raise LedgerError(f"{where}: refused: {problem}, which gigaledger did not create (a "
                              "file from an untrusted source?); nothing in it was run")
    if any(kind == "table" and name == "events" for kind, name, _, _ in objects):
        check_events(conn, where)


def _problem(kind: str, name: str, table: str, sql: str | None) -> str | None:
    """What is wrong with one object of the schema, or None."""
    if kind == "view":
        return f"its schema holds a view {name!r}"
    if kind == "trigger":
        if KNOWN.get((kind, name)) != _normal(sql) or table != KNOWN_TABLE.get((kind, name)):
            return f"its schema holds a trigger {name!r} on {table!r}"
        return None
    if kind == "table":
        if _normal(sql).startswith("create virtual table"):
            return f"its schema holds a virtual table {name!r}"
        return None
    if kind == "index" and table in LEDGER_TABLES:
        if sql is None and name.startswith("sqlite_autoindex_"):
            return None
        if KNOWN.get((kind, name)) != _normal(sql):
            return f"its schema holds an index {name!r} on {table!r}"
    return None


def check_events(conn: sqlite3.Connection, where: str) -> None:
    """``events`` must be the ledger's table: its columns in order, none hidden or generated,
    and ``seq`` the row id (so that the log is read in the table's own order)."""
    columns = conn.execute("PRAGMA table_xinfo(events)").fetchall()
    names = tuple(column[1] for column in columns)
    hidden = [column[1] for column in columns if column[6]]
    seq = columns[0] if columns else None
    rowid = seq is not None and seq[2].upper() == "INTEGER" and seq[5] == 1 and sum(
        1 for column in columns if column[5]) == 1
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'events'"
                       ).fetchone()[0]
    if names != COLUMNS or hidden or not rowid or "without rowid" in _normal(sql):
        raise LedgerError(f"{where}: refused: its events table is not the one gigaledger creates "
                          f"(columns {', '.join(names) or 'none'}); nothing in it was run")


def integrity_problem(conn: sqlite3.Connection) -> str | None:
    """The first problem SQLite's own integrity check finds in a file (an index that disagrees
    with its table, a damaged page: what the records' hashes cannot see), or None."""
    found = conn.execute("PRAGMA integrity_check(1)").fetchone()
    if found is None or found[0] == "ok":
        return None
    return " ".join(str(found[0]).replace("*** in database main ***", "").split())  # one line
