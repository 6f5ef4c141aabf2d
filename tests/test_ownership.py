"""Customer ownership (DOMAIN.md 1, "one customer touched by 3 different reps"): leads
come from a pool of customers, ``allocation.keep_owner`` sends a known customer's lead
to its owner, and ``customers_multi_rep`` counts customers touched by several reps."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
from pydantic import ValidationError

from conftest import LeadStub, RepStub, tiny_scenario_dict
from policies import policy_model
from policies.allocation import Allocation, AllocationParams
from sim import kpis, run
from sim.outcomes.fairness import customer_reps
from sim.world.scenario import Scenario

Rep, Lead = RepStub, LeadStub


START = dt.datetime(2026, 3, 2)


def test_owner_is_the_rep_of_the_customers_first_assigned_lead():
    reps = [Rep(i, f"r{i}") for i in range(3)]
    alloc = Allocation(AllocationParams(keep_owner=True), reps, START)
    assert alloc.owner(Lead(customer_id=7)) is None
    alloc.record(Lead(customer_id=7), reps[1], 0.0)
    alloc.record(Lead(customer_id=7), reps[2], 1.0)  # a later lead does not move ownership
    alloc.record(Lead(customer_id=None), reps[0], 2.0)  # no customer: nothing to own
    alloc.note_owner(Lead(customer_id=7), reps[0])  # a claim never overrides an owner...
    alloc.note_owner(Lead(customer_id=3), reps[0])  # ...but sets the first one
    assert alloc.owners == {7: 1, 3: 0}
    assert alloc.received == [1, 1, 1]  # note_owner alone counts nothing
    assert alloc.owner_among(Lead(customer_id=7), reps) is reps[1]
    assert alloc.owner_among(Lead(customer_id=7), [reps[0], reps[2]]) is None  # not eligible
    assert alloc.owner_among(Lead(customer_id=5), reps) is None
    assert alloc.owner_among(Lead(), reps) is None


def test_keep_owner_is_off_by_default_and_customer_pool_is_validated():
    assert AllocationParams().keep_owner is False
    assert Scenario.model_validate(tiny_scenario_dict()).leads.customer_pool is None
    with pytest.raises(ValidationError, match="customer_pool"):
        Scenario.model_validate(tiny_scenario_dict(leads={"customer_pool": 0}))


def _policy(keep_owner: bool, **extra):
    # No SLA ladder: a reclaim would (rightly) take a lead away from its owner.
    return policy_model().model_validate(
        {"sla": {"steps": []}, "allocation": {"keep_owner": keep_owner}, **extra}
    )


def _tiny(pool: int | None = 8, days: float = 4) -> Scenario:
    leads = {} if pool is None else {"leads": {"customer_pool": pool}}
    return Scenario.model_validate(tiny_scenario_dict(horizon_days=days, **leads))


def _multi_rep_by_hand(leads: pd.DataFrame) -> int:
    reps: dict[int, set[str]] = {}
    for customer, rep in zip(leads["customer_id"], leads["touch_rep"], strict=True):
        if rep is not pd.NA:
            reps.setdefault(int(customer), set()).add(rep)
    return sum(len(r) > 1 for r in reps.values())


def test_customers_are_drawn_from_the_pool_on_their_own_stream():
    with_pool, without = run(_tiny(8), _policy(False), 4), run(_tiny(None), _policy(False), 4)
    ids = with_pool.leads["customer_id"]
    assert str(ids.dtype) == "Int64" and ids.notna().all()
    assert ids.min() >= 0 and ids.max() < 8 and ids.nunique() == 8
    assert str(without.leads["customer_id"].dtype) == "Int64"
    assert without.leads["customer_id"].isna().all()
    # The pool draws from its own stream: every other attribute, and (without keep_owner)
    # every routing decision, is the same as in the run without a pool.
    others = without.leads.columns.drop("customer_id")
    pd.testing.assert_frame_equal(with_pool.leads[others], without.leads[others])
    pd.testing.assert_frame_equal(with_pool.events, without.events)


def test_customer_pool_none_is_identical_to_the_field_omitted():
    omitted = Scenario.model_validate(tiny_scenario_dict())
    explicit = Scenario.model_validate(tiny_scenario_dict(leads={"customer_pool": None}))
    for policy in (_policy(False), _policy(True), None):
        a, b = run(omitted, policy, 11), run(explicit, policy, 11)
        pd.testing.assert_frame_equal(a.events, b.events)
        pd.testing.assert_frame_equal(a.leads, b.leads)
    # keep_owner has nothing to keep without customers: the same run as without the rule.
    a, b = run(omitted, _policy(False), 11), run(omitted, _policy(True), 11)
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.leads, b.leads)
    assert math.isnan(kpis(a)["customers_multi_rep"])
    assert math.isnan(kpis(a)["customers_multi_rep_share"])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_keep_owner_stops_customers_being_touched_by_several_reps(seed):
    scenario = _tiny(8)
    free, kept = run(scenario, _policy(False), seed), run(scenario, _policy(True), seed)
    pd.testing.assert_frame_equal(free.arrivals, kept.arrivals)  # same leads and customers
    before, after = kpis(free), kpis(kept)
    assert before["customers_multi_rep"] == _multi_rep_by_hand(free.leads) > 3
    assert 0 < before["customers_multi_rep_share"] <= 1
    # 24/7, no caps, no SLA: the owner is always eligible, so it gets every later lead.
    assert after["customers_multi_rep"] == _multi_rep_by_hand(kept.leads) == 0
    assert after["customers_multi_rep_share"] == 0
    per = customer_reps(kept)
    assert (per["reps"] == 1).all() and per["touched_leads"].sum() == kept.leads[
        "touch_rep"
    ].notna().sum()


def _owner_routing(result) -> tuple[int, int, int]:
    """Replay the assignments: (routed leads that went to the customer's owner, routed
    leads that did not, routed leads that went to an owner who got the customer by a
    marketplace claim)."""
    customer = result.leads.set_index("lead_id")["customer_id"]
    ev = result.events
    claimed = set(ev.loc[ev["kind"] == "lead_claimed", "lead_id"])
    assigned = ev[ev["kind"] == "lead_assigned"]
    owners: dict[int, tuple[str, bool]] = {}  # customer -> (owner, first lead was claimed)
    kept = bypassed = kept_by_claimer = 0
    for lead_id, rep in zip(assigned["lead_id"], assigned["rep_id"], strict=True):
        c = int(customer[lead_id])
        if c not in owners:
            owners[c] = (rep, lead_id in claimed)
        elif lead_id not in claimed:  # claims are never redirected
            owner, by_claim = owners[c]
            kept += rep == owner
            bypassed += rep != owner
            kept_by_claimer += rep == owner and by_claim
    return kept, bypassed, kept_by_claimer


def test_a_claim_makes_the_claimer_the_owner():
    # A-leads go to the marketplace; the rest is routed.  No cap, 24/7, no SLA: the owner
    # is always eligible, so every routed lead of a known customer goes to its owner,
    # also when the owner got the customer by claiming its first lead.
    data = tiny_scenario_dict(horizon_days=4, leads={"customer_pool": 20})
    policy = _policy(True, marketplace={"enabled": True, "publish_grades": ["A"]})
    kept, bypassed, kept_by_claimer = _owner_routing(run(Scenario.model_validate(data), policy, 6))
    assert kept > 100 and bypassed == 0 and kept_by_claimer > 0


def test_a_busy_owner_is_bypassed():
    # Open-lead cap 1: an owner with a lead in hand is not eligible, the router picks.
    data = tiny_scenario_dict(horizon_days=4, leads={"customer_pool": 6})
    data["team"]["groups"][0]["max_open_leads"] = 1
    policy = _policy(True, marketplace={"enabled": True, "publish_grades": ["A", "B"]})
    result = run(Scenario.model_validate(data), policy, 5)
    kept, bypassed, kept_by_claimer = _owner_routing(result)
    assert kept > 0 and bypassed > 0 and kept_by_claimer > 0
    assert kpis(result)["customers_multi_rep"] > 0  # a busy owner cannot keep them all
