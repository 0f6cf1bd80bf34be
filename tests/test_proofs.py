"""Proofs for third parties over a real log: the Merkle tree kept beside the records on both
stores, inclusion and consistency proofs checked offline against signed checkpoints, and
tampering caught by the tree and by earlier checkpoints."""

from __future__ import annotations

import base64
import json
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import (Checkpoint, InclusionProof, Ledger, LedgerError, ProofError, Rejected, Signer,
                    UsageReported, VerificationError, check_proof, open_checkpoint, parse_proof)
from ledger.history import record_line
from ledger.merkle import EMPTY_ROOT, leaf_hash, root_of
from ledger.proofs import dumps
from ledger.signed_note import NoteError
from ledger.tree import check as check_tree
from ledger.tree import stored_size

from .conftest import drop_tree

KEY = Signer.from_seed("ledger.example/deals", bytes(range(32)))


def usage(n: int) -> UsageReported:
    return UsageReported(product=f"p{n % 3}", weekly_active_users=n)


def fill(book: Ledger, count: int, start: int = 0) -> None:
    book.append_many([usage(n) for n in range(start, start + count)], occurred_at="2025-09-22")


def reference_root(book: Ledger, size: int) -> bytes:
    """MTH over the exported lines, computed from scratch."""
    return root_of([leaf_hash(record_line(row)[:-1].encode()) for row in
                    book._store.rows(upto=size)])


def test_the_leaf_is_the_exported_line(tmp_path):
    with Ledger.open(load_entrypoints=False) as book:
        fill(book, 3)
        book.export_jsonl(tmp_path / "x.jsonl")
        lines = (tmp_path / "x.jsonl").read_text(encoding="utf-8").splitlines()
        proof = book.prove(2)
        assert proof.leaf == lines[1]
        assert book.root() == root_of([leaf_hash(line.encode()) for line in lines])
        assert book.root(0) == EMPTY_ROOT


def test_roots_and_proofs_on_both_stores(book):
    sizes = [1, 15, 16, 17, 40]  # inside, at and across the tree's blocks of 16
    done = 0
    notes = {}
    for size in sizes:
        fill(book, size - done, done)
        done = size
        notes[size] = open_checkpoint(book.checkpoint(KEY), [KEY.verifier])
    assert stored_size(book._store) == 40
    for size in sizes:
        assert book.root(size) == reference_root(book, size) == notes[size].root
        for seq in (1, size // 2 + 1, size):
            check_proof(book.prove(seq, size), notes[size])
        for old in sizes:
            if old <= size:
                check_proof(book.prove_consistency(old, size), notes[size], notes[old])
    assert [open_checkpoint(n, [KEY.verifier]).size for n in book.checkpoints()] == sizes
    assert book.verify()[0] == 40


@settings(max_examples=12, deadline=None)
@given(count=st.integers(1, 20), appends=st.lists(st.integers(1, 7), max_size=4),
       flip=st.integers(0, 10**6))
def test_every_proof_verifies_and_any_changed_byte_fails(count, appends, flip):
    with Ledger.open(load_entrypoints=False) as book:
        fill(book, count)
        for extra in appends:  # appended one transaction at a time, after the first batch
            for _ in range(extra):
                book.append(usage(len(book)), occurred_at="2025-09-23")
        total = len(book)
        signed = {size: book.checkpoint(KEY, size) for size in range(total + 1)}
        opened = {size: open_checkpoint(note, [KEY.verifier]) for size, note in signed.items()}
        for size in range(1, total + 1):
            for seq in range(1, size + 1):
                proof = book.prove(seq, size)
                assert "holds" not in check_proof(parse_proof(dumps(proof)), opened[size])
                _inclusion_fails_when_changed(proof, opened, signed, flip + seq)
        for size in range(total + 1):
            for old in range(size + 1):
                proof = book.prove_consistency(old, size)
                check_proof(parse_proof(dumps(proof)), opened[size], opened[old])
                if proof.hashes:
                    _consistency_fails_when_changed(proof, opened, flip + old)


def _changed_byte(value: bytes, at: int) -> bytes:
    at %= len(value)
    return value[:at] + bytes([value[at] ^ 0x01]) + value[at + 1:]


def _inclusion_fails_when_changed(proof, opened, signed, at):
    text = dumps(proof)
    body = json.loads(text)
    leaf = body["leaf"]
    position = at % len(leaf)
    changed = leaf[:position] + chr(ord(leaf[position]) ^ 0x01) + leaf[position + 1:]
    with pytest.raises(ProofError):
        check_proof(parse_proof({**body, "leaf": changed}), opened[proof.tree_size])
    if proof.hashes:
        hashes = list(body["hashes"])
        which = at % len(hashes)
        hashes[which] = base64.b64encode(_changed_byte(proof.hashes[which], at)).decode()
        with pytest.raises(ProofError):
            check_proof(parse_proof({**body, "hashes": hashes}), opened[proof.tree_size])
    for size in (proof.tree_size - 1, proof.tree_size + 1):
        with pytest.raises(ProofError):
            check_proof(parse_proof({**body, "tree_size": size}), opened[proof.tree_size])
    note = signed[proof.tree_size]
    text, signature = note.rsplit(" ", 1)
    raw = _changed_byte(base64.b64decode(signature), at)
    with pytest.raises(NoteError):
        open_checkpoint(text + " " + base64.b64encode(raw).decode() + "\n", [KEY.verifier])
    digits = note.split("\n")[1]
    with pytest.raises(NoteError):  # the size in the signed checkpoint itself
        open_checkpoint(note.replace(f"\n{digits}\n", f"\n{int(digits) + 1}\n", 1), [KEY.verifier])


def _consistency_fails_when_changed(proof, opened, at):
    body = json.loads(dumps(proof))
    hashes = list(body["hashes"])
    which = at % len(hashes)
    hashes[which] = base64.b64encode(_changed_byte(proof.hashes[which], at)).decode()
    with pytest.raises(ProofError):
        check_proof(parse_proof({**body, "hashes": hashes}), opened[proof.tree_size],
                    opened[proof.old_size])
    if proof.old_size + 1 < proof.tree_size:
        with pytest.raises(ProofError):
            check_proof(parse_proof({**body, "old_size": proof.old_size + 1}),
                        opened[proof.tree_size], opened[proof.old_size])


def test_a_rolled_back_batch_leaves_the_tree_as_it_was():
    with Ledger.open(load_entrypoints=False) as book:
        fill(book, 20)
        before = book.root()

        class Broken(Exception):
            pass

        def events():
            yield from (usage(n) for n in range(20, 50))
            raise Broken

        with pytest.raises(Broken):
            book.append_many(events())
        assert len(book) == 20 and book.root() == before and stored_size(book._store) == 20
        fill(book, 5, 100)  # the next appends grow the tree from where it is
        assert book.root() == reference_root(book, 25)
        assert book.verify()[0] == 25


def test_another_writer_between_appends_is_picked_up(tmp_path):
    path = tmp_path / "x.db"
    with Ledger.open(path, load_entrypoints=False) as one, \
            Ledger.open(path, load_entrypoints=False) as two:
        fill(one, 10)
        fill(two, 9, 10)
        fill(one, 3, 19)
        assert one.root() == two.root() == reference_root(one, 22)
        assert check_tree(one._store) == 22


def test_a_ledger_made_before_the_tree_gets_it_on_first_use(tmp_path):
    path = tmp_path / "old.db"
    with Ledger.open(path, load_entrypoints=False) as book:
        fill(book, 70)
        expected = book.root()
    drop_tree(path)
    path.chmod(0o444)
    try:
        with Ledger.open(path, readonly=True, load_entrypoints=False) as book:
            assert not book._store.has_tree
            assert book.root() == expected  # computed from the records
            assert book.verify()[0] == 70
    finally:
        path.chmod(0o644)
    seen = []
    with Ledger.open(path, load_entrypoints=False) as book:
        assert stored_size(book._store) == 0
        assert book.build_tree(lambda done, total: seen.append((done, total))) == 70
        assert seen[-1] == (70, 70)
        assert stored_size(book._store) == 70 and book.root() == expected
    drop_tree(path)
    with Ledger.open(path, load_entrypoints=False) as book:  # or on the first append
        fill(book, 1, 70)
        assert stored_size(book._store) == 71 and check_tree(book._store) == 71


def test_bad_sizes_and_seqs_are_clear_errors():
    with Ledger.open(load_entrypoints=False) as book:
        fill(book, 5)
        for call, match in ((lambda: book.prove(0), "seq 0"), (lambda: book.prove(6), "seq 6"),
                            (lambda: book.prove(3, 2), "from 1 to 2"),
                            (lambda: book.root(6), "holds 5 records"),
                            (lambda: book.prove_consistency(6), "from 0 to 5"),
                            (lambda: book.checkpoint("not a key"), "signer key")):
            with pytest.raises(LedgerError, match=match):
                call()
        with pytest.raises(ProofError, match="two checkpoints"):
            check_proof(book.prove_consistency(2), open_checkpoint(book.checkpoint(KEY), [KEY.verifier]))


def tamper(path, statement):
    connection = sqlite3.connect(path)
    connection.executescript("DROP TRIGGER IF EXISTS events_no_update;" + statement)
    connection.close()


def tampered(tmp_path, statement):
    """A ledger of 40 records, then changed on disk by ``statement`` (triggers dropped)."""
    path = tmp_path / "x.db"
    with Ledger.open(path, load_entrypoints=False) as book:
        fill(book, 40)
    tamper(path, statement)
    return path


def test_a_changed_record_is_caught_by_the_tree_as_well_as_by_the_chain(tmp_path):
    path = tampered(tmp_path, "UPDATE events SET data = "
                    "'{\"product\":\"p1\",\"weekly_active_users\":1000}' WHERE seq = 23")
    with Ledger.open(path, load_entrypoints=False) as book:
        with pytest.raises(VerificationError) as by_chain:
            book.verify()
        assert by_chain.value.seq == 23 and "hash does not match" in str(by_chain.value)
        with pytest.raises(VerificationError) as by_tree:
            check_tree(book._store)
        assert by_tree.value.seq == 23 and "Merkle tree" in str(by_tree.value)
    # The chain rebuilt from the changed record on: only the tree still sees it.
    connection = sqlite3.connect(path)
    from ledger.chain import link, record_body

    rows = connection.execute("SELECT seq, id, stream, version, type, schema, occurred_at, "
                              "recorded_at, data, meta, hash FROM events ORDER BY seq").fetchall()
    previous = rows[21][10]
    for row in rows[22:]:
        previous = link(previous, record_body(*row[:10]))
        connection.execute("UPDATE events SET hash = ? WHERE seq = ?", (previous, row[0]))
    connection.commit()
    connection.close()
    with Ledger.open(path, load_entrypoints=False) as book:
        with pytest.raises(VerificationError) as caught:
            book.verify()
        assert caught.value.seq == 23 and "Merkle tree" in str(caught.value)


def test_a_rewritten_log_is_caught_by_an_earlier_checkpoint(tmp_path):
    path = tmp_path / "x.db"
    with Ledger.open(path, load_entrypoints=False) as book:
        fill(book, 30)
        published = book.checkpoint(KEY)  # given to the auditors
    path.unlink()
    with Ledger.open(path, load_entrypoints=False) as book:  # the same log, seq 12 rewritten,
        fill(book, 11)                                       # its chain and tree rebuilt
        book.append(UsageReported(product="p2", weekly_active_users=999_999), occurred_at="2025-09-22")
        fill(book, 25, 12)
        assert book.verify()[0] == 37  # self-consistent
        old = open_checkpoint(published, [KEY.verifier])
        with pytest.raises(VerificationError, match="does not match the log") as caught:
            book.check_checkpoint(old)
        assert caught.value.seq == 30
        today = open_checkpoint(book.checkpoint(KEY), [KEY.verifier])
        with pytest.raises(ProofError):
            check_proof(book.prove_consistency(30), today, old)
        with pytest.raises(ProofError):
            check_proof(book.prove(5, 30), old)  # nor does any record of it prove against it


def test_a_kept_checkpoint_that_no_longer_matches_fails_verify(tmp_path):
    path = tmp_path / "x.db"
    with Ledger.open(path, load_entrypoints=False) as book:
        fill(book, 20)
        book.checkpoint(KEY, 20)
    connection = sqlite3.connect(path)
    connection.executescript(
        "DROP TRIGGER checkpoints_no_update; UPDATE checkpoints SET note = "
        "replace(note, 'ledger.example/deals', 'ledger.example/other')")
    connection.close()
    with Ledger.open(path, load_entrypoints=False) as book, \
            pytest.raises(VerificationError, match="checkpoint made") as caught:
        book.verify()
    assert caught.value.seq == 20


def test_the_tree_tables_are_append_only(tmp_path):
    path = tmp_path / "x.db"
    with Ledger.open(path, load_entrypoints=False) as book:
        fill(book, 20)
        book.checkpoint(KEY)
    connection = sqlite3.connect(path)
    for statement in ("UPDATE tree_nodes SET hash = x'00'", "DELETE FROM tree_blocks",
                      "DELETE FROM checkpoints", "UPDATE checkpoints SET tree_size = 3"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            connection.execute(statement)
    connection.close()


def test_a_checkpoint_refuses_a_read_only_ledger(tmp_path):
    path = tmp_path / "x.db"
    with Ledger.open(path, load_entrypoints=False) as book:
        fill(book, 3)
    with Ledger.open(path, readonly=True, load_entrypoints=False) as book:
        with pytest.raises(LedgerError, match="read-only"):
            book.checkpoint(KEY)
        assert book.prove(2).seq == 2


def test_a_proof_names_what_is_wrong_with_it():
    for bad, match in (("{", "not JSON"), ("[]", "JSON object"), ('{"kind": "x"}', "kind"),
                       ('{"kind": "inclusion", "seq": 1}', "exactly the keys"),
                       ('{"kind": "consistency", "old_size": -1, "tree_size": 2, "hashes": []}',
                        "old_size"),
                       ('{"kind": "consistency", "old_size": 1, "tree_size": 2, "hashes": ["@"]}',
                        "base64")):
        with pytest.raises(ProofError, match=match):
            parse_proof(bad)
    assert Rejected is not ProofError  # a proof error is not a refused event
    assert isinstance(Checkpoint("o", 0, EMPTY_ROOT).text, str)


def test_a_copy_or_an_exported_and_imported_log_is_the_same_tree(tmp_path, book):
    with Ledger.open(tmp_path / "a.db", load_entrypoints=False) as source:
        fill(source, 21)
        published = open_checkpoint(source.checkpoint(KEY), [KEY.verifier])
        source.copy_to(book)  # SQLite to SQLite in memory, and to PostgreSQL
        source.export_jsonl(tmp_path / "a.jsonl")
    assert book.root() == published.root and len(book.checkpoints()) == 1
    book.check_checkpoint(published)
    with Ledger.open(tmp_path / "b.db", load_entrypoints=False) as imported:
        imported.import_jsonl(tmp_path / "a.jsonl")
        imported.check_checkpoint(published)
        check_proof(imported.prove(7), published)


def test_a_proof_of_a_record_changed_on_disk_is_refused_not_handed_out(tmp_path):
    path = tampered(tmp_path, "UPDATE events SET data = replace(data, "
                    "'\"weekly_active_users\":22', '\"weekly_active_users\":23') WHERE seq = 23")
    with Ledger.open(path, load_entrypoints=False) as book:
        for size in (23, 30, None):
            with pytest.raises(VerificationError, match="record seq 23 does not match the Merkle "
                                                        "tree .* run gigaledger verify") as caught:
                book.prove(23, size)
            assert caught.value.seq == 23
        today = open_checkpoint(book.checkpoint(KEY), [KEY.verifier])  # seq 40 still matches
        check_proof(book.prove(22), today)  # the other records still prove
        with pytest.raises(VerificationError, match="no checkpoint signed: record seq 23") as caught:
            book.checkpoint(KEY, 23)  # its last record no longer matches its tree
        assert caught.value.seq == 23 and len(book.checkpoints()) == 1


def test_a_consistency_proof_from_a_changed_tree_is_refused(tmp_path):
    path = tmp_path / "x.db"
    with Ledger.open(path, load_entrypoints=False) as book:
        fill(book, 53)
        good = book.prove_consistency(20)
    connection = sqlite3.connect(path)  # the node over leaves 1..32, as a changed file might have it
    connection.executescript("DROP TRIGGER tree_nodes_no_update; UPDATE tree_nodes SET hash = "
                             "zeroblob(32) WHERE level = 5 AND idx = 0")
    connection.close()
    with Ledger.open(path, load_entrypoints=False) as book:
        with pytest.raises(VerificationError, match="does not hold the one of 20: .* gigaledger "
                                                    "verify"):
            book.prove_consistency(20)
        # From 40 the changed node is taken whole by both roots and by the proof: they agree,
        # so the cheap check passes (verify is what reads every node).
        assert book.prove_consistency(40).old_size == 40 and good.old_size == 20


def test_checking_names_a_seq_out_of_range_swapped_checkpoints_and_a_needless_old_one():
    with Ledger.open(load_entrypoints=False) as book:
        fill(book, 5)
        old = open_checkpoint(book.checkpoint(KEY, 3), [KEY.verifier])
        new = open_checkpoint(book.checkpoint(KEY), [KEY.verifier])
        inclusion = book.prove(2)
        far = InclusionProof(9, 5, inclusion.leaf.replace('"seq":2', '"seq":9'), inclusion.hashes)
        with pytest.raises(ProofError, match=r"seq 9 is out of range: .* seq must be 1\.\.5$"):
            check_proof(far, new)
        with pytest.raises(ProofError, match=r"^the old checkpoint is of 5 records, the new one "
                                             r"of 3, and the proof from 3 to 5: the checkpoints "
                                             r"are given the wrong way round; swap them$"):
            check_proof(book.prove_consistency(3), old, new)  # the new one given as the old one
        four = open_checkpoint(book.checkpoint(KEY, 4), [KEY.verifier])
        with pytest.raises(ProofError, match=r"^the proof is from 3 to 5 records, the checkpoints "
                                             r"are of 5 \(old\) and 4 \(new\)$"):
            check_proof(book.prove_consistency(3), four, new)  # not swapped: another checkpoint
        with pytest.raises(ProofError, match="goes with a consistency proof only"):
            check_proof(inclusion, new, old)
        assert "extends the one of 3" in check_proof(book.prove_consistency(3), new, old)
