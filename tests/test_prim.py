"""PRIM scenario discovery: planted failure boxes are recovered."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import qmc

from sim.errors import ConfigError
from sim.experiments.prim import discover


def _futures(n: int = 2000, dims: int = 5, seed: int = 1) -> pd.DataFrame:
    points = qmc.LatinHypercube(d=dims, seed=seed).random(n)
    return pd.DataFrame(points, columns=[f"x{i}" for i in range(1, dims + 1)])


def test_recovers_a_planted_box_among_five_factors():
    X = _futures()
    failed = ((X.x1 > 0.7) & (X.x2 < 0.3)).to_numpy()
    boxes = discover(X, failed, threshold=0.9)
    assert len(boxes) == 1
    box = boxes[0]
    assert set(box.limits) == {"x1", "x2"}
    low1, high1 = box.limits["x1"]
    low2, high2 = box.limits["x2"]
    assert low1 == pytest.approx(0.7, abs=0.05) and high1 == math.inf
    assert low2 == -math.inf and high2 == pytest.approx(0.3, abs=0.05)
    assert box.coverage >= 0.9 and box.density >= 0.9
    assert box.mass == pytest.approx(box.contains(X).mean())
    inside = box.contains(X)
    assert box.density == pytest.approx(failed[inside].mean())
    assert box.coverage == pytest.approx(failed[inside].sum() / failed.sum())


def test_default_threshold_takes_the_first_box_reaching_it():
    X = _futures()
    failed = ((X.x1 > 0.7) & (X.x2 < 0.3)).to_numpy()
    box = discover(X, failed)[0]
    assert 0.8 <= box.density < 0.9  # the largest box with density >= 0.8 ...
    assert box.coverage == 1.0  # ... so it keeps every failure
    assert discover(X, failed, threshold=0.9)[0].mass < box.mass


def test_categorical_factor_is_restricted_by_category():
    X = _futures(dims=2)
    X["routing"] = np.array(["round_robin", "least_loaded", "weighted"])[np.arange(len(X)) % 3]
    failed = ((X.x1 > 0.6) & (X.routing == "least_loaded")).to_numpy()
    box = discover(X, failed)[0]
    assert box.limits["routing"] == frozenset({"least_loaded"})
    assert box.limits["x1"][0] == pytest.approx(0.6, abs=0.1)
    assert "x2" not in box.limits
    assert box.coverage >= 0.9 and box.density >= 0.8


def test_covering_finds_a_second_box_on_the_remaining_points():
    X = _futures(n=3000, dims=3, seed=7)
    first = X.x1 > 0.8
    second = (X.x1 <= 0.8) & (X.x2 > 0.85) & (X.x3 > 0.5)
    failed = (first | second).to_numpy()
    boxes = discover(X, failed, threshold=0.9)
    assert len(boxes) == 2
    assert set(boxes[0].limits) == {"x1"} and boxes[0].limits["x1"][0] == pytest.approx(
        0.8, abs=0.05
    )
    assert set(boxes[1].limits) == {"x2", "x3"}
    assert boxes[1].limits["x2"][0] == pytest.approx(0.85, abs=0.05)
    assert all(b.density >= 0.9 for b in boxes)
    assert sum(b.coverage for b in boxes) >= 0.95
    both = boxes[0].contains(X) & boxes[1].contains(X)
    second_alone = boxes[1].contains(X) & ~boxes[0].contains(X)
    assert boxes[1].mass == pytest.approx(second_alone.mean())  # only uncovered points count
    assert boxes[1].coverage == pytest.approx(failed[second_alone].sum() / failed.sum())
    assert both.any()  # the boxes overlap as limits, not as counted points


def test_min_mass_bounds_the_box_and_falls_back_to_the_densest():
    X = _futures()
    failed = ((X.x1 > 0.9) & (X.x2 > 0.9)).to_numpy()  # a corner of 1% of the points
    box = discover(X, failed, min_mass=0.1)[0]
    assert box.mass >= 0.1  # the corner is smaller than min_mass allows ...
    assert box.density < 0.8  # ... so no box reaches the threshold: the densest one
    assert box.coverage == 1.0 and box.limits["x1"][0] == pytest.approx(0.9, abs=0.02)
    assert box.density > failed.mean() * 5


def test_nothing_to_discover_and_bad_input():
    X = _futures(n=100)
    assert discover(X, np.zeros(100, dtype=bool)) == []
    assert discover(X, np.ones(100, dtype=bool)) == []
    with pytest.raises(ConfigError, match="100 points but 99"):
        discover(X, np.zeros(99, dtype=bool))
    with pytest.raises(ConfigError, match="peel_alpha"):
        discover(X, np.zeros(100, dtype=bool), peel_alpha=0.7)
