"""Durations with censoring: Kaplan-Meier / Aalen-Johansen tables and parametric fits.

A CRM export is a snapshot: a deal still open at the snapshot date has a cycle time
*longer than its age* and an outcome not yet known (right-censored).  This module holds
the estimators that use such observations instead of dropping them:

- :func:`aalen_johansen`: the cumulative incidence of each outcome (won, lost) with the
  other as a competing risk and open deals censored (with one outcome it is 1 - Kaplan-Meier);
- :func:`conditional_mean_median`: the mean and median time to an outcome among the units
  that end with it (the incidence curve divided by its final value);
- :func:`fit_duration`: log-normal, gamma and exponential fits by maximum likelihood,
  with right-censored observations (each weighted by its chance of ending with the
  outcome) when given; each with its Kolmogorov-Smirnov distance (against the empirical,
  or with censoring the Aalen-Johansen, distribution).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

__all__ = [
    "MIN_FOR_FIT",
    "DurationFit",
    "aalen_johansen",
    "conditional_mean_median",
    "fit_duration",
]

MIN_FOR_FIT = 5
"""Fewest observations a distribution is fitted to."""

CENSORED, WON, LOST = 0, 1, 2
"""Event codes of :func:`aalen_johansen`."""


def aalen_johansen(time: np.ndarray, event: np.ndarray) -> pd.DataFrame:
    """Aalen-Johansen table of *time* (>= 0) and *event* (0 censored, 1 won, 2 lost).

    One row per distinct time: ``time, at_risk, won, lost, censored, survival`` (no
    outcome yet, Kaplan-Meier over both outcomes), ``cif_won``, ``cif_lost`` (cumulative
    incidence).  At a tied time outcomes count before censoring (the usual convention).
    """
    time = np.clip(np.asarray(time, dtype=float), 0, None)
    event = np.asarray(event, dtype=int)
    if not len(time):
        columns = ["time", "at_risk", "won", "lost", "censored", "survival", "cif_won"]
        return pd.DataFrame(columns=[*columns, "cif_lost"], dtype=float)
    frame = pd.DataFrame({"time": time, "event": event})
    counts = (
        frame.pivot_table(index="time", columns="event", aggfunc="size", fill_value=0)
        .reindex(columns=[CENSORED, WON, LOST], fill_value=0)
        .sort_index()
    )
    d_won = counts[WON].to_numpy(dtype=float)
    d_lost = counts[LOST].to_numpy(dtype=float)
    n_cens = counts[CENSORED].to_numpy(dtype=float)
    leaving = d_won + d_lost + n_cens
    at_risk = len(frame) - np.concatenate([[0.0], np.cumsum(leaving)[:-1]])
    hazard = (d_won + d_lost) / np.maximum(at_risk, 1)
    survival = np.cumprod(1 - hazard)
    before = np.concatenate([[1.0], survival[:-1]])  # S(t-)
    cif_won = np.cumsum(before * d_won / np.maximum(at_risk, 1))
    cif_lost = np.cumsum(before * d_lost / np.maximum(at_risk, 1))
    return pd.DataFrame(
        {
            "time": counts.index.to_numpy(dtype=float),
            "at_risk": at_risk.astype(int),
            "won": d_won.astype(int),
            "lost": d_lost.astype(int),
            "censored": n_cens.astype(int),
            "survival": survival,
            "cif_won": cif_won,
            "cif_lost": cif_lost,
        }
    )


def conditional_mean_median(table: pd.DataFrame, column: str = "cif_won") -> tuple[float, float]:
    """Mean and median time to the outcome among units that end with it: the incidence
    curve scaled to 1 at its last step (NaN when the outcome never occurs)."""
    cif = table[column].to_numpy()
    if len(cif) == 0 or cif[-1] <= 0:
        return math.nan, math.nan
    t = table["time"].to_numpy()
    cdf = cif / cif[-1]
    steps = np.flatnonzero(np.diff(np.concatenate([[0.0], cdf])) > 0)
    t_steps, cdf_steps = t[steps], cdf[steps]
    widths = np.diff(np.concatenate([[0.0], t_steps]))
    survivor = np.concatenate([[1.0], 1 - cdf_steps[:-1]])
    mean = float(np.sum(widths * survivor))
    median = float(t_steps[np.searchsorted(cdf_steps, 0.5 - 1e-12)])
    return mean, median


@dataclass
class DurationFit:
    """A duration sample (days) with its candidate fits and the chosen one.

    ``sample``: the observed (uncensored) durations; ``censored``/``weights``: right-
    censored durations and the chance each ends with the outcome (empty without censoring).
    """

    what: str
    sample: np.ndarray
    candidates: dict[str, dict] = field(default_factory=dict)  # name -> {spec, ks, frozen}
    chosen: str | None = None
    censored: np.ndarray = field(default_factory=lambda: np.empty(0))
    weights: np.ndarray = field(default_factory=lambda: np.empty(0))

    @property
    def spec(self) -> dict | None:
        """The chosen fit in the workbench's distribution syntax (``{dist: ...}``)."""
        return None if self.chosen is None else self.candidates[self.chosen]["spec"]

    @property
    def ks(self) -> float:
        """KS distance of the chosen fit (NaN when none)."""
        return math.nan if self.chosen is None else self.candidates[self.chosen]["ks"]

    @property
    def censored_weight(self) -> float:
        """Expected number of censored observations that end with the outcome."""
        return float(np.sum(self.weights))

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """CDF of the chosen fit at *x* (days)."""
        return self.candidates[self.chosen]["frozen"].cdf(x)


def _weighted_nll(dist, params, exact, censored, weights) -> float:
    frozen = dist(*params)
    ll = np.sum(frozen.logpdf(exact)) + np.sum(weights * frozen.logsf(censored))
    return -float(ll) if np.isfinite(ll) else 1e300


def censored_ml(dist, exact: np.ndarray, censored: np.ndarray, weights: np.ndarray) -> tuple:
    """Maximum-likelihood shape and scale (location 0) of *dist* (``stats.lognorm`` or
    ``stats.gamma``) from *exact* durations and right-*censored* ones, each censored one
    counted with its weight (its chance of ending with the outcome).  With unit weights
    this is the likelihood :class:`scipy.stats.CensoredData` defines."""
    shape0, _, scale0 = dist.fit(exact, floc=0)

    def nll(theta):
        return _weighted_nll(
            dist, (math.exp(theta[0]), 0, math.exp(theta[1])), exact, censored, weights
        )

    res = optimize.minimize(
        nll,
        [math.log(shape0), math.log(scale0)],
        method="Nelder-Mead",
        options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 2000},
    )
    return float(math.exp(res.x[0])), float(math.exp(res.x[1]))


def _ks(frozen, sample: np.ndarray, reference: pd.DataFrame | None) -> float:
    if reference is None:
        return float(stats.kstest(sample, frozen.cdf).statistic)
    cif = reference["cif_won"].to_numpy()
    cdf = cif / cif[-1]
    before = np.concatenate([[0.0], cdf[:-1]])
    model = frozen.cdf(reference["time"].to_numpy())
    return float(max(np.max(np.abs(cdf - model)), np.max(np.abs(before - model))))


def fit_duration(
    what: str,
    days: np.ndarray,
    censored: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    reference: pd.DataFrame | None = None,
) -> DurationFit:
    """Log-normal, gamma and exponential fits (ML, location 0) of positive *days*.

    With *censored* durations (and *weights*, default 1) the fits maximise the censored
    likelihood; *reference* (an :func:`aalen_johansen` table) is then the distribution the
    KS distance is measured against (the observed sample alone is biased short)."""
    sample = np.sort(np.asarray(days, dtype=float))
    sample = sample[np.isfinite(sample) & (sample > 0)]
    cens = np.empty(0) if censored is None else np.asarray(censored, dtype=float)
    w = np.ones(len(cens)) if weights is None else np.asarray(weights, dtype=float)
    keep = np.isfinite(cens) & (cens > 0) & (w > 0)
    cens, w = cens[keep], w[keep]
    result = DurationFit(what, sample, censored=cens, weights=w)
    if len(sample) < MIN_FOR_FIT:
        return result
    if len(cens):
        s, scale = censored_ml(stats.lognorm, sample, cens, w)
        a, gscale = censored_ml(stats.gamma, sample, cens, w)
        mean = (sample.sum() + np.sum(w * cens)) / len(sample)  # exponential: closed form
    else:
        s, _, scale = stats.lognorm.fit(sample, floc=0)
        a, _, gscale = stats.gamma.fit(sample, floc=0)
        mean = sample.mean()
        reference = None
    candidates = {
        "lognormal": stats.lognorm(s, 0, scale),
        "gamma": stats.gamma(a, 0, gscale),
        "exponential": stats.expon(0, mean),
    }
    for name, frozen in candidates.items():
        m, var = (float(v) for v in frozen.stats(moments="mv"))
        spec = {"dist": name, "mean": round(m, 3)}
        if name == "lognormal":
            spec["sd"] = round(math.sqrt(var), 3)
        elif name == "gamma":
            spec["shape"] = round(float(a), 4)
        ks = _ks(frozen, sample, reference)
        result.candidates[name] = {"spec": spec, "ks": ks, "frozen": frozen}
    result.chosen = min(result.candidates, key=lambda k: result.candidates[k]["ks"])
    return result
