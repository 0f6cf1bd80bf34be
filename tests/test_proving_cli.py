"""The proof commands (keygen, checkpoint, prove, check, verify --checkpoint) and the README's
"Proofs for third parties" section, run as written."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ledger import Ledger, UsageReported
from ledger.cli import main

from .conftest import ROOT
from .test_cookbook import FENCE, matches

README = Path(ROOT) / "README.md"
DATA = Path(__file__).parent / "data" / "signed_note"


def run(capsys, *args):
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def plan(tmp_path, capsys, monkeypatch):
    """A ledger of the plan's history, a key pair and a checkpoint of it, in tmp_path."""
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "import", "plan.db", str(Path(ROOT) / "events" / "nvidia-openai-plan.jsonl"))[0] == 0
    assert run(capsys, "keygen", "ledger.example/plan", "-o", "plan")[0] == 0
    status, out, _ = run(capsys, "checkpoint", "plan.db", "--key", "plan.key")
    assert status == 0
    (tmp_path / "today.txt").write_text(out, encoding="utf-8")
    return tmp_path


def test_keygen_writes_a_secret_signer_key_and_a_verifier_key(plan, capsys):
    assert stat.S_IMODE((plan / "plan.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((plan / "plan.pub").stat().st_mode) == 0o644
    assert (plan / "plan.key").read_text().startswith("PRIVATE+KEY+ledger.example/plan+")
    assert re.fullmatch(r"ledger\.example/plan\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}\n",
                        (plan / "plan.pub").read_text())
    status, _, err = run(capsys, "keygen", "ledger.example/plan", "-o", "plan")
    assert status == 1 and err.count("\n") == 1 and "exists" in err
    status, _, err = run(capsys, "keygen", "bad name", "-o", "other")
    assert status == 1 and "key name" in err and not (plan / "other.key").exists()
    status, _, err = run(capsys, "keygen", "ledger.example/plan", "-o", "nodir/k")
    assert (status, err) == (1, f"nodir/k.key: cannot be written: no folder {plan / 'nodir'}\n")


def test_prove_and_check_both_kinds(plan, capsys):
    status, out, _ = run(capsys, "prove", "plan.db", "18")
    assert status == 0 and json.loads(out)["kind"] == "inclusion"
    (plan / "p.json").write_text(out)
    status, out, _ = run(capsys, "check", "p.json", "--checkpoint", "today.txt", "--pub", "plan.pub")
    assert (status, out) == (0, "ok: seq 18 is in the log ledger.example/plan of 53 records\n")
    status, out, _ = run(capsys, "checkpoint", "plan.db", "--key", "plan.key", "--size", "20")
    (plan / "old.txt").write_text(out)
    status, out, _ = run(capsys, "prove", "plan.db", "--consistency", "20")
    (plan / "c.json").write_text(out)
    status, out, _ = run(capsys, "check", "c.json", "--checkpoint", "today.txt", "--pub", "plan.pub",
                         "--old-checkpoint", "old.txt")
    assert status == 0 and "extends the one of 20 records" in out
    status, out, _ = run(capsys, "verify", "plan.db", "--checkpoint", "old.txt", "--pub", "plan.pub")
    assert status == 0 and "matches the checkpoint of 20 records" in out


@pytest.mark.parametrize(("args", "status", "says"), [
    (["prove", "plan.db", "54"], 1, "seq 54: not in the tree of 53 records"),
    (["prove", "plan.db", "3", "--size", "99"], 1, "the log holds 53 records"),
    (["prove", "plan.db"], 2, "either SEQ"),
    (["prove", "plan.db", "3", "--consistency", "2"], 2, "either SEQ"),
    (["prove", "missing.db", "3"], 1, "no such ledger file"),
    (["checkpoint", "plan.db", "--key", "plan.pub"], 1, "plan.pub: not a signer key"),
    (["checkpoint", "plan.db", "--key", "nothing.key"], 1, "nothing.key: cannot read the signer key"),
    (["check", "today.txt", "--checkpoint", "today.txt", "--pub", "plan.pub"], 1, "today.txt: proof: not JSON"),
    (["check", "p.json", "--checkpoint", "today.txt", "--pub", "plan.key"], 1,
     "plan.key: this is a signer key (secret), not a verifier key: give the .pub file"),
    (["check", "p.json", "--checkpoint", "p.json", "--pub", "plan.pub"], 1, "p.json: checkpoint: malformed note"),
    # --checkpoint and --pub swapped: each file is named for what it is
    (["check", "p.json", "--checkpoint", "plan.pub", "--pub", "today.txt"], 1,
     "today.txt: this is a signed note (a checkpoint?), not a verifier key: give the one-line "
     ".pub file that gigaledger keygen wrote"),
    (["check", "p.json", "--checkpoint", "plan.pub", "--pub", "plan.pub"], 1,
     "plan.pub: checkpoint: this is a verifier key (a .pub file), not a signed note: give the "
     "checkpoint that gigaledger checkpoint printed"),
    (["verify", "other.db", "--checkpoint", "today.txt", "--pub", "plan.pub"], 1,
     "checkpoint of 53 records, but the log ends at seq 3: records were removed, or the "
     "checkpoint is not of this ledger"),
    # a consistency proof without the old checkpoint, an inclusion proof with one: usage errors
    (["check", "c.json", "--checkpoint", "today.txt", "--pub", "plan.pub"], 2,
     "c.json is a consistency proof (from 3 to 53 records): add --old-checkpoint FILE, the "
     "earlier signed checkpoint"),
    (["check", "p.json", "--checkpoint", "today.txt", "--pub", "plan.pub", "--old-checkpoint",
      "today.txt"], 2, "p.json is an inclusion proof: --old-checkpoint goes with a consistency "
     "proof only"),
    (["check", "p.json", "--checkpoint", "today.txt", "--pub", str(DATA / "PeterNeumann.pub")], 1,
     "no verifiable signatures"),
    (["verify", "plan.db", "--checkpoint", "today.txt"], 2, "--checkpoint and --pub go together"),
])
def test_bad_input_is_one_clear_line(plan, capsys, args, status, says):
    (plan / "p.json").write_text(run(capsys, "prove", "plan.db", "3")[1])
    (plan / "c.json").write_text(run(capsys, "prove", "plan.db", "--consistency", "3")[1])
    reported = Path(ROOT) / "events" / "openai-compute-2025-2026.jsonl"
    (plan / "three.jsonl").write_text(  # another ledger, shorter than the plan
        "".join(reported.read_text(encoding="utf-8").splitlines(keepends=True)[:3]))
    run(capsys, "import", "other.db", "three.jsonl")
    code, _, err = run(capsys, *args)
    assert code == status and says in err and err.count("\n") == 1, err
    assert "Traceback" not in err and "internal error" not in err


def test_a_changed_proof_or_checkpoint_fails_with_the_reason(plan, capsys):
    proof = json.loads(run(capsys, "prove", "plan.db", "18")[1])
    for key, value in (("leaf", proof["leaf"].replace("10000000000", "20000000000")),
                       ("seq", 17), ("tree_size", 52), ("hashes", proof["hashes"][:-1])):
        (plan / "bad.json").write_text(json.dumps({**proof, key: value}))
        status, out, err = run(capsys, "check", "bad.json", "--checkpoint", "today.txt", "--pub", "plan.pub")
        assert status == 1 and out == "" and err.startswith("bad.json: "), (key, err)
    text = (plan / "today.txt").read_text()
    (plan / "forged.txt").write_text(text.replace("\n53\n", "\n54\n"))
    (plan / "p.json").write_text(json.dumps(proof))
    status, _, err = run(capsys, "check", "p.json", "--checkpoint", "forged.txt", "--pub", "plan.pub")
    assert status == 1 and "forged.txt: checkpoint: invalid signature for key ledger.example/plan" in err


def test_check_says_which_checkpoint_goes_where_and_which_seqs_a_tree_holds(plan, capsys):
    status, out, _ = run(capsys, "checkpoint", "plan.db", "--key", "plan.key", "--size", "20")
    assert status == 0
    (plan / "old.txt").write_text(out)
    (plan / "c.json").write_text(run(capsys, "prove", "plan.db", "--consistency", "20")[1])
    status, out, err = run(capsys, "check", "c.json", "--checkpoint", "old.txt", "--pub", "plan.pub",
                           "--old-checkpoint", "today.txt")  # the two swapped
    assert (status, out) == (1, "") and err == (
        "c.json: the old checkpoint is of 53 records, the new one of 20, and the proof from 20 to "
        "53: the checkpoints are given the wrong way round; swap them\n")
    proof = json.loads(run(capsys, "prove", "plan.db", "18")[1])
    (plan / "p.json").write_text(json.dumps({**proof, "seq": 60}))
    status, out, err = run(capsys, "check", "p.json", "--checkpoint", "today.txt", "--pub", "plan.pub")
    assert (status, out, err) == (1, "", "p.json: seq 60 is out of range: in a tree of 53 records, "
                                          "seq must be 1..53\n")


def test_prove_and_checkpoint_refuse_a_record_changed_after_it_was_stored(plan, capsys):
    connection = sqlite3.connect(plan / "plan.db")  # one digit of seq 26, triggers dropped
    data = connection.execute("SELECT data FROM events WHERE seq = 26").fetchone()[0]
    changed = re.sub(r"\d", lambda digit: str((int(digit.group()) + 1) % 10), data, count=1)
    connection.executescript("DROP TRIGGER events_no_update;")
    connection.execute("UPDATE events SET data = ? WHERE seq = 26", (changed,))
    connection.commit()
    connection.close()
    said = ("record seq 26 does not match the Merkle tree of 53 records: the log was changed "
            "after it was stored; run gigaledger verify\n")
    for args in (["26"], ["26", "--size", "53"]):
        assert run(capsys, "prove", "plan.db", *args) == (1, "", said)
    status, out, err = run(capsys, "checkpoint", "plan.db", "--key", "plan.key", "--size", "26")
    assert (status, out) == (1, "") and err == (
        "no checkpoint signed: record seq 26 does not match the Merkle tree of 26 records: the "
        "log was changed after it was stored; run gigaledger verify\n")
    status, out, _ = run(capsys, "prove", "plan.db", "25")  # the records around it still prove
    (plan / "p.json").write_text(out)
    assert run(capsys, "check", "p.json", "--checkpoint", "today.txt", "--pub", "plan.pub")[0] == 0
    status, _, err = run(capsys, "verify", "plan.db")
    assert status == 1 and "seq 26" in err


def test_a_go_key_signs_checkpoints_that_its_go_verifier_opens(plan, capsys):
    status, out, _ = run(capsys, "checkpoint", "plan.db", "--key", str(DATA / "PeterNeumann.key"))
    assert status == 0 and out.startswith("PeterNeumann\n53\n") and "\n— PeterNeumann " in out
    (plan / "peter.txt").write_text(out)
    (plan / "p.json").write_text(run(capsys, "prove", "plan.db", "1")[1])
    status, out, _ = run(capsys, "check", "p.json", "--checkpoint", "peter.txt", "--pub",
                         str(DATA / "PeterNeumann.pub"))
    assert status == 0 and out == "ok: seq 1 is in the log PeterNeumann of 53 records\n"


def test_verify_catches_a_log_rewritten_since_a_published_checkpoint(plan, capsys):
    (plan / "plan.db").unlink()
    with Ledger.open(plan / "plan.db", load_entrypoints=False) as book:
        book.append_many([UsageReported(product="p", weekly_active_users=n) for n in range(60)])
    status, out, err = run(capsys, "verify", "plan.db")
    assert status == 0
    status, out, err = run(capsys, "verify", "plan.db", "--checkpoint", "today.txt", "--pub", "plan.pub")
    assert status == 1 and "does not match the log" in err and err.count("\n") == 1
    status, out, err = run(capsys, "verify", "plan.db", "--checkpoint", "today.txt", "--pub",
                           "plan.pub", "--json")
    assert status == 1 and json.loads(out)["ok"] is False and json.loads(out)["seq"] == 53


def readme_steps():
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Proofs for third parties\n", 1)[1].split("\n## ", 1)[0]
    blocks = [(m.group(1), m.group(2)) for m in FENCE.finditer(section)]
    steps = []
    for index, (language, body) in enumerate(blocks):
        if language == "console":
            for chunk in re.split(r"^(?=\$ )", body, flags=re.M):
                if chunk.strip():
                    command, *output = chunk.splitlines()
                    steps.append((command[2:], output))
        elif language == "python":
            following = blocks[index + 1] if index + 1 < len(blocks) else ("", "")
            steps.append(([sys.executable, "-c", body], following[1].splitlines()))
    return steps


def test_the_readme_section_runs_as_written(tmp_path):
    os.symlink(Path(ROOT) / "events", tmp_path / "events")
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    env.pop("GIGALEDGER_PLUGINS", None)
    steps = readme_steps()
    assert len(steps) >= 13
    for command, expected in steps:
        done = subprocess.run(command, shell=isinstance(command, str), cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{command}\n{done.stderr}"
        lines = iter(done.stdout.splitlines())
        for line in expected:  # each shown line appears, in order
            assert any(matches(line, got) for got in lines), (
                f"{command}\nexpected {line!r} in:\n{done.stdout}")



def test_prove_takes_a_seq_written_as_everywhere_else(plan, capsys):
    """``prove plan.db '#18'`` and ``seq:18`` are ``prove plan.db 18``, as in ``explain`` and
    ``--until``; a tree of no records says it proves nothing."""
    status, plain, _ = run(capsys, "prove", "plan.db", "18")
    assert status == 0
    for written in ("#18", "seq:18", " #18 "):
        assert run(capsys, "prove", "plan.db", written)[:2] == (0, plain)
    status, out, err = run(capsys, "prove", "plan.db", "5", "--size", "0")
    assert (status, out) == (1, "")
    assert err.endswith("seq 5: not in the tree of 0 records; a tree of no records proves nothing\n")
