"""Every distribution the package imports is declared in pyproject.toml: required ones in
``dependencies``, optional ones (imported only where a feature needs them) in an extra. None is
leaned on because another package happens to bring it."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

from .conftest import ROOT

PACKAGE = Path(ROOT) / "ledger"


def imported_top_levels() -> dict[str, set[str]]:
    """Top-level names imported by the package's modules (outside the standard library), with
    the files importing each."""
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "ledger" and top not in sys.stdlib_module_names:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def declared() -> dict[str, str | None]:
    """Declared distributions (normalised names): None for required, else the extra's name."""
    result: dict[str, str | None] = {}
    for requirement in importlib.metadata.requires("gigaledger") or []:
        name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower().replace("_", "-")
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", requirement)
        if extra is None or name not in result:
            result[name] = None if extra is None else extra.group(1)
    return result


def test_every_imported_distribution_is_declared():
    distributions = importlib.metadata.packages_distributions()
    wanted = declared()
    missing = []
    for top, files in sorted(imported_top_levels().items()):
        names = [d.lower().replace("_", "-") for d in distributions.get(top, [top])]
        if not any(name in wanted for name in names):
            missing.append(f"{top} (imported by {', '.join(sorted(files))})")
    assert not missing, "imported but not declared in pyproject.toml: " + "; ".join(missing)


def test_the_core_needs_only_its_required_dependencies():
    required = {name for name, extra in declared().items() if extra is None}
    assert required >= {"pluggy", "attrs", "cattrs", "sqlite-utils", "click", "tabulate"}
