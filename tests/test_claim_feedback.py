"""Claim reasons fed back into the scoring model (DOMAIN.md 1.5)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import POLICIES, SCENARIOS, tiny_scenario_dict
from policies.scoring import BantScorer, BantScoringParams
from sim import load_policy, load_scenario, run
from sim.errors import ConfigError
from sim.outcomes.claim_feedback import (
    _holm,
    claim_feedback,
    named_in_claims,
    suggested_attribute_points,
)
from sim.world.scenario import Scenario

LAB_CLAIMERS = [
    "horizon_days=28",
    "team.cherry_picking=0.5",
    "team.groups.0.claim_filters.industries=[lab]",  # 12 reps claim labs only
]


def market_run(seed: int, lab_multiplier: float | None):
    sets = list(LAB_CLAIMERS)
    if lab_multiplier is not None:
        sets.append(f"qualification.multipliers.industry.lab={lab_multiplier}")
    scenario = load_scenario(SCENARIOS / "baseline.yaml", sets)
    return run(scenario, load_policy(POLICIES / "marketplace.yaml"), seed)


def test_reasons_are_parsed_into_attribute_values():
    reasons = pd.Series(
        ["industry=lab; best score", "industry=lab; region=east; oldest", None, "oldest"],
        dtype="string",
    )
    named = named_in_claims(reasons)
    assert named.to_dict("records") == [
        {"attribute": "industry", "value": "lab", "claims": 2},
        {"attribute": "region", "value": "east", "claims": 1},
    ]


def test_holm_matches_the_textbook_procedure():
    from statsmodels.stats.multitest import multipletests

    p = np.array([0.01, 0.04, 0.03, 0.005, 0.5])
    assert np.allclose(_holm(p), multipletests(p, method="holm")[1])


@pytest.mark.parametrize("seed", [1, 2])
def test_a_planted_value_is_found_and_priced_in_points(seed):
    # Labs qualify at twice the odds the score implies; lab claimers' reasons name them.
    feedback = claim_feedback(market_run(seed, 2.0))
    lab = feedback[(feedback["attribute"] == "industry") & (feedback["value"] == "lab")]
    assert len(lab) == 1
    row = lab.iloc[0]
    assert row["claims_naming"] >= 100 and row["significant"]
    assert row["qualified_rate"] > row["others_rate"]
    assert 10 <= row["suggested_points"] <= 60 and row["ci_low"] > 0
    assert suggested_attribute_points(feedback) == {
        "industry": {"lab": int(row["suggested_points"])}
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_without_a_planted_value_nothing_gets_points(seed):
    feedback = claim_feedback(market_run(seed, None))
    assert len(feedback) == 1  # industry=lab is still named in the reasons
    assert not feedback["significant"].any()
    assert suggested_attribute_points(feedback) == {}


def test_no_marketplace_means_no_feedback():
    result = run(Scenario.model_validate(tiny_scenario_dict(horizon_days=2)), None, 0)
    feedback = claim_feedback(result)
    assert feedback.empty and "suggested_points" in feedback.columns


def test_attribute_points_enter_the_score_and_are_clamped():
    params = BantScoringParams.model_validate({"attribute_points": {"industry": {"lab": 30}}})
    scorer = BantScorer(params)
    bant = {
        "budget_confirmed": True,
        "authority": False,
        "need": "medium",
        "timeline_days": None,
        "dwell_seconds": 0.0,
        "whitepaper": False,
        "trial": False,
    }
    plain = SimpleNamespace(industry="clinic", **bant)
    lab = SimpleNamespace(industry="lab", **bant)
    assert scorer.score(lab) == min(100, scorer.score(plain) + 30)
    negative = BantScorer(
        BantScoringParams.model_validate({"attribute_points": {"industry": {"lab": -200}}})
    )
    assert negative.score(lab) == 0


def test_multiplier_raises_qualification_odds_and_bad_values_are_refused(tmp_path):
    plain = run(Scenario.model_validate(tiny_scenario_dict(horizon_days=3)), None, 4)
    data = tiny_scenario_dict(horizon_days=3)
    data["qualification"] = {"multipliers": {"channel": {"web_form": 3.0}}}
    boosted = run(Scenario.model_validate(data), None, 4)
    web = plain.leads["channel"] == "web_form"
    ratio = boosted.leads["qualify_probability"][web] / plain.leads["qualify_probability"][web]
    capped = (
        np.minimum(1.0, 3.0 * plain.leads["qualify_probability"][web])
        / plain.leads["qualify_probability"][web]
    )
    assert np.allclose(ratio.dropna(), capped.dropna())
    bad = tmp_path / "bad.yaml"
    data["qualification"] = {"multipliers": {"channel": {"web_form": -1}}}
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=r"qualification.*multipliers\.channel\.web"):
        load_scenario(bad)
