"""The cattrs converter and exact JSON: every event type round-trips; nothing is coerced."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import CapacityCommissioned, Event, GpusDelivered, PlatformSpecified, Rejected, fields
from ledger.default_plugins import quantities
from ledger.codec import Codec, dumps, loads
from ledger.default_plugins.catalogue import CATALOGUE

from .strategies import any_event, events

codec = Codec({cls.type: cls for cls in CATALOGUE})


@pytest.mark.parametrize("cls", CATALOGUE, ids=lambda c: c.type)
@given(data=st.data())
def test_every_event_type_round_trips(cls, data):
    event = data.draw(events(cls))
    payload = codec.unstructure(event)
    text = dumps(payload)
    assert codec.structure(cls.type, loads(text)) == event
    assert dumps(codec.unstructure(codec.structure(cls.type, loads(text)))) == text


@given(any_event)
def test_payloads_hold_no_floats_and_decimals_are_strings(event):
    def walk(value):
        assert not isinstance(value, float)
        if isinstance(value, dict):
            for item in value.values():
                walk(item)

    payload = codec.unstructure(event)
    walk(payload)
    for name, value in payload.items():
        if isinstance(getattr(event, name), Decimal):
            assert isinstance(value, str) and Decimal(value) == getattr(event, name)


@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: format(d, "f")),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
))
def test_canonical_json_is_stable(value):
    text = dumps(value)
    assert dumps(loads(text)) == text
    assert text == json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_json_numbers_are_parsed_exactly():
    assert loads('{"gigawatts": 0.1}')["gigawatts"] == Decimal("0.1")
    assert loads("1e-30") == Decimal("1e-30")
    with pytest.raises(ValueError):
        loads("NaN")


def _commissioned(**changes):
    data = {"site": "abilene", "provider": "oracle", "vendor": "nvidia",
            "platform": "gb200", "gigawatts": "0.2"}
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_commissioned(gigawatts=-1), "data.gigawatts: must be greater than 0"),
        (_commissioned(gigawatts="abc"), "data.gigawatts: 'abc' is not a number"),
        (_commissioned(gigawatts=True), "data.gigawatts: expected a number"),
        (_commissioned(gigawatts="5000"), "data.gigawatts: 5000 is beyond 1000"),
        (_commissioned(gigawatts="Infinity"), "data.gigawatts: Infinity is not a finite number"),
        (_commissioned(site=12), "data.site: expected a string"),
        (_commissioned(site=""), "data.site: must be a non-empty name"),
        (_commissioned(site="s\ud800"), "data.site: holds text that is not valid Unicode (a lone "
                                         "surrogate): 's\\ud800'"),
        (_commissioned(site="s\x07"), "data.site: contains a control character: 's\\x07'"),
        (_commissioned(sight="x"), "data: unknown field sight"),
        (_commissioned(**{"\n": 1}), "data: unknown field '\\n' (check"),
        (_commissioned(**{" site": "x"}), "data: unknown field ' site' (did you mean 'site'?)"),
        # a misspelt name of a required field: the misspelling is named, not the "missing" field
        ({"site": "a", "provider": "b", "vendor": "c", "platform": "d", "gigawats": "1"},
         "data: unknown field gigawats (did you mean 'gigawatts'?)"),
        (_commissioned(agrement="x"), "data: unknown field agrement (did you mean 'agreement'?)"),
        (_commissioned(sight="x", agrement="y"), "data: unknown field agrement, sight (check"),
        ({"site": "a", "provider": "b", "vendor": "c", "platform": "d"}, "data.gigawatts: required"),
    ],
)
def test_bad_fields_are_named(data, message):
    with pytest.raises(Rejected) as caught:
        codec.structure("capacity.commissioned", data)
    assert str(caught.value).startswith(message)


def test_whole_numbers_are_not_coerced():
    base = {"site": "s", "platform": "p", "unit": "package"}
    for bad in ("12", 12.0, True, Decimal("12")):
        with pytest.raises(Rejected, match="data.count"):
            codec.structure("gpus.delivered", {**base, "count": bad})
    assert codec.structure("gpus.delivered", {**base, "count": 12}).count == 12


def test_floats_are_refused_from_python():
    with pytest.raises(Rejected, match="gigawatts: 0.2 is a float"):
        CapacityCommissioned(site="s", provider="p", vendor="v", platform="x", gigawatts=0.2)


def test_python_accepts_ints_and_strings_for_decimals():
    event = CapacityCommissioned(site="s", provider="p", vendor="v", platform="x", gigawatts="0.2")
    assert event.gigawatts == Decimal("0.2")
    assert GpusDelivered(site="s", platform="p", count=3).unit == "package"


def test_cross_field_rules():
    with pytest.raises(Rejected, match="gpus_per_gigawatt_low"):
        PlatformSpecified(platform="p", vendor="v", gpus_per_gigawatt_low=5,
                          gpus_per_gigawatt_high=4, unit="package")


def test_unknown_type():
    with pytest.raises(Rejected, match="unknown event type 'capacity.bought'"):
        codec.structure("capacity.bought", {})


def test_dates_and_decimals_unstructure_to_text():
    event = codec.structure("capacity.planned", {**_commissioned(gigawatts="100e-2"), "due": "2026-12-31"})
    assert event.due == date(2026, 12, 31)
    assert codec.unstructure(event)["gigawatts"] == "1.00"
    assert codec.unstructure(event)["due"] == "2026-12-31"


@attrs.frozen
class Step:
    gigawatts: Decimal = quantities.gigawatts()


@attrs.frozen
class Schedule(Event):
    type = "test.schedule"
    steps: tuple[Step, ...] = attrs.field(default=())


def test_nested_lists_are_structured_strictly_and_errors_name_the_path():
    nested = Codec({"test.schedule": Schedule})
    event = nested.structure("test.schedule", {"steps": [{"gigawatts": "1"}, {"gigawatts": 2}]})
    assert event.steps == (Step(Decimal(1)), Step(Decimal(2)))
    assert nested.structure("test.schedule", loads(dumps(nested.unstructure(event)))) == event
    with pytest.raises(Rejected, match=r"^data.steps: expected a list, got the string 'ab'$"):
        nested.structure("test.schedule", {"steps": "ab"})
    with pytest.raises(Rejected, match=r"^data.steps\[1\].gigawatts: must be greater than 0, got -1$"):
        nested.structure("test.schedule", {"steps": [{"gigawatts": "1"}, {"gigawatts": "-1"}]})
    with pytest.raises(Rejected, match=r"^data.steps\[0\]: unknown field watts"):
        nested.structure("test.schedule", {"steps": [{"gigawatts": "1", "watts": 1}]})


@pytest.mark.parametrize("cls", CATALOGUE, ids=lambda c: c.type)
@given(data=st.data())
def test_stored_payloads_load_without_validation_to_the_same_event(cls, data):
    event = data.draw(events(cls))
    stored = loads(dumps(codec.unstructure(event)))
    assert codec.load(cls.type, stored, cls.schema) == event


def test_nested_payloads_load_the_same_way():
    nested = Codec({"test.schedule": Schedule})
    event = Schedule(steps=(Step(Decimal("1.5")), Step(Decimal(2))))
    assert nested.load("test.schedule", loads(dumps(nested.unstructure(event))), 1) == event
    assert nested.load("test.schedule", {}, 1) == Schedule()
