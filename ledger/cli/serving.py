"""``gigaledger serve``: the ledger in Datasette, with its ledger page (``pip install
'gigaledger[web]'``). Datasette's own ``serve`` runs in this process, configured to open the
ledger with the plugins given here; a ledger that cannot be written is served immutable, as a
read-only medium needs."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import tempfile
from html.parser import HTMLParser
from importlib.util import find_spec
from typing import Any

import click

from .base import Interrupted, WholeNumber, builtins, cli, db_argument, note, plugin_option, read_ledger


@cli.command()
@db_argument
@plugin_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address to listen on (0.0.0.0: every interface).")
@click.option("--port", "-p", type=WholeNumber(0, 65535), default=8001, show_default=True,
              help="The port to listen on.")
@click.option("--get", metavar="PATH", help="Print the page at PATH (as /NAME/-/ledger) and "
                                            "exit, without starting a server (status 1, with "
                                            "one line, when it is not a page).")
@click.pass_context
def serve(ctx: click.Context, db: str, plugins: tuple[str, ...], host: str, port: int,
          get: str | None) -> None:
    """Serve DB in Datasette, read-only: its tables, and its ledger page at /NAME/-/ledger
    (NAME is the file's name without .db), with a page per record. Ctrl-C stops it.

    \b
    Example: gigaledger serve plan.db -p 8001     # then open http://127.0.0.1:8001/plan/-/ledger
    """
    if find_spec("datasette") is None:
        raise click.ClickException("serve needs Datasette: pip install 'gigaledger[web]'")
    with read_ledger(db, plugins) as book:  # a ledger, and its plugins load
        readonly = book.readonly
    given = [os.path.abspath(p) if os.path.exists(p) else p for p in plugins]
    config = {"plugins": {"gigaledger": {"plugins": given, "builtins": builtins()}}}
    if get is not None:
        print_page(db, readonly, config, "/" + get.lstrip("/"))  # plan/-/ledger as /plan/-/ledger
        return
    if readonly:
        note(f"{db} cannot be written: served immutable")
    with tempfile.TemporaryDirectory(prefix="gigaledger-serve-") as folder:
        metadata = os.path.join(folder, "metadata.json")
        with open(metadata, "w", encoding="utf-8") as out:
            json.dump(config, out)
        arguments = ["serve", "--metadata", metadata, "--host", host, "--port", str(port),
                     "-i" if readonly else "--", db]
        from datasette.cli import cli as datasette

        try:
            datasette.main(arguments, prog_name="gigaledger serve", standalone_mode=False)
        except SystemExit as stop:  # Datasette's own exits (a port in use: 1)
            ctx.exit(stop.code if isinstance(stop.code, int) else 1)
        except (Interrupted, KeyboardInterrupt):  # Ctrl-C is how a server is stopped: done
            return


def print_page(db: str, readonly: bool, config: dict[str, Any], path: str) -> None:
    """Print the page at ``path`` as the server serves it. Any other answer (a page that is not
    there, a redirect, an error) is one line on stderr, with the status and what the page says,
    and exit status 1."""
    from datasette.app import Datasette

    served = Datasette([] if readonly else [db], immutables=[db] if readonly else [],
                       metadata=config)

    async def fetch() -> Any:
        await served.invoke_startup()
        return await served.client.get(path)

    # What Datasette prints while it answers (with rich installed, a traceback of every error
    # it handles, a 404 included, on stdout) is kept off the terminal, as every traceback is
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        response = asyncio.run(fetch())
    if os.environ.get("GIGALEDGER_DEBUG"):
        click.echo(printed.getvalue(), err=True, nl=False)
    if response.status_code == 200:
        click.echo(response.text)
        return
    said = what_it_says(response)
    raise click.ClickException(f"{path}: {response.status_code} {response.reason_phrase}"
                               + (f": {said}" if said else ""))


def what_it_says(response: Any) -> str:
    """What an answer other than a page says, in one line: where a redirect leads, the error of
    a JSON answer, or the words of an error page (Datasette's error.html: a heading, then why)."""
    if response.headers.get("location"):
        return f"moved to {response.headers['location']}"
    if "json" in response.headers.get("content-type", ""):
        try:
            said = json.loads(response.text).get("error")
        except (ValueError, AttributeError):
            said = None
    else:
        words = _ContentWords()
        words.feed(response.text)
        words.close()
        said = " ".join(words.words)
    said = " ".join(str(said or "").split())
    return "" if said == str(response.status_code) else said  # Datasette's bare "404"


class _ContentWords(HTMLParser):
    """The words of a Datasette page's content (``<section class="content">``), its heading
    left out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections = 0  # how deep inside the content section
        self.heading = False
        self.words: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section" and (self.sections or "content" in (dict(attrs).get("class") or
                                                                "").split()):
            self.sections += 1
        self.heading = self.heading or (bool(self.sections) and tag == "h1")

    def handle_endtag(self, tag: str) -> None:
        if tag == "section" and self.sections:
            self.sections -= 1
        if tag == "h1":
            self.heading = False

    def handle_data(self, data: str) -> None:
        if self.sections and not self.heading:
            self.words.extend(data.split())
