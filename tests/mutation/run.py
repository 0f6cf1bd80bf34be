"""Mutation testing of the rule and integrity modules with mutmut (not run in CI: it is slow).

    nice -n 15 .venv/bin/python tests/mutation/run.py [MODULE ...] [--children N]
    .venv/bin/python tests/mutation/run.py --summary
    nice -n 15 .venv/bin/python tests/mutation/run.py MODULE --recheck TEST ...
    nice -n 15 .venv/bin/python tests/mutation/run.py MODULE --only 'ledger.clock.x_parse_time__*'

MODULE is a key of ``TARGETS`` (``shares``, ``chain``, ``investment``, ...); none means all of
them. For each module the script copies the working tree to ``.mutation/<module>/`` (ignored by
git), runs ``mutmut run`` there on that one module with only the tests that guard it, and prints
the counts and every surviving mutant's diff; ``--summary`` prints the table of every module run
so far; ``--recheck`` runs tests written since a module's run against each of its survivors;
``--only`` runs just the mutants named (mutmut's names, or globs of them), leaving the others
unchecked (they count nowhere in the table). mutmut leaves decorated functions alone, so in the copy each decorator of a module-level
function or method (``@hookimpl``, ``@for_types(...)``, ``@property``) is moved below the function
as an assignment (``f = hookimpl(f)``), which does the same thing and lets mutmut mutate the body.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".mutation"

#: Fast tests that guard each module (mutmut then runs, for each mutant, only those of them that
#: call the mutated function). No test here starts processes or takes more than a few seconds.
PLUGIN_TESTS = ["tests/test_builtin_plugins.py", "tests/test_rules.py", "tests/test_pipeline.py",
                "tests/test_histories.py", "tests/test_explain.py", "tests/test_report_text.py"]
TARGETS: dict[str, tuple[str, list[str]]] = {
    "shares": ("ledger/shares.py", ["tests/test_rules.py", "tests/test_builtin_plugins.py",
                                    "tests/test_report_text.py"]),
    "chain": ("ledger/chain.py", ["tests/test_chain.py", "tests/test_rules.py"]),
    "clock": ("ledger/clock.py", ["tests/test_rules.py", "tests/test_codec.py",
                                  "tests/test_ledger.py", "tests/test_everyday.py",
                                  "tests/test_pipeline.py"]),
    "snapshots": ("ledger/snapshots.py", ["tests/test_snapshots.py", "tests/test_rules.py",
                                          "tests/test_connections.py"]),
    "appending": ("ledger/appending.py", ["tests/test_ledger.py", "tests/test_rules.py", "tests/test_history.py",
                                          "tests/test_plugins.py", "tests/test_hooks.py",
                                          "tests/test_bad_input.py", "tests/test_connections.py",
                                          "tests/test_scenarios.py"]),
    "catalogue": ("ledger/default_plugins/catalogue.py",
                  ["tests/test_codec.py", "tests/test_bad_input.py", *PLUGIN_TESTS]),
    "chart": ("ledger/default_plugins/chart.py", ["tests/test_chart.py"]),
    "explanations": ("ledger/default_plugins/explanations.py", ["tests/test_explain.py"]),
    "funds": ("ledger/default_plugins/funds.py", PLUGIN_TESTS),
    "gpu_inventory": ("ledger/default_plugins/gpu_inventory.py", PLUGIN_TESTS),
    "investment": ("ledger/default_plugins/investment.py", PLUGIN_TESTS),
    "materialized": ("ledger/default_plugins/materialized.py", ["tests/test_materialize.py"]),
    "pipeline": ("ledger/default_plugins/pipeline.py", PLUGIN_TESTS),
    "provider_mix": ("ledger/default_plugins/provider_mix.py", PLUGIN_TESTS),
    "quantities": ("ledger/default_plugins/quantities.py", PLUGIN_TESTS),
    "sites": ("ledger/default_plugins/sites.py", PLUGIN_TESTS),
    "timeline": ("ledger/default_plugins/timeline.py", ["tests/test_timeline.py", *PLUGIN_TESTS]),
}
IGNORED = shutil.ignore_patterns(".venv", ".git", ".mutation", "mutants", "__pycache__",
                                 ".hypothesis", ".mypy_cache", ".pytest_cache", "*.egg-info")


def undecorate(source: str) -> str:
    """``@deco\\ndef f(...): body`` → ``def f(...): body\\nf = deco(f)`` for every decorated
    function (not class) in ``source``; staticmethod and classmethod are left to mutmut."""
    lines = source.splitlines(keepends=True)
    edits = []  # (first decorator line, last line of the body, indent, name, decorators)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.decorator_list:
            names = [ast.get_source_segment(source, d) for d in node.decorator_list]
            if any(n in ("staticmethod", "classmethod") for n in names):
                continue
            first = min(d.lineno for d in node.decorator_list) - 1
            indent = " " * node.col_offset
            edits.append((first, node.lineno - 1, node.end_lineno, indent, node.name, names))
    for first, header, end, indent, name, names in sorted(edits, reverse=True):
        wrapped = name
        for decorator in reversed(names):
            wrapped = f"({decorator})({wrapped})"
        lines[end:end] = [f"{indent}{name} = {wrapped}\n"]
        del lines[first:header]
    return "".join(lines)


def prepare(name: str) -> Path:
    module, tests = TARGETS[name]
    copy = WORK / name
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(ROOT, copy, ignore=IGNORED)
    target = copy / module
    target.write_text(undecorate(target.read_text(encoding="utf-8")), encoding="utf-8")
    pyproject = copy / "pyproject.toml"
    config = (
        "\n[tool.mutmut]\n"
        'source_paths = ["ledger"]\n'
        f"only_mutate = [{json.dumps(module)}]\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-k", "not postgres and not Postgres"]\n'
        'also_copy = ["events", "plugins", "tests", "benchmarks", "README.md", "CHANGELOG.md"]\n'
        "timeout_multiplier = 5.0\n"
        "timeout_constant = 10.0\n"
    )
    pyproject.write_text(pyproject.read_text(encoding="utf-8") + config, encoding="utf-8")
    return copy


def counts(copy: Path) -> dict[str, int]:
    subprocess.run([sys.executable, "-m", "mutmut", "export-cicd-stats"], cwd=copy,
                   check=True, capture_output=True)
    return json.loads((copy / "mutants" / "mutmut-cicd-stats.json").read_text())


def survivors(copy: Path) -> list[str]:
    shown = subprocess.run([sys.executable, "-m", "mutmut", "results"], cwd=copy,
                           capture_output=True, text=True, check=True).stdout
    return [line.split(":")[0].strip() for line in shown.splitlines()
            if line.strip().endswith(("survived", "no tests", "timeout", "suspicious"))]


def run(name: str, children: int, only: list[str] | None = None) -> dict[str, int]:
    copy = prepare(name)
    env = {**os.environ, "HYPOTHESIS_PROFILE": os.environ.get("HYPOTHESIS_PROFILE", "mutation")}
    env.pop("GIGALEDGER_TEST_POSTGRES", None)  # the SQLite tests guard the same rules
    with open(WORK / f"{name}.log", "w", encoding="utf-8") as log:
        subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(children),
                        *(only or [])],
                       cwd=copy, env=env, check=False, stdout=log, stderr=subprocess.STDOUT)
    return collect(name)


def collect(name: str) -> dict[str, int]:
    """The counts and the survivors' diffs of the last run of ``name``, saved beside its copy."""
    copy = WORK / name
    figures = counts(copy)
    print(f"{name}: {figures}", flush=True)
    (WORK / f"{name}.json").write_text(json.dumps(figures), encoding="utf-8")
    lost = survivors(copy)
    with open(WORK / f"{name}.survivors.txt", "w", encoding="utf-8") as out:
        for mutant in lost:
            diff = subprocess.run([sys.executable, "-m", "mutmut", "show", mutant], cwd=copy,
                                  capture_output=True, text=True).stdout
            out.write(f"## {mutant}\n{diff}\n")
    return figures


def recheck(name: str, tests: list[str]) -> dict[str, list[str]]:
    """Run ``tests`` of the working tree (tests written since the last run of ``name``) against
    each of its survivors, in the mutated copy: which of them do they kill now?"""
    copy = WORK / name
    shutil.rmtree(copy / "mutants" / "tests")
    shutil.copytree(ROOT / "tests", copy / "mutants" / "tests", ignore=IGNORED)
    names = [line[2:].rsplit(":", 1)[0] for line in
             (WORK / f"{name}.survivors.txt").read_text(encoding="utf-8").splitlines()
             if line.startswith("# ") and line.endswith((": survived", ": no tests"))]
    verdicts: dict[str, list[str]] = {"killed": [], "survived": []}
    previous = WORK / f"{name}.recheck.json"
    if previous.exists():  # a recheck after a recheck: only what survived it
        verdicts = json.loads(previous.read_text(encoding="utf-8"))
        names, verdicts["survived"] = verdicts["survived"], []
    env = {**os.environ, "HYPOTHESIS_PROFILE": "mutation"}
    env.pop("GIGALEDGER_TEST_POSTGRES", None)
    for mutant in names:
        try:
            done = subprocess.run(
                [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-k",
                 "not postgres and not Postgres", *tests], cwd=copy / "mutants",
                env={**env, "MUTANT_UNDER_TEST": mutant}, capture_output=True, timeout=300)
            killed = done.returncode != 0
        except subprocess.TimeoutExpired:
            killed = True
        verdicts["killed" if killed else "survived"].append(mutant)
        print(f"{mutant}: {'killed' if killed else 'survived'}", flush=True)
    (WORK / f"{name}.recheck.json").write_text(json.dumps(verdicts, indent=1), encoding="utf-8")
    return verdicts


def score(figures: dict[str, int]) -> tuple[int, int]:
    """Mutants killed (a test failed, or the timeout), and mutants checked (a run stopped early
    leaves some unchecked: they count in neither)."""
    killed = figures.get("killed", 0) + figures.get("timeout", 0)
    checked = killed + sum(figures.get(key, 0) for key in ("survived", "no_tests", "suspicious",
                                                            "segfault"))
    return killed, checked


def summary() -> None:
    """The table of the modules run so far: the run's own verdicts, then the survivors that tests
    written since the run kill (``--recheck``), and the score with them."""
    print(f"{'module':<14} {'checked':>7} {'killed':>7} {'timeout':>7} {'survived':>8} "
          f"{'no tests':>8} {'score':>6} {'rechecked':>9} {'after':>6}")
    sums = [0] * 6
    for name in TARGETS:
        path = WORK / f"{name}.json"
        if not path.exists():
            continue
        figures = json.loads(path.read_text())
        killed, total = score(figures)
        rechecked = WORK / f"{name}.recheck.json"
        later = len(json.loads(rechecked.read_text())["killed"]) if rechecked.exists() else 0
        row = [total, figures.get("killed", 0), figures.get("timeout", 0),
               figures.get("survived", 0), figures.get("no_tests", 0), later]
        sums = [a + b for a, b in zip(sums, row)]
        print(f"{name:<14} {row[0]:>7} {row[1]:>7} {row[2]:>7} {row[3]:>8} {row[4]:>8} "
              f"{100 * killed / max(total, 1):>5.1f}% {later:>9} "
              f"{100 * (killed + later) / max(total, 1):>5.1f}%")
    total, killed = sums[0], sums[1] + sums[2]
    print(f"{'all':<14} {sums[0]:>7} {sums[1]:>7} {sums[2]:>7} {sums[3]:>8} {sums[4]:>8} "
          f"{100 * killed / max(total, 1):>5.1f}% {sums[5]:>9} "
          f"{100 * (killed + sums[5]) / max(total, 1):>5.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=", ".join(TARGETS))
    parser.add_argument("--children", type=int, default=2)
    parser.add_argument("--only", nargs="+", metavar="MUTANT",
                        help="run only these mutants of MODULE (names or globs, as mutmut "
                             "names them); the others stay unchecked")
    parser.add_argument("--summary", action="store_true", help="only print the table so far")
    parser.add_argument("--collect", action="store_true",
                        help="only collect the results of the last run of each MODULE")
    parser.add_argument("--recheck", nargs="+", metavar="TEST",
                        help="run these tests of the working tree against each survivor of the "
                             "last run of each MODULE (tests written since that run)")
    args = parser.parse_args()
    unknown = [name for name in args.modules if name not in TARGETS]
    if unknown:
        parser.error(f"unknown module {unknown[0]!r}: choose from {', '.join(TARGETS)}")
    WORK.mkdir(exist_ok=True)
    if args.recheck:
        for name in args.modules:
            recheck(name, args.recheck)
        return
    if not args.summary:
        for name in args.modules or list(TARGETS):
            collect(name) if args.collect else run(name, args.children, args.only)
    summary()


if __name__ == "__main__":
    main()
