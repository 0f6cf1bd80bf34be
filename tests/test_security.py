"""Security basics: no code runs from event data, SQL is parameterised, plugins load only from
the sources the design names, and a history cannot make the command line touch other files."""

from __future__ import annotations

import ast
import json
import os
import sys

import pytest

from ledger import Ledger, LedgerError, UsageError

from .conftest import ROOT

SOURCES = sorted(
    os.path.join(folder, name)
    for folder, _, names in os.walk(os.path.join(ROOT, "ledger"))
    for name in names if name.endswith(".py")
)


def tree(path):
    with open(path, encoding="utf-8") as handle:
        return ast.parse(handle.read(), path)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: os.path.relpath(p, ROOT))
def test_no_pickle_eval_or_exec(path):
    for node in ast.walk(tree(path)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            assert not {m.split(".")[0] for m in modules} & {"pickle", "marshal", "shelve", "dill"}
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in {"eval", "exec", "compile", "__import__"}, f"{path}:{node.lineno}"
        if isinstance(node, ast.Attribute) and node.attr == "exec_module":
            assert path.endswith(os.path.join("ledger", "plugins.py"))  # loading a named plugin file


#: What SQL text may interpolate: fixed column lists and placeholders, never a value.
SAFE_IN_SQL = {"_SELECT", "marks", "tail", "int(self.timeout * 1000)", "' AND '.join(where)", "synchronous.upper()",
               "', '.join(COLUMNS)", "', '.join('?' * len(COLUMNS))", "', '.join('?' * len(types))",
               "', '.join(['%s'] * len(COLUMNS))", "self._commit_mode", "where", "SELECT_ROWS", "mark",
               "order"}


def test_sql_takes_values_as_parameters_only():
    checked = 0
    for path in SOURCES:
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.JoinedStr):
                text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
                if not (any(word in text.upper() for word in ("SELECT ", "INSERT ", "PRAGMA ", " WHERE ", " IN ("))
                        or text.startswith("SET ")):
                    continue
                for value in node.values:
                    if isinstance(value, ast.FormattedValue):
                        checked += 1
                        assert ast.unparse(value.value) in SAFE_IN_SQL, f"{path}:{node.lineno}"
    assert checked >= 5


HOSTILE = "x'); DROP TABLE events; --"


def test_hostile_text_is_stored_as_text(book):
    record = book.event_from("usage.reported", {"product": HOSTILE, "weekly_active_users": 1})
    stored = book.append(record, id=HOSTILE + "id", meta={"source": HOSTILE, "note": "${HOME} $(rm -rf /)"})
    assert book.get(HOSTILE + "id") == stored
    assert [r.seq for r in book.read(stream=f"usage/{HOSTILE}")] == [1]
    assert list(book.read(stream="x' OR '1'='1")) == []
    injected = "usage.reported' OR '1'='1"
    assert list(book._store.rows(types=[injected])) == []  # a type name, as text
    with pytest.raises(UsageError, match="no event type"):  # and one that no record has
        list(book.read(types=[injected]))
    assert book.verify()[0] == 1


def test_a_history_cannot_load_code_or_touch_files(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    evil = tmp_path / "evil.py"
    evil.write_text("open('pwned', 'w').write('ran')\n")
    lines = [
        {"type": "evil", "occurred_at": "2026-01-01", "data": {}},
        {"type": str(evil), "occurred_at": "2026-01-01", "data": {}},
        {"type": "os.system", "occurred_at": "2026-01-01", "data": {"command": "touch pwned"}},
    ]
    for line in lines:
        history = tmp_path / "h.jsonl"
        history.write_text(json.dumps(line) + "\n")
        result = run("import", tmp_path / "db.sqlite", history)
        assert result.code == 1 and "unknown event type" in result.err
        assert not (tmp_path / "db.sqlite").exists()  # a failed import leaves no file
    safe = {"type": "usage.reported", "occurred_at": "2026-01-01", "id": "../../../../tmp/pwned",
            "stream": "/etc/passwd", "data": {"product": "__import__('os').system('touch pwned')",
                                              "weekly_active_users": 1},
            "meta": {"plugin": str(evil), "source": "file:///etc/shadow"}}
    history.write_text(json.dumps(safe) + "\n")
    before = sorted(os.listdir(tmp_path))
    assert run("import", tmp_path / "db.sqlite", history).code == 0
    assert run("replay", history, "--json").code == 0
    assert sorted(os.listdir(tmp_path)) == sorted(before + ["db.sqlite"])  # only the ledger
    assert not (tmp_path / "pwned").exists() and not os.path.exists("/tmp/pwned")
    assert not any("evil" in name for name in sys.modules)


def test_the_allow_list_names_entry_points_not_paths(tmp_path, monkeypatch):
    evil = tmp_path / "evil.py"
    evil.write_text("open('pwned', 'w').write('ran')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIGALEDGER_PLUGINS", str(evil))
    with pytest.raises(LedgerError, match="no installed distribution has a 'gigaledger' entry point"):
        Ledger.open()
    assert not (tmp_path / "pwned").exists()
