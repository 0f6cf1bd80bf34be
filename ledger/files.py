"""Files the ledger writes besides its database: whole or not at all, with one-line errors.

An output file (an export, a chart, a key) is written under a temporary name in the same folder
and renamed into place once complete, so that a failure or Ctrl-C leaves no half-written file
and never damages a file that was there before.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

from .errors import LedgerError

#: The files SQLite keeps beside a database.
SIDE_FILES = ("-wal", "-shm", "-journal")


#: The errors of a write that found no space: a full disk, a file size limit, a quota.
NO_SPACE = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}
#: Free bytes below which a failed write is taken to be a full disk.
NEARLY_FULL = 1 << 20
#: How near a file size limit a file of the ledger must be for a failed write to be put down to
#: it: two of SQLite's largest pages.
PAGES_NEAR = 2 * 65536


def why(error: OSError) -> str:
    """An OSError's reason, without its errno and path."""
    if error.errno in NO_SPACE:
        return "the disk is full"
    return error.strerror or str(error)


def out_of_space(path: str | None) -> str | None:
    """Why a write near ``path`` that failed with an I/O error most likely ran out of space, or
    None: the file system is (nearly) full, or this process has a file size limit (``ulimit
    -f``), which SQLite reports as an I/O error rather than a full disk."""
    if path is None:
        return None
    try:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        if limit == resource.RLIM_INFINITY:
            limit = -1
    except (ImportError, OSError, ValueError):  # no such limit here (Windows)
        limit = -1
    if limit != -1:
        sizes = [0]
        for name in (path, *(path + suffix for suffix in SIDE_FILES)):
            try:
                sizes.append(os.path.getsize(name))
            except OSError:
                pass
        if max(sizes) + PAGES_NEAR >= limit:  # a file of the ledger reached it
            return f"the file size limit, ulimit -f, is {limit} bytes"
    try:
        facts = os.statvfs(os.path.dirname(os.path.abspath(path)))
    except (AttributeError, OSError):
        return None
    if facts.f_bavail * facts.f_frsize < NEARLY_FULL:
        return "no space is left on its file system"
    return None


@contextmanager
def replacing_path(path: str, mode: int | None = None) -> Iterator[str]:
    """A temporary path beside ``path`` to write to; it becomes ``path`` when the block ends
    without an exception, and is removed otherwise. ``mode`` sets its permissions; by default
    those of the file it replaces, or of a new file (``0o666`` less the umask), as a plain
    ``open`` would give it, not the private ones of a temporary file."""
    folder = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    if os.path.isdir(path):
        raise LedgerError(f"{path}: is a directory")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
    except FileNotFoundError:
        raise LedgerError(f"{path}: cannot be written: no folder {folder}") from None
    except OSError as error:
        raise LedgerError(f"{path}: cannot be written: {why(error)}") from None
    os.close(handle)
    try:
        os.chmod(temporary, _mode_for(path) if mode is None else mode)
        yield temporary
        os.replace(temporary, path)
    except OSError as error:
        _remove(temporary)
        raise LedgerError(f"{path}: cannot be written: {why(error)}") from None
    except BaseException:
        _remove(temporary)
        raise


def _mode_for(path: str) -> int:
    """The permissions a file written at ``path`` should have: the replaced file's, or a new
    file's under this process's umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mask = os.umask(0o022)  # read it (setting it is the only way), then put it back
        os.umask(mask)
        return 0o666 & ~mask


@contextmanager
def replacing(path: str, mode: int | None = None) -> Iterator[IO[str]]:
    """A text file to write that becomes ``path`` only once complete (see ``replacing_path``)."""
    with replacing_path(path, mode) as temporary:
        with open(temporary, "w", encoding="utf-8") as out:
            yield out


def holds_json_text(path: str) -> bool:
    """Whether a file starts as JSON text does (an object or an array): a history given where a
    ledger goes, say."""
    try:
        with open(path, "rb") as handle:
            return handle.read(64).lstrip()[:1] in (b"{", b"[")
    except OSError:
        return False


@contextmanager
def removed_on_failure(path: str | None,
                       keep: Callable[[BaseException], bool] | None = None) -> Iterator[None]:
    """Remove the ledger file ``path`` (and SQLite's side files) when the block fails and the
    file did not exist before it: a failed command creates no file (unless ``keep(error)``)."""
    existed = path is None or os.path.exists(path)
    try:
        yield
    except BaseException as error:
        if not existed and path is not None and not (keep is not None and keep(error)):
            for name in (path, *(path + suffix for suffix in SIDE_FILES)):
                _remove(name)
        raise


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
