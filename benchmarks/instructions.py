"""Instructions, not seconds: this code beside an earlier commit's, counted by valgrind.

    python benchmarks/instructions.py --baseline REF [--events 10000] [--seed N]

On a shared machine a timing moves with the host's load (on the machine of the latest results,
the same Python loop took 0.9 s at best and 1.7 s at worst within an hour); the number of
instructions a process executes does not, within a fraction of a percent. This script writes a
synthetic history (``synthetic.py``), imports it once with this code, and then counts, under
``valgrind --tool=callgrind``, the instructions of an import (both processes, when it reads
ahead), a full replay (``replay(use_snapshots=False)``), reading every record (``read()``),
``verify()`` and an export, by this code and by the code of ``REF`` (a ``git worktree``), each in
a fresh process, minus those of a process that only opens the ledger. It
prints one table: instructions per record, and this code's count over the baseline's (below 1:
less work). It needs ``valgrind`` (Debian: ``apt install valgrind``); under valgrind a process
runs about 50 times slower, hence the small default history (about 6 minutes in all). Instructions are not time (memory
stalls are not counted), so ``run.py`` stays the measure of speed; this is for telling a 5 %
change from the host's noise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import baseline_checkout, remove_checkout  # noqa: E402
from synthetic import write_history  # noqa: E402

from ledger import Ledger  # noqa: E402

#: What the child process does after opening the ledger, by operation.
STEPS = {
    "open only": "pass",
    "import (both processes when it reads ahead)":
        "Ledger.open(scratch, load_entrypoints=False).import_jsonl(history)",
    "full replay": "book.replay(use_snapshots=False)",
    "read every record": "sum(1 for _ in book.read())",
    "verify": "book.verify()",
    "export": "book.export_jsonl(scratch)",
}
CHILD = """
import sys
import ledger as package
from ledger import Ledger
print(package.__file__)
ledger, history, scratch = sys.argv[1:]
book = Ledger.open(ledger, load_entrypoints=False)
{step}
book.close()
"""


def instructions(db: Path, history: Path, step: str, code: Path | None) -> int:
    """Instructions executed by a fresh process that opens ``db`` and runs ``step`` (and by the
    process it forks, if any), with the ``ledger`` package of the checkout ``code`` (this code
    when None)."""
    scratch = db.with_name("scratch")
    for leftover in (scratch, Path(f"{scratch}-wal"), Path(f"{scratch}-shm")):
        leftover.unlink(missing_ok=True)
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code), env.get("PYTHONPATH")]))
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c",
         CHILD.format(step=step), str(db), str(history), str(scratch)],
        capture_output=True, text=True, env=env, cwd=db.parent)  # not a checkout's folder
    if done.returncode:
        raise SystemExit(f"instructions.py: the child failed:\n{done.stderr[-2000:]}")
    if code is not None and not done.stdout.startswith(str(code)):  # the code meant, not ours
        raise SystemExit(f"instructions.py: the baseline ran {done.stdout.strip()}, not {code}")
    counted = [line for line in done.stderr.splitlines() if "Collected :" in line]
    if not counted:
        raise SystemExit("instructions.py: valgrind printed no instruction count")
    return sum(int(line.split(":")[-1].strip()) for line in counted)  # one line per process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", required=True, metavar="GIT-REF",
                        help="the earlier commit whose code to count beside this code's")
    parser.add_argument("--events", type=int, default=10_000, help="history size (lines)")
    parser.add_argument("--seed", type=int, default=7, help="the generator's seed")
    args = parser.parse_args()
    if args.events < 100:
        parser.error("--events must be at least 100 (a count per record needs records)")
    if shutil.which("valgrind") is None:
        raise SystemExit("instructions.py: needs valgrind (Debian: apt install valgrind)")
    with tempfile.TemporaryDirectory(prefix="gigaledger-instructions-") as folder:
        work = Path(folder)
        history, db = work / "history.jsonl", work / "ledger.db"
        checkout, commit = baseline_checkout(args.baseline, work)  # first: a typo fails at once
        if checkout is None:
            raise SystemExit(f"instructions.py: {commit.removeprefix('n/a (').removesuffix(')')}")
        try:
            write_history(str(history), args.events, args.seed)
            with Ledger.open(db, load_entrypoints=False) as book:
                records = book.import_jsonl(history).appended
            counts = {name: {side: instructions(db, history, step, code)
                             for side, code in (("this", None), ("baseline", checkout))}
                      for name, step in STEPS.items()}
        finally:
            remove_checkout(checkout)
    print(f"instructions per record, {records:,} records, this code beside commit {commit} "
          f"(valgrind --tool=callgrind, each in a fresh process, less a process that only "
          f"opens the ledger)\n")
    print("| operation | this | baseline | this / baseline |")
    print("| --- | --- | --- | --- |")
    opened = counts["open only"]
    for name in STEPS:
        if name == "open only":
            continue
        this = (counts[name]["this"] - opened["this"]) / records
        base = (counts[name]["baseline"] - opened["baseline"]) / records
        print(f"| {name} | {this:,.0f} | {base:,.0f} | {this / base:.3f} |")


if __name__ == "__main__":
    main()
