"""Robustness of search candidates: Latin-hypercube futures, regret, the recommendation,
and the PRIM / Sobol stages of ``optimize`` wired to the search's evaluations."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import POLICIES, SCENARIOS
from sim.experiments.fanout import SequentialEvaluator
from sim.experiments.robustness import lhs_futures, recommend, regret_table
from sim.experiments.search import run_search
from sim.experiments.search_spec import Objective, SearchSpec, parse_lever

QUAL = Objective("qualification_rate", "max")
WAIT = Objective("first_touch_hours_p90", "min")


def results_table() -> pd.DataFrame:
    """Three candidates in three futures, by hand.

    qualification (max): future 0: 0.30 0.28 0.25; future 1: 0.20 0.27 0.24;
    future 2: 0.31 0.29 0.30.  Candidate 0 wins twice but collapses in future 1
    (regret 0.07); candidate 1's worst regret is 0.02.
    """
    rows = {
        (0, 0): (0.30, 5.0),
        (1, 0): (0.28, 6.0),
        (2, 0): (0.25, 4.0),
        (0, 1): (0.20, 9.0),
        (1, 1): (0.27, 7.0),
        (2, 1): (0.24, 8.0),
        (0, 2): (0.31, 5.0),
        (1, 2): (0.29, 5.5),
        (2, 2): (0.30, 4.5),
    }
    return pd.DataFrame(
        [
            {"candidate": c, "future": f, "qualification_rate": q, "first_touch_hours_p90": w}
            for (c, f), (q, w) in rows.items()
        ]
    )


def test_regret_table_by_hand():
    table = regret_table(results_table(), [QUAL, WAIT]).set_index(["candidate", "objective"])
    q0 = table.loc[(0, "qualification_rate")]
    assert q0["max_regret"] == pytest.approx(0.07)
    assert q0["mean_regret"] == pytest.approx(0.07 / 3)
    assert q0["mean"] == pytest.approx((0.30 + 0.20 + 0.31) / 3)
    q1 = table.loc[(1, "qualification_rate")]
    assert q1["max_regret"] == pytest.approx(0.02)  # futures 0 and 2: 0.02 behind
    # p10 in the good direction: low end for a max objective, high end for a min one
    assert q0["p10"] == pytest.approx(pd.Series([0.30, 0.20, 0.31]).quantile(0.10))
    w1 = table.loc[(1, "first_touch_hours_p90")]
    assert w1["p10"] == pytest.approx(pd.Series([6.0, 7.0, 5.5]).quantile(0.90))
    assert w1["max_regret"] == pytest.approx(2.0)  # future 0: 6.0 against 4.0


def test_recommend_least_max_regret_on_the_primary_objective():
    results = results_table()
    table = regret_table(results, [QUAL, WAIT])
    pick, reason = recommend(table, results, [QUAL, WAIT])
    assert pick == 1
    assert "least maximum regret on qualification_rate" in reason and "3 futures" in reason
    # with waiting time first, candidate 2 is never more than 1 h behind
    pick, _ = recommend(regret_table(results, [WAIT, QUAL]), results, [WAIT, QUAL])
    assert pick == 2


def test_recommend_breaks_ties_by_normalised_mean_regret():
    results = results_table()
    results["qualification_rate"] = 0.3  # every candidate tied on the primary objective
    table = regret_table(results, [QUAL, WAIT])
    pick, reason = recommend(table, results, [QUAL, WAIT])
    # mean waiting regret: 0 -> (1 + 2 + 0.5) / 3, 1 -> (2 + 0 + 1) / 3, 2 -> (0 + 1 + 0) / 3
    assert pick == 2
    assert "tied with 0, 1" in reason


def test_lhs_futures_are_seeded_stratified_and_integer_where_asked():
    levers = [
        parse_lever("arrivals.leads_per_month=2400:4800", "--uncertainty"),
        parse_lever("team.groups.0.count=10:14", "--uncertainty"),
    ]
    futures = lhs_futures(levers, 10, seed=5)
    assert futures.equals(lhs_futures(levers, 10, seed=5))
    assert not futures.equals(lhs_futures(levers, 10, seed=6))
    assert futures["future"].tolist() == list(range(10))
    volume = futures["arrivals.leads_per_month"]
    assert ((volume >= 2400) & (volume <= 4800)).all()
    strata = ((volume - 2400) // 240).astype(int).clip(upper=9)
    assert sorted(strata) == list(range(10))  # one future per tenth of the range
    team = futures["team.groups.0.count"]
    assert team.dtype.kind == "i" and set(team) <= set(range(10, 15)) and team.nunique() == 5
    assert lhs_futures([], 0, seed=1).to_dict("list") == {"future": [0]}


def test_search_with_futures_discovery_and_sobol(tmp_path):
    """A small M/M/c search: the front in 4 futures of arrival rate, PRIM on them, and
    Sobol indices over the lever and the uncertainty (written, with their intervals)."""
    pytest.importorskip("SALib")
    from sim.experiments import sobol  # noqa: F401  (EXPLORE's module must exist)

    spec = SearchSpec.from_options(
        str(SCENARIOS / "mmc_validation.yaml"),
        str(POLICIES / "no_sla.yaml"),
        ["team.groups.0.count=5:8"],
        ["min:first_touch_hours_mean"],
        uncertainties=["arrivals.rate_per_hour=6:9"],
        futures=4,
        discover="first_touch_hours_mean>0.05",
        overrides=("horizon_days=1", "warmup_days=0.1"),
        budget=4,
        replications=2,
        population=4,
        sobol=4,
    )
    outcome = run_search(spec, tmp_path / "s", SequentialEvaluator(progress=False))
    assert outcome.complete
    out = tmp_path / "s"
    results = pd.read_csv(out / "future_results.csv")
    assert set(results["future"]) == set(range(4))
    robustness = pd.read_csv(out / "robustness.csv")
    assert robustness.loc[robustness["recommended"], "candidate"].tolist() == [
        outcome.manifest["recommended"]
    ]
    prim = pd.read_csv(out / "prim.csv")
    assert list(prim.columns[:5]) == ["box", "coverage", "density", "mass", "dimension"]
    table = pd.read_csv(out / "sobol.csv")
    assert set(table["factor"]) == {"team.groups.0.count", "arrivals.rate_per_hour"}
    assert list(table.columns) == ["factor", "kpi", "S1", "S1_conf", "ST", "ST_conf"]
