"""The ``gigaledger`` command line: click commands over the Ledger API.

Exit status: 0 done; 1 refused input or failed verification, with one line on stderr saying where;
2 usage errors. No traceback reaches the user (set ``GIGALEDGER_DEBUG=1`` to see one).
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from .codec import loads
from .errors import LedgerError
from .ledger import Ledger, Progress
from .plugins import PluginHost
from .replay import jsonable
from .explain import render as render_explanation
from .tables import log_line, render_plugins, render_report, table

plugin_option = click.option(
    "--plugin", "plugins", multiple=True, metavar="PATH.py|MODULE",
    help="Load a plugin from a .py file or an importable module (repeatable).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for programs.")
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
until_option = click.option(
    "--until", metavar="DATE", help="Fold only events that occurred on or before DATE: a year "
    "(2027: to its end), a month (2027-06), a day (YYYY-MM-DD) or an ISO time."
)


def _open(db: str | None, plugins: Sequence[str], *, create: bool = True) -> Ledger:
    return Ledger.open(db, plugins=plugins, create=create)


def _print_json(value: Any) -> None:
    click.echo(json.dumps(jsonable(value), indent=2, ensure_ascii=False))


@contextmanager
def _progress(label: str, quiet: bool) -> Iterator[Progress | None]:
    """A progress bar on stderr, only when stderr is a terminal and --quiet is not given."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    bar = click.progressbar(length=1, label=label, file=sys.stderr, show_eta=True)
    shown = [0]

    def update(done: int, total: int) -> None:
        bar.length = max(total, 1)
        bar.update(done - shown[0])
        shown[0] = done

    with bar:
        yield update


def _print_report(book: Ledger, until: str | None, as_json: bool, quiet: bool) -> None:
    with _progress("replaying", quiet) as progress:
        view = book.replay(until=until, progress=progress)
    report = view.report()
    if as_json:
        _print_json(report)
    else:
        renderers = {name: getattr(view.projection(name), "render", None) for name in view}
        click.echo(render_report(report, renderers))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gigaledger", prog_name="gigaledger")
def cli() -> None:
    """gigaledger: an append-only, hash-chained ledger of the AI compute build-out."""


@cli.command()
@click.argument("histories", nargs=-1, required=True, type=click.Path(dir_okay=True))
@click.option("--db", type=click.Path(dir_okay=False), help="Keep the ledger in this file (default: in memory).")
@until_option
@plugin_option
@json_option
@quiet_option
def replay(histories: tuple[str, ...], db: str | None, until: str | None,
           plugins: tuple[str, ...], as_json: bool, quiet: bool) -> None:
    """Import HISTORY files and print the report."""
    with _open(db, plugins) as book:
        with _progress("importing", quiet) as progress:
            book.import_jsonl(*histories, progress=progress)
        _print_report(book, until, as_json, quiet)


@cli.command("import")
@click.argument("db", type=click.Path(dir_okay=False))
@click.argument("histories", nargs=-1, required=True, type=click.Path(dir_okay=True))
@plugin_option
@quiet_option
def import_(db: str, histories: tuple[str, ...], plugins: tuple[str, ...], quiet: bool) -> None:
    """Append HISTORY files to the ledger file DB, atomically: every line or none."""
    with _open(db, plugins) as book, _progress("importing", quiet) as progress:
        result = book.import_jsonl(*histories, progress=progress)
    skipped = f", {result.skipped} already present" if result.skipped else ""
    click.echo(f"imported {result.appended} records into {db}{skipped}; head is seq {result.head}")


@cli.command()
@click.argument("db", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file (default: standard output).")
@plugin_option
def export(db: str, output: str | None, plugins: tuple[str, ...]) -> None:
    """Write the whole log of DB as JSON Lines, record for record."""
    with _open(db, plugins, create=False) as book:
        if output is None:
            book.export_jsonl(sys.stdout)
        else:
            count = book.export_jsonl(output)
            click.echo(f"exported {count} records to {output}")


@cli.command()
@click.argument("db", type=click.Path(dir_okay=False))
@click.argument("type_name", metavar="TYPE")
@click.option("--data", required=True, help="The payload as a JSON object.")
@click.option("--occurred-at", help="When it happened (date or ISO time; default: now).")
@click.option("--expect-version", type=int, help="Refuse unless the stream is at this version (0: new).")
@click.option("--id", "event_id", help="The event's id (an idempotency key; default: a new uuid).")
@click.option("--stream", help="The stream (default: by type).")
@click.option("--meta", help="Metadata as a JSON object (source, correlation_id …).")
@plugin_option
@json_option
def append(db: str, type_name: str, data: str, occurred_at: str | None, expect_version: int | None,
           event_id: str | None, stream: str | None, meta: str | None,
           plugins: tuple[str, ...], as_json: bool) -> None:
    """Append one event of TYPE to DB."""
    payload = _json_object("--data", data)
    extra = _json_object("--meta", meta) if meta is not None else None
    with _open(db, plugins) as book:
        event = book.event_from(type_name, payload)
        record = book.append(event, occurred_at=occurred_at, stream=stream,
                             expected_version=expect_version, id=event_id, meta=extra)
    if as_json:
        _print_json(record.to_json())
    else:
        click.echo(f"seq {record.seq}: {record.type} on {record.stream} v{record.version} ({record.hash[:12]})")


def _json_object(option: str, text: str) -> dict[str, Any]:
    try:
        value = loads(text)
    except ValueError as error:
        raise LedgerError(f"{option}: not valid JSON: {getattr(error, 'msg', error)}") from None
    if not isinstance(value, dict):
        raise LedgerError(f"{option}: expected a JSON object")
    return value


@cli.command()
@click.argument("db", type=click.Path(dir_okay=False))
@click.option("--type", "types", multiple=True, help="Only events of this type (repeatable).")
@click.option("--stream", help="Only events of this stream.")
@click.option("--after", type=int, default=0, help="Only events after this seq.")
@plugin_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON record a line (the export format).")
@click.option("--follow", "-f", is_flag=True, help="Keep printing records as any process appends them (Ctrl-C stops).")
@click.option("--interval", type=float, default=0.5, show_default=True, help="Seconds between looks, with --follow.")
def log(db: str, types: tuple[str, ...], stream: str | None, after: int,
        plugins: tuple[str, ...], as_json: bool, follow: bool, interval: float) -> None:
    """List the records of DB."""
    with _open(db, plugins, create=False) as book:
        records = (book.follow(after, types=types or None, stream=stream, interval=interval)
                   if follow else book.read(after, types=types or None, stream=stream))
        for record in records:
            if as_json:
                click.echo(json.dumps(record.to_json(), ensure_ascii=False))
            else:
                click.echo(log_line(record))
            if follow:
                sys.stdout.flush()


@cli.command()
@click.argument("db", type=click.Path(dir_okay=False))
@until_option
@plugin_option
@json_option
@quiet_option
def report(db: str, until: str | None, plugins: tuple[str, ...], as_json: bool, quiet: bool) -> None:
    """Print the projections of DB, as of now or as of --until."""
    with _open(db, plugins, create=False) as book:
        _print_report(book, until, as_json, quiet)


@cli.command()
@click.argument("db", type=click.Path(dir_okay=False))
@click.option("--head", metavar="HASH", help="A head hash pinned earlier: it must be in the chain.")
def verify(db: str, head: str | None) -> None:
    """Check the hash chain, seq order and stream versions of DB."""
    with Ledger.open(db, create=False, load_entrypoints=False) as book:
        count, last = book.verify(head)
    click.echo(f"ok: {count} records, head {last}")


@cli.command()
@click.argument("source", metavar="SRC")
@click.argument("target", metavar="DST")
@plugin_option
@quiet_option
def copy(source: str, target: str, plugins: tuple[str, ...], quiet: bool) -> None:
    """Copy the ledger SRC into DST, a new or empty ledger: each a SQLite file or a
    postgresql:// URL. Record for record, hashes included; both ends are verified."""
    with _open(source, plugins, create=False) as book, _open(target, plugins) as destination:
        with _progress("copying", quiet) as progress:
            count, head = book.copy_to(destination, progress=progress)
        where = destination.path
    click.echo(f"copied {count} records to {where}; verified, head {head}")


@cli.command()
@click.argument("db", type=click.Path(dir_okay=False))
@plugin_option
@json_option
def materialize(db: str, plugins: tuple[str, ...], as_json: bool) -> None:
    """Write the projections of DB as plain tables in DB (for Datasette or SQL), replacing the
    previous ones at once."""
    with _open(db, plugins, create=False) as book:
        counts = book.materialize()
        seq = book.head()[0]
    if as_json:
        _print_json({"seq": seq, "tables": counts})
    else:
        click.echo(table(counts.items(), ["table", "rows"]))
        click.echo(f"materialized {len(counts)} tables in {db} as of seq {seq}")


@cli.command()
@click.argument("db", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The image to write: FILE.png or FILE.svg.")
@until_option
@click.option("--title", help="The figure's title (default: the file's name and the date).")
@plugin_option
def chart(db: str, output: str, until: str | None, title: str | None, plugins: tuple[str, ...]) -> None:
    """Draw commissioned GW by provider over time, investment released and the provider mix."""
    from .chart import chart as draw

    with _open(db, plugins, create=False) as book:
        path = draw(book, output, until=until, title=title)
    click.echo(f"wrote {path}")


@cli.command()
@click.argument("db", type=click.Path(dir_okay=False))
@click.argument("key", metavar="SEQ|ID")
@plugin_option
@json_option
def explain(db: str, key: str, plugins: tuple[str, ...], as_json: bool) -> None:
    """Why a record is in DB: its causes and effects; for a released tranche, the commissioning
    that earned it and the agreement that allowed it."""
    with _open(db, plugins, create=False) as book:
        explanation = book.explain(key)
    if as_json:
        _print_json(explanation.to_json())
    else:
        click.echo(render_explanation(explanation))


@cli.command()
@plugin_option
@json_option
def plugins(plugins: tuple[str, ...], as_json: bool) -> None:
    """List the loaded plugins, where each came from, and its hooks."""
    infos = PluginHost(plugins).info()
    if as_json:
        _print_json({"plugins": [
            {"name": i.name, "source": i.source, "from": i.detail, "hooks": list(i.hooks)}
            for i in infos
        ]})
    else:
        click.echo(render_plugins(infos))


def add_plugin_commands(host: PluginHost | None = None) -> None:
    """Let plugins (by default: the installed ones) add commands through ``register_commands``.
    A plugin that fails to load is reported when a command opens a ledger with it."""
    if host is None:
        try:
            host = PluginHost()
        except LedgerError:
            return
    for plugin, function, argnames in host.hook_calls("register_commands"):
        try:
            function(*[cli for _ in argnames])
        except Exception as error:
            click.echo(f"plugin {plugin}: register_commands failed: {error}", err=True)


def _warning_line(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
    click.echo(f"warning: {message}", err=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return its exit status."""
    warnings.showwarning = _warning_line
    debug = bool(os.environ.get("GIGALEDGER_DEBUG"))
    try:
        add_plugin_commands()
        status = cli.main(args=argv, prog_name="gigaledger", standalone_mode=False)
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 1
    except LedgerError as error:
        if debug:
            raise
        click.echo(" ".join(str(error).split()), err=True)
        return 1
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 0
    except Exception as error:
        if debug:
            raise
        click.echo(f"gigaledger: internal error: {type(error).__name__}: {error} "
                   "(set GIGALEDGER_DEBUG=1 for the traceback)", err=True)
        return 1
    return status if isinstance(status, int) else 0


def entry() -> None:
    sys.exit(main())
