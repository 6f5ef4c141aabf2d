"""Calibration: fit a scenario's numbers to imported data, and say how well they fit.

:func:`fit` reads canonical tables (``python -m sim import``) and estimates:

- **arrivals**: the mean rate (leads per month over the observed days), a weekday
  profile (leads per weekday, divided by the number of such days observed), an hour
  profile from the leads whose time of day is real (none when most arrival times were
  placed by the date-only rule) and a linear trend of weekly counts;
- **channel mix** and the other lead attribute mixes the export carries;
- **cycle times** (first contact -> won, in days; from the arrival *day* when the
  arrival was date-only) with log-normal, gamma and exponential fits by maximum
  likelihood, each with its Kolmogorov-Smirnov distance; the closest is chosen;
- **win rates** overall and per channel (leads with a won deal / leads), and each rep's
  median cycle (``close_cycle_days``, used by capability-match routing);
- **payment delays** (paid - due, days) when payments are present: share paid late and
  a fit of the days late.

:func:`sim.history.scenario_writer.scenario_yaml` writes the scenario, with comments stating what
each number was fitted from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from sim.errors import DataError
from sim.world.lead_attributes import LEAD_ATTRIBUTES
from sim.world.scenario import HOURS_PER_MONTH, WEEKDAYS

__all__ = [
    "ArrivalFit",
    "Calibration",
    "DurationFit",
    "fit",
    "fit_arrivals",
    "fit_duration",
    "weekday_table",
]

MIN_FOR_FIT = 5
"""Fewest observations a distribution is fitted to."""


@dataclass
class ArrivalFit:
    """Fitted arrival process and its goodness of fit."""

    leads: int
    first_day: pd.Timestamp
    days: int
    leads_per_month: float
    weekday: list[float]
    hour: list[float]
    exact_share: float  # share of arrivals with a real time of day
    trend_per_month: float  # relative change of the weekly rate per month
    trend_weeks: int
    dispersion: float  # Pearson chi-square of daily counts / degrees of freedom (Poisson: ~1)
    hour_ks: float  # KS distance, hour of week: observed vs weekday x hour (NaN: date-only)

    def leads_per_month_at(self, day: float) -> float:
        """Rate projected by the linear trend to *day* days after ``first_day``."""
        if math.isnan(self.trend_per_month):
            return self.leads_per_month
        months = (day - self.days / 2) / (HOURS_PER_MONTH / 24)
        return max(self.leads_per_month * (1 + self.trend_per_month * months), 0.0)

    def expected_weekday_share(self) -> np.ndarray:
        """Fitted share of leads per weekday over the observed days."""
        days = pd.date_range(self.first_day, periods=self.days, freq="D")
        counts = np.bincount(days.day_of_week, minlength=7)
        w = np.asarray(self.weekday) * counts
        return w / w.sum()


@dataclass
class DurationFit:
    """A duration sample (days) with its candidate fits and the chosen one."""

    what: str
    sample: np.ndarray
    candidates: dict[str, dict] = field(default_factory=dict)  # name -> {params, ks}
    chosen: str | None = None

    @property
    def spec(self) -> dict | None:
        """The chosen fit in the workbench's distribution syntax (``{dist: ...}``)."""
        return None if self.chosen is None else self.candidates[self.chosen]["spec"]

    @property
    def ks(self) -> float:
        """KS distance of the chosen fit (NaN when none)."""
        return math.nan if self.chosen is None else self.candidates[self.chosen]["ks"]

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """CDF of the chosen fit at *x* (days)."""
        return self.candidates[self.chosen]["frozen"].cdf(x)


@dataclass
class Calibration:
    """Everything fitted from one imported data folder."""

    source: str
    country: str | None
    arrivals: ArrivalFit
    mixes: dict[str, dict[str, float]]
    timeline_days_mean: float | None
    timeline_known: float | None
    cycle: DurationFit | None
    win_rate: float | None
    win_rate_by_channel: dict[str, float]
    reps: pd.DataFrame  # rep_id, region, hire_date, won, close_cycle_days
    payment_delay: DurationFit | None
    late_share: float | None

    def goodness(self) -> pd.DataFrame:
        """One row per fit: what, n, statistic (``ks``: Kolmogorov-Smirnov distance, lower
        is closer; ``chi2/df``: Poisson dispersion of daily counts, 1 is Poisson), value
        (NaN when not measurable, e.g. hour of week on date-only arrivals)."""
        a = self.arrivals
        rows = [
            ("arrivals: daily counts vs Poisson", a.days, "chi2/df", a.dispersion),
            ("arrivals: hour of week", a.leads, "ks", a.hour_ks),
        ]
        for d in (self.cycle, self.payment_delay):
            if d is not None:
                for name, cand in d.candidates.items():
                    mark = " (chosen)" if name == d.chosen else ""
                    rows.append((f"{d.what}: {name}{mark}", len(d.sample), "ks", cand["ks"]))
        return pd.DataFrame(rows, columns=["fit", "n", "statistic", "value"])


# --- arrivals ------------------------------------------------------------------------


def _discrete_ks(observed: np.ndarray, expected: np.ndarray) -> float:
    """Largest gap between two discrete CDFs over the same ordered bins."""
    o = np.cumsum(observed) / observed.sum()
    e = np.cumsum(expected) / expected.sum()
    return float(np.max(np.abs(o - e)))


def fit_arrivals(leads: pd.DataFrame) -> ArrivalFit:
    """Rate, weekday and hour profiles and trend of the ``arrived`` column of *leads*."""
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


# --- durations -----------------------------------------------------------------------


def fit_duration(what: str, days: np.ndarray) -> DurationFit:
    """Log-normal, gamma and exponential fits (ML, location 0) of positive *days*."""
    sample = np.sort(np.asarray(days, dtype=float))
    sample = sample[np.isfinite(sample) & (sample > 0)]
    result = DurationFit(what, sample)
    if len(sample) < MIN_FOR_FIT:
        return result
    s, _, scale = stats.lognorm.fit(sample, floc=0)
    a, _, gscale = stats.gamma.fit(sample, floc=0)
    candidates = {
        "lognormal": stats.lognorm(s, 0, scale),
        "gamma": stats.gamma(a, 0, gscale),
        "exponential": stats.expon(0, sample.mean()),
    }
    for name, frozen in candidates.items():
        mean, var = (float(v) for v in frozen.stats(moments="mv"))
        spec = {"dist": name, "mean": round(mean, 3)}
        if name == "lognormal":
            spec["sd"] = round(math.sqrt(var), 3)
        elif name == "gamma":
            spec["shape"] = round(float(a), 4)
        ks = float(stats.kstest(sample, frozen.cdf).statistic)
        result.candidates[name] = {"spec": spec, "ks": ks, "frozen": frozen}
    result.chosen = min(result.candidates, key=lambda k: result.candidates[k]["ks"])
    return result


def _arrival_reference(leads: pd.DataFrame) -> pd.Series:
    """Arrival used for cycle times: the arrival, or its day's midnight when date-only."""
    ref = leads["arrived"]
    if "arrived_date_only" in leads:
        ref = ref.where(~leads["arrived_date_only"].astype(bool), ref.dt.normalize())
    return pd.Series(ref.to_numpy(), index=leads["lead_id"].to_numpy())


def _won(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    opps = tables.get("opportunities")
    if opps is None or "outcome" not in opps:
        return pd.DataFrame(columns=["lead_id", "rep_id", "closed", "cycle_days"])
    won = opps[(opps["outcome"] == "won") & opps["lead_id"].notna()].copy()
    if "closed" in won:
        ref = won["lead_id"].map(_arrival_reference(tables["leads"]))
        won["cycle_days"] = (won["closed"] - ref) / pd.Timedelta(days=1)
    else:
        won["cycle_days"] = np.nan
    return won


def _mix(values: pd.Series) -> dict[str, float]:
    shares = values.dropna().value_counts(normalize=True).sort_index()
    return {str(k): round(float(v), 4) for k, v in shares.items() if v > 0}


def _reps(tables: dict[str, pd.DataFrame], won: pd.DataFrame) -> pd.DataFrame:
    reps = tables.get("reps")
    ids = set(won["rep_id"].dropna()) if "rep_id" in won else set()
    frame = (
        reps.drop_duplicates("rep_id")[[c for c in ("rep_id", "region", "hire_date") if c in reps]]
        if reps is not None
        else pd.DataFrame({"rep_id": sorted(ids)})
    )
    frame = frame.sort_values("rep_id").reset_index(drop=True)
    if "rep_id" in won and len(won):
        by_rep = won.groupby("rep_id")["cycle_days"]
        frame["won"] = frame["rep_id"].map(by_rep.size()).fillna(0).astype(int)
        medians = by_rep.median().where(by_rep.size() >= 3)
        frame["close_cycle_days"] = frame["rep_id"].map(medians).astype(float)
    else:
        frame["won"] = 0
        frame["close_cycle_days"] = np.nan
    return frame


def fit(data_dir: str | Path) -> Calibration:
    """Fit everything the imported tables in *data_dir* support."""
    from sim.history.importer import read_imported

    tables, report = read_imported(data_dir)
    if "leads" not in tables:
        raise DataError(f"{data_dir}: no leads.parquet")
    leads = tables["leads"]
    arrivals = fit_arrivals(leads)
    mixes = {
        attr.mix: _mix(leads[attr.name])
        for attr in LEAD_ATTRIBUTES
        if attr.segment and attr.name in leads and leads[attr.name].notna().any()
    }
    won = _won(tables)
    cycle = None
    if len(won) and won["cycle_days"].notna().any():
        cycle = fit_duration("cycle time (first contact -> won, days)", won["cycle_days"])
    won_leads = set(won["lead_id"])
    is_won = leads["lead_id"].isin(won_leads)
    by_channel = {}
    if "channel" in leads and "opportunities" in tables:
        rates = is_won.groupby(leads["channel"]).mean().sort_index()
        by_channel = {str(k): round(float(v), 4) for k, v in rates.items()}
    delay, late = None, None
    payments = tables.get("payments")
    if payments is not None and {"due", "paid"} <= set(payments):
        days = ((payments["paid"] - payments["due"]) / pd.Timedelta(days=1)).dropna()
        if len(days):
            late = round(float((days > 0).mean()), 4)
            delay = fit_duration("days paid late (late payments)", days[days > 0])
    timeline = leads.get("timeline_days")
    return Calibration(
        source=str(report.get("mapping", "")),
        country=report.get("country"),
        arrivals=arrivals,
        mixes=mixes,
        timeline_days_mean=None if timeline is None else float(timeline.mean()),
        timeline_known=None if timeline is None else float(timeline.notna().mean()),
        cycle=cycle,
        win_rate=float(is_won.mean()) if "opportunities" in tables else None,
        win_rate_by_channel=by_channel,
        reps=_reps(tables, won),
        payment_delay=delay,
        late_share=late,
    )


def weekday_table(cal: Calibration, leads: pd.DataFrame) -> pd.DataFrame:
    """Observed vs fitted share of leads per weekday (for reports)."""
    observed = np.bincount(leads["arrived"].dropna().dt.day_of_week, minlength=7)
    return pd.DataFrame(
        {
            "weekday": list(WEEKDAYS),
            "observed": observed / observed.sum(),
            "fitted": cal.arrivals.expected_weekday_share(),
        }
    )
