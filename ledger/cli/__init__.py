"""The ``gigaledger`` command line: click commands over the Ledger API.

``base`` holds the group, the shared options and the error handling; the commands are grouped by
what they do to a ledger: ``writing`` (import, replay, append, copy, materialize, salvage),
``reading`` (log, report, verify, head, info, export, explain, chart), ``catalogue`` (types,
plugins), ``serving`` (serve: the ledger page in Datasette) and ``proving`` (keygen, checkpoint,
prove, check).
"""

from . import catalogue, proving, reading, serving, writing  # noqa: F401  (each registers one)
from .base import add_plugin_commands, cli, entry, main

__all__ = ["add_plugin_commands", "cli", "entry", "main"]
