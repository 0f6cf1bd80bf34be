"""Signed notes, keys and checkpoints against the fixed examples of Go's
``golang.org/x/mod/sumdb/note`` (tests/data/signed_note/README.md says where each comes from):
keys made there sign here, notes signed here are byte for byte what Go writes, and both ways
verify."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import Checkpoint, NoteError, Signer, Verifier, open_checkpoint
from ledger.merkle import leaf_hash
from ledger.signed_note import key_id, open_note, sign

DATA = Path(__file__).parent / "data" / "signed_note"
PETER_KEY = (DATA / "PeterNeumann.key").read_text().strip()
PETER_PUB = (DATA / "PeterNeumann.pub").read_text().strip()
ENOCH_PUB = (DATA / "EnochRoot.pub").read_text().strip()
SIGNED = (DATA / "PeterNeumann.note").read_text()
DOUBLY = (DATA / "PeterNeumann-EnochRoot.note").read_text()
TEXT = ("If you think cryptography is the answer to your problem,\n"
        "then you don't know what your problem is.\n")


def test_the_go_keys_parse_and_match():
    signer = Signer.from_text(PETER_KEY)
    verifier = Verifier.from_text(PETER_PUB)
    assert (signer.name, signer.id) == ("PeterNeumann", 0xC74F20A3)
    assert signer.verifier == verifier
    assert signer.text == PETER_KEY and verifier.text == PETER_PUB
    assert key_id(verifier.name, verifier.public_key) == 0xC74F20A3
    assert Verifier.from_text(ENOCH_PUB).id == 0xAF0CFE78


def test_a_note_signed_here_is_byte_for_byte_the_one_go_signs():
    assert sign(TEXT, [Signer.from_text(PETER_KEY)]) == SIGNED


def test_go_notes_open_here():
    peter, enoch = Verifier.from_text(PETER_PUB), Verifier.from_text(ENOCH_PUB)
    note = open_note(SIGNED, [peter])
    assert note.text == TEXT and [s.name for s in note.signatures] == ["PeterNeumann"]
    one = open_note(DOUBLY, [peter])
    assert [s.name for s in one.signatures] == ["PeterNeumann"]
    assert [(s.name, s.id) for s in one.unverified] == [("EnochRoot", 0xAF0CFE78)]
    both = open_note(DOUBLY, [peter, enoch])
    assert [s.name for s in both.signatures] == ["PeterNeumann", "EnochRoot"]
    with pytest.raises(NoteError, match="no verifiable signatures"):
        open_note(DOUBLY, [])
    with pytest.raises(NoteError, match="ambiguous key EnochRoot"):
        open_note(TEXT + "\n" + DOUBLY.split("\n\n")[1].splitlines(True)[1], [enoch, peter, enoch])


def test_the_malformed_notes_of_gos_tests_are_refused():
    peter = Verifier.from_text(PETER_PUB)
    line = SIGNED.split("\n\n")[1]
    for bad in (TEXT, TEXT + "\n", TEXT + "\n" + line[:-1], "\x01" + TEXT + "\n" + line,
                TEXT + "\n— Bad Name " + line.split(" ", 2)[2], TEXT + "\n" + line + "Unexpected line.\n",
                TEXT + "\n" + line * 101):
        with pytest.raises(NoteError, match="malformed"):
            open_note(bad, [peter])
    with pytest.raises(NoteError, match="malformed"):
        open_note(b"\xff" + (TEXT + "\n" + line).encode(), [peter])
    with pytest.raises(NoteError, match="invalid signature for key PeterNeumann"):
        open_note(TEXT + "\n" + line[:60] + "ABCD" + line[60:], [peter])


@pytest.mark.parametrize("text", [PETER_PUB, PETER_KEY])
def test_every_mangled_key_is_refused(text):
    parse = Verifier.from_text if not text.startswith("PRIVATE") else Signer.from_text
    for at in range(len(text)):
        changed = text[:at] + chr(ord(text[at]) + 1) + text[at + 1:]
        with pytest.raises(NoteError):
            parse(changed)
    for cut in (text[:-1], text[1:], text[: len(text) // 2]):
        with pytest.raises(NoteError):
            parse(cut)


def test_a_wrong_length_or_algorithm_is_refused():
    with pytest.raises(NoteError):  # Go's: a wrong length key, with an adjusted key id
        Verifier.from_text("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==")
    with pytest.raises(NoteError, match="unknown algorithm"):
        Verifier.from_text("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")


@settings(max_examples=20, deadline=None)
@given(name=st.text(st.characters(blacklist_categories=("Cs", "Zs", "Cc", "Zl", "Zp")), min_size=1,
                    max_size=20).filter(lambda n: "+" not in n and not any(c.isspace() for c in n)),
       lines=st.lists(st.text(st.characters(min_codepoint=32, blacklist_categories=("Cs",)),
                              max_size=30), min_size=1, max_size=4))
def test_generated_keys_round_trip_and_sign_any_note(name, lines):
    signer = Signer.generate(name)
    again = Signer.from_text(signer.text)
    verifier = Verifier.from_text(signer.verifier.text)
    assert again == signer and verifier == signer.verifier
    text = "".join(line + "\n" for line in lines if line)  or "x\n"
    signed = sign(text, [again])
    assert open_note(signed, [verifier]).text == text
    raw = bytearray(base64.b64decode(signed.rsplit(" ", 1)[1]))
    raw[-1] ^= 1
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(signed.rsplit(" ", 1)[0] + " " + base64.b64encode(bytes(raw)).decode() + "\n",
                  [verifier])


def test_the_go_checksum_database_tree_note_is_a_checkpoint():
    text = (DATA / "go-sum-tree.txt").read_text()
    checkpoint = Checkpoint.parse(text)
    assert (checkpoint.origin, checkpoint.size) == ("go.sum database tree", 123456789012)
    assert checkpoint.root == leaf_hash(b"hello world")
    assert checkpoint.text == text


@pytest.mark.parametrize("bad", [
    "origin\n012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
    "origin\n0xabcdef\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
    "origin\n12\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=\n",
    "origin\n12\nAAAA\n",
    "origin\n12\n",
    "\n12\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
    "origin\n12\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n\nextension\n",
    "origin\n12\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=",
])
def test_bad_checkpoints_are_refused(bad):
    with pytest.raises(NoteError, match="checkpoint"):
        Checkpoint.parse(bad)


def test_a_checkpoint_signed_with_a_go_key_opens_with_its_go_verifier():
    checkpoint = Checkpoint("PeterNeumann", 8, leaf_hash(b"x"), ("extension line",))
    note = checkpoint.signed([Signer.from_text(PETER_KEY)])
    assert open_checkpoint(note, [Verifier.from_text(PETER_PUB)]) == checkpoint
    with pytest.raises(NoteError, match="no verifiable signatures"):
        open_checkpoint(note, [Verifier.from_text(ENOCH_PUB)])
    with pytest.raises(NoteError, match="invalid signature"):
        open_checkpoint(note.replace("\n8\n", "\n9\n"), [Verifier.from_text(PETER_PUB)])
