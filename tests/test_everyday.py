"""The everyday commands: head, info, types, the log's filters and summaries, report sections,
verify --json, --until with a seq, -V and shell completion."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import Ledger, UsageReported
from ledger.clock import load_time

from .conftest import EVENTS, ROOT

REAL = os.path.join(EVENTS, "openai-compute-2025-2026.jsonl")
PLAN = os.path.join(EVENTS, "nvidia-openai-plan.jsonl")
POWER_COST = os.path.join(ROOT, "plugins", "power_cost.py")


@pytest.fixture(scope="module")
def deals(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("everyday") / "deals.db"
    with Ledger.open(db, load_entrypoints=False) as book:
        book.import_jsonl(REAL)
    return db


def records(db: Path) -> list:
    with Ledger.open(db, load_entrypoints=False, readonly=True) as book:
        return list(book.read())


def test_head_prints_the_last_seq_and_hash(run, deals):
    last = records(deals)[-1]
    assert run("head", deals).out.split() == [str(last.seq), last.hash]
    assert json.loads(run("head", deals, "--json").out) == {"seq": last.seq, "hash": last.hash}


def test_head_of_an_empty_ledger(run, tmp_path):
    Ledger.open(tmp_path / "empty.db", load_entrypoints=False).close()
    assert run("head", tmp_path / "empty.db").out.split() == ["0", "0" * 64]


def test_info_counts_what_the_log_holds(run, deals):
    stored = records(deals)
    facts = json.loads(run("info", deals, "--json").out)
    by_type: dict[str, int] = {}
    for record in stored:
        by_type[record.type] = by_type.get(record.type, 0) + 1
    assert facts["records"] == len(stored) and facts["head"] == stored[-1].hash
    assert facts["by_type"] == by_type
    assert facts["streams"] == len({r.stream for r in stored})
    assert facts["first_occurred_at"][:10] == min(r.occurred_at for r in stored).date().isoformat()
    assert facts["last_occurred_at"][:10] == max(r.occurred_at for r in stored).date().isoformat()
    assert facts["file_bytes"] >= os.path.getsize(deals)
    assert facts["unknown_types"] == {}
    text = run("info", deals).out
    assert "every type in the log is known" in text and "provider.contracted" in text


def test_info_names_the_plugins_a_log_needs(run, tmp_path):
    db = tmp_path / "power.db"
    with Ledger.open(db, plugins=[POWER_COST], load_entrypoints=False) as book:
        book.import_jsonl(PLAN)
        power = book.event_from("power.priced", {"site": "abilene", "usd_per_mwh": "42"})
        book.append(power, occurred_at="2026-01-01")
    facts = json.loads(run("info", db, "--json").out)
    assert facts["unknown_types"] == {"power.priced": 1}
    assert "needs plugins for: power.priced (1)" in run("info", db).out
    with_plugin = json.loads(run("info", db, "--json", "--plugin", POWER_COST).out)
    assert with_plugin["unknown_types"] == {}


def test_types_lists_every_type_with_its_fields(run):
    catalogue = {entry["type"]: entry for entry in json.loads(run("types", "--json").out)["types"]}
    with Ledger.open(load_entrypoints=False) as book:
        assert set(catalogue) == set(book.event_types)
    signed = {f["name"]: f for f in catalogue["agreement.signed"]["fields"]}
    assert signed["cap_usd"] == {"name": "cap_usd", "kind": "decimal", "required": True,
                                 "default": None, "choices": None}
    assert signed["tranche_gigawatts"]["required"] is False
    assert signed["tranche_gigawatts"]["default"] == "1"
    assert signed["status"]["choices"] == ["intent", "definitive"]
    assert signed["vendor"]["kind"] == "text" and not signed["vendor"]["required"]
    assert {f["name"]: f["kind"] for f in catalogue["capacity.planned"]["fields"]}["due"] == "date"
    assert catalogue["gpus.delivered"]["plugin"] == "catalogue"
    with_plugin = json.loads(run("types", "--json", "--plugin", POWER_COST).out)["types"]
    assert any(e["type"] == "power.priced" and e["plugin"] == "power_cost" for e in with_plugin)
    assert "weekly_active_users" in run("types").out


def test_log_shows_each_event_summary_with_amounts(run, deals):
    lines = run("log", deals, "--type", "investment.released").out.splitlines()
    assert len(lines) == 3  # SoftBank's two closings and the co-investors' $11 B
    first = next(r for r in records(deals) if r.type == "investment.released")
    assert lines[0].split()[:3] == [str(first.seq), first.occurred_at.date().isoformat(),
                                    "investment.released"]
    assert "softbank -> openai $7.5 B released" in lines[0]
    assert lines[0].endswith(f"({first.stream} v{first.version})")


@given(st.integers(0, 40), st.integers(1, 50), st.booleans())
def test_log_limit_reverse_and_after_select_the_right_records(after, limit, reverse):
    stored = _real_records()
    book = _real_book()
    expected = [r for r in stored if r.seq > after]
    if reverse:
        expected.reverse()
    expected = expected[:limit]
    got = list(book.read(after, limit=limit, reverse=reverse))
    assert [r.seq for r in got] == [r.seq for r in expected]


@given(st.dates(min_value=load_time("2025-01-01T00:00:00.000000Z").date(),
                max_value=load_time("2026-12-31T00:00:00.000000Z").date()),
       st.dates(min_value=load_time("2025-01-01T00:00:00.000000Z").date(),
                max_value=load_time("2026-12-31T00:00:00.000000Z").date()))
def test_log_since_and_until_are_inclusive_days(since, until):
    book = _real_book()
    got = [r.seq for r in book.read(since=since.isoformat(), until=until.isoformat())]
    assert got == [r.seq for r in _real_records()
                   if since <= r.occurred_at.date() <= until]


@pytest.mark.parametrize(("since", "until", "code"), [
    ("2026-03", "2026-01", 2), ("2026-01-02", "2026-01-01", 2), ("2027", "2026", 2),
    ("2026-01-01", "2026-01-01", 0), ("2026", "2026-01", 0)])
def test_log_since_after_until_is_a_usage_error(run, deals, since, until, code):
    """A range that ends before it begins (the options swapped) is named as such, not answered
    with "no records match"; a range of one day or one month is a range."""
    result = run("log", deals, "--since", since, "--until", until)
    assert result.code == code, result.err
    if code:
        assert result.out == "" and (f"--since {since} is after --until {until}: no record can "
                                     "match (did you swap them?)") in result.err


_BOOK: list = []


def _real_book() -> Ledger:
    if not _BOOK:
        book = Ledger.open(load_entrypoints=False)
        book.import_jsonl(REAL)
        _BOOK.append(book)
    return _BOOK[0]


def _real_records() -> list:
    return list(_real_book().read())


def test_log_options_on_the_command_line(run, deals):
    last_two = run("log", deals, "--reverse", "--limit", "2").out.splitlines()
    count = len(records(deals))
    assert [int(line.split()[0]) for line in last_two] == [count, count - 1]
    assert [json.loads(line)["seq"] for line in
            run("log", deals, "--json", "--until", "#3").out.splitlines()] == [1, 2, 3]
    since = run("log", deals, "--since", "2026-02-27", "--json").out.splitlines()
    assert all(json.loads(line)["occurred_at"] >= "2026-02-27" for line in since) and since


def test_a_filter_that_matches_nothing_says_so(run, deals):
    nothing = run("log", deals, "--type", "gpus.delivered")
    assert (nothing.code, nothing.out, nothing.err.strip()) == (0, "", "no records match")
    typo = run("log", deals, "--type", "investment.release")
    assert typo.code == 2 and "did you mean 'investment.released'?" in typo.err
    beside = run("log", deals, "--type", "investment.released", "--type", "investment.release")
    assert (beside.code, beside.out) == (2, "")  # a typo beside a good type is not ignored
    assert "no event type 'investment.release'" in beside.err
    stream = run("log", deals, "--stream", "site/abilen")
    assert stream.code == 2 and "did you mean 'site/abilene'?" in stream.err
    abilene = [r.seq for r in records(deals) if r.stream == "site/abilene"]
    logged = run("log", deals, "--stream", "site/abilene").out.splitlines()
    assert [int(line.split()[0]) for line in logged] == abilene and len(abilene) >= 3


def test_report_sections(run, deals):
    both = json.loads(run("report", deals, "--json").out)
    only = json.loads(run("report", deals, "--json", "--section", "provider_mix").out)
    assert set(only) == {"provider_mix", "as_of"} and only["provider_mix"] == both["provider_mix"]
    text = run("report", deals, "--section", "investment", "--section", "gpu_inventory").out
    assert "== investment ==" in text and "== gpu_inventory ==" in text
    assert "== provider_mix ==" not in text
    typo = run("report", deals, "--section", "investmnt")
    assert typo.code == 2 and "did you mean 'investment'?" in typo.err


def test_until_a_seq(run, deals):
    for form in ("#18", "seq:18"):
        report = json.loads(run("report", deals, "--until", form, "--json").out)
        assert report["as_of"]["seq"] == 18
        assert report["as_of"]["until"] == "#18"  # a seq, never to be read as a year
        assert run("report", deals, "--until", form).out.splitlines()[0].endswith("(until #18)")
    bad = run("report", deals, "--until", "#x")
    assert bad.code == 2 and "seq" in bad.err
    short = run("report", deals, "--until", "18")  # neither a year (four digits) nor a seq (#)
    assert short.code == 2 and short.out == ""
    assert "'18': a year has four digits (2027); for the record of seq 18, write #18" in short.err


def test_until_before_the_first_record_says_the_report_is_empty(run, deals):
    first = records(deals)[0].occurred_at.date().isoformat()
    early = run("report", deals, "--until", "1999", "--json")
    assert early.code == 0 and json.loads(early.out)["as_of"]["seq"] == 0
    assert early.err == (f"note: no record occurred on or before 1999 (--until): the log begins "
                         f"on {first}, so the report is empty\n")
    assert run("report", deals, "--until", first).err == ""  # the first day holds a record


def test_verify_json(run, deals, tmp_path):
    head = records(deals)[-1].hash
    count = len(records(deals))
    assert json.loads(run("verify", deals, "--json").out) == {"ok": True, "records": count,
                                                              "head": head,
                                                              "unchecked_snapshots": []}
    assert run("verify", deals, "--head", head.upper()).code == 0
    earlier = records(deals)[2].hash
    pinned = json.loads(run("verify", deals, "--head", earlier, "--json").out)
    assert pinned["ok"] is True and pinned["pinned_seq"] == 3 and pinned["records"] == count
    text = run("verify", deals, "--head", earlier).out.splitlines()
    assert text[1] == (f"ok: the pinned head is the hash of seq 3; the {count - 3} records "
                       "appended since extend it")
    not_a_hash = run("verify", deals, "--head", "abc")
    assert not_a_hash.code == 2 and "is not a hash" in not_a_hash.err
    whole_line = run("verify", deals, "--head", f"{count} {head}")  # what `head` prints
    assert whole_line.code == 2 and ("give the hash alone, the second field of what "
                                     "`gigaledger head` prints") in whole_line.err
    cut = run("verify", deals, "--head", "f" * 64, "--json")
    assert cut.code == 1 and json.loads(cut.out)["ok"] is False
    assert json.loads(cut.out)["seq"] == count + 1


def test_version_flags(run):
    for flag in ("-V", "--version"):
        result = run(flag)
        assert result.code == 0 and result.out.startswith("gigaledger, version ")


def test_shell_completion_as_documented():
    env = dict(os.environ, _GIGALEDGER_COMPLETE="bash_source")
    done = subprocess.run([os.path.join(os.path.dirname(sys.executable), "gigaledger")],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "_gigaledger_completion" in done.stdout
    env = dict(os.environ, _GIGALEDGER_COMPLETE="bash_complete", COMP_WORDS="gigaledger he",
               COMP_CWORD="1")
    done = subprocess.run([os.path.join(os.path.dirname(sys.executable), "gigaledger")],
                          env=env, capture_output=True, text=True, timeout=60)
    assert "head" in done.stdout and "help" not in done.stdout.split()


def test_event_summaries_name_the_amounts():
    with Ledger.open(load_entrypoints=False) as book:
        book.import_jsonl(PLAN)
        lines = {r.type: r.summary() for r in book.read()}
    assert lines["agreement.signed"] == ("nvidia-openai-10gw: nvidia -> openai, definitive, "
                                         "$10 B per 1 GW up to $100 B for 10 GW")
    assert lines["usage.reported"] == "chatgpt: 700,000,000 weekly active users"
    assert UsageReported(product="x", weekly_active_users=5).summary() == "x: 5 weekly active users"


def test_a_plugin_event_without_its_own_summary_lists_its_fields():
    import attrs

    from ledger import Event, fields

    @attrs.frozen
    class Thing(Event):
        type = "thing.counted"
        name: str = fields.name()
        usd: Decimal = fields.usd(optional=True)

    assert Thing(name="a", usd=Decimal("1500000")).summary() == "name a, usd 1,500,000"
    assert Thing(name="a").summary() == "name a"


def test_an_append_retried_with_its_id_says_nothing_new_was_stored(run, tmp_path):
    """``append --id`` is an idempotency key: a retry with the same content stores nothing and
    says so (the line is the stored record's), where a first append says nothing more."""
    db = tmp_path / "retry.db"
    args = ("append", db, "usage.reported", "--id", "u1", "--occurred-at", "2025-01-01",
            "--data", '{"product": "chatgpt", "weekly_active_users": 1}')
    first, again = run(*args), run(*args)
    assert first.code == again.code == 0 and first.out == again.out
    assert "already" not in first.err
    assert again.err == ("note: id 'u1' is stored already with this content (seq 1): nothing new "
                         "was appended\n")
    assert json.loads(run("info", db, "--json").out)["records"] == 1


def test_info_of_an_empty_ledger_shows_its_head_hash_whole(run, tmp_path):
    """The head of an empty log is 64 zeros, text: not the number 0."""
    db = tmp_path / "empty.db"
    Ledger.open(db, load_entrypoints=False).close()
    lines = dict(line.split(None, 1) for line in run("info", db).out.splitlines() if " " in line)
    assert lines["head"].strip() == "0" * 64


@given(st.integers(min_value=0, max_value=10**30), st.integers(min_value=1, max_value=40))
def test_a_number_written_as_text_is_grouped_and_a_code_with_leading_zeros_is_kept(n, zeros):
    from ledger.figures import show

    assert show(str(n)) == (f"{n:,}" if n >= 10_000 else str(n))
    code = "0" * zeros + str(n)
    assert show(code) == code
