"""The distribution: the wheel holds ledger/ alone; the repository's top level is the design's."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

from .conftest import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wheel")
    source = folder / "source"  # a copy, so that no build/ folder is left in (or taken from) the tree
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", ".hypothesis", ".pytest_cache"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(folder)],
        check=True, capture_output=True,
    )
    (path,) = folder.glob("gigaledger-*.whl")
    return zipfile.ZipFile(path)


def test_the_wheel_holds_the_ledger_package_only(wheel):
    tops = {name.split("/")[0] for name in wheel.namelist()}
    packages = {top for top in tops if not top.endswith(".dist-info")}
    assert packages == {"ledger"}
    names = set(wheel.namelist())
    assert {"ledger/py.typed", "ledger/__init__.py", "ledger/default_plugins/investment.py",
            "ledger/web/__init__.py", "ledger/web/templates/gigaledger/ledger.html",
            "ledger/web/templates/gigaledger/record.html"} <= names
    assert not any(name.startswith(("events/", "plugins/", "tests/")) for name in names)


def test_the_wheel_declares_the_script_and_dependencies(wheel):
    info = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    metadata = wheel.read(info).decode()
    requires = re.findall(r"^Requires-Dist: ([A-Za-z0-9_-]+)(.*)$", metadata, re.M)
    runtime = {name.lower() for name, rest in requires if "extra ==" not in rest}
    assert runtime == {"pluggy", "attrs", "cattrs", "sqlite-utils", "click", "tabulate",
                       "orjson", "cryptography"}
    assert any(name == "sqlite-utils" and ">=4" in rest for name, rest in requires)
    scripts = wheel.read(info.replace("METADATA", "entry_points.txt")).decode()
    assert "gigaledger = ledger.cli:entry" in scripts
    assert "[datasette]\ngigaledger = ledger.web" in scripts  # the Datasette plugin


def test_top_level_is_the_designs():
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    assert listed.returncode == 0, "run the tests from a git checkout"
    tops = {path.split("/")[0] for path in listed.stdout.split()}
    tops -= {".gitignore"}
    assert tops <= {"ledger", "events", "plugins", "tests", "pyproject.toml", "README.md",
                    "CHANGELOG.md", ".ci", "benchmarks",  # benchmarks/: issue 5's runnable script
                    "docs"}  # docs/: the README's screenshot of the ledger page (issue 17)
    assert not os.path.exists(os.path.join(ROOT, "events", "__init__.py"))
    assert not os.path.exists(os.path.join(ROOT, "plugins", "__init__.py"))


def test_ci_runs_the_readmes_test_command():
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    commands = re.findall(r"```sh\n(.+?)\n```", readme)
    assert len(commands) == 2, "the README keeps exactly two set-up commands"
    main_job, tests = commands
    assert "gigaledger replay events/nvidia-openai-plan.jsonl" in main_job
    assert tests in open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8").read()
