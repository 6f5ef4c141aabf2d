"""The leads table's attribute columns taken from the lead factory's drawn blocks, and
the string columns taken from codes, equal the columns read lead by lead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import POLICIES, SCENARIOS
from sim import load_policy, load_scenario, run
from sim.engine.columns import (
    inferred_str_array,
    inferred_str_array_of_codes,
    string_array,
    string_array_of_codes,
)
from sim.engine.lead_factory import LeadFactory


@pytest.mark.parametrize(
    ("scenario", "policy", "sets"),
    [
        ("mmc_validation.yaml", "no_sla.yaml", ["horizon_days=6", "warmup_days=1"]),
        ("baseline.yaml", "source_defaults.yaml", ["horizon_days=10"]),
    ],
)
def test_drawn_columns_match_the_leads(monkeypatch, scenario, policy, sets):
    scenario = load_scenario(SCENARIOS / scenario, sets)
    policy = load_policy(POLICIES / policy)
    calls = []
    drawn_columns = LeadFactory.drawn_columns

    def spy(self, n):
        calls.append(n)
        return drawn_columns(self, n)

    monkeypatch.setattr(LeadFactory, "drawn_columns", spy)
    fast = run(scenario, policy, 4)
    assert calls == [len(fast.leads)]  # the fast path was taken
    monkeypatch.setattr(LeadFactory, "drawn_columns", lambda self, n: None)
    slow = run(scenario, policy, 4)
    pd.testing.assert_frame_equal(fast.leads, slow.leads, check_exact=True)
    assert fast.leads["timeline_days"].isna().any() or scenario.leads.timeline_known == 1.0


@pytest.mark.parametrize("policy", ["channel_mapping.yaml", "naive_required_timeline.yaml"])
def test_intake_defaults_read_the_leads(monkeypatch, policy):
    """A policy that fills channel defaults changes drawn values: no drawn columns."""
    scenario = load_scenario(SCENARIOS / "baseline.yaml", ["horizon_days=10"])
    policy = load_policy(POLICIES / policy)
    calls = []
    monkeypatch.setattr(LeadFactory, "drawn_columns", lambda self, n: calls.append(n))
    result = run(scenario, policy, 4)
    assert result.leads["defaulted_fields"].notna().any()
    assert calls == []


def test_string_arrays_of_codes():
    codes = np.array([0, 2, 1, -1, 0, -1])
    with_none = ["a", "b", "c", None]
    expected = string_array(np.asarray(with_none, dtype=object)[codes])
    pd.testing.assert_extension_array_equal(string_array_of_codes(with_none, codes), expected)
    categories = np.asarray(["x", "y", "z"], dtype=object)
    codes = np.array([2, 0, 0, 1])
    pd.testing.assert_extension_array_equal(
        inferred_str_array_of_codes(categories, codes), inferred_str_array(categories[codes])
    )
