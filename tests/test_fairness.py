"""Fairness and flow measures on hand-computed cases."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from conftest import tiny_scenario_dict
from policies import policy_model
from sim import kpis, run
from sim.outcomes.fairness import (
    gini,
    new_rep_wait_survival,
    new_rep_waits,
    stall_positions,
    stall_segments,
)
from sim.world.scenario import Scenario


def test_gini_known_values():
    assert gini([1, 1, 1, 1]) == pytest.approx(0.0)
    assert gini([0, 0, 0, 4]) == pytest.approx(0.75)  # (n - 1) / n when one holds all
    assert gini([1, 2, 3, 4]) == pytest.approx(0.25)
    assert pd.isna(gini([0, 0]))


@pytest.fixture(scope="module")
def reclaim_case():
    """Two 24/7 reps busy 10 h; lead 2 is reclaimed twice then waits in the pool."""
    data = tiny_scenario_dict(
        arrivals={"process": "schedule", "at_hours": [0.0, 0.1, 0.2]}, horizon_days=1
    )
    data["team"]["groups"][0].update(count=2, touch_time={"dist": "constant", "value": 10.0})
    policy = policy_model().model_validate({"sla": {"clock": "calendar"}})
    return run(Scenario.model_validate(data), policy, seed=7)


def test_stall_segments_follow_the_lead(reclaim_case):
    seg = stall_segments(reclaim_case)
    lead2 = seg[seg["lead_id"] == 2]
    assert lead2["position"].tolist() == ["rep queue", "reclaim", "rep queue", "reclaim", "pool"]
    assert lead2["hours"].round(6).tolist() == [4.0, 0.0, 4.0, 0.0, 24 - 8.2]
    # Leads 0 and 1 were touched at once: a zero-length queue stretch each.
    assert seg[seg["lead_id"] < 2]["hours"].tolist() == [0.0, 0.0]


def test_stall_positions_rank_where_time_is_lost(reclaim_case):
    table = stall_positions(reclaim_case)
    assert table.iloc[0]["position"] == "pool"
    assert table.iloc[0]["total_hours"] == pytest.approx(15.8)
    queues = table[table["position"].str.startswith("rep queue: ")]
    assert sorted(queues["total_hours"].round(6)) == [4.0, 4.0]
    assert kpis(reclaim_case)["pool_wait_hours_mean"] == pytest.approx(15.8)


def test_cross_region_share_and_new_rep_wait():
    data = tiny_scenario_dict(
        arrivals={"process": "schedule", "at_hours": [1.0, 2.0, 3.0, 30.0, 30.1, 30.2]},
        horizon_days=2,
        leads={"regions": {"east": 1.0}},
        qualification={"base": {"A": 1, "B": 1, "C": 1}, "decay": {"kind": "none"}},
    )
    data["team"]["groups"] = []
    data["team"]["reps"] = [
        {"id": "east-old", "region": "east", "calendar": "always"},
        {"id": "north-old", "region": "north", "calendar": "always"},
        {"id": "east-new", "region": "east", "calendar": "always", "hire_date": "2026-01-06"},
    ]
    result = run(Scenario.model_validate(data), policy_model()(), seed=0)
    leads = result.leads
    crossed = (leads["first_rep"] == "north-old").mean()
    assert kpis(result)["cross_region_share"] == pytest.approx(crossed)
    waits = new_rep_waits(result)
    assert waits["rep_id"].tolist() == ["east-new"]
    # Hired at t = 24 h; round robin over 3 reps gives it one of the leads at 30.0-30.2.
    got = waits.iloc[0]
    assert not got["censored"]
    assert 6.0 / 24 <= got["days_to_first_valid_lead"] <= 6.2 / 24 + 1e-12


def test_new_rep_wait_survival_reads_censored_waits_by_hand():
    # Five new reps; two had no valid lead by the horizon (censored at 3 and 6 days).
    #   wait  censored  at risk  Kaplan-Meier share still waiting
    #   2     no        5        1 x 4/5             = 0.8
    #   3     yes       -        (leaves the risk set; no step)
    #   4     no        3        0.8 x 2/3           = 0.5333
    #   5     no        2        0.5333 x 1/2        = 0.2667   <- first below 1/2: median 5
    #   6     yes       -        0.2667 to the end
    # The plain means understate it: 4.0 with censored waits counted to the horizon,
    # 3.67 with them dropped.
    waits = pd.DataFrame(
        {
            "days_to_first_valid_lead": [4.0, 3.0, 2.0, 6.0, 5.0],
            "censored": [False, True, False, True, False],
        }
    )
    got = new_rep_wait_survival(waits)
    assert got["reps"] == 5 and got["censored"] == 2
    assert got["censored_share"] == pytest.approx(0.4)
    assert got["km_median_days"] == pytest.approx(5.0)
    assert got["km_still_waiting"] == pytest.approx(0.8 * 2 / 3 * 1 / 2)
    assert got["followup_days"] == 6.0
    assert got["mean_days_to_horizon"] == pytest.approx(4.0)


def test_new_rep_wait_survival_median_not_reached():
    # One wait of 1 day ended, three were cut off at 2, 3 and 4 days: the share still
    # waiting is 3/4 after day 1 and never falls below 1/2, so the median is longer than
    # the 4 days followed (not a number).
    waits = pd.DataFrame(
        {"days_to_first_valid_lead": [1.0, 2.0, 3.0, 4.0], "censored": [False, True, True, True]}
    )
    got = new_rep_wait_survival(waits)
    assert math.isnan(got["km_median_days"])
    assert got["km_still_waiting"] == pytest.approx(0.75)
    assert got["followup_days"] == 4.0
    everyone = new_rep_wait_survival(waits.assign(censored=True))
    assert math.isnan(everyone["km_median_days"]) and everyone["km_still_waiting"] == 1.0
    nobody = new_rep_wait_survival(waits.iloc[:0])
    assert nobody["reps"] == 0 and math.isnan(nobody["censored_share"])
