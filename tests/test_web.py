"""The Datasette plugin in process (``datasette.app.Datasette`` and its test client), on both
shipped histories and on a ledger of the tool library, a domain of a plugin's own: every page
renders, its figures are ``report --json``'s, a record page says what ``explain`` says (for a
tranche: the commissioning that earned it), Datasette's pages link to the ledger page, and a
read-only ledger is served without a byte written."""

from __future__ import annotations

import asyncio
import hashlib
import importlib.metadata
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from datasette.app import Datasette

from ledger import Ledger
from ledger.replay import jsonable
from ledger.web.blocks import TextTable, blocks

from . import webpages as w
from .conftest import EVENTS, ROOT, without_write_privilege

PLUGIN = os.path.join(ROOT, "plugins", "tool_library.py")
HISTORIES = {"plan": os.path.join(EVENTS, "nvidia-openai-plan.jsonl"),
             "real": os.path.join(EVENTS, "openai-compute-2025-2026.jsonl"),
             "tools": os.path.join(ROOT, "plugins", "tool_library.jsonl")}
LEDGERS = sorted(HISTORIES)
#: How each ledger is opened: the tool library is a domain on the bare engine.
OPENING = {"plan": {}, "real": {}, "tools": {"builtins": False, "plugins": [PLUGIN]}}
METADATA = {"databases": {"tools": {"plugins": {"gigaledger": OPENING["tools"]}}}}
CHARTS = {"plan": ["capacity"], "real": ["capacity"], "tools": ["loans"]}


def make_ledgers(folder) -> dict[str, str]:
    """The three ledgers, materialized (so that Datasette has their tables to show), and a
    database that is not a ledger."""
    paths = {}
    for name, history in HISTORIES.items():
        path = str(folder / f"{name}.db")
        with Ledger.open(path, load_entrypoints=False, **OPENING[name]) as book:
            book.import_jsonl(history)
            book.materialize()
        paths[name] = path
    other = sqlite3.connect(folder / "other.db")
    other.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    other.commit()
    other.close()
    paths["other"] = str(folder / "other.db")
    return paths


@pytest.fixture(scope="module")
def ledgers(tmp_path_factory) -> dict[str, str]:
    return make_ledgers(tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="module")
def ds(ledgers) -> Datasette:
    return Datasette(list(ledgers.values()), metadata=METADATA)


def fetch(ds: Datasette, *paths: str) -> list:
    async def responses():
        await ds.invoke_startup()
        return [await ds.client.get(path) for path in paths]

    return asyncio.run(responses())


@pytest.fixture
def cli(run, monkeypatch):
    """The command line on one of the ledgers, opened as the page opens it."""

    def invoke(name: str, path: str, *args: str):
        if name == "tools" and args[0] != "head":
            monkeypatch.setenv("GIGALEDGER_BUILTINS", "0")
            args = (*args, "--plugin", PLUGIN)
        else:
            monkeypatch.delenv("GIGALEDGER_BUILTINS", raising=False)
        done = run(args[0], path, *args[1:])
        assert done.code == 0, done.err
        return done.out

    return invoke


def text_tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    return [(b.headers, b.rows) for b in blocks(text) if isinstance(b, TextTable)]


@pytest.mark.parametrize("name", LEDGERS)
def test_the_ledger_page_shows_the_report_as_the_command_line_does(name, ds, ledgers, cli):
    report = json.loads(cli(name, ledgers[name], "report", "--json"))
    head = json.loads(cli(name, ledgers[name], "head", "--json"))
    html, as_json = fetch(ds, f"/{name}/-/ledger", f"/{name}/-/ledger.json")
    assert html.status_code == 200 and as_json.status_code == 200
    assert as_json.json() == report
    page = w.parse(html.text)
    assert list(w.sections(page)) == [key for key in report if key != "as_of"]
    if name == "tools":
        assert w.check_tool_library_figures(page, report) >= 9
    else:
        assert w.check_builtin_figures(page, report) >= 20
    # every table of the text report, cell for cell
    shown = [(t["headers"], t["rows"]) for t in w.tables(page)]
    assert shown == text_tables(cli(name, ledgers[name], "report"))
    assert page.one("span", data_head_seq=str(head["seq"])).words() == f"{head['seq']:,}"
    assert head["hash"] in page.one("dl", id="head").words()
    verification = page.one("dd", id="verification")
    assert verification.attrs["class"] == "ok"
    assert verification.words().startswith(f"ok: {head['seq']} records, head {head['hash']}, in ")
    figures = page.all("figure", class_="chart")
    assert [f.attrs["data-chart"] for f in figures] == CHARTS[name]
    assert all(f.all("svg") for f in figures), "every chart is inline SVG"
    latest = page.one("section", id="latest")
    seqs = w.linked_seqs(latest)
    assert seqs == list(range(head["seq"], max(head["seq"] - 25, 0), -1))
    links = [a.attrs["href"] for a in latest.all("a") if "/records/" in a.attrs["href"]]
    assert links == [f"/{name}/-/ledger/records/{seq}" for seq in seqs]
    if name == "plan":
        assert "includes 51 scenario records" in page.one("p", class_="scenario").words()


@pytest.mark.parametrize("name", LEDGERS)
def test_every_record_page_says_what_explain_says(name, ds, ledgers):
    with Ledger.open(ledgers[name], readonly=True, **OPENING[name]) as book:
        explanations = {seq: book.explain(seq) for seq in range(1, len(book) + 1)}
    pages = fetch(ds, *(f"/{name}/-/ledger/records/{seq}{suffix}" for seq in explanations
                        for suffix in ("", ".json")))
    for (seq, explanation), html, as_json in zip(explanations.items(), pages[::2], pages[1::2]):
        assert html.status_code == 200 and as_json.status_code == 200, seq
        assert as_json.json() == jsonable(explanation.to_json())
        page = w.parse(html.text)
        assert page.one("h1").words() == f"Record {seq}: {explanation.record.type}"
        assert explanation.record.hash in page.one("dl", id="record").words()
        causes = page.one("section", id="causes")
        assert w.linked_seqs(causes) == [r.seq for r in explanation.causes]
        effects = page.all("section", id="effects")
        assert (w.linked_seqs(effects[0]) if effects else []) == [r.seq for r in explanation.effects]
        shown = page.all("div", class_="finding")
        assert [f.attrs["data-label"] for f in shown] == [f.label for f in explanation.findings]
        for div, finding in zip(shown, explanation.findings):
            assert w.linked_seqs(div) == [r.seq for r in finding.records]
            assert (finding.note or "") in div.words()


def earning_commissionings(path: str) -> dict[int, tuple[int, int]]:
    """For each released tranche (its seq): the tranche and the seq of the commissioning that
    brought its agreement's gigawatts to what the tranche needs, worked out from the log here."""
    with Ledger.open(path, readonly=True, load_entrypoints=False) as book:
        terms = {r.data["agreement"]: Decimal(r.data.get("tranche_gigawatts", "1"))
                 for r in book.read(types=["agreement.signed"])}
        totals: dict[str, list[tuple[Decimal, int]]] = {}
        for r in book.read(types=["capacity.commissioned"]):
            if r.data.get("agreement"):
                running = totals.setdefault(r.data["agreement"], [])
                before = running[-1][0] if running else Decimal(0)
                running.append((before + Decimal(r.data["gigawatts"]), r.seq))
        earned = {}
        for r in book.read(types=["investment.released"]):
            if "tranche" in r.data:
                needed = r.data["tranche"] * terms[r.data["agreement"]]
                earned[r.seq] = (r.data["tranche"], next(
                    seq for total, seq in totals[r.data["agreement"]] if total >= needed))
    return earned


def test_a_tranche_page_names_the_commissioning_that_earned_it(ds, ledgers):
    earned = earning_commissionings(ledgers["plan"])
    assert len(earned) == 10
    pages = fetch(ds, *(f"/plan/-/ledger/records/{seq}" for seq in earned))
    for (seq, (tranche, commissioning)), html in zip(earned.items(), pages):
        page = w.parse(html.text)
        finding = page.one("div", class_="finding", data_label="earned by")
        (row,) = [tr for tr in finding.all("tr") if "data-seq" in tr.attrs]
        assert int(row.attrs["data-seq"]) == commissioning
        assert "capacity.commissioned" in row.words()
        assert row.one("a").attrs["href"] == f"/plan/-/ledger/records/{commissioning}"
        assert f"the {'1' if tranche == 1 else tranche} GW that tranche {tranche} needs" in \
            finding.words()


def test_a_fee_page_names_the_loan_it_was_charged_for(ds, ledgers):
    """The tool library's own finding: a late fee was charged for the tool's last loan and
    return before it."""
    expected = {}
    with Ledger.open(ledgers["tools"], readonly=True, **OPENING["tools"]) as book:
        for fee in book.read(types=["fee.charged"]):
            history = list(book.read(stream=f"tool/{fee.data['tool']}", until=fee.seq))
            lent = [r.seq for r in history if r.type == "tool.lent"][-1]
            returned = [r.seq for r in history if r.type == "tool.returned"][-1]
            expected[fee.seq] = [lent, returned]
    assert expected
    pages = fetch(ds, *(f"/tools/-/ledger/records/{seq}" for seq in expected))
    for (seq, loan), html in zip(expected.items(), pages):
        finding = w.parse(html.text).one("div", class_="finding", data_label="charged for")
        assert w.linked_seqs(finding) == loan
        assert "days late" in finding.words()


def test_datasettes_own_pages_link_to_the_ledger_page(ds, ledgers):
    paths = ["/"]
    for name in LEDGERS:
        paths += [f"/{name}", f"/{name}/events", f"/{name}/projections"]
    paths += ["/other", "/other/notes", "/other/-/ledger", "/nowhere/-/ledger"]
    responses = dict(zip(paths, fetch(ds, *paths)))
    index = w.parse(responses["/"].text)
    menu = [a.attrs["href"] for a in index.one("details", class_="nav-menu").all("a")]
    assert menu == [f"/{name}/-/ledger" for name in LEDGERS]
    for name in LEDGERS:
        for path in (f"/{name}", f"/{name}/events", f"/{name}/projections"):
            assert responses[path].status_code == 200
            actions = w.parse(responses[path].text).one("details", class_="actions-menu-links")
            assert f"/{name}/-/ledger" in [a.attrs["href"] for a in actions.all("a")], path
    for path in ("/other", "/other/notes"):
        assert responses[path].status_code == 200
        assert "/other/-/ledger" not in responses[path].text
    assert responses["/other/-/ledger"].status_code == 404
    assert "not a gigaledger database" in responses["/other/-/ledger"].text
    assert responses["/nowhere/-/ledger"].status_code == 404


def test_the_plugin_comes_from_datasettes_entry_point(ds):
    (entry,) = [e for e in importlib.metadata.entry_points(group="datasette")
                if e.name == "gigaledger"]
    assert entry.value == "ledger.web"
    (plugins,) = fetch(ds, "/-/plugins.json")
    (plugin,) = [p for p in plugins.json() if p["name"] == "gigaledger"]
    assert plugin["templates"] is True
    assert set(plugin["hooks"]) == {"register_routes", "menu_links", "database_actions",
                                    "table_actions", "handle_exception"}


def test_the_pages_need_no_javascript(ds):
    for response in fetch(ds, "/plan/-/ledger", "/plan/-/ledger/records/18"):
        content = w.parse(response.text).one("section", class_="content")
        assert not content.all("script") and "onclick" not in response.text


def test_a_record_that_is_not_there_is_a_404_in_one_line(ds):
    html, as_json = fetch(ds, "/plan/-/ledger/records/54", "/plan/-/ledger/records/0.json")
    assert html.status_code == 404 and "no record with seq 54 (the log holds 53)" in html.text
    assert as_json.status_code == 404 and as_json.json()["error"].startswith("no record")


def test_a_bad_configuration_says_why_in_one_line(ledgers):
    bad = Datasette([ledgers["tools"]], metadata={"plugins": {"gigaledger": {"plugins": 5}}})
    missing = Datasette([ledgers["tools"]], metadata={"plugins": {"gigaledger": {
        "plugins": ["no/such/plugin.py"], "builtins": False}}})
    (first,) = fetch(bad, "/tools/-/ledger.json")
    (second,) = fetch(missing, "/tools/-/ledger.json")
    assert first.status_code == 500 and "plugins is a list" in first.json()["error"]
    assert second.status_code == 500 and "no/such/plugin.py" in second.json()["error"]
    assert "\n" not in first.json()["error"] + second.json()["error"]


def test_the_ledger_page_follows_the_ledger(tmp_path, ledgers):
    path = str(tmp_path / "plan.db")
    shutil.copy(ledgers["plan"], path)
    ds = Datasette([path])
    (before,) = fetch(ds, "/plan/-/ledger.json")
    with Ledger.open(path, load_entrypoints=False) as book:
        book.append(book.event_from("usage.reported", {"product": "chatgpt",
                                                       "weekly_active_users": 1}),
                    occurred_at="2030-01-01")
    (after,) = fetch(ds, "/plan/-/ledger.json")
    assert (before.json()["as_of"]["seq"], after.json()["as_of"]["seq"]) == (53, 54)


def test_the_ledger_page_shows_the_latest_checkpoint(tmp_path, ledgers):
    from ledger import Signer

    path = str(tmp_path / "plan.db")
    shutil.copy(ledgers["plan"], path)
    ds = Datasette([path])
    (page,) = fetch(ds, "/plan/-/ledger")
    assert "none kept" in w.parse(page.text).one(id="checkpoint").words()
    key = Signer.generate("example.org/plan")
    with Ledger.open(path, load_entrypoints=False) as book:
        book.checkpoint(key, size=50)
        root = book.checkpoints()[-1].split("\n")[2]
    (page,) = fetch(ds, "/plan/-/ledger")
    shown = w.parse(page.text).one(id="checkpoint").words()
    assert shown == (f"50 records, root {root}, signed by example.org/plan; the log holds 3 "
                     "records more (origin example.org/plan)")


def fingerprint(folder) -> dict[str, str]:
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
            for name in sorted(os.listdir(folder))}


def read_only_copy(path: str) -> Path:
    """A copy of a ledger in a folder that nobody may write (a read-only medium, for a user
    who is not root), which every user may read."""
    base = Path(tempfile.mkdtemp(prefix="gigaledger-web-ro-"))
    os.chmod(base, 0o755)
    folder = base / "archive"
    folder.mkdir()
    shutil.copy(path, folder / os.path.basename(path))
    os.chmod(folder / os.path.basename(path), 0o444)
    os.chmod(folder, 0o555)
    return folder / os.path.basename(path)


def test_an_immutable_ledger_is_served_without_a_byte_written(ledgers, cli):
    db = read_only_copy(ledgers["plan"])
    try:
        before = hashlib.sha256(db.read_bytes()).hexdigest()
        ds = Datasette(immutables=[str(db)])
        html, record = fetch(ds, "/plan/-/ledger", "/plan/-/ledger/records/18")
        assert html.status_code == 200 and record.status_code == 200
        page = w.parse(html.text)
        report = json.loads(cli("plan", ledgers["plan"], "report", "--json"))
        assert w.check_builtin_figures(page, report) >= 20
        assert "read-only" in page.one("dl", id="head").words()
        assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    finally:
        os.chmod(db.parent, 0o755)
        shutil.rmtree(db.parent.parent)


def test_gigaledger_serve_works_on_a_ledger_nobody_can_write(ledgers, cli):
    """As a process that cannot write the file or its folder (root without its capabilities
    when the tests run as root, who writes anything): the page is served, and the folder is as
    it was."""
    db = read_only_copy(ledgers["plan"])
    command = without_write_privilege(
        [sys.executable, "-m", "ledger", "serve", str(db), "--get", "/plan/-/ledger"])
    try:
        before = fingerprint(db.parent)
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        report = json.loads(cli("plan", ledgers["plan"], "report", "--json"))
        assert w.check_builtin_figures(w.parse(done.stdout), report) >= 20
        assert fingerprint(db.parent) == before
    finally:
        os.chmod(db.parent, 0o755)
        shutil.rmtree(db.parent.parent)


def test_gigaledger_serve_get_prints_a_page(ledgers, cli, tmp_path):
    env = {**os.environ, "GIGALEDGER_BUILTINS": "0"}
    done = subprocess.run([sys.executable, "-m", "ledger", "serve", ledgers["tools"], "--plugin",
                           PLUGIN, "--get", "/tools/-/ledger.json"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(cli("tools", ledgers["tools"], "report", "--json"))
    slashless = subprocess.run([sys.executable, "-m", "ledger", "serve", ledgers["tools"],
                                "--plugin", PLUGIN, "--get", "tools/-/ledger.json"],
                               capture_output=True, text=True, env=env, timeout=120)
    assert (slashless.returncode, slashless.stdout) == (0, done.stdout), slashless.stderr
    missing = subprocess.run([sys.executable, "-m", "ledger", "serve", str(tmp_path / "no.db")],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.strip().count("\n") == 0 and "no such ledger file" in missing.stderr


def test_a_ledger_tampered_with_shows_its_failed_verification(tmp_path, ledgers):
    path = tmp_path / "plan.db"
    shutil.copy(ledgers["plan"], path)
    ds = Datasette([str(path)])
    (before,) = fetch(ds, "/plan/-/ledger")
    assert w.parse(before.text).one("dd", id="verification").attrs["class"] == "ok"
    connection = sqlite3.connect(path)
    connection.execute("DROP TRIGGER events_no_update")
    connection.execute("UPDATE events SET data = replace(data, '0.5', '0.6') WHERE seq = 17")
    connection.commit()
    connection.close()
    (after,) = fetch(ds, "/plan/-/ledger")  # the same head: the page is made again all the same
    verification = w.parse(after.text).one("dd", id="verification")
    assert verification.attrs["class"] == "failed" and "seq 17" in verification.words()


def test_a_chart_that_fails_costs_its_figure_not_the_page(tmp_path, ledgers):
    plugin = tmp_path / "broken_chart.py"
    plugin.write_text(
        "from ledger import hookimpl\n\n"
        "class Broken:\n"
        "    name, title, formats = 'broken', 'A broken chart', ('svg',)\n\n"
        "    def draw(self, ledger, path, *, format, until=None, title=None):\n"
        "        return 1 / 0\n\n"
        "@hookimpl\n"
        "def register_charts(register):\n"
        "    register(Broken())\n", encoding="utf-8")
    ds = Datasette([ledgers["plan"]], metadata={"plugins": {"gigaledger": {
        "plugins": [str(plugin)]}}})
    (response,) = fetch(ds, "/plan/-/ledger")
    assert response.status_code == 200
    figures = {f.attrs["data-chart"]: f for f in w.parse(response.text).all("figure")}
    assert figures["capacity"].all("svg")
    assert "chart broken failed: ZeroDivisionError: division by zero" in figures["broken"].words()


def test_an_empty_ledger_has_a_page(tmp_path):
    path = tmp_path / "empty.db"
    Ledger.open(str(path), load_entrypoints=False).close()
    (response,) = fetch(Datasette([str(path)]), "/empty/-/ledger")
    page = w.parse(response.text)
    assert response.status_code == 200
    assert page.one("dd", id="verification").words().startswith("ok: 0 records")
    assert w.linked_seqs(page.one("section", id="latest")) == []


def test_serve_without_datasette_says_what_to_install(ledgers, run, monkeypatch):
    monkeypatch.setattr("ledger.cli.serving.find_spec", lambda name: None)
    done = run("serve", ledgers["plan"])
    assert done.code == 1 and done.out == ""
    assert done.err == "gigaledger: serve needs Datasette: pip install 'gigaledger[web]'\n"


class _Console:
    """What Datasette's error handler asks of rich, where rich is not installed: printing the
    exception being handled fails outside an ``except`` block, as rich's does."""

    def print_exception(self, **options) -> None:
        if sys.exc_info()[0] is None:
            raise ValueError("Value for 'trace' required if not called in except: block")


@pytest.fixture
def with_rich(monkeypatch):
    """Datasette's own error handler as it runs where rich is installed (Datasette 0.65 prints
    every exception it handles with rich's ``print_exception``)."""
    import datasette.handle_exception as handler

    if handler.rich is None:
        monkeypatch.setattr(handler, "rich", type("rich", (), {"get_console": _Console}))


#: Addresses under the ledger's pages that are not pages, and what the 404 says.
MISTYPED = {
    "/plan/-/ledger/records/abc":
        "no record 'abc': a record page is /plan/-/ledger/records/SEQ (the log holds 53)",
    "/plan/-/ledger/records/abc.json":
        "no record 'abc': a record page is /plan/-/ledger/records/SEQ (the log holds 53)",
    "/plan/-/ledger/records/-1":
        "no record '-1': a record page is /plan/-/ledger/records/SEQ (the log holds 53)",
    "/plan/-/ledger/records/99999999999999999999999":
        "no record with seq 99999999999999999999999 (the log holds 53)",
    "/plan/-/ledger/records": "no page /plan/-/ledger/records: the ledger page is "
                              "/plan/-/ledger and a record page /plan/-/ledger/records/SEQ "
                              "(each also as .json)",
    "/plan/-/ledger/foo": "no page /plan/-/ledger/foo: the ledger page is /plan/-/ledger",
    "/plan/-/ledger/foo.json": "no page /plan/-/ledger/foo.json: the ledger page is",
    "/plan/-/ledger.csv": "no page /plan/-/ledger.csv: the ledger page is",
    "/plan/-/ledger/records/18/causes": "no page /plan/-/ledger/records/18/causes:",
    "/other/-/ledger/records/abc": "other is not a gigaledger database (no events table)",
    "/nowhere/-/ledger/foo.json": "no database 'nowhere'",
}


def test_a_mistyped_address_under_the_ledger_pages_is_a_404_that_says_what_exists(ds, with_rich):
    responses = dict(zip(MISTYPED, fetch(ds, *MISTYPED)))
    for path, said in MISTYPED.items():
        response = responses[path]
        assert response.status_code == 404, (path, response.status_code)
        if path.endswith(".json"):
            error = response.json()["error"]
            assert error.startswith(said) and "\n" not in error, (path, error)
        else:
            content = w.parse(response.text).one("section", class_="content").words()
            assert said in content, (path, content)


def test_an_address_no_route_takes_is_a_404_not_a_500(ds, with_rich):
    """Datasette 0.65 hands its error handlers a NotFound it never raised, for a path that none
    of its routes takes, and its own handler then fails where rich is installed: the plugin
    runs the handlers as if the NotFound had been raised."""
    paths = ["/a/b/c/d", "/plan/-/no/such/page", "/plan/events/1/2/3", "/a/b/c/d.json"]
    for path, response in zip(paths, fetch(ds, *paths)):
        assert response.status_code == 404, path
    assert fetch(ds, "/a/b/c/d.json")[0].json()["status"] == 404


def test_a_trailing_slash_is_still_redirected(ds, with_rich):
    paths = ["/plan/-/ledger/", "/plan/-/ledger/records/18/"]
    for path, response in zip(paths, fetch(ds, *paths)):
        assert response.status_code == 302, path
        assert response.headers["location"] == path.rstrip("/")


def test_the_as_of_line_says_as_of_once(ds):
    (response,) = fetch(ds, "/plan/-/ledger")
    head = w.parse(response.text).one("dl", id="head")
    facts = dict(zip((dt.words() for dt in head.all("dt")), (dd.words() for dd in head.all("dd"))))
    assert facts["as of"] == "seq 53, latest event 2029-12-15"


def serve(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ledger", "serve", *args], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)


def test_gigaledger_serve_get_of_a_page_that_is_not_there_says_so_in_one_line(ledgers):
    for path, said in [
            ("/plan/-/ledger/records/abc",
             "/plan/-/ledger/records/abc: 404 Not Found: no record 'abc': a record page is "
             "/plan/-/ledger/records/SEQ (the log holds 53)"),
            ("/plan/-/ledger/records/99.json",
             "/plan/-/ledger/records/99.json: 404 Not Found: no record with seq 99 (the log "
             "holds 53)"),
            ("/a/b/c/d", "/a/b/c/d: 404 Not Found")]:
        done = serve(ledgers["plan"], "--get", path)
        assert (done.returncode, done.stdout) == (1, ""), (path, done.stderr)
        assert done.stderr == f"gigaledger: {said}\n", path


def test_gigaledger_serve_h_is_help():
    done = serve("-h")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: gigaledger serve [OPTIONS] DB")
    assert "--host TEXT" in done.stdout and "-h, --help" in done.stdout
    assert "-h, --host" not in done.stdout
