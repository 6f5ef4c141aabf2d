"""Policies as pure code: scoring, routing and the SLA ladder, without SimPy."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from policies import (
    ROUTERS,
    BantScorer,
    BantScoringParams,
    RoundRobinParams,
    SlaLadder,
    UnknownPluginError,
    policy_model,
)
from policies.routing import LeastLoaded, LeastLoadedParams, RoundRobin
from policies.sla import SlaStep, due_action


def lead(**attrs):
    base = dict(
        budget_confirmed=False,
        authority=False,
        need="low",
        timeline_days=None,
        dwell_seconds=0.0,
        whitepaper=False,
        trial=False,
    )
    return SimpleNamespace(**{**base, **attrs})


SCORER = BantScorer(BantScoringParams())


@pytest.mark.parametrize(
    ("attrs", "score", "grade"),
    [
        ({}, 0, "C"),
        ({"budget_confirmed": True, "authority": True, "need": "high"}, 55, "B"),
        # 20 + 15 + 20 + 15 (timeline 90 d is within 90 d) = 70: just below A
        (
            {"budget_confirmed": True, "authority": True, "need": "high", "timeline_days": 90},
            70,
            "B",
        ),
        (
            {
                "budget_confirmed": True,
                "authority": True,
                "need": "high",
                "timeline_days": 30,
                "whitepaper": True,
            },
            80,
            "A",
        ),
        # dwell must be strictly over 180 s
        ({"dwell_seconds": 180.0, "need": "medium", "trial": True}, 20, "C"),
        ({"dwell_seconds": 180.1, "need": "medium", "trial": True}, 30, "C"),
        (
            {
                "budget_confirmed": True,
                "authority": True,
                "need": "high",
                "timeline_days": 1,
                "dwell_seconds": 999,
                "whitepaper": True,
                "trial": True,
            },
            100,
            "A",
        ),
        (
            {"timeline_days": 91, "need": "medium", "budget_confirmed": True, "authority": True},
            45,
            "B",
        ),
    ],
)
def test_bant_score_hand_computed(attrs, score, grade):
    assert SCORER.score(lead(**attrs)) == score
    assert SCORER.grade(score) == grade


def test_grade_thresholds_are_inclusive_and_configurable():
    assert [SCORER.grade(s) for s in (72, 71, 45, 44)] == ["A", "B", "B", "C"]
    strict = BantScorer(BantScoringParams(grades={"A": 90, "B": 60}))
    assert [strict.grade(s) for s in (89, 90, 59, 60)] == ["B", "A", "C", "B"]
    with pytest.raises(ValidationError, match="must not exceed"):
        BantScoringParams(grades={"A": 40, "B": 60})


def test_score_is_capped_at_100():
    generous = BantScorer(BantScoringParams(points={"budget_confirmed": 80, "authority": 80}))
    assert generous.score(lead(budget_confirmed=True, authority=True)) == 100


@dataclass
class Slot:
    index: int
    rep_id: str
    region: str = "east"
    open_leads: int = 0


def team(n):
    return [Slot(i, f"r{i}") for i in range(n)]


def test_round_robin_cycles_through_every_rep():
    reps = team(5)
    router = RoundRobin(RoundRobinParams(), reps, np.random.default_rng(0))
    picks = [router.choose(None, reps, 0.0).index for _ in range(15)]
    assert sorted(picks[:5]) == list(range(5))
    assert picks[:5] == picks[5:10] == picks[10:]


def test_round_robin_skips_ineligible_rep_who_keeps_its_place():
    reps = team(4)
    router = RoundRobin(RoundRobinParams(), reps, np.random.default_rng(1))
    order = [router.choose(None, reps, 0.0).index for _ in range(4)]
    skipped = order[1]
    without = [r for r in reps if r.index != skipped]
    # The skipped rep's turn passes to the next one; when back, it resumes its place.
    assert router.choose(None, without, 0.0).index == order[0]
    assert router.choose(None, without, 0.0).index == order[2]
    assert router.choose(None, reps, 0.0).index == order[3]
    assert router.choose(None, reps, 0.0).index == order[0]


def test_round_robin_ties_do_not_favour_the_first_listed_rep():
    # The first lead of a run goes to rep 0 (the "oldest", listed first) only ~1/n of runs.
    firsts = [
        RoundRobin(RoundRobinParams(), team(10), np.random.default_rng(seed))
        .choose(None, team(10), 0.0)
        .index
        for seed in range(400)
    ]
    counts = np.bincount(firsts, minlength=10)
    assert counts.min() > 15 and counts[0] < 70


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 8),
    eligible=st.lists(st.lists(st.booleans(), min_size=8, max_size=8), min_size=1, max_size=60),
)
def test_round_robin_always_picks_an_eligible_rep_and_balances(n, eligible):
    reps = team(n)
    router = RoundRobin(RoundRobinParams(), reps, np.random.default_rng(n))
    got = np.zeros(n, int)
    for mask in eligible:
        candidates = [r for r in reps if mask[r.index]] or reps
        pick = router.choose(None, candidates, 0.0)
        assert pick in candidates
        got[pick.index] += 1
    if all(all(m[:n]) for m in eligible):  # everyone always eligible: perfectly balanced
        assert got.max() - got.min() <= 1


def test_least_loaded_picks_fewest_open_then_rotates():
    reps = team(3)
    reps[0].open_leads, reps[1].open_leads, reps[2].open_leads = 4, 1, 1
    router = LeastLoaded(LeastLoadedParams(), reps, np.random.default_rng(0))
    first = router.choose(None, reps, 0.0)
    assert first.index in (1, 2)
    second = router.choose(None, reps, 0.0)
    assert {first.index, second.index} == {1, 2}  # the tie alternates


def test_router_needs_candidates_and_a_team():
    with pytest.raises(ValueError):
        RoundRobin(RoundRobinParams(), [], np.random.default_rng(0))
    router = RoundRobin(RoundRobinParams(), team(2), np.random.default_rng(0))
    with pytest.raises(ValueError):
        router.choose(None, [], 0.0)


def test_unknown_plugin_lists_known_names():
    known = "known: historical_assignment, least_loaded, round_robin"
    with pytest.raises(UnknownPluginError, match=known):
        ROUTERS.factory("telepathy")


def test_policy_model_discriminates_routing_by_name():
    model = policy_model()
    assert isinstance(
        model.model_validate({"routing": {"name": "least_loaded"}}).routing, LeastLoadedParams
    )
    with pytest.raises(ValidationError, match=r"least_loaded.*round_robin"):
        model.model_validate({"routing": {"name": "telepathy"}})
    with pytest.raises(ValidationError, match="Extra inputs"):
        model.model_validate({"routing": {"name": "round_robin", "weight": 2}})


def test_default_ladder_is_the_source_two_and_four_hours():
    ladder = SlaLadder()
    assert ladder.clock == "business"
    assert [(s.after_hours, s.action) for s in ladder.steps] == [(2, "remind"), (4, "reclaim")]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (
            [{"after_hours": 4, "action": "remind"}, {"after_hours": 2, "action": "reclaim"}],
            "strictly increasing",
        ),
        (
            [{"after_hours": 2, "action": "reclaim"}, {"after_hours": 4, "action": "remind"}],
            "must be the last",
        ),
        ([{"after_hours": 0, "action": "remind"}], "greater than 0"),
        ([{"after_hours": 1, "action": "escalate"}], "remind"),
    ],
)
def test_bad_ladders_are_refused(steps, message):
    with pytest.raises(ValidationError, match=message):
        SlaLadder(steps=steps)


def test_due_action_applies_only_to_live_untouched_assignment():
    step = SlaStep(after_hours=4, action="reclaim")
    assert due_action(step, still_assigned=True, touched=False) == "reclaim"
    assert due_action(step, still_assigned=False, touched=False) is None
    assert due_action(step, still_assigned=True, touched=True) is None
