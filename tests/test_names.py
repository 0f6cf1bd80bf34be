"""``ledger``'s public names, imported when first used (PEP 562): each is the object its module
defines, the three lists that name them agree, and ``import ledger`` (the command line's first
step) loads nothing else, so that Ctrl-C while a command loads gets its one line
(``tests/test_mistakes.py``)."""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys

import pytest

import ledger

from .conftest import ROOT

with open(os.path.join(ROOT, "ledger", "__init__.py"), encoding="utf-8") as _file:
    SOURCE = _file.read()


def _typing_imports() -> dict[str, tuple[str, str]]:
    """What the ``if TYPE_CHECKING:`` block imports: name -> (module, attribute)."""
    found: dict[str, tuple[str, str]] = {}
    for node in ast.walk(ast.parse(SOURCE)):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            for alias in node.names:
                found[alias.asname or alias.name] = (node.module or "", alias.name)
    return found


@pytest.mark.parametrize("name", ledger.__all__)
def test_each_public_name_is_its_modules_own(name):
    module, attribute = ledger._WHERE[name]
    assert getattr(ledger, name) is getattr(importlib.import_module(f"ledger.{module}"), attribute)


def test_the_lists_of_public_names_agree():
    """``__all__``, the lazy table and the imports type checkers read name the same objects."""
    assert sorted(ledger.__all__) == sorted(ledger._WHERE)
    assert _typing_imports() == ledger._WHERE
    assert len(set(ledger.__all__)) == len(ledger.__all__)
    assert set(ledger.__all__) <= set(dir(ledger))


def test_a_module_is_reached_as_an_attribute_and_a_misspelt_name_is_an_attribute_error():
    assert ledger.fields is importlib.import_module("ledger.fields")
    with pytest.raises(AttributeError, match="has no attribute 'Legder'"):
        ledger.Legder  # noqa: B018
    assert not hasattr(ledger, "_nothing")
    namespace: dict = {}
    exec("from ledger import *", namespace)  # noqa: S102 - the star import a user may write
    assert {"Ledger", "View", "check_proof"} <= set(namespace)


@pytest.mark.parametrize(("statement", "loaded"), [
    ("import ledger", ["ledger"]),
    ("import ledger.cli", ["ledger", "ledger.cli"]),
    ("from ledger.cli import entry", ["ledger", "ledger.cli"]),
])
def test_importing_the_package_or_the_command_line_loads_nothing_else(statement, loaded):
    found = subprocess.run(
        [sys.executable, "-c", f"{statement}\nimport sys\n"
         "print(sorted(m for m in sys.modules if m.split('.')[0] == 'ledger'))"],
        capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert ast.literal_eval(found) == loaded
