"""Nothing silent: a report never drops a record. For logs written with one set of plugins and
read with another, every record is either folded (its type is registered, so projections see
its event) or counted, by type, in ``as_of.unknown_types`` and in the command line's warning;
through snapshots too."""

from __future__ import annotations

from collections import Counter

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import Event, Ledger, UsageReported, fields, hookimpl

PLUGINS = ("alpha", "beta", "gamma")


def noted(name: str) -> type[Event]:
    @attrs.frozen
    class Noted(Event):
        type = f"{name}.noted"
        what: str = fields.name()

    Noted.__name__ = f"{name.title()}Noted"
    return Noted


EVENTS = {name: noted(name) for name in PLUGINS}


def plugin(name: str) -> object:
    class Plugin:
        @hookimpl
        def register_event_types(self, register):
            register(EVENTS[name])

    Plugin.__name__ = name
    return Plugin()


class Counting:
    """A projection over every record: how many it saw with an event, and without one."""

    name = "counting"
    handles = "*"
    state_type = dict[str, int]

    def initial(self) -> dict[str, int]:
        return {"decoded": 0, "undecoded": 0}

    def apply(self, state, event, record):
        state["decoded" if event is not None else "undecoded"] += 1

    def summary(self, state):
        return dict(state)


class CountingPlugin:
    __name__ = "counting"

    @hookimpl
    def register_projections(self, register):
        register(Counting())


def open_with(path, names, every=0):
    return Ledger.open(path, plugins=[plugin(n) for n in sorted(names)] + [CountingPlugin()],
                       load_entrypoints=False, snapshot_every=every)


@settings(max_examples=60)
@given(
    writer=st.sets(st.sampled_from(PLUGINS)),
    reader=st.sets(st.sampled_from(PLUGINS)),
    picks=st.lists(st.integers(0, 3), min_size=1, max_size=30),
    every=st.sampled_from([0, 2, 5]),
    cut=st.integers(0, 30),
)
def test_every_record_is_folded_or_counted(tmp_path_factory, writer, reader, picks, every, cut):
    path = tmp_path_factory.mktemp("unfolded") / "log.db"
    available = sorted(writer)
    types = []
    with open_with(path, writer, every) as book:
        for n, pick in enumerate(picks):
            if pick == 0 or not available:
                book.append(UsageReported(product=f"p{n}", weekly_active_users=n),
                            occurred_at="2026-01-01")
                types.append("usage.reported")
            else:
                name = available[pick % len(available)]
                book.append(EVENTS[name](what=f"w{n}"), occurred_at="2026-01-01")
                types.append(f"{name}.noted")
    known = {"usage.reported"} | {f"{name}.noted" for name in reader}
    until = min(cut, len(types)) or len(types)
    for attempt in range(2):  # the second reopening starts from the reader's own snapshots
        with open_with(path, reader, every) as book:
            for view, seen in ((book.replay(), types), (book.replay(until=until), types[:until])):
                unknown = Counter(t for t in seen if t not in known)
                report = view.report()
                assert report["as_of"]["unknown_types"] == dict(sorted(unknown.items()))
                assert report["counting"] == {"decoded": len(seen) - sum(unknown.values()),
                                              "undecoded": sum(unknown.values())}
                assert sum(view.by_type.values()) == len(seen)


def test_the_command_line_warns_of_unfolded_records(run, tmp_path):
    path = tmp_path / "log.db"
    with open_with(path, {"alpha"}) as book:
        book.append(EVENTS["alpha"](what="x"), occurred_at="2026-01-01")
        book.append(EVENTS["alpha"](what="y"), occurred_at="2026-01-02")
        book.append(UsageReported(product="p", weekly_active_users=1), occurred_at="2026-01-03")
    for command in (["report", path], ["report", path, "--json"], ["materialize", path]):
        result = run(*command)
        assert result.code == 0, result.err
        assert result.err.strip() == ("warning: 2 records of types no loaded plugin registers "
                                      "were not folded: alpha.noted (2); load the plugin that "
                                      "registers them (--plugin)")
    before = run("report", path, "--until", "2026-01-01")
    assert "1 record of types no loaded plugin registers was not folded" in before.err
    clean = run("report", path, "--until", "#0")
    assert clean.err == ""
