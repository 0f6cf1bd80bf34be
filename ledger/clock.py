"""Times: business and system times are timezone-aware UTC, stored as fixed-width ISO-8601 text.

The stored form ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` sorts as text in time order, so SQLite can compare
``occurred_at`` without parsing it.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from random import getrandbits
from time import time_ns
from typing import Union

from .errors import Rejected

When = Union[datetime, date, str]

_FIRST_YEAR, _LAST_YEAR = 1900, 9998


def parse_time(value: When, field: str = "occurred_at") -> datetime:
    """A timezone-aware UTC datetime from a datetime, a date (midnight UTC) or an ISO-8601 string."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(), timezone.utc)
    elif isinstance(value, str):
        moment = _parse_iso(value.strip(), field)
    else:
        raise Rejected(f"{field}: expected a date or an ISO-8601 time, got {type(value).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise Rejected(f"{field}: {value!s} has no UTC offset; add 'Z' or '+00:00'")
    try:
        moment = moment.astimezone(timezone.utc)
    except OverflowError:
        raise Rejected(f"{field}: {value!s} is out of range") from None
    if not _FIRST_YEAR <= moment.year <= _LAST_YEAR:
        raise Rejected(f"{field}: year {moment.year} is outside {_FIRST_YEAR}-{_LAST_YEAR}")
    return moment


def _parse_iso(text: str, field: str) -> datetime:
    if len(text) == 10:
        try:
            return datetime.combine(date.fromisoformat(text), time(), timezone.utc)
        except ValueError:
            raise Rejected(f"{field}: {text!r} is not a valid date (YYYY-MM-DD)") from None
    try:
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        return datetime.fromisoformat(text)
    except ValueError:
        raise Rejected(f"{field}: {text!r} is not an ISO-8601 date or time") from None


def format_time(moment: datetime) -> str:
    """The stored text of a UTC datetime (years from 1900: always four digits)."""
    if moment.tzinfo is not timezone.utc:
        moment = moment.astimezone(timezone.utc)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


#: Histories repeat the same dates: parsing each distinct text once saves most of the work.
_CACHE_SIZE = 4096
_stored: dict[str, str] = {}
_loaded: dict[str, datetime] = {}


def stored_time(value: When, field: str = "occurred_at") -> str:
    """The stored text of any accepted time value."""
    if isinstance(value, str):
        text = _stored.get(value)
        if text is None:
            if len(_stored) >= _CACHE_SIZE:
                _stored.clear()
            text = _stored[value] = format_time(parse_time(value, field))
        return text
    return format_time(parse_time(value, field))


def loaded_times() -> dict[str, datetime]:
    """The times ``load_time`` has parsed, by text (a loop may look there before calling it)."""
    return _loaded


def load_time(text: str) -> datetime:
    """The datetime of a stored time text."""
    moment = _loaded.get(text)
    if moment is None:
        if len(_loaded) >= _CACHE_SIZE:
            _loaded.clear()
        moment = _loaded[text] = datetime.fromisoformat(text[:-1]).replace(tzinfo=timezone.utc)
    return moment


def new_id() -> str:
    """A new event id: a UUID version 7, which sorts by creation time (48 bits of milliseconds,
    a counter, then random bits), so that ids are appended to the end of the index."""
    global _last_ms, _counter
    ms = time_ns() // 1_000_000
    if ms > _last_ms:
        _last_ms, _counter = ms, 0
    else:
        _counter += 1
        if _counter > 0xFFF:  # 4,096 ids in one millisecond: borrow the next one
            _last_ms, _counter = _last_ms + 1, 0
    random = getrandbits(62)
    return "%08x-%04x-%04x-%04x-%012x" % (
        _last_ms >> 16, _last_ms & 0xFFFF, 0x7000 | _counter, 0x8000 | (random >> 48),
        random & 0xFFFFFFFFFFFF)


_last_ms = 0
_counter = 0


def now() -> datetime:
    return datetime.now(timezone.utc)


_YEAR = re.compile(r"^\d{4}$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


#: How a seq is written where a date may stand: ``#18`` or ``seq:18``.
SEQ_PREFIXES = ("#", "seq:")


def written_seq(text: str) -> int | None:
    """The seq that ``text`` writes as ``#18`` or ``seq:18`` (spaces around allowed), or None
    when it is written otherwise."""
    text = text.strip()
    for prefix in SEQ_PREFIXES:
        if text.lower().startswith(prefix) and text[len(prefix):].isdigit():
            return int(text[len(prefix):])
    return None


def since_bound(since: When) -> str:
    """The stored text of the first moment ``since`` covers: the start of a year (``"2027"``),
    a month (``"2027-06"``) or a day (midnight UTC), or a time itself."""
    if isinstance(since, str):
        text = since.strip()
        if _YEAR.match(text) or _MONTH.match(text):
            year, month = int(text[:4]), int(text[5:]) if len(text) == 7 else 1
            _period_end(text)  # refuses a year or a month out of range
            return format_time(datetime(year, month, 1, tzinfo=timezone.utc))
    return format_time(parse_time(since, "since"))


def until_bound(until: When) -> str:
    """The stored text of the first moment after ``until``: a year (``"2027"``) covers the whole
    year, a month (``"2027-06"``) the whole month and a date its whole UTC day; a time covers
    itself."""
    if isinstance(until, str):
        text = until.strip()
        if _YEAR.match(text) or _MONTH.match(text):
            return format_time(_period_end(text))
        if len(text) == 10:
            until = parse_time(text, "until").date()
    if isinstance(until, date) and not isinstance(until, datetime):
        return format_time(datetime.combine(until + timedelta(days=1), time(), timezone.utc))
    try:
        moment = parse_time(until, "until")
    except Rejected as error:
        raise Rejected(f"{error}; give a year (2027), a month (2027-06), a day (2027-06-30) "
                          "or an ISO-8601 time") from None
    return format_time(moment + timedelta(microseconds=1))


def _period_end(text: str) -> datetime:
    """The first moment after the year ``YYYY`` or the month ``YYYY-MM``."""
    year, month = int(text[:4]), int(text[5:]) if len(text) == 7 else None
    if not _FIRST_YEAR <= year <= _LAST_YEAR:
        raise Rejected(f"until: year {year} is outside {_FIRST_YEAR}-{_LAST_YEAR}")
    if month is None:
        return datetime(year + 1, 1, 1, tzinfo=timezone.utc)
    if not 1 <= month <= 12:
        raise Rejected(f"until: {text!r} is not a valid month (YYYY-MM)")
    if month == 12:
        return datetime(year + 1, 1, 1, tzinfo=timezone.utc)
    return datetime(year, month + 1, 1, tzinfo=timezone.utc)


def bound_day(bound: str) -> date:
    """The last UTC day that has a moment before ``bound`` (a stored time, as ``until_bound``
    gives): the last day a replay up to that bound covers."""
    return (load_time(bound) - timedelta(microseconds=1)).date()


def until_day(until: When) -> date:
    """The last day ``until`` covers: the day itself, the last day of a month or a year, or the
    UTC day of a time. It is the as-of date of a replay up to ``until``."""
    return bound_day(until_bound(until))
