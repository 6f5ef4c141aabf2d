"""Robustness of candidates across futures: a Latin-hypercube ensemble, regret, a pick.

A *future* sets every uncertain path (lead volume, team size, ...) to one value drawn by
a seeded Latin hypercube over the ``--uncertainty`` ranges (integer paths get integers,
each equally likely).  Each candidate is evaluated in each future on the same seeds; its
value there is the mean over replications.

For a candidate *c*, a future *f* and an objective *k*, the **regret** is how far *c* is
from the best candidate in *f*: ``|best_f(k) - value(c, f, k)|``, best in the objective's
sense.  :func:`regret_table` gives, per candidate and objective, the mean across futures,
``p10`` (the 10th percentile in the objective's good direction: the value the candidate
reaches or beats in 90% of futures), the maximum and the mean regret.

:func:`recommend` picks the candidate with the least maximum regret on the primary
(first) objective; ties are broken by the mean regret over all objectives, each divided by
that objective's range of values across candidates and futures, then by the lower id.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.experiments.search_spec import Objective, SearchLever
from sim.experiments.sweep_design import SIGNIFICANT

__all__ = ["ROBUSTNESS_COLUMNS", "lhs_futures", "recommend", "regret_table"]

ROBUSTNESS_COLUMNS = ("candidate", "objective", "mean", "p10", "max_regret", "mean_regret")
TIE = 1e-9  # relative: max regrets this close count as equal


def lhs_futures(uncertainties: Sequence[SearchLever], n: int, seed: int) -> pd.DataFrame:
    """``futures.csv``: ``future`` (0..n-1) and one column per uncertain path.

    ``n`` Latin-hypercube points (``scipy.stats.qmc``, seeded by *seed*); an integer range
    maps each stratum to ``low + floor(u (high - low + 1))``; floats keep 6 significant
    digits.  With no uncertainty: one future, the scenario as it is.
    """
    from scipy.stats import qmc

    if not uncertainties:
        return pd.DataFrame({"future": [0]})
    unit = qmc.LatinHypercube(d=len(uncertainties), rng=np.random.default_rng(seed))
    rows = []
    for f, sample in enumerate(unit.random(n)):
        row: dict[str, object] = {"future": f}
        for lever, u in zip(uncertainties, sample, strict=True):
            low, high = lever.low, lever.high
            if lever.kind == "int":
                row[lever.path] = int(min(high, low + math.floor(u * (high - low + 1))))
            else:
                row[lever.path] = float(f"{low + u * (high - low):.{SIGNIFICANT}g}")
        rows.append(row)
    return pd.DataFrame(rows)


def _p10(values: np.ndarray, sense: str) -> float:
    values = values[np.isfinite(values)]
    if not len(values):
        return math.nan
    return float(np.percentile(values, 10 if sense == "max" else 90))


def regret_table(results: pd.DataFrame, objectives: Sequence[Objective]) -> pd.DataFrame:
    """``robustness.csv`` rows from *results* (``candidate``, ``future``, one column per
    objective KPI: the candidate's mean in that future); see the module docstring."""
    rows = []
    for o in objectives:
        wide = results.pivot(index="future", columns="candidate", values=o.kpi).astype(float)
        best = wide.max(axis=1) if o.sense == "max" else wide.min(axis=1)
        regret = wide.sub(best, axis=0).abs()
        for candidate in wide.columns:
            values = wide[candidate].to_numpy()
            rows.append(
                {
                    "candidate": int(candidate),
                    "objective": o.kpi,
                    "mean": float(np.nanmean(values)) if np.isfinite(values).any() else math.nan,
                    "p10": _p10(values, o.sense),
                    "max_regret": float(regret[candidate].max()),
                    "mean_regret": float(regret[candidate].mean()),
                }
            )
    return pd.DataFrame(rows, columns=list(ROBUSTNESS_COLUMNS))


def recommend(
    table: pd.DataFrame, results: pd.DataFrame, objectives: Sequence[Objective]
) -> tuple[int, str]:
    """The recommended candidate and one sentence saying why (see the module docstring).

    A candidate with no value in some future (NaN regret) comes after every other.
    """
    primary = objectives[0].kpi
    spread = {}
    for o in objectives:
        values = results[o.kpi].to_numpy(float)
        values = values[np.isfinite(values)]
        spread[o.kpi] = float(values.max() - values.min()) if len(values) else 0.0
    scores = []
    for candidate, rows in table.groupby("candidate", sort=True):
        by = rows.set_index("objective")
        worst = float(by.loc[primary, "max_regret"])
        normalised = [
            float(by.loc[o.kpi, "mean_regret"]) / spread[o.kpi] if spread[o.kpi] > 0 else 0.0
            for o in objectives
        ]
        tie_break = float(np.mean(normalised))
        scores.append((math.isnan(worst), worst, tie_break, int(candidate)))
    if not scores:
        raise ValueError("no candidate to recommend")
    least = min(s[1] for s in scores if not s[0]) if any(not s[0] for s in scores) else math.nan
    tolerance = TIE * max(abs(least), spread[primary], 1e-12) if math.isfinite(least) else 0.0
    tied = [s for s in scores if not s[0] and s[1] <= least + tolerance]
    pick = min(tied or scores, key=lambda s: (s[2], s[3]))
    futures = results["future"].nunique()
    where = f"across {futures} futures" if futures > 1 else "in the scenario as given"
    reason = (
        f"candidate {pick[3]} has the least maximum regret on {primary} ({pick[1]:.4g} "
        f"{where}); ties are broken by the mean regret over all objectives, each scaled by "
        "its range"
    )
    if len(tied) > 1:
        others = ", ".join(str(s[3]) for s in tied if s[3] != pick[3])
        reason += f" (tied with {others}; it has the least such mean regret)"
    return pick[3], reason
