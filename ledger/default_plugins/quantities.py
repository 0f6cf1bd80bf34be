"""The built-in domain's own field maker: capacity in gigawatts (money is ``ledger.fields.usd``).

Plugin authors who record capacity use it too: ``from ledger.default_plugins.quantities import
gigawatts``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs

from ..fields import decimal

#: Digits after the point: gigawatts to the watt.
GIGAWATT_PLACES = 9
#: Beyond this a figure is taken for a unit mistake (MW for GW).
MAX_GIGAWATTS = Decimal(1000)


def gigawatts(*, optional: bool = False, default: Any = attrs.NOTHING) -> Any:
    """Capacity in GW: an exact Decimal greater than 0, at most 1,000 GW, to the watt."""
    return decimal(maximum=MAX_GIGAWATTS, places=GIGAWATT_PLACES, optional=optional, default=default)
