"""Hypothesis strategies for the built-in events, drawn from each class's attrs fields."""

from __future__ import annotations

from decimal import Decimal

import attrs
from hypothesis import assume
from hypothesis import strategies as st

from ledger import Rejected
from ledger.default_plugins.catalogue import CATALOGUE, OUTCOMES, REVISED_STATUSES, UNITS

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=12)
free_text = st.text(max_size=40)


def decimals(low: str, high: str, places: int) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=Decimal(low), max_value=Decimal(high), places=places,
                       allow_nan=False, allow_infinity=False)


gigawatts = decimals("0.001", "50", 3)
usd = decimals("0.01", "200000000000", 2)

BY_NAME = {
    "gigawatts": gigawatts,
    "tranche_gigawatts": gigawatts,
    "usd": usd,
    "cap_usd": usd,
    "tranche_usd": usd,
    "term_years": decimals("0.5", "30", 1),
    "count": st.integers(1, 10**6),
    "gpus_per_gigawatt_low": st.integers(1, 10**6),
    "gpus_per_gigawatt_high": st.integers(1, 10**6),
    "weekly_active_users": st.integers(0, 10**10),
    "tranche": st.integers(1, 100),
    "unit": st.sampled_from(UNITS),
    "due": st.dates(),
    "conditional": st.booleans(),
    "condition": free_text,
    "reason": free_text,
    "note": free_text,
    "outcome": st.sampled_from(OUTCOMES),
}
STATUS = {
    "agreement.signed": st.sampled_from(("intent", "definitive")),
    "agreement.revised": st.sampled_from(REVISED_STATUSES),
}


def field_strategy(cls: type, field: attrs.Attribute) -> st.SearchStrategy:
    if field.name == "status":
        strategy = STATUS[cls.type]
    else:
        strategy = BY_NAME.get(field.name, names)
    optional = field.default is None
    return st.none() | strategy if optional else strategy


@st.composite
def events(draw: st.DrawFn, cls: type) -> object:
    """An event of ``cls`` with every field drawn; cross-field rules are respected."""
    values = {f.name: draw(field_strategy(cls, f)) for f in attrs.fields(cls)}
    try:
        return cls(**values)
    except Rejected:
        assume(False)


any_event = st.sampled_from(CATALOGUE).flatmap(events)
