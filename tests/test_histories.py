"""The histories in events/: they replay, and the figures agree with the files' own numbers."""

from __future__ import annotations

import json
import math
import os
import sqlite3
from decimal import Decimal

import pytest

from ledger import Ledger

from .conftest import EVENTS

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
    assert result.code == 0
    for heading in ("== investment ==", "== gpu_inventory ==", "== provider_mix =="):
        assert heading in result.out
    assert "released in all: $100 B" in result.out and "Traceback" not in result.out


def test_both_histories_together(tmp_path):
    with Ledger.open(tmp_path / "both.db", load_entrypoints=False) as book:
        book.import_jsonl(PLAN, REPORTED)
        assert book.verify()[0] == len(book)
