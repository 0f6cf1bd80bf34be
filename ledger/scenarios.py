"""Scenario marks: a record whose ``meta.scenario`` is ``true`` is a scenario, not a reported fact.

A view counts the scenario records it folds (``as_of.scenario_records`` in the report), so that a
report built partly from a scenario says so. The count is taken on the replay's hot path, from the
stored meta text: meta is stored as canonical JSON (sorted keys, no spaces), so a record marked
as a scenario holds the exact text ``"scenario":true``; the text is parsed, to be sure the mark is
the top-level one, only when that substring is there (a few records in a log, if any).

Importing histories with and without scenario records at once adds hypotheses to facts: the
ledger warns (``ScenarioWarning``), naming the files.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .canonical import loads

#: The text a scenario record's stored meta holds (canonical JSON).
MARK = '"scenario":true'


class ScenarioWarning(UserWarning):
    """One import mixes histories with scenario records and histories without any."""


def is_scenario(meta_text: str) -> bool:
    """Whether a record's stored meta text (canonical JSON) marks it as a scenario."""
    if MARK not in meta_text:
        return False
    meta = loads(meta_text)
    return isinstance(meta, dict) and meta.get("scenario") is True


def marks_scenario(meta: Any) -> bool:
    """Whether a history line's ``meta`` (a parsed object, or None) marks it as a scenario."""
    return isinstance(meta, Mapping) and meta.get("scenario") is True


def mixed_histories(counts: Mapping[str, int]) -> str | None:
    """The warning for one import of several histories (path: scenario records in it), or None
    when they are all scenarios or all facts."""
    scenarios = [f"{path} ({count})" for path, count in counts.items() if count]
    facts = [path for path, count in counts.items() if not count]
    if not scenarios or not facts:
        return None
    return (f"histories with scenario records (meta.scenario), {', '.join(scenarios)}, are mixed "
            f"with histories of reported facts only, {', '.join(facts)}: the report adds the "
            "scenario's figures to the reported ones")


def mixed_with_ledger(records: int, scenario_records: int, counts: Mapping[str, int]) -> str | None:
    """The warning for an import that mixes kinds with what the ledger held before it
    (``records``, of which ``scenario_records`` marked): histories with scenario records into a
    ledger of reported facts only, or histories of facts only into a ledger with scenario
    records; None otherwise (``mixed_histories`` speaks of the histories among themselves)."""
    scenarios = [f"{path} ({count})" for path, count in counts.items() if count]
    if not records or (scenarios and len(scenarios) < len(counts)):
        return None
    if scenarios and not scenario_records:
        return (f"histories with scenario records (meta.scenario), {', '.join(scenarios)}, are "
                f"imported into a ledger of reported facts only ({records} records): the report "
                "adds the scenario's figures to the reported ones")
    if not scenarios and scenario_records:
        return (f"histories of reported facts only, {', '.join(counts)}, are imported into a "
                f"ledger with {scenario_records} scenario records (meta.scenario): the report "
                "adds the scenario's figures to the reported ones")
    return None
