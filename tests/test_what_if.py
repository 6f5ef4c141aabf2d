"""The live what-if: a cached baseline, changes run on its seeds, KPI deltas with paired
intervals, the lever widgets and the table a notebook shows."""

from __future__ import annotations

import time

import ipywidgets as widgets
import numpy as np
import pytest

from sim.errors import ConfigError
from sim.experiments.what_if import HEADLINE, WhatIf
from sim.reports.what_if_view import changes_table, lever_widgets, setup_text, values_text

SCENARIO = "scenarios/baseline.yaml"
POLICY = "scenarios/policies/source_defaults.yaml"


@pytest.fixture(scope="module")
def short():
    """The baseline scenario over 3 days, 2 replications (fast)."""
    return WhatIf(SCENARIO, POLICY, horizon_days=3, replications=2, seed=3)


def test_baseline_values_of_the_main_levers(short):
    assert short.defaults == {
        "sla.reclaim_hours": 4.0,
        "allocation.newbie_protection.a_share_max": 1.0,  # off: a cap of 100% bounds nothing
        "routing.name": "round_robin",
        "team.groups.0.count": 12,
        "arrivals.leads_per_month": 3200.0,
    }
    assert list(short.baseline["replication"]) == [0, 1]


def test_unchanged_levers_reproduce_the_baseline_exactly(short):
    result = short.evaluate(dict(short.defaults))
    assert result.overrides == ()
    headline = result.headline()
    assert list(headline["kpi"]) == list(HEADLINE)
    assert (headline["difference"] == 0).all()
    assert set(headline["verdict"]) == {"no clear difference"}


def test_a_change_runs_on_the_baseline_seeds(short):
    result = short.evaluate({"arrivals.leads_per_month": 9000, "team.groups.0.count": 4})
    assert result.overrides == ("arrivals.leads_per_month=9000", "team.groups.0.count=4")
    assert list(result.frame["seed"]) == list(short.baseline["seed"])  # common random numbers
    rows = result.differences.set_index("kpi")
    assert (
        rows.loc["leads_arrived", "candidate_mean"] > 2 * rows.loc["leads_arrived", "baseline_mean"]
    )
    wait = rows.loc["first_touch_hours_mean"]
    assert wait["difference"] > 0 and wait["candidate_mean"] > wait["baseline_mean"]
    # the same change again gives the same numbers (seeded, nothing random left)
    again = short.evaluate({"arrivals.leads_per_month": 9000, "team.groups.0.count": 4})
    assert np.allclose(
        again.differences["difference"], result.differences["difference"], equal_nan=True
    )


def test_policy_lever_changes_only_the_policy(short):
    result = short.evaluate({"routing.name": "least_loaded", "sla.reclaim_hours": 4.0})
    assert result.overrides == ("routing.name=least_loaded",)
    arrived = result.differences.set_index("kpi").loc["leads_arrived"]
    assert arrived["difference"] == 0  # the same leads arrive under either routing rule


def test_bad_levers_and_settings():
    with pytest.raises(ConfigError, match="unknown lever"):
        WhatIf(SCENARIO, POLICY, horizon_days=1, replications=2).evaluate({"nope.x": 1})
    with pytest.raises(ConfigError, match="at least 2 replications"):
        WhatIf(SCENARIO, POLICY, replications=1)
    what_if = WhatIf(SCENARIO, POLICY, horizon_days=1, replications=2)
    with pytest.raises(ConfigError, match="reclaim"):
        what_if.evaluate({"sla.reclaim_hours": 1})  # before the 2 h reminder: one line


def test_widgets_start_at_the_baseline_in_the_report_language(short):
    controls = lever_widgets(short, "en")
    assert isinstance(controls["sla.reclaim_hours"], widgets.FloatSlider)
    assert controls["sla.reclaim_hours"].value == 4.0
    assert controls["sla.reclaim_hours"].description == "SLA reclaim after"
    assert isinstance(controls["team.groups.0.count"], widgets.IntSlider)
    routing = controls["routing.name"]
    assert isinstance(routing, widgets.Dropdown) and routing.value == "round_robin"
    assert ("least loaded", "least_loaded") in routing.options
    assert lever_widgets(short, "zh")["routing.name"].description == "分配规则"


def test_changes_table_and_words(short):
    result = short.evaluate({"arrivals.leads_per_month": 9000, "team.groups.0.count": 4})
    table = changes_table(result, "en")
    assert "<th>Change (95% CI)</th>" in table and "<td>First touch, mean</td>" in table
    assert "<td>worse</td>" in table or "<td>no clear difference</td>" in table
    assert values_text(short, result, "en") == (
        "Changed: Leads per month 3,200 → 9,000; Reps in the first group 12 reps → 4 reps."
    )
    assert "变化（95% 置信区间）" in changes_table(result, "zh")
    text = setup_text(short, "en")
    assert "shortened to 3 days" in text and "2 replications" in text


@pytest.mark.slow
def test_time_per_change_on_the_baseline_scenario():
    """Measured, not asserted (timing belongs to bench/): the notebook's defaults."""
    what_if = WhatIf(SCENARIO, POLICY)
    wall, cpu = time.perf_counter(), time.process_time()
    result = what_if.evaluate({"routing.name": "least_loaded"})
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"\nwhat-if change on {SCENARIO}: {what_if.horizon_days:g} days x "
        f"{what_if.replications} replications: {wall:.2f} s wall, {cpu:.2f} s CPU "
        f"(baseline once: {what_if.baseline_seconds:.2f} s)"
    )
    assert result.overrides == ("routing.name=least_loaded",)
