"""The errors the ledger raises: one base class, and one class for each way an operation fails."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class LedgerError(Exception):
    """Base of every error the ledger raises on purpose.

    ``where`` says where the problem is (``FILE:LINE``, a plugin, a seq); ``str()`` puts it first,
    so the message is the one line the command line prints.
    """

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def located(self, where: str) -> LedgerError:
        """Say where the problem is, unless a more precise place is already known (or the
        message already starts with it)."""
        if self.where is None and not self.message.startswith(f"{where}: "):
            self.where = where
        return self

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class Rejected(LedgerError, ValueError):
    """The catalogue or a plugin refuses an event; nothing was appended.

    Also a ``ValueError``: an event class's validators raise it for a bad field value.
    """


class ConflictError(LedgerError):
    """A stream's version is not the one expected, or an id exists with other content."""


class VerificationError(LedgerError):
    """The hash chain, the order of seqs or a stream's versions are broken at ``seq``."""

    def __init__(self, message: str, *, seq: int, where: str | None = None) -> None:
        super().__init__(message, where=where)
        self.seq = seq


class PluginError(LedgerError):
    """A plugin failed to load, to register, or raised inside a hook; names the plugin."""

    def __init__(self, message: str, *, plugin: str, where: str | None = None) -> None:
        super().__init__(message, where=where)
        self.plugin = plugin


class StoreBusy(LedgerError):
    """Another connection held the ledger's write lock for longer than the timeout."""


class ReadOnly(LedgerError):
    """The ledger was opened read-only, or its file, folder or medium cannot be written."""


class StorageError(LedgerError):
    """The database itself failed: a full disk, an I/O error, a damaged file, a lost connection."""


class UsageError(LedgerError):
    """The API was used in a way it does not allow: a closed ledger, a ledger used from another
    thread than the one that opened it."""


def undecodable(where: str, error: Exception) -> StorageError:
    """The error for a stored record that cannot be decoded (damaged on disk: bad JSON, a bad
    time, a value of the wrong type): one line, not a bare ``ValueError`` or ``TypeError``."""
    return StorageError(f"{where}: a stored record cannot be decoded ("
                        f"{' '.join(str(error).split())}): the file may be damaged; "
                        "gigaledger verify names the first bad seq")


@contextmanager
def decoding(where: str) -> Iterator[None]:
    """Turn a ``ValueError`` or ``TypeError`` raised while decoding stored records into
    ``undecodable`` (a plugin's own exceptions are ``PluginError`` already)."""
    try:
        yield
    except LedgerError:
        raise
    except (ValueError, TypeError) as error:
        raise undecodable(where, error) from None


class PluginWarning(UserWarning):
    """A plugin failed where the ledger can go on without it (an ``event_appended`` observer or
    a subscriber after the commit, an automatic snapshot): the committed records stay."""
