"""Loading plugins, and every way a plugin can fail: refused with one line naming the plugin,
the ledger unchanged."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import attrs
import pytest

from ledger import CapacityCommissioned, Event, Ledger, LedgerError, PluginError, Rejected, fields

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


@pytest.mark.parametrize(("source", "message"), [
    ("import nonexistent_module_xyz\n", "cannot be imported: ModuleNotFoundError"),
    ("1 / 0\n", "cannot be imported: ZeroDivisionError: division by zero"),
    ("from ledger import hookimpl\n@hookimpl\ndef validate_event(event, recrod):\n    pass\n",
     "Argument(s) {'recrod'} are declared in the hookimpl but can not be found in the hookspec"),
    ("from ledger import hookimpl\n@hookimpl\ndef register_event_types(register):\n    register(int)\n",
     "register_event_types got <class 'int'>, which is not a subclass of ledger.Event"),
    ("from ledger import hookimpl\n@hookimpl\ndef register_projections(register):\n    raise KeyError('x')\n",
     "register_projections failed: KeyError: 'x'"),
    ("from ledger import hookimpl\n@hookimpl(wrapper=True)\ndef validate_event(event):\n    return (yield)\n",
     "validate_event cannot be a wrapper"),
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
