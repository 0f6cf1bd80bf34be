"""Every hook is documented with its signature and has a test here (datasette's two tests),
and the guide's complete plugin works by path and through an entry point."""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
from decimal import Decimal

import attrs
import click
import pytest

from ledger import (
    CapacityCommissioned,
    Event,
    Ledger,
    PluginError,
    PluginWarning,
    Rejected,
    UsageReported,
    fields,
    hookimpl,
    hookspecs,
)
from ledger.default_plugins import quantities
from ledger.cli import add_plugin_commands, cli
from ledger.plugins import PluginHost

from .conftest import ROOT
from .test_history import write

GUIDE = os.path.join(ROOT, "plugins", "README.md")
HOOKS = sorted(name for name, f in vars(hookspecs).items() if hasattr(f, "gigaledger_spec"))


def guide() -> str:
    with open(GUIDE, encoding="utf-8") as handle:
        return handle.read()


def test_there_are_nine_hooks():
    assert HOOKS == ["derive_events", "event_appended", "explain_record", "materialize_tables",
                     "register_charts", "register_commands", "register_event_types",
                     "register_projections", "validate_event"]


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_with_its_signature(hook):
    parameters = ", ".join(inspect.signature(getattr(hookspecs, hook)).parameters)
    assert f"\n### {hook}({parameters})\n" in guide()


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_docstring_stating_when_it_is_called(hook):
    assert "Called" in (getattr(hookspecs, hook).__doc__ or "")


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_test(hook):
    assert callable(globals().get(f"test_hook_{hook}"))


def plugin(**hooks):
    """A plugin object with the given hook functions."""
    namespace = type("TestPlugin", (), {name: staticmethod(hookimpl(f)) for name, f in hooks.items()})
    namespace.__name__ = "testplugin"
    return namespace


@attrs.frozen
class Ping(Event):
    type = "test.ping"
    stream_template = "ping/{name}"
    name: str = fields.name()
    gigawatts: Decimal = quantities.gigawatts(default=Decimal(1))


def commissioned(site="s", gigawatts="1"):
    return CapacityCommissioned(site=site, provider="p", vendor="v", platform="x", gigawatts=gigawatts)


def test_hook_register_event_types():
    with Ledger.open(plugins=[plugin(register_event_types=lambda register: register(Ping))],
                     load_entrypoints=False) as book:
        record = book.append(Ping(name="a"))
        assert (record.type, record.stream, record.data) == ("test.ping", "ping/a", {"gigawatts": "1", "name": "a"})
        assert book.event_types["test.ping"] is Ping
        assert list(book.read())[0].event == Ping(name="a")


def test_hook_register_projections():
    class Count:
        name = "pings"
        handles = ("test.ping",)

        def initial(self):
            return 0

        def apply(self, state, event, record):
            return state + 1

        def summary(self, state):
            return {"count": state}

    extension = plugin(register_event_types=lambda register: register(Ping),
                       register_projections=lambda register: register(Count()))
    with Ledger.open(plugins=[extension], load_entrypoints=False) as book:
        book.append_many([Ping(name="a"), commissioned(), Ping(name="b")])
        view = book.replay()
        assert view["pings"] == 2 and view.report()["pings"] == {"count": 2}
        assert book.replay(until=1)["pings"] == 1


def test_hook_validate_event():
    seen = []

    def validate_event(event, record, view):
        seen.append((record.seq, record.version, view["gpu_inventory"] is not None))
        if isinstance(event, UsageReported) and event.weekly_active_users > 10**9:
            raise Rejected("more users than the plan allows")

    with Ledger.open(plugins=[plugin(validate_event=validate_event)], load_entrypoints=False) as book:
        book.append(UsageReported(product="chatgpt", weekly_active_users=700_000_000))
        with pytest.raises(Rejected, match="^testplugin: more users than the plan allows$"):
            book.append(UsageReported(product="chatgpt", weekly_active_users=2 * 10**9))
        assert len(book) == 1
    assert seen == [(1, 1, True), (2, 2, True)]


def test_hook_derive_events():
    def derive_events(event, record, view):
        if isinstance(event, UsageReported) and event.weekly_active_users >= 10**9:
            return [Ping(name=event.product)]
        return None

    extension = plugin(register_event_types=lambda register: register(Ping), derive_events=derive_events)
    with Ledger.open(plugins=[extension], load_entrypoints=False) as book:
        cause = book.append(UsageReported(product="chatgpt", weekly_active_users=10**9), occurred_at="2026-02-27")
        (derived,) = list(book.read(after=1))
        assert derived.type == "test.ping"
        assert derived.meta["causation_id"] == cause.id and derived.meta["derived_by"] == "testplugin"
        assert derived.occurred_at == cause.occurred_at


def test_hook_event_appended():
    seen = []

    def event_appended(record, view):
        seen.append((record.seq, view["investment"].released_usd))
        if record.seq == 2:
            raise RuntimeError("the mail server is down")

    with Ledger.open(plugins=[plugin(event_appended=event_appended)], load_entrypoints=False) as book:
        book.append(commissioned())
        with pytest.warns(PluginWarning, match="testplugin: event_appended failed on seq 2: "
                                               "RuntimeError: the mail server is down"):
            book.append_many([commissioned(), commissioned()])
        assert len(book) == 3  # the failing observer lost nothing
    assert [seq for seq, _ in seen] == [1, 2, 3]


def test_hook_register_commands(tmp_path):
    """An installed plugin's command appears on the command line."""
    calls = []

    def register_commands(cli):
        @cli.command(name="hello-test")
        def hello():
            calls.append("hello")

    add_plugin_commands(PluginHost([plugin(register_commands=register_commands)], load_entrypoints=False))
    try:
        assert "hello-test" in cli.commands
        cli.main(["hello-test"], standalone_mode=False)
        assert calls == ["hello"]
    finally:
        cli.commands.pop("hello-test", None)
    assert isinstance(cli, click.Group)


def test_hook_register_charts(run, tmp_path):
    """A plugin's chart is drawn by ``gigaledger chart --name``, whole or not at all."""

    class Bars:
        name, title, formats = "bars", "Pings", ("svg",)

        def draw(self, ledger, path, *, format, until=None, title=None):
            count = sum(1 for _ in ledger.read(types=["test.ping"], until=until))
            with open(path, "w") as out:
                out.write(f"<svg><title>{title or self.title}</title><!-- {count} --></svg>\n")

    def register_event_types(register):
        register(Ping)

    def register_charts(register):
        register(Bars())

    pings = plugin(register_event_types=register_event_types, register_charts=register_charts)
    db = tmp_path / "pings.db"
    with Ledger.open(db, plugins=[pings], load_entrypoints=False) as book:
        book.append(Ping(name="a"), occurred_at="2026-01-01")
        book.append(Ping(name="b"), occurred_at="2026-02-01")
        assert set(book.charts) == {"capacity", "bars"}
        from ledger.charts import draw
        draw(book, book.charts["bars"], tmp_path / "all.svg")
        draw(book, book.charts["bars"], tmp_path / "one.svg", until="2026-01", title="Jan")
        with pytest.raises(Exception, match="is written as .svg"):
            draw(book, book.charts["bars"], tmp_path / "x.png")
    assert (tmp_path / "all.svg").read_text() == "<svg><title>Pings</title><!-- 2 --></svg>\n"
    assert (tmp_path / "one.svg").read_text() == "<svg><title>Jan</title><!-- 1 --></svg>\n"
    assert not (tmp_path / "x.png").exists()
    typo = run("chart", db, "-o", tmp_path / "c.svg", "--name", "capacty")
    assert typo.code == 2 and "did you mean 'capacity'?" in typo.err
    assert not (tmp_path / "c.svg").exists()


def test_hook_materialize_tables(tmp_path):
    """A plugin's tables are written beside the engine's, and a name taken twice is refused."""
    import sqlite3

    from ledger import Table

    def register_event_types(register):
        register(Ping)

    def materialize_tables(ledger, view):
        names = [r.data["name"] for r in ledger.read(types=["test.ping"], until=view.seq)]
        return [Table("pings", {"name": str, "gigawatts": str}, ("name",),
                      [{"name": name, "gigawatts": Decimal("1.50")} for name in names])]

    db = tmp_path / "pings.db"
    pings = plugin(register_event_types=register_event_types, materialize_tables=materialize_tables)
    with Ledger.open(db, plugins=[pings], load_entrypoints=False) as book:
        book.append(Ping(name="a"), occurred_at="2026-01-01")
        counts = book.materialize()
    assert counts["pings"] == 1 and counts["materialized"] == 1 and "investment_agreements" in counts
    connection = sqlite3.connect(db)
    assert connection.execute("SELECT name, gigawatts FROM pings").fetchall() == [("a", "1.50")]
    connection.close()

    def clashing(ledger, view):
        return [Table("projections", {"x": str}, ("x",), [])]

    with Ledger.open(db, plugins=[plugin(materialize_tables=clashing)],
                     load_entrypoints=False) as book:
        with pytest.raises(PluginError, match="table 'projections' is written already by the engine"):
            book.materialize()


def test_hook_explain_record(tmp_path):
    """A plugin's findings follow the causes and effects, in text and in JSON."""
    from ledger import Finding

    def register_event_types(register):
        register(Ping)

    def explain_record(record, ledger):
        if record.type != "test.ping":
            return None
        earlier = [r for r in ledger.read(types=["test.ping"], until=record.seq - 1)]
        return [Finding("after", earlier, note=f"{len(earlier)} earlier pings", data={"n": 1})]

    db = tmp_path / "pings.db"
    pings = plugin(register_event_types=register_event_types, explain_record=explain_record)
    with Ledger.open(db, plugins=[pings], load_entrypoints=False) as book:
        first = book.append(Ping(name="a"), occurred_at="2026-01-01")
        second = book.append(Ping(name="b"), occurred_at="2026-01-02")
        why = book.explain(second.seq)
        assert why.finding("after").records == [first] and why.finding("after").plugin == "testplugin"
        assert why.to_json()["findings"][0]["data"] == {"n": 1}
        assert book.explain(first.seq).finding("after").records == []

    def broken(record, ledger):
        return ["not a finding"]

    with Ledger.open(db, plugins=[plugin(explain_record=broken)], load_entrypoints=False) as book:
        with pytest.raises(PluginError, match="explain_record returned 'not a finding'"):
            book.explain(1)


# --- the guide's complete plugin ------------------------------------------------------------------


def guide_plugin(folder) -> str:
    """The code block under "A complete plugin", saved as outages.py."""
    section = guide().split("## A complete plugin", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    (folder / "outages.py").write_text(code)
    return str(folder / "outages.py")


def guide_history(folder):
    lines = re.findall(r"^(\{.*\})$", guide(), re.M)
    return write(folder / "history.jsonl", lines)


def test_the_guides_plugin_runs_by_path(run, tmp_path):
    path = guide_plugin(tmp_path)
    result = run("replay", guide_history(tmp_path), "--plugin", path, "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["outages"] == {"gigawatt_hours_lost": "0.3", "by_site": {"abilene": "0.3"}}
    bad = write(tmp_path / "bad.jsonl", guide_history(tmp_path).read_text().splitlines() + [
        '{"type": "outage.reported", "occurred_at": "2025-11-03", "data": {"site": "abilene", "gigawatts": "1", "hours": "1"}}'])
    refused = run("replay", bad, "--plugin", path)
    assert refused.code == 1
    assert refused.err.strip() == (f"{bad}:3: outages: site 'abilene' has 0.2 GW commissioned, "
                                   "not the 1 GW said to be out")
    listed = json.loads(run("plugins", "--plugin", path, "--json").out)["plugins"]
    assert {"name": "outages", "source": "file", "from": path,
            "hooks": ["register_event_types", "register_projections", "validate_event"]} in listed


def test_the_guides_plugin_runs_through_an_entry_point(tmp_path):
    guide_plugin(tmp_path)
    info = tmp_path / "outages-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: outages\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[gigaledger]\noutages = outages\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    env.pop("GIGALEDGER_PLUGINS", None)

    def gigaledger(*args, **extra):
        return subprocess.run([sys.executable, "-m", "ledger", *args], capture_output=True, text=True,
                              env={**env, **extra}, cwd=tmp_path)

    listed = json.loads(gigaledger("plugins", "--json").stdout)["plugins"]
    assert {"name": "outages", "source": "entry point", "from": "outages 0.1",
            "hooks": ["register_event_types", "register_projections", "validate_event"]} in listed
    replayed = gigaledger("replay", str(guide_history(tmp_path)), "--json")
    assert json.loads(replayed.stdout)["outages"]["gigawatt_hours_lost"] == "0.3"
    off = gigaledger("plugins", "--json", GIGALEDGER_PLUGINS="")
    assert "outages" not in {p["name"] for p in json.loads(off.stdout)["plugins"]}
    unknown = gigaledger("plugins", GIGALEDGER_PLUGINS="outages,outgaes")
    assert unknown.returncode == 1
    assert unknown.stderr.startswith("plugin outgaes: GIGALEDGER_PLUGINS names it")


def test_a_misspelled_hook_is_refused_with_one_line(run, tmp_path):
    path = guide_plugin(tmp_path)
    source = open(path).read().replace("def validate_event(", "def validate_evnet(")
    open(path, "w").write(source)
    result = run("replay", guide_history(tmp_path), "--plugin", path)
    assert result.code == 1
    assert result.err.startswith("plugin outages: implements 'validate_evnet', which is not a gigaledger hook")
    assert result.err.count("\n") == 1
    with pytest.raises(PluginError) as caught:
        Ledger.open(plugins=[path], load_entrypoints=False)
    assert caught.value.plugin == "outages"
