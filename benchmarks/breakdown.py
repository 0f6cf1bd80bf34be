"""Where the time of an import and of a full replay goes, by part of the work.

    python benchmarks/breakdown.py [--events 100000] [--seed N]

It writes a synthetic history (``synthetic.py``), imports it into a new ledger and replays it in
full, each under ``cProfile``, and prints for each a table of the time per event spent in each
part (the functions' own time, grouped by the module they are in): the JSON Lines reader, JSON,
building and checking events, the append path and chain, the folds of the built-in domain, hooks,
SQLite, hashing, the rest. cProfile adds a cost to every Python call, so the totals are larger than
``run.py``'s figures; the shares show where a faster import or replay has to come from.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import write_history  # noqa: E402

from ledger import Ledger  # noqa: E402

#: Parts of the work, by where a function lives: (part, markers in its file name or name).
PARTS = (
    ("SQLite (sqlite3 calls: insert, select, commit)", ("sqlite3.", "'execute", "'executemany",
                                                         "'fetchmany", "'commit")),
    ("the Merkle tree's upkeep (leaves, nodes)", ("ledger/tree.py", "ledger/merkle.py",
                                                  "record_line")),
    ("SHA-256 of the chain", ("sha256", "hexdigest", "ledger/chain.py")),
    ("JSON (orjson and json)", ("orjson", "_json", "json/", "ledger/canonical.py")),
    ("reading history lines", ("ledger/history.py", "readline")),
    ("events built and checked (fields, codec)", ("ledger/fields.py", "ledger/codec.py",
                                                  "ledger/fastpaths.py", "ledger/event.py",
                                                  "<attrs generated", "<loader of", "decimal",
                                                  "Decimal", "fromisoformat")),
    ("the built-in domain's rules and folds", ("ledger/default_plugins/",)),
    ("hook calls (pluggy and the one hook path)", ("pluggy", "ledger/hookcalls.py",
                                                   "ledger/plugins.py")),
    ("append path, batch, records, clock", ("ledger/appending.py", "ledger/batch.py",
                                            "ledger/record.py", "ledger/clock.py",
                                            "ledger/scenarios.py", "uuid")),
    ("replay: rows, decode, view", ("ledger/folding.py", "ledger/replay.py",
                                    "ledger/sqlite_store.py", "ledger/store.py")),
)


REST = "the rest (ledger.py, the interpreter)"


def part_of(key: tuple[str, int, str]) -> str:
    where = f"{key[0]}:{key[2]}"
    for part, markers in PARTS:
        if any(marker in where for marker in markers):
            return part
    return REST


def rest_of(stats: pstats.Stats, top: int) -> list[str]:
    """The costliest functions left in the rest."""
    rest = [(own, key) for key, (_, _, own, _, _) in stats.stats.items()  # type: ignore[attr-defined]
            if part_of(key) == REST and key[0] != "~"]
    return [f"  {own:.3f} s  {key[0]}:{key[1]} {key[2]}" for own, key in sorted(rest)[::-1][:top]]


def table(stats: pstats.Stats, events: int, title: str) -> str:
    parts: dict[str, float] = defaultdict(float)
    for key, (_, _, own, _, callers) in stats.stats.items():  # type: ignore[attr-defined]
        part = part_of(key)
        if part == REST and key[0] == "~" and callers:
            # a built-in (dict.get, isinstance ...): its time goes to the parts that called it
            spent = sum(caller[2] for caller in callers.values()) or 1.0
            for caller, figures in callers.items():
                parts[part_of(caller)] += own * figures[2] / spent
        else:
            parts[part] += own
    total = sum(parts.values())
    width = max(len(p) for p in parts)
    lines = [f"{title}: {total:.2f} s under cProfile, {total / events * 1e6:.1f} µs per event",
             f"{'part':{width}}  µs/event  share"]
    for part, seconds in sorted(parts.items(), key=lambda item: -item[1]):
        lines.append(f"{part:{width}}  {seconds / events * 1e6:8.2f}  {seconds / total:5.1%}")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="history size (lines)")
    parser.add_argument("--seed", type=int, default=20250922, help="the generator's seed")
    parser.add_argument("--top", type=int, default=0, help="also print the N costliest functions of the rest")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gigaledger-profile-") as work:
        history, db = Path(work) / "history.jsonl", Path(work) / "ledger.db"
        write_history(str(history), args.events, args.seed)
        for title, action in (
            ("import", lambda: Ledger.open(db, load_entrypoints=False).import_jsonl(history)),
            ("full replay", lambda: Ledger.open(db, load_entrypoints=False).replay(
                use_snapshots=False)),
        ):
            profile = cProfile.Profile()
            profile.runcall(action)
            stats = pstats.Stats(profile)
            print(table(stats, args.events, title), end="\n\n")
            if args.top:
                print("the costliest functions in the rest:", *rest_of(stats, args.top),
                      sep="\n", end="\n\n")


if __name__ == "__main__":
    main(sys.argv[1:])
