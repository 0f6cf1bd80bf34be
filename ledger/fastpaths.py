"""Per event class, paths built once that skip cattrs where it adds nothing.

A class whose every field is made by ``ledger.fields`` (whose validators and converters insist on
their type as strictly as the converter's hooks: see ``fields.CHECKED``) is built from a payload
with the class alone, ``cls(**data)``, once its keys are known to be fields; and written back by
one ``attrgetter``, Decimals and dates as text. Any other class (nested attrs classes, lists, a
field of its own making) goes through cattrs, and so does any payload the fast path refuses, so
that the message names the field as it always has.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from operator import attrgetter
from typing import Any, Optional

import attrs

from .canonical import decimal_text
from .event import Event
from .fields import CHECKED

#: How each checked kind is written in a payload (None: as it is).
_WRITERS: dict[type, Optional[Callable[[Any], Any]]] = {
    str: None, int: None, bool: None, Decimal: decimal_text, date: date.isoformat,
}


class Slow(Exception):
    """The fast path cannot build this payload: the converter's detailed path must."""


def _base(annotation: Any) -> Any:
    """``X`` of ``X``, ``Optional[X]`` or ``X | None``."""
    arguments = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if (origin is typing.Union or getattr(origin, "__name__", "") == "UnionType") \
            and len(arguments) == 1:
        return arguments[0]
    return annotation


def checked_kinds(cls: type[Event]) -> Optional[dict[str, type]]:
    """Each field's checked kind, when every field is made by ``ledger.fields`` and annotated
    with the kind its maker checks; None otherwise."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # an annotation that does not resolve: leave the class to cattrs
        return None
    kinds = {}
    for field in attrs.fields(cls):
        kind = field.metadata.get(CHECKED)
        if kind is None or _base(hints.get(field.name)) is not kind:
            return None
        kinds[field.name] = kind
    return kinds


def structurer(cls: type[Event]) -> Optional[Callable[[Mapping[str, Any]], Event]]:
    """``build(data)``: the event of ``cls`` from its payload, or ``Slow`` when a key is not a
    field (the validators refuse bad values with ``Rejected``). None when ``cls`` is not
    eligible."""
    if checked_kinds(cls) is None:
        return None
    names = frozenset(field.name for field in attrs.fields(cls))
    new, init = object.__new__, cls.__init__  # the class alone: no metaclass to turn errors

    def build(data: Mapping[str, Any]) -> Event:
        if not names.issuperset(data):
            raise Slow
        event: Event = new(cls)
        init(event, **data)
        return event

    return build


def unstructurer(cls: type[Event]) -> Optional[Callable[[Event], dict[str, Any]]]:
    """``write(event)``: its payload, Decimals and dates as text, unset (None) fields left out;
    None when ``cls`` is not eligible. Its values are strings, integers and booleans only."""
    kinds = checked_kinds(cls)
    if kinds is None:
        return None
    names = tuple(kinds)
    writers = tuple(_WRITERS[kind] for kind in kinds.values())
    fetch = attrgetter(*names) if len(names) > 1 else (lambda event: (getattr(event, names[0]),))
    plan = tuple(zip(names, writers))

    def write(event: Event) -> dict[str, Any]:
        return {name: value if writer is None else writer(value)
                for (name, writer), value in zip(plan, fetch(event)) if value is not None}

    return write


#: One field of a loader's plan: its name, the setter of its slot, the parser of its stored value
#: (None: taken as stored), and its default (``attrs.NOTHING``: required).
LoadStep = tuple[str, Callable[[Any, Any], None], Optional[Callable[[Any], Any]], Any]


def planned_loader(cls: type[Event], plan: list[LoadStep]) -> Callable[[Mapping[str, Any]], Event]:
    """``load(data)``: an event of ``cls`` rebuilt from a payload the ledger stored, each field set
    through its slot without validation (the payload was validated when appended): one ``get``,
    at most one parse and one set per field, by a plan made once per class."""
    from .errors import Rejected

    new = object.__new__
    steps = tuple((name, setter, parse, default, f"data.{name}: required field is missing")
                  for name, setter, parse, default in plan)

    def load(data: Mapping[str, Any]) -> Event:
        event = new(cls)
        get = data.get
        for name, set_value, parse, default, missing in steps:
            value = get(name, _MISSING)
            if value is _MISSING:
                if default is attrs.NOTHING:
                    raise Rejected(missing)
                value = default.factory() if isinstance(default, attrs.Factory) else default  # type: ignore[arg-type]
            elif value is not None and parse is not None:
                value = parse(value)
            set_value(event, value)
        return event

    return load


_MISSING = object()
