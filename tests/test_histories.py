"""The histories in events/: they replay, and the figures agree with the files' own numbers."""

from __future__ import annotations

import glob
import json
import math
import os
import sqlite3
from decimal import Decimal

import pytest

from ledger import Ledger, ScenarioWarning

from .conftest import EVENTS, ROOT

PLAN = os.path.join(EVENTS, "nvidia-openai-plan.jsonl")
REPORTED = os.path.join(EVENTS, "openai-compute-2025-2026.jsonl")


def lines(path):
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line, parse_float=Decimal) for line in handle if line.strip()]


@pytest.mark.parametrize("path", [PLAN, REPORTED])
def test_every_line_has_an_id_and_a_source_and_is_in_date_order(path):
    history = lines(path)
    assert len({line["id"] for line in history}) == len(history)
    assert all(line["meta"]["source"].startswith("https://") for line in history)
    dates = [line["occurred_at"] for line in history]
    assert dates == sorted(dates)


def test_the_plans_releases_follow_from_its_own_numbers(run):
    history = lines(PLAN)
    (signed,) = [l for l in history if l["type"] == "agreement.signed" and l["data"]["status"] == "definitive"]
    terms = signed["data"]
    name = terms["agreement"]
    commissioned = sum((Decimal(l["data"]["gigawatts"]) for l in history
                        if l["type"] == "capacity.commissioned" and l["data"].get("agreement") == name),
                       Decimal(0))
    whole = math.floor(commissioned / Decimal(terms.get("tranche_gigawatts", "1")))
    expected = min(whole * Decimal(terms["tranche_usd"]), Decimal(terms["cap_usd"]))
    result = run("replay", PLAN, "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert Decimal(report["investment"]["released_usd"]) == expected == 100 * 10**9
    agreement = report["investment"]["agreements"][name]
    assert Decimal(agreement["commissioned_gigawatts"]) == commissioned
    assert agreement["tranches_released"] == whole == len(agreement["tranches"])
    assert [t["tranche"] for t in agreement["tranches"]] == list(range(1, whole + 1))
    assert all(l["meta"].get("scenario") for l in history if l["type"] == "capacity.commissioned")


def test_the_plan_until_a_date(run):
    report = json.loads(run("replay", PLAN, "--json", "--until", "2027-12-31").out)
    history = lines(PLAN)
    commissioned = sum((Decimal(l["data"]["gigawatts"]) for l in history
                        if l["type"] == "capacity.commissioned" and l["occurred_at"] <= "2027-12-31"),
                       Decimal(0))
    assert Decimal(report["investment"]["released_usd"]) == math.floor(commissioned) * 10 * 10**9
    assert report["as_of"]["until"] == "2027-12-31"


def test_the_letter_of_intent_releases_nothing_and_is_superseded(run):
    report = json.loads(run("replay", REPORTED, "--json").out)
    investment = report["investment"]
    (loi,) = [a for a in investment["agreements"].values() if a["investor"] == "nvidia"]
    assert loi["status"] == "superseded"
    assert (loi["released_usd"], loi["tranches_released"], loi["tranches"]) == ("0", 0, [])
    moved = sum(Decimal(l["data"]["usd"]) for l in lines(REPORTED) if l["type"] == "investment.released")
    assert Decimal(investment["released_usd"]) == moved


def test_provider_shares_sum_to_one_per_basis(run):
    mix = json.loads(run("replay", REPORTED, "--json").out)["provider_mix"]
    for basis in (mix["commissioned_gigawatts"]["by_provider"], mix["commissioned_gigawatts"]["by_vendor"],
                  mix["contracted_usd"]["by_provider"]):
        assert basis and sum(Decimal(share) for share in basis.values()) == Decimal("1.0000")
    latest = {}
    for line in lines(REPORTED):
        if line["type"] == "provider.contracted":
            latest[line["data"]["contract"]] = (line["data"]["provider"], Decimal(line["data"]["usd"]))
    by_provider = {}
    for provider, usd in latest.values():
        by_provider[provider] = by_provider.get(provider, 0) + usd
    assert {p: Decimal(v) for p, v in mix["contracted_usd"]["usd_by_provider"].items()} == by_provider


@pytest.mark.parametrize("path", [PLAN, REPORTED])
def test_importing_twice_or_reimporting_the_export_changes_nothing(run, tmp_path, path):
    db = tmp_path / "db.sqlite"
    assert run("import", db, path).code == 0
    first = json.loads(run("report", db, "--json").out)
    second = run("import", db, path)
    assert second.code == 0 and "imported 0 records" in second.out
    run("export", db, "-o", tmp_path / "out.jsonl")
    assert run("import", db, tmp_path / "out.jsonl").code == 0
    assert json.loads(run("report", db, "--json").out) == first
    copy = tmp_path / "copy.sqlite"
    assert run("import", copy, tmp_path / "out.jsonl").code == 0
    assert json.loads(run("report", copy, "--json").out) == first
    assert run("verify", copy).out == run("verify", db).out.replace(str(db), str(copy))


def test_the_reported_history_verifies_and_tampering_is_named(run, tmp_path):
    db = tmp_path / "db.sqlite"
    assert run("import", db, REPORTED).code == 0
    assert run("verify", db).code == 0
    connection = sqlite3.connect(db)
    with pytest.raises(sqlite3.DatabaseError):
        connection.execute("UPDATE events SET data = '{}' WHERE seq = 7")
    with pytest.raises(sqlite3.DatabaseError):
        connection.execute("DELETE FROM events WHERE seq = 7")
    connection.executescript("DROP TRIGGER events_no_update; "
                             "UPDATE events SET data = replace(data, '0', '1') WHERE seq = 7;")
    connection.close()
    result = run("verify", db)
    assert result.code == 1 and result.err.strip() == f"{db}: seq 7: hash does not match the record"


def test_the_readme_main_job_prints_a_readable_report(run):
    result = run("replay", PLAN)
    assert result.code == 0 and result.err == ""
    for heading in ("== investment ==", "== gpu_inventory ==", "== provider_mix ==", "== pipeline =="):
        assert heading in result.out
    assert "released in all: $100 B" in result.out and "Traceback" not in result.out
    lines = result.out.splitlines()
    assert lines[1] == ("includes 51 scenario records (meta.scenario): these figures are partly a "
                        "scenario, not reported facts")
    header = next(i for i, line in enumerate(lines) if line.startswith("investor "))
    assert lines[header].split()[:4] == ["investor", "investee", "intended", "agreed"]
    nvidia = lines[header + 2].split()
    assert nvidia == ["nvidia", "openai", "$0", "$100", "B", "$0", "$0", "$100", "B"]  # agreed, released
    assert "as of 2029-12-15: 10 GW planned, 10 GW delivered, 0 GW remaining; 0 GW late" in result.out


def test_the_readme_shows_the_main_job_as_it_prints(run):
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    shown = readme.split("\n```text\n", 1)[1].split("\n```\n", 1)[0]
    printed = run("replay", PLAN).out  # the report names no path: the same from any folder
    assert [line.rstrip() for line in shown.splitlines()] == [
        line.rstrip() for line in printed.splitlines()]


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(EVENTS, "*.jsonl"))),
                         ids=os.path.basename)
def test_every_shipped_line_has_a_source_and_a_confidence_and_only_scenarios_may_lack_a_source(path):
    for line in lines(path):
        meta = line["meta"]
        assert meta["confidence"] in ("high", "medium", "low"), line["id"]
        if not str(meta.get("source", "")).startswith("https://"):
            assert meta.get("scenario") is True, f"{line['id']}: no source, and not a scenario"
        if meta.get("scenario"):
            assert meta["scenario"] is True
            assert meta["note"].startswith("scenario: not reported"), line["id"]


def test_lines_without_a_source_are_caught_unless_they_are_scenarios(tmp_path):
    """The check above can fail: a reported line without a source is named."""
    good = lines(REPORTED)
    bad = [dict(good[0], meta={"confidence": "high"})] + good[1:]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in bad), encoding="utf-8")
    with pytest.raises(AssertionError, match="oc-0001: no source, and not a scenario"):
        test_every_shipped_line_has_a_source_and_a_confidence_and_only_scenarios_may_lack_a_source(
            str(path))
    scenario = dict(good[0], meta={"confidence": "low", "scenario": True,
                                   "note": "scenario: not reported; assumed"})
    path.write_text(json.dumps(scenario), encoding="utf-8")
    test_every_shipped_line_has_a_source_and_a_confidence_and_only_scenarios_may_lack_a_source(
        str(path))


def test_the_reported_history_is_facts_only_and_every_plan_has_a_sourced_due_date():
    history = lines(REPORTED)
    assert not any("scenario" in line["meta"] for line in history)
    plans = [line for line in history if line["type"] == "capacity.planned"]
    assert {line["data"]["site"] for line in plans} == {
        "stargate-uae", "abilene", "stargate-norway", "openai-broadcom", "port-washington",
        "lordstown-and-milam-county", "cerebras-openai"}
    assert all(line["meta"]["source"].startswith("https://") for line in plans)


def pipeline_model(history, day):
    """The pipeline's totals from the file's own lines, as of ``day`` (YYYY-MM-DD)."""
    plans, commissioned = {}, {}
    for line in history:
        data = line["data"]
        key = (data.get("site"), data.get("provider"), data.get("platform"))
        if line["occurred_at"] > day:
            continue
        if line["type"] == "capacity.planned":
            plans[key] = (Decimal(data["gigawatts"]), data["due"])
        elif line["type"] == "capacity.commissioned":
            commissioned[key] = commissioned.get(key, Decimal(0)) + Decimal(data["gigawatts"])
    planned = sum((gw for gw, _ in plans.values()), Decimal(0))
    delivered = sum((min(commissioned.get(key, Decimal(0)), gw) for key, (gw, _) in plans.items()),
                    Decimal(0))
    late = [gw - commissioned.get(key, Decimal(0)) for key, (gw, due) in plans.items()
            if due < day and gw > commissioned.get(key, Decimal(0))]
    return {"planned_gigawatts": planned, "delivered_gigawatts": delivered,
            "remaining_gigawatts": planned - delivered, "late_gigawatts": sum(late, Decimal(0)),
            "late_keys": len(late)}


def totals(report):
    return {key: value if key == "late_keys" else Decimal(value)
            for key, value in report["pipeline"]["totals"].items()}


def test_the_reported_pipeline_as_of_its_last_record_and_a_year_later(run):
    history = lines(REPORTED)
    now = json.loads(run("replay", REPORTED, "--json").out)
    assert now["pipeline"]["as_of_date"] == "2026-04-15" == history[-1]["occurred_at"]
    assert totals(now) == pipeline_model(history, "2026-04-15") == {
        "planned_gigawatts": Decimal("14.88"), "delivered_gigawatts": Decimal("0.3"),
        "remaining_gigawatts": Decimal("14.58"), "late_gigawatts": 0, "late_keys": 0}
    abilene = [p for p in now["pipeline"]["plans"] if p["site"] == "abilene"]
    assert abilene == [{"site": "abilene", "provider": "oracle", "platform": "gb200", "vendor": "nvidia",
                        "planned_gigawatts": "1.2", "due": "2026-12-31", "commissioned_gigawatts": "0.3",
                        "remaining_gigawatts": "0.9", "status": "on_track"}]  # re-planned to Q4 2026
    later = json.loads(run("replay", REPORTED, "--json", "--until", "2027").out)
    assert later["pipeline"]["as_of_date"] == "2027-12-31"
    assert totals(later) == pipeline_model(history, "2027-12-31")
    assert (later["pipeline"]["totals"]["late_gigawatts"], later["pipeline"]["totals"]["late_keys"]) == ("2.83", 4)
    assert {p["site"] for p in later["pipeline"]["plans"] if p["status"] == "late"} == {
        "abilene", "stargate-norway", "stargate-uae", "lordstown-and-milam-county"}
    assert later["pipeline"]["by_vendor"]["broadcom"]["planned_gigawatts"] == "10"
    # Before the re-plan, Abilene's mid-2026 due date stood.
    march = json.loads(run("replay", REPORTED, "--json", "--until", "2026-03").out)
    assert [p["due"] for p in march["pipeline"]["plans"] if p["site"] == "abilene"] == ["2026-06-30"]


def test_the_plans_pipeline_over_time(run):
    history = lines(PLAN)
    for until in ("2026-12", "2027-06", "2028", "2029-12-15"):
        report = json.loads(run("replay", PLAN, "--json", "--until", until).out)
        assert totals(report) == pipeline_model(history, report["pipeline"]["as_of_date"]), until
    end = json.loads(run("replay", PLAN, "--json").out)["pipeline"]
    assert {p["status"] for p in end["plans"]} == {"done"} and end["totals"]["planned_gigawatts"] == "10"


def test_money_by_investor_in_both_histories(run):
    plan = json.loads(run("replay", PLAN, "--json").out)["investment"]["investors"]
    assert (plan["nvidia"]["intended_usd"], plan["nvidia"]["agreed_usd"]) == ("0", "100000000000")
    reported = json.loads(run("replay", REPORTED, "--json").out)["investment"]["investors"]
    assert (reported["nvidia"]["intended_usd"], reported["nvidia"]["agreed_usd"]) == ("0", "0")
    assert reported["nvidia"]["committed_usd"] == "30000000000"
    before = json.loads(run("replay", REPORTED, "--json", "--until", "2026-02-26").out)
    assert before["investment"]["investors"]["nvidia"]["intended_usd"] == "100000000000"  # the LOI


def test_both_histories_together(tmp_path):
    with Ledger.open(tmp_path / "both.db", load_entrypoints=False) as book:
        with pytest.warns(ScenarioWarning, match="mixed with histories of reported facts only"):
            book.import_jsonl(PLAN, REPORTED)
        assert book.verify()[0] == len(book)
        assert book.replay().report()["as_of"]["scenario_records"] == 51  # the plan's 41 lines and its 10 releases


def test_the_reported_money_by_investor_and_investee(run):
    """Issue 19's acceptance: $41 B released (SoftBank's $30 B and the co-investors' $11 B of the
    completed $41 B round); SoftBank's conditional $20 B met, so nothing of it pending; SoftBank's
    money for OpenAI apart from its money for SB Energy; OpenAI an investor of SB Energy only."""
    history = lines(REPORTED)
    investment = json.loads(run("replay", REPORTED, "--json").out)["investment"]
    assert investment["released_usd"] == "41000000000"
    investors = investment["investors"]
    softbank = investors["softbank"]["by_investee"]
    assert softbank["openai"]["conditional_usd"] == "0"
    # what the file commits from SoftBank to OpenAI, the met condition included
    to_openai = sum((Decimal(l["data"]["usd"]) for l in history if l["type"] == "funding.committed"
                     and (l["data"]["investor"], l["data"]["investee"]) == ("softbank", "openai")),
                    Decimal(0))
    assert Decimal(softbank["openai"]["committed_usd"]) == to_openai == 60 * 10**9
    assert softbank["sb-energy"]["committed_usd"] == "500000000"
    assert investors["softbank"]["committed_usd"] == "60500000000"  # the sum of the two
    assert set(investors["openai"]["by_investee"]) == {"sb-energy"}
    assert investors["openai"]["committed_usd"] == "500000000"
    co = investors["co-investors-2025"]["by_investee"]["openai"]
    assert (co["committed_usd"], co["released_usd"]) == ("11000000000", "11000000000")
    for name, figures in investors.items():  # the per-investor figures are the sums
        for key in ("intended_usd", "agreed_usd", "committed_usd", "conditional_usd", "released_usd"):
            assert Decimal(figures[key]) == sum(
                (Decimal(f[key]) for f in figures["by_investee"].values()), Decimal(0)), (name, key)
    assert investment["conditional_commitments"]["oc-0003"]["status"] == "met"
    assert investment["conditional_commitments"]["oc-0032"]["status"] == "pending"  # Amazon's $35 B
    before = json.loads(run("replay", REPORTED, "--json", "--until", "2025-10-27").out)["investment"]
    assert before["investors"]["softbank"]["by_investee"]["openai"]["conditional_usd"] == "20000000000"
    assert before["conditional_commitments"]["oc-0003"]["status"] == "pending"


def test_the_reported_text_report_says_what_the_shares_leave_out(run):
    text = run("replay", REPORTED).out
    assert ("also running, amounts not published: coreweave, microsoft — the shares cover published "
            "figures only") in text
    assert "oc-0003                   softbank -> openai     $20 B  met" in text
    investment = text.split("== investment ==", 1)[1].split("== gpu_inventory ==", 1)[0]
    rows = [line.split()[:2] for line in investment.splitlines()
            if line.startswith(("softbank ", "openai "))]
    assert rows == [["openai", "sb-energy"], ["softbank", "openai"], ["softbank", "sb-energy"]]
    mix = json.loads(run("replay", REPORTED, "--json").out)["provider_mix"]["commissioned_gigawatts"]
    assert mix["unquantified_providers"] == ["coreweave", "microsoft"]
    assert mix["gigawatts_by_provider"] == {"oracle": "0.3"}  # no gigawatts invented for them
    early = run("replay", REPORTED, "--until", "2026-02-26").out  # before they were reported
    assert "amounts not published" not in early


def test_the_oracle_contract_is_never_reported_as_a_yearly_figure(run):
    """About $30 B a year (July 2025) is no total: the contract enters with its total."""
    for until in ("2025-07-22", "2025-09-09"):
        usd = json.loads(run("replay", REPORTED, "--json", "--until", until).out)["provider_mix"]
        assert "oracle" not in usd["contracted_usd"]["usd_by_provider"], until
    after = json.loads(run("replay", REPORTED, "--json", "--until", "2025-09-10").out)["provider_mix"]
    assert after["contracted_usd"]["usd_by_provider"]["oracle"] == "300000000000"


def test_the_gpu_band_is_the_sources_and_the_estimate_follows_it(run):
    specified = {l["data"]["platform"]: (l["data"]["gpus_per_gigawatt_low"], l["data"]["gpus_per_gigawatt_high"])
                 for l in lines(REPORTED) if l["type"] == "platform.specified"}
    assert specified == {"gb200": (400_000, 500_000), "gb300": (400_000, 500_000)}
    gpus = json.loads(run("replay", REPORTED, "--json").out)["gpu_inventory"]
    assert (gpus["estimated_low"], gpus["estimated_high"]) == (120_000, 150_000)  # 0.3 GW
