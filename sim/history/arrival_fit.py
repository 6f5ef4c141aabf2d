"""The fitted arrival process of imported leads (:func:`fit_arrivals`).

Describes the ``arrived`` column: the mean rate over the observed days, a weekday
profile (leads per weekday / days of that weekday), an hour profile from the arrivals
whose time of day is real (none when most were placed by the date-only rule), the
least-squares trend of full-week counts (a description), and the *arrival model* used to
project the rate: fitted on the days since the last structural break of the weekly
counts (:mod:`sim.history.arrival_breaks`; all days when there is none) and chosen by
rolling-origin cross-validation within them among a constant level, a linear and a
log-linear trend, each with or without a weekday profile and on all those days or a
recent part of them (:mod:`sim.history.arrival_models`), after leaving out an incomplete
tail of a truncated export.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.errors import DataError
from sim.history.arrival_models import ArrivalCurve, incomplete_tail, select_model
from sim.history.censored import MIN_FOR_FIT
from sim.world.scenario import HOURS_PER_MONTH

__all__ = ["ArrivalFit", "fit_arrivals"]

DAYS_PER_MONTH = HOURS_PER_MONTH / 24


@dataclass
class ArrivalFit:
    """Fitted arrival process and its goodness of fit."""

    leads: int
    first_day: pd.Timestamp
    days: int
    leads_per_month: float  # mean over the observed days
    weekday: list[float]
    hour: list[float]
    exact_share: float  # share of arrivals with a real time of day
    trend_per_month: float  # least squares over full weeks: relative change per month
    trend_weeks: int
    dispersion: float  # Pearson chi-square of daily counts / degrees of freedom (Poisson: ~1)
    hour_ks: float  # KS distance, hour of week: observed vs weekday x hour (NaN: date-only)
    model: str = "none"  # chosen arrival model (sim.history.arrival_models)
    model_reason: str = ""
    cv: pd.DataFrame = field(default_factory=pd.DataFrame)  # model, origin, horizon_days, ...
    incomplete_tail_days: int = 0  # last days left out of the fit (truncated export)
    curve: ArrivalCurve | None = None

    @property
    def break_day(self) -> int | None:
        """Day offset from ``first_day`` of the last structural break the model was fitted
        after, or ``None`` when the counts hold one regime."""
        return self.curve.regime_start or None if self.curve is not None else None

    @property
    def fitted_days(self) -> int:
        """Days the arrival model was fitted on (the observed days minus the tail)."""
        return self.days - self.incomplete_tail_days

    def leads_per_month_at(self, day: float) -> float:
        """Rate of the chosen model (weekday-adjusted level) at *day* days after
        ``first_day``; the mean rate when no model was fitted."""
        if self.curve is None:
            return self.leads_per_month
        return float(self.curve.level(day)) * DAYS_PER_MONTH

    @property
    def rate_at_end(self) -> float:
        """Leads per month at the last fitted day (what a scenario starting then uses)."""
        return self.leads_per_month_at(self.fitted_days - 1)

    def expected_leads(self, start_day: float, end_day: float) -> float:
        """Expected leads in ``[start_day, end_day)`` (day offsets from ``first_day``)
        under the chosen model, weekday profile included."""
        if self.curve is None:
            return self.leads_per_month / DAYS_PER_MONTH * max(end_day - start_day, 0.0)
        return self.curve.expected(start_day, end_day)

    def cv_summary(self) -> pd.DataFrame:
        """Mean CV errors per candidate (model, origins, rmse, mae, mape), best first."""
        if self.cv.empty:
            return pd.DataFrame(columns=["model", "origins", "rmse", "mae", "mape"])
        g = self.cv.groupby("model")
        out = g[["rmse", "mae", "mape"]].mean().assign(origins=g.size()).reset_index()
        return out[["model", "origins", "rmse", "mae", "mape"]].sort_values("rmse")

    def expected_weekday_share(self) -> np.ndarray:
        """Fitted share of leads per weekday over the observed days."""
        days = pd.date_range(self.first_day, periods=self.days, freq="D")
        counts = np.bincount(days.day_of_week, minlength=7)
        w = np.asarray(self.weekday) * counts
        return w / w.sum()


def _discrete_ks(observed: np.ndarray, expected: np.ndarray) -> float:
    """Largest gap between two discrete CDFs over the same ordered bins."""
    o = np.cumsum(observed) / observed.sum()
    e = np.cumsum(expected) / expected.sum()
    return float(np.max(np.abs(o - e)))


def fit_arrivals(leads: pd.DataFrame) -> ArrivalFit:
    """Rate, weekday and hour profiles, trend and arrival model of ``leads.arrived``."""
    arrived = leads["arrived"].dropna()
    if len(arrived) < MIN_FOR_FIT:
        raise DataError(f"leads: {len(arrived)} arrivals, too few to fit (need {MIN_FOR_FIT})")
    first, last = arrived.min().normalize(), arrived.max().normalize()
    days = int((last - first).days) + 1
    day_index = pd.date_range(first, periods=days, freq="D")
    days_per_weekday = np.bincount(day_index.day_of_week, minlength=7).astype(float)
    per_weekday = np.bincount(arrived.dt.day_of_week, minlength=7).astype(float)
    rate = per_weekday / np.maximum(days_per_weekday, 1)
    weekday = rate / rate.mean() if rate.mean() > 0 else np.ones(7)
    if "arrived_date_only" in leads:
        exact = ~leads.loc[arrived.index, "arrived_date_only"].to_numpy(dtype=bool)
    else:
        exact = np.ones(len(arrived), dtype=bool)
    exact_share = float(exact.mean())
    # Mostly date-only: the hour profile follows the import's date-only rule (placed times).
    timed = arrived[exact] if exact_share >= 0.5 else arrived
    counts = np.bincount(timed.dt.hour.to_numpy(), minlength=24).astype(float)
    hour = counts / counts.mean()
    hour_ks = math.nan
    if exact_share >= 0.5:
        observed = np.bincount(timed.dt.day_of_week * 24 + timed.dt.hour, minlength=168)
        expected = np.outer(weekday * days_per_weekday, hour).ravel()
        hour_ks = _discrete_ks(observed.astype(float), expected)
    trend, weeks = _trend(arrived, first, days)
    daily = np.bincount((arrived - first).dt.days.to_numpy(), minlength=days).astype(float)
    expected_daily = rate[day_index.day_of_week]
    fine = expected_daily > 0
    chi2 = float(np.sum((daily[fine] - expected_daily[fine]) ** 2 / expected_daily[fine]))
    tail = incomplete_tail(daily, int(first.day_of_week))
    curve, reason, cv = select_model(daily[: days - tail], int(first.day_of_week), first)
    if tail:
        reason += (
            f" The last {tail} day(s) ({int(daily[days - tail :].sum())} leads) fall far below "
            "the recent level (an incomplete export) and are left out."
        )
    return ArrivalFit(
        leads=len(arrived),
        first_day=first,
        days=days,
        leads_per_month=len(arrived) / (days * 24) * HOURS_PER_MONTH,
        weekday=[round(float(w), 4) for w in weekday],
        hour=[round(float(h), 4) for h in hour],
        exact_share=exact_share,
        trend_per_month=trend,
        trend_weeks=weeks,
        dispersion=chi2 / max(int(fine.sum()) - 7, 1),
        hour_ks=hour_ks,
        model=curve.name,
        model_reason=reason,
        cv=cv,
        incomplete_tail_days=tail,
        curve=curve,
    )


def _trend(arrived: pd.Series, first: pd.Timestamp, days: int) -> tuple[float, int]:
    """Relative change per month of a least-squares line through full-week counts."""
    weeks = days // 7
    if weeks < 3:
        return math.nan, weeks
    week = ((arrived - first).dt.days // 7).to_numpy()
    counts = np.bincount(week[week < weeks], minlength=weeks).astype(float)
    slope, _ = np.polyfit(np.arange(weeks), counts, 1)
    return float(slope * (HOURS_PER_MONTH / 168) / counts.mean()), weeks
