"""Mixture cure model of lead arrival -> won for exports that record won deals only.

An export such as Olist lists leads and the deals they won, nothing else: a lead without
a win at the snapshot may be lost or still be won.  Each lead is one observation:

- won at cycle *t* (days since arrival): density ``p f(t)``;
- not won by its age *a* at the snapshot (right-censored): ``1 - p F(a)``;

where *p* is the eventual win probability (the plateau the Kaplan-Meier curve tends to,
one minus the cure fraction) and *F* the cycle distribution of the leads that are won
(log-normal, gamma or Weibull).  The three are fitted by maximum likelihood and the one
with the lowest AIC is kept (same number of parameters: the highest likelihood).

**Wins recorded from a later date.**  When the first recorded win comes long after the
first leads (the model expects many wins before it: :data:`LATE_RECORD_WINS`), the win
record starts late (or selling started late): a lead that arrived before the first win
is then only observed from that day on and enters the likelihood at its age on that day
(left truncation, ``/ (1 - p F(entry))``).  Otherwise those leads would count as not won
through months in which no lead could be won, and *p* would come out far too low.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special, stats

__all__ = ["LATE_RECORD_WINS", "CureFit", "fit_cure"]

LATE_RECORD_WINS = 10.0
"""Wins the model (fitted without truncation) must expect before the first recorded win
for the win record to count as starting late (then P(none) < 1e-4 under the model)."""

DISTRIBUTIONS = {"lognormal": stats.lognorm, "gamma": stats.gamma, "weibull": stats.weibull_min}


@dataclass
class CureFit:
    """A fitted mixture cure model (times in days)."""

    dist: str  # chosen latency distribution
    p: float  # eventual win probability per lead
    frozen: object  # scipy frozen distribution of the cycle of won leads
    aic: float
    candidates: dict[str, dict] = field(default_factory=dict)  # dist -> {p, aic, mean}
    record_start_day: float = math.nan  # truncation day (days from the first arrival)
    truncated: int = 0  # leads that entered late (arrived before the win record)
    expected_before_record: float = 0.0  # wins the untruncated fit expects before it

    def win_chance(self, ages: np.ndarray) -> np.ndarray:
        """Chance that a lead not won by *ages* is still won: ``p S(a) / (1 - p F(a))``."""
        cdf = self.frozen.cdf(np.asarray(ages, dtype=float))
        return np.clip(self.p * (1 - cdf) / np.maximum(1 - self.p * cdf, 1e-12), 0, 1)

    def cycle_mean_median(self, upto: float) -> tuple[float, float]:
        """Mean and median won cycle restricted to ``[0, upto]`` (the longest follow-up in
        the export): the fitted tail beyond the data is not extrapolated."""
        cap = float(self.frozen.cdf(upto))
        if cap <= 0:
            return math.nan, math.nan
        grid = np.linspace(0.0, upto, 4001)
        sf = np.clip(1 - self.frozen.cdf(grid) / cap, 0, 1)
        mean = float(np.sum((sf[1:] + sf[:-1]) / 2 * np.diff(grid)))
        return mean, float(self.frozen.ppf(0.5 * cap))


def _counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values and their counts (ages at a date-only snapshot repeat a lot)."""
    return np.unique(values, return_counts=True)


def _fit_one(dist, time, won, entry) -> tuple[float, float, object]:
    """ML fit of one latency family: (-log-likelihood, p, frozen)."""
    exact = time[won]
    cens, n_cens = _counts(time[~won])
    late, n_late = _counts(entry[entry > 0])
    shape0, _, scale0 = dist.fit(exact, floc=0)
    p0 = min(max(won.mean() * 1.2, 1e-3), 0.999)

    def nll(theta):
        p = special.expit(theta[0])
        shape, scale = math.exp(theta[1]), math.exp(theta[2])
        ll = len(exact) * math.log(p) + np.sum(dist.logpdf(exact, shape, 0, scale))
        ll += np.sum(n_cens * np.log1p(-p * dist.cdf(cens, shape, 0, scale)))
        if len(late):
            ll -= np.sum(n_late * np.log1p(-p * dist.cdf(late, shape, 0, scale)))
        return -float(ll) if np.isfinite(ll) else 1e300

    best = None
    for start in ([special.logit(p0), math.log(shape0), math.log(scale0)],
                  [special.logit(p0), 0.0, math.log(float(np.mean(exact)))]):  # fmt: skip
        res = optimize.minimize(
            nll, start, method="Nelder-Mead",
            options={"xatol": 1e-6, "fatol": 1e-8, "maxiter": 3000},
        )  # fmt: skip
        if best is None or res.fun < best.fun:
            best = res
    p = float(special.expit(best.x[0]))
    return float(best.fun), p, dist(math.exp(best.x[1]), 0, math.exp(best.x[2]))


def _fit(time, won, entry) -> CureFit:
    candidates, fits = {}, {}
    for name, dist in DISTRIBUTIONS.items():
        nll, p, frozen = _fit_one(dist, time, won, entry)
        aic = 2 * nll + 2 * 3
        fits[name] = (p, frozen, aic)
        candidates[name] = {"p": p, "aic": aic, "mean": float(frozen.mean())}
    chosen = min(fits, key=lambda k: fits[k][2])
    p, frozen, aic = fits[chosen]
    return CureFit(chosen, p, frozen, aic, candidates)


def fit_cure(arrival_day: np.ndarray, time: np.ndarray, won: np.ndarray) -> CureFit:
    """Fit the cure model to leads arriving at *arrival_day* (days, any origin), each won
    after *time* days (``won``) or not won by its age *time* at the snapshot.

    The win record is taken to start at the first recorded win when the untruncated fit
    expects at least :data:`LATE_RECORD_WINS` wins before it; the leads that arrived
    before then are refitted as entering at their age on that day."""
    arrival_day = np.asarray(arrival_day, dtype=float)
    time = np.maximum(np.asarray(time, dtype=float), 1e-3)
    won = np.asarray(won, dtype=bool)
    plain = _fit(time, won, np.zeros(len(time)))
    first_win = float(np.min(arrival_day[won] + time[won]))
    entry = np.clip(first_win - arrival_day, 0, None)
    entry = np.minimum(entry, time)
    expected = float(plain.p * np.sum(plain.frozen.cdf(entry[entry > 0])))
    if expected < LATE_RECORD_WINS:
        plain.expected_before_record = expected
        return plain
    late = _fit(time, won, entry)
    late.record_start_day = first_win
    late.truncated = int(np.sum(entry > 0))
    late.expected_before_record = expected
    return late
