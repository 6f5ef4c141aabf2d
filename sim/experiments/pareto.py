"""The Pareto front of a search, judged with paired intervals, and crowding.

Every candidate ran on the same replication seeds, so replication *i* of two candidates
saw the same leads: their difference on an objective is judged by a **paired** Student-t
interval over replications (``d̄ ± t(n-1) · s_d / √n``, 95%), turned so that positive
means "A is better" in the objective's sense.  Candidate A **dominates** B when, for
every objective, the interval does not say A is worse (its upper end is >= 0) and, for
at least one objective, it says A is better (its lower end is > 0).  Noise alone never
dominates: two candidates whose differences are all within noise both stay on the front.
With one replication there is no interval and the difference itself is used.

The front is the feasible candidates (every constraint met by the mean) that no feasible
candidate dominates; when no candidate is feasible, the front is taken over all of them
and :func:`front_table` says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from sim.experiments.search_spec import Condition, Objective

__all__ = [
    "crowding",
    "dominance",
    "front_table",
    "paired_intervals",
    "replication_matrix",
    "robust_set",
]

CONFIDENCE = 0.95


def replication_matrix(frames: Sequence[pd.DataFrame | None], kpi: str) -> np.ndarray:
    """``[candidate, replication]`` values of *kpi* (NaN where missing), by replication."""
    reps = sorted(
        {int(r) for f in frames if f is not None and "replication" in f for r in f["replication"]}
    )
    index = {r: i for i, r in enumerate(reps)}
    out = np.full((len(frames), len(reps)), np.nan)
    for c, frame in enumerate(frames):
        if frame is None or kpi not in frame:
            continue
        for r, value in zip(frame["replication"], frame[kpi], strict=True):
            out[c, index[int(r)]] = float(value)
    return out


def paired_intervals(
    values: np.ndarray, confidence: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, low and high of ``values[a] - values[b]`` for every pair, paired by column.

    *values* is ``[candidate, replication]``; returns three ``[a, b]`` arrays.  Pairs with
    fewer than two finite differences get ``low = high = mean`` (NaN when none).
    """
    d = values[:, None, :] - values[None, :, :]
    finite = np.isfinite(d)
    n = finite.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, np.nansum(d, axis=2) / np.maximum(n, 1), np.nan)
        centred = np.where(finite, d - mean[:, :, None], 0.0)
        var = (centred**2).sum(axis=2) / np.maximum(n - 1, 1)
        t = stats.t.ppf(0.5 + confidence / 2, np.maximum(n - 1, 1))
        half = np.where(n >= 2, t * np.sqrt(var) / np.sqrt(np.maximum(n, 1)), 0.0)
    return mean, mean - half, mean + half


def dominance(good: Sequence[np.ndarray], confidence: float = CONFIDENCE) -> np.ndarray:
    """``[a, b]`` True when candidate a dominates b (see the module docstring).

    *good* holds one ``[candidate, replication]`` matrix per objective, turned so that
    larger is better.
    """
    size = good[0].shape[0] if good else 0
    not_worse = np.ones((size, size), dtype=bool)
    better = np.zeros((size, size), dtype=bool)
    for values in good:
        mean, low, high = paired_intervals(values, confidence)
        comparable = np.isfinite(mean)
        not_worse &= comparable & (high >= 0)
        better |= comparable & (low > 0)
    result = not_worse & better
    np.fill_diagonal(result, False)
    return result


def crowding(points: np.ndarray) -> np.ndarray:
    """NSGA-II crowding distance of each row of *points* (``[candidate, objective]``,
    each objective scaled by its range); the extremes of any objective get ``inf``."""
    size, objectives = points.shape
    distance = np.zeros(size)
    if size <= 2:
        return np.full(size, np.inf)
    for k in range(objectives):
        order = np.argsort(points[:, k], kind="stable")
        column = points[order, k]
        spread = column[-1] - column[0]
        distance[order[0]] = distance[order[-1]] = np.inf
        if spread > 0:
            distance[order[1:-1]] += (column[2:] - column[:-2]) / spread
    return distance


def _interval(values: np.ndarray, confidence: float) -> tuple[float, float, float]:
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return math.nan, math.nan, math.nan
    mean = float(values.mean())
    if len(values) < 2:
        return mean, mean, mean
    half = stats.t.ppf(0.5 + confidence / 2, len(values) - 1) * values.std(ddof=1)
    return mean, mean - half / math.sqrt(len(values)), mean + half / math.sqrt(len(values))


def front_table(
    frames: Sequence[pd.DataFrame | None],
    values: Sequence[Mapping[str, object]],
    objectives: Sequence[Objective],
    constraints: Sequence[Condition] = (),
    confidence: float = CONFIDENCE,
) -> tuple[pd.DataFrame, str]:
    """``candidates.csv``: per candidate its lever values, each objective's mean and
    interval, ``feasible``, ``pareto`` and ``dominated_by``; and a note on the front.

    *frames* are the candidates' evaluations (one row per replication; None when the
    evaluation failed), *values* their lever values (column -> value), both in candidate
    order.
    """
    rows = []
    for c, (frame, levers) in enumerate(zip(frames, values, strict=True)):
        row: dict[str, object] = {"candidate": c, **levers}
        for o in objectives:
            column = frame[o.kpi].to_numpy(float) if frame is not None else np.array([])
            mean, low, high = _interval(column, confidence)
            row |= {f"{o.kpi}_mean": mean, f"{o.kpi}_low": low, f"{o.kpi}_high": high}
        for cond in constraints:
            if f"{cond.kpi}_mean" not in row:
                column = frame[cond.kpi].to_numpy(float) if frame is not None else np.array([])
                row[f"{cond.kpi}_mean"] = _interval(column, confidence)[0]
        means = [row[f"{o.kpi}_mean"] for o in objectives]
        row["evaluated"] = frame is not None and all(math.isfinite(m) for m in means)
        row["feasible"] = bool(
            row["evaluated"] and all(c.holds(row[f"{c.kpi}_mean"]) for c in constraints)
        )
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table.assign(pareto=[], dominated_by=[]), "no candidate was evaluated"
    pool = np.flatnonzero(table["feasible"].to_numpy(bool))
    note = "front of the feasible candidates"
    if len(pool) == 0:
        pool = np.flatnonzero(table["evaluated"].to_numpy(bool))
        note = "no candidate meets every constraint: front of all evaluated candidates"
    good = [
        (1 if o.sense == "max" else -1) * replication_matrix([frames[i] for i in pool], o.kpi)
        for o in objectives
    ]
    dominated = dominance(good, confidence) if len(pool) else np.zeros((0, 0), bool)
    pareto = np.zeros(len(table), dtype=bool)
    dominated_by: list[object] = [""] * len(table)
    for j, candidate in enumerate(pool):
        by = np.flatnonzero(dominated[:, j])
        if len(by):
            dominated_by[candidate] = int(pool[by[0]])
        else:
            pareto[candidate] = True
    table["pareto"] = pareto
    table["dominated_by"] = pd.Series(dominated_by, dtype=object)
    return table.drop(columns=["evaluated"]), note


def robust_set(table: pd.DataFrame, objectives: Sequence[Objective], cap: int) -> list[int]:
    """The Pareto candidates for the robustness stage: all, or the *cap* with the largest
    crowding distance on the objective means (ties: the lower id)."""
    front = table[table["pareto"]]
    ids = front["candidate"].astype(int).to_numpy()
    if len(ids) <= cap:
        return [int(i) for i in ids]
    points = np.column_stack(
        [
            (1 if o.sense == "max" else -1) * front[f"{o.kpi}_mean"].to_numpy(float)
            for o in objectives
        ]
    )
    distance = crowding(points)
    order = sorted(range(len(ids)), key=lambda i: (-distance[i], ids[i]))
    return sorted(int(ids[i]) for i in order[:cap])
