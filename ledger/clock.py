"""Times: business and system times are timezone-aware UTC, stored as fixed-width ISO-8601 text.

The stored form ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` sorts as text in time order, so SQLite can compare
``occurred_at`` without parsing it.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Union

from .errors import LedgerError

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
        raise LedgerError(f"{field}: expected a date or an ISO-8601 time, got {type(value).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise LedgerError(f"{field}: {value!s} has no UTC offset; add 'Z' or '+00:00'")
    try:
        moment = moment.astimezone(timezone.utc)
    except OverflowError:
        raise LedgerError(f"{field}: {value!s} is out of range") from None
    if not _FIRST_YEAR <= moment.year <= _LAST_YEAR:
        raise LedgerError(f"{field}: year {moment.year} is outside {_FIRST_YEAR}-{_LAST_YEAR}")
    return moment


def _parse_iso(text: str, field: str) -> datetime:
    if len(text) == 10:
        try:
            return datetime.combine(date.fromisoformat(text), time(), timezone.utc)
        except ValueError:
            raise LedgerError(f"{field}: {text!r} is not a valid date (YYYY-MM-DD)") from None
    try:
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        return datetime.fromisoformat(text)
    except ValueError:
        raise LedgerError(f"{field}: {text!r} is not an ISO-8601 date or time") from None


def format_time(moment: datetime) -> str:
    """The stored text of a UTC datetime."""
    m = moment.astimezone(timezone.utc)
    return (
        f"{m.year:04d}-{m.month:02d}-{m.day:02d}T"
        f"{m.hour:02d}:{m.minute:02d}:{m.second:02d}.{m.microsecond:06d}Z"
    )


def stored_time(value: When, field: str = "occurred_at") -> str:
    """The stored text of any accepted time value."""
    return format_time(parse_time(value, field))


def load_time(text: str) -> datetime:
    """The datetime of a stored time text."""
    return datetime.fromisoformat(text[:-1]).replace(tzinfo=timezone.utc)


def now() -> datetime:
    return datetime.now(timezone.utc)


def until_bound(until: When) -> str:
    """The stored text of the first moment after ``until``: a date covers its whole UTC day."""
    if isinstance(until, str) and len(until.strip()) == 10:
        until = parse_time(until, "until").date()
    if isinstance(until, date) and not isinstance(until, datetime):
        return format_time(datetime.combine(until + timedelta(days=1), time(), timezone.utc))
    return format_time(parse_time(until, "until") + timedelta(microseconds=1))
