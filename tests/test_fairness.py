"""Fairness and flow measures on hand-computed cases."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import tiny_scenario_dict
from policies import policy_model
from sim import kpis, run
from sim.outcomes.fairness import gini, new_rep_waits, stall_positions, stall_segments
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
