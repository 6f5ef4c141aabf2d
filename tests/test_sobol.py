"""Sobol indices: the Ishigami function's known indices, and planted irrelevant factors
(an analytic one and a scenario field the simulated KPI never reads) get ST ≈ 0."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.errors import ConfigError
from sim.experiments.replications import run_replications
from sim.experiments.sobol import INDEX_COLUMNS, Factor, design_size, indices, sample
from sim.io.overrides import format_override
from sim.outcomes.kpis import KPIS
from sim.world.loading import load_policy, load_scenario

# Ishigami (a = 7, b = 0.1): analytic first-order and total indices.
ISHIGAMI_S1 = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
ISHIGAMI_ST = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}


def _ishigami(design: pd.DataFrame) -> np.ndarray:
    x1, x2, x3 = design.x1, design.x2, design.x3
    return (np.sin(x1) + 7 * np.sin(x2) ** 2 + 0.1 * x3**4 * np.sin(x1)).to_numpy()


def _covers(row: pd.Series, index: str, value: float, slack: float = 0.02) -> bool:
    return abs(row[index] - value) <= row[f"{index}_conf"] + slack


def test_ishigami_indices_and_a_planted_irrelevant_factor():
    factors = [Factor(f"x{i}", -math.pi, math.pi) for i in (1, 2, 3)]
    factors.append(Factor("unused", 0, 1))
    design = sample(factors, n=1024, seed=3)
    assert list(design.columns) == ["x1", "x2", "x3", "unused"]
    assert len(design) == design_size(factors, 1024) == 1024 * 6
    table = indices(factors, _ishigami(design), seed=3).set_index("factor")
    assert list(table.reset_index().columns) == list(INDEX_COLUMNS)
    for name in ("x1", "x2", "x3"):
        assert _covers(table.loc[name], "S1", ISHIGAMI_S1[name]), (name, table.loc[name])
        assert _covers(table.loc[name], "ST", ISHIGAMI_ST[name]), (name, table.loc[name])
    unused = table.loc["unused"]
    assert unused.ST < 0.02 or unused.ST - unused.ST_conf <= 0


def test_factor_kinds_map_the_unit_cube_evenly_and_deterministically():
    factors = [
        Factor("team.groups.0.count", 10, 13, "int"),
        Factor("routing.name", 0, 0, "choice", ("round_robin", "least_loaded", "weighted")),
        Factor("sla.reclaim_hours", 1, 8),
    ]
    design = sample(factors, n=256, seed=1)
    counts = design["team.groups.0.count"].value_counts()
    assert sorted(counts.index) == [10, 11, 12, 13]
    assert counts.max() - counts.min() <= 0.05 * len(design)
    assert set(design["routing.name"]) == {"round_robin", "least_loaded", "weighted"}
    hours = design["sla.reclaim_hours"]
    assert hours.between(1, 8).all() and hours.max() - hours.min() > 6.5
    pd.testing.assert_frame_equal(design, sample(factors, n=256, seed=1))
    assert not design.equals(sample(factors, n=256, seed=2))


def test_constant_kpi_and_bad_input():
    factors = [Factor("a", 0, 1), Factor("b", 0, 1)]
    flat = indices(factors, np.ones(design_size(factors, 8)), seed=0)
    assert (flat[["S1", "ST", "S1_conf", "ST_conf"]] == 0).all().all()
    with pytest.raises(ConfigError, match="power of two"):
        sample(factors, n=10, seed=0)
    with pytest.raises(ConfigError, match="do not fit"):
        indices(factors, np.ones(33), seed=0)
    with pytest.raises(ConfigError, match="given twice"):
        sample([Factor("a", 0, 1), Factor("a", 0, 2)], n=8, seed=0)
    with pytest.raises(ConfigError, match="low < high"):
        Factor("a", 2, 1)
    with pytest.raises(ConfigError, match="needs its choices"):
        Factor("a", 0, 0, "choice")


@pytest.mark.slow
def test_simulated_irrelevant_lever_gets_total_index_zero():
    """M/M/c world: the number of servers and the arrival rate drive the servers'
    utilisation (about rate / (servers x 2)); the A-grade qualification odds (decided
    after the touch, never feeding back on the queue) must not."""
    factors = [
        Factor("team.groups.0.count", 5, 7, "int"),
        Factor("arrivals.rate_per_hour", 6, 9),
        Factor("qualification.base.A", 0.5, 1.0),
    ]
    design = sample(factors, n=16, seed=5)
    policy = load_policy("scenarios/policies/no_sla.yaml")
    y = []
    for row in design.itertuples(index=False):
        sets = ["horizon_days=3", "warmup_days=0.5"]
        sets += [format_override(f.name, value) for f, value in zip(factors, row, strict=True)]
        scenario = load_scenario("scenarios/mmc_validation.yaml", sets)
        (result,) = run_replications(scenario, policy, n=1, base_seed=11)
        y.append(KPIS["rep_utilisation_mean"].compute(result))  # the one KPI needed
    table = indices(factors, np.array(y), seed=5).set_index("factor")
    irrelevant = table.loc["qualification.base.A"]
    assert abs(irrelevant.ST) <= irrelevant.ST_conf + 1e-9  # its interval covers 0
    assert irrelevant.ST < 0.02
    servers = table.loc["team.groups.0.count"]
    assert servers.ST - servers.ST_conf > 0.1  # the lever that matters clearly does
