"""Arrival-rate models of daily lead counts, chosen by rolling-origin cross-validation.

A candidate is a level curve times an optional weekday profile, fitted to the daily
counts of a training window:

- trend: ``none`` (a constant level), ``linear`` (least squares of the counts on the
  weekday profile and the profile x time) or ``loglinear`` (Poisson regression, log level
  linear in time);
- ``+weekly``: a weekday profile (seven factors of mean 1) fitted with the level;
- window: the *regime* is every day since the last structural break of the weekly counts
  (:func:`sim.history.arrival_breaks.last_break`; suffix ``:break``), or every day when
  there is none (no suffix).  ``:recent`` is its last third (at least four weeks), the
  model of a ramp-up that has reached a plateau; ``:13w`` and ``:8w`` its last 13 and 8
  weeks, constant level only (the recent level, never a short trend).

:func:`select_model` scores every candidate at several origins within the regime (train
on the regime's days before the origin, forecast the next *horizon* days; root mean
squared error of daily counts, averaged with weights 1, 2, 3, 4 from the oldest origin to
the latest) and keeps the simplest candidate within :data:`MARGIN` of the best score
(simpler: no trend before linear before log-linear, then the longer window, then no
weekday profile), so a trend, a short window or a profile must earn its place.  A trend
whose slope no longer holds in the last eight weeks or the last third of its window (the
recent slope differs from it by more than :data:`FLAT_SE` standard errors and is less
than half of it) is never extrapolated: the best trend-free or recent-window candidate
replaces it.  Forecasts across a break say nothing about the regime after it, so every
origin lies in the regime with at least four weeks of it before.
:func:`incomplete_tail` finds the last days of a truncated export (counts far below the
recent level), which are left out of every fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sim.history.arrival_breaks import Break, last_break

__all__ = [
    "MARGIN",
    "ArrivalCurve",
    "fit_curve",
    "incomplete_tail",
    "select_model",
]

TRENDS = ("none", "linear", "loglinear")
WINDOWS = ("", "break", "recent", "13w", "8w")
"""Training windows, simplest (longest) first; "" and "break" are the whole regime."""
SHORT_WINDOWS = {"13w": 91, "8w": 56}
"""Recent windows of a fixed length (days), fitted with a constant level only."""
MARGIN = 0.03
"""A more complex candidate is chosen only when its CV error is this much lower (relative)."""
FLAT_SE = 2.5
"""A trend is not extrapolated when the recent slope is this many standard errors off."""
MAX_HORIZON = 60
MIN_TRAIN = 28
MIN_TREND = 56
"""Days of training a trend candidate needs at every origin (a slope from fewer is noise
when extrapolated over the horizon)."""


@dataclass(frozen=True)
class ArrivalCurve:
    """A fitted candidate: expected leads on day *t* (offset from the first day) is
    ``level(t) * weekday[(first_weekday + t) % 7]``."""

    trend: str
    weekly: bool
    window: str  # one of WINDOWS
    start: int  # training window [start, end), day offsets
    end: int
    intercept: float  # level (none, linear) or log level (loglinear) at day `end`
    slope: float  # per day: leads/day (linear) or log leads/day (loglinear)
    weekday: tuple[float, ...]
    first_weekday: int
    regime_start: int = 0  # day offset of the last structural break (0: none)

    @property
    def name(self) -> str:
        """``trend[+weekly][:window]``, e.g. ``linear+weekly:break``."""
        return (
            self.trend
            + ("+weekly" if self.weekly else "")
            + (f":{self.window}" * bool(self.window))
        )

    def level(self, t: np.ndarray | float) -> np.ndarray:
        """Weekday-adjusted leads per day at day offsets *t* (day centres: ``t + 0.5``)."""
        x = np.asarray(t, dtype=float) + 0.5 - self.end
        if self.trend == "loglinear":
            return np.exp(np.clip(self.intercept + self.slope * x, -50, 50))
        if self.trend == "linear":
            return np.maximum(self.intercept + self.slope * x, 0.0)
        return np.full(np.shape(x), self.intercept)

    def daily(self, days: np.ndarray) -> np.ndarray:
        """Expected leads on each integer day offset in *days*."""
        days = np.asarray(days, dtype=int)
        return self.level(days) * np.asarray(self.weekday)[(self.first_weekday + days) % 7]

    def expected(self, start: float, end: float) -> float:
        """Expected leads in ``[start, end)`` (day offsets; part days pro rata)."""
        if end <= start:
            return 0.0
        days = np.arange(math.floor(start), math.ceil(end))
        overlap = np.minimum(days + 1, end) - np.maximum(days, start)
        return float(np.sum(self.daily(days) * overlap))

    def slope_per_day(self) -> float:
        """Change of the level per day at the end of the training window (leads/day)."""
        if self.trend == "loglinear":
            return self.slope * float(self.level(self.end - 0.5))
        return self.slope if self.trend == "linear" else 0.0


def _weekday_index(first_weekday: int, days: np.ndarray) -> np.ndarray:
    return (first_weekday + days) % 7


def _poisson_loglinear(y: np.ndarray, x: np.ndarray, offset: np.ndarray) -> tuple[float, float]:
    """Poisson regression ``log E y = a + b x + offset`` by Newton steps."""
    a = math.log(max(y.sum(), 0.5) / max(np.exp(offset).sum(), 1e-9))
    b = 0.0
    for _ in range(50):
        mu = np.exp(np.clip(a + b * x + offset, -50, 50))
        g = np.array([np.sum(y - mu), np.sum((y - mu) * x)])
        h = np.array([[mu.sum(), (mu * x).sum()], [(mu * x).sum(), (mu * x * x).sum()]])
        try:
            step = np.linalg.solve(h, g)
        except np.linalg.LinAlgError:
            break
        a, b = a + step[0], b + step[1]
        if np.max(np.abs(step)) < 1e-10:
            break
    return float(a), float(b)


def _window_start(end: int, regime_start: int, window: str) -> int:
    """First day of *window* in a training period ``[regime_start, end)``."""
    if window == "recent":
        return max(regime_start, end - max(MIN_TRAIN, (end - regime_start) // 3 // 7 * 7))
    return max(regime_start, end - SHORT_WINDOWS.get(window, end))


def fit_curve(
    counts: np.ndarray,
    first_weekday: int,
    trend: str,
    weekly: bool,
    window: str = "",
    regime_start: int = 0,
) -> ArrivalCurve:
    """Fit one candidate to daily *counts* (day 0 is a ``first_weekday``, Monday = 0) on
    *window* (:data:`WINDOWS`) of the regime that starts at day *regime_start*."""
    end = len(counts)
    if window in ("", "break"):
        window = "break" if regime_start > 0 else ""
    start = _window_start(end, regime_start, window)
    days = np.arange(start, end)
    y = np.asarray(counts[start:end], dtype=float)
    wd = _weekday_index(first_weekday, days)
    x = days + 0.5 - end
    weekday = np.ones(7)
    intercept, slope = 0.0, 0.0
    for _ in range(4 if weekly else 1):
        w = weekday[wd]
        if trend == "loglinear":
            fine = w > 0
            intercept, slope = _poisson_loglinear(y[fine], x[fine], np.log(w[fine]))
            level = np.exp(intercept + slope * x)
        elif trend == "linear":  # y ~ w (a + b x): no division by small weekend factors
            design = np.column_stack([w, w * x])
            (intercept, slope), *_ = np.linalg.lstsq(design, y, rcond=None)
            level = np.maximum(intercept + slope * x, 1e-9)
        else:
            intercept = y.sum() / max(w.sum(), 1e-9)
            level = np.full(len(y), intercept)
        if weekly:
            num = np.bincount(wd, weights=y, minlength=7)
            den = np.bincount(wd, weights=level, minlength=7)
            ratio = np.where(den > 0, num / np.maximum(den, 1e-12), 1.0)
            weekday = ratio / ratio.mean() if ratio.mean() > 0 else np.ones(7)
    return ArrivalCurve(
        trend, weekly, window, start, end, float(intercept), float(slope),
        tuple(round(float(v), 6) for v in weekday), first_weekday, regime_start,
    )  # fmt: skip


def incomplete_tail(counts: np.ndarray, first_weekday: int, max_days: int = 14) -> int:
    """Days at the end of *counts* that fall far below the recent level (a truncated
    export): the suffix with the strongest Poisson evidence of a rate below half the
    weekday-adjusted level of the four weeks before the last two, when that evidence is
    strong (p < 0.001); 0 otherwise."""
    n = len(counts)
    if n < 28 + max_days:
        return 0
    ref = np.arange(n - max_days - 28, n - max_days)
    per_weekday = np.bincount(_weekday_index(first_weekday, ref), weights=counts[ref], minlength=7)
    expected = per_weekday[_weekday_index(first_weekday, np.arange(n - max_days, n))] / 4
    best_k, best_stat = 0, 0.0
    for k in range(1, max_days + 1):
        obs, exp = float(counts[n - k :].sum()), float(expected[max_days - k :].sum())
        if exp < 5 or obs >= 0.5 * exp:
            continue
        stat = 2 * ((obs * math.log(obs / exp) if obs > 0 else 0.0) - obs + exp)
        if stat > best_stat and stats.poisson.cdf(obs, exp) < 1e-3:
            best_k, best_stat = k, stat
    return best_k


def _parse(name: str) -> tuple[str, bool, str]:
    """``(trend, weekly, window)`` of a candidate's name."""
    model, _, window = name.partition(":")
    return model.split("+")[0], "+weekly" in model, window


def _candidates(train_days: int) -> list[tuple[str, bool, str]]:
    """(trend, weekly, window) of every candidate, for at least *train_days* days of the
    regime before each origin: the last third from 12 weeks on, a 13- or 8-week window
    (constant level) when the regime is longer than it, trends from :data:`MIN_TREND`
    days on."""
    windows = [""] + ["recent"] * (train_days >= 3 * MIN_TRAIN)
    windows += [w for w, days in SHORT_WINDOWS.items() if train_days > days]
    trends = TRENDS if train_days >= MIN_TREND else TRENDS[:1]
    return [
        (t, weekly, window)
        for t in trends
        for window in windows
        for weekly in (False, True)
        if t == "none" or window not in SHORT_WINDOWS
    ]


def _complexity(name: str) -> tuple:
    trend, weekly, window = _parse(name)
    return (TRENDS.index(trend), WINDOWS.index(window), weekly)


def _origins(days: int, regime_start: int, horizon: int, min_train: int) -> list[int]:
    """Origins every half *horizon* (whole weeks) going back from the last, at most four,
    each after *min_train* days (and half a horizon) of the regime."""
    step = max(7, round(horizon / 2 / 7) * 7)
    least = regime_start + max(min_train, horizon // 2)
    return [o for o in (days - horizon - k * step for k in range(4)) if o >= least]


def cv_plan(days: int, regime_start: int = 0) -> tuple[int, list[int]]:
    """Horizon and origins (day offsets) of the rolling-origin cross-validation on a
    regime ``[regime_start, days)``: a horizon of 60 days when the regime is long enough
    (else a third of it, whole weeks), origins every half horizon going back, at most
    four.  Preferred: three or more origins each after :data:`MIN_TREND` days of the
    regime (trends compete), the horizon shortened a week at a time down to four weeks
    until they fit; else three, or two, origins after :data:`MIN_TRAIN` days (constant
    levels only), the horizon down to two weeks; no origins when not even two fit."""
    first = min(MAX_HORIZON, max(7, (days - regime_start) // 3 // 7 * 7))
    for horizon in range(first, 27, -7):
        origins = _origins(days, regime_start, horizon, MIN_TREND)
        if len(origins) >= 3:
            return horizon, origins
    fallback: tuple[int, list[int]] | None = None
    for horizon in range(first, 13, -7) if first >= 14 else [first]:
        origins = _origins(days, regime_start, horizon, MIN_TRAIN)
        if len(origins) >= 3:
            return horizon, origins
        if len(origins) == 2 and fallback is None:
            fallback = horizon, origins
    return fallback or (first, [])


def cross_validate(counts: np.ndarray, first_weekday: int, regime_start: int = 0) -> pd.DataFrame:
    """Rolling-origin errors of every candidate on the regime from *regime_start*: model,
    origin, horizon_days, mae and rmse of daily counts, mape of the horizon's total (the
    volume a plan needs)."""
    horizon, origins = cv_plan(len(counts), regime_start)
    rows = []
    for origin in origins:
        actual = counts[origin : origin + horizon].astype(float)
        days = np.arange(origin, origin + horizon)
        for trend, weekly, window in _candidates(min(origins) - regime_start):
            curve = fit_curve(counts[:origin], first_weekday, trend, weekly, window, regime_start)
            pred = curve.daily(days)
            err = pred - actual
            total = actual.sum()
            rows.append(
                (curve.name, origin, horizon, float(np.abs(err).mean()),
                 float(np.sqrt(np.mean(err**2))),
                 abs(pred.sum() - total) / total if total > 0 else math.nan)
            )  # fmt: skip
    return pd.DataFrame(rows, columns=["model", "origin", "horizon_days", "mae", "rmse", "mape"])


def _recent_slopes(counts: np.ndarray, curve: ArrivalCurve) -> list[tuple[float, float]]:
    """Least-squares slopes (leads/day per day) with standard errors over the last eight
    full weeks and over the full weeks of the last third of the window, from weekly totals
    (which no weekday profile disturbs)."""
    end, out = len(counts), []
    for weeks in sorted({8, max(8, (end - curve.start) // 3 // 7)}):
        if end - curve.start < 7 * weeks:
            continue
        totals = counts[end - 7 * weeks :].reshape(weeks, 7).sum(axis=1) / 7
        x = np.arange(weeks) * 7.0
        slope, icpt = np.polyfit(x, totals, 1)
        resid = totals - (icpt + slope * x)
        se = math.sqrt(np.sum(resid**2) / (weeks - 2) / np.sum((x - x.mean()) ** 2))
        out.append((float(slope), se))
    return out


def _flattened(counts: np.ndarray, curve: ArrivalCurve) -> tuple[float, float] | None:
    """The recent slope when the curve's trend no longer holds: it differs from the
    curve's slope by more than :data:`FLAT_SE` standard errors and is less than half of it."""
    model = curve.slope_per_day()
    for slope, se in _recent_slopes(counts, curve):
        if abs(slope - model) > FLAT_SE * se and abs(slope) < abs(model) / 2:
            return slope, model
    return None


def _pick(score: pd.Series, names: list[str]) -> str:
    """The simplest of *names* whose score is within :data:`MARGIN` of their best."""
    best = float(score[names].min())
    return min((m for m in names if score[m] <= best * (1 + MARGIN)), key=_complexity)


def _curve(counts: np.ndarray, first_weekday: int, name: str, regime_start: int) -> ArrivalCurve:
    trend, weekly, window = _parse(name)
    return fit_curve(counts, first_weekday, trend, weekly, window, regime_start)


def _break_sentence(brk: Break, first_day: pd.Timestamp | None) -> str:
    when = (
        f"on {(first_day + pd.Timedelta(days=brk.day)).date()}"
        if first_day
        else f"at day {brk.day}"
    )
    p = f"p = {brk.p_value:.2g}" if brk.p_value >= 1e-4 else "p < 0.0001"
    return (
        f"The weekly counts break {when} ({brk.before_per_day:.1f} -> "
        f"{brk.after_per_day:.1f} leads/day over four weeks either side, {p}): only the days "
        "since are fitted. "
    )


def select_model(
    counts: np.ndarray, first_weekday: int, first_day: pd.Timestamp | None = None
) -> tuple[ArrivalCurve, str, pd.DataFrame]:
    """The chosen curve fitted on the current regime of *counts* (the days since the last
    structural break), one plain sentence or two saying why, and the CV table.

    The score of a candidate is its RMSE averaged over the origins with weights 1, 2, 3, ...
    from the oldest origin to the latest (the latest says most about the next months).
    *first_day* (the date of day 0) only dates the break in the sentence."""
    n = len(counts)
    brk = last_break(counts)
    start = brk.day if brk is not None else 0
    prefix = _break_sentence(brk, first_day) if brk is not None else ""
    cv = cross_validate(counts, first_weekday, start) if n - start >= MIN_TRAIN + 7 else None
    if cv is None or cv.empty:
        cv = pd.DataFrame(columns=["model", "origin", "horizon_days", "mae", "rmse", "mape"])
        curve = fit_curve(counts, first_weekday, "none", n - start >= 14, "", start)
        what = f"the {n - start} days since are" if brk is not None else f"{n} days are"
        return curve, prefix + f"{what} too few for cross-validation: a constant rate is used.", cv
    rank = cv["origin"].rank(method="dense")
    score = (cv["rmse"] * rank).groupby(cv["model"]).sum() / rank.groupby(cv["model"]).sum()
    best = str(score.idxmin())
    name = _pick(score, list(score.index))
    horizon, origins = int(cv["horizon_days"].iloc[0]), cv["origin"].nunique()
    mape = cv[cv["model"] == name]["mape"].mean()
    curve = _curve(counts, first_weekday, name, start)
    reason = (
        f"{name} has the lowest {horizon}-day forecast error over {origins} origins "
        f"(RMSE {score[name]:.2f} leads/day, total off by {mape:.0%})"
        if name == best
        else f"{name} is the simplest model within {MARGIN:.0%} of the best ({best}, RMSE "
        f"{score[best]:.2f} vs {score[name]:.2f} leads/day over {origins} origins)"
    )
    flat = _flattened(counts, curve) if curve.trend != "none" else None
    if flat is not None:
        safe = [
            m for m in score.index if _parse(m)[0] == "none" or _parse(m)[2] not in ("", "break")
        ]
        for _ in range(2):
            name = _pick(score, safe)
            curve = _curve(counts, first_weekday, name, start)
            if curve.trend == "none" or _flattened(counts, curve) is None:
                break
            safe = [m for m in safe if _parse(m)[0] == "none"]
        reason = (
            f"{name}: the trend chosen by cross-validation no longer holds in the recent "
            f"weeks (slope {flat[0]:+.3f} vs {flat[1]:+.3f} leads/day per day), so it is not "
            "extrapolated"
        )
    return curve, prefix + reason + ".", cv
