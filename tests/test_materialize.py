"""`materialize`: the projections as plain tables in the ledger's file, equal to the report."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ledger.default_plugins.materialized
from ledger import ConflictError, Ledger, Rejected
from ledger.materialize import Table
from ledger.replay import jsonable

from .conftest import EVENTS, ROOT
from .strategies import any_event

HISTORIES = sorted(Path(EVENTS).glob("*.jsonl"))
POWER_COST = str(Path(ROOT) / "plugins" / "power_cost.py")


def rows(db: Path | str, sql: str) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in conn.execute(sql)]
    finally:
        conn.close()


def total(values) -> Decimal:
    return sum((Decimal(v) for v in values), Decimal(0))


def check_tables_match(db: Path | str, report: dict) -> None:
    """Every materialized figure against ``report --json`` (strings, as printed)."""
    investment, gpus, mix = report["investment"], report["gpu_inventory"], report["provider_mix"]
    [made] = rows(db, "SELECT * FROM materialized")
    assert made["seq"] == report["as_of"]["seq"]

    assert made["scenario_records"] == report["as_of"]["scenario_records"]
    assert made["as_of_date"] == report["pipeline"]["as_of_date"]

    investors = rows(db, "SELECT * FROM investment_investors")
    assert total(i["released_usd"] for i in investors) == Decimal(investment["released_usd"])
    money = ("intended_usd", "agreed_usd", "committed_usd", "conditional_usd", "released_usd")
    assert {i["investor"]: tuple(i[key] for key in money) for i in investors} == {
        name: tuple(i[key] for key in money) for name, i in investment["investors"].items()}
    investees = rows(db, "SELECT * FROM investment_investees")
    assert {(i["investor"], i["investee"]): tuple(i[key] for key in money) for i in investees} == {
        (name, investee): tuple(figures[key] for key in money)
        for name, i in investment["investors"].items() for investee, figures in i["by_investee"].items()}
    for key in money:  # an investor's figures are the sums of its investees'
        by_investor = rows(db, f"SELECT investor, {key} AS usd FROM investment_investees")
        sums = {}
        for row in by_investor:
            sums[row["investor"]] = sums.get(row["investor"], Decimal(0)) + Decimal(row["usd"])
        assert sums == {i["investor"]: Decimal(i[key]) for i in investors}, key
    agreements = {a["agreement"]: a for a in rows(db, "SELECT * FROM investment_agreements")}
    assert set(agreements) == set(investment["agreements"])
    for name, expected in investment["agreements"].items():
        row = agreements[name]
        assert row["status"] == expected["status"]
        for key in ("commissioned_gigawatts", "released_usd", "forfeited_usd"):
            assert Decimal(row[key]) == Decimal(expected[key]), key
        assert row["tranches_released"] == expected["tranches_released"]
        tranches = rows(db, f"SELECT * FROM investment_tranches WHERE agreement = '{name}' ORDER BY tranche")
        assert [t["tranche"] for t in tranches] == [t["tranche"] for t in expected["tranches"]]
        assert len(tranches) == expected["tranches_released"]
        assert total(t["usd"] for t in tranches) <= Decimal(expected["released_usd"])
    releases = rows(db, "SELECT cumulative_usd FROM investment_timeline ORDER BY day DESC LIMIT 1")
    assert Decimal(releases[0]["cumulative_usd"] if releases else 0) == Decimal(investment["released_usd"])

    counted = rows(db, "SELECT unit, SUM(counted) AS n FROM gpu_inventory GROUP BY unit")
    by_unit = {row["unit"]: row["n"] for row in counted}
    assert by_unit.get("package", 0) == gpus["counted"]
    assert by_unit.get("die", 0) == gpus["counted_dies"]
    estimates = rows(db, "SELECT * FROM gpu_estimates")
    assert {e["platform"]: (e["estimated_low"], e["estimated_high"]) for e in estimates
            if e["unit"] is not None} == {
        p: (band["low"], band["high"]) for p, band in gpus["estimated_by_platform"].items()}
    assert total(e["gigawatts"] for e in estimates if e["unit"] is None) == Decimal(
        gpus["unestimated_gigawatts"])

    for basis, dimension, shares_key, amounts_key in (
        ("commissioned_gigawatts", "provider", "by_provider", "gigawatts_by_provider"),
        ("commissioned_gigawatts", "vendor", "by_vendor", "gigawatts_by_vendor"),
        ("contracted_usd", "provider", "by_provider", "usd_by_provider"),
    ):
        part = rows(db, f"SELECT * FROM provider_mix WHERE basis = '{basis}' AND dimension = '{dimension}'")
        assert {r["name"]: r["share"] for r in part} == mix[basis][shares_key]
        assert total(r["amount"] for r in part) == Decimal(mix[basis]["total"])
        assert {r["name"]: Decimal(r["amount"]) for r in part} == {
            name: Decimal(amount) for name, amount in mix[basis][amounts_key].items() if Decimal(amount)}
        if part:
            assert total(r["share"] for r in part) == 1

    unquantified = rows(db, "SELECT * FROM provider_mix_unquantified ORDER BY dimension, name")
    assert [(u["dimension"], u["name"]) for u in unquantified] == [
        ("provider", name) for name in mix["commissioned_gigawatts"]["unquantified_providers"]] + [
        ("vendor", name) for name in mix["commissioned_gigawatts"]["unquantified_vendors"]]

    last = {}
    for change in rows(db, "SELECT * FROM capacity_timeline ORDER BY day"):
        last[change["provider"]] = Decimal(change["cumulative_gigawatts"])
    assert {p: gw for p, gw in last.items() if gw} == {
        p: Decimal(gw) for p, gw in mix["commissioned_gigawatts"]["gigawatts_by_provider"].items()}

    check_pipeline_tables(db, report["pipeline"])

    projections = {p["name"]: json.loads(p["summary"]) for p in rows(db, "SELECT * FROM projections")}
    assert projections == {name: value for name, value in report.items() if name != "as_of"}


def check_pipeline_tables(db: Path | str, pipeline: dict) -> None:
    """``pipeline_plans`` is ``pipeline.plans`` row for row; ``pipeline_totals`` holds the totals in
    all, by provider and by vendor, as ``report --json`` gives them."""
    plans = rows(db, "SELECT * FROM pipeline_plans ORDER BY site, provider, platform")
    assert plans == pipeline["plans"]
    totals = rows(db, "SELECT * FROM pipeline_totals")
    by = {(t.pop("dimension"), t.pop("name")): t for t in totals}
    expected = {("all", "all"): pipeline["totals"]}
    expected.update({("provider", name): group for name, group in pipeline["by_provider"].items()})
    expected.update({("vendor", name): group for name, group in pipeline["by_vendor"].items()})
    assert by == expected
    late = rows(db, "SELECT SUM(CAST(remaining_gigawatts AS REAL)) AS gw, COUNT(*) AS n "
                    "FROM pipeline_plans WHERE status = 'late'")[0]
    assert late["n"] == pipeline["totals"]["late_keys"]


@pytest.mark.parametrize("history", HISTORIES, ids=lambda p: p.name)
def test_materialized_totals_equal_the_report_and_the_file_still_verifies(run, tmp_path, history):
    db = tmp_path / "book.db"
    assert run("import", db, history).code == 0
    before = run("verify", db).out
    result = run("materialize", db)
    assert result.code == 0, result.err
    assert "investment_tranches" in result.out and "capacity_timeline" in result.out
    assert "pipeline_plans" in result.out and "pipeline_totals" in result.out
    assert "investment_investees" in result.out and "provider_mix_unquantified" in result.out
    report = json.loads(run("report", db, "--json").out)
    check_tables_match(db, report)
    verified = run("verify", db)
    assert verified.code == 0 and verified.out == before


def test_materializing_again_replaces_the_tables(run, tmp_path):
    db = tmp_path / "book.db"
    run("import", db, Path(EVENTS) / "nvidia-openai-plan.jsonl")
    first = json.loads(run("materialize", db, "--json").out)
    added = run("append", db, "capacity.commissioned", "--occurred-at", "2030-01-15", "--data", json.dumps({
        "site": "new-site", "provider": "nebius", "vendor": "nvidia", "platform": "vera-rubin",
        "gigawatts": "0.5"}))
    assert added.code == 0, added.err
    second = json.loads(run("materialize", db, "--json").out)
    assert second["seq"] == first["seq"] + 1
    assert second["tables"]["capacity_timeline"] == first["tables"]["capacity_timeline"] + 1
    check_tables_match(db, json.loads(run("report", db, "--json").out))


def test_a_failure_while_writing_leaves_the_previous_tables(tmp_path, monkeypatch):
    db = tmp_path / "book.db"
    with Ledger.open(db, load_entrypoints=False) as book:
        book.import_jsonl(Path(EVENTS) / "nvidia-openai-plan.jsonl")
        book.materialize()
        before = rows(db, "SELECT * FROM capacity_timeline")
        duplicate = Table("capacity_timeline", {"day": str, "provider": str}, ("day", "provider"),
                          [{"day": "2030-01-01", "provider": "x"}] * 2)
        monkeypatch.setattr(ledger.default_plugins.materialized, "timeline_tables",
                            lambda timeline: [duplicate])
        with pytest.raises(ConflictError, match="UNIQUE"):  # the driver's error, translated
            book.materialize()
        assert rows(db, "SELECT * FROM capacity_timeline") == before
        assert len(rows(db, "SELECT * FROM investment_agreements")) == 1
        assert book.verify()[0] == len(book)


def test_custom_projections_are_materialized_as_json(tmp_path):
    db = tmp_path / "book.db"
    with Ledger.open(db, plugins=[POWER_COST], load_entrypoints=False) as book:
        book.import_jsonl(Path(EVENTS) / "nvidia-openai-plan.jsonl")
        book.materialize()
        summary = jsonable(book.replay().report()["power_cost"])
    [power] = rows(db, "SELECT summary FROM projections WHERE name = 'power_cost'")
    assert json.loads(power["summary"]) == summary and summary


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(any_event, min_size=1, max_size=25))
def test_materialized_tables_equal_the_report_for_any_log(tmp_path_factory, events):
    db = tmp_path_factory.mktemp("materialize") / "book.db"
    with Ledger.open(db, load_entrypoints=False) as book:
        for number, event in enumerate(events):
            try:
                book.append(event, occurred_at=f"2026-01-{number % 28 + 1:02d}")
            except Rejected:
                pass
        book.materialize()
        report = jsonable(book.replay().report())
    check_tables_match(db, report)


def test_money_by_investee_and_unquantified_capacity_in_the_reported_history(run, tmp_path):
    """The real history's figures in SQL: SoftBank's money for OpenAI and for SB Energy apart,
    OpenAI an investor of SB Energy only, and the providers of no published amount."""
    db = tmp_path / "book.db"
    assert run("import", db, Path(EVENTS) / "openai-compute-2025-2026.jsonl").code == 0
    assert run("materialize", db).code == 0
    report = json.loads(run("report", db, "--json").out)
    check_tables_match(db, report)
    softbank = {r["investee"]: (r["committed_usd"], r["conditional_usd"], r["released_usd"]) for r in rows(
        db, "SELECT * FROM investment_investees WHERE investor = 'softbank'")}
    assert softbank == {"openai": ("60000000000", "0", "30000000000"), "sb-energy": ("500000000", "0", "0")}
    assert [r["investee"] for r in rows(db, "SELECT * FROM investment_investees WHERE investor = 'openai'")] == [
        "sb-energy"]
    assert rows(db, "SELECT name FROM provider_mix_unquantified WHERE dimension = 'provider' ORDER BY name") == [
        {"name": "coreweave"}, {"name": "microsoft"}]


def test_the_investment_tables_row_for_row_and_every_table_as_of_its_view(tmp_path):
    from ledger import AgreementRevised
    from ledger.default_plugins.materialized import materialize_tables

    from .test_builtin_plugins import commission, pledge, signed

    db = tmp_path / "book.db"
    with Ledger.open(db, load_entrypoints=False) as book:
        book.append(signed("a", per="0.5", cap="25"), occurred_at="2026-01-01")
        book.append(signed("b", status="intent", investor="amd"), occurred_at="2026-01-01")
        book.append(commission("1.5", "a"), occurred_at="2026-02-01")  # seq 3: tranches 4, 5, 6
        book.append(AgreementRevised(agreement="b", status="superseded", superseded_by="a"))
        book.append(pledge("20", conditional=True), occurred_at="2026-01-05")
        book.append(pledge("5", investee="sb-energy"), occurred_at="2026-01-06")
        book.materialize()
        # the tables of a view as of seq 3: the commissioning, none of the tranches it released
        early = {table.name: table.rows for table in materialize_tables(book, book.replay(until=3))}
    assert [row["provider"] for row in early["capacity_timeline"]] == ["oracle"]
    assert early["investment_timeline"] == [] and early["investment_tranches"] == []
    B = "000000000"
    terms = {"investee": "openai", "target_gigawatts": "10", "tranche_usd": "10" + B}
    assert rows(db, "SELECT * FROM investment_agreements ORDER BY agreement") == [
        {"agreement": "a", "status": "definitive", "investor": "nvidia", **terms,
         "cap_usd": "25" + B, "tranche_gigawatts": "0.5", "commissioned_gigawatts": "1.5",
         "tranches_earned": 3, "tranches_released": 3, "released_usd": "25" + B,
         "forfeited_usd": "0", "superseded_by": None},
        {"agreement": "b", "status": "superseded", "investor": "amd", **terms,
         "cap_usd": "100" + B, "tranche_gigawatts": "1", "commissioned_gigawatts": "0",
         "tranches_earned": 0, "tranches_released": 0, "released_usd": "0", "forfeited_usd": "0",
         "superseded_by": "a"}]
    assert rows(db, "SELECT * FROM investment_tranches ORDER BY tranche") == [
        {"agreement": "a", "tranche": n, "usd": usd, "released_on": "2026-02-01", "seq": n + 3,
         "cause_seq": 3} for n, usd in [(1, "10" + B), (2, "10" + B), (3, "5" + B)]]
    money = ("intended_usd", "agreed_usd", "committed_usd", "conditional_usd", "released_usd")
    expected = {("amd", "openai"): ("0", "0", "0", "0", "0"),
                ("nvidia", "openai"): ("0", "25" + B, "0", "0", "25" + B),
                ("softbank", "openai"): ("0", "0", "0", "20" + B, "0"),
                ("softbank", "sb-energy"): ("0", "0", "5" + B, "0", "0")}
    assert rows(db, "SELECT * FROM investment_investees ORDER BY investor, investee") == [
        {"investor": investor, "investee": investee, **dict(zip(money, figures))}
        for (investor, investee), figures in expected.items()]
    assert rows(db, "SELECT * FROM investment_investors ORDER BY investor") == [
        {"investor": "amd", **dict(zip(money, ("0",) * 5))},
        {"investor": "nvidia", **dict(zip(money, expected[("nvidia", "openai")]))},
        {"investor": "softbank", **dict(zip(money, ("0", "0", "5" + B, "20" + B, "0")))}]


#: The built-in tables as SQL sees them: each column's name and type, the primary key's columns
#: starred (the schema is what Datasette and SQL users read; SQLite matches names in any case, but
#: shows them as they were created).
BUILT_IN_TABLES = {
    "investment_agreements": "agreement* status investor investee target_gigawatts cap_usd "
                             "tranche_usd tranche_gigawatts commissioned_gigawatts "
                             "tranches_earned:int tranches_released:int released_usd forfeited_usd "
                             "superseded_by",
    "investment_tranches": "agreement* tranche*:int usd released_on seq:int cause_seq:int",
    "investment_investors": "investor* intended_usd agreed_usd committed_usd conditional_usd "
                            "released_usd",
    "investment_investees": "investor* investee* intended_usd agreed_usd committed_usd "
                            "conditional_usd released_usd",
    "gpu_inventory": "site* platform* unit* counted:int",
    "gpu_estimates": "platform* gigawatts unit estimated_low:int estimated_high:int",
    "provider_mix": "basis* dimension* name* amount share",
    "provider_mix_unquantified": "dimension* name*",
    "pipeline_plans": "site* provider* platform* vendor planned_gigawatts due "
                      "commissioned_gigawatts remaining_gigawatts status",
    "pipeline_totals": "dimension* name* planned_gigawatts delivered_gigawatts remaining_gigawatts "
                       "late_gigawatts late_keys:int",
    "capacity_timeline": "day* provider* gigawatts cumulative_gigawatts",
    "investment_timeline": "day* usd cumulative_usd",
}


def test_the_built_in_tables_have_their_names_columns_and_keys(tmp_path):
    db = tmp_path / "book.db"
    with Ledger.open(db, load_entrypoints=False) as book:
        written = book.materialize()
    assert list(written) == ["materialized", "projections", *BUILT_IN_TABLES]
    conn = sqlite3.connect(db)
    try:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert set(BUILT_IN_TABLES) <= names
        for table, columns in BUILT_IN_TABLES.items():
            shown = []
            for _, name, kind, _, _, pk in conn.execute(f"PRAGMA table_info([{table}])"):
                shown.append(name + "*" * bool(pk) + (":int" if kind == "INTEGER" else ""))
                assert kind in ("TEXT", "INTEGER"), (table, name, kind)
            assert " ".join(shown) == columns, table
            links = {(row[3], row[2], row[4])
                     for row in conn.execute(f"PRAGMA foreign_key_list([{table}])")}
            assert links == TABLE_LINKS.get(table, set()), table
    finally:
        conn.close()


#: The foreign keys (column, table, column): a tranche links to its agreement, its record and the
#: record that caused it (Datasette shows them as links).
TABLE_LINKS = {"investment_tranches": {("agreement", "investment_agreements", "agreement"),
                                       ("seq", "events", "seq"), ("cause_seq", "events", "seq")}}


def test_gpu_estimates_are_written_in_platform_order_estimated_or_not(tmp_path):
    from ledger import CapacityCommissioned, PlatformSpecified

    db = tmp_path / "book.db"
    with Ledger.open(db, load_entrypoints=False) as book:
        book.append(PlatformSpecified(platform="zeta", vendor="v", gpus_per_gigawatt_low=1,
                                      gpus_per_gigawatt_high=2, unit="die"))
        for site, platform in [("s1", "zeta"), ("s2", "alpha"), ("s3", "mid")]:
            book.append(CapacityCommissioned(site=site, provider="p", vendor="v", platform=platform,
                                             gigawatts=Decimal(1)))
        book.materialize()
    assert rows(db, "SELECT * FROM gpu_estimates ORDER BY rowid") == [
        {"platform": "alpha", "gigawatts": "1", "unit": None, "estimated_low": None,
         "estimated_high": None},
        {"platform": "mid", "gigawatts": "1", "unit": None, "estimated_low": None,
         "estimated_high": None},
        {"platform": "zeta", "gigawatts": "1", "unit": "die", "estimated_low": 1, "estimated_high": 2}]
