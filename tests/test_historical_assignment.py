"""The historical-assignment router: each replayed lead to the rep who really got it."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from conftest import POLICIES, RepStub, tiny_scenario_dict
from policies.historical_assignment import HistoricalAssignment, HistoricalAssignmentParams
from policies.routing import ROUTERS, RoundRobin, RoundRobinParams
from sim.engine.simulation import run
from sim.history.replay import historical_reps
from sim.world.loading import load_policy
from sim.world.scenario import Scenario


def _team(n: int = 4) -> list[RepStub]:
    return [RepStub(index=i, rep_id=f"r{i + 1}") for i in range(n)]


def _router(fallback: str = "round_robin", seed: int = 0) -> HistoricalAssignment:
    params = HistoricalAssignmentParams(fallback=fallback)
    return ROUTERS.build(params, _team(), np.random.default_rng(seed))


def test_a_lead_goes_to_its_historical_rep_when_eligible():
    router = _router()
    team = _team()
    for rep_id, expected in (("r3", 2), ("r1", 0), ("r3", 2), ("r4", 3)):
        lead = SimpleNamespace(historical_rep=rep_id)
        assert router.choose(lead, team, 1.0).index == expected
    assert router.counts["historical"] == 4
    assert sum(router.counts.values()) == 4


def test_fallback_follows_the_named_rule_and_is_counted():
    router = _router("round_robin", seed=3)
    reference = RoundRobin(RoundRobinParams(), _team(), np.random.default_rng(3))
    team = _team()
    leads = [
        SimpleNamespace(historical_rep=None),  # the export does not say
        SimpleNamespace(historical_rep="ghost"),  # a rep who is not in the team
        SimpleNamespace(historical_rep="r2"),  # in the team but not a candidate now
        SimpleNamespace(),  # a lead without the attribute (not replayed)
    ]
    candidates = [team[0], team[2], team[3]]
    for lead in leads:
        expected = reference.choose(lead, candidates, 2.0)
        assert router.choose(lead, candidates, 2.0) is expected  # the fallback's own pick
    assert dict(router.counts) == {"historical": 0, "unknown": 2, "missing": 1, "unavailable": 1}
    assert router.missing_reps == {"ghost"}


def test_least_loaded_fallback():
    team = _team()
    team[1].open_leads, team[0].open_leads, team[2].open_leads, team[3].open_leads = 0, 5, 5, 5
    router = _router("least_loaded")
    assert router.choose(SimpleNamespace(historical_rep=None), team, 0.0) is team[1]


def test_the_policy_file_validates_and_names_the_baseline():
    policy = load_policy(POLICIES / "historical_assignment.yaml")
    assert policy.name == "historical assignment"
    assert policy.routing.name == "historical_assignment"
    assert policy.routing.fallback == "round_robin"
    assert not policy.sla.steps  # no breaker: the export records none
    with pytest.raises(ValidationError, match="fallback"):
        HistoricalAssignmentParams(fallback="coin_flip")


def _export(folder, owners: list[str | None], lead_owner: dict[str, str] | None = None):
    """A leads table (one lead an hour from Monday 09:00) and one deal per lead with an
    owner, as ``python -m sim import`` writes them."""
    n = len(owners)
    ids = [f"L{i:03d}" for i in range(n)]
    leads = pd.DataFrame(
        {
            "lead_id": pd.array(ids, dtype="string"),
            "arrived": pd.Timestamp("2025-01-13 09:00") + pd.to_timedelta(np.arange(n), "h"),
            "channel": pd.array(["web_form"] * n, dtype="string"),
        }
    )
    if lead_owner is not None:
        leads["rep_id"] = pd.array([lead_owner.get(i) for i in ids], dtype="string")
    leads.to_parquet(folder / "leads.parquet", index=False)
    deals = [(f"D{i:03d}", ids[i], rep) for i, rep in enumerate(owners) if rep is not None]
    opps = pd.DataFrame(deals, columns=["opportunity_id", "lead_id", "rep_id"])
    opps["outcome"] = "won"
    opps["closed"] = pd.Timestamp("2025-02-01")
    opps.astype({"opportunity_id": "string", "lead_id": "string", "rep_id": "string"}).to_parquet(
        folder / "opportunities.parquet", index=False
    )
    return ids


def _scenario(folder) -> Scenario:
    return Scenario.model_validate(
        tiny_scenario_dict(
            start="2025-01-13T00:00:00",
            horizon_days=3,
            arrivals={"replay": str(folder / "leads.parquet")},
            leads={"channels": {"web_form": 1}},
        )
    )


def test_replay_gives_every_lead_to_its_historical_rep(tmp_path):
    owners = ["r1", "r2", "r3", "r3", "r1", "r2", "r2", "r3", "r1", "r1"] * 3
    _export(tmp_path, owners)
    policy = load_policy(POLICIES / "historical_assignment.yaml")
    for seed in (0, 1):
        leads = run(_scenario(tmp_path), policy, seed).leads.sort_values("lead_id")
        assert len(leads) == len(owners)
        assert leads["first_rep"].tolist() == owners
    # Round robin on the same leads spreads them otherwise: the policy is what routes.
    other = run(_scenario(tmp_path), load_policy(POLICIES / "no_sla.yaml"), 0).leads
    assert other.sort_values("lead_id")["first_rep"].tolist() != owners


def test_replay_falls_back_for_unknown_and_missing_reps(tmp_path):
    owners = ["r2", None, "ghost", "r2", None, "r3"]
    _export(tmp_path, owners)
    policy = load_policy(POLICIES / "historical_assignment.yaml")
    leads = run(_scenario(tmp_path), policy, 0).leads.sort_values("lead_id")
    got = leads["first_rep"].tolist()
    assert [got[i] for i in (0, 3, 5)] == ["r2", "r2", "r3"]
    assert all(got[i] in {"r1", "r2", "r3"} for i in (1, 2, 4))


def test_historical_reps_prefers_the_leads_owner_column(tmp_path):
    ids = _export(tmp_path, ["r1", "r2", None], lead_owner={"L001": "r3"})
    owners = historical_reps(tmp_path / "leads.parquet")
    assert owners.to_dict() == {ids[1]: "r3", ids[0]: "r1"}
