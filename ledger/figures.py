"""Figures for people: thousands separators, dollars in billions and millions, dashes for
nothing. Plain functions on scalars, used by event summaries, reports and tables alike."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

#: A long number written as text (not one with a leading zero: ``0000…``, a code or a hash).
_NUMBER = re.compile(r"^-?[1-9]\d{4,}(\.\d+)?$")


def show(value: Any) -> str:
    """A scalar for people: long numbers with thousands separators, null as a dash."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Decimal):
        value = format(value, "f")
    text = str(value)
    if _NUMBER.match(text):
        whole, dot, fraction = text.partition(".")
        return f"{int(whole):,}{dot}{fraction}"
    return text


def money(value: Any) -> str:
    """Dollars for people: billions as ``$22.4 B``, millions as ``$500 M`` (to two decimals),
    smaller amounts in full."""
    if value is None:
        return "-"
    amount = Decimal(str(value))
    for size, suffix in ((10**9, "B"), (10**6, "M")):
        if abs(amount) >= size:
            scaled = f"{amount / size:,.2f}".rstrip("0").rstrip(".")
            return f"${scaled} {suffix}"
    return f"${show(amount)}"
