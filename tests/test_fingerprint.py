"""Outputs pinned: the event logs, tables and KPIs of fixed runs match recorded fingerprints.

A change that only moves or reshapes code must leave every fingerprint unchanged.  A change
that alters outputs on purpose refreshes them with::

    UPDATE_FINGERPRINTS=1 .venv/bin/python -m pytest tests/test_fingerprint.py

and says in CHANGELOG.md which outputs changed and why.  The recorded file keeps each
run's KPI values next to the hashes, so a failing diff shows what moved.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path

import pandas as pd
import pytest

from sim import kpis, load_policy, load_scenario, run

ROOT = Path(__file__).resolve().parent.parent
RECORD = Path(__file__).with_name("fingerprints.json")

# name: (scenario, policy or None, seed, overrides)
CASES = {
    "baseline_round_robin": (
        "scenarios/baseline.yaml",
        "scenarios/policies/source_defaults.yaml",
        1,
        ["horizon_days=7"],
    ),
    "baseline_least_loaded": (
        "scenarios/baseline.yaml",
        "scenarios/policies/least_loaded.yaml",
        2,
        ["horizon_days=7"],
    ),
    "baseline_marketplace": (
        "scenarios/baseline.yaml",
        "scenarios/policies/marketplace.yaml",
        3,
        ["horizon_days=7"],
    ),
    "east_china_before": (
        "scenarios/east_china_medtech.yaml",
        "scenarios/policies/east_china_before.yaml",
        1,
        ["horizon_days=10"],
    ),
    "east_china_after": (
        "scenarios/east_china_medtech.yaml",
        "scenarios/policies/east_china_after.yaml",
        1,
        ["horizon_days=10"],
    ),
    "intake_naive": (
        "scenarios/baseline.yaml",
        "scenarios/policies/naive_required_timeline.yaml",
        4,
        ["horizon_days=5"],
    ),
    "process_demo": (
        "scenarios/process_demo.yaml",
        "scenarios/policies/proof_any_offline.yaml",
        1,
        ["horizon_days=60"],
    ),
    "mmc": ("scenarios/mmc_validation.yaml", None, 5, ["horizon_days=20"]),
}

TABLES = ("events", "leads", "reps", "opportunities", "contracts", "process_events")


def _digest(frame: pd.DataFrame) -> str:
    """SHA-256 of a table's exact text (floats written with repr, so every bit counts)."""
    text = frame.to_csv(index=False, float_format=repr, lineterminator="\n")
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _plain(value):
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, float):
        return repr(value)
    return value if isinstance(value, int | str | bool) or value is None else repr(value)


def fingerprint(name: str) -> dict:
    """Hashes of every table and the KPI values of case *name*."""
    scenario_file, policy_file, seed, overrides = CASES[name]
    scenario = load_scenario(ROOT / scenario_file, overrides)
    policy = load_policy(None if policy_file is None else ROOT / policy_file)
    result = run(scenario, policy, seed=seed)
    tables = {table: _digest(getattr(result, table)) for table in TABLES}
    values = {k: _plain(v) for k, v in sorted(kpis(result).items())}
    return {"tables": tables, "kpis": values, "warnings": list(result.warnings)}


def _recorded() -> dict:
    return json.loads(RECORD.read_text()) if RECORD.exists() else {}


@pytest.mark.parametrize("name", sorted(CASES))
def test_outputs_match_their_fingerprint(name):
    got = fingerprint(name)
    if os.environ.get("UPDATE_FINGERPRINTS"):
        record = _recorded()
        record[name] = got
        RECORD.write_text(json.dumps(dict(sorted(record.items())), indent=1) + "\n")
    recorded = _recorded()
    assert name in recorded, f"no fingerprint recorded for {name}: see the module docstring"
    assert got["kpis"] == recorded[name]["kpis"]
    assert got["tables"] == recorded[name]["tables"]
    assert got["warnings"] == recorded[name]["warnings"]
