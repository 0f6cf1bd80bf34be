"""Commands that only read a ledger: log, report, verify, head, info, export, explain and chart.
Each works on a ledger that cannot be written (a read-only file, folder or medium)."""

from __future__ import annotations

import os
import select
import sys
import time
from collections.abc import Iterator
from functools import partial
from typing import Any

import click

from ..chain import pinned_hash
from ..charts import draw, pick
from ..clock import parse_time, since_bound, until_bound, until_day
from ..explain import render as render_explanation
from ..figures import show
from ..hints import did_you_mean
from ..errors import UsageError, VerificationError, decoding
from ..ledger import Ledger
from ..tables import log_line, pairs, render_report, table
from .proving import check_published
from .base import (
    SINCE, cli, db_argument, section_option, json_option, note, plugin_option, print_json, progress_bar, quiet_option,
    Interrupted, WholeNumber, read_ledger, until_option, warn_unfolded,
)



def wait_for_reader(seconds: float) -> None:
    """Wait ``seconds`` between looks of ``log --follow``, or less when standard output's
    reader has gone (``| head`` has had its lines): then end the command as any write to a
    closed pipe does (``BrokenPipeError``: status 0, nothing printed), instead of waiting for
    the next record to find out."""
    try:
        watch = select.poll()
        watch.register(sys.stdout.fileno(), 0)  # no events asked: only errors and hang-ups
    except (AttributeError, OSError, ValueError):  # no poll (Windows), or no real stdout
        time.sleep(seconds)
        return
    if watch.poll(seconds * 1000):
        raise BrokenPipeError("the reader of standard output has gone")


def print_report(book: Ledger, until: Any, sections: tuple[str, ...], as_json: bool,
                 quiet: bool) -> None:
    """Replay ``book`` as of ``until`` and print its report (only ``sections``, when given)."""
    names = list(book.projections)
    for section in sections:
        if section not in names:
            raise click.BadParameter(
                f"no section {section!r}{did_you_mean(section, names)}; the sections are "
                f"{', '.join(names)}", param_hint="--section")
    last = len(book)
    if isinstance(until, int) and until > last:
        note(f"warning: --until #{until} is past the last record (seq {last}): the report is of "
             "the whole log")
    with progress_bar("replaying", quiet) as progress:
        view = book.replay(until=until, progress=progress)
    with decoding(book.path or "ledger"):  # a damaged time in the file: one line
        report = view.report()
    warn_unfolded(view.unknown_types)
    _warn_past_the_end(until, report["as_of"], view.seq == last)
    if until is not None and not isinstance(until, int) and view.seq == 0 and last:
        first = str(book.info()["first_occurred_at"])[:10]
        note(f"note: no record occurred on or before {until} (--until): the log begins on "
             f"{first}, so the report is empty")
    if sections:
        report = {**{name: report[name] for name in sections}, "as_of": report["as_of"]}
    if as_json:
        print_json(report)
    else:
        renderers = {name: partial(view.render, name) for name in report
                     if name != "as_of" and hasattr(view.projection(name), "render")}
        click.echo(render_report(report, renderers))


def _warn_past_the_end(until: Any, as_of: dict[str, Any], whole_log: bool) -> None:
    """Say when ``--until`` (a date or a time) is after the whole log's latest event: the figures
    as of then assume that nothing happened in between, which a status like "late" does not say."""
    latest = as_of.get("occurred_at")
    if until is None or isinstance(until, int) or not whole_log or latest is None:
        return
    end, last = until_day(until), parse_time(latest).date()
    if end > last:
        note(f"note: the log ends with an event of {last}; as of {end} (--until) the figures "
             "assume that nothing happened after it (a plan due in between counts as late)")


@cli.command()
@db_argument
@until_option
@section_option
@plugin_option
@json_option
@quiet_option
def report(db: str, until: Any, sections: tuple[str, ...], plugins: tuple[str, ...],
           as_json: bool, quiet: bool) -> None:
    """Print the projections of DB: as of its latest event (never today's date), or as of
    --until. The report reads the log as it is; gigaledger verify checks it.

    \b
    Example: gigaledger report deals.db --until 2026-06 --section investment
    """
    with read_ledger(db, plugins) as book:
        print_report(book, until, sections, as_json, quiet)


@cli.command()
@db_argument
@click.option("--type", "types", multiple=True, help="Only events of this type (repeatable).")
@click.option("--stream", help="Only events of this stream.")
@click.option("--after", type=WholeNumber(min=0), default=0, help="Only events after this seq.")
@click.option("--since", type=SINCE, help="Only events that occurred on or after WHEN: a year (2026), a month (2026-06), "
                   "a date or an ISO time.")
@until_option
@click.option("--limit", type=WholeNumber(min=1), help="At most N records.")
@click.option("--reverse", is_flag=True, help="Newest first (with --limit: the last N).")
@plugin_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON record a line (the export format).")
@click.option("--follow", "-f", is_flag=True, help="Keep printing records as any process appends them (Ctrl-C stops).")
@click.option("--interval", type=click.FloatRange(min=0.01), default=0.5, show_default=True,
              help="Seconds between looks, with --follow.")
def log(db: str, types: tuple[str, ...], stream: str | None, after: int, since: str | None,
        until: Any, limit: int | None, reverse: bool, plugins: tuple[str, ...], as_json: bool,
        follow: bool, interval: float) -> None:
    """List the records of DB, one line each: seq, date, type, what happened, stream and
    version.

    \b
    Example: gigaledger log deals.db --type investment.released --since 2026 --limit 5
    """
    if follow and (reverse or limit or until is not None):
        raise click.UsageError("--follow goes with neither --reverse, --limit nor --until")
    if since is not None and until is not None and not isinstance(until, int) \
            and since_bound(since) >= until_bound(until):
        raise click.UsageError(f"--since {since} is after --until {until}: no record can match "
                               "(did you swap them?)")
    with read_ledger(db, plugins) as book:
        try:
            book.check_types(types)
        except UsageError as error:  # a typo: a usage error (status 2), with its hint
            raise click.BadParameter(str(error), param_hint="--type") from None
        lines: Iterator[str]
        if follow:
            records = book.follow(after, types=types or None, stream=stream, interval=interval,
                                  wait=wait_for_reader)
            lines = ((next(book.export_lines(record.seq - 1, limit=1)) if as_json
                      else log_line(record)) for record in records)
        elif as_json:  # the export format, byte for byte: a line is the record's Merkle leaf
            lines = book.export_lines(after, types=types or None, stream=stream, since=since,
                                      until=until, limit=limit, reverse=reverse)
        else:
            lines = map(log_line, book.read(after, types=types or None, stream=stream,
                                            since=since, until=until, limit=limit,
                                            reverse=reverse))
        shown = 0
        try:
            for line in lines:
                click.echo(line)
                shown += 1
                if follow:
                    sys.stdout.flush()
        except (KeyboardInterrupt, Interrupted):
            if not follow:
                raise
            return  # Ctrl-C is how --follow is stopped: not an interruption of anything
        if not shown:
            explain_no_match(book, stream)


def explain_no_match(book: Ledger, stream: str | None) -> None:
    """Say why a listing printed nothing: a stream that does not exist (with a hint) is a usage
    error; a filter that simply matches nothing says so on stderr."""
    if stream is not None and not any(True for _ in book.read(stream=stream, limit=1)):
        hint = did_you_mean(stream, book.stream_names())
        raise click.BadParameter(f"no stream {stream!r} in the log{hint}", param_hint="--stream")
    note("no records match" if len(book) else "the ledger is empty")


@cli.command()
@db_argument
@click.option("--head", metavar="HASH", help="A head hash pinned earlier (gigaledger head): it must be in the chain; verify says the seq whose hash it is.")
@click.option("--checkpoint", "checkpoint_path", type=click.Path(dir_okay=False),
              help="A signed checkpoint published earlier (gigaledger checkpoint): the log must still match it.")
@click.option("--pub", "pub_path", type=click.Path(dir_okay=False),
              help="The verifier key that signed --checkpoint.")
@plugin_option
@json_option
@click.pass_context
def verify(ctx: click.Context, db: str, head: str | None, checkpoint_path: str | None,
           pub_path: str | None, plugins: tuple[str, ...], as_json: bool) -> None:
    """Check the hash chain, seq order, stream versions, snapshots, Merkle tree and kept
    checkpoints of DB. The snapshots of a plugin's projections are checked when the plugin is
    loaded (installed, or given with --plugin); verify names those it could not check.

    \b
    Example: gigaledger verify deals.db --head "$(gigaledger head deals.db | cut -d' ' -f2)"
             gigaledger verify deals.db --checkpoint published.txt --pub deals.pub
    """
    if (checkpoint_path is None) != (pub_path is None):
        raise click.UsageError("--checkpoint and --pub go together")
    if head is not None:
        try:
            head = pinned_hash(head)
        except UsageError as error:
            raise click.BadParameter(str(error).removeprefix("head: "), param_hint="--head")
    with read_ledger(db, plugins) as book:
        with progress_bar("building the Merkle tree", False) as progress:
            book.build_tree(progress)  # a ledger made before the tree gets it on first use
        try:
            found = book.verify(head)
            count, last = found
            unchecked = book.unchecked_snapshots()
            if checkpoint_path is not None and pub_path is not None:
                matched = check_published(book, checkpoint_path, pub_path)
        except VerificationError as error:
            if not as_json:
                raise
            print_json({"ok": False, "seq": error.seq, "error": str(error)})
            note(" ".join(str(error).split()))
            ctx.exit(1)
    if as_json:
        print_json({"ok": True, "records": count, "head": last,
                    **({"pinned_seq": found.pinned_seq} if head is not None else {}),
                    **({"checkpoint": matched} if checkpoint_path else {}),
                    "unchecked_snapshots": unchecked})
    else:
        click.echo(f"ok: {count} records, head {last}")
        if head is not None:
            click.echo(f"ok: {pinned(found.pinned_seq, count)}")
        if checkpoint_path is not None:
            click.echo(f"ok: {matched}")
    if unchecked:
        note(f"note: the snapshots of {', '.join(unchecked)} were not checked: no loaded plugin "
             "has that projection (give its plugin with --plugin)")


def pinned(seq: int | None, count: int) -> str:
    """Where the head that ``verify --head`` pinned is in the log, in words."""
    if not seq:
        where = "the hash before the first record"
    else:
        where = "the head" if seq == count else f"the hash of seq {seq}"
    since = count - (seq or 0)
    if not since:
        return f"the pinned head is {where} (nothing appended since)"
    extend = "the record appended since extends it" if since == 1 else (
        f"the {since} records appended since extend it")
    return f"the pinned head is {where}; {extend}"


@cli.command()
@db_argument
@json_option
def head(db: str, as_json: bool) -> None:
    """Print the last seq of DB and its hash (what verify --head pins), fast at any size.

    \b
    Example: gigaledger head deals.db      # 36 eef3ec6a…
    """
    with read_ledger(db, entry_points=False) as book:
        seq, digest = book.head()
    if as_json:
        print_json({"seq": seq, "hash": digest})
    else:
        click.echo(f"{seq} {digest}")


@cli.command()
@db_argument
@plugin_option
@json_option
def info(db: str, plugins: tuple[str, ...], as_json: bool) -> None:
    """What DB holds: records, streams, records by type, the time span, the file's size, the
    snapshots, and the types no loaded plugin knows (the plugins the log needs).

    \b
    Example: gigaledger info deals.db --plugin plugins/power_cost.py
    """
    with read_ledger(db, plugins) as book:
        facts = book.info()
    if as_json:
        print_json(facts)
        return
    span = "-"
    if facts["first_occurred_at"]:
        span = f"{facts['first_occurred_at'][:10]} to {facts['last_occurred_at'][:10]}"
    rows = [
        ["ledger", facts["path"] + (" (read-only)" if facts["readonly"] else "")],
        ["records", show(facts["records"])],
        ["head", facts["head"]],
        ["streams", show(facts["streams"])],
        ["occurred", span],
        ["file size", "-" if facts["file_bytes"] is None else f"{show(facts['file_bytes'])} bytes"],
        ["snapshots", f"{show(facts['snapshots'])}" + (
            f", newest at seq {show(facts['snapshot_seq'])}" if facts["snapshots"] else "")],
    ]
    click.echo(pairs(rows))
    if facts["by_type"]:
        click.echo()
        click.echo(table(sorted(facts["by_type"].items()), ["type", "records"]))
    unknown = facts["unknown_types"]
    click.echo()
    if unknown:
        listed = ", ".join(f"{name} ({show(count)})" for name, count in sorted(unknown.items()))
        click.echo(f"needs plugins for: {listed}; without them these records are not folded")
    else:
        click.echo("every type in the log is known to a loaded plugin")


@cli.command()
@db_argument
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write to this file, whole or not at all (default: standard output).")
@plugin_option
def export(db: str, output: str | None, plugins: tuple[str, ...]) -> None:
    """Write the whole log of DB as JSON Lines, record for record.

    \b
    Example: gigaledger export deals.db -o deals.jsonl
    """
    if output is not None and output != "-" and os.path.exists(output) and os.path.exists(db) \
            and os.path.samefile(output, db):
        raise click.BadParameter(f"{output} is the ledger itself", param_hint="--output")
    with read_ledger(db, plugins) as book:
        if output is None or output == "-":
            book.export_jsonl(sys.stdout)
        else:
            count = book.export_jsonl(output)
            click.echo(f"exported {count} records to {output}")


@cli.command()
@db_argument
@click.argument("key", metavar="SEQ|ID")
@plugin_option
@json_option
def explain(db: str, key: str, plugins: tuple[str, ...], as_json: bool) -> None:
    """Why a record is in DB: its causes and effects; for a released tranche, the commissioning
    that earned it and the agreement that allowed it.

    \b
    Example: gigaledger explain plan.db 18
    """
    with read_ledger(db, plugins) as book:
        explanation = book.explain(key)
    if as_json:
        print_json(explanation.to_json())
    else:
        click.echo(render_explanation(explanation))


@cli.command()
@db_argument
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The image to write; its suffix is the format (FILE.png, FILE.svg …).")
@click.option("--name", help="The chart to draw (default: the first one a plugin registers).")
@until_option
@click.option("--title", help="The figure's title (default: the file's name and the date).")
@plugin_option
def chart(db: str, output: str, name: str | None, until: Any, title: str | None,
          plugins: tuple[str, ...]) -> None:
    """Draw a chart of DB that a plugin provides; the built-in one shows commissioned GW by
    provider over time, planned GW, investment released and the provider mix.

    \b
    Example: gigaledger chart plan.db -o plan.png --until 2028
    """
    with read_ledger(db, plugins) as book:
        available = book.charts
        if name is not None and name not in available:
            raise click.BadParameter(
                f"no chart {name!r}{did_you_mean(name, available)}; the charts are "
                f"{', '.join(available) or 'none'}", param_hint="--name")
        path = draw(book, pick(available, name), output, until=until, title=title)
    click.echo(f"wrote {path}")
