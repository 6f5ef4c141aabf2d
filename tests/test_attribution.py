"""Process-to-result attribution (sim.outcomes.attribution) against planted effects.

``process_attribution.yaml`` plants one effect: demo-video completion below 60% cuts the
odds of every checkpoint after need diagnosis to 0.4.  Visit slip has no effect on the
odds but delays every visit, so it lengthens the cycle.  With
``process.effects.demo_low_odds=1`` no process measure changes the odds at all.
"""

from __future__ import annotations

import pytest
from scipy import stats

from conftest import SCENARIOS
from sim import DataError, load_scenario, run
from sim.outcomes.attribution import (
    FACTORS,
    attribution,
    attribution_frame,
    holm,
    planted_odds,
    top_factors,
)

PLANTED = SCENARIOS / "process_attribution.yaml"
NULL = ["process.effects.demo_low_odds=1"]


@pytest.fixture(scope="module")
def planted_runs():
    scenario = load_scenario(PLANTED)
    return [run(scenario, None, (21, i)) for i in range(3)]


def test_planted_effect_ranks_first_in_every_run(planted_runs):
    for result in planted_runs:
        table = attribution(result)
        top = top_factors(table)
        assert len(top) == 3
        assert top["factor"].iloc[0] == "demo_completion_below_60"
        assert top["significant"].iloc[0]
        assert top["ci_high"].iloc[0] < 1  # lower odds of passing a checkpoint
        assert table["significant"].sum() == 1
        assert table.attrs["effect"] == "odds ratio of passing a checkpoint"


def test_pooled_estimate_is_near_the_planted_odds(planted_runs):
    """Four of the five checkpoints carry the 0.4 odds ratio; the first carries none, so
    the pooled checkpoint odds ratio lies between 0.4 and 1 and the interval is tight."""
    row = attribution(planted_runs).set_index("factor").loc["demo_completion_below_60"]
    assert 0.4 < row["effect"] < 0.75
    assert row["ci_low"] > 0.35 and row["ci_high"] < 0.8
    assert row["p_holm"] < 1e-6


def test_later_checkpoints_recover_the_planted_odds(planted_runs):
    """Fitted on the checkpoints after need diagnosis only (where the effect acts), the
    interval covers the planted 0.4; factors with nothing planted read 1."""
    planted = planted_odds(planted_runs)
    assert planted["demo_completion_below_60"] == 0.4
    assert planted["visit_slip_days"] == planted["poc_revisions"] == 1.0
    row = attribution(planted_runs, min_stage=1).set_index("factor")
    demo = row.loc["demo_completion_below_60"]
    assert demo["ci_low"] <= 0.4 <= demo["ci_high"]
    assert (
        demo["effect"]
        < attribution(planted_runs).set_index("factor").loc["demo_completion_below_60", "effect"]
    )


def test_visit_slip_lengthens_the_cycle(planted_runs):
    table = attribution(planted_runs, outcome="cycle_time")
    first = table.iloc[0]
    assert first["factor"] == "visit_slip_days"
    assert first["effect"] > 1 and first["ci_low"] > 1 and first["significant"]
    assert table.attrs["open_share"] < 0.05
    size = attribution(planted_runs, outcome="deal_size")
    assert set(size["factor"]) == {f.name for f in FACTORS}


def test_every_factor_is_known_when_the_deal_opens(planted_runs):
    frame = attribution_frame(planted_runs[0])
    assert list(frame.columns[frame.columns.isin([f.name for f in FACTORS])]) == [
        f.name for f in FACTORS
    ]
    assert frame["demo_completion_below_60"].isin([0, 1]).all()


def test_bad_arguments(planted_runs):
    with pytest.raises(ValueError, match="unknown outcome 'renewal'"):
        attribution(planted_runs[0], outcome="renewal")
    with pytest.raises(ValueError, match="alpha"):
        attribution(planted_runs[0], alpha=1.5)
    short = run(load_scenario(PLANTED, ["horizon_days=3"]), None, 1)
    with pytest.raises(DataError, match="attribution of won"):
        attribution(short)


def test_holm_matches_statsmodels():
    from statsmodels.stats.multitest import multipletests

    p = [0.01, 0.04, 0.03, 0.5, 0.001, 0.04]
    assert holm(p) == pytest.approx(multipletests(p, method="holm")[1])
    assert holm([]).shape == (0,)


RUNS = 30


@pytest.mark.slow
def test_no_planted_effect_no_more_false_positives_than_nominal():
    """30 null runs of 75 days: the share of runs reporting any significant factor (Holm,
    alpha 0.05), the share reporting each factor significant, and the share of single
    unadjusted tests below 0.05 are all compatible with at most 5% (one-sided binomial
    test at the 1% level)."""
    scenario = load_scenario(PLANTED, [*NULL, "horizon_days=75"])
    tables = [attribution(run(scenario, None, (33, i))) for i in range(RUNS)]
    any_significant = sum(bool(t["significant"].any()) for t in tables)
    raw = sum(int((t["p_value"] < 0.05).sum()) for t in tables)
    n_tests = sum(len(t) for t in tables)
    assert n_tests == RUNS * len(FACTORS)
    per_factor = [
        sum(bool(t.set_index("factor").loc[f.name, "significant"]) for t in tables) for f in FACTORS
    ]
    for hits, n in ((any_significant, RUNS), (raw, n_tests), *((k, RUNS) for k in per_factor)):
        assert stats.binomtest(hits, n, 0.05, alternative="greater").pvalue > 0.01, (hits, n)
