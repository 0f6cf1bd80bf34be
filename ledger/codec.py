"""The one cattrs converter: events from JSON payloads and back, strictly and exactly.

Payloads are stored as canonical JSON (``ledger.canonical``: sorted keys, no spaces, UTF-8,
Decimals as strings), so the same event always has the same bytes and the same hash.
"""

from __future__ import annotations

import decimal
import sys
import typing
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import attrs
import cattrs
from cattrs.cols import homogenous_tuple_structure_factory, is_sequence, list_structure_factory
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError

from .canonical import decimal_text, dumps, loads  # noqa: F401  (re-exported)
from .errors import Rejected
from .event import Event
from .fastpaths import planned_loader, structurer, unstructurer
from .fields import NAME, WIDE, to_day, to_decimal
from .hints import did_you_mean


def tidy(number: Decimal) -> Decimal:
    """The same value without trailing zeros, for reports: ``Decimal("10.00")`` → ``10``. Exact
    whatever its size: the context holds every digit (the default one rounds to 28)."""
    _, digits, exponent = number.as_tuple()
    if not isinstance(exponent, int):  # NaN or infinity: nothing to tidy
        return number
    exact = decimal.Context(prec=len(digits) + max(exponent, 0) + 1)
    if number == number.to_integral_value():
        return number.quantize(Decimal(1), context=exact)
    return number.normalize(exact)


def _structure_str(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise Rejected(f"expected a string, got {_json_kind(value)}")
    return value


def _structure_int(value: Any, _: type) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise Rejected(f"expected a whole number, got {_json_kind(value)}")
    return value


def _structure_bool(value: Any, _: type) -> bool:
    if not isinstance(value, bool):
        raise Rejected(f"expected true or false, got {_json_kind(value)}")
    return value


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, Decimal, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _strict_sequence(sequence_type: Any, converter: cattrs.Converter) -> Any:
    """Lists and ``tuple[X, ...]`` from JSON arrays only: a string is not a list of letters."""
    if getattr(sequence_type, "__origin__", sequence_type) is tuple:
        inner = homogenous_tuple_structure_factory(sequence_type, converter)
    else:
        inner = list_structure_factory(sequence_type, converter)

    def structure(value: Any, kind: Any) -> Any:
        if not isinstance(value, (list, tuple)):
            raise Rejected(f"expected a list, got {_json_kind(value)}")
        return inner(value, kind)

    return structure


def make_converter(detailed: bool = True) -> cattrs.Converter:
    """The strict converter: unknown fields refused, no silent coercion (``"12"`` is not 12)."""
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=detailed)
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(int, _structure_int)
    converter.register_structure_hook(bool, _structure_bool)
    converter.register_structure_hook(Decimal, lambda value, _: to_decimal(value))
    converter.register_structure_hook(date, lambda value, _: to_day(value))
    converter.register_structure_hook_factory(is_sequence, _strict_sequence)
    # None passes through: an optional field may be annotated with the plain type.
    converter.register_unstructure_hook(Decimal, lambda v: None if v is None else decimal_text(v))
    converter.register_unstructure_hook(date, lambda v: None if v is None else v.isoformat())
    return converter


def _tuple_keyed(mapping_type: Any) -> bool:
    args: tuple[Any, ...] = getattr(mapping_type, "__args__", ())
    return (getattr(mapping_type, "__origin__", None) is dict and len(args) == 2
            and getattr(args[0], "__origin__", None) is tuple)


def _of_kind(kind: type) -> Callable[[Any], bool]:
    """A predicate: whether a type is ``kind`` or a parametrised ``kind[...]``."""
    return lambda t: getattr(t, "__origin__", t) is kind


def make_state_converter() -> cattrs.Converter:
    """The converter for projection states in snapshots: the strict one, plus sets as sorted
    lists and dicts keyed by tuples as lists of rows (JSON has neither)."""
    converter = make_converter()
    def sorted_list(value: Any) -> list[Any]:
        return sorted(converter.unstructure(item) for item in value)

    for kind in (set, frozenset):
        converter.register_unstructure_hook_func(_of_kind(kind), sorted_list)

    def unstructure_rows(mapping: dict[Any, Any]) -> list[list[Any]]:
        return [[*key, converter.unstructure(value)] for key, value in mapping.items()]

    def structure_rows(mapping_type: Any) -> Any:
        key_type, value_type = mapping_type.__args__
        parts = key_type.__args__

        def structure(rows: Any, _: Any) -> dict[Any, Any]:
            return {
                tuple(converter.structure(k, t) for k, t in zip(row[:-1], parts)):
                converter.structure(row[-1], value_type)
                for row in rows
            }

        return structure

    converter.register_unstructure_hook_func(_tuple_keyed, unstructure_rows)
    converter.register_structure_hook_factory(_tuple_keyed, structure_rows)
    return converter


class Codec:
    """Turns payloads into events and back, for the event types the loaded plugins registered."""

    def __init__(self, event_types: Mapping[str, type[Event]]) -> None:
        self.types = dict(event_types)
        self.converter = make_converter()
        # The fast converter skips gathering every error; when it fails, the detailed one runs
        # again to say which field is wrong.
        self.fast = make_converter(detailed=False)
        self._fast = {name: self.fast.get_structure_hook(cls) for name, cls in self.types.items()}
        self._trusted = {name: _trusted_loader(cls, self.fast) for name, cls in self.types.items()}
        # Classes made of ledger.fields only: built and written without cattrs (fastpaths.py).
        self._build = {name: build for name, cls in self.types.items()
                       if (build := structurer(cls)) is not None}
        self._write = {cls: write for cls in self.types.values()
                       if (write := unstructurer(cls)) is not None}
        #: The types whose every field a ``ledger.fields`` maker checks: what their classes
        #: accept, their JSON reads back as. Others are checked at each append (``reads_back``).
        self.checked_types = frozenset(self._build)
        #: The types whose payloads hold only strings, booleans and 64-bit integers.
        self.plain_types = frozenset(cls.type for cls in self._write if not any(
            field.metadata.get(WIDE) for field in attrs.fields(cls)))

    def event_class(self, type_name: str) -> type[Event]:
        try:
            return self.types[type_name]
        except (KeyError, TypeError):
            raise Rejected(unknown_type(type_name, self.types)) from None

    def structure(self, type_name: str, data: Any, schema: int | None = None) -> Event:
        """The event of ``type_name`` from its JSON payload; ``Rejected`` names the bad field."""
        cls = self.event_class(type_name)
        if not isinstance(data, Mapping):
            raise Rejected(f"data: expected an object, got {_json_kind(data)}")
        if schema is not None and schema != cls.schema:
            data = cls.upcast(schema, dict(data))
        build = self._build.get(type_name)
        try:
            if build is not None:
                return build(data)
            event: Event = self._fast[type_name](data, cls)
            return event
        except Exception:
            pass
        try:
            event = self.converter.structure(data, cls)
        except Exception as error:  # cattrs gathers every field's error; we report the first
            raise Rejected(first_problem(error, "data")) from None
        return event  # pragma: no cover - the fast path accepts what the detailed one does

    def reads_back(self, event: Event, data_text: str) -> None:
        """Refuse an event whose stored payload would not read back as the same event: its class
        is not made of ``ledger.fields`` only, so nothing checked the values it was given (a
        string in an integer field, a float anywhere). What an append stores, an import and a
        replay must read as it was."""
        cls = type(event)
        try:
            again = self.structure(cls.type, loads(data_text))
        except Rejected as error:
            raise Rejected(f"{error} (as the log would read it back: {cls.__name__} took the "
                           "value without checking it)") from None
        for field in attrs.fields(cls):
            given, read = getattr(event, field.name), getattr(again, field.name)
            if not _same(given, read):
                raise Rejected(f"data.{field.name}: {given!r} would read back from the log as "
                               f"{read!r} (give it as the log stores it)")
        if again != event:  # a class comparing more than its fields
            raise Rejected(f"{cls.__name__}: the event would not read back from the log as it is")

    def load(self, type_name: str, data: Mapping[str, Any], schema: int) -> Event:
        """An event from a payload the ledger stored itself: it was validated when appended, so
        it is rebuilt without running the validators again (much faster, for replays)."""
        cls = self.types[type_name]
        if schema != cls.schema:
            return self.structure(type_name, data, schema)
        return self._trusted[type_name](data)

    def loader(self, type_name: str) -> Callable[[Mapping[str, Any]], Event]:
        """``load`` for one type at its current schema, as a function."""
        return self._trusted[type_name]

    def unstructure(self, event: Event) -> dict[str, Any]:
        """The JSON-ready payload of an event: Decimals as strings, fields that are None left out."""
        write = self._write.get(type(event))
        if write is not None:
            return write(event)
        data = self.converter.unstructure(event)
        return {key: value for key, value in data.items() if value is not None}

    def plain(self, event: Event) -> bool:
        """Whether the event's payload holds only strings, booleans and integers within 64 bits
        (so its canonical JSON needs no check for floats, and is read back as it is)."""
        return event.type in self.plain_types and type(event) is self.types.get(event.type)

    def plain_type(self, type_name: str) -> bool:
        """``plain`` for the events of a type."""
        return type_name in self.plain_types


def _same(given: Any, read: Any) -> bool:
    """Equal and of the same types all the way down: ``0.0 == Decimal("0.0")``, but a float is
    not what the log reads back."""
    if type(given) is not type(read):
        return False
    if isinstance(given, Mapping):
        return given.keys() == read.keys() and all(_same(given[k], read[k]) for k in given)
    if isinstance(given, (list, tuple)):
        return len(given) == len(read) and all(map(_same, given, read))
    return bool(given == read)


def unknown_type(type_name: object, known: Iterable[str]) -> str:
    """The message for an event type that no loaded plugin registers, with a hint."""
    hint = did_you_mean(type_name, known) if isinstance(type_name, str) else ""
    return f"unknown event type {type_name!r}{hint}; a loaded plugin must register it"


def _trusted_loader(cls: type[Event], converter: cattrs.Converter) -> Callable[[Mapping[str, Any]], Event]:
    """A function that rebuilds an event of ``cls`` from its stored payload without validating:
    Decimals and dates are parsed, other values taken as stored (or structured, when nested)."""
    hints = typing.get_type_hints(cls)
    fields = attrs.fields(cls)
    plan = []
    for field in fields:
        kind = hints.get(field.name, Any)
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        base = args[0] if typing.get_origin(kind) is typing.Union and len(args) == 1 else kind
        if base is Decimal:
            parse: Any = Decimal
        elif base is date:
            parse = date.fromisoformat
        elif base is str and field.metadata.get(NAME):
            parse = sys.intern  # one copy of each identifier, however many records hold it
        elif base in (str, int, bool):
            parse = None
        else:
            parse = (lambda hook, t: lambda value: hook(value, t))(converter.get_structure_hook(base), base)
        if field.default is attrs.NOTHING:
            default: Any = attrs.NOTHING
        elif isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            default = field.default
        else:
            default = field.default
        plan.append((field.name, _slot_setter(cls, field.name), parse, default))
    return planned_loader(cls, plan)




def _slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    """The fastest way to set a field on a new (frozen) instance: its slot's own setter, else
    ``object.__setattr__`` (which a frozen class's ``__setattr__`` does not stop)."""
    for klass in cls.__mro__:
        slot = vars(klass).get(name)
        if slot is not None:
            if type(slot).__name__ == "member_descriptor":
                return slot.__set__  # type: ignore[no-any-return]
            break
    return lambda event, value: object.__setattr__(event, name, value)


def first_problem(error: BaseException, path: str) -> str:
    """One line for the first problem in a (possibly nested) cattrs validation error."""
    if isinstance(error, ClassValidationError):
        with_notes, others = error.group_exceptions()
        for sub in others:  # a misspelt field first: it is why the right one is "missing"
            if isinstance(sub, ForbiddenExtraKeysError):
                return first_problem(sub, path)
        for sub, note in with_notes:
            return first_problem(sub, f"{path}.{note.name}")
        for sub in others:
            return first_problem(sub, path)
    if isinstance(error, IterableValidationError):
        in_lists, left = error.group_exceptions()
        for sub, item in in_lists:
            return first_problem(sub, f"{path}[{item.index!r}]")
        for sub in left:
            return first_problem(sub, path)
    if isinstance(error, ForbiddenExtraKeysError):
        names = sorted(error.extra_fields)
        extra = ", ".join(name if name.isprintable() and name.strip() == name and name
                          else repr(name) for name in names)
        fields = [field.name for field in attrs.fields(error.cl)] if attrs.has(error.cl) else []
        hint = did_you_mean(names[0], fields) if len(names) == 1 else ""
        return f"{path}: unknown field {extra}{hint or ' (check the spelling)'}"
    if isinstance(error, KeyError):
        return f"{path}: required field is missing"
    message = error.message if isinstance(error, Rejected) else str(error)
    field, sep, rest = message.partition(": ")
    if sep and field.isidentifier() and not path.endswith(f".{field}"):
        return f"{path}.{field}: {rest}"
    if sep and path.endswith(f".{field}"):
        return f"{path}: {rest}"
    return f"{path}: {message}"
