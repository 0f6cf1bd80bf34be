"""Loading plugins, and every way a plugin can fail: refused with one line naming the plugin,
the ledger unchanged."""

from __future__ import annotations

import json
import re
import sys
import typing
from decimal import Decimal

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import CapacityCommissioned, Event, Ledger, LedgerError, PluginError, Rejected, fields

from ledger.canonical import decimal_text
from ledger.replay import jsonable
from ledger.testing import assert_replays_agree

from .test_hooks import Ping, commissioned, plugin


def open_with(*plugins):
    return Ledger.open(plugins=plugins, load_entrypoints=False)


def test_builtins_are_listed_first_with_their_source(run):
    listed = json.loads(run("plugins", "--json").out)["plugins"]
    assert [(p["name"], p["source"]) for p in listed[:4]] == [
        ("catalogue", "built-in"), ("investment", "built-in"),
        ("gpu_inventory", "built-in"), ("provider_mix", "built-in")]
    assert listed[1]["hooks"] == ["derive_events", "register_projections", "validate_event"]
    assert "investment" in run("plugins").out


def test_each_ledger_has_its_own_plugins():
    extension = plugin(register_event_types=lambda register: register(Ping))
    with open_with(extension) as one, open_with() as other:
        one.append(Ping(name="a"))
        with pytest.raises(Rejected, match="unknown event type 'test.ping'"):
            other.append(Ping(name="a"))
        assert one.plugin_manager is not other.plugin_manager


def test_a_module_by_name(tmp_path, monkeypatch):
    (tmp_path / "myplugin.py").write_text(
        "from ledger import hookimpl\n"
        "@hookimpl\ndef validate_event(event):\n    pass\n")
    monkeypatch.syspath_prepend(tmp_path)
    with open_with("myplugin") as book:
        (info,) = [p for p in book.plugins if p.name == "myplugin"]
        assert (info.source, info.detail, info.hooks) == ("module", "myplugin", ("validate_event",))


#: A plugin file registering one event class, ``Power``, with ``extra`` in its body.
_EVENT = """import typing
import attrs
from ledger import Event, fields, hookimpl
@attrs.frozen
class Power(Event):
    type = "power.contracted"
    site: str = fields.name()
    {extra}
@hookimpl
def register_event_types(register):
    register(Power)
"""


@pytest.mark.parametrize(("source", "message"), [
    ("import nonexistent_module_xyz\n", "cannot be imported: ModuleNotFoundError"),
    ("1 / 0\n", "cannot be imported: ZeroDivisionError: division by zero"),
    ("from ledger import hookimpl\n@hookimpl\ndef validate_event(event, recrod):\n    pass\n",
     "validate_event declares an argument 'recrod', which the hook does not pass (did you mean "
     "'record'?) (validate_event passes: event, record, view)"),
    ("from ledger import hookimpl\n@hookimpl\ndef register_event_types(register):\n    register(int)\n",
     "register_event_types got <class 'int'>, which is not a subclass of ledger.Event"),
    ("from ledger import hookimpl\n@hookimpl\ndef register_projections(register):\n    raise KeyError('x')\n",
     "register_projections failed: KeyError: 'x'"),
    ("from ledger import hookimpl\n@hookimpl(wrapper=True)\ndef validate_event(event):\n    return (yield)\n",
     "validate_event cannot be a wrapper"),
    ("from ledger import hookimpl, for_types\n@hookimpl\n@for_types('gpus.deliverd')\n"
     "def validate_event(event):\n    pass\n",
     "validate_event has @for_types('gpus.deliverd'), a type no loaded plugin registers (did you "
     "mean 'gpus.delivered'?)"),
    (_EVENT.format(extra='type = "power.contracted\\n"'),
     "Power.type must be a lowercase dotted name like 'warrant.vested', got 'power.contracted\\n'"),
    (_EVENT.format(extra='stream_template = "power/{sit}"'),
     "Power.stream_template 'power/{sit}': {sit} names no field of Power (did you mean 'site'?)"),
    (_EVENT.format(extra="mw: typing.Optional[float] = None"),
     "Power.mw is a float; amounts are exact: annotate it Decimal"),
    ("from ledger import hookimpl\nclass P:\n    name, handles = 'p', '*'\n"
     "    def initial(self): return 0\n    def summary(self, state): return state\n"
     "@hookimpl\ndef register_projections(register):\n    register(P())\n",
     "projection 'p' lacks apply (a projection has name, handles, initial(), apply(state, event, "
     "record) and summary(state))"),
])
def test_a_broken_plugin_file_is_refused_naming_it(tmp_path, run, source, message):
    path = tmp_path / "broken.py"
    path.write_text(source)
    with pytest.raises(PluginError) as caught:
        open_with(str(path))
    assert caught.value.plugin == "broken"
    assert message in str(caught.value)
    result = run("replay", path, "--plugin", path)  # the history is never read: the plugin fails first
    assert result.code == 1 and result.err.startswith(("plugin broken", f"plugin {path}"))
    assert result.err.count("\n") == 1 and "Traceback" not in result.err


def test_missing_plugin_file_and_module():
    with pytest.raises(PluginError, match="no such file"):
        open_with("/nonexistent/plugin.py")
    with pytest.raises(PluginError, match="plugin no_such_module_abc: cannot be imported"):
        open_with("no_such_module_abc")


def test_a_type_registered_twice_names_both_plugins():
    @attrs.frozen
    class Again(Event):
        type = "capacity.commissioned"
        site: str = fields.name()

    with pytest.raises(PluginError, match="event type 'capacity.commissioned' is registered already by plugin catalogue"):
        open_with(plugin(register_event_types=lambda register: register(Again)))


def test_type_names_are_lowercase_and_dotted():
    @attrs.frozen
    class Bad(Event):
        type = "Capacity Bought"

    with pytest.raises(PluginError, match="must be a lowercase dotted name"):
        open_with(plugin(register_event_types=lambda register: register(Bad)))


def test_projection_rules():
    class Projection:
        name = "investment"
        handles = ("capacity.commissioned",)
        initial = apply = summary = staticmethod(lambda *a: None)

    with pytest.raises(PluginError, match="projection 'investment' is registered already by plugin investment"):
        open_with(plugin(register_projections=lambda register: register(Projection())))
    Projection.name, Projection.handles = "mine", ("capacity.bought",)
    with pytest.raises(PluginError, match="handles 'capacity.bought', which no loaded plugin registers"):
        open_with(plugin(register_projections=lambda register: register(Projection())))
    with pytest.raises(PluginError, match="lacks initial, apply, summary"):
        open_with(plugin(register_projections=lambda register: register(type("P", (), {"name": "p", "handles": ()})())))


def test_a_plugin_name_loaded_twice(tmp_path):
    path = tmp_path / "twice.py"
    path.write_text("")
    with pytest.raises(PluginError, match="plugin twice: a plugin of that name is loaded already"):
        open_with(str(path), str(path))


def boom(event):
    raise RuntimeError("boom")


@pytest.mark.parametrize("hook", ["validate_event", "derive_events"])
def test_a_plugin_raising_on_the_append_path_rolls_back_and_is_named(hook):
    with open_with(plugin(**{hook: boom})) as book:
        with pytest.raises(PluginError, match=f"plugin testplugin: {hook} failed on capacity.commissioned: RuntimeError: boom") as caught:
            book.append(commissioned())
        assert caught.value.plugin == "testplugin"
        assert len(book) == 0 and book.verify()[0] == 0


def test_a_projection_raising_rolls_back_and_the_next_append_still_works():
    class Fragile:
        name = "fragile"
        handles = ("capacity.commissioned",)

        def initial(self):
            return []

        def apply(self, state, event, record):
            if event.site == "bad":
                raise ValueError("cannot fold")
            state.append(event.site)

        def summary(self, state):
            return state

    with open_with(plugin(register_projections=lambda register: register(Fragile()))) as book:
        book.append(commissioned("a"))
        with pytest.raises(PluginError, match=r"projection fragile failed on seq 3 \(capacity.commissioned\): ValueError: cannot fold"):
            book.append_many([commissioned("b"), commissioned("bad")])
        assert len(book) == 1
        book.append(commissioned("c"))
        assert book.view["fragile"] == ["a", "c"]
        assert book.replay()["fragile"] == ["a", "c"]


def test_derive_returning_something_else_and_derive_loops():
    with open_with(plugin(derive_events=lambda event: ["not an event"])) as book:
        with pytest.raises(PluginError, match="derive_events returned 'not an event', not an event") as caught:
            book.append(commissioned())
        assert caught.value.plugin == "testplugin"  # the plugin to blame, for programs too
    loop = plugin(derive_events=lambda event: [CapacityCommissioned(
        site=event.site, provider="p", vendor="v", platform="x", gigawatts=Decimal(1))])
    with open_with(loop) as book:
        with pytest.raises(PluginError, match="more than 16 levels deep") as caught:
            book.append(commissioned())
        assert caught.value.plugin == "testplugin"
        assert len(book) == 0


@pytest.mark.parametrize("levels, stored", [(16, 17), (17, 0)])
def test_derived_events_may_go_16_levels_deep_and_no_more(levels, stored):
    # each derived event is one level deeper than its cause: site d0 derives d1, ... d{levels}
    def deeper(event):
        depth = int(event.site[1:])
        return [commissioned(f"d{depth + 1}")] if depth < levels else []

    with open_with(plugin(derive_events=deeper)) as book:
        if stored:
            book.append(commissioned("d0"))
            assert [record.event.site for record in book.read()] == [f"d{n}" for n in range(17)]
        else:
            with pytest.raises(PluginError, match="^" + re.escape(
                    "plugin testplugin: derived events more than 16 levels deep from seq 17; "
                    "is derive_events looping?") + "$"):
                book.append(commissioned("d0"))
        assert len(book) == stored


# --- a payload whose shape changed: schema and upcast ---------------------------------------------


@attrs.frozen
class ReadingV1(Event):
    type = "test.reading"
    meter: str = fields.name()
    value: int = fields.whole()


@attrs.frozen
class ReadingV2(Event):
    """The same type after ``value`` was renamed ``kilowatts``: schema 2, and an upcast from 1."""

    type = "test.reading"
    schema = 2
    meter: str = fields.name()
    kilowatts: int = fields.whole()

    @classmethod
    def upcast(cls, schema, data):
        if schema == 1:
            data = {"meter": data["meter"], "kilowatts": data["value"]}
            return data
        return super().upcast(schema, data)


def test_a_stored_payload_of_an_older_schema_is_upcast_when_read_and_when_restored(tmp_path):
    """Stored bytes never change: a record of schema 1 is read, replayed and restored from an
    export under the class of schema 2, through its upcast; new records are of schema 2."""
    version = {1: plugin(register_event_types=lambda register: register(ReadingV1)),
               2: plugin(register_event_types=lambda register: register(ReadingV2))}
    path = tmp_path / "meters.db"
    with Ledger.open(path, plugins=[version[1]], load_entrypoints=False) as book:
        old = book.append(ReadingV1(meter="m1", value=5))
        book.export_jsonl(tmp_path / "v1.jsonl")
    with Ledger.open(path, plugins=[version[2]], load_entrypoints=False) as book:
        (read,) = book.read()
        assert (read.schema, read.data, read.event) == (1, {"meter": "m1", "value": 5},
                                                        ReadingV2(meter="m1", kilowatts=5))
        new = book.append(ReadingV2(meter="m1", kilowatts=7))
        assert (new.schema, new.version) == (2, 2)
        assert book.verify()[0] == 2
    with Ledger.open(tmp_path / "copy.db", plugins=[version[2]], load_entrypoints=False) as copy:
        result = copy.import_jsonl(tmp_path / "v1.jsonl")  # restored as stored, read as schema 2
        assert (result.appended, copy.head()[1]) == (1, old.hash)
        (restored,) = copy.read()
        assert restored.event == ReadingV2(meter="m1", kilowatts=5) and restored.schema == 1
        assert copy.verify()[0] == 1


@attrs.frozen
class PingWithOwner(Event):
    """``Ping`` as a careless plugin author changed it: a required field more, the same schema."""
    type = "test.ping"
    stream_template = "ping/{name}"
    name: str = fields.name()
    owner: str = fields.name()
    gigawatts: Decimal = Decimal(1)


def pings_counted():
    class Count:
        name = "count"
        handles = ("test.ping",)

        def initial(self):
            return []

        def apply(self, state, event, record):
            if event.name == "bad" and armed:
                raise ValueError("cannot fold")
            state.append(event.name)

        def summary(self, state):
            return state

    return Count()


armed = False


def test_a_replay_names_the_record_that_no_longer_fits_its_class(tmp_path):
    db = tmp_path / "pings.db"
    with Ledger.open(db, plugins=[plugin(register_event_types=lambda register: register(Ping))],
                     load_entrypoints=False) as book:
        book.append_many([Ping(name="a"), Ping(name="b")])
    changed = plugin(register_event_types=lambda register: register(PingWithOwner),
                     register_projections=lambda register: register(pings_counted()))
    with Ledger.open(db, plugins=[changed], load_entrypoints=False) as book:
        with pytest.raises(LedgerError, match=r"^seq 1: the stored test.ping does not fit its "
                                              r"event class: data.owner: required field is missing$"):
            book.replay(use_snapshots=False)


def test_a_projection_failing_in_a_replay_is_named_and_the_view_stops_at_the_record_before(tmp_path):
    global armed
    db = tmp_path / "pings.db"
    counted = plugin(register_event_types=lambda register: register(Ping),
                     register_projections=lambda register: register(pings_counted()))
    with Ledger.open(db, plugins=[counted], load_entrypoints=False) as book:
        book.append_many([Ping(name="a"), Ping(name="b"), Ping(name="bad"), Ping(name="c")])
        armed = True
        try:
            with pytest.raises(PluginError, match=r"^projection count failed on seq 3 \(test.ping\): "
                                                  r"ValueError: cannot fold$") as caught:
                book.replay(use_snapshots=False)
            assert caught.value.plugin == "testplugin"
            folder = book._folder
            view = folder.new_view()
            with pytest.raises(PluginError):
                folder.fold(view, book._store.rows(0))
            assert (view.seq, view.by_type, view["count"]) == (2, {"test.ping": 2}, ["a", "b"])
            assert view.occurred_text is not None
        finally:
            armed = False
        assert book.replay(use_snapshots=False)["count"] == ["a", "b", "bad", "c"]


# --- event classes made without ledger.fields: checked at each append --------------------------

@attrs.frozen
class Loose(Event):
    """Fields a plugin author may well write: nothing checks what they are given."""

    type = "test.loose"
    site: str = fields.name()
    count: int = attrs.field()
    extra: typing.Any = attrs.field(default=None)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.floats(allow_nan=True)
    | st.decimals(allow_nan=False, allow_infinity=False) | st.sets(st.integers(), max_size=2),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count=st.integers() | st.text(max_size=3) | st.booleans() | st.floats(), extra=_json_values)
def test_what_an_unchecked_class_takes_is_stored_only_if_it_reads_back_as_it_was(tmp_path, count, extra):
    """Whatever values an event class without validators is given, an append either refuses the
    event (``Rejected``, nothing stored) or stores what reads back as the very event, and whose
    export imports again to the same log."""
    loose = plugin(register_event_types=lambda register: register(Loose))
    with Ledger.open(plugins=[loose], load_entrypoints=False) as book:
        event = Loose(site="a", count=count, extra=extra)
        try:
            record = book.append(event, occurred_at="2026-01-01")
        except Rejected:
            assert len(book) == 0
            return
        (stored,) = book.read()
        assert stored.event == record.event == event
        assert [type(getattr(stored.event, f.name)) for f in attrs.fields(Loose)] == \
            [type(getattr(event, f.name)) for f in attrs.fields(Loose)]
        lines = list(book.export_lines())
        with Ledger.open(plugins=[loose], load_entrypoints=False) as again:
            history = tmp_path / "loose.jsonl"
            history.write_text("".join(lines), encoding="utf-8")
            again.import_jsonl(history)
            assert list(again.export_lines()) == lines


def test_an_unchecked_class_is_refused_with_the_field_and_why():
    loose = plugin(register_event_types=lambda register: register(Loose))
    with Ledger.open(plugins=[loose], load_entrypoints=False) as book:
        for count, extra, message in [
            ("1", None, "data.count: expected a whole number, got the string '1'"),
            (True, None, "data.count: expected a whole number, got a boolean"),
            (1, 0.1, "data.extra: 0.1 would read back from the log as Decimal('0.1')"),
            (1, float("inf"), "data: Out of range float values are not JSON compliant"),
            (1, {1}, "data: set cannot be written as JSON"),
        ]:
            with pytest.raises(Rejected, match=re.escape(message)):
                book.append(Loose(site="a", count=count, extra=extra))
        assert len(book) == 0


# --- figures in reports: exact, whatever their size; never floats ------------------------------

@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_a_report_shows_every_decimal_exactly(number):
    """``jsonable`` (what ``report --json`` prints) drops trailing zeros and nothing else, for
    any number of digits and any exponent (the default context would round to 28 digits)."""
    shown = jsonable({"x": number})["x"]
    assert Decimal(shown) == number
    assert shown == decimal_text(Decimal(shown))


class Figures:
    """A projection whose summary is whatever ``value`` is, and whose ``render`` may fail."""

    name, handles = "figures", "*"

    def __init__(self, value, render_fails=False):
        self.value, self.render_fails = value, render_fails

    def initial(self):
        return None

    def apply(self, state, event, record):
        return None

    def summary(self, state):
        return {"total": self.value}

    def render(self, summary):
        if self.render_fails:
            raise ValueError("render broke")
        return f"total {summary['total']}"


def test_a_summary_with_a_float_is_refused_naming_the_projection():
    figures = plugin(register_projections=lambda register: register(Figures(1220.5)))
    with Ledger.open(plugins=[figures], load_entrypoints=False) as book:
        with pytest.raises(PluginError, match=r"^projection figures: its summary holds the float "
                                              r"1220\.5: figures are Decimals") as caught:
            book.replay().report()
        assert caught.value.plugin == "testplugin"
        exact = Decimal("12345678901234567890.123456789")
    figures = plugin(register_projections=lambda register: register(Figures(exact)))
    with Ledger.open(plugins=[figures], load_entrypoints=False) as book:
        assert book.replay().report()["figures"] == {"total": str(exact)}


def test_a_render_or_a_chart_that_fails_is_one_line_naming_its_plugin(tmp_path, run):
    path = tmp_path / "failing.py"
    path.write_text(
        "from ledger import hookimpl\n"
        "class Figures:\n"
        "    name, handles = 'figures', '*'\n"
        "    def initial(self): return None\n"
        "    def apply(self, state, event, record): return None\n"
        "    def summary(self, state): return {}\n"
        "    def render(self, summary): raise ValueError('render broke')\n"
        "class Chart:\n"
        "    name, title, formats = 'failing', 'Failing', ('svg',)\n"
        "    def draw(self, ledger, path, *, format, until=None, title=None):\n"
        "        raise RuntimeError('draw broke')\n"
        "@hookimpl\ndef register_projections(register):\n    register(Figures())\n"
        "@hookimpl\ndef register_charts(register):\n    register(Chart())\n")
    db = tmp_path / "l.db"
    with Ledger.open(db, load_entrypoints=False) as book:
        book.append(commissioned())
    report = run("report", db, "--plugin", path)
    assert (report.code, report.out) == (1, "")
    assert report.err == "projection figures failed in render: ValueError: render broke\n"
    chart = run("chart", db, "--plugin", path, "--name", "failing", "-o", tmp_path / "c.svg")
    assert (chart.code, chart.out) == (1, "")
    assert chart.err == "chart failing failed: RuntimeError: draw broke\n"
    assert not (tmp_path / "c.svg").exists()


def test_plugin_names_people_get_wrong_are_answered_with_what_to_do(tmp_path, monkeypatch):
    """A module name for a file in the current folder, a file that is not .py, an empty name, a
    file named like a built-in plugin, an event class from a second import of a plugin file."""
    source = ("import attrs\nfrom ledger import Event, fields, hookimpl\n@attrs.frozen\n"
              "class Power(Event):\n    type = 'power.contracted'\n    site: str = fields.name()\n"
              "@hookimpl\ndef register_event_types(register):\n    register(Power)\n")
    (tmp_path / "power.py").write_text(source)
    (tmp_path / "chart.py").write_text(source)
    (tmp_path / "notes.txt").write_text("x")
    monkeypatch.chdir(tmp_path)
    for given, message in [
        ("power", "plugin power: cannot be imported: ModuleNotFoundError: No module named 'power' "
                  "(a file power.py is here: give its path, ./power.py)"),
        ("notes.txt", "plugin notes.txt: a plugin file is Python source, named .py"),
        (" ", "plugin '': an empty name; give a .py file or a module name"),
        (str(tmp_path / "chart.py"), "plugin chart: a plugin of that name is loaded already "
                                     "(built-in); a plugin file's name is its plugin's: rename "
                                     "chart.py"),
    ]:
        with pytest.raises(PluginError) as caught:
            Ledger.open(plugins=[given], load_entrypoints=False)
        assert str(caught.value) == message
    monkeypatch.syspath_prepend(tmp_path)
    import power  # the same file, imported again by its module name: another class

    monkeypatch.delitem(sys.modules, "power")  # gone again after the test

    with Ledger.open(plugins=[str(tmp_path / "power.py")], load_entrypoints=False) as book:
        with pytest.raises(Rejected, match=r"^Power is not the class registered for "
                                           r"'power.contracted' \(yours comes from module power, "
                                           r"the registered one from gigaledger_plugin_power_"):
            book.append(power.Power(site="a"))
        with pytest.raises(Rejected, match=r"^Power is an event class; append takes an event"):
            book.append(book.event_types["power.contracted"])
        assert book.append(book.event_types["power.contracted"](site="a")).seq == 1


class Tally:
    """Counts pings by name; its validator below changes the state it should only read."""

    name, handles = "tally", "test.ping"

    def initial(self):
        return {}

    def apply(self, state, event, record):
        state[event.name] = state.get(event.name, 0) + 1

    def summary(self, state):
        return dict(state)


def test_assert_replays_agree_names_where_a_validator_changed_the_view():
    def validate_event(event, view):
        view["tally"][event.name] = view["tally"].get(event.name, 0) + 1  # wrong: views are read

    meddling = plugin(register_event_types=lambda register: register(Ping),
                      register_projections=lambda register: register(Tally()),
                      validate_event=validate_event)
    with Ledger.open(plugins=[meddling], load_entrypoints=False) as book:
        book.append_many([Ping(name="a"), Ping(name="a")])
        with pytest.raises(AssertionError, match=re.escape(
                "the live view differs from a full replay at report['tally']['a']: 4, against 2 "
                "in the full replay (often a validator or hook changing view[...]")):
            assert_replays_agree(book)
    honest = plugin(register_event_types=lambda register: register(Ping),
                    register_projections=lambda register: register(Tally()))
    with Ledger.open(plugins=[honest], load_entrypoints=False) as book:
        book.append_many([Ping(name="a"), Ping(name="b"), Ping(name="a")])
        assert_replays_agree(book)


@pytest.mark.parametrize(("returned", "what"), [
    (lambda: {"type": "test.ping"}, "a dict"),
    (lambda: Ping(name="b"), "an event"),
    (lambda: "test.ping", "a str"),
])
def test_derive_events_returning_one_thing_instead_of_a_list_is_named(returned, what):
    deriving = plugin(register_event_types=lambda register: register(Ping),
                      derive_events=lambda event: returned() if event.name == "a" else None)
    with Ledger.open(plugins=[deriving], load_entrypoints=False) as book:
        with pytest.raises(PluginError, match=rf"^plugin testplugin: derive_events returned {what}; "
                                              r"it returns a list of events \(or None\)$"):
            book.append(Ping(name="a"))
        assert len(book) == 0


def test_an_apply_that_returns_what_it_did_not_mean_as_the_state_is_named():
    """``apply`` returns the new state, or None after changing it in place: a projection that
    returns something else by mistake (a count, True) loses its state, and the error it meets on
    a later record says so, instead of only the AttributeError."""
    class Careless:
        name = "careless"
        handles = ("capacity.commissioned",)

        def initial(self):
            return {}

        def apply(self, state, event, record):
            state[event.site] = state.get(event.site, 0) + 1
            return len(state)  # meant as a check, returned by mistake

        def summary(self, state):
            return dict(state)

    with open_with(plugin(register_projections=lambda register: register(Careless()))) as book:
        book.append(commissioned("a"))
        with pytest.raises(PluginError) as caught:
            book.append(commissioned("b"))
        message = str(caught.value)
        assert message.startswith("projection careless failed on seq 2 (capacity.commissioned): "
                                  "AttributeError: 'int' object has no attribute 'get'")
        assert ("(its state is now int 1, not the dict its initial() gave: apply returns the new "
                "state, or None when it changed the state in place" in message)
        assert caught.value.plugin == "testplugin"


def test_a_state_that_changes_type_on_purpose_gets_no_hint():
    """A state may start as None and become something else: no hint then."""
    class Lazy:
        name = "lazy"
        handles = ("capacity.commissioned",)

        def initial(self):
            return None

        def apply(self, state, event, record):
            if event.site == "bad":
                raise ValueError("cannot fold")
            return (state or 0) + 1

        def summary(self, state):
            return state

    with open_with(plugin(register_projections=lambda register: register(Lazy()))) as book:
        book.append(commissioned("a"))
        with pytest.raises(PluginError) as caught:
            book.append(commissioned("bad"))
        assert str(caught.value) == ("projection lazy failed on seq 2 (capacity.commissioned): "
                                     "ValueError: cannot fold")


class Miscounting:
    """A projection with a ``state_type`` (snapshots through cattrs) whose ``apply`` returns a
    count by mistake once it holds three sites: its state is replaced by an int."""

    name = "tally"
    handles = ("capacity.commissioned",)
    state_type = dict[str, Decimal]

    def initial(self):
        return {}

    def apply(self, state, event, record):
        state[event.site] = state.get(event.site, Decimal(0)) + event.gigawatts
        return len(state) if len(state) == 3 else None

    def summary(self, state):
        return {}


def test_a_snapshot_that_fails_after_the_commit_is_a_warning_and_the_records_stay(tmp_path):
    """The automatic snapshot runs after the commit: a projection whose state cannot be written
    is named in a ``PluginWarning`` and the append or import succeeds, its records stored; an
    explicit ``snapshot()`` raises ``PluginError`` naming the plugin and what happened."""
    from ledger import PluginWarning

    tally = plugin(register_projections=lambda register: register(Miscounting()))
    with Ledger.open(tmp_path / "l.db", plugins=[tally], load_entrypoints=False,
                     snapshot_every=3) as book:
        book.append_many([commissioned("a"), commissioned("b")])
        with pytest.warns(PluginWarning, match=r"^plugin testplugin: projection tally failed "
                                               r"in snapshot: "
                                               r"AttributeError: .*\(its state is now int 3, not "
                                               r"the dict its initial\(\) gave.*no snapshot was "
                                               r"saved \(the records are stored\)$"):
            book.append(commissioned("c"))
        assert len(book) == 3 and book.records_stored == 3
        with pytest.raises(PluginError, match="projection tally failed in snapshot") as caught:
            book.snapshot()
        assert caught.value.plugin == "testplugin"
        assert len(book) == 3


def test_a_new_ledger_file_that_holds_committed_records_is_never_removed(tmp_path, monkeypatch):
    """A write command that fails removes the file it created, unless records were committed
    to it (Ctrl-C, or a failure after the commit)."""
    from ledger.cli import base

    for stored, kept in ((0, False), (5, True)):
        path = tmp_path / f"new-{stored}.db"
        monkeypatch.setattr(base, "records_stored", lambda: stored)
        with pytest.raises(RuntimeError):
            with base.new_file_guard(str(path)):
                path.write_bytes(b"committed")
                raise RuntimeError("after the commit")
        assert path.exists() is kept
