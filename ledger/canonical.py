"""Exact, canonical JSON: sorted keys, no spaces, UTF-8, Decimals as strings; numbers read exactly.

The text is what the hash chain covers, so it must never change: ``dumps`` gives the bytes the
standard library's encoder gives, and ``loads`` reads numbers with a point or an exponent as
``Decimal``, never float. orjson does both several times faster where its result is provably
the same: for values made only of strings, integers within 64 bits, booleans, None, Decimals,
dates, lists and dicts with string keys (everything the ledger stores). Anything else — a float,
a wider integer, a lone surrogate, a key that is not a string, a type orjson would write its own
way — goes through the standard library, so the result is identical either way
(``tests/test_canonical.py`` checks it on the shipped histories and on random values).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from itertools import chain
from typing import Any

try:  # a declared dependency, but the ledger stays exact (and slower) without it
    import orjson
except ImportError:  # pragma: no cover - exercised by a test that hides orjson
    orjson = None  # type: ignore[assignment]


def decimal_text(number: Decimal) -> str:
    """A Decimal written out in full (no exponent), exactly: ``Decimal("100e9")`` → ``"100000000000"``."""
    return format(number, "f")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot be written as JSON")


_standard_dumps = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_json_default
).encode


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


_standard_loads = json.JSONDecoder(parse_float=Decimal, parse_constant=_refuse_constant).decode

#: Leaf types whose orjson text is the standard library's (Decimals and dates through
#: ``_json_default`` in both). Integers are exact both ways: orjson reads an integer beyond 64
#: bits as a float (which ``_plain`` refuses) and refuses to write one (the standard library
#: then does).
_SIMPLE = frozenset({str, int, bool, type(None), Decimal, date, datetime})
_STRING_KEYS = {str}
_CONTAINERS = frozenset({dict, list, tuple})
_ALLOWED = _SIMPLE | _CONTAINERS
_SEQUENCES = frozenset({list, tuple})


def _plain(value: Any) -> bool:
    """Whether orjson writes (or has read) ``value`` exactly as the standard library does: no
    float, no type of its own, string keys only. Checked a container at a time, by the set of its
    items' types (C loops), descending only into containers."""
    kind = type(value)
    if kind is dict:
        if value and set(map(type, value)) != _STRING_KEYS:
            return False
        items: Any = value.values()
    elif kind is list or kind is tuple:
        items = value
    else:
        return kind in _SIMPLE
    kinds = set(map(type, items))
    if kinds <= _SIMPLE:
        return True
    if not kinds <= _ALLOWED:
        return False
    if kinds <= _SEQUENCES and set(map(type, chain.from_iterable(items))) <= _SIMPLE:
        return True  # rows of plain values (a snapshot's keys): one C loop, not a call per row
    return all(map(_plain, [item for item in items if type(item) in _CONTAINERS]))


if orjson is not None:
    _orjson_dumps = orjson.dumps
    _orjson_loads = orjson.loads
    _OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS

    def dumps(value: Any) -> str:
        """Canonical JSON text: sorted keys, no spaces, Decimals as strings."""
        if _plain(value):
            try:
                return _orjson_dumps(value, default=_json_default, option=_OPTIONS).decode()
            except (TypeError, ValueError):  # a lone surrogate: the standard library's text
                pass
        return _standard_dumps(value)

    def dumps_plain(value: Any) -> str:
        """``dumps`` of a value known to hold no float (the ledger's own payloads and metadata:
        strings, integers, booleans, None, Decimals, dates, lists and dicts with string keys);
        an integer beyond 64 bits or a lone surrogate still gets the standard library's text
        (orjson refuses both)."""
        try:
            return _orjson_dumps(value, default=_json_default, option=_OPTIONS).decode()
        except (TypeError, ValueError):
            return _standard_dumps(value)

    def loads(text: str | bytes) -> Any:
        """Parse JSON exactly: numbers with a point or an exponent become Decimal, never float."""
        try:
            value = _orjson_loads(text)
        except ValueError:  # the standard library says what is wrong, as it always has
            value = _FALLBACK
        if value is not _FALLBACK and _plain(value):
            return value  # no float, no integer beyond 64 bits: exactly what JSON says
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return _standard_loads(text)

    def loads_plain(text: str | bytes) -> Any:
        """``loads`` of a text the ledger wrote from a plain payload (``dumps_plain`` of strings,
        booleans and integers within 64 bits, see ``Codec.plain``): read as it is."""
        return _orjson_loads(text)

    def loads_members(text: str | bytes, members: tuple[str, ...]) -> Any:
        """``loads`` of a JSON object whose other members the caller checks itself (a history
        line: its top-level values must be strings, integers or objects, whatever reads them):
        exact in the ``members`` named, which alone are checked for floats."""
        try:
            value = _orjson_loads(text)
        except ValueError:
            value = _FALLBACK
        if type(value) is dict and all(_plain(value.get(name)) for name in members):
            return value
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return _standard_loads(text)

else:  # pragma: no cover

    def dumps(value: Any) -> str:
        """Canonical JSON text: sorted keys, no spaces, Decimals as strings."""
        return _standard_dumps(value)

    dumps_plain = dumps

    def loads_plain(text: str | bytes) -> Any:
        """``loads`` of a text the ledger wrote from a plain payload."""
        return loads(text)

    def loads_members(text: str | bytes, members: tuple[str, ...]) -> Any:
        """``loads`` of a JSON object exact in the members named."""
        return loads(text)

    def loads(text: str | bytes) -> Any:
        """Parse JSON exactly: numbers with a point or an exponent become Decimal, never float."""
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return _standard_loads(text)


_FALLBACK = object()


def standard_dumps(value: Any) -> str:
    """The standard library's canonical text (what ``dumps`` must equal)."""
    return _standard_dumps(value)


def standard_loads(text: str) -> Any:
    """The standard library's exact reading (what ``loads`` must equal)."""
    return _standard_loads(text)
