"""Shares of a total that add up exactly (largest remainder), and the Herfindahl-Hirschman index.

Used by ``provider_mix`` for its shares and by the text report for percentages; plugins are
welcome to them.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction

from .canonical import decimal_text

#: Places of the shares in the report: they sum to exactly 1.0000.
PLACES = 4


def shares(amounts: Mapping[str, Decimal], places: int = PLACES) -> dict[str, str]:
    """Each amount's share of the total, written to ``places`` places, summing to exactly 1
    (largest remainder: 1.0000 at 4 places).

    Ties in the remainders go to the larger amount, then to the name first in alphabetical order.
    Zero amounts have no share; an empty or zero total gives no shares.
    """
    positive = {name: Fraction(amount) for name, amount in amounts.items() if amount > 0}
    total = sum(positive.values(), Fraction(0))
    if not total:
        return {}
    units_total = 10**places
    units, remainders = {}, []
    for name, amount in positive.items():
        exact = amount * units_total / total
        units[name] = exact.numerator // exact.denominator
        remainders.append((exact - units[name], amount, name))
    left = units_total - sum(units.values())
    for _, _, name in sorted(remainders, key=lambda r: (-r[0], -r[1], r[2]))[:left]:
        units[name] += 1
    return {name: decimal_text(Decimal(units[name]).scaleb(-places)) for name in sorted(units)}


def hhi(amounts: Mapping[str, Decimal]) -> int | None:
    """Σ(100 × share)² over the exact shares, rounded half up; None for an empty basis."""
    positive = [Fraction(amount) for amount in amounts.values() if amount > 0]
    total = sum(positive, Fraction(0))
    if not total:
        return None
    index = sum(a * a for a in positive) * 10_000 / (total * total)
    return int(index + Fraction(1, 2))


def percentages(amounts: Mapping[str, Decimal], places: int = 1) -> dict[str, str]:
    """Each amount as a percentage of the total with ``places`` decimals (``"45.0 %"``), adding
    up to exactly 100 (largest remainder over the exact amounts)."""
    return {name: f"{Decimal(share).scaleb(2):.{places}f} %"
            for name, share in shares(amounts, places + 2).items()}
