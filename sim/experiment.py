"""Experiments: replications of one scenario under one policy, and their KPI summary.

A replication is one run with seed ``(base_seed, i)`` (see
:func:`sim.randomness.replication_seeds`), so replication *i* gives the same numbers in
any batch and under every policy (common random numbers).  Everything here is a pure
function of its arguments::

    results = run_replications(scenario, policy, n=10, base_seed=1)
    summary = summarise(kpi_frame(results))  # one row per KPI: mean and 95% interval
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from policies.policy import PolicyBase
from sim.config import Scenario
from sim.engine import run
from sim.metrics import KPIS, kpis
from sim.randomness import replication_seeds
from sim.result import RunResult

__all__ = ["SUMMARY_COLUMNS", "kpi_frame", "run_replications", "summarise"]

SUMMARY_COLUMNS = ("kpi", "mean", "ci_low", "ci_high", "unit", "better", "n")
"""Columns of :func:`summarise`, in order."""


def run_replications(
    scenario: Scenario, policy: PolicyBase | None, n: int, base_seed: int = 0
) -> list[RunResult]:
    """Simulate *n* replications of *scenario* under *policy* (None: the default policy).

    Replication ``i`` uses seed ``(base_seed, i)``; ValueError when ``n < 1``.
    """
    return [run(scenario, policy, seed) for seed in replication_seeds(base_seed, n)]


def kpi_frame(results: Sequence[RunResult]) -> pd.DataFrame:
    """KPIs of *results*, tidy: one row per run, in the order given.

    Columns: ``replication`` (position in *results*, 0-based), ``seed`` (the run's seed
    tuple, which :func:`sim.run` accepts to reproduce the run), then every KPI of
    :data:`sim.metrics.KPIS` in definition order, as floats.
    """
    rows = [
        {"replication": i, "seed": tuple(result.seed), **kpis(result)}
        for i, result in enumerate(results)
    ]
    columns = ["replication", "seed", *KPIS]
    frame = pd.DataFrame(rows, columns=columns)
    frame["replication"] = frame["replication"].astype(np.int64)
    frame[list(KPIS)] = frame[list(KPIS)].astype(float)
    return frame


def _interval(values: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """Mean and Student-t interval of *values* (finite only); NaN interval when n < 2."""
    n = len(values)
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(values.mean())
    if n < 2:
        return mean, math.nan, math.nan
    sem = float(values.std(ddof=1)) / math.sqrt(n)
    half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1)) * sem
    return mean, mean - half, mean + half


def summarise(frame: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """One row per KPI of *frame* (as made by :func:`kpi_frame`): mean and t-interval.

    Columns: ``kpi``, ``mean``, ``ci_low``, ``ci_high`` (a two-sided *confidence*
    Student-t interval for the mean over replications: ``mean ± t(n-1) · s / √n``),
    ``unit``, ``better`` and ``n``, the number of replications where the KPI has a value
    (NaN values, e.g. a first-touch time when no lead was touched, are left out).  The
    interval is NaN when ``n < 2`` and is cut at the KPI's bounds.  KPIs are listed in
    :data:`sim.metrics.KPIS` order; columns of *frame* that are not KPIs are ignored.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    rows = []
    for name, spec in KPIS.items():
        if name not in frame.columns:
            continue
        values = frame[name].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        mean, low, high = _interval(values, confidence)
        # A t-interval of a skewed KPI can cross its natural bound (a negative median
        # wait): cut it there.
        lo_bound, hi_bound = spec.bounds
        if lo_bound is not None and np.isfinite(low):
            low = max(low, lo_bound)
        if hi_bound is not None and np.isfinite(high):
            high = min(high, hi_bound)
        rows.append(
            {
                "kpi": name,
                "mean": mean,
                "ci_low": low,
                "ci_high": high,
                "unit": spec.unit,
                "better": spec.better,
                "n": len(values),
            }
        )
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
