"""KPIs on a hand-computed timeline.

Two reps, 24/7, every touch exactly 1 h, leads at t = 0, 0, 0 and 0.5, no SLA ladder:
round robin gives leads 0 and 2 to one rep and 1 and 3 to the other, so lead 2 waits
1 h and lead 3 waits 0.5 h (both reps are busy until t = 1).
"""

from __future__ import annotations

import pytest

from conftest import tiny_scenario_dict
from policies import policy_model
from sim import kpis, queue_length, rep_load, run
from sim.world.scenario import Scenario


@pytest.fixture(scope="module")
def result():
    data = tiny_scenario_dict(
        arrivals={"process": "schedule", "at_hours": [0, 0, 0, 0.5]},
        horizon_days=1,
        qualification={"base": {"A": 1, "B": 1, "C": 1}, "decay": {"kind": "none"}},
    )
    data["team"]["groups"][0].update(count=2, touch_time={"dist": "constant", "value": 1.0})
    policy = policy_model().model_validate({"sla": {"steps": []}})
    return run(Scenario.model_validate(data), policy, seed=0)


def test_first_touch_statistics(result):
    k = kpis(result)
    waits = sorted(result.leads["first_touch_hours"])
    assert waits == [0, 0, 0.5, 1.0]
    assert k["first_touch_hours_mean"] == pytest.approx(0.375)
    assert k["first_touch_hours_median"] == pytest.approx(0.25)
    assert k["first_touch_hours_p90"] == pytest.approx(0.85)  # linear interpolation
    assert k["first_touch_business_hours_mean"] == pytest.approx(0.375)  # 24/7 calendar


def test_counts_and_rates(result):
    k = kpis(result)
    assert k["leads_arrived"] == 4 and k["leads_assigned"] == 4
    assert k["leads_waiting_at_end"] == 0
    assert k["sla_reminders"] == 0 and k["reassignments_per_lead"] == 0
    assert k["qualification_rate"] == 1 and k["leads_qualified"] == 4


def test_utilisation_and_load(result):
    load = rep_load(result)
    assert load["leads_received"].tolist() == [2, 2]
    assert load["busy_hours"].tolist() == pytest.approx([2.0, 2.0])
    assert load["utilisation"].tolist() == pytest.approx([2 / 24, 2 / 24])
    assert kpis(result)["rep_utilisation_mean"] == pytest.approx(2 / 24)


def test_queue_length_and_littles_law(result):
    q = queue_length(result)
    assert list(zip(q["t"], q["waiting"], strict=True)) == [(0, 1), (0.5, 2), (1.0, 0)]
    ends = [*q["t"][1:], 24.0]
    area = sum(w * (t1 - t0) for t0, w, t1 in zip(q["t"], q["waiting"], ends, strict=True))
    assert area / 24 == pytest.approx(4 / 24 * kpis(result)["first_touch_hours_mean"])


def test_a_lead_shares_sum_to_one_when_there_are_a_leads():
    from conftest import SCENARIOS
    from sim import load_scenario
    from sim.outcomes.measurement import a_lead_shares

    res = run(load_scenario(SCENARIOS / "baseline.yaml", ["horizon_days=7"]), None, 2)
    shares = a_lead_shares(res)
    assert len(shares) == len(res.reps) and shares.sum() == pytest.approx(1.0)
    top = kpis(res)["a_leads_top20_share"]
    assert shares.max() <= top <= 1.0
