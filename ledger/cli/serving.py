"""``gigaledger serve``: the ledger in Datasette, with its ledger page (``pip install
'gigaledger[web]'``). Datasette's own ``serve`` runs in this process, configured to open the
ledger with the plugins given here; a ledger that cannot be written is served immutable, as a
read-only medium needs."""

from __future__ import annotations

import json
import os
import tempfile
from importlib.util import find_spec

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
                                            "exit, without starting a server.")
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
    with tempfile.TemporaryDirectory(prefix="gigaledger-serve-") as folder:
        metadata = os.path.join(folder, "metadata.json")
        with open(metadata, "w", encoding="utf-8") as out:
            json.dump(config, out)
        arguments = ["serve", "--metadata", metadata, "--host", host, "--port", str(port),
                     "-i" if readonly else "--", db]
        if get is not None:
            arguments[1:1] = ["--get", "/" + get.lstrip("/")]  # plan/-/ledger as /plan/-/ledger
        elif readonly:
            note(f"{db} cannot be written: served immutable")
        from datasette.cli import cli as datasette

        try:
            datasette.main(arguments, prog_name="gigaledger serve", standalone_mode=False)
        except SystemExit as stop:  # Datasette's --get exits with 0 or 1
            ctx.exit(stop.code if isinstance(stop.code, int) else 1)
        except (Interrupted, KeyboardInterrupt):  # Ctrl-C is how a server is stopped: done
            return
