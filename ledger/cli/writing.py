"""Commands that write a ledger: import, replay, append, copy, materialize and salvage. Each
stores all of its work or none of it, and a failed command leaves no new file behind."""

from __future__ import annotations

import os
from typing import Any

import click

from ..canonical import loads
from ..errors import Rejected
from ..salvage import salvage as salvage_ledger
from ..store import is_url
from ..tables import table
from .base import (
    cli, db_argument, json_option, new_file_guard, note, open_ledger, plugin_option, print_json,
    WholeNumber, progress_bar, quiet_option, read_ledger, refuse_a_history, section_option,
    until_option, warn_unfolded,
)
from .reading import print_report

#: The first bytes of every SQLite database file.
SQLITE_HEADER = b"SQLite format 3\x00"


def is_ledger_file(path: str) -> bool:
    """Whether ``path`` is an SQLite database (a ledger, or something posing as one)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def check_histories(db: str | None, histories: tuple[str, ...], usage: str) -> None:
    """Refuse, as usage errors, arguments in the wrong places: a database given where a history
    belongs, a history where the database belongs (swapped), a folder for a history."""
    for history in histories:
        if os.path.isdir(history):
            raise click.UsageError(f"{history}: is a directory, not a history file")
        if os.path.isfile(history) and is_ledger_file(history):
            swapped = f" (did you swap them? {usage})" if db and not is_ledger_file(db) else ""
            raise click.UsageError(f"{history}: is a ledger database, not a JSON Lines history"
                                   f"{swapped}")
    refuse_a_history(db, usage)


@cli.command()
@click.argument("histories", nargs=-1, required=True, type=click.Path(dir_okay=True))
@click.option("--db", type=click.Path(dir_okay=False), help="Keep the ledger in this file (default: in memory).")
@until_option
@section_option
@plugin_option
@json_option
@quiet_option
def replay(histories: tuple[str, ...], db: str | None, until: Any, sections: tuple[str, ...],
           plugins: tuple[str, ...], as_json: bool, quiet: bool) -> None:
    """Import HISTORY files and print the report.

    \b
    Example: gigaledger replay events/nvidia-openai-plan.jsonl --until 2027
    """
    check_histories(db, histories, "gigaledger replay HISTORY... --db DB")
    with new_file_guard(db), open_ledger(db, plugins) as book:
        with progress_bar("importing", quiet) as progress:
            book.import_jsonl(*histories, progress=progress)
        print_report(book, until, sections, as_json, quiet)


@cli.command("import")
@db_argument
@click.argument("histories", nargs=-1, required=True, type=click.Path(dir_okay=True))
@plugin_option
@quiet_option
def import_(db: str, histories: tuple[str, ...], plugins: tuple[str, ...], quiet: bool) -> None:
    """Append HISTORY files to the ledger file DB, atomically: every line or none.

    \b
    Example: gigaledger import deals.db events/openai-compute-2025-2026.jsonl
    """
    check_histories(db, histories, "gigaledger import DB HISTORY...")
    with new_file_guard(db), open_ledger(db, plugins) as book, \
            progress_bar("importing", quiet) as progress:
        result = book.import_jsonl(*histories, progress=progress)
    skipped = f", {result.skipped} already present" if result.skipped else ""
    click.echo(f"imported {result.appended} records into {db}{skipped}; head is seq {result.head}")


def json_object(option: str, text: str) -> dict[str, Any]:
    """The JSON object given to an option; refused input (exit 1) when it is not one."""
    try:
        value = loads(text)
    except ValueError as error:
        raise Rejected(f"{option}: not valid JSON: {getattr(error, 'msg', error)}") from None
    if not isinstance(value, dict):
        raise Rejected(f"{option}: expected a JSON object ({{...}})")
    return value


@cli.command()
@db_argument
@click.argument("type_name", metavar="TYPE")
@click.option("--data", required=True, help="The payload as a JSON object.")
@click.option("--occurred-at", help="When it happened (date or ISO time; default: now).")
@click.option("--expect-version", type=WholeNumber(min=0),
              help="Refuse unless the stream is at this version (0: new).")
@click.option("--id", "event_id", help="The event's id (an idempotency key; default: a new id).")
@click.option("--stream", help="The stream (default: by type).")
@click.option("--meta", help="Metadata as a JSON object (source, correlation_id …).")
@plugin_option
@json_option
def append(db: str, type_name: str, data: str, occurred_at: str | None, expect_version: int | None,
           event_id: str | None, stream: str | None, meta: str | None,
           plugins: tuple[str, ...], as_json: bool) -> None:
    """Append one event of TYPE to DB.

    \b
    Example: gigaledger append deals.db usage.reported --occurred-at 2026-10-06 \\
               --data '{"product": "chatgpt", "weekly_active_users": 800000000}'
    """
    payload = json_object("--data", data)
    extra = json_object("--meta", meta) if meta is not None else None
    made = not is_url(db) and not os.path.lexists(db)
    with new_file_guard(db), open_ledger(db, plugins) as book:
        event = book.event_from(type_name, payload)
        before = len(book)
        record = book.append(event, occurred_at=occurred_at, stream=stream,
                             expected_version=expect_version, id=event_id, meta=extra)
        present = len(book) == before  # the same id with the same content: nothing stored
    if made:  # a misspelt ledger name would otherwise go unnoticed
        note(f"note: {db} did not exist: it is a new ledger")
    if present:
        note(f"note: id {event_id!r} is stored already with this content (seq {record.seq}): "
             "nothing new was appended")
    ahead = (record.occurred_at - record.recorded_at).days
    if not present and ahead >= 1 and record.meta.get("scenario") is not True:  # a typo, often
        note(f"warning: seq {record.seq} is dated {record.occurred_at.date()}, {ahead:,} days "
             "after it was recorded (a typo?): the report of the whole log now stands at that "
             "date; an event assumed, not reported, is marked --meta '{\"scenario\": true}'")
    if as_json:
        print_json(record.to_json())
    else:
        click.echo(f"seq {record.seq}: {record.type} on {record.stream} v{record.version} "
                   f"({record.hash[:12]})")


@cli.command()
@click.argument("source", metavar="SRC")
@click.argument("target", metavar="DST")
@plugin_option
@quiet_option
def copy(source: str, target: str, plugins: tuple[str, ...], quiet: bool) -> None:
    """Copy the ledger SRC into DST, a new or empty ledger: each a SQLite file or a
    postgresql:// URL. Record for record, hashes included; both ends are verified.

    \b
    Example: gigaledger copy deals.db postgresql://user@db.example/deals
    """
    with read_ledger(source, plugins) as book, new_file_guard(target), \
            open_ledger(target, plugins) as destination:
        with progress_bar("copying", quiet) as progress:
            count, head = book.copy_to(destination, progress=progress)
        where = destination.path
    click.echo(f"copied {count} records to {where}; verified, head {head}")


@cli.command()
@db_argument
@plugin_option
@json_option
def materialize(db: str, plugins: tuple[str, ...], as_json: bool) -> None:
    """Write the projections of DB as plain tables in DB (for Datasette or SQL), replacing the
    previous ones at once.

    \b
    Example: gigaledger materialize deals.db && datasette deals.db
    """
    with open_ledger(db, plugins, create=False) as book:
        counts = book.materialize()
        seq = book.head()[0]
        warn_unfolded(book.view.unknown_types)
    if as_json:
        print_json({"seq": seq, "tables": counts})
    else:
        click.echo(table(counts.items(), ["table", "rows"]))
        click.echo(f"materialized {len(counts)} tables in {db} as of seq {seq}")


@cli.command()
@click.argument("damaged", metavar="BAD.db", type=click.Path(dir_okay=False))
@click.argument("target", metavar="NEW.db", type=click.Path(dir_okay=False))
def salvage(damaged: str, target: str) -> None:
    """Copy the longest prefix of BAD.db's records that still verifies into NEW.db, a new
    ledger (never an existing file), and say how many were saved and where the damage starts.

    \b
    Example: gigaledger salvage deals.db deals-saved.db && gigaledger verify deals-saved.db
    """
    result = salvage_ledger(damaged, target)
    click.echo(result.line(target))
