"""The base class of every event type: a frozen attrs class with a stable type tag."""

from __future__ import annotations

import re
import string
import typing
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

import attrs

from .errors import Rejected
from .figures import show
from .hints import did_you_mean

_MISSING = re.compile(r"missing \d+ required (?:positional |keyword-only )?arguments?: (.*)")
_UNEXPECTED = re.compile(r"unexpected keyword argument '([^']*)'")


class _Fields:
    """Lets ``str.format_map`` read an event's fields by name."""

    __slots__ = ("event",)

    def __init__(self, event: Event) -> None:
        self.event = event

    def __getitem__(self, key: str) -> Any:
        return getattr(self.event, key)


def _stream_maker(template: str) -> Callable[[Any], str]:
    """A function giving ``template.format_map`` of an event's fields, compiled once: literal
    text and plain ``{field}`` names are joined directly; anything fancier is formatted."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError:
        parts = []
    if not parts or any(spec or conversion or (name is not None and not name.isidentifier())
                        for _, name, spec, conversion in parts):
        return lambda event: template.format_map(_Fields(event))
    pieces = [(literal, name) for literal, name, _, _ in parts]

    def make(event: Any) -> str:
        return "".join(literal + ("" if name is None else format(getattr(event, name)))
                       for literal, name in pieces)

    return make


def template_problem(cls: Any) -> str | None:
    """What is wrong with an event class's ``stream_template`` (a field it names that the class
    does not have, a brace out of place), or None: checked when the class is registered, so that
    a typo is not met at the first append."""
    template = getattr(cls, "stream_template", "")
    if not template:
        return None
    if not isinstance(template, str):
        return f"expected text like 'site/{{site}}', got {template!r}"
    names = [field.name for field in attrs.fields(cls)]
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as error:
        return f"{error} (a literal brace is written twice: {{{{ or }}}})"
    for _, name, _, _ in parts:
        if name is None:
            continue
        field = re.split(r"[.\[]", name, maxsplit=1)[0]
        if field not in names:
            shown = f"{{{name}}}" if name else "{}"
            return (f"{shown} names no field of {cls.__name__}{did_you_mean(field, names)} "
                    f"(fields: {', '.join(names)})")
    return None


def float_fields(cls: Any) -> list[str]:
    """The fields of an event class annotated with ``float`` (alone or inside another type):
    refused when the class is registered, since a float is never the amount meant."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # an annotation that does not resolve: the append-time check remains
        return []

    def has_float(kind: Any) -> bool:
        return kind is float or any(has_float(arg) for arg in typing.get_args(kind))

    return [field.name for field in attrs.fields(cls) if has_float(hints.get(field.name))]


#: Compiled stream templates, by template.
_STREAMS: dict[str, Callable[[Any], str]] = {}


class EventClass(type):
    """The metaclass of events: a missing or unknown field given to an event's constructor is
    refused with ``Rejected`` naming the field, like any other bad field, instead of the bare
    ``TypeError`` of the generated ``__init__``."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except TypeError as error:
            raise Rejected(_constructor_problem(cls, error)) from None


def _constructor_problem(cls: Any, error: TypeError) -> str:
    text = str(error)
    name = getattr(cls, "type", "") or cls.__name__
    missing = _MISSING.search(text)
    if missing:
        fields = re.findall(r"'([^']*)'", missing.group(1))
        plural = "s" if len(fields) > 1 else ""
        return f"{name}: required field{plural} missing: {', '.join(fields)}"
    unexpected = _UNEXPECTED.search(text)
    if unexpected:
        field = unexpected.group(1)
        hint = did_you_mean(field, [f.name for f in attrs.fields(cls)])
        shown = field if field.isprintable() and field.strip() == field and field else repr(field)
        return f"{name}: unknown field {shown}{hint}"
    if "positional argument" in text:
        return f"{name}: give the fields by name ({', '.join(f.name for f in attrs.fields(cls))})"
    return f"{name}: {text}"


@attrs.frozen
class Event(metaclass=EventClass):
    """Subclass with ``@attrs.frozen`` and set, as plain class attributes:

    - ``type``: the stable tag stored in the log (``"capacity.commissioned"``), never the class name;
    - ``stream_template``: the default stream, formatted with the event's fields
      (``"site/{site}"``); without one, the stream is the type;
    - ``schema``: the payload's shape version (1 until the shape changes; see ``upcast``).
    """

    type: ClassVar[str] = ""
    schema: ClassVar[int] = 1
    stream_template: ClassVar[str] = ""

    def summary(self) -> str:
        """One line for people (``gigaledger log``, ``explain``): by default the fields that are
        set, as ``name value``; event classes override it to read like a sentence, amounts
        included."""
        parts = []
        for field in attrs.fields(type(self)):
            value = getattr(self, field.name)
            if value is not None:
                parts.append(f"{field.name} {show(value)}")
        return ", ".join(parts)

    def default_stream(self) -> str:
        """The stream an event goes to when the caller names none."""
        if self.stream_template:
            maker = _STREAMS.get(self.stream_template)
            if maker is None:
                maker = _STREAMS[self.stream_template] = _stream_maker(self.stream_template)
            return maker(self)
        return self.type

    @classmethod
    def upcast(cls, schema: int, data: dict[str, Any]) -> dict[str, Any]:
        """Bring a payload stored under an older ``schema`` up to the current shape.

        Stored bytes never change: old events are upgraded as they are read. Override this when
        ``schema`` goes up; the default knows no older shape.
        """
        if schema != cls.schema:
            raise Rejected(
                f"{cls.type}: schema {schema} is not known (current: {cls.schema}); "
                "the event class needs an upcast for it"
            )
        return data


@attrs.frozen
class FieldInfo:
    """One field of an event type, for ``gigaledger types``."""

    name: str
    kind: str  # "decimal", "whole number", "text", "true/false", "date", "list of …", "object"
    required: bool
    default: Any = None
    choices: tuple[str, ...] | None = None


def field_infos(cls: type[Event]) -> list[FieldInfo]:
    """The fields of an event class: name, kind, whether required, default and choices."""
    hints = typing.get_type_hints(cls)
    infos = []
    for field in attrs.fields(cls):
        required = field.default is attrs.NOTHING
        default: Any = None
        if not required:
            factory = getattr(field.default, "factory", None)
            default = factory() if callable(factory) else field.default
        choices = field.metadata.get("choices")
        infos.append(FieldInfo(field.name, _kind(hints.get(field.name, Any)), required, default,
                               tuple(choices) if choices else None))
    return infos


_KINDS = {Decimal: "decimal", int: "whole number", str: "text", bool: "true/false",
          date: "date", datetime: "time"}


def _kind(annotation: Any) -> str:
    arguments = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin is typing.Union or (origin is not None and origin.__name__ == "UnionType"):
        return " or ".join(_kind(a) for a in arguments)
    if origin in (list, tuple, set, frozenset):
        return f"list of {_kind(arguments[0])}" if arguments else "list"
    if origin is dict:
        return "object"
    if annotation in _KINDS:
        return _KINDS[annotation]
    if attrs.has(annotation):
        return "object"
    return getattr(annotation, "__name__", str(annotation))
