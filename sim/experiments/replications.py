"""Experiments: replications of one scenario under one or more policies, KPI summaries,
and paired before/after comparisons.

A replication is one run with seed ``(base_seed, i)`` (see
:func:`sim.world.randomness.replication_seeds`), so replication *i* gives the same numbers in
any batch and under every policy (common random numbers).  Everything here is a pure
function of its arguments::

    results = run_replications(scenario, policy, n=10, base_seed=1)
    summary = summarise(kpi_frame(results))  # one row per KPI: mean and 95% interval

    frame = compare(scenario, {"before": old, "after": new}, n=10, base_seed=1)
    paired_differences(frame, "before", "after")  # one row per KPI: change, interval, verdict

A comparison runs every policy on the *same* replication seeds, so each replication sees
the same leads under every policy and the paired differences cancel most of the
run-to-run noise (common random numbers): the interval of a difference is much narrower
than with independent seeds, for the same number of runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from policies.policy import PolicyBase
from sim.engine.result import RunResult
from sim.engine.simulation import run
from sim.outcomes.kpis import KPIS, all_kpis, kpi_specs, kpis
from sim.world.randomness import replication_seeds
from sim.world.scenario import Scenario

__all__ = [
    "DIFFERENCE_COLUMNS",
    "SUMMARY_COLUMNS",
    "VERDICTS",
    "compare",
    "compare_runs",
    "comparison_frame",
    "kpi_frame",
    "paired_differences",
    "run_replications",
    "summarise",
]

SUMMARY_COLUMNS = ("kpi", "mean", "ci_low", "ci_high", "unit", "better", "n")
"""Columns of :func:`summarise`, in order."""

DIFFERENCE_COLUMNS = (
    "kpi",
    "unit",
    "better",
    "baseline_mean",
    "candidate_mean",
    "difference",
    "ci_low",
    "ci_high",
    "relative_change",
    "n",
    "verdict",
)
"""Columns of :func:`paired_differences`, in order."""

VERDICTS = ("better", "worse", "changed", "no clear difference")
"""Verdicts of :func:`paired_differences` (``changed``: a KPI with no better direction)."""


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
    tuple, which :func:`sim.run` accepts to reproduce the run), then every KPI of the
    runs' scenario (:func:`sim.outcomes.kpis.kpi_specs`: the process KPIs too when it has a
    process model) in definition order, as floats.
    """
    rows = [
        {"replication": i, "seed": tuple(result.seed), **kpis(result)}
        for i, result in enumerate(results)
    ]
    names = list(kpi_specs(results[0].scenario) if results else KPIS)
    frame = pd.DataFrame(rows, columns=["replication", "seed", *names])
    frame["replication"] = frame["replication"].astype(np.int64)
    frame[names] = frame[names].astype(float)
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
    :data:`sim.outcomes.kpis.KPIS` order; columns of *frame* that are not KPIs are ignored.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    rows = []
    for name, spec in all_kpis().items():
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


def compare_runs(
    scenario: Scenario, policies: Mapping[str, PolicyBase | None], n: int, base_seed: int = 0
) -> dict[str, list[RunResult]]:
    """Runs of *scenario* under each of *policies* (label -> policy), on the same seeds.

    Every policy gets the replications ``(base_seed, 0) .. (base_seed, n - 1)``, so
    replication *i* brings the same leads under every policy (common random numbers).
    Returns label -> results, in the order of *policies*.  ValueError when *policies* is
    empty or ``n < 1``.
    """
    if not policies:
        raise ValueError("compare needs at least one policy")
    seeds = replication_seeds(base_seed, n)
    return {
        str(label): [run(scenario, policy, seed) for seed in seeds]
        for label, policy in policies.items()
    }


def comparison_frame(runs: Mapping[str, Sequence[RunResult]]) -> pd.DataFrame:
    """KPIs of *runs* (label -> results, as from :func:`compare_runs`), tidy.

    One row per (policy, replication): ``policy`` (the label), ``replication``, ``seed``,
    then every KPI, as in :func:`kpi_frame`; policies in the order given.
    """
    frames = [kpi_frame(results).assign(policy=str(label)) for label, results in runs.items()]
    if not frames:
        return pd.DataFrame(columns=["policy", "replication", "seed", *KPIS])
    names = [c for c in frames[0].columns if c not in ("policy", "replication", "seed")]
    return pd.concat(frames, ignore_index=True)[["policy", "replication", "seed", *names]]


def compare(
    scenario: Scenario, policies: Mapping[str, PolicyBase | None], n: int, base_seed: int = 0
) -> pd.DataFrame:
    """Every policy of *policies* (label -> policy) on the same *n* replication seeds.

    ``comparison_frame(compare_runs(...))``: one row per (policy, replication) with
    columns ``policy``, ``replication``, ``seed`` and every KPI.  Use
    :func:`compare_runs` instead when the runs themselves are needed (plots, warnings).
    """
    return comparison_frame(compare_runs(scenario, policies, n, base_seed))


def _verdict(low: float, high: float, better: str) -> str:
    """What an interval of (candidate - baseline) says, given the KPI's direction."""
    if not (np.isfinite(low) and np.isfinite(high)) or low <= 0 <= high:
        return "no clear difference"
    if better == "none":
        return "changed"
    up = low > 0
    return "better" if up == (better == "higher") else "worse"


def paired_differences(
    frame: pd.DataFrame, baseline: str, candidate: str, confidence: float = 0.95
) -> pd.DataFrame:
    """Candidate minus baseline, per KPI, paired by replication (from :func:`compare`).

    For each KPI, replications where both policies have a value are paired; with
    :func:`compare` a pair shares its seed, hence its leads (common random numbers).
    Columns (:data:`DIFFERENCE_COLUMNS`): ``kpi``, ``unit``, ``better``,
    ``baseline_mean`` and ``candidate_mean`` (over the pairs), ``difference`` (the mean
    of the paired differences, candidate - baseline), ``ci_low`` / ``ci_high`` (a
    two-sided *confidence* paired Student-t interval, ``d̄ ± t(n-1) · s_d / √n``; NaN when
    ``n < 2``), ``relative_change`` (difference / baseline mean; NaN when that is 0),
    ``n`` (pairs) and ``verdict``: ``better`` or ``worse`` when the interval excludes 0,
    judged by the KPI's ``better`` direction (``changed`` for a KPI without one), else
    ``no clear difference``.  KPIs in :data:`sim.outcomes.kpis.KPIS` order.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    known = list(dict.fromkeys(frame["policy"].astype(str))) if "policy" in frame else []
    for label in (baseline, candidate):
        if label not in known:
            raise ValueError(
                f"policy {label!r} is not in the frame (policies: {', '.join(known) or 'none'})"
            )
    specs = all_kpis()
    names = [name for name in specs if name in frame.columns]
    sides = []
    for label in (baseline, candidate):
        side = frame[frame["policy"].astype(str) == label].set_index("replication")[names]
        if side.index.has_duplicates:
            raise ValueError(f"policy {label!r} has a replication number more than once")
        sides.append(side)
    pairs = sides[0].add_suffix("_b").join(sides[1].add_suffix("_c"), how="inner")
    rows = []
    for name in names:
        spec = specs[name]
        base = pairs[f"{name}_b"].to_numpy(dtype=float)
        cand = pairs[f"{name}_c"].to_numpy(dtype=float)
        keep = np.isfinite(base) & np.isfinite(cand)
        base, cand = base[keep], cand[keep]
        difference, low, high = _interval(cand - base, confidence)
        base_mean = float(base.mean()) if len(base) else math.nan
        cand_mean = float(cand.mean()) if len(cand) else math.nan
        relative = difference / base_mean if np.isfinite(base_mean) and base_mean else math.nan
        rows.append(
            {
                "kpi": name,
                "unit": spec.unit,
                "better": spec.better,
                "baseline_mean": base_mean,
                "candidate_mean": cand_mean,
                "difference": difference,
                "ci_low": low,
                "ci_high": high,
                "relative_change": relative,
                "n": int(keep.sum()),
                "verdict": _verdict(low, high, spec.better),
            }
        )
    return pd.DataFrame(rows, columns=list(DIFFERENCE_COLUMNS))
