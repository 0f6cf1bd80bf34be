"""Reading a history ahead in a second process, so that an import uses two cores.

Half of an import's work needs nothing of the ledger's state: reading and parsing each line,
building its event (the field validators), writing its canonical JSON, its stream, time and new
id (``Appender.prepare``). For a large file, on Linux, with two cores or more, in a process with
no other thread, a forked child does that half and sends each line, made ready, through a pipe:
a frame of JSON (orjson) per chunk of lines, each a list of texts and numbers (no pickle: nothing
but data crosses); the importing process does the rest, in order, in its write transaction (the
chain, versions, plugins' hooks, folds, the inserts). Exported records are restored by the
importing process itself, as they always were.

Nothing else changes: the child never touches the database (it ends with ``os._exit``, so nothing
of the parent's is closed or flushed twice), and whenever it stops short of the end (a line it
cannot make ready, an error, a signal), the importing process reads on from the first line it did
not get, itself, through the very code a small file takes: what it stores, and the error a bad
line gets, are the same either way.
"""

from __future__ import annotations

import gc
import itertools
import os
import signal
import stat
import sys
import threading
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any

try:  # a declared dependency; without it, every import is read in one process
    import orjson
except ImportError:  # pragma: no cover
    orjson = None  # type: ignore[assignment]

from .history import read_lines
from .scenarios import marks_scenario

#: Files smaller than this are read in the importing process (a fork costs a few milliseconds).
MIN_BYTES = 4 << 20
#: Lines sent in one frame.
CHUNK = 500
#: What an item holds: a line made ready (``prepare``'s result, a list of JSON values), or a
#: parsed line to add as it is.
READY, LINE = 0, 1
#: ``(kind, line number, bytes since the previous item, payload, marks a scenario)``.
Item = tuple[int, int, int, Any, bool]
#: A frame: its length in 8 bytes (little-endian), then a JSON array of items, or ``null``: the
#: last frame, sent after the last line of the file.
_LENGTH = 8
_END = b"null"


def forks(path: str | os.PathLike[str]) -> bool:
    """Whether a history at ``path`` is read ahead in a child process."""
    try:
        found = os.stat(path)
    except OSError:
        return False
    return (stat.S_ISREG(found.st_mode) and found.st_size >= MIN_BYTES  # not a pipe
            and sys.platform == "linux" and hasattr(os, "fork") and orjson is not None
            and threading.active_count() == 1 and _cores() > 1)


def _cores() -> int:
    """The cores this process may run on: with one, a child would only share it (100,000 lines
    on one core took 7.5–8.1 s read ahead, 7.7 s in one process)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def items(path: str | os.PathLike[str],
          prepare: Callable[[Mapping[str, Any]], Any]) -> Generator[Item, None, None]:
    """Each line of a history: made ready by ``prepare`` in a child process when the file
    ``forks``, else parsed here (``LINE``)."""
    if not forks(path):
        yield from _here(path)
        return
    try:
        reader, writer = os.pipe()
    except OSError:  # no file descriptor left: read here
        yield from _here(path)
        return
    try:
        pid = os.fork()
    except OSError:  # no process or memory left for a child: read here
        os.close(reader)
        os.close(writer)
        yield from _here(path)
        return
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        _child(path, prepare, reader, writer)
    os.close(writer)
    number = offset = events = 0
    finished = False
    try:
        with open(reader, "rb", buffering=1 << 16) as source:
            while not finished:
                head = source.read(_LENGTH)
                frame = source.read(int.from_bytes(head, "little")) if len(head) == _LENGTH else b""
                if not frame or len(frame) != int.from_bytes(head, "little"):
                    break  # the child stopped short: read on from here
                if frame == _END:
                    finished = True
                    break
                for number, size, ready, mark in orjson.loads(frame):
                    offset, events = offset + size, events + 1
                    yield READY, number, size, ready, mark
    finally:
        _end(pid)
    if not finished:
        yield from _here(path, start=offset, number=number, events=events)


def _here(path: str | os.PathLike[str], **where: int) -> Iterator[Item]:
    for number, line, size in read_lines(path, **where):
        yield LINE, number, size, line, marks_scenario(line.get("meta"))


def _end(pid: int) -> None:
    """Stop the child (done already, or no longer needed) and reap it. A child that something
    else reaped (a host program's SIGCHLD handler) is left alone: its number may be another
    process's by now."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return
    if done == 0:  # still ours, running or not yet reaped: its number cannot be reused
        os.kill(pid, signal.SIGKILL)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:  # SIGCHLD ignored: the system reaped it
            pass


def _child(path: str | os.PathLike[str], prepare: Callable[[Mapping[str, Any]], Any],
           reader: int, writer: int) -> None:  # pragma: no cover - runs in the child
    """Read, make ready, send; stop at the first line that is not simply ready (an exported
    record, a line ``prepare`` refuses, text JSON cannot carry: the importing process reads on
    from there itself) or after the last line. Never returns."""
    try:
        gc.freeze()  # the collector leaves the parent's objects alone: no pass over them all
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the importing process's
        os.close(reader)
        out = open(writer, "wb", buffering=1 << 16)
        chunk: list[Any] = []
        for number, line, size in read_lines(path):
            if "hash" in line:
                break
            try:
                chunk.append((number, size, prepare(line), marks_scenario(line.get("meta"))))
            except Exception:
                break
            if len(chunk) >= CHUNK and not _send(out, chunk):
                break
        else:
            if _send(out, chunk):
                _frame(out, _END)
        _send(out, chunk)  # after a break, the lines made ready before it (else: sent already)
        out.flush()
    except BaseException:
        pass
    finally:
        os._exit(0)


def _send(out: Any, chunk: list[Any]) -> bool:  # pragma: no cover - runs in the child
    """Write a chunk as one frame and clear it; whether all of it went. Text JSON cannot carry
    (orjson refuses a lone surrogate) stops it: the lines before that one are sent."""
    if not chunk:
        return True
    try:
        payload = orjson.dumps(chunk)
    except TypeError:
        good = list(itertools.takewhile(_encodes, chunk))
        if good:
            _frame(out, orjson.dumps(good))
        chunk.clear()
        return False
    _frame(out, payload)
    chunk.clear()
    return True


def _encodes(item: Any) -> bool:  # pragma: no cover - runs in the child
    try:
        orjson.dumps(item)
    except TypeError:
        return False
    return True


def _frame(out: Any, payload: bytes) -> None:  # pragma: no cover - runs in the child
    out.write(len(payload).to_bytes(_LENGTH, "little"))
    out.write(payload)
