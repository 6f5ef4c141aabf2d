"""Reading a sweep's combined table: per-point intervals, lever effects, best points.

Pure functions of the table made by :func:`sim.experiments.store.combined_table` (one row per
point and replication, one column per lever)::

    summary = point_summary(table, levers)          # per point and KPI: mean, 95% interval
    lever_effects(table, levers, "sla_reclaims")    # tornado: swing of each lever's means
    best_points(table, levers, ["qualification_rate"])  # best point per KPI, its interval
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from sim.experiments.replications import summarise
from sim.outcomes.kpis import all_kpis

__all__ = ["best_points", "lever_effects", "point_summary"]


def point_summary(table: pd.DataFrame, levers: Sequence[str]) -> pd.DataFrame:
    """One row per (point, KPI): the point's lever values, then :func:`summarise`'s columns
    (``kpi``, ``mean``, ``ci_low``, ``ci_high``, ``unit``, ``better``, ``n``)."""
    frames = []
    for point, runs in table.groupby("point", sort=True):
        summary = summarise(runs)
        for lever in levers:
            summary[lever] = runs[lever].iloc[0]
        frames.append(summary.assign(point=point))
    if not frames:
        return pd.DataFrame(columns=["point", *levers, "kpi", "mean", "ci_low", "ci_high"])
    out = pd.concat(frames, ignore_index=True)
    return out[["point", *levers, *[c for c in out.columns if c not in ("point", *levers)]]]


def lever_effects(table: pd.DataFrame, levers: Sequence[str], kpi: str) -> pd.DataFrame:
    """Tornado data for *kpi*: per lever, the KPI's mean at each of its levels (over all
    other levers and replications), the lowest and highest of those means, and the swing
    (highest - lowest).  A range lever (many distinct values) is cut into quartiles
    first.  Sorted by swing, largest first (ties by lever name)."""
    rows = []
    for lever in levers:
        values = table[lever]
        if pd.api.types.is_numeric_dtype(values) and values.nunique() > 8:
            levels = pd.qcut(values, 4, duplicates="drop")
        else:
            levels = values
        means = table.groupby(levels, observed=True, sort=True)[kpi].mean().dropna()
        if means.empty:
            continue
        low_level, high_level = means.idxmin(), means.idxmax()
        rows.append(
            {
                "lever": lever,
                "low": float(means.min()),
                "high": float(means.max()),
                "swing": float(means.max() - means.min()),
                "at_low": str(low_level),
                "at_high": str(high_level),
                "levels": len(means),
            }
        )
    columns = ["lever", "low", "high", "swing", "at_low", "at_high", "levels"]
    effects = pd.DataFrame(rows, columns=columns)
    return effects.sort_values(["swing", "lever"], ascending=[False, True], kind="stable")


def _paired_interval(a: pd.Series, b: pd.Series, confidence: float) -> tuple[float, float]:
    """Student-t interval of the mean of ``a - b`` paired on the index (finite pairs)."""
    d = (a - b).to_numpy(dtype=float)
    d = d[np.isfinite(d)]
    if len(d) < 2:
        return math.nan, math.nan
    half = float(stats.t.ppf(0.5 + confidence / 2, len(d) - 1)) * d.std(ddof=1) / math.sqrt(len(d))
    return float(d.mean() - half), float(d.mean() + half)


def best_points(
    table: pd.DataFrame, levers: Sequence[str], kpis: Sequence[str], confidence: float = 0.95
) -> pd.DataFrame:
    """Per KPI with a direction, the point with the best mean (lowest for ``lower``,
    highest for ``higher``; ties: the first point), with its lever values and interval.

    Columns: ``kpi``, ``better``, ``point``, the levers, ``mean``, ``ci_low``,
    ``ci_high`` (the point's t-interval), ``unit``, ``runner_up`` (the second-best
    point's mean), ``gap_low`` / ``gap_high``: the paired t-interval of best minus
    runner-up over replications (every point runs on the same seeds, so replication *i*
    sees the same leads everywhere: common random numbers), and ``clear``: True when that
    interval excludes 0.
    """
    summary = point_summary(table, levers)
    by_point = table.set_index(["point", "replication"])
    rows = []
    for kpi in kpis:
        spec = all_kpis()[kpi]
        part = summary[(summary["kpi"] == kpi) & np.isfinite(summary["mean"].astype(float))]
        if spec.better == "none" or part.empty:
            continue
        ranked = part.sort_values(
            ["mean", "point"], ascending=[spec.better == "lower", True], kind="stable"
        )
        best = ranked.iloc[0]
        gap = (math.nan, math.nan)
        runner_up = math.nan
        if len(ranked) > 1:
            second = ranked.iloc[1]
            runner_up = second["mean"]
            gap = _paired_interval(
                by_point.loc[int(best["point"]), kpi],
                by_point.loc[int(second["point"]), kpi],
                confidence,
            )
        rows.append(
            {
                "kpi": kpi,
                "better": spec.better,
                "point": int(best["point"]),
                **{lever: best[lever] for lever in levers},
                "mean": best["mean"],
                "ci_low": best["ci_low"],
                "ci_high": best["ci_high"],
                "unit": spec.unit,
                "runner_up": runner_up,
                "gap_low": gap[0],
                "gap_high": gap[1],
                "clear": bool(np.isfinite(gap[0]) and (gap[0] > 0 or gap[1] < 0)),
            }
        )
    columns = ["kpi", "better", "point", *levers, "mean", "ci_low", "ci_high", "unit"]
    return pd.DataFrame(rows, columns=[*columns, "runner_up", "gap_low", "gap_high", "clear"])
