"""Allocation rules and weighted routing as pure code, plus the fairness bugs of real
CRMs that the workbench must not have."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from conftest import LeadStub, RepStub
from policies.allocation import Allocation, AllocationParams
from policies.routing import RoundRobin, RoundRobinParams, WeightedRoundRobin
from policies.routing import WeightedRoundRobinParams as WRRParams

START = dt.datetime(2026, 3, 2)  # a Monday


Rep, Lead = RepStub, LeadStub


def team(n, **kw):
    return [Rep(i, f"r{i}", **kw) for i in range(n)]


def allocate(params: dict, reps, leads, now=0.0, router=None):
    """Route *leads* one by one through allocation + router; return picks (None = none)."""
    alloc = Allocation(AllocationParams.model_validate(params), reps, START)
    router = router or RoundRobin(RoundRobinParams(), reps, np.random.default_rng(0))
    picks = []
    for i, lead in enumerate(leads):
        t = now + i * 0.01 if not isinstance(now, list) else now[i]
        ok = alloc.filter(lead, reps, t)
        if not ok:
            picks.append(None)
            continue
        rep = router.choose(lead, ok, t, alloc.weight)
        alloc.record(lead, rep, t)
        picks.append(rep)
    return picks, alloc


def test_newbie_gets_no_a_lead_until_share_allows():
    reps = [Rep(0, "new", hire_t=0.0)]
    params = {"newbie_protection": {"days": 7, "a_share_max": 0.15}}
    # First lead is A: a newbie would be at 100% A -> refused.
    picks, _ = allocate(params, reps, [Lead("A")])
    assert picks == [None]
    # After 6 B/C leads, the 7th may be A: 1/7 = 14.3% <= 15%.
    picks, alloc = allocate(params, reps, [Lead("B")] * 6 + [Lead("A"), Lead("A")])
    assert [p is not None for p in picks] == [True] * 7 + [False]
    assert alloc.newbie_a[0] == 1 and alloc.newbie_received[0] == 7


def test_newbie_window_ends_after_the_configured_days():
    reps = [Rep(0, "new", hire_t=0.0)]
    params = {"newbie_protection": {"days": 7}}
    picks, _ = allocate(params, reps, [Lead("A")], now=7 * 24.0)
    assert picks[0] is not None


@settings(max_examples=80, deadline=None)
@given(
    grades=st.lists(st.sampled_from("ABC"), min_size=1, max_size=120),
    share=st.floats(0.0, 0.5),
    n=st.integers(1, 5),
)
def test_newbie_share_bound_holds_for_any_arrival_sequence(grades, share, n):
    reps = team(n, hire_t=0.0)
    params = {"newbie_protection": {"days": 7, "a_share_max": share}}
    _, alloc = allocate(params, reps, [Lead(g) for g in grades])
    for a, received in zip(alloc.newbie_a, alloc.newbie_received, strict=True):
        assert a <= share * received + 1e-9


def test_capability_match_weights_a_leads_for_fast_closers():
    reps = [Rep(0, "fast", close_cycle_days=10), Rep(1, "slow", close_cycle_days=30)]
    params = {"capability_match": {"cycle_days_below": 14, "a_weight": 1.3}}
    router = WeightedRoundRobin(WRRParams(), reps, np.random.default_rng(0), START)
    picks, _ = allocate(params, reps, [Lead("A")] * 2300, router=router)
    fast = sum(p.rep_id == "fast" for p in picks)
    assert fast / 2300 == pytest.approx(1.3 / 2.3, abs=0.002)
    # B-leads are not weighted.
    router = WeightedRoundRobin(WRRParams(), reps, np.random.default_rng(0), START)
    picks, _ = allocate(params, reps, [Lead("B")] * 1000, router=router)
    assert sum(p.rep_id == "fast" for p in picks) == 500


def test_capability_match_can_learn_cycles_from_won_deals():
    # No attribute: nobody is fast until the run's own won deals say so.
    reps = [Rep(0, "a"), Rep(1, "b", close_cycle_days=30)]
    params = AllocationParams.model_validate(
        {"capability_match": {"cycle_from": "history", "min_deals": 3, "a_weight": 2.0}}
    )
    alloc = Allocation(params, reps, START)
    assert alloc.learns_cycles
    a_lead = Lead("A")
    assert alloc.weight(a_lead, reps[0]) == alloc.weight(a_lead, reps[1]) == 1.0
    alloc.note_won_deal(0, 9.0)
    alloc.note_won_deal(0, 30.0)
    assert alloc.weight(a_lead, reps[0]) == 1.0  # two deals: below min_deals
    alloc.note_won_deal(0, 11.0)
    assert alloc.close_cycle(0) == 11.0
    assert alloc.weight(a_lead, reps[0]) == 2.0 and alloc.weight(Lead("B"), reps[0]) == 1.0
    for cycle in (40.0, 50.0):  # the median moves above 14 days: the weight goes away
        alloc.note_won_deal(0, cycle)
    assert alloc.close_cycle(0) == 30.0 and alloc.weight(a_lead, reps[0]) == 1.0
    # With cycle_from: attribute, won deals change nothing.
    plain = Allocation(
        AllocationParams.model_validate({"capability_match": {}}),
        [Rep(0, "a", close_cycle_days=10)],
        START,
    )
    for _ in range(5):
        plain.note_won_deal(0, 60.0)
    assert not plain.learns_cycles and plain.weight(a_lead, plain._team[0]) == 1.3


def test_smooth_weighted_round_robin_has_no_bursts():
    reps = team(3)
    router = WeightedRoundRobin(WRRParams(), reps, np.random.default_rng(1), START)
    weights = {0: 5.0, 1: 1.0, 2: 1.0}
    picks = [router.choose(None, reps, 0.0, lambda _, r: weights[r.index]).index for _ in range(70)]
    assert np.bincount(picks).tolist() == [50, 10, 10]
    # In every window of 7 picks the heavy rep gets exactly 5.
    assert all(picks[i : i + 7].count(0) == 5 for i in range(0, 70, 7))


def test_lowest_count_balances_within_the_period_and_resets():
    reps = team(3)
    router = WeightedRoundRobin(
        WRRParams(balance="lowest_count", period="day"), reps, np.random.default_rng(2), START
    )
    for _ in range(4):  # rep 0 absent: the others take the leads
        router.choose(None, reps[1:], 1.0)
    # Back the same day, rep 0 catches up: it is picked until level with the others.
    assert [router.choose(None, reps, 2.0).index for _ in range(2)] == [0, 0]
    # Next day every count restarts from zero.
    assert router.period_count(reps[0], 25.0) == 0


def test_caps_per_day_and_per_month():
    reps = team(2)
    picks, _ = allocate({"caps": {"per_day": 3}}, reps, [Lead()] * 8)
    assert [p.index if p else None for p in picks].count(None) == 2  # 2 reps x 3 a day
    # A new day frees the cap.
    times = [0.0] * 6 + [24.0, 24.0]
    picks, _ = allocate({"caps": {"per_day": 3}}, reps, [Lead()] * 8, now=times)
    assert None not in picks
    times = [0.0, 1.0, 2.0, 3.0, 4.0, 31 * 24.0]  # March x 5, then April 2nd
    picks, _ = allocate({"caps": {"per_month": 2}}, reps, [Lead()] * 6, now=times)
    assert [p is None for p in picks] == [False] * 4 + [True, False]


def test_region_match_modes():
    reps = [Rep(0, "e", region="east"), Rep(1, "n", region="north")]
    north_lead = Lead(region="north")
    assert [p.rep_id for p in allocate({"region_match": "prefer"}, reps, [north_lead] * 3)[0]] == [
        "n",
        "n",
        "n",
    ]
    west = Lead(region="west")
    assert allocate({"region_match": "strict"}, reps, [west])[0] == [None]
    assert allocate({"region_match": "prefer"}, reps, [west])[0][0] is not None


def test_grade_pool_limits_a_leads_to_named_reps():
    reps = team(4)
    picks, _ = allocate({"grade_pools": {"A": ["r1", "r3"]}}, reps, [Lead("A")] * 6 + [Lead("B")])
    assert {p.rep_id for p in picks[:6]} == {"r1", "r3"}


def test_all_weights_zero_is_a_clear_error():
    reps = team(3)
    with pytest.raises(ValueError, match="all rep_weights are zero"):
        Allocation(AllocationParams(rep_weights={"r0": 0, "r1": 0, "r2": 0}), reps, START)
    with pytest.raises(ValueError, match="not in the team: ghost"):
        Allocation(AllocationParams(rep_weights={"ghost": 1}), reps, START)
    with pytest.raises(ValidationError, match=">= 0"):
        AllocationParams(rep_weights={"r0": -1})


def test_zero_weight_rep_never_receives():
    reps = team(3)
    picks, _ = allocate({"rep_weights": {"r1": 0}}, reps, [Lead()] * 30)
    assert "r1" not in {p.rep_id for p in picks}


# -- fairness bugs of real CRMs ----------------------------------------------------------


@pytest.mark.parametrize("balance", ["turn_order", "lowest_count"])
def test_ties_do_not_always_favour_the_oldest_rep(balance):
    # Reps listed by seniority: the oldest first. Over many runs, the first lead of a
    # fresh period goes to each rep about equally often.
    firsts = np.bincount(
        [
            WeightedRoundRobin(WRRParams(balance=balance), team(5), np.random.default_rng(s), START)
            .choose(None, team(5), 0.0)
            .index
            for s in range(500)
        ],
        minlength=5,
    )
    assert firsts.min() > 70 and firsts[0] < 130


def test_caps_do_not_starve_any_rep():
    # A per-day cap reached every day: each rep still gets its fair part of the leads.
    reps = team(5)
    times = [day * 24.0 + 9 + i * 0.01 for day in range(10) for i in range(40)]
    picks, _ = allocate({"caps": {"per_day": 6}}, reps, [Lead()] * len(times), now=times)
    counts = np.bincount([p.index for p in picks if p], minlength=5)
    assert counts.tolist() == [60] * 5  # 6 a day for 10 days each; the rest unassigned


@pytest.mark.parametrize("balance", ["turn_order", "lowest_count"])
def test_vacation_leaves_no_recurring_gap(balance):
    # Rep 0 is away every Friday. On the other days it must get its 1/3 share: the
    # weekly absence must not shift it into a permanent gap in the rotation.
    reps = team(3)
    router = WeightedRoundRobin(
        WRRParams(balance=balance, period="day"), reps, np.random.default_rng(4), START
    )
    got = np.zeros(3, int)
    for day in range(28):
        present = reps[1:] if day % 7 == 4 else reps
        for i in range(30):
            pick = router.choose(None, present, day * 24.0 + 9 + i * 0.01)
            if day % 7 != 4:
                got[pick.index] += 1
    assert got[0] == pytest.approx(got.sum() / 3, abs=2)


def test_won_deals_of_a_run_feed_the_capability_match(monkeypatch):
    from policies.allocation import Allocation as Alloc
    from sim import load_policy, load_scenario, run
    from sim.io.paths import project_root

    calls: list[tuple[int, float]] = []
    original = Alloc.note_won_deal

    def spy(self, rep_index, cycle_days):
        calls.append((rep_index, cycle_days))
        original(self, rep_index, cycle_days)

    monkeypatch.setattr(Alloc, "note_won_deal", spy)
    root = project_root() / "scenarios"
    scenario = load_scenario(root / "process_demo.yaml", ["horizon_days=90"])
    learn = "allocation.capability_match={cycle_from: history, min_deals: 2}"
    weighted = "routing.name=weighted_round_robin"  # capability match needs a weighted router
    policy = load_policy(root / "policies" / "proof_any_offline.yaml", [learn, weighted])
    result = run(scenario, policy, 1)
    won = result.opportunities[result.opportunities["status"] == "won"]
    assert len(won) > 5 and len(calls) == len(won)
    reps = result.reps["rep_id"].tolist()
    expected = sorted(zip(won["rep_id"].map(reps.index), won["cycle_days"], strict=True))
    got = sorted(calls)
    assert [i for i, _ in got] == [i for i, _ in expected]
    assert np.allclose([d for _, d in got], [d for _, d in expected])
    # Without cycle_from: history nothing is fed back.
    calls.clear()
    run(scenario, load_policy(root / "policies" / "proof_any_offline.yaml"), 1)
    assert calls == []
