"""The ledger page in a real browser: Debian's Chromium, headless, against a real ``datasette
serve`` on a free loopback port. The test reads the DOM as the browser rendered it for the
figures, and checks a screenshot: a PNG of the size asked for, with a page and a chart on it.

Chromium is driven from the command line (``--dump-dom``, ``--screenshot``), with no driver
library. ``.ci/run`` installs it when missing and sets ``GIGALEDGER_REQUIRE_BROWSER=1``: then a
missing browser fails the tests instead of skipping them."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from . import png
from . import webpages as w
from .test_web import METADATA, PLUGIN, earning_commissionings, make_ledgers

#: Set by .ci/run: the browser tests must run (fail, never skip, without Chromium).
REQUIRE_BROWSER = bool(os.environ.get("GIGALEDGER_REQUIRE_BROWSER"))
WIDTH, HEIGHT = 1280, 1400


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    why = "no Chromium on this machine: apt-get install chromium"
    if REQUIRE_BROWSER:
        pytest.fail(why)
    pytest.skip(why)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A real ``datasette serve`` of the three ledgers on a free loopback port: (its base URL,
    the ledgers' paths)."""
    browser = chromium()
    folder = tmp_path_factory.mktemp("browser")
    paths = make_ledgers(folder)
    metadata = folder / "metadata.json"
    metadata.write_text(json.dumps(METADATA), encoding="utf-8")
    port = free_port()
    datasette = str(Path(sys.executable).parent / "datasette")
    server = subprocess.Popen(
        [datasette, "serve", paths["plan"], paths["real"], paths["tools"], "--metadata",
         str(metadata), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/-/versions.json", timeout=5).read()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    pytest.fail(f"datasette serve did not start: {server.communicate()[1]}")
                time.sleep(0.2)
        yield base, paths, browser, folder
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def browse(site, path: str, *flags: str) -> subprocess.CompletedProcess:
    """Chromium, headless, on a page of the site (as root it runs without its sandbox)."""
    base, _, browser, folder = site
    profile = folder / "profile"
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--no-first-run", "--hide-scrollbars", f"--user-data-dir={profile}", *flags,
               base + path]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def report_of(name: str, path: str) -> dict:
    """``report --json``, from the command line in a process of its own."""
    command = [sys.executable, "-m", "ledger", "report", path, "--json"]
    env = dict(os.environ)
    if name == "tools":
        command += ["--plugin", PLUGIN]
        env["GIGALEDGER_BUILTINS"] = "0"
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("name", ["plan", "real", "tools"])
def test_the_browser_shows_the_figures_of_report_json(site, name):
    page = w.parse(browse(site, f"/{name}/-/ledger", "--dump-dom").stdout)
    report = report_of(name, site[1][name])
    if name == "tools":
        assert w.check_tool_library_figures(page, report) >= 9
    else:
        assert w.check_builtin_figures(page, report) >= 20
    assert page.one("span", data_head_seq=str(report["as_of"]["seq"]))
    assert page.one("dd", id="verification").attrs["class"] == "ok"
    assert all(figure.all("svg") for figure in page.all("figure", class_="chart"))


def test_the_browser_shows_a_tranche_and_the_commissioning_that_earned_it(site):
    earned = earning_commissionings(site[1]["plan"])
    seq = min(earned)
    tranche, commissioning = earned[seq]
    page = w.parse(browse(site, f"/plan/-/ledger/records/{seq}", "--dump-dom").stdout)
    assert page.one("h1").words() == f"Record {seq}: investment.released"
    finding = page.one("div", class_="finding", data_label="earned by")
    assert w.linked_seqs(finding) == [commissioning]
    assert f"tranche {tranche} needs" in finding.words()


def test_a_screenshot_of_the_ledger_page_is_a_page_with_its_chart(site):
    shot = site[3] / "ledger-page.png"
    browse(site, "/plan/-/ledger", f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}")
    width, height, channels, rows = png.read(shot.read_bytes())
    assert (width, height) == (WIDTH, HEIGHT)
    pixels = Counter(png.pixels(rows, channels))
    background, most = pixels.most_common(1)[0]
    assert most < 0.9 * width * height, "the page is blank"
    assert len(pixels) > 200, "too few colours for a page of text, tables and a chart"
    # The text and tables are grey; Datasette's header is one blue; the chart's providers are
    # four colours more at least (blue, orange, green, red …), each over a good area.
    strong = [colour for colour, n in pixels.items()
              if max(colour[:3]) - min(colour[:3]) > 80 and n > 0.001 * width * height]
    assert len(strong) >= 5, f"the chart's colours are not on the page: {strong}"


def test_ci_requires_the_browser_and_installs_it(monkeypatch):
    script = (Path(__file__).parent.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "debian_install chromium" in script
    assert "export GIGALEDGER_REQUIRE_BROWSER=1" in script
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(sys.modules[__name__], "REQUIRE_BROWSER", True)
    with pytest.raises(pytest.fail.Exception, match="no Chromium"):
        chromium()
