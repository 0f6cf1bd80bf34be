"""The engine knows no domain: import-linter's layers (engine below the built-in domain below the
command line) hold, the contract lists every engine module, and no engine module names the
domain outside comments and docstrings."""

from __future__ import annotations

import ast
import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

from .conftest import ROOT

PACKAGE = Path(ROOT) / "ledger"
#: Modules above the engine: the command line, the web pages, the test helpers, and the package's
#: own face.
ABOVE = {"__init__", "__main__", "testing", "cli", "default_plugins", "web"}
DOMAIN_WORDS = re.compile(r"tranche|gigawatt|gpu|provider|investment|agreement", re.I)


def engine_modules() -> list[Path]:
    return sorted(path for path in PACKAGE.glob("*.py") if path.stem not in ABOVE)


def contract_layers() -> list[str]:
    text = (Path(ROOT) / "pyproject.toml").read_text(encoding="utf-8")
    block = text.split("[tool.importlinter]", 1)[1]
    return re.findall(r'^\s+"([^"]+)",', block.split("layers = [", 1)[1].split("]", 1)[0], re.M)


def test_the_import_contract_holds():
    done = subprocess.run([str(Path(sys.executable).parent / "lint-imports")],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 kept, 0 broken" in done.stdout


def test_the_contract_lists_every_engine_module():
    layers = contract_layers()
    assert layers[:2] == ["cli : testing : __main__ : web", "default_plugins"]
    listed = {name.strip() for name in layers[2].split(":")}
    assert listed == {path.stem for path in engine_modules()}


def code_words(path: Path) -> list[str]:
    """The names and string literals of a module, without its comments and docstrings."""
    source = path.read_text(encoding="utf-8")
    docstrings = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.body and isinstance(node.body[0], ast.Expr) and isinstance(
                    getattr(node.body[0], "value", None), ast.Constant):
                docstrings.add(node.body[0].lineno)
    words = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.NAME or (token.type == tokenize.STRING
                                           and token.start[0] not in docstrings):
            words.append(token.string)
    return words


def test_no_engine_module_names_the_domain_in_its_code():
    found = {path.name: sorted({w for w in code_words(path) if DOMAIN_WORDS.search(w)})
             for path in engine_modules()}
    assert {name: words for name, words in found.items() if words} == {}


def test_the_domain_check_could_fail():
    assert DOMAIN_WORDS.search("".join(code_words(PACKAGE / "default_plugins" / "investment.py")))
