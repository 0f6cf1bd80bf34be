"""The built-in plugins' rules, by example and as hypothesis properties."""

from __future__ import annotations

import json
import math
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ledger import (
    AgreementRevised,
    AgreementSigned,
    CapacityCommissioned,
    CapacityDecommissioned,
    CapacityPlanned,
    CapacityUnquantified,
    ConflictError,
    FundingCommitted,
    FundingResolved,
    GpusDelivered,
    GpusRetired,
    InvestmentReleased,
    Ledger,
    NewEvent,
    PlatformSpecified,
    ProviderContracted,
    Rejected,
)
from ledger.default_plugins.investment import PROJECTION as INVESTMENT
from ledger.shares import hhi, percentages, shares

B = Decimal(10) ** 9


def signed(name="a", status="definitive", cap="100", tranche="10", per="1", investor="nvidia"):
    return AgreementSigned(agreement=name, investor=investor, investee="openai", status=status,
                           gigawatts=Decimal(10), cap_usd=Decimal(cap) * B,
                           tranche_usd=Decimal(tranche) * B, tranche_gigawatts=Decimal(per))


def commission(gigawatts, agreement=None, site="s1", provider="oracle", vendor="nvidia", platform="gb200"):
    return CapacityCommissioned(site=site, provider=provider, vendor=vendor, platform=platform,
                                gigawatts=Decimal(gigawatts), agreement=agreement)


def agreement(book, name="a"):
    return book.replay().report()["investment"]["agreements"][name]


# --- investment: examples ---------------------------------------------------------------------------


def test_tranches_per_whole_gigawatt_under_a_definitive_agreement(book):
    book.append(signed())
    book.append(commission("0.6", "a"))
    assert agreement(book)["tranches_released"] == 0
    cause = book.append(commission("1.5", "a"))  # 2.1 GW: tranches 1 and 2
    a = agreement(book)
    assert (a["commissioned_gigawatts"], a["tranches_earned"], a["tranches_released"]) == ("2.1", 2, 2)
    assert a["released_usd"] == "20000000000"
    assert [(t["tranche"], t["usd"], t["cause"]) for t in a["tranches"]] == [
        (1, "10000000000", cause.id), (2, "10000000000", cause.id)]


def test_a_letter_of_intent_releases_nothing_until_it_becomes_definitive(book):
    book.append(signed(status="intent"))
    book.append(commission("3.2", "a"))
    assert agreement(book)["released_usd"] == "0"
    revision = book.append(AgreementRevised(agreement="a", status="definitive"))
    a = agreement(book)
    assert a["tranches_released"] == 3 and {t["cause"] for t in a["tranches"]} == {revision.id}


def test_the_cap_limits_releases_not_the_target(book):
    book.append(signed(cap="25", tranche="10", per="0.5"))
    book.append(commission("40", "a"))
    a = agreement(book)
    assert [t["usd"] for t in a["tranches"]] == ["10000000000", "10000000000", "5000000000"]
    assert a["released_usd"] == "25000000000" and a["tranches_earned"] == 80


def test_superseded_forfeits_and_commissioning_after_the_end_counts_gross_only(book):
    book.append(signed(status="intent"))
    book.append(commission("2.5", "a"))
    book.append(AgreementRevised(agreement="a", status="superseded", superseded_by="round-2026"))
    book.append(commission("3", "a"))
    a = agreement(book)
    assert (a["status"], a["superseded_by"]) == ("superseded", "round-2026")
    assert (a["commissioned_gigawatts"], a["tranches_earned"], a["released_usd"]) == ("5.5", 2, "0")
    assert a["forfeited_usd"] == "20000000000"
    with pytest.raises(Rejected, match="investment: agreement 'a' is superseded, which is final"):
        book.append(AgreementRevised(agreement="a", status="definitive"))


def test_decommissioning_never_takes_back_a_tranche(book):
    book.append(signed())
    book.append(commission("1", "a"))
    book.append(CapacityDecommissioned(site="s1", gigawatts=Decimal(1)))
    book.append(commission("0.5", "a"))
    assert agreement(book)["tranches_released"] == 1
    assert book.replay().report()["provider_mix"]["commissioned_gigawatts"]["total"] == "0.5"


@pytest.mark.parametrize(("event", "why"), [
    (signed(), "agreement 'a' is signed already"),
    (AgreementRevised(agreement="zz", status="definitive"), "agreement 'zz' is not signed"),
    (commission("1", "zz"), "agreement 'zz' is not signed"),
    (InvestmentReleased(investor="nvidia", investee="openai", usd=Decimal(1), agreement="a", tranche=1),
     "tranche 1 of 'a' is released already"),
    (InvestmentReleased(investor="nvidia", investee="openai", usd=Decimal(1), agreement="a", tranche=3),
     "tranche 3 of 'a' is not earned (1 earned)"),
    (InvestmentReleased(investor="nvidia", investee="openai", usd=95 * B, agreement="a"),
     "releasing 95000000000 would pass the cap of agreement 'a'"),
    (InvestmentReleased(investor="amd", investee="openai", usd=Decimal(1), agreement="a"),
     "agreement 'a' is between nvidia and openai"),
    (AgreementRevised(agreement="a", cap_usd=5 * B), "cap_usd 5000000000 is below the 10000000000 released already"),
    (AgreementSigned(agreement="b", investor="n", investee="o", status="intent", gigawatts=Decimal(1),
                     cap_usd=Decimal(100000), tranche_usd=Decimal(1)), "cap_usd allows more than 10000 tranches of tranche_usd"),
])
def test_investment_refusals(book, event, why):
    book.append(signed())
    book.append(commission("1.2", "a"))
    with pytest.raises(Rejected, match="^investment: " + why.replace("(", r"\(").replace(")", r"\)")):
        book.append(event)
    assert len(book) == 3


def test_recorded_releases_count_with_derived_ones(book):
    book.append(signed())
    book.append(InvestmentReleased(investor="nvidia", investee="openai", usd=3 * B, agreement="a"))
    book.append(InvestmentReleased(investor="softbank", investee="openai", usd=Decimal("7.5") * B))
    book.append(commission("1", "a"))
    report = book.replay().report()["investment"]
    assert report["released_usd"] == "20500000000"
    assert report["investors"]["nvidia"]["released_usd"] == "13000000000"
    assert report["agreements"]["a"]["released_usd"] == "13000000000"


# --- investment: intended and agreed money by investor --------------------------------------------


def investor(book, name="nvidia"):
    figures = book.replay().report()["investment"]["investors"][name]
    return figures["intended_usd"], figures["agreed_usd"]


def test_intent_then_definitive_then_completed_moves_the_cap_from_intended_to_agreed(book):
    book.append(signed(status="intent", cap="100"))
    assert investor(book) == ("100000000000", "0")
    book.append(AgreementRevised(agreement="a", status="definitive"))
    assert investor(book) == ("0", "100000000000")
    book.append(AgreementRevised(agreement="a", status="completed"))
    assert investor(book) == ("0", "100000000000")  # completed stays agreed


def test_a_cancelled_intent_and_a_superseded_agreement_count_in_neither(book):
    book.append_many([signed("loi", status="intent", cap="100"), signed("deal", cap="40")])
    assert investor(book) == ("100000000000", "40000000000")
    book.append(AgreementRevised(agreement="loi", status="cancelled"))
    assert investor(book) == ("0", "40000000000")
    book.append(AgreementRevised(agreement="deal", status="superseded", superseded_by="round"))
    assert investor(book) == ("0", "0")
    figures = book.replay().report()["investment"]["investors"]["nvidia"]
    assert (figures["committed_usd"], figures["conditional_usd"], figures["released_usd"]) == ("0", "0", "0")


def test_a_revised_cap_moves_with_the_agreement_and_investors_stay_apart(book):
    book.append_many([signed("a", status="intent", cap="100"),
                      signed("b", cap="30", investor="amd")])
    book.append(AgreementRevised(agreement="a", cap_usd=60 * B))
    assert investor(book) == ("60000000000", "0")
    book.append(AgreementRevised(agreement="a", status="definitive", cap_usd=50 * B))
    assert investor(book) == ("0", "50000000000")
    assert investor(book, "amd") == ("0", "30000000000")
    text = book.replay().projection("investment").render(book.replay().report()["investment"])
    header = next(line for line in text.splitlines() if line.startswith("investor"))
    assert header.split() == ["investor", "investee", "intended", "agreed", "committed", "conditional",
                              "(pending)", "released"]
    amd = next(line for line in text.splitlines() if line.startswith("amd "))
    assert amd.split() == ["amd", "openai", "$0", "$30", "B", "$0", "$0", "$0"]


# --- investment: conditions met or lapsed, money by investee ---------------------------------------


def pledge(usd, investor="softbank", investee="openai", conditional=False):
    return FundingCommitted(investor=investor, investee=investee, usd=Decimal(usd) * B,
                            conditional=conditional,
                            condition="restructuring by year end" if conditional else None)


def money_of(book, investor="softbank", investee=None):
    """(committed, conditional, released) of an investor, or of one of its investees, in $B."""
    figures = book.replay().report()["investment"]["investors"][investor]
    if investee is not None:
        figures = figures["by_investee"][investee]
    return tuple(Decimal(figures[key]) / B for key in ("committed_usd", "conditional_usd", "released_usd"))


def test_a_met_condition_moves_its_money_from_conditional_to_committed(book):
    book.append(pledge("10"), id="firm", occurred_at="2025-03-31")
    book.append(pledge("20", conditional=True), id="cond", occurred_at="2025-03-31")
    book.append(pledge("0.5", investee="sb-energy"), id="sbe", occurred_at="2026-01-09")
    book.append(InvestmentReleased(investor="softbank", investee="openai", usd=Decimal("7.5") * B),
                occurred_at="2025-04-15")
    assert money_of(book, investee="openai") == (10, 20, Decimal("7.5"))
    assert money_of(book) == (Decimal("10.5"), 20, Decimal("7.5"))  # the sums
    record = book.append(FundingResolved(commitment="cond", outcome="met"), occurred_at="2025-10-28")
    assert record.stream == "commitment/cond"
    assert money_of(book, investee="openai") == (30, 0, Decimal("7.5"))
    assert money_of(book, investee="sb-energy") == (Decimal("0.5"), 0, 0)  # kept apart
    assert money_of(book) == (Decimal("30.5"), 0, Decimal("7.5"))
    assert book.replay().report()["investment"]["conditional_commitments"] == {
        "cond": {"investor": "softbank", "investee": "openai", "usd": "20000000000",
                 "status": "met", "resolved_seq": record.seq}}
    assert book.replay(until="2025-10-27").report()["investment"]["conditional_commitments"][
        "cond"]["status"] == "pending"


def test_a_lapsed_condition_takes_its_money_out_of_conditional(book):
    book.append(pledge("15", investor="amazon"), id="now")
    book.append(pledge("35", investor="amazon", conditional=True), id="ipo")
    book.append(FundingResolved(commitment="ipo", outcome="lapsed", note="no IPO by the date"))
    assert money_of(book, "amazon") == money_of(book, "amazon", "openai") == (15, 0, 0)
    status = book.replay().report()["investment"]["conditional_commitments"]["ipo"]["status"]
    assert status == "lapsed"
    text = book.replay().projection("investment").render(book.replay().report()["investment"])
    row = next(line for line in text.splitlines() if line.startswith("ipo "))
    assert row.split() == ["ipo", "amazon", "->", "openai", "$35", "B", "lapsed", "3"]


def test_a_resolution_names_the_money_in_the_log():
    met = FundingResolved(commitment="oc-0003", outcome="met", investor="softbank",
                          investee="openai", usd=20 * B)
    assert met.summary() == "softbank -> openai $20 B conditional commitment oc-0003: met"
    lapsed = FundingResolved(commitment="c1", outcome="lapsed", note="no IPO")
    assert lapsed.summary() == "conditional commitment c1: lapsed (no IPO)"
    with pytest.raises(Rejected, match="outcome: must be one of met, lapsed; got 'done'"):
        FundingResolved(commitment="c1", outcome="done")


@pytest.mark.parametrize(("event", "why"), [
    (FundingResolved(commitment="gone", outcome="met"),
     "commitment 'gone' is resolved already: lapsed at seq 4"),
    (FundingResolved(commitment="nowhere", outcome="met"),
     "commitment 'nowhere' is not a conditional funding.committed record (unknown, or "
     "unconditional: nothing to resolve)"),
    (FundingResolved(commitment="firm", outcome="lapsed"),
     "commitment 'firm' is not a conditional funding.committed record (unknown, or "
     "unconditional: nothing to resolve)"),
    (FundingResolved(commitment="cond", outcome="met", investor="softbank", usd=10 * B),
     "commitment 'cond' is softbank -> openai $20 B; the resolution says investor softbank, $10 B"),
])
def test_resolutions_refused_in_one_line_with_the_ledger_unchanged(book, event, why):
    book.append(pledge("10"), id="firm")
    book.append(pledge("20", conditional=True), id="cond")
    book.append(pledge("5", conditional=True), id="gone")
    book.append(FundingResolved(commitment="gone", outcome="lapsed"))
    before = (book.head(), book.replay().report())
    with pytest.raises(Rejected) as refused:
        book.append(event)
    assert str(refused.value) == "investment: " + why and "\n" not in str(refused.value)
    assert (book.head(), book.replay().report()) == before


def test_resolving_twice_is_refused_whatever_the_outcome(book):
    book.append(pledge("20", conditional=True), id="cond")
    book.append(FundingResolved(commitment="cond", outcome="met"), id="first")
    assert book.append(FundingResolved(commitment="cond", outcome="met"), id="first").seq == 2  # same id: no-op
    for outcome in ("met", "lapsed"):
        with pytest.raises(Rejected, match="^investment: commitment 'cond' is resolved already: met at seq 2$"):
            book.append(FundingResolved(commitment="cond", outcome=outcome))
    assert len(book) == 2 and money_of(book) == (20, 0, 0)


def test_a_bad_resolution_on_the_command_line_is_one_line(run, tmp_path):
    db = tmp_path / "book.db"
    assert run("append", db, "funding.committed", "--id", "cond", "--data",
               '{"investor": "softbank", "investee": "openai", "usd": "2e10", "conditional": true}').code == 0
    for data in ('{"commitment": "oc-9999", "outcome": "met"}', '{"commitment": "cond", "outcome": "won"}',
                 '{"commitment": "cond"}'):
        result = run("append", db, "funding.resolved", "--data", data)
        assert result.code == 1 and result.out == "", data
        assert len(result.err.strip().splitlines()) == 1 and "Traceback" not in result.err, result.err
    assert "oc-9999" in run("append", db, "funding.resolved", "--data",
                            '{"commitment": "oc-9999", "outcome": "met"}').err
    assert json.loads(run("verify", db, "--json").out)["records"] == 1
    assert run("append", db, "funding.resolved", "--data", '{"commitment": "cond", "outcome": "met"}').code == 0
    assert "conditional commitment cond: met" in run("log", db).out


# --- investment: properties -------------------------------------------------------------------------


class Agreements(RuleBasedStateMachine):
    """Random signings, revisions, commissionings, decommissionings and releases; after every
    step the released money respects the cap and the earned tranches, and the tranches, the
    forfeited money and the gross gigawatts of each agreement match a model of the rules."""

    def __init__(self):
        super().__init__()
        self.book = Ledger.open(load_entrypoints=False)
        self.terms = {}  # agreement -> (cap, tranche_usd, tranche_gw)
        self.status = {}
        self.earned_gw = {}
        self.ever_definitive = {}
        self.manual = {}
        self.gross_gw = {}  # every commissioning naming it, decommissioning or not
        self.paid = {}  # agreement -> [(tranche, usd)] released by the model of the rules
        self.net_gw = Decimal(0)  # still commissioned at the one site

    def teardown(self):
        self.book.close()

    def settle(self, name):
        """The model of the release rule: while definitive, each earned tranche not yet released
        is released in order, for tranche_usd or what the cap leaves."""
        if self.status[name] != "definitive":
            return
        cap, tranche_usd, per = self.terms[name]
        paid = self.manual[name] + sum((usd for _, usd in self.paid[name]), Decimal(0))
        for number in range(len(self.paid[name]) + 1, math.floor(self.earned_gw[name] / per) + 1):
            if paid >= cap:
                break
            usd = min(tranche_usd, cap - paid)
            self.paid[name].append((number, usd))
            paid += usd

    def forfeited(self, name):
        """Ended: what the earned but unreleased tranches would have paid within the cap."""
        if self.status[name] in ("intent", "definitive"):
            return Decimal(0)
        cap, tranche_usd, per = self.terms[name]
        unpaid = math.floor(self.earned_gw[name] / per) - len(self.paid[name])
        left = cap - self.manual[name] - sum((usd for _, usd in self.paid[name]), Decimal(0))
        return max(min(unpaid * tranche_usd, left), Decimal(0))

    @rule(name=st.sampled_from("abc"), status=st.sampled_from(["intent", "definitive"]),
          cap=st.integers(1, 60), tranche=st.integers(1, 20), per=st.sampled_from(["0.5", "1", "1.5"]))
    def sign(self, name, status, cap, tranche, per):
        try:
            self.book.append(signed(name, status, str(cap), str(min(tranche, cap)), per))
        except Rejected:
            assert name in self.terms
            return
        self.terms[name] = (cap * B, min(tranche, cap) * B, Decimal(per))
        self.status[name], self.earned_gw[name] = status, Decimal(0)
        self.ever_definitive[name], self.manual[name] = status == "definitive", Decimal(0)
        self.gross_gw[name], self.paid[name] = Decimal(0), []

    @precondition(lambda self: self.terms)
    @rule(data=st.data(), status=st.sampled_from(["definitive", "superseded", "cancelled", "completed"]))
    def revise(self, data, status):
        name = data.draw(st.sampled_from(sorted(self.terms)))
        ended = self.status[name] not in ("intent", "definitive")
        try:
            self.book.append(AgreementRevised(agreement=name, status=status))
        except Rejected:
            assert ended
            return
        assert not ended
        self.status[name] = status
        self.ever_definitive[name] |= status == "definitive"
        self.settle(name)

    @precondition(lambda self: self.terms)
    @rule(data=st.data(), gigawatts=st.sampled_from(["0.25", "0.5", "1", "2.75"]))
    def commission(self, data, gigawatts):
        name = data.draw(st.sampled_from(sorted(self.terms)))
        self.book.append(commission(gigawatts, name))
        self.gross_gw[name] += Decimal(gigawatts)
        self.net_gw += Decimal(gigawatts)
        if self.status[name] in ("intent", "definitive"):
            self.earned_gw[name] += Decimal(gigawatts)
        self.settle(name)

    @rule(gigawatts=st.sampled_from(["0.25", "1", "3"]))
    def decommission(self, gigawatts):
        try:
            self.book.append(CapacityDecommissioned(site="s1", gigawatts=Decimal(gigawatts),
                                                    provider="oracle", platform="gb200"))
        except Rejected:
            assert Decimal(gigawatts) > self.net_gw
            return
        assert Decimal(gigawatts) <= self.net_gw
        self.net_gw -= Decimal(gigawatts)

    @precondition(lambda self: self.terms)
    @rule(data=st.data(), usd=st.integers(1, 30))
    def release_by_hand(self, data, usd):
        name = data.draw(st.sampled_from(sorted(self.terms)))
        released = self.manual[name] + sum((paid for _, paid in self.paid[name]), Decimal(0))
        can = self.status[name] == "definitive" and released + usd * B <= self.terms[name][0]
        try:
            self.book.append(InvestmentReleased(investor="nvidia", investee="openai", usd=usd * B, agreement=name))
        except Rejected:
            assert not can
            return
        assert can
        self.manual[name] += usd * B

    @invariant()
    def releases_respect_cap_earned_tranches_and_the_model(self):
        report = self.book.view.report()["investment"]
        for name, a in report["agreements"].items():
            cap, tranche_usd, per = self.terms[name]
            numbers = [t["tranche"] for t in a["tranches"]]
            assert sorted(numbers) == list(range(1, len(numbers) + 1))  # 1..n, each once
            earned = math.floor(self.earned_gw[name] / per)
            assert a["tranches_earned"] == earned and len(numbers) <= earned
            released = Decimal(a["released_usd"])
            assert released <= cap
            tranche_money = sum((Decimal(t["usd"]) for t in a["tranches"]), Decimal(0))
            assert tranche_money <= earned * tranche_usd
            assert released == tranche_money + self.manual[name]
            if self.ever_definitive[name]:  # every earned tranche released, up to the cap
                assert tranche_money == min(cap - self.manual[name], earned * tranche_usd)
            else:
                assert tranche_money == 0

    @invariant()
    def gross_gigawatts_tranches_and_forfeited_money_are_the_models(self):
        report = self.book.view.report()
        for name, a in report["investment"]["agreements"].items():
            assert Decimal(a["commissioned_gigawatts"]) == self.gross_gw[name]
            assert [(t["tranche"], Decimal(t["usd"])) for t in a["tranches"]] == self.paid[name]
            assert Decimal(a["forfeited_usd"]) == self.forfeited(name)
        net = report["provider_mix"]["commissioned_gigawatts"]["gigawatts_by_provider"]
        assert Decimal(net.get("oracle", "0")) == self.net_gw

    @invariant()
    def caps_count_as_intended_or_agreed_by_status(self):
        investors = self.book.view.report()["investment"]["investors"]
        intended = sum((cap for name, (cap, _, _) in self.terms.items() if self.status[name] == "intent"),
                       Decimal(0))
        agreed = sum((cap for name, (cap, _, _) in self.terms.items()
                      if self.status[name] in ("definitive", "completed")), Decimal(0))
        if self.terms:
            assert Decimal(investors["nvidia"]["intended_usd"]) == intended
            assert Decimal(investors["nvidia"]["agreed_usd"]) == agreed

    @invariant()
    def the_live_view_is_the_replay(self):
        assert self.book.view.report() == self.book.replay().report()


Agreements.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
TestAgreements = Agreements.TestCase

INVESTORS, INVESTEES = ("softbank", "amazon"), ("openai", "sb-energy")
MONEY = ("intended_usd", "agreed_usd", "committed_usd", "conditional_usd", "released_usd")


class Commitments(RuleBasedStateMachine):
    """Random commitments (conditional or not), resolutions (of pending, resolved, unconditional
    and unknown ids), releases and agreements between a few investors and investees. After every
    step, for each investor and each investor -> investee: committed + conditional + lapsed = the
    sum of what was committed (committed = unconditional + met, conditional = pending); the
    per-investor figures are the sums of the by-investee ones; intended and agreed follow the
    agreements; and the snapshot restores the same report."""

    def __init__(self):
        super().__init__()
        self.book = Ledger.open(load_entrypoints=False)
        self.commitments = {}  # id -> [investor, investee, usd, conditional, status]
        self.released = {}
        self.caps = {}  # agreement -> [investor, investee, status, cap]

    def teardown(self):
        self.book.close()

    @rule(investor=st.sampled_from(INVESTORS), investee=st.sampled_from(INVESTEES),
          usd=st.integers(1, 40), conditional=st.booleans())
    def commit(self, investor, investee, usd, conditional):
        name = f"c{len(self.commitments) + 1}"
        self.book.append(pledge(usd, investor, investee, conditional), id=name)
        status = "pending" if conditional else None
        self.commitments[name] = [investor, investee, usd * B, conditional, status]

    @rule(data=st.data(), outcome=st.sampled_from(["met", "lapsed"]))
    def resolve(self, data, outcome):
        name = data.draw(st.sampled_from(sorted(self.commitments) + ["unknown"]))
        known = self.commitments.get(name)
        can = known is not None and known[4] == "pending"
        before = len(self.book)
        try:
            self.book.append(FundingResolved(commitment=name, outcome=outcome))
        except Rejected as refusal:
            assert not can and "\n" not in str(refusal)
            assert len(self.book) == before
            return
        assert can
        known[4] = outcome

    @rule(investor=st.sampled_from(INVESTORS), investee=st.sampled_from(INVESTEES), usd=st.integers(1, 9))
    def release(self, investor, investee, usd):
        self.book.append(InvestmentReleased(investor=investor, investee=investee, usd=usd * B))
        self.released[(investor, investee)] = self.released.get((investor, investee), 0) + usd * B

    @rule(investor=st.sampled_from(INVESTORS), investee=st.sampled_from(INVESTEES),
          status=st.sampled_from(["intent", "definitive"]), cap=st.integers(1, 50))
    def sign(self, investor, investee, status, cap):
        name = f"a{len(self.caps) + 1}"
        self.book.append(AgreementSigned(agreement=name, investor=investor, investee=investee,
                                         status=status, gigawatts=Decimal(1), cap_usd=cap * B,
                                         tranche_usd=cap * B))
        self.caps[name] = [investor, investee, status, cap * B]

    @precondition(lambda self: self.caps)
    @rule(data=st.data(), status=st.sampled_from(["definitive", "cancelled", "completed"]))
    def revise(self, data, status):
        name = data.draw(st.sampled_from(sorted(self.caps)))
        try:
            self.book.append(AgreementRevised(agreement=name, status=status))
        except Rejected:
            assert self.caps[name][2] in ("cancelled", "completed")
            return
        self.caps[name][2] = status

    def model(self, investor, investee=None):
        """The model's figures, and the lapsed and total committed money, for an investor or a pair."""
        def mine(parties):
            return parties[0] == investor and (investee is None or parties[1] == investee)
        figures = dict.fromkeys(MONEY + ("lapsed", "total"), Decimal(0))
        for who, whom, usd, conditional, status in self.commitments.values():
            if mine((who, whom)):
                figures["total"] += usd
                key = {None: "committed_usd", "met": "committed_usd", "pending": "conditional_usd",
                       "lapsed": "lapsed"}[status]
                figures[key] += usd
        for parties, usd in self.released.items():
            if mine(parties):
                figures["released_usd"] += usd
        for who, whom, status, cap in self.caps.values():
            if mine((who, whom)) and status != "cancelled":
                figures["intended_usd" if status == "intent" else "agreed_usd"] += cap
        return figures

    @invariant()
    def committed_conditional_and_lapsed_add_up_to_what_was_committed(self):
        investors = self.book.view.report()["investment"]["investors"]
        for investor, figures in investors.items():
            pairs = [(figures, self.model(investor))] + [
                (own, self.model(investor, investee)) for investee, own in figures["by_investee"].items()]
            for reported, model in pairs:
                committed, conditional = Decimal(reported["committed_usd"]), Decimal(reported["conditional_usd"])
                assert committed + conditional + model["lapsed"] == model["total"]
                assert {key: Decimal(reported[key]) for key in MONEY} == {key: model[key] for key in MONEY}
            for key in MONEY:
                assert Decimal(figures[key]) == sum(
                    (Decimal(own[key]) for own in figures["by_investee"].values()), Decimal(0))
        named = {who for who, *_ in self.commitments.values()} | {who for who, _ in self.released} | {
            who for who, *_ in self.caps.values()}
        assert set(investors) == named

    @invariant()
    def the_snapshot_and_the_replay_give_the_same_report(self):
        state = self.book.view["investment"]
        restored = INVESTMENT.restore(json.loads(json.dumps(INVESTMENT.snapshot(state))))
        assert INVESTMENT.summary(restored) == INVESTMENT.summary(state)
        assert self.book.view.report() == self.book.replay().report()


Commitments.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
TestCommitments = Commitments.TestCase


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(st.tuples(st.sampled_from("ab"), st.sampled_from(["0.5", "1", "1.75"])), max_size=12),
       split=st.integers(0, 30))
def test_a_prefix_then_the_rest_is_the_whole_replay(steps, split):
    with Ledger.open(load_entrypoints=False) as book:
        book.append_many([signed("a"), signed("b", status="intent", per="0.5")])
        for name, gigawatts in steps:
            book.append(commission(gigawatts, name, site=f"site-{name}"))
        book.append(AgreementRevised(agreement="b", status="definitive"))
        whole = book.replay().report()
        prefix = book.replay(until=min(split, len(book)))
        assert book.catch_up(prefix).report() == whole
        assert book.view.report() == whole


def test_reimporting_an_export_or_a_history_releases_no_tranche_twice(book, tmp_path):
    book.append(signed(), id="sign")
    book.append(commission("3", "a"), id="commission")
    book.export_jsonl(tmp_path / "out.jsonl")
    before = book.replay().report()["investment"]
    assert book.import_jsonl(tmp_path / "out.jsonl").appended == 0
    book.append(commission("3", "a"), id="commission")
    assert book.replay().report()["investment"] == before
    with Ledger.open(load_entrypoints=False) as copy:
        copy.import_jsonl(tmp_path / "out.jsonl")
        copy.import_jsonl(tmp_path / "out.jsonl")
        assert copy.replay().report()["investment"] == before
        assert before["agreements"]["a"]["tranches_released"] == 3


# --- gpu_inventory ----------------------------------------------------------------------------------


def test_counted_and_estimated_are_kept_apart(book):
    book.append_many([
        PlatformSpecified(platform="gb200", vendor="nvidia", gpus_per_gigawatt_low=350_000,
                          gpus_per_gigawatt_high=500_000, unit="package"),
        PlatformSpecified(platform="vera-rubin", vendor="nvidia", gpus_per_gigawatt_low=480_000,
                          gpus_per_gigawatt_high=700_000, unit="die"),
        commission("0.333", platform="gb200"),
        commission("1", site="s2", platform="vera-rubin"),
        commission("0.4", site="s3", platform="mi450", vendor="amd"),
        GpusDelivered(site="s1", platform="gb200", count=1000),
        GpusDelivered(site="s2", platform="vera-rubin", count=144, unit="die"),
        GpusRetired(site="s1", platform="gb200", count=10),
    ])
    gpus = book.replay().report()["gpu_inventory"]
    assert (gpus["counted"], gpus["counted_dies"]) == (990, 144)
    assert gpus["counted_by"] == {"s1": {"gb200": {"package": 990}}, "s2": {"vera-rubin": {"die": 144}}}
    assert (gpus["estimated_low"], gpus["estimated_high"]) == (116_550, 166_500)  # 0.333 GW: exact
    assert (gpus["estimated_dies_low"], gpus["estimated_dies_high"]) == (480_000, 700_000)
    assert gpus["unestimated_gigawatts"] == "0.4" and gpus["unestimated_by_platform"] == {"mi450": "0.4"}


def test_estimates_round_down_and_up(book):
    book.append_many([
        PlatformSpecified(platform="gb200", vendor="nvidia", gpus_per_gigawatt_low=350_001,
                          gpus_per_gigawatt_high=500_001, unit="package"),
        commission("0.5"),
    ])
    gpus = book.replay().report()["gpu_inventory"]
    assert (gpus["estimated_low"], gpus["estimated_high"]) == (175_000, 250_001)


@settings(max_examples=60, deadline=None)
@given(moves=st.lists(st.tuples(st.booleans(), st.sampled_from(["a", "b"]), st.integers(1, 50)), max_size=20))
def test_counted_gpus_are_never_negative(moves):
    model = {"a": 0, "b": 0}
    with Ledger.open(load_entrypoints=False) as book:
        for deliver, site, count in moves:
            event = (GpusDelivered if deliver else GpusRetired)(site=site, platform="gb200", count=count)
            if deliver or count <= model[site]:
                book.append(event)
                model[site] += count if deliver else -count
            else:
                with pytest.raises(Rejected, match="gpu_inventory: retires"):
                    book.append(event)
            assert book.view.report()["gpu_inventory"]["counted"] == sum(model.values()) >= 0


# --- provider_mix -----------------------------------------------------------------------------------


amounts = st.dictionaries(st.text("abcdefgh", min_size=1, max_size=3),
                          st.decimals(min_value=0, max_value=10**6, places=3), max_size=8)


@given(amounts)
def test_shares_sum_to_exactly_one_and_stay_within_a_unit_of_the_exact(values):
    result = shares(values)
    total = sum(values.values())
    if total == 0:
        assert result == {} and hhi(values) is None
        return
    assert sum(Decimal(s) for s in result.values()) == Decimal("1.0000")
    assert all(len(s.split(".")[1]) == 4 for s in result.values())
    for name, share in result.items():
        assert abs(Fraction(share) - Fraction(values[name]) / Fraction(total)) < Fraction(1, 10**4)
    exact = sum((100 * Fraction(v) / Fraction(total)) ** 2 for v in values.values())
    assert abs(hhi(values) - exact) <= Fraction(1, 2) and 0 < hhi(values) <= 10_000


def test_largest_remainder_example():
    assert shares({"a": Decimal(1), "b": Decimal(1), "c": Decimal(1)}) == {
        "a": "0.3334", "b": "0.3333", "c": "0.3333"}
    assert hhi({"a": Decimal(1), "b": Decimal(1), "c": Decimal(1)}) == 3333
    assert hhi({"a": Decimal(1), "b": Decimal(1)}) == 5000


def test_mix_by_provider_and_vendor_and_latest_contract_wins(book):
    book.append_many([
        commission("1.2", provider="oracle"),
        commission("0.8", site="s2", provider="microsoft", vendor="amd", platform="mi450"),
        ProviderContracted(contract="oracle-4.5", buyer="openai", provider="oracle", usd=30 * B),
        ProviderContracted(contract="oracle-4.5", buyer="openai", provider="oracle", usd=300 * B),
        ProviderContracted(contract="azure", buyer="openai", provider="microsoft", usd=250 * B),
    ])
    mix = book.replay().report()["provider_mix"]
    gw = mix["commissioned_gigawatts"]
    assert gw["by_provider"] == {"microsoft": "0.4000", "oracle": "0.6000"}
    assert gw["by_vendor"] == {"amd": "0.4000", "nvidia": "0.6000"}
    assert (gw["hhi"], gw["vendor_hhi"]) == (5200, 5200)
    usd = mix["contracted_usd"]
    assert usd["usd_by_provider"] == {"microsoft": "250000000000", "oracle": "300000000000"}
    assert usd["by_provider"] == {"microsoft": "0.4545", "oracle": "0.5455"} and usd["hhi"] == 5041


def test_decommissioning_is_resolved_or_refused(book):
    book.append_many([commission("1"), commission("0.5", provider="aws", platform="trainium")])
    with pytest.raises(Rejected, match="provider_mix: site 's1' holds several"):
        book.append(CapacityDecommissioned(site="s1", gigawatts=Decimal("0.1")))
    with pytest.raises(Rejected, match="has only 0.5 GW commissioned for provider 'aws'"):
        book.append(CapacityDecommissioned(site="s1", gigawatts=Decimal(1), provider="aws"))
    with pytest.raises(Rejected, match="site 'nowhere' has no capacity commissioned"):
        book.append(CapacityDecommissioned(site="nowhere", gigawatts=Decimal(1)))
    book.append(CapacityDecommissioned(site="s1", gigawatts=Decimal("0.5"), platform="trainium"))
    assert book.replay().report()["provider_mix"]["commissioned_gigawatts"]["by_provider"] == {"oracle": "1.0000"}
    book.append(CapacityDecommissioned(site="s1", gigawatts=Decimal("0.2")))  # one left: no need to name it


def test_unquantified_capacity_is_named_beside_the_shares_and_adds_no_gigawatts(book):
    record = book.append(CapacityUnquantified(provider="microsoft", vendor="nvidia"))
    assert record.stream == "provider/microsoft"
    assert record.summary() == "capacity running at microsoft (nvidia), amount not published"
    alone = book.replay()
    text = alone.projection("provider_mix").render(alone.report()["provider_mix"])
    assert text.startswith("commissioned GW by provider (HHI -): none\nalso running, amounts not "
                           "published: microsoft — the shares cover published figures only")
    book.append_many([commission("0.3"),
                      CapacityUnquantified(provider="coreweave", vendor="nvidia", site="plano", platform="h100"),
                      CapacityUnquantified(provider="microsoft", vendor="nvidia")])  # the same mark again
    view = book.replay()
    gw = view.report()["provider_mix"]["commissioned_gigawatts"]
    assert (gw["total"], gw["gigawatts_by_provider"], gw["by_provider"], gw["hhi"]) == (
        "0.3", {"oracle": "0.3"}, {"oracle": "1.0000"}, 10000)
    assert (gw["unquantified_providers"], gw["unquantified_vendors"]) == (["coreweave", "microsoft"], ["nvidia"])
    assert gw["unquantified"] == [
        {"provider": "coreweave", "vendor": "nvidia", "site": "plano", "platform": "h100"},
        {"provider": "microsoft", "vendor": "nvidia", "site": None, "platform": None}]
    text = view.projection("provider_mix").render(view.report()["provider_mix"])
    assert text.count("also running, amounts not published: coreweave, microsoft — the shares cover "
                      "published figures only") == 1
    assert "also running, amounts not published: nvidia —" in text
    gpus = view.report()["gpu_inventory"]
    assert gpus["unestimated_gigawatts"] == "0.3"  # nothing estimated for the marks
    assert gpus["unquantified"] == gw["unquantified"]
    text = view.projection("gpu_inventory").render(gpus)
    assert text.count("\nnot estimated:  capacity running in amounts not published (coreweave "
                      "(nvidia h100), microsoft (nvidia)); the estimates cover published gigawatts "
                      "only") == 1
    assert "not estimated" not in alone.projection("gpu_inventory").render(
        book.replay(until=0).report()["gpu_inventory"])


def test_an_empty_basis_has_no_shares(book):
    mix = book.replay().report()["provider_mix"]
    assert mix["commissioned_gigawatts"]["by_provider"] == {} and mix["commissioned_gigawatts"]["hhi"] is None
    assert mix["contracted_usd"]["by_provider"] == {} and mix["contracted_usd"]["hhi"] is None


domain_events = st.lists(st.one_of(
    st.builds(commission, st.sampled_from(["0.1", "0.5", "1.25"]), st.none(),
              site=st.sampled_from(["s1", "s2"]), provider=st.sampled_from(["oracle", "aws"]),
              vendor=st.sampled_from(["nvidia", "amd"]), platform=st.sampled_from(["gb200", "mi450"])),
    st.builds(CapacityDecommissioned, site=st.sampled_from(["s1", "s2"]),
              gigawatts=st.sampled_from([Decimal("0.1"), Decimal("0.4")]),
              provider=st.none() | st.sampled_from(["oracle", "aws"]),
              platform=st.none() | st.sampled_from(["gb200", "mi450"])),
    st.builds(GpusDelivered, site=st.sampled_from(["s1", "s2"]), platform=st.just("gb200"),
              count=st.integers(1, 100), unit=st.sampled_from(["package", "die"])),
    st.builds(GpusRetired, site=st.sampled_from(["s1", "s2"]), platform=st.just("gb200"),
              count=st.integers(1, 100), unit=st.sampled_from(["package", "die"])),
    st.builds(ProviderContracted, contract=st.sampled_from(["c1", "c2", "c3"]), buyer=st.just("openai"),
              provider=st.sampled_from(["oracle", "aws", "microsoft"]),
              usd=st.integers(1, 300).map(lambda n: n * B)),
    st.builds(PlatformSpecified, platform=st.sampled_from(["gb200", "mi450"]), vendor=st.just("nvidia"),
              gpus_per_gigawatt_low=st.just(350_000), gpus_per_gigawatt_high=st.just(500_000),
              unit=st.sampled_from(["package", "die"])),
    st.builds(CapacityPlanned, site=st.sampled_from(["s1", "s2"]), provider=st.sampled_from(["oracle", "aws"]),
              vendor=st.sampled_from(["nvidia", "amd"]), platform=st.sampled_from(["gb200", "mi450"]),
              gigawatts=st.sampled_from([Decimal("0.5"), Decimal("1"), Decimal("2.25")]),
              due=st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31))),
    st.builds(CapacityUnquantified, provider=st.sampled_from(["microsoft", "coreweave", "oracle"]),
              vendor=st.sampled_from(["nvidia", "amd"]), site=st.none() | st.just("s1")),
    st.builds(NewEvent, event=st.builds(pledge, st.integers(1, 30), st.sampled_from(INVESTORS),
                                        st.sampled_from(INVESTEES), st.booleans()),
              id=st.sampled_from(["f1", "f2", "f3", "f4"])),
    st.builds(FundingResolved, commitment=st.sampled_from(["f1", "f2", "f3", "f4", "zz"]),
              outcome=st.sampled_from(["met", "lapsed"])),
    st.builds(InvestmentReleased, investor=st.sampled_from(INVESTORS), investee=st.sampled_from(INVESTEES),
              usd=st.integers(1, 9).map(lambda n: n * B)),
), max_size=30)


def put(book, item, occurred_at=None):
    """Append a drawn item: an event, or a ``NewEvent`` that carries its id (a funding commitment
    that a resolution may name). A refused event stores nothing."""
    if isinstance(item, NewEvent):
        return book.append(item.event, id=item.id, occurred_at=occurred_at)
    return book.append(item, occurred_at=occurred_at)


@settings(max_examples=60, deadline=None)
@given(events=domain_events, split=st.integers(0, 30))
def test_every_projection_is_the_same_from_a_prefix_then_the_rest(events, split):
    with Ledger.open(load_entrypoints=False) as book:
        for event in events:
            try:
                put(book, event)
            except (Rejected, ConflictError):  # a refused event, or an id drawn again with other content
                pass
            report = book.view.report()
            gw = report["provider_mix"]["commissioned_gigawatts"]
            for basis in (gw["by_provider"], gw["by_vendor"], report["provider_mix"]["contracted_usd"]["by_provider"]):
                assert not basis or sum(Decimal(s) for s in basis.values()) == 1
            gpus = report["gpu_inventory"]
            assert gpus["counted"] >= 0 and gpus["counted_dies"] >= 0
            assert gpus["estimated_low"] <= gpus["estimated_high"]
            totals = report["pipeline"]["totals"]
            assert (Decimal(totals["delivered_gigawatts"]) + Decimal(totals["remaining_gigawatts"])
                    == Decimal(totals["planned_gigawatts"]))
        whole = book.replay().report()
        assert book.view.report() == whole
        assert book.catch_up(book.replay(until=min(split, len(book)))).report() == whole
        investment = book.view["investment"]
        for investor, figures in whole["investment"]["investors"].items():
            assert Decimal(figures["committed_usd"]) == sum(
                (Decimal(own["committed_usd"]) for own in figures["by_investee"].values()), Decimal(0))
        assert whole["provider_mix"]["commissioned_gigawatts"]["unquantified_providers"] == sorted(
            {mark[0] for mark in book.view["provider_mix"].unquantified})
        assert set(whole["investment"]["conditional_commitments"]) == set(investment.funds.conditional)


@given(amounts, st.integers(0, 3))
def test_percentages_add_up_to_exactly_one_hundred(values, places):
    result = percentages(values, places)
    if sum(values.values()) == 0:
        assert result == {}
        return
    assert all(text.endswith(" %") for text in result.values())
    numbers = [Decimal(text.removesuffix(" %")) for text in result.values()]
    assert sum(numbers) == 100
    assert all(number.as_tuple().exponent == -places for number in numbers)
    assert set(result) == {name for name, value in values.items() if value > 0}


def test_capacity_commissioned_after_an_agreement_ended_is_shown_apart_from_what_earned(book):
    """Commissioning may go on under an agreement that has ended; it earns nothing, and the text
    says how much of the commissioned GW came while the agreement was in force."""
    book.append_many([signed(), commission("1.5", "a"),
                      AgreementRevised(agreement="a", status="cancelled"), commission("2", "a")])
    summary = agreement(book)
    assert (summary["commissioned_gigawatts"], summary["earned_gigawatts"]) == ("3.5", "1.5")
    assert (summary["tranches_earned"], summary["tranches_released"]) == (1, 1)
    view = book.replay()
    text = view.projection("investment").render(view.report()["investment"])
    assert " 3.5 (1.5 while in force) " in text
    with Ledger.open(load_entrypoints=False) as other:
        other.append_many([signed(), commission("1.5", "a")])
        alone = other.replay()
        assert "while in force" not in alone.projection("investment").render(
            alone.report()["investment"])
