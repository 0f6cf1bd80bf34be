"""The command group, the options commands share, opening ledgers, and the exit statuses.

Exit status: 0 done; 1 refused input, a failed verification or a ledger that cannot be used,
with one line on stderr saying where; 2 usage errors (a wrong option or argument); 130 after
Ctrl-C, with nothing of the interrupted command stored. No traceback reaches the user (set
``GIGALEDGER_DEBUG=1`` to see one).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from ..clock import SEQ_PREFIXES, since_bound, until_bound, written_seq
from ..errors import LedgerError, UsageError
from ..files import holds_json_text, removed_on_failure
from ..folding import Progress
from ..ledger import Ledger
from ..plugins import PluginHost, builtins_wanted
from ..replay import jsonable
from ..store import is_url
from . import INTERRUPTED, INTERRUPTED_NOTE

#: Seconds a command waits for another process's write lock (``GIGALEDGER_TIMEOUT``).
TIMEOUT = "GIGALEDGER_TIMEOUT"

plugin_option = click.option(
    "--plugin", "plugins", multiple=True, metavar="PATH.py|MODULE",
    help="Load a plugin from a .py file or an importable module (repeatable).",
)
db_argument = click.argument("db", type=click.Path(dir_okay=False))
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for programs.")
section_option = click.option("--section", "sections", multiple=True, metavar="NAME",
                              help="Print only this projection's section (repeatable).")
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bar.")


class UntilType(click.ParamType):
    """``--until``: a year (2027), a month (2027-06), a date, an ISO time, or a seq (#18 or
    seq:18), which becomes an int."""

    name = "WHEN"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, int):
            return value
        text = str(value).strip()
        seq = written_seq(text)
        if seq is not None:
            return seq
        if text.lower().startswith(SEQ_PREFIXES):
            self.fail(f"{text!r}: a seq is a whole number, as in #18 or seq:18", param, ctx)
        if text.isdigit() and len(text) != 4:
            self.fail(f"{text!r}: a year has four digits (2027); for the record of seq {int(text)}"
                      f", write #{int(text)}", param, ctx)
        try:
            until_bound(text)
        except LedgerError as error:
            reason = error.message.split("; give")[0]
            if reason.startswith("until: "):  # click names the option already
                reason = reason[len("until: "):]
            self.fail(f"{reason}; give a year (2027), a month (2027-06), a date (2027-06-30), an "
                      "ISO time, or a seq (#18 or seq:18)", param, ctx)
        return text


class SinceType(click.ParamType):
    """``--since``: a year (2026: from its first day), a month (2026-06), a date or an ISO
    time."""

    name = "WHEN"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        text = str(value).strip()
        try:
            since_bound(text)
        except LedgerError:
            self.fail(f"{text!r}: expected a year (2026), a month (2026-06), a date (2026-06-30) "
                      "or an ISO time", param, ctx)
        return text


UNTIL = UntilType()
SINCE = SinceType()


class WholeNumber(click.IntRange):
    """A whole number in a range, refused in plain words ("'abc' is not a whole number", where
    click says "is not a valid integer range")."""

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, str) and not value.strip().lstrip("+-").isdigit():
            self.fail(f"{value!r} is not a whole number", param, ctx)
        return super().convert(value, param, ctx)


class Seq(WholeNumber):
    """A seq, written ``18``, ``#18`` or ``seq:18`` as everywhere else on the command line."""

    name = "seq"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, str):
            written = written_seq(value)
            if written is not None:
                value = str(written)
        return super().convert(value, param, ctx)


until_option = click.option(
    "--until", type=UNTIL,
    help="Only what occurred on or before WHEN: a year (2027), a month (2027-06), a date, an ISO "
         "time, or up to a seq (#18 or seq:18).",
)


def timeout() -> float:
    """How long to wait for another process's lock: ``GIGALEDGER_TIMEOUT`` seconds, else 30."""
    text = os.environ.get(TIMEOUT, "").strip()
    if not text:
        return 30.0
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < 86_400:
        raise click.UsageError(f"{TIMEOUT}={text!r}: expected a number of seconds")
    return seconds


def builtins() -> bool:
    """Whether to load the built-in domain (``GIGALEDGER_BUILTINS=0``: a bare engine)."""
    try:
        return builtins_wanted()
    except UsageError as error:
        raise click.UsageError(str(error)) from None


#: The ledgers the running command opened to write: after Ctrl-C, what they stored says what to
#: tell (``main`` empties it).
_WRITTEN: list[Ledger] = []


def open_ledger(db: str | None, plugins: Sequence[str] = (), *, create: bool = True,
                readonly: bool | None = False) -> Ledger:
    """The ledger at ``db``; read commands pass ``readonly=None`` so that a ledger on a
    read-only file, folder or medium can still be read."""
    refuse_a_history(db)
    book = Ledger.open(db, plugins=plugins, create=create, readonly=readonly, timeout=timeout(),
                       builtins=builtins())
    if db is not None:  # a ledger in memory keeps nothing after the command
        _WRITTEN.append(book)
    return book


def records_stored() -> int:
    """The records the running command has stored (committed) so far."""
    return sum(book.records_stored for book in _WRITTEN)


def read_ledger(db: str, plugins: Sequence[str] = (), *, entry_points: bool = True) -> Ledger:
    """An existing ledger, opened for a command that only reads it (``entry_points=False``:
    without the installed plugins, for commands that need none)."""
    refuse_a_history(db)
    return Ledger.open(db, plugins=plugins, create=False, readonly=None, timeout=timeout(),
                       load_entrypoints=entry_points, builtins=builtins())


def refuse_a_history(db: str | None, usage: str | None = None) -> None:
    """A usage error for a history given where the ledger goes (the arguments swapped); with the
    command's ``usage``, the error asks whether they were swapped."""
    if db is not None and os.path.isfile(db) and holds_json_text(db):
        hint = (f" (did you swap them? {usage})" if usage else
                "; commands take the ledger first, then the history")
        raise click.UsageError(f"{db}: holds JSON text (a history?), not a ledger database{hint}")


def plugin_host(plugins: Sequence[str] = ()) -> PluginHost:
    """The plugins a command would load, without a ledger (``types``, ``plugins``)."""
    return PluginHost(plugins, builtins=builtins())


@contextmanager
def new_file_guard(db: str | None) -> Iterator[None]:
    """A write command that fails creates no ledger file; one that fails after its records were
    stored (Ctrl-C, or anything after the commit) keeps them: a file that holds committed
    records is never removed."""
    with removed_on_failure(None if db is None or is_url(db) else db,
                            keep=lambda error: records_stored() > 0):
        yield


def print_json(value: Any) -> None:
    click.echo(json.dumps(jsonable(value), indent=2, ensure_ascii=False))


@contextmanager
def progress_bar(label: str, quiet: bool) -> Iterator[Progress | None]:
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


def note(message: str) -> None:
    """A line for people on stderr (never mixed into the output a program reads)."""
    click.echo(message, err=True)


def warn_unfolded(unknown: dict[str, int]) -> None:
    """Say on stderr which records a report could not fold: their types are registered by no
    loaded plugin (nothing is dropped silently)."""
    if unknown:
        listed = ", ".join(f"{name} ({count})" for name, count in sorted(unknown.items()))
        total = sum(unknown.values())
        note(f"warning: {total} record{'s' if total != 1 else ''} of types no loaded plugin "
             f"registers {'were' if total != 1 else 'was'} not folded: {listed}; load the plugin "
             "that registers them (--plugin)")


EPILOG = """\b
Exit status: 0 done; 1 refused input, failed verification or an unusable ledger (one line on
stderr says where); 2 a usage error; 130 interrupted (Ctrl-C): nothing stored, or a line
saying how many records were stored before it and are kept (Ctrl-C stops log --follow and
serve: status 0).
Environment: GIGALEDGER_PLUGINS (entry points to load), GIGALEDGER_BUILTINS=0 (leave the
built-in domain out), GIGALEDGER_TIMEOUT (seconds to wait for another writer, default 30),
GIGALEDGER_TRACE_PLUGINS=1 (print every hook call), GIGALEDGER_DEBUG=1 (tracebacks).
Shell completion: eval "$(_GIGALEDGER_COMPLETE=bash_source gigaledger)" (zsh_source, fish_source)."""


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EPILOG)
@click.version_option(None, "-V", "--version", package_name="gigaledger", prog_name="gigaledger")
def cli() -> None:
    """gigaledger: an append-only, hash-chained ledger with plugins; its built-in domain is the
    AI compute build-out."""


def add_plugin_commands(host: PluginHost | None = None) -> None:
    """Let plugins (by default: the installed ones) add commands through ``register_commands``.
    A plugin that fails to load is reported when a command opens a ledger with it."""
    if host is None:
        try:
            host = plugin_host()
        except LedgerError:
            return
    hook = host.hook("register_commands")
    for implementation in hook.implementations:
        try:
            hook.call_one(implementation, {"cli": cli})
        except LedgerError as error:
            note(f"warning: {error}")


def _warning_line(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
    note(f"warning: {message}")


class Interrupted(BaseException):
    """Ctrl-C on the command line: raised instead of ``KeyboardInterrupt``, to which click
    answers with a blank line on stderr before the one line that says what happened."""


def _interrupted(signum: int, frame: Any) -> None:
    raise Interrupted


@contextmanager
def ctrl_c_raises_interrupted() -> Iterator[None]:
    """SIGINT raises ``Interrupted`` while the command runs, where Python would raise
    ``KeyboardInterrupt`` (left alone where SIGINT is ignored or handled otherwise)."""
    previous = signal.getsignal(signal.SIGINT)
    install = (previous is signal.default_int_handler
               and threading.current_thread() is threading.main_thread())
    if install:
        signal.signal(signal.SIGINT, _interrupted)
    try:
        yield
    finally:
        if install:
            signal.signal(signal.SIGINT, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return its exit status."""
    _WRITTEN.clear()
    try:
        with ctrl_c_raises_interrupted():
            return _main(argv)
    finally:
        _WRITTEN.clear()


def _main(argv: Sequence[str] | None) -> int:
    warnings.showwarning = _warning_line
    debug = bool(os.environ.get("GIGALEDGER_DEBUG"))
    try:
        add_plugin_commands()
        status = cli.main(args=argv, prog_name="gigaledger", standalone_mode=False)
    except click.UsageError as error:
        if isinstance(error, click.exceptions.NoArgsIsHelpError):  # no command given
            note(error.format_message())  # the help, as it is: it is the answer
            return error.exit_code
        command = error.ctx.command_path if error.ctx is not None else "gigaledger"
        message = error.format_message()
        if command.endswith(" export") and "unexpected extra argument" in message:
            message += "; export writes to a file given with -o FILE"
        note(f"{command}: {message} (see {command} --help)")
        return error.exit_code
    except click.ClickException as error:
        note(f"gigaledger: {error.format_message()}")
        return error.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt, Interrupted):
        stored = records_stored()
        kept = "1 record: it is kept" if stored == 1 else f"{stored} records: they are kept"
        note(f"interrupted (Ctrl-C) after this command had stored {kept}" if stored
             else INTERRUPTED_NOTE)
        return INTERRUPTED
    except LedgerError as error:
        if debug:
            raise
        note(" ".join(str(error).split()))
        return 1
    except BrokenPipeError:
        sys.stderr.close()
        return 0
    except SystemExit as stop:
        if type(sys.stdout).__name__.endswith("PacifyFlushWrapper"):
            return 0  # click's exit 1 when a reader (| head) closed the pipe: not a failure
        raise
    except Exception as error:
        if debug:
            raise
        note(f"gigaledger: internal error: {type(error).__name__}: {error} "
             "(set GIGALEDGER_DEBUG=1 for the traceback)")
        return 1
    return status if isinstance(status, int) else 0

