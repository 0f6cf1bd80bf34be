"""The ``gigaledger`` command line: click commands over the Ledger API.

``base`` holds the group, the shared options and the error handling; the commands are grouped by
what they do to a ledger: ``writing`` (import, replay, append, copy, materialize, salvage),
``reading`` (log, report, verify, head, info, export, explain, chart), ``catalogue`` (types,
plugins), ``serving`` (serve: the ledger page in Datasette) and ``proving`` (keygen, checkpoint,
prove, check).

This package loads them when first asked (``entry``, or any name below), so that the console
script's own import costs nothing and Ctrl-C while the commands load (a third of a second) is
answered like Ctrl-C at any other time: one line, status 130, no traceback.
"""

from __future__ import annotations

import importlib
import sys

TYPE_CHECKING = False  # as typing.TYPE_CHECKING (true for type checkers), without importing typing

#: What a command interrupted by Ctrl-C prints, and its exit status (128 + SIGINT, as shells
#: expect).
INTERRUPTED_NOTE = "interrupted (Ctrl-C): nothing of this command was stored"
INTERRUPTED = 130
_COMMANDS = ("catalogue", "proving", "reading", "serving", "writing")  # each registers its own


def _base() -> Any:
    """The ``base`` module, with every command registered."""
    for name in _COMMANDS:
        importlib.import_module(f".{name}", __name__)
    return importlib.import_module(".base", __name__)


def entry() -> None:
    """The ``gigaledger`` console script (and ``python -m ledger``)."""
    try:
        main = _base().main
    except KeyboardInterrupt:
        sys.stderr.write(INTERRUPTED_NOTE + "\n")
        raise SystemExit(INTERRUPTED) from None
    status = main()
    _hold_ctrl_c()
    sys.exit(status)


def _hold_ctrl_c() -> None:
    """Keep Ctrl-C from here to the end of the process: the command has answered, and Python's
    shutdown cut short by ``KeyboardInterrupt`` would print "Exception ignored" and a traceback,
    or end with status 130 after a complete answer. (Blocked, SIGINT waits, and dies with the
    process; in the main thread, on systems with ``pthread_sigmask``.)"""
    import signal

    block = getattr(signal, "pthread_sigmask", None)
    if block is not None:
        block(signal.SIG_BLOCK, {signal.SIGINT})


def __getattr__(name: str) -> Any:
    if name in ("add_plugin_commands", "cli", "main"):
        return getattr(_base(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    from typing import Any

    from .base import add_plugin_commands, cli, main

__all__ = ["add_plugin_commands", "cli", "entry", "main"]
