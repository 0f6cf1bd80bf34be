"""``python -m ledger`` runs the ``gigaledger`` command line."""

from .cli import entry

entry()
