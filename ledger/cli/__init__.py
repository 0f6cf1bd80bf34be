"""The ``gigaledger`` command line: click commands over the Ledger API.

``base`` holds the group, the shared options and the error handling; the commands are grouped by
what they do to a ledger: ``writing`` (import, replay, append, copy, materialize, salvage), ``reading``
(log, report, verify, head, info, export, explain, chart) and ``catalogue`` (types, plugins).
"""

from . import catalogue, reading, writing  # noqa: F401  (each registers its commands)
from .base import add_plugin_commands, cli, entry, main

__all__ = ["add_plugin_commands", "cli", "entry", "main"]
