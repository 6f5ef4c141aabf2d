"""The marketplace inside the engine: posting, claiming, limits, cherry-picking."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import POLICIES, SCENARIOS, tiny_scenario_dict
from policies import policy_model
from sim import kpis, load_policy, load_scenario, run
from sim.outcomes.fairness import stall_positions
from sim.world.scenario import Scenario


def market_run(cherry: float, seed: int = 1, days: int = 14):
    scenario = load_scenario(
        SCENARIOS / "baseline.yaml",
        [f"horizon_days={days}", f"team.cherry_picking={cherry}", "team.groups.0.strength=2"],
    )
    return run(scenario, load_policy(POLICIES / "marketplace.yaml"), seed)


def test_every_lead_is_posted_and_claims_record_reasons():
    result = market_run(0.5, days=7)
    ev = result.events
    assert (ev["kind"] == "lead_posted").sum() == len(result.leads)
    claimed = result.leads["claim_reason"].notna()
    assert claimed.sum() == (ev["kind"] == "lead_claimed").sum()
    assert set(result.leads.loc[claimed, "claim_reason"]) <= {"best score", "oldest"}
    # Every claim is an assignment to the claiming rep at that instant.
    claims = ev[ev["kind"] == "lead_claimed"][["lead_id", "rep_id", "t"]]
    assigned = ev[ev["kind"] == "lead_assigned"][["lead_id", "rep_id", "t"]]
    assert len(claims.merge(assigned, on=["lead_id", "rep_id", "t"])) == len(claims)
    assert "marketplace" in set(stall_positions(result)["position"])


def test_cherry_picking_concentrates_a_leads_on_strong_reps():
    fair = [kpis(market_run(0.0, seed))["a_leads_top20_share"] for seed in (1, 2, 3)]
    picky = [kpis(market_run(0.9, seed))["a_leads_top20_share"] for seed in (1, 2, 3)]
    # Same seeds (common random numbers): cherry-picking raises the share in every pair.
    assert all(p > f for p, f in zip(picky, fair, strict=True))
    assert sum(picky) / 3 - sum(fair) / 3 > 0.03


def test_daily_claim_limit_holds():
    data = tiny_scenario_dict(horizon_days=2, arrivals={"rate_per_hour": 20})
    data["team"]["groups"][0].update(count=2, touch_time={"dist": "constant", "value": 0.01})
    policy = policy_model().model_validate(
        {"marketplace": {"enabled": True, "claim_limit_per_day": 7}, "sla": {"steps": []}}
    )
    result = run(Scenario.model_validate(data), policy, 0)
    claims = result.events[result.events["kind"] == "lead_claimed"]
    per_day = claims.groupby([claims["rep_id"], (claims["t"] // 24).astype(int)]).size()
    assert per_day.max() == 7 and len(per_day) == 4
    assert any("unclaimed in the marketplace" in w for w in result.warnings)


def _open_leads_at_claims(result) -> dict[str, list[int]]:
    """Per rep: open leads it held just before each of its claims (from the event log:
    +1 on assignment, -1 when a touch completes or the lead is reclaimed)."""
    ev = result.events.sort_values(["t"], kind="stable")
    held: dict[str, int] = {}
    before_claim: dict[str, list[int]] = {}
    for kind, rep in zip(ev["kind"], ev["rep_id"], strict=True):
        if kind == "lead_claimed":
            before_claim.setdefault(rep, []).append(held.get(rep, 0))
        elif kind == "lead_assigned":
            held[rep] = held.get(rep, 0) + 1
        elif kind in ("touch_completed", "lead_reclaimed"):
            held[rep] -= 1
    return before_claim


def test_hoarders_claim_ahead_of_capacity_and_others_only_when_idle():
    data = tiny_scenario_dict(horizon_days=3, arrivals={"rate_per_hour": 6})
    slow = {"dist": "constant", "value": 0.5}
    group = {**data["team"]["groups"][0], "touch_time": slow}
    data["team"]["groups"] = [
        {**group, "count": 1, "id_prefix": "hoarder-", "strength": 2, "claim_ahead": 4},
        {**group, "count": 2, "id_prefix": "plain-"},
    ]
    data["team"]["cherry_picking"] = 0.5
    policy = policy_model().model_validate(
        {"marketplace": {"enabled": True, "claim_limit_per_day": 40}, "sla": {"steps": []}}
    )
    result = run(Scenario.model_validate(data), policy, 2)
    held = _open_leads_at_claims(result)
    hoarder = held.pop("hoarder-1")
    assert max(hoarder) == 4  # claims while holding up to claim_ahead leads, never more
    assert len(held) == 2 and all(max(v) == 0 for v in held.values())  # idle claims only
    # The hoarder holds leads it is not working: they wait in its queue.
    leads = result.leads
    waits = leads["first_touch_t"] - leads["assigned_t"]
    assert waits[leads["touch_rep"] == "hoarder-1"].max() >= 1.0
    assert waits[leads["touch_rep"] != "hoarder-1"].max() == 0.0


def test_claim_filters_are_respected():
    data = tiny_scenario_dict(horizon_days=1, leads={"industries": {"lab": 1, "clinic": 1}})
    data["team"]["groups"][0].update(count=1, claim_filters={"industries": ["lab"]})
    policy = policy_model().model_validate({"marketplace": {"enabled": True}})
    leads = run(Scenario.model_validate(data), policy, 3).leads
    touched = leads[leads["first_touch_t"].notna()]
    assert len(touched) > 0 and set(touched["industry"]) == {"lab"}


@settings(max_examples=12, deadline=None)
@given(
    cherry=st.floats(0, 1),
    limit=st.integers(1, 20),
    grades=st.lists(st.sampled_from("ABC"), min_size=1, max_size=3, unique=True),
    seed=st.integers(0, 10_000),
)
def test_no_lead_is_lost_or_touched_twice(cherry, limit, grades, seed):
    data = tiny_scenario_dict(horizon_days=2, arrivals={"rate_per_hour": 4})
    data["team"]["cherry_picking"] = cherry
    policy = policy_model().model_validate(
        {"marketplace": {"enabled": True, "claim_limit_per_day": limit, "publish_grades": grades}}
    )
    result = run(Scenario.model_validate(data), policy, seed)
    ev = result.events
    touched = ev[ev["kind"] == "touch_started"]["lead_id"]
    assert touched.is_unique
    leads = result.leads
    waiting = kpis(result)["leads_waiting_at_end"]
    assert len(leads) == len(touched) + waiting
    assert (ev["kind"] == "lead_arrived").sum() == len(leads)


def test_marketplace_policy_file_validates():
    assert load_policy(POLICIES / "marketplace.yaml").marketplace.enabled
    with pytest.raises(Exception, match="publish_grades"):
        policy_model().model_validate({"marketplace": {"publish_grades": ["Z"]}})
