"""Corrupt ledger files: bytes flipped in random pages (hypothesis chooses where). ``verify``
names what it can in one line (the first bad seq, or that SQLite reports the file damaged),
never a traceback; ``salvage`` copies the longest prefix that still verifies, record for record,
into a new ledger and says how many records it saved and where the damage starts.

The Merkle tree and the kept checkpoints are checked too (``ledger/salvage_tree.py``): a stored
tree row or checkpoint that does not match ends the salvaged prefix right before the record that
completes it, and the copy's tree and checkpoints verify.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import warnings

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from ledger import Ledger, LedgerError, NewEvent, Signer, UsageReported
from ledger.salvage import salvage

from .conftest import EVENTS, drop_tree, one_line, run_cli

RECORDS = 400


class Pristine(tuple):
    """(path, rows as stored), with a short repr for hypothesis's reports."""

    def __repr__(self) -> str:
        return f"Pristine({self[0]})"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A ledger of RECORDS records over many pages, checkpointed into its file (no WAL left),
    and its rows as stored."""
    db = tmp_path_factory.mktemp("pristine") / "pristine.db"
    with Ledger.open(db, load_entrypoints=False) as book:
        book.append_many([NewEvent(UsageReported(product=f"product-{n % 11}",
                                                 weekly_active_users=n), id=f"usage-{n:04d}",
                                   meta={"note": f"record {n} " + "·" * (n % 40)})
                          for n in range(1, RECORDS + 1)])
    assert not os.path.exists(f"{db}-wal")
    return Pristine((db, rows(db)))


def rows(db) -> list[tuple]:
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return connection.execute("SELECT * FROM events ORDER BY seq").fetchall()
    finally:
        connection.close()


def damaged_copy(pristine_db, folder, flips) -> str:
    """A copy of the file with ``flips`` (page, offset, xor) applied."""
    db = os.path.join(folder, "bad.db")
    shutil.copy(pristine_db, db)
    size = os.path.getsize(db)
    with open(db, "r+b") as handle:
        page_size = int.from_bytes(handle.read(18)[16:18], "big") or 65536
        pages = size // page_size
        for page, offset, xor in flips:
            handle.seek((page % pages) * page_size + offset % page_size)
            byte = handle.read(1)[0]
            handle.seek(-1, os.SEEK_CUR)
            handle.write(bytes([byte ^ xor]))
    return db


run = run_cli


FLIPS = st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 65_535), st.integers(1, 255)),
                 min_size=1, max_size=3)


@settings(max_examples=int(os.environ.get("GIGALEDGER_CORRUPTIONS", "40")),
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=FLIPS)
@example(flips=[(2481, 1172, 192)])  # a seq in the id index: no record is lost for it
def test_flipped_bytes_are_named_in_one_line_and_salvaged(pristine, tmp_path_factory, flips,
                                                        capsys):
    pristine_db, genuine = pristine
    folder = tmp_path_factory.mktemp("bad")
    bad = damaged_copy(pristine_db, folder, flips)
    status, out, err = run(capsys, "verify", bad)
    if status == 0:  # the flips hit no record (free space, an index): the log verifies
        count = int(re.match(r"ok: (\d+) records, head ([0-9a-f]{64})", out).group(1))
        assert out.split()[-1] == genuine[count - 1][-1]  # a prefix of the genuine log at least
    else:
        line = one_line(err)
        assert status == 1, err
        assert re.search(r"seq \d+|damaged|not a (gigaledger )?database|refused", line), line
    target = os.path.join(folder, "new.db")
    status, out, err = run(capsys, "salvage", bad, target)
    if status != 0:
        assert status == 1 and "nothing could be salvaged" in one_line(err) or "refused" in err
        assert not os.path.exists(target)
        return
    saved = int(re.match(r"saved (\d+) records? \(seq 1 to \d+\)", out).group(1))
    assert out.count("\n") == 1, out  # one line, whatever SQLite's own check says
    assert rows(target) == genuine[:saved], "the salvaged records are not the genuine prefix"
    if saved < RECORDS:
        assert f"the damage starts at seq {saved + 1}: " in out, out
    else:  # every record verified; an index or page may still be damaged (SQLite's check)
        assert "no damage found" in out or "damaged outside the records" in out, out
    with Ledger.open(target, load_entrypoints=False, readonly=True) as book:
        assert book.verify() == (saved, genuine[saved - 1][-1])  # the chain and the tree
        assert book.root() == pristine_root(pristine_db, saved)


def pristine_root(db, size: int) -> bytes:
    with Ledger.open(db, load_entrypoints=False, readonly=True) as book:
        return book.root(size)


def offset_of(db, text: str) -> int:
    with open(db, "rb") as handle:
        content = handle.read()
    assert content.count(text.encode()) == 1
    return content.index(text.encode())


@pytest.mark.parametrize("seq", [1, 2, 200, RECORDS])
def test_a_damaged_record_is_named_and_the_records_before_it_saved(pristine, tmp_path, seq,
                                                                   capsys):
    pristine_db, genuine = pristine
    bad = tmp_path / "bad.db"
    shutil.copy(pristine_db, bad)
    at = offset_of(bad, f"record {seq} ")
    with open(bad, "r+b") as handle:
        handle.seek(at)
        handle.write(b"R")  # "record" becomes "Record": the same length, another hash
    status, out, err = run(capsys, "verify", bad)
    assert status == 1 and f"seq {seq}: hash does not match the record" in one_line(err)
    status, out, err = run(capsys, "salvage", bad, tmp_path / "new.db")
    if seq == 1:
        assert status == 1 and "nothing could be salvaged: the damage starts at seq 1" in \
            one_line(err)
        assert not (tmp_path / "new.db").exists()
        return
    assert status == 0, err
    assert out.startswith(f"saved {seq - 1} record{'s' if seq > 2 else ''} (seq 1 to {seq - 1})")
    assert f"the damage starts at seq {seq}: hash does not match the record" in out
    assert rows(tmp_path / "new.db") == genuine[:seq - 1]


def test_an_unreadable_page_is_named_after_the_last_good_seq(pristine, tmp_path, capsys):
    """A table page whose header is garbage: SQLite reports the file malformed part-way; verify
    names the seq after the last one it read, and salvage keeps what came before."""
    pristine_db, genuine = pristine
    bad = tmp_path / "bad.db"
    shutil.copy(pristine_db, bad)
    at = offset_of(bad, "record 250 ")
    page_size = 4096
    with open(bad, "r+b") as handle:
        handle.seek(at - at % page_size)
        handle.write(b"\xff" * 12)  # the page's type and cell count
    status, out, err = run(capsys, "verify", bad)
    line = one_line(err)
    found = re.search(r"the file is damaged: the records up to seq (\d+) verify, the next cannot "
                      r"be read", line)
    assert status == 1 and found, line
    assert 200 < int(found.group(1)) < 250
    status, out, err = run(capsys, "salvage", bad, tmp_path / "new.db")
    assert status == 0, err
    saved = int(re.match(r"saved (\d+) records", out).group(1))
    assert saved == int(found.group(1))
    assert f"the damage starts at seq {saved + 1}: SQLite cannot read it" in out
    assert rows(tmp_path / "new.db") == genuine[:saved]


def test_records_lost_from_the_tail_are_named_by_the_tree_that_covered_them(pristine, tmp_path,
                                                                           capsys):
    """The last records deleted (the triggers dropped): the chain of the rest verifies, but the
    Merkle tree still covers them; salvage saves the rest and says where the loss starts."""
    pristine_db, genuine = pristine
    bad = tmp_path / "bad.db"
    shutil.copy(pristine_db, bad)
    connection = sqlite3.connect(bad)
    connection.executescript("DROP TRIGGER events_no_delete; DELETE FROM events WHERE seq > 350")
    connection.close()
    status, out, err = run(capsys, "salvage", bad, tmp_path / "new.db")
    assert status == 0, err
    assert out.startswith("saved 350 records (seq 1 to 350)")
    assert ("the damage starts at seq 351: the table ends at seq 350 but its Merkle tree covers "
            f"{RECORDS} records") in out
    assert rows(tmp_path / "new.db") == genuine[:350]


def test_a_ledger_made_before_the_tree_is_salvaged_by_its_chain(pristine, tmp_path, capsys):
    """No tree to check: the chain alone decides, and the new ledger grows its own tree."""
    pristine_db, genuine = pristine
    old = tmp_path / "old.db"
    shutil.copy(pristine_db, old)
    drop_tree(old)
    status, out, err = run(capsys, "salvage", old, tmp_path / "new.db")
    assert status == 0 and out.startswith(f"saved {RECORDS} records") and "no damage found" in out
    with Ledger.open(tmp_path / "new.db", load_entrypoints=False, readonly=True) as book:
        assert book.verify()[0] == RECORDS and book.root() == pristine_root(pristine_db, RECORDS)


@pytest.mark.parametrize("index", ["events_stream_version", "events_id"])
def test_a_damaged_index_fails_verify_though_every_record_verifies(pristine, tmp_path, capsys,
                                                                   index):
    """Bytes changed inside an index of the log (not in any record): the hashes cannot see it,
    but reads through the index (``log --stream``, ids) would return what no record holds.
    ``verify`` says the file is damaged outside the records (exit 1); ``salvage`` copies every
    record into a file that verifies, and says the source's damage is not in the copy."""
    pristine_db, genuine = pristine
    bad = tmp_path / "bad.db"
    shutil.copy(pristine_db, bad)
    connection = sqlite3.connect(bad)
    page_size = connection.execute("PRAGMA page_size").fetchone()[0]
    connection.close()
    # streams are usage/product-N, ids usage-NNNN: each marker is in one index only
    marker = b"/product-" if index == "events_stream_version" else b"usage-"
    with open(bad, "r+b") as handle:  # in the first index leaf page (type 0x0A) holding it
        content = handle.read()
        start = next(at for at in range(page_size, len(content), page_size)
                     if content[at] == 0x0A and content.find(marker, at, at + page_size) != -1)
        at = content.index(marker, start)
        handle.seek(at + len(marker))
        handle.write(b"X")
    assert rows(bad) == genuine  # every record, as read by seq, is the genuine one
    status, out, err = run(capsys, "verify", bad)
    assert status == 1 and out == ""
    assert f"{bad}: the file is damaged outside the records' contents (" in one_line(err)
    assert f"index {index}" in err and "gigaledger salvage" in err
    target = tmp_path / "new.db"
    status, out, err = run(capsys, "salvage", bad, target)
    assert status == 0 and out.startswith(f"saved {RECORDS} records"), err
    assert f"the source file is damaged outside the records (" in out and "no damage" not in out
    assert rows(target) == genuine
    assert run(capsys, "verify", target)[0] == 0


def test_a_damaged_page_outside_the_log_points_every_command_to_salvage(pristine, tmp_path,
                                                                        capsys):
    """A page SQLite needs to open the file (the migrations' table, page 3) is damaged: every
    command fails in one line that names the damage and ``salvage``, which saves every record
    and says, in one line, that the source is damaged outside the records."""
    pristine_db, genuine = pristine
    bad = tmp_path / "bad.db"
    shutil.copy(pristine_db, bad)
    with open(bad, "r+b") as handle:
        handle.seek(8192)
        handle.write(b"\xff\xff\xff")
    for command in (["verify"], ["report"], ["info"], ["log", "--limit", "1"]):
        status, out, err = run(capsys, command[0], bad, *command[1:])
        assert (status, out) == (1, ""), err
        assert one_line(err) == (f"{bad}: the database file is damaged or unreadable (database "
                                 "disk image is malformed); `gigaledger salvage` copies the "
                                 "records that still verify into a new ledger")
    status, out, err = run(capsys, "salvage", bad, tmp_path / "new.db")
    assert status == 0 and out.count("\n") == 1, out
    assert out.startswith(f"saved {RECORDS} records") and "damaged outside the records" in out
    assert rows(tmp_path / "new.db") == genuine


def test_salvage_never_overwrites_a_file(pristine, tmp_path, capsys):
    pristine_db, _ = pristine
    existing = tmp_path / "new.db"
    existing.write_text("mine")
    status, out, err = run(capsys, "salvage", pristine_db, existing)
    assert status == 1 and "exists" in one_line(err) and existing.read_text() == "mine"
    status, out, err = run(capsys, "salvage", tmp_path / "missing.db", tmp_path / "other.db")
    assert status == 1 and "no such ledger file" in one_line(err)
    assert not (tmp_path / "other.db").exists()
    with pytest.raises(LedgerError, match="exists"):
        salvage(pristine_db, existing)


def test_salvage_of_a_whole_ledger_copies_every_record(pristine, tmp_path, capsys):
    pristine_db, genuine = pristine
    status, out, err = run(capsys, "salvage", pristine_db, tmp_path / "new.db")
    assert status == 0 and out.startswith(f"saved {RECORDS} records") and "no damage found" in out
    assert rows(tmp_path / "new.db") == genuine


READS = (["log"], ["report"], ["info"], ["head"], ["export"], ["verify", "--json"])


@pytest.fixture(scope="module")
def rich(tmp_path_factory):
    """A ledger of both shipped histories (records every projection folds) and usage reports."""
    db = tmp_path_factory.mktemp("rich") / "rich.db"
    with Ledger.open(db, load_entrypoints=False) as book, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the plan's scenario beside the reported history
        book.import_jsonl(*(os.path.join(EVENTS, name) for name in (
            "nvidia-openai-plan.jsonl", "openai-compute-2025-2026.jsonl")))
        book.append_many([NewEvent(UsageReported(product=f"p{n % 5}", weekly_active_users=n),
                                   id=f"u{n}") for n in range(200)])
    return Pristine((db, ()))


@settings(max_examples=int(os.environ.get("GIGALEDGER_CORRUPTIONS", "40")) // 2,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=FLIPS)
def test_every_read_command_on_a_damaged_file_is_one_line_at_worst(rich, tmp_path_factory,
                                                                  flips, capsys):
    """A damaged value (bad JSON, a bad time, a NULL, a blob) read by log, report, info, head,
    export or verify --json: the output it can give, or one line and exit 1, never
    "internal error"."""
    bad = damaged_copy(rich[0], tmp_path_factory.mktemp("bad"), flips)
    for command, *options in READS:
        status, out, err = run(capsys, command, bad, *options)
        assert status in (0, 1), (command, err)
        assert "internal error" not in err and "Traceback" not in err, (command, err)
        if status == 1:
            one_line("\n".join(line for line in err.splitlines()
                               if not line.startswith("warning:")))


# --- a damaged Merkle tree and damaged checkpoints ---------------------------------------------

#: Records appended in batches of these sizes (so that blocks of the tree are stored at many
#: sizes), a checkpoint signed after each batch.
TREE_BATCHES = (1, 2, 5, 8, 13, 21, 30, 70)
KEY = Signer.from_seed("ledger.example/salvage", bytes(range(32)))
#: Each kind of damage: the table, its key columns, the column changed (None: the row deleted).
DAMAGE = {"block leaves": ("tree_blocks", ("block", "size"), "leaves"),
          "node hash": ("tree_nodes", ("level", "idx"), "hash"),
          "node deleted": ("tree_nodes", ("level", "idx"), None),
          "checkpoint root": ("checkpoints", ("rowid",), "root"),
          "checkpoint text": ("checkpoints", ("rowid",), "note")}


@pytest.fixture(scope="module")
def treed(tmp_path_factory):
    """A ledger whose tree was stored batch by batch, with a checkpoint after each batch; its
    rows, and its root at every size."""
    db = tmp_path_factory.mktemp("treed") / "treed.db"
    with Ledger.open(db, load_entrypoints=False) as book:
        done = 0
        for size in TREE_BATCHES:
            book.append_many([NewEvent(UsageReported(product=f"p{n % 3}", weekly_active_users=n),
                                       id=f"t{n}") for n in range(done, done + size)])
            done += size
            book.checkpoint(KEY)
        roots = [book.root(size) for size in range(done + 1)]
        notes = book.checkpoints()
    return Pristine((db, rows(db), roots, notes))


#: Each table of the tree: its rows keyed by what names them, and the seq of the record that
#: completes a row (the last record it depends on).
TREE_TABLES = {
    "tree_blocks": ("SELECT block, size, block, size, leaves FROM tree_blocks",
                    lambda block, size: block * 16 + size),
    "tree_nodes": ("SELECT level, idx, level, idx, hash FROM tree_nodes",
                   lambda level, index: (index + 1) << level),
    "checkpoints": ("SELECT rowid, tree_size, tree_size, root, note, verifier FROM checkpoints",
                    lambda rowid, size: size),
}


def tree_rows(connection) -> dict[tuple, tuple]:
    """Every stored row of the tree and checkpoints, by (table, its key)."""
    return {(table, row[:2]): row[2:] for table, (query, _) in TREE_TABLES.items()
            for row in connection.execute(query)}


def damage_rows(db, damage) -> int | None:
    """Apply each (kind, which row, where, xor); return the seq of the record completing the
    first stored row that is no longer the genuine one (two changes may undo each other), or
    None."""
    connection = sqlite3.connect(db)
    try:
        connection.executescript("".join(
            f"DROP TRIGGER {table}_no_{verb};" for table in TREE_TABLES
            for verb in ("update", "delete")))
        before = tree_rows(connection)
        for kind, which, at, xor in damage:
            table, key, column = DAMAGE[kind]
            keys = connection.execute(f"SELECT {', '.join(key)} FROM {table} ORDER BY "
                                      f"{', '.join(key)}").fetchall()
            if not keys:
                continue
            chosen = keys[which % len(keys)]
            where = " AND ".join(f"{name} = ?" for name in key)
            if column is None:
                connection.execute(f"DELETE FROM {table} WHERE {where}", chosen)
                continue
            (value,), = connection.execute(f"SELECT {column} FROM {table} WHERE {where}", chosen)
            if column == "note":  # a letter of the signed text (origin, size, root) changed
                at %= value.index("\n\n")
                letter = chr(ord("a") + (ord(value[at]) + xor) % 26)
                value = value[:at] + (letter if letter != value[at] else "#") + value[at + 1:]
            else:
                value = bytearray(value)
                value[at % len(value)] ^= xor
            connection.execute(f"UPDATE {table} SET {column} = ? WHERE {where}",
                               (bytes(value) if column != "note" else value, *chosen))
        connection.commit()
        after = tree_rows(connection)
        return min((TREE_TABLES[table][1](*key) for (table, key), row in before.items()
                    if after.get((table, key)) != row), default=None)
    finally:
        connection.close()


DAMAGES = st.lists(st.tuples(st.sampled_from(sorted(DAMAGE)), st.integers(0, 10_000),
                             st.integers(0, 10_000), st.integers(1, 255)), min_size=1, max_size=3)


@settings(max_examples=int(os.environ.get("GIGALEDGER_CORRUPTIONS", "40")) // 4,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(damage=DAMAGES)
def test_a_damaged_tree_row_ends_the_salvaged_prefix_before_the_record_completing_it(
        treed, tmp_path_factory, damage, capsys):
    """Leaves of a block, a node's hash, a node deleted, a checkpoint's root or signed text
    (hypothesis chooses which rows and bytes): the records all verify by the chain, yet
    ``verify`` fails in one line, and ``salvage`` keeps exactly the records before the first
    that completes a damaged row, in a new ledger whose tree verifies and which keeps the
    genuine checkpoints of sizes it reaches."""
    db, genuine, roots, notes = treed
    folder = tmp_path_factory.mktemp("tree")
    bad = os.path.join(folder, "bad.db")
    shutil.copy(db, bad)
    first_bad = damage_rows(bad, damage)
    assume(first_bad is not None)
    status, out, err = run(capsys, "verify", bad)
    assert status == 1 and re.search(r"Merkle tree|checkpoint", one_line(err)), err
    target = os.path.join(folder, "new.db")
    status, out, err = run(capsys, "salvage", bad, target)
    saved = first_bad - 1
    if saved == 0:
        assert status == 1 and "nothing could be salvaged: the damage starts at seq 1" in \
            one_line(err)
        assert not os.path.exists(target)
        return
    assert status == 0, err
    assert out.startswith(f"saved {saved} record{'s' if saved > 1 else ''} (seq 1 to {saved})")
    assert f"the damage starts at seq {first_bad}: " in out, out
    assert re.search(r"Merkle tree|checkpoint", out), out
    assert rows(target) == genuine[:saved]
    with Ledger.open(target, load_entrypoints=False, readonly=True) as book:
        assert book.verify() == (saved, genuine[saved - 1][-1])  # the tree and checkpoints too
        assert book.root() == roots[saved]
        assert book.checkpoints() == [note for note in notes if int(note.split("\n")[1]) <= saved]
