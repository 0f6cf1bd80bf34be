"""JSON Lines histories: reading lines to append or restore, and writing the log back out.

A line to append has ``type``, ``occurred_at`` and ``data``, and optionally ``id``, ``stream`` and
``meta``. A line written by ``export`` is a whole record (``seq`` … ``hash``): importing it restores
the record as it was, hash included. Blank lines are skipped; a file without any event is refused.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from json.encoder import encode_basestring as s
from typing import IO, Any

from .canonical import loads_members
from .errors import LedgerError, Rejected
from .store import COLUMNS, StoredEvent

#: A line longer than this is refused before it is parsed.
MAX_LINE = 1 << 20
EVENT_KEYS = frozenset({"type", "occurred_at", "data", "id", "stream", "meta"})
EVENT_REQUIRED = ("type", "occurred_at", "data")
#: The members of a line read exactly (numbers as Decimal); the others must be strings, whole
#: numbers or objects, which ``check_line`` checks, so a float there is refused either way.
_EXACT_MEMBERS = ("data", "meta")
#: The keys of an exported record: the columns of the events table.
RECORD_KEYS = COLUMNS


def read_lines(path: str | os.PathLike[str], *, start: int = 0, number: int = 0,
               events: int = 0) -> Iterator[tuple[int, dict[str, Any], int]]:
    """Yield ``(line number, object, bytes)`` for each non-blank line (with the bytes read since
    the previous one); a bad line raises, located ``FILE:LINE``. Reading can start at byte
    ``start``, after line ``number``, with ``events`` lines read before it."""
    name = os.fspath(path)
    if os.path.isdir(name):
        raise LedgerError(f"{name}: is a directory, not a history file")
    try:
        handle = open(name, "rb")
    except OSError as error:
        raise LedgerError(f"{name}: cannot be read: {error.strerror}") from None
    with handle:
        if start:  # (a pipe cannot seek, and is only ever read from its start)
            handle.seek(start)
        size = 0
        while raw := handle.readline(MAX_LINE + 1):
            number += 1
            size += len(raw)
            if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
                raise Rejected(f"line is longer than {MAX_LINE // (1 << 20)} MiB",
                               where=f"{name}:{number}")
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                bad = raw[error.start]
                hint = " (the file looks like UTF-16)" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
                raise Rejected(
                    f"not valid UTF-8: byte 0x{bad:02x} at column {error.start + 1}{hint}",
                    where=f"{name}:{number}",
                ) from None
            text = text.rstrip("\r\n")
            if not text.strip():
                continue
            try:
                value = loads_members(text, _EXACT_MEMBERS)
            except RecursionError:
                raise Rejected("not valid JSON: nested too deeply",
                               where=f"{name}:{number}") from None
            except ValueError as error:
                reason = getattr(error, "msg", None) or str(error)
                if "integer string conversion" in reason:
                    reason = "a number has more digits than Python reads (4300)"
                column = getattr(error, "colno", None)
                at = f" at column {column}" if column else ""
                raise Rejected(f"not valid JSON: {reason}{at}",
                               where=f"{name}:{number}") from None
            if not isinstance(value, dict):
                raise Rejected("expected a JSON object ({...}) on each line",
                               where=f"{name}:{number}")
            check_line(value, name, number)
            events += 1
            yield number, value, size
            size = 0
        if not events:
            raise Rejected("holds no events (the file is empty)", where=name)


def check_line(line: dict[str, Any], name: str, number: int) -> None:
    """Refuse a line whose keys or top-level types do not fit the format."""
    try:
        _check_line(line)
    except Rejected as error:
        raise error.located(f"{name}:{number}") from None


def _check_line(line: dict[str, Any]) -> None:
    if "hash" in line or "seq" in line:
        missing = [k for k in RECORD_KEYS if k not in line]
        extra = sorted(set(line) - set(RECORD_KEYS))
        if missing or extra:
            what = f"lacks {', '.join(missing)}" if missing else f"has unknown key {extra[0]!r}"
            raise Rejected(f"an exported record {what}")
        for key in ("seq", "version", "schema"):
            if not isinstance(line[key], int) or isinstance(line[key], bool) or line[key] < 1:
                raise Rejected(f"{key}: expected a whole number from 1")
        for key in ("id", "stream", "type", "occurred_at", "recorded_at", "hash"):
            _check_string(line, key)
    else:
        extra = sorted(set(line) - EVENT_KEYS)
        if extra:
            raise Rejected(
                f"unknown key {extra[0]!r}; a line has type, occurred_at, data and optionally "
                "id, stream, meta"
            )
        for key in EVENT_REQUIRED:
            if key not in line:
                raise Rejected(f"{key}: required")
        for key in ("type", "occurred_at", "id", "stream"):
            if key in line:
                _check_string(line, key)
    if not isinstance(line["data"], dict):
        raise Rejected("data: expected an object")
    if "meta" in line and not isinstance(line["meta"], dict):
        raise Rejected("meta: expected an object")


def _check_string(line: dict[str, Any], key: str) -> None:
    if not isinstance(line[key], str) or not line[key]:
        raise Rejected(f"{key}: expected a non-empty string")


def record_line(row: StoredEvent) -> str:
    """One exported line, from a stored row: ``data`` and ``meta`` are the stored JSON text."""
    seq, id, stream, version, type, schema, occurred, recorded, data, meta, hash = row
    return (
        f'{{"seq":{seq},"id":{s(id)},"stream":{s(stream)},"version":{version},"type":{s(type)},'
        f'"schema":{schema},"occurred_at":{s(occurred)},"recorded_at":{s(recorded)},'
        f'"data":{data},"meta":{meta},"hash":{s(hash)}}}\n'
    )


def write_lines(rows: Iterable[StoredEvent], out: IO[str]) -> int:
    """Write rows as exported lines; return how many."""
    count = 0
    for row in rows:
        out.write(record_line(row))
        count += 1
    return count
