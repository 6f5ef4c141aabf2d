"""The dispatcher's cache of available reps never changes a run.

``Dispatcher._available`` caches its answer until the next calendar midnight or hire, or
until a rep reaches or leaves its open-lead cap.  Runs with the cache and with a fresh
answer every time must give identical tables, in worlds that exercise each boundary:
leave, hires during the run, tight caps, reclaims and a marketplace.
"""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import POLICIES, SCENARIOS, tiny_scenario_dict
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
