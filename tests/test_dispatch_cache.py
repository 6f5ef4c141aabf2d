"""The dispatcher's cache of available reps never changes a run.

``Dispatcher._available`` caches its answer until the next calendar midnight or hire, or
until a rep reaches or leaves its open-lead cap.  Runs with the cache and with a fresh
answer every time must give identical tables, in worlds that exercise each boundary:
leave, hires during the run, tight caps, reclaims and a marketplace.
"""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from conftest import POLICIES, SCENARIOS, tiny_scenario_dict
from policies.routing import RoundRobin
from sim import load_policy, load_scenario, run
from sim.engine.dispatch import Dispatcher
from sim.world.scenario import Scenario


def _tables(result):
    return result.events, result.leads, result.reps


def _same_runs(monkeypatch, scenario, policy, seed):
    cached = _tables(run(scenario, policy, seed))
    with monkeypatch.context() as patch:
        patch.setattr(Dispatcher, "_available", Dispatcher._compute_available)
        fresh = _tables(run(scenario, policy, seed))
    for a, b in zip(cached, fresh, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)


@pytest.mark.parametrize(
    ("scenario", "policy", "sets"),
    [
        ("east_china_medtech.yaml", "east_china_after.yaml", ["horizon_days=21"]),
        ("east_china_medtech.yaml", "east_china_before.yaml", ["horizon_days=14"]),
        ("baseline.yaml", "source_defaults.yaml", ["horizon_days=14"]),
    ],
)
def test_cache_matches_fresh_answers(monkeypatch, scenario, policy, sets):
    _same_runs(
        monkeypatch, load_scenario(SCENARIOS / scenario, sets), load_policy(POLICIES / policy), 5
    )


def test_cache_follows_tight_caps_and_reclaims(monkeypatch):
    data = tiny_scenario_dict(horizon_days=3, arrivals={"rate_per_hour": 9})
    data["team"]["groups"][0].update(count=4, max_open_leads=2)
    quick = "sla.steps=[{after_hours: 0.25, action: remind}, {after_hours: 0.5, action: reclaim}]"
    policy = load_policy(POLICIES / "source_defaults.yaml", [quick])
    result = run(Scenario.model_validate(data), policy, 1)
    assert (result.events["kind"] == "lead_reclaimed").sum() > 10  # the boundary is exercised
    assert (result.events["kind"] == "lead_pooled").sum() > 10  # reps at their cap
    _same_runs(monkeypatch, Scenario.model_validate(data), policy, 1)


def test_router_index_of_the_available_tuple_never_changes_a_pick():
    """Round robin indexes a tuple of candidates once and reuses the index while it is
    handed the same tuple (the dispatcher's cached available reps); picks must equal those
    made from fresh lists, and a list (which may change) is never reused."""
    import numpy as np

    from policies.routing import RoundRobinParams

    team = [SimpleNamespace(index=i, rep_id=f"r{i}", region="e", open_leads=0) for i in range(40)]
    some = tuple(rep for rep in team if rep.index % 3)  # > 16 candidates: the indexed path
    others = tuple(rep for rep in team if rep.index % 2)
    cached = RoundRobin(RoundRobinParams(), team, np.random.default_rng(3))
    fresh = RoundRobin(RoundRobinParams(), team, np.random.default_rng(3))
    picks_cached, picks_fresh = [], []
    for k in range(200):
        candidates = some if (k // 7) % 2 else others  # the same tuples again and again
        picks_cached.append(cached.choose(None, candidates, 0.0).index)
        picks_fresh.append(fresh.choose(None, list(candidates), 0.0).index)
    assert picks_cached == picks_fresh
    assert len(set(picks_cached)) > 20  # the rotation really moves

    shrinking = list(some)
    first = cached.choose(None, shrinking, 0.0)
    shrinking.remove(first)  # a caller's list changes between calls: indexed afresh
    for _ in range(len(shrinking)):
        assert cached.choose(None, shrinking, 0.0) in shrinking


def test_dispatcher_hands_routers_its_cached_tuple(monkeypatch):
    """While nothing changes, route() passes the very same tuple object to the router."""
    seen: list[object] = []
    original = RoundRobin.choose

    def spy(self, lead, candidates, now, weight=None):
        seen.append(candidates)
        return original(self, lead, candidates, now, weight)

    monkeypatch.setattr(RoundRobin, "choose", spy)
    data = tiny_scenario_dict(horizon_days=1, arrivals={"rate_per_hour": 20})
    data["team"]["groups"][0].update(count=20)
    run(Scenario.model_validate(data), load_policy(POLICIES / "no_sla.yaml"), 2)
    assert all(isinstance(c, tuple) for c in seen)
    assert len({id(c) for c in seen}) < len(seen) / 10  # one tuple serves many leads
