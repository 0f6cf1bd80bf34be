"""The example plugins under plugins/: power_cost (one file, loaded by path) and gigaledger-warrant
(an installable distribution with a ``gigaledger`` entry point)."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import (
    CapacityCommissioned,
    CapacityDecommissioned,
    Ledger,
    NewEvent,
    Rejected,
)

from .conftest import ROOT

PLUGINS = os.path.join(ROOT, "plugins")
POWER_COST = os.path.join(PLUGINS, "power_cost.py")
WARRANT_DIR = os.path.join(PLUGINS, "gigaledger-warrant")
WARRANT_FILE = os.path.join(WARRANT_DIR, "gigaledger_warrant.py")


def _import_warrant() -> Any:
    """The warrant module imported by path, as a user who has not installed it would."""
    spec = importlib.util.spec_from_file_location("gigaledger_warrant", WARRANT_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gigaledger_warrant"] = module
    spec.loader.exec_module(module)
    return module


warrant = _import_warrant()


def write(path: Any, lines: list[dict[str, Any]]) -> Any:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def line(type_name: str, occurred_at: str, **data: Any) -> dict[str, Any]:
    return {"type": type_name, "occurred_at": occurred_at, "data": data}


def commissioned(site: str, gigawatts: str, *, provider: str = "oracle", vendor: str = "nvidia",
                 platform: str = "gb200") -> CapacityCommissioned:
    return CapacityCommissioned(site=site, provider=provider, vendor=vendor, platform=platform,
                                gigawatts=Decimal(gigawatts))


def export_text(book: Ledger) -> str:
    out = io.StringIO()
    book.export_jsonl(out)
    return out.getvalue()


# --- power_cost -----------------------------------------------------------------------------------

POWER_HISTORY = [
    line("capacity.commissioned", "2025-09-30", site="abilene", provider="oracle", vendor="nvidia",
         platform="gb200", gigawatts="1.2"),
    line("capacity.commissioned", "2026-01-15", site="michigan", provider="oracle", vendor="nvidia",
         platform="vera-rubin", gigawatts="1"),
    line("capacity.commissioned", "2026-02-01", site="norway", provider="nscale", vendor="nvidia",
         platform="gb300", gigawatts="0.23"),
    line("power.priced", "2026-02-01", site="abilene", usd_per_mwh="55.5", pue="1.2"),
    line("power.priced", "2026-02-01", site="norway", usd_per_mwh="40", pue="1.1"),
    line("power.priced", "2026-02-01", site="*", usd_per_mwh="70"),
    line("capacity.decommissioned", "2026-03-06", site="abilene", gigawatts="0.2"),
]


def check_power_figures(summary: dict[str, Any]) -> None:
    """The POWER_HISTORY figures, worked out by hand: GW × 8,760,000 MWh/GW × PUE, × $/MWh."""
    sites = summary["sites"]
    assert list(sites) == ["abilene", "michigan", "norway"]
    expected = {
        # 1.2 - 0.2 GW at PUE 1.2: 10,512,000 MWh at $55.5
        "abilene": ("1.0", "1.2", "55.5", "10512000", "583416000"),
        # no price and no PUE of its own: the "*" price, the default PUE 1.3
        "michigan": ("1", "1.3", "70", "11388000", "797160000"),
        "norway": ("0.23", "1.1", "40", "2216280", "88651200"),
    }
    for site, (gigawatts, pue, price, mwh, usd) in expected.items():
        figures = sites[site]
        assert Decimal(figures["gigawatts"]) == Decimal(gigawatts)
        assert Decimal(figures["pue"]) == Decimal(pue)
        assert Decimal(figures["usd_per_mwh"]) == Decimal(price)
        assert Decimal(figures["annual_mwh"]) == Decimal(mwh)
        assert Decimal(figures["annual_energy_usd"]) == Decimal(usd)
        assert Decimal(figures["capex_usd"]) == Decimal(gigawatts) * 50_000_000_000
    assert Decimal(summary["commissioned_gigawatts"]) == Decimal("2.23")
    assert Decimal(summary["annual_mwh"]) == Decimal(24_116_280)
    assert Decimal(summary["annual_energy_usd"]) == Decimal(1_469_227_200)
    assert Decimal(summary["unpriced_mwh"]) == 0
    assert Decimal(summary["capex_usd"]) == Decimal(111_500_000_000)
    assert Decimal(summary["capex_low_usd"]) == Decimal(89_200_000_000)


def test_power_cost_loaded_by_path(tmp_path):
    history = write(tmp_path / "power.jsonl", POWER_HISTORY)
    with Ledger.open(plugins=[POWER_COST], load_entrypoints=False) as book:
        book.import_jsonl(history)
        assert any(p.name == "power_cost" and p.source == "file" and p.detail == POWER_COST
                   for p in book.plugins)
        report = book.replay().report()
        check_power_figures(report["power_cost"])
        assert report["power_cost"]["assumptions"]["capex_usd_per_gigawatt"] == "50000000000"
        # as of a date: before the prices, all is unpriced at the default PUE
        early = book.replay(until="2026-01-31").report()["power_cost"]
        assert Decimal(early["commissioned_gigawatts"]) == Decimal("2.2")
        assert Decimal(early["annual_energy_usd"]) == 0
        assert Decimal(early["unpriced_mwh"]) == Decimal("2.2") * 8_760_000 * Decimal("1.3")


def test_power_cost_through_the_command_line(run, tmp_path):
    history = write(tmp_path / "power.jsonl", POWER_HISTORY)
    result = run("replay", history, "--plugin", POWER_COST, "--json")
    assert result.code == 0, result.err
    check_power_figures(json.loads(result.out)["power_cost"])
    text = run("replay", history, "--plugin", POWER_COST)
    assert text.code == 0
    section = text.out.split("== power_cost ==")[1]
    assert "capex at $50B/GW" in section
    total = next(row for row in section.splitlines() if row.startswith("total"))
    assert total.split() == ["total", "2.23", "24,116,280", "$1.47", "B", "$111.5", "B"]


def test_power_cost_reports_unpriced_energy_and_rounds_per_site():
    with Ledger.open(plugins=[POWER_COST], load_entrypoints=False) as book:
        book.append(commissioned("a", "0.0001234"))
        book.append(commissioned("b", "0.5"))
        book.append(book.event_from("power.priced", {"site": "a", "usd_per_mwh": "33.37",
                                                     "pue": "1.19"}))
        summary = book.replay().report()["power_cost"]
    a, b = summary["sites"]["a"], summary["sites"]["b"]
    # 0.0001234 GW × 8,760,000 × 1.19 = 1,286.37096 MWh; × $33.37 = $42,926.1989352
    assert Decimal(a["annual_mwh"]) == Decimal("1286.371")
    assert Decimal(a["annual_energy_usd"]) == Decimal("42926.20")
    assert b["usd_per_mwh"] is None and b["annual_energy_usd"] is None
    assert Decimal(b["annual_mwh"]) == Decimal(5_694_000)  # 0.5 GW at the default PUE 1.3
    assert Decimal(summary["unpriced_mwh"]) == Decimal(5_694_000)
    assert Decimal(summary["annual_energy_usd"]) == Decimal("42926.20")


def test_power_cost_latest_price_wins_and_decommissioning_empties_a_site():
    with Ledger.open(plugins=[POWER_COST], load_entrypoints=False) as book:
        book.append(commissioned("a", "1"))
        for price in ("50", "60"):
            book.append(book.event_from("power.priced", {"site": "a", "usd_per_mwh": price,
                                                         "pue": "1"}))
        assert Decimal(book.replay().report()["power_cost"]["annual_energy_usd"]) == 8_760_000 * 60
        book.append(CapacityDecommissioned(site="a", gigawatts=Decimal(1)))
        summary = book.replay().report()["power_cost"]
    assert summary["sites"] == {}
    assert Decimal(summary["commissioned_gigawatts"]) == 0 and Decimal(summary["capex_usd"]) == 0


@pytest.mark.parametrize(("data", "why"), [
    ({"site": "a", "usd_per_mwh": "50", "pue": "0.9"}, "pue: must be at least 1"),
    ({"site": "a", "usd_per_mwh": "50", "pue": "3.5"}, "pue: 3.5 is beyond 3"),
    ({"site": "a", "usd_per_mwh": "5000"}, "usd_per_mwh: 5000 is beyond 1000"),
    ({"site": "a", "usd_per_mwh": "0.08"}, "is it a price per kWh"),
    ({"site": "a", "usd_per_mwh": "-5"}, "usd_per_mwh: must be greater than 0"),
    ({"site": "a", "usd_per_mwh": 55.5}, "float"),
    ({"site": "a"}, "usd_per_mwh: required field is missing"),
])
def test_power_priced_refuses_absurd_values(data, why):
    with Ledger.open(plugins=[POWER_COST], load_entrypoints=False) as book:
        with pytest.raises(Rejected, match=why):
            book.event_from("power.priced", data)


def test_power_cost_bad_line_on_the_command_line(run, tmp_path):
    history = write(tmp_path / "bad.jsonl", [
        POWER_HISTORY[0],
        line("power.priced", "2026-02-01", site="abilene", usd_per_mwh="55", pue="0.8"),
    ])
    db = tmp_path / "book.db"
    result = run("import", db, history, "--plugin", POWER_COST)
    assert result.code == 1 and result.out == ""
    assert result.err.strip() == f"{history}:2: data.pue: must be at least 1, got 0.8"
    assert run("replay", history, "--plugin", POWER_COST, "--json").code == 1
    with Ledger.open(db, load_entrypoints=False) as book:
        assert len(book) == 0  # the whole import was refused


# --- gigaledger-warrant ---------------------------------------------------------------------------

SHARES = 160_000_000
# AMD -> OpenAI (domain-facts §4): 160,000,000 shares at $0.01, the first tranche after 1 GW of
# MI450, full vesting at 6 GW, share-price thresholds escalating to $600. The intermediate split is
# not public: this equal split and these thresholds are illustrative.
SCHEDULE = [
    {"gigawatts": str(gw), "shares": shares, "price_threshold_usd": str(price)}
    for gw, shares, price in zip(
        range(1, 7),
        [26_666_667] * 4 + [26_666_666] * 2,
        [200, 280, 360, 440, 520, 600],
    )
]


def issued(warrant_id: str = "amd-openai", *, schedule: list[dict[str, Any]] | None = None,
           shares: int = SHARES, **extra: Any) -> dict[str, Any]:
    return {"warrant": warrant_id, "issuer": "amd", "holder": "openai", "shares": shares,
            "exercise_price_usd": "0.01", "milestones": schedule or SCHEDULE, **extra}


@pytest.fixture
def wbook():
    with Ledger.open(plugins=[warrant], load_entrypoints=False) as ledger:
        yield ledger


def price(issuer: str, usd: str) -> Any:
    return warrant.SharePriceReported(issuer=issuer, usd=Decimal(usd))


def mi450(site: str, gigawatts: str, provider: str = "oracle") -> CapacityCommissioned:
    return commissioned(site, gigawatts, provider=provider, vendor="amd", platform="mi450")


def vestings(book: Ledger) -> list[tuple[int, int, str, str]]:
    """(tranche, shares, cause's type, date) of every warrant.vested, in log order."""
    result = []
    for record in book.read(types=["warrant.vested"]):
        cause = book.get(record.meta["causation_id"])
        assert cause is not None
        result.append((record.data["tranche"], record.data["shares"], cause.type,
                       record.occurred_at.date().isoformat()))
    return result


def test_schedule_adds_up():
    assert sum(m["shares"] for m in SCHEDULE) == SHARES


def test_amd_openai_scenario(wbook):
    book = wbook
    book.append(book.event_from("warrant.issued", issued()), occurred_at="2025-10-05")
    book.append(price("amd", "203.71"), occurred_at="2025-10-06")  # illustrative prices
    book.append(mi450("oracle-mi450", "0.5"), occurred_at="2026-09-30")
    book.append(commissioned("abilene", "1.2"), occurred_at="2026-10-15")  # NVIDIA: not counted
    assert vestings(book) == []
    # the first GW of MI450: the first tranche vests, caused by the commissioning
    book.append(mi450("oracle-mi450", "0.5"), occurred_at="2026-12-15")
    assert vestings(book) == [(1, 26_666_667, "capacity.commissioned", "2026-12-15")]
    # 2.2 GW, but the price is below the second threshold ($280); a price at it is enough
    book.append(mi450("azure-mi450", "1.2", provider="microsoft"), occurred_at="2027-06-30")
    assert len(vestings(book)) == 1
    book.append(price("amd", "280"), occurred_at="2027-08-01")
    assert vestings(book)[1:] == [(2, 26_666_667, "share_price.reported", "2027-08-01")]
    # decommissioning takes nothing back; 6.2 GW counted but the price meets no more thresholds
    book.append(CapacityDecommissioned(site="azure-mi450", gigawatts=Decimal("0.2")),
                occurred_at="2027-09-01")
    book.append(mi450("coreweave-mi450", "4.2", provider="coreweave"), occurred_at="2028-06-30")
    assert len(vestings(book)) == 2
    book.append(price("nvidia", "900"), occurred_at="2028-07-01")  # another issuer
    assert len(vestings(book)) == 2
    # $650 passes every remaining threshold: tranches 3 to 6 vest together, in order
    book.append(price("amd", "650"), occurred_at="2028-09-01")
    assert [v[0] for v in vestings(book)] == [1, 2, 3, 4, 5, 6]
    assert {v[2:] for v in vestings(book)[2:]} == {("share_price.reported", "2028-09-01")}

    summary = book.replay().report()["warrants"]["warrants"]["amd-openai"]
    assert Decimal(summary["gigawatts"]) == Decimal("6.4")
    assert summary["share_price_usd"] == "650"
    assert summary["tranches_vested"] == 6
    assert summary["shares_vested"] == SHARES and summary["shares_unvested"] == 0
    assert [t["occurred_at"] for t in summary["tranches"]] == (
        ["2026-12-15", "2027-08-01"] + ["2028-09-01"] * 4)
    assert all(step["vested"] for step in summary["schedule"])
    derived = list(book.read(types=["warrant.vested"]))
    assert {r.meta["derived_by"] for r in derived} == {"gigaledger_warrant"}
    assert {r.stream for r in derived} == {"warrant/amd-openai"}
    # as of mid-2027 only the first tranche had vested
    mid = book.replay(until="2027-07-31").report()["warrants"]["warrants"]["amd-openai"]
    assert (mid["tranches_vested"], mid["shares_vested"]) == (1, 26_666_667)
    assert Decimal(mid["gigawatts"]) == Decimal("2.2")


def test_capacity_before_the_warrant_does_not_count(wbook):
    wbook.append(mi450("early", "3"))
    wbook.append(price("amd", "1000"))
    wbook.append(wbook.event_from("warrant.issued", issued()))
    assert vestings(wbook) == []
    wbook.append(mi450("later", "1"))
    assert [v[0] for v in vestings(wbook)] == [1]


def test_purchasers_keep_two_warrants_of_one_issuer_apart(wbook):
    openai = issued("amd-openai", purchasers=["oracle", "microsoft"])
    meta = issued("amd-meta", holder="meta")
    wbook.append(wbook.event_from("warrant.issued", openai))
    wbook.append(wbook.event_from("warrant.issued", meta))
    wbook.append(price("amd", "250"))
    wbook.append(mi450("oracle-mi450", "0.6"))
    wbook.append(mi450("meta-prineville", "0.7", provider="meta"))
    wbook.append(mi450("stargate", "0.4", provider="openai"))  # the holder's own capacity
    warrants = wbook.replay().report()["warrants"]["warrants"]
    assert Decimal(warrants["amd-openai"]["gigawatts"]) == 1
    assert warrants["amd-openai"]["tranches_vested"] == 1
    # without purchasers every MI450 counts, the holder's or not
    assert Decimal(warrants["amd-meta"]["gigawatts"]) == Decimal("1.7")
    assert warrants["amd-meta"]["tranches_vested"] == 1
    stored = next(wbook.read(types=["warrant.issued"]))
    assert stored.data["purchasers"] == ["oracle", "microsoft"]
    assert "purchasers" not in next(wbook.read(types=["warrant.issued"], after=1)).data


@pytest.mark.parametrize(("change", "why"), [
    ({"schedule": [SCHEDULE[1], SCHEDULE[0]]}, "cumulative gigawatts must increase"),
    ({"schedule": [SCHEDULE[0], SCHEDULE[0]]}, "milestone 2 has 1 GW after 1 GW"),
    ({"shares": SHARES - 1}, "vest 160000000 shares in all, more than the warrant's 159999999"),
    ({"schedule": [{**SCHEDULE[0], "shares": 0}]}, r"data.milestones\[0\].shares"),
    ({"schedule": [{**SCHEDULE[0], "gigawatts": 1.5}]}, r"data.milestones\[0\].gigawatts: .*float"),
    ({"schedule": [{**SCHEDULE[0], "threshold": "1"}]}, "unknown field threshold"),
    ({"schedule": [{"gigawatts": "1", "shares": 1}]},
     r"data.milestones\[0\].price_threshold_usd: required field is missing"),
    ({"purchasers": ["oracle", " aws"]}, "purchasers: ' aws' is not a provider name"),
])
def test_warrant_issued_refuses_a_bad_schedule(wbook, change, why):
    with pytest.raises(Rejected, match=why):
        wbook.event_from("warrant.issued", issued(**change))
    with pytest.raises(Rejected, match="milestones: between 1 and 100, got 0"):
        warrant.WarrantIssued(warrant="w", issuer="amd", holder="openai", shares=1,
                              exercise_price_usd=Decimal("0.01"), milestones=[])


def test_warrant_validation_on_append(wbook):
    book = wbook
    book.append(book.event_from("warrant.issued", issued()))
    with pytest.raises(Rejected, match="gigaledger_warrant: warrant 'amd-openai' is issued already"):
        book.append(book.event_from("warrant.issued", issued(schedule=SCHEDULE[:1])))
    vest = warrant.WarrantVested
    refusals = [
        (vest(warrant="nope", tranche=1, shares=1), "warrant 'nope' is not issued"),
        (vest(warrant="amd-openai", tranche=7, shares=1), "has 6 tranches, not 7"),
        (vest(warrant="amd-openai", tranche=1, shares=SHARES + 1), "more than its 160000000"),
        (vest(warrant="amd-openai", tranche=1, shares=5), "vests 26666667 shares, not 5"),
        (vest(warrant="amd-openai", tranche=1, shares=26_666_667),
         "tranche 1 of warrant 'amd-openai' is not met: 0 GW counted of 1, share price not reported"),
    ]
    for event, why in refusals:
        with pytest.raises(Rejected, match=why):
            book.append(event)
    book.append(price("amd", "250"))
    book.append(mi450("s", "1"))
    assert [v[0] for v in vestings(book)] == [1]
    with pytest.raises(Rejected, match="tranche 1 of warrant 'amd-openai' is vested already"):
        book.append(vest(warrant="amd-openai", tranche=1, shares=26_666_667))
    with pytest.raises(Rejected, match="more than its 160000000"):
        book.append(vest(warrant="amd-openai", tranche=2, shares=SHARES))
    assert len(book) == 4


def test_warrant_round_trips_through_json_lines(wbook, tmp_path):
    book = wbook
    book.append(book.event_from("warrant.issued", issued(purchasers=["oracle"])),
                occurred_at="2025-10-05", meta={"source": "https://www.stocktitan.net/"})
    book.append_many([NewEvent(price("amd", "390"), occurred_at="2026-01-02"),
                      NewEvent(mi450("oracle-mi450", "3.5"), occurred_at="2026-12-31")])
    assert [v[0] for v in vestings(book)] == [1, 2, 3]
    exported = tmp_path / "export.jsonl"
    book.export_jsonl(exported)
    with Ledger.open(plugins=[warrant], load_entrypoints=False) as fresh:
        result = fresh.import_jsonl(exported)
        assert (result.appended, result.skipped) == (len(book), 0)
        assert export_text(fresh) == export_text(book)  # record for record, hashes included
        assert fresh.replay().report() == book.replay().report()
        issued_event = next(fresh.read(types=["warrant.issued"])).event
        assert isinstance(issued_event.milestones[0], warrant.Milestone)
        assert issued_event.milestones[0].gigawatts == Decimal(1)
        # importing the same export again stores nothing and vests nothing twice
        again = fresh.import_jsonl(exported)
        assert (again.appended, again.skipped) == (0, len(book))


def test_warrant_file_loaded_by_path_in_two_ledgers_at_once(run, tmp_path):
    # A file plugin is imported once per process: both ledgers share its classes.
    first = Ledger.open(plugins=[WARRANT_FILE], load_entrypoints=False)
    second = Ledger.open(plugins=[WARRANT_FILE], load_entrypoints=False)
    with first, second:
        assert first.event_types["warrant.issued"] is second.event_types["warrant.issued"]
        for book in (first, second):
            book.append(book.event_from("warrant.issued", issued()))
            assert next(book.read()).event.milestones[5].price_threshold_usd == 600
    history = write(tmp_path / "w.jsonl", [
        line("warrant.issued", "2025-10-05", **issued()),
        line("share_price.reported", "2026-06-01", issuer="amd", usd="210"),
        line("capacity.commissioned", "2026-12-01", site="oracle-mi450", provider="oracle",
             vendor="amd", platform="mi450", gigawatts="1"),
    ])
    result = run("replay", history, "--plugin", WARRANT_FILE, "--json")
    assert result.code == 0, result.err
    summary = json.loads(result.out)["warrants"]["warrants"]["amd-openai"]
    assert summary["shares_vested"] == 26_666_667
    assert summary["tranches"][0]["occurred_at"] == "2026-12-01"


def test_a_string_is_not_a_list(wbook):
    with pytest.raises(Rejected, match="data.purchasers: expected a list, got the string 'oracle'"):
        wbook.event_from("warrant.issued", issued(purchasers="oracle"))
    with pytest.raises(Rejected, match="data.milestones: expected a list, got the string"):
        wbook.event_from("warrant.issued", issued(schedule="1 GW"))  # type: ignore[arg-type]


# --- the warrant, property-based --------------------------------------------------------------------

small_schedules = st.lists(
    st.tuples(st.sampled_from(["0.5", "1", "1.5", "2"]), st.integers(1, 40),
              st.sampled_from([100, 200, 300, 600])),
    min_size=1, max_size=4,
).map(lambda steps: [
    {"gigawatts": str(sum(Decimal(gw) for gw, _, _ in steps[: i + 1])), "shares": shares,
     "price_threshold_usd": str(threshold)}
    for i, (_, shares, threshold) in enumerate(steps)
])
operations = st.lists(st.one_of(
    st.tuples(st.just("commission"), st.sampled_from(["0.25", "0.5", "1", "2"]),
              st.sampled_from(["amd", "nvidia"])),
    st.tuples(st.just("price"), st.sampled_from(["50", "100", "150", "300", "450", "600", "700"]),
              st.sampled_from(["amd", "nvidia"])),
    st.tuples(st.just("vest"), st.integers(1, 5), st.integers(1, 200)),
), max_size=25)


@given(schedule=small_schedules, before=operations, after=operations)
def test_any_order_of_events_vests_each_met_tranche_exactly_once(schedule, before, after):
    shares = sum(m["shares"] for m in schedule) + 7
    with Ledger.open(plugins=[warrant], load_entrypoints=False) as book:
        gigawatts, prices, issued_yet = Decimal(0), {}, False
        first_met: dict[int, int] = {}  # tranche -> seq of the event that first met it (model)

        def apply(operation: tuple[Any, ...]) -> None:
            nonlocal gigawatts
            kind, value, other = operation
            if kind == "commission":
                record = book.append(commissioned("s", value, vendor=other))
                if issued_yet and other == "amd":
                    gigawatts += Decimal(value)
            elif kind == "price":
                record = book.append(price(other, value))
                prices[other] = Decimal(value)
            else:
                with pytest.raises(Rejected):  # met tranches are vested already; others are unmet
                    book.append(warrant.WarrantVested(warrant="w", tranche=value, shares=other))
                return
            for number, milestone in enumerate(schedule, 1):
                if (issued_yet and number not in first_met
                        and gigawatts >= Decimal(milestone["gigawatts"])
                        and prices.get("amd", Decimal(0)) >= Decimal(milestone["price_threshold_usd"])):
                    first_met[number] = record.seq

        for operation in before:
            apply(operation)
        book.append(book.event_from("warrant.issued", issued("w", schedule=schedule, shares=shares)))
        issued_yet = True
        for operation in after:
            apply(operation)

        vested = list(book.read(types=["warrant.vested"]))
        numbers = [r.data["tranche"] for r in vested]
        assert len(numbers) == len(set(numbers))
        assert sorted(numbers) == sorted(first_met)
        for record in vested:
            cause = book.get(record.meta["causation_id"])
            assert cause is not None and cause.seq == first_met[record.data["tranche"]]
            assert record.data["shares"] == schedule[record.data["tranche"] - 1]["shares"]
        report = book.replay().report()
        summary = report["warrants"]["warrants"]["w"]
        assert summary["shares_vested"] == sum(r.data["shares"] for r in vested) <= shares
        assert summary["shares_vested"] + summary["shares_unvested"] == shares
        assert Decimal(summary["gigawatts"]) == gigawatts
        assert book.replay().report() == report
        with tempfile.TemporaryDirectory() as folder:
            exported = os.path.join(folder, "export.jsonl")
            book.export_jsonl(exported)
            with Ledger.open(plugins=[warrant], load_entrypoints=False) as fresh:
                fresh.import_jsonl(exported)
                assert export_text(fresh) == export_text(book)
                assert fresh.replay().report() == report


# --- the warrant, installed ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """gigaledger-warrant pip-installed into a folder of its own, from a copy of its source (so
    that no build/ or *.egg-info is left in the repository)."""
    folder = tmp_path_factory.mktemp("warrant")
    source = folder / "source"
    shutil.copytree(WARRANT_DIR, source, ignore=shutil.ignore_patterns(
        "build", "*.egg-info", "__pycache__"))
    target = folder / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target),
         str(source)],
        check=True, capture_output=True,
    )
    return target


def gigaledger(installed: Any, *args: Any, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m ledger`` in a fresh process that sees the installed plugin."""
    environment = {k: v for k, v in os.environ.items() if k != "GIGALEDGER_PLUGINS"}
    environment.update(PYTHONPATH=str(installed), **env)
    return subprocess.run([sys.executable, "-m", "ledger", *map(str, args)], env=environment,
                          cwd=installed, capture_output=True, text=True, timeout=120)


def test_installed_warrant_is_an_entry_point(installed):
    assert not os.path.exists(os.path.join(WARRANT_DIR, "build"))
    assert not [n for n in os.listdir(WARRANT_DIR) if n.endswith(".egg-info")]
    result = gigaledger(installed, "plugins", "--json")
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    assert plugins["warrant"]["source"] == "entry point"
    assert "gigaledger-warrant 0.1.0" in plugins["warrant"]["from"]
    assert set(plugins["warrant"]["hooks"]) == {
        "register_event_types", "register_projections", "validate_event", "derive_events"}
    allowed = gigaledger(installed, "plugins", "--json", GIGALEDGER_PLUGINS="warrant")
    assert "warrant" in {p["name"] for p in json.loads(allowed.stdout)["plugins"]}
    none = gigaledger(installed, "plugins", "--json", GIGALEDGER_PLUGINS="")
    assert none.returncode == 0, none.stderr
    assert "warrant" not in {p["name"] for p in json.loads(none.stdout)["plugins"]}


def test_installed_warrant_derives_vestings_on_replay(installed, tmp_path):
    history = write(tmp_path / "amd.jsonl", [
        line("warrant.issued", "2025-10-05", **issued()),
        line("share_price.reported", "2025-10-06", issuer="amd", usd="290"),
        line("capacity.commissioned", "2026-11-30", site="oracle-mi450", provider="oracle",
             vendor="amd", platform="mi450", gigawatts="2.5"),
    ])
    result = gigaledger(installed, "replay", history, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)["warrants"]["warrants"]["amd-openai"]
    assert [t["tranche"] for t in summary["tranches"]] == [1, 2]
    assert summary["shares_vested"] == 2 * 26_666_667
    assert {t["occurred_at"] for t in summary["tranches"]} == {"2026-11-30"}
    # without the plugin the history's types are unknown: the replay is refused, not misread
    refused = gigaledger(installed, "replay", history, "--json", GIGALEDGER_PLUGINS="")
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"{history}:1: ") and "warrant.issued" in refused.stderr
