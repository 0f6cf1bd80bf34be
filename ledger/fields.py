"""Field makers for event classes: exact quantities, identifiers, choices and dates.

Every event class of the catalogue is built from these, and plugin authors use them for their own
event types. Each maker returns an ``attrs.field`` whose validator raises ``Rejected`` with the
field's name, so that a bad value is refused with a message a user can act on.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs

from .errors import Rejected

if TYPE_CHECKING:  # attrs.Attribute is generic in its stubs only
    #: An attrs field as a validator or converter sees it.
    Field: TypeAlias = attrs.Attribute[Any]
    #: An attrs validator: ``check(instance, field, value)`` raises ``Rejected``.
    Validator: TypeAlias = Callable[[Any, Field, Any], None]

#: Digits after the point of a decimal field by default, and of money (to the micro-dollar). With
#: the bounds below, sums of up to a billion figures stay within Decimal's default 28 significant
#: digits, so the arithmetic of projections is exact without changing the caller's decimal context.
PLACES = 9
USD_PLACES = 6
#: Beyond this a sum of money is taken for a unit mistake (cents for dollars).
MAX_USD = Decimal(10) ** 13
MAX_COUNT = 10**9
#: The metadata key every maker sets: the type its validator (and converter) insist on, so that
#: the codec may build such fields with the class alone (``cls(**data)``), as strictly as cattrs.
CHECKED = "gigaledger_checked"
#: Set on a whole-number field whose bounds reach beyond 64 bits (its JSON needs the standard
#: library's exact reading).
WIDE = "gigaledger_wide"
#: Set on an identifier field (``name()``): the same few values recur in every record, so a
#: replay keeps one copy of each (``sys.intern``) instead of one per record that a view holds.
NAME = "gigaledger_name"
MAX_NAME = 200


def to_decimal(value: Any, field: str | None = None) -> Decimal:
    """An exact Decimal from a Decimal, an int or a string; floats are refused, never rounded."""
    try:
        return _to_decimal(value)
    except Rejected as error:
        if field:
            error.message = f"{field}: {error.message}"
        raise


def _to_decimal(value: Any) -> Decimal:
    kind = type(value)
    if kind is str:  # the common case first: amounts are written as strings
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise Rejected(f"{value!r} is not a number") from None
        if number.is_finite():
            return number
        raise Rejected(f"{value} is not a finite number")
    if kind is Decimal and value.is_finite():
        return value  # type: ignore[no-any-return]
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, bool):
        raise Rejected("expected a number, got a boolean")
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise Rejected(f"{value!r} is not a number") from None
    elif isinstance(value, float):
        raise Rejected(
            f"{value!r} is a float, which cannot hold exact amounts; "
            "pass a Decimal, an int or a string"
        )
    else:
        raise Rejected(f"expected a number, got {type(value).__name__}")
    if not number.is_finite():
        raise Rejected(f"{value} is not a finite number")
    return number


def shown(number: Decimal) -> str:
    """A Decimal written out in full for a message, unless its exponent is absurd."""
    exponent = number.as_tuple().exponent
    return format(number, "f") if isinstance(exponent, int) and abs(exponent) <= 40 else str(number)


def _check_decimal(minimum: Decimal, inclusive: bool, maximum: Decimal,
                   places: int) -> Validator:
    above = minimum.__le__ if inclusive else minimum.__lt__

    def check(instance: Any, attribute: Field, value: Decimal | None) -> None:
        if value is None:
            return
        if type(value) is Decimal and above(value) and value <= maximum:
            exponent = value.as_tuple().exponent
            if isinstance(exponent, int) and exponent >= -places:
                return  # within bounds and places: the usual case, decided at once
        name = attribute.name
        if not isinstance(value, Decimal):
            raise Rejected(f"{name}: expected a number, got {type(value).__name__}")
        if value < minimum or (value == minimum and not inclusive):
            bound = "at least" if inclusive else "greater than"
            raise Rejected(f"{name}: must be {bound} {minimum}, got {shown(value)}")
        if value > maximum:
            raise Rejected(f"{name}: {shown(value)} is beyond {maximum}; check the unit")
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -places and value != value.quantize(
            Decimal(1).scaleb(-places)
        ):
            raise Rejected(f"{name}: {shown(value)} has more than {places} digits after the point")

    return check


def decimal(
    *,
    minimum: Decimal | int = 0,
    inclusive: bool = False,
    maximum: Decimal | int = MAX_USD,
    places: int = PLACES,
    optional: bool = False,
    default: Any = attrs.NOTHING,
) -> Any:
    """An exact ``Decimal`` (ints and strings are converted, floats refused); greater than
    ``minimum`` (or equal, with ``inclusive``), at most ``maximum``, with at most ``places``
    significant digits after the point."""
    if optional and default is attrs.NOTHING:
        default = None

    def convert(value: Any, field: Field) -> Decimal | None:
        return None if value is None and optional else to_decimal(value, field.name)

    return attrs.field(
        default=default,
        converter=attrs.Converter(convert, takes_field=True),
        validator=_check_decimal(Decimal(minimum), inclusive, Decimal(maximum), places),
        metadata={CHECKED: Decimal},
    )


def usd(*, optional: bool = False, default: Any = attrs.NOTHING) -> Any:
    """Money in US dollars: an exact Decimal greater than 0, at most $10 trillion, to the
    micro-dollar."""
    return decimal(maximum=MAX_USD, places=USD_PLACES, optional=optional, default=default)


def _check_whole(minimum: int, maximum: int) -> Validator:
    def check(instance: Any, attribute: Field, value: int | None) -> None:
        if value is None:
            return
        if not isinstance(value, int) or isinstance(value, bool):
            raise Rejected(f"{attribute.name}: expected a whole number, got {type(value).__name__}")
        if not minimum <= value <= maximum:
            raise Rejected(f"{attribute.name}: must be between {minimum} and {maximum}, got {value}")

    return check


def whole(
    *, minimum: int = 1, maximum: int = MAX_COUNT, optional: bool = False, default: Any = attrs.NOTHING
) -> Any:
    """A whole number (``int``, never a bool or a float) between ``minimum`` and ``maximum``."""
    if optional and default is attrs.NOTHING:
        default = None
    wide = not -(2**63) <= minimum <= maximum < 2**63
    return attrs.field(default=default, validator=_check_whole(minimum, maximum),
                       metadata={CHECKED: int, WIDE: wide})


def _check_name(instance: Any, attribute: Field, value: str | None) -> None:
    if type(value) is str and 0 < len(value) <= MAX_NAME and value.isprintable() \
            and not value[0].isspace() and not value[-1].isspace():
        return  # a good name, decided at once; the checks below say what is wrong
    if value is None:
        return
    name = attribute.name
    if not isinstance(value, str):
        raise Rejected(f"{name}: expected a string, got {type(value).__name__}")
    if not value or value != value.strip():
        raise Rejected(f"{name}: must be a non-empty name without surrounding spaces, got {value!r}")
    if len(value) > MAX_NAME:
        raise Rejected(f"{name}: longer than {MAX_NAME} characters")
    if any("\ud800" <= character <= "\udfff" for character in value):
        raise Rejected(f"{name}: holds text that is not valid Unicode (a lone surrogate): "
                       f"{value!r}")
    if not value.isprintable():
        raise Rejected(f"{name}: contains a control character: {value!r}")


def name(*, optional: bool = False, default: Any = attrs.NOTHING) -> Any:
    """An identifier (agreement, site, provider …): non-empty printable text of at most 200
    characters, without surrounding spaces."""
    if optional and default is attrs.NOTHING:
        default = None
    return attrs.field(default=default, validator=_check_name, metadata={CHECKED: str, NAME: True})


def _check_text(instance: Any, attribute: Field, value: str | None) -> None:
    if value is not None and not isinstance(value, str):
        raise Rejected(f"{attribute.name}: expected a string, got {type(value).__name__}")


def text(*, optional: bool = False, default: Any = attrs.NOTHING) -> Any:
    """Free text (a reason, a condition)."""
    if optional and default is attrs.NOTHING:
        default = None
    return attrs.field(default=default, validator=_check_text, metadata={CHECKED: str})


def choice(*options: str, optional: bool = False, default: Any = attrs.NOTHING) -> Any:
    """One of ``options``."""
    if optional and default is attrs.NOTHING:
        default = None

    def check(instance: Any, attribute: Field, value: str | None) -> None:
        if value is None and optional:
            return
        if value not in options:
            raise Rejected(f"{attribute.name}: must be one of {', '.join(options)}; got {value!r}")

    return attrs.field(default=default, validator=check,
                       metadata={"choices": options, CHECKED: str})


def flag(*, default: bool = False) -> Any:
    """A boolean: JSON ``true`` or ``false`` only."""

    def check(instance: Any, attribute: Field, value: bool) -> None:
        if not isinstance(value, bool):
            raise Rejected(f"{attribute.name}: expected true or false, got {value!r}")

    return attrs.field(default=default, validator=check, metadata={CHECKED: bool})


def to_day(value: Any, field: str | None = None) -> date | None:
    """A ``date`` from a date or a ``YYYY-MM-DD`` string."""
    where = f"{field}: " if field else ""
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise Rejected(f"{where}{value!r} is not a valid date (YYYY-MM-DD)") from None
    raise Rejected(f"{where}expected a date (YYYY-MM-DD), got {type(value).__name__}")


def day(*, optional: bool = False, default: Any = attrs.NOTHING) -> Any:
    """A calendar date (``YYYY-MM-DD``)."""
    if optional and default is attrs.NOTHING:
        default = None

    def check(instance: Any, attribute: Field, value: date | None) -> None:
        if value is None and optional:
            return
        if not isinstance(value, date):
            raise Rejected(f"{attribute.name}: expected a date")

    def convert(value: Any, field: Field) -> date | None:
        return to_day(value, field.name)

    return attrs.field(
        default=default,
        converter=attrs.Converter(convert, takes_field=True),
        validator=check,
        metadata={CHECKED: date},
    )
