"""One hook path: pluggy's order, keyword arguments, routing by declared event types, blame,
unknown hooks found through pluggy's API, and the trace switch."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings

from ledger import Ledger, PluginError, Rejected, UsageReported, for_types, hookimpl
from ledger.hookcalls import Hook, Implementation, PerPlugin

from .strategies import any_event


def usage(n: int = 1) -> UsageReported:
    return UsageReported(product="p", weekly_active_users=n)


class Seen:
    """A plugin that records each call of its hooks."""

    def __init__(self, name: str) -> None:
        self.__name__ = name
        self.calls: list[tuple[str, str]] = []

    @hookimpl
    @for_types("usage.reported")
    def validate_event(self, event, record):
        self.calls.append(("validate", record.type))

    @hookimpl
    @for_types("gpus.delivered")
    def derive_events(self, event):
        self.calls.append(("derive", event.type))


def test_an_implementation_is_called_for_its_declared_types_only():
    seen = Seen("seen")
    with Ledger.open(plugins=[seen], load_entrypoints=False) as book:
        book.append(usage())
        book.append(book.event_from("gpus.delivered", {"site": "s", "platform": "p", "count": 1}))
        book.append(book.event_from("platform.specified", {
            "platform": "p", "vendor": "v", "gpus_per_gigawatt_low": 1,
            "gpus_per_gigawatt_high": 2, "unit": "package"}))
    assert seen.calls == [("validate", "usage.reported"), ("derive", "gpus.delivered")]


def test_implementations_are_called_in_pluggys_order_with_the_arguments_they_declare():
    order: list[str] = []

    class First:
        __name__ = "first"

        @hookimpl(tryfirst=True)
        def validate_event(self, view, event):  # any subset, any order
            order.append(f"first {event.type} {view.seq}")

    class Last:
        __name__ = "last"

        @hookimpl(trylast=True)
        def validate_event(self, record):
            order.append(f"last {record.seq}")

    with Ledger.open(plugins=[Last(), First()], load_entrypoints=False) as book:
        book.append(usage())
    assert order == ["first usage.reported 0", "last 1"]


def test_a_failure_is_blamed_on_its_plugin_and_a_refusal_names_it():
    class Fails:
        __name__ = "fails"

        @hookimpl
        def derive_events(self, event):
            yield from ()
            raise KeyError("x")  # raised while the generator is iterated

    class Refuses:
        __name__ = "refuses"

        @hookimpl
        @for_types("usage.reported")
        def validate_event(self, event):
            if event.weekly_active_users > 5:
                raise Rejected("too many")

    with Ledger.open(plugins=[Fails()], load_entrypoints=False) as book:
        with pytest.raises(PluginError, match=r"^plugin fails: derive_events failed on "
                                               r"usage.reported: KeyError: 'x'$") as caught:
            book.append(usage())
        assert caught.value.plugin == "fails" and len(book) == 0
    with Ledger.open(plugins=[Refuses()], load_entrypoints=False) as book:
        book.append(usage(1))
        with pytest.raises(Rejected, match="^refuses: too many$"):
            book.append(usage(6))
        assert len(book) == 1


def test_for_types_is_refused_on_other_hooks_and_without_types():
    class Misplaced:
        __name__ = "misplaced"

        @hookimpl
        @for_types("usage.reported")
        def event_appended(self, record):
            pass

    with pytest.raises(PluginError, match="misplaced: @for_types applies to validate_event"):
        Ledger.open(plugins=[Misplaced()], load_entrypoints=False)
    with pytest.raises(TypeError):
        for_types()


def test_an_unknown_hook_is_found_through_pluggy_with_a_hint():
    class Misspelled:
        __name__ = "misspelled"

        @hookimpl
        def validate_events(self, event):
            pass

    with pytest.raises(PluginError, match="plugin misspelled: implements 'validate_events', "
                                          r"which is not a gigaledger hook \(did you mean "
                                          r"'validate_event'\?\)") as caught:
        Ledger.open(plugins=[Misspelled()], load_entrypoints=False)
    assert caught.value.plugin == "misspelled"


def test_per_plugin_arguments_are_made_for_each_plugin():
    calls = []
    hook = Hook("register_things", [
        Implementation("a", "register_things", lambda register: calls.append(register("x")),
                       ("register",)),
        Implementation("b", "register_things", lambda register: calls.append(register("y")),
                       ("register",)),
    ])
    hook.call(register=PerPlugin(lambda plugin: lambda thing: f"{plugin}:{thing}"))
    assert calls == ["a:x", "b:y"]


def test_the_trace_switch_prints_every_call(tmp_path):
    script = ("from ledger import Ledger, UsageReported\n"
              "with Ledger.open(load_entrypoints=False) as book:\n"
              "    book.append(UsageReported(product='p', weekly_active_users=1))\n")
    quiet = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           env={"PATH": ""}, timeout=60)
    traced = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env={"PATH": "", "GIGALEDGER_TRACE_PLUGINS": "1"}, timeout=60)
    assert quiet.returncode == traced.returncode == 0
    assert "gigaledger trace" not in quiet.stderr
    lines = traced.stderr.splitlines()
    assert any(line.startswith("gigaledger trace: catalogue.register_event_types(register=")
               for line in lines), traced.stderr
    assert any("investment.register_projections" in line for line in lines)
    assert all(" ms" in line for line in lines if line.startswith("gigaledger trace:"))


@settings(max_examples=200)
@given(event=any_event)
def test_a_built_in_route_leaves_out_only_types_its_hook_ignores(event):
    """Routing must never hide an event from a rule: each built-in implementation declared with
    @for_types does nothing (no refusal, nothing derived) for every type it leaves out."""
    with Ledger.open(load_entrypoints=False) as book:
        view = book.view
        for name in ("validate_event", "derive_events"):
            hook = book._host.hook(name)
            for implementation in hook.implementations:
                if implementation.types is None or event.type in implementation.types:
                    continue
                record = type("R", (), {"type": event.type, "seq": 1, "meta": {}})()
                result = implementation({"event": event, "record": record, "view": view})
                assert not result, (implementation, event)
