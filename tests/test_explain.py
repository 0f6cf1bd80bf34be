"""`explain`: why a record is in the log — its causes, its effects, what earned a tranche."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import (
    AgreementRevised,
    Event,
    FundingResolved,
    InvestmentReleased,
    Ledger,
    fields,
)

from .conftest import EVENTS
from .test_builtin_plugins import B, commission, signed

PLAN = Path(EVENTS) / "nvidia-openai-plan.jsonl"


def found(why, label):
    """The finding with this label in an explanation's JSON."""
    [finding] = [f for f in why["findings"] if f["label"] == label]
    return finding


def crossing(records, agreement, needed):
    """Independently: the first commissioning under ``agreement`` whose running total reaches
    ``needed`` gigawatts."""
    running = Decimal(0)
    for record in records:
        if record["type"] == "capacity.commissioned" and record["data"].get("agreement") == agreement:
            running += Decimal(record["data"]["gigawatts"])
            if running >= needed:
                return record
    return None


def test_every_tranche_of_the_plan_names_its_cause_its_commissioning_and_the_agreement(run, tmp_path):
    db = tmp_path / "plan.db"
    assert run("import", db, PLAN).code == 0
    log = [json.loads(line) for line in run("log", db, "--json").out.splitlines()]
    tranches = [r for r in log if r["type"] == "investment.released" and "tranche" in r["data"]]
    assert len(tranches) == 10
    for release in tranches:
        result = run("explain", db, release["seq"], "--json")
        assert result.code == 0, result.err
        why = json.loads(result.out)
        assert why["record"] == release
        name = release["data"]["agreement"]
        [cause] = why["causes"]
        assert cause["id"] == release["meta"]["causation_id"]
        [agreement] = found(why, "allowed by")["records"]
        assert agreement["type"] == "agreement.signed"
        assert agreement["data"]["agreement"] == name
        needed = release["data"]["tranche"] * Decimal(agreement["data"].get("tranche_gigawatts", 1))
        earned = found(why, "earned by")
        assert earned["plugin"] == "explanations"
        assert Decimal(earned["data"]["earned_gigawatts"]) == needed
        assert earned["records"] == [crossing(log, name, needed)]
        text = run("explain", db, release["id"]).out
        assert f"tranche {release['data']['tranche']} of {name}" in text
        assert f"caused by seq {cause['seq']}" in text
        assert f"earned by seq {earned['records'][0]['seq']}" in text
        assert f"allowed by seq {agreement['seq']}" in text


def test_a_tranche_released_on_becoming_definitive_is_caused_by_the_revision(book):
    book.append(signed("loi", status="intent"), occurred_at="2025-09-22")
    first = book.append(commission("0.6", "loi"), occurred_at="2026-01-01")
    earning = book.append(commission("0.6", "loi"), occurred_at="2026-02-01")
    revision = book.append(AgreementRevised(agreement="loi", status="definitive"), occurred_at="2026-03-01")
    release = next(book.read(revision.seq))
    assert release.type == "investment.released"
    why = book.explain(release.seq)
    assert [c.seq for c in why.causes] == [revision.seq]
    assert [r.seq for r in why.finding("earned by").records] == [earning.seq]
    assert earning.seq != first.seq
    assert [r.seq for r in why.finding("revised").records] == [revision.seq]
    assert [r.seq for r in why.finding("allowed by").records] == [1]
    assert [e.seq for e in book.explain(revision.seq).effects] == [release.seq]


@settings(max_examples=30)
@given(amounts=st.lists(st.decimals("0.1", "3", places=1), min_size=1, max_size=8))
def test_each_commissioning_leads_to_exactly_the_tranches_it_completes(amounts):
    with Ledger.open(load_entrypoints=False) as book:
        book.append(signed("a"), occurred_at="2025-09-22")
        running = Decimal(0)
        for amount in amounts:
            record = book.append(commission(amount, "a"), occurred_at="2026-01-01")
            before, running = running, running + amount
            expected = list(range(int(before) + 1, min(int(running), 10) + 1))
            why = book.explain(record.seq)
            assert [e.data["tranche"] for e in why.effects] == expected
            for effect in why.effects:
                assert book.explain(effect.id).finding("earned by").records == [record]


def test_unknown_seq_or_id_is_one_clear_line(run, tmp_path):
    db = tmp_path / "plan.db"
    run("import", db, PLAN)
    for key, why in (("999", "no record with seq 999 (the log holds 53)"), ("0", "no record with seq 0"),
                     ("#999", "no record with seq 999"), ("nope", "no record with id 'nope'"),
                     ("9" * 23, f"no record with seq {'9' * 23} (the log holds 53)")):
        result = run("explain", db, key)
        assert result.code == 1 and result.out == ""
        assert result.err.strip().startswith(why) and len(result.err.strip().splitlines()) == 1
    for form in ("#18", "seq:18", " 18 "):  # a seq as --until writes it, too
        assert run("explain", db, form).out == run("explain", db, "18").out != ""


@attrs.frozen
class Note(Event):
    """A plugin's event that names an agreement, which the built-in rules do not check."""

    type = "test.note"
    stream_template = "note/{agreement}"
    agreement: str = fields.name()


def test_what_the_built_in_domain_says_about_each_kind_of_record():
    from .test_builtin_plugins import pledge
    from .test_hooks import plugin

    def said(seq):
        return [(f.label, [r.seq for r in f.records], f.note, f.data)
                for f in book.explain(seq).findings if f.plugin == "explanations"]

    notes = plugin(register_event_types=lambda register: register(Note))
    with Ledger.open(plugins=[notes], load_entrypoints=False) as book:
        a = book.append(signed("a", per="0.5")).seq  # 1
        b = book.append(signed("b")).seq  # 2
        earning = book.append(commission("1", "a")).seq  # 3; releases tranches 1 and 2 (4, 5)
        second = next(r for r in book.read() if r.data.get("tranche") == 2).seq
        revision = book.append(AgreementRevised(agreement="a", tranche_gigawatts=Decimal(2))).seq
        under_b = book.append(commission("0.5", "b")).seq
        by_hand = book.append(InvestmentReleased(investor="nvidia", investee="openai", usd=B,
                                                 agreement="b")).seq
        book.append(pledge("20", conditional=True), id="cond")
        pending = book.append(pledge("5", conditional=True), id="later").seq
        outright = book.append(pledge("1"), id="firm").seq
        resolution = book.append(FundingResolved(commitment="cond", outcome="met")).seq
        ghost = book.append(Note(agreement="ghost")).seq

        assert said(a) == []  # the signing itself: no agreement behind it
        # as of the release, 0.5 GW a tranche: tranche 2 needed 1 GW (not 4, by the later terms)
        assert said(second) == [
            ("earned by", [earning], "which brought the gigawatts commissioned under a to the 1 GW "
                                     "that tranche 2 needs", {"earned_gigawatts": Decimal(1)}),
            ("allowed by", [a], None, {})]
        assert said(earning) == [("agreement", [a], None, {})]  # revised later: not named
        assert said(revision) == [("agreement", [a], None, {}), ("revised", [revision], None, {})]
        assert said(under_b) == [("agreement", [b], None, {})]
        assert said(by_hand) == [("allowed by", [b], None, {})]  # no tranche: nothing earned it
        assert said(resolution) == [("resolves", [book.get("cond").seq], None, {})]
        # both ways: a conditional commitment names its resolution, or that it is pending
        assert said("cond") == [("resolved by", [resolution], None, {})]
        assert said(pending) == [("resolved by", [], "nothing yet: the condition is pending", {})]
        assert said(outright) == []  # unconditional: nothing to resolve
        assert said(ghost) == []
