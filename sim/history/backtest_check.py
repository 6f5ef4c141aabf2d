"""The held-out calibration check of one backtest split.

Arrivals are fitted on the leads before the split's origin only
(:func:`sim.history.calibrate.fit_arrivals`); the rate over the held-out period is the
fit's own expectation, ``ArrivalFit.expected_leads(start, end)`` (the arrival model the
fit chose by cross-validation), or, with a fit that has no such method, the rate its
linear trend projects to the middle of the period (``leads_per_month_at``).  With the
training weekday x hour profile and channel mix, the period is simulated
``replications`` times and each measure the export also records (leads, leads per week,
weekend share, share of each channel) is compared with the real held-out value: a real
value is *within* when it lies in the 95% prediction interval of one more replication,
``mean +- t(n-1) s sqrt(1 + 1/n)`` (needs n >= 2), cut at 0 (and at 1 for a share).
The *relative error* is ``(simulated mean - real) / real`` (NaN when real is 0).

When the scenario has a deal-stage model (``process:``, fitted by ``python -m sim
calibrate``) and the export has deals, two won shares of the held-out leads are compared,
real against simulated: ``won_within_period_share``, the share with a deal won before the
period ends (it also tests how fast deals close), and ``won_share``, the share won by the
*snapshot* (the export's date, ``snapshot`` of the import report, else its latest date),
at most :data:`WON_FOLLOW_DAYS` after the period: the simulation then runs on to that
day, so deals of the held-out leads can close as they did in the export, and only the
leads that arrived in the period are counted on either side.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from sim.errors import DataError
from sim.history.backtest_splits import Split
from sim.history.calibrate import ArrivalFit
from sim.world.clock import SimClock
from sim.world.randomness import replication_seeds
from sim.world.scenario import HOURS_PER_MONTH, PoissonArrivals, Scenario, WeeklyProfile

__all__ = [
    "CHECK_COLUMNS",
    "WON_FOLLOW_DAYS",
    "WON_SHARE",
    "WON_WITHIN",
    "calibration_check",
    "expected_rate",
    "is_share",
    "observed_measures",
    "read_table",
    "real_won_at",
    "snapshot_day",
    "won_until",
    "won_within_share",
]

CHECK_COLUMNS = (
    "split",
    "days",
    "measure",
    "real",
    "simulated_mean",
    "band_low",
    "band_high",
    "relative_error",
    "within",
)
"""Columns of the check table (``calibration_check.csv``): one row per split and measure."""

WON_SHARE = "won_share"
"""Share of the held-out leads won by the snapshot (:func:`won_until`), real vs model."""

WON_WITHIN = "won_within_period_share"
"""Share of the held-out leads won before the held-out period ends, real vs model."""

WON_FOLLOW_DAYS = 180
"""Days after a held-out period that its leads' wins are followed at most."""


def read_table(path: Path) -> pd.DataFrame:
    """An imported Parquet table; a corrupt or unreadable file is a one-line DataError."""
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise DataError(f"{path}: cannot read table ({exc.__class__.__name__})") from None


def observed_measures(leads: pd.DataFrame, days: float, channels: list[str]) -> dict[str, float]:
    """Measures a CRM export records about arrivals, for one period of *days* days."""
    arrived = leads["arrived"]
    n = len(leads)
    measures = {
        "leads": float(n),
        "leads_per_week": n / days * 7,
        "weekend_share": float((arrived.dt.day_of_week >= 5).mean()) if n else math.nan,
    }
    shares = leads["channel"].value_counts(normalize=True) if n else pd.Series(dtype=float)
    for channel in channels:
        measures[f"share:{channel}"] = float(shares.get(channel, 0.0))
    return measures


def won_within_share(leads: pd.DataFrame, won_at: pd.Series, start, end) -> float:
    """Share of *leads* with a deal won in ``[start, end)``; *won_at* maps lead_id to the
    win time (the same measure on real and simulated data: a deal won after the period
    is not counted on either side)."""
    if not len(leads):
        return math.nan
    won = won_at[(won_at >= start) & (won_at < end)]
    return float(leads["lead_id"].isin(won.index).mean())


def real_won_at(data_dir: Path) -> pd.Series | None:
    """lead_id -> first win time of the imported deals (None without won deals to read)."""
    path = data_dir / "opportunities.parquet"
    if not path.is_file():
        return None
    opps = read_table(path)
    if not {"outcome", "closed", "lead_id"} <= set(opps.columns):
        return None
    won = opps[(opps["outcome"] == "won") & opps["lead_id"].notna() & opps["closed"].notna()]
    return won.groupby("lead_id")["closed"].min()


def snapshot_day(data_dir: Path, leads: pd.DataFrame, won_at: pd.Series | None) -> pd.Timestamp:
    """The export's snapshot day: ``snapshot`` of the import report when given, else the
    latest arrival or win."""
    import json

    report = data_dir / "import_report.json"
    if report.is_file():
        try:
            value = json.loads(report.read_text(encoding="utf-8")).get("snapshot")
        except (OSError, ValueError):
            value = None
        if value:
            return pd.Timestamp(value).normalize()
    latest = leads["arrived"].max()
    if won_at is not None and len(won_at):
        latest = max(latest, won_at.max())
    return pd.Timestamp(latest).normalize()


def won_until(split: Split, snapshot: pd.Timestamp) -> pd.Timestamp:
    """The day (exclusive) until which wins of the split's held-out leads are counted: the
    day after the snapshot, at most :data:`WON_FOLLOW_DAYS` after the period, and never
    before the period ends."""
    follow = split.end + pd.Timedelta(days=WON_FOLLOW_DAYS)
    return max(split.end, min(snapshot + pd.Timedelta(days=1), follow))


def _simulated_won_at(result) -> pd.Series:
    opps = result.opportunities
    won = opps[opps["status"] == "won"]
    times = SimClock(result.scenario.start).timestamps(won["closed_t"].to_numpy())
    return pd.Series(times.to_numpy(), index=won["lead_id"].to_numpy())


def expected_rate(fitted: ArrivalFit, split: Split) -> tuple[float, str]:
    """Leads per month over the split's held-out period, and which model gave it.

    ``ArrivalFit.expected_leads`` (the fit's chosen arrival model) when the fit has it,
    else the linear trend's projection to the middle of the period.
    """
    start = float((split.origin - fitted.first_day).days)
    expected = getattr(fitted, "expected_leads", None)
    if callable(expected):
        leads = float(expected(start, start + split.days))
        model = str(getattr(fitted, "model", "fitted"))
        return leads / split.days * (HOURS_PER_MONTH / 24), model
    return fitted.leads_per_month_at(start + split.days / 2), "linear trend at mid-period"


def _synthetic(
    scenario: Scenario, fitted: ArrivalFit, mix, split: Split, until: pd.Timestamp
) -> Scenario:
    rate, _ = expected_rate(fitted, split)
    arrivals = PoissonArrivals(
        leads_per_month=max(rate, 1e-6),
        profile=WeeklyProfile(weekday=fitted.weekday, hour=fitted.hour),
    )
    leads = scenario.leads.model_copy(update={"channels": mix, "by_channel": {}})
    return scenario.model_copy(
        update={
            "start": split.origin.to_pydatetime(),
            "horizon_days": float((until - split.origin).days),
            "warmup_days": 0.0,
            "arrivals": arrivals,
            "leads": leads,
        }
    )


def is_share(measure: str) -> bool:
    """Whether a held-out *measure* is a share (in [0, 1]) rather than a count."""
    return measure.startswith("share:") or measure.endswith("_share")


def _bounded(measure: str, low: float, high: float) -> tuple[float, float]:
    """A prediction band cut at what the measure can be: [0, 1] for a share, >= 0 for a
    count (the t band is symmetric and would otherwise read "-3%")."""
    top = 1.0 if is_share(measure) else math.inf
    return min(max(low, 0.0), top), min(max(high, 0.0), top)


def _rows(split: Split, real: dict, simulated: list[dict]) -> list[tuple]:
    rows = []
    for name, value in real.items():
        sims = np.asarray([s[name] for s in simulated], dtype=float)
        n, mean = len(sims), float(np.nanmean(sims)) if np.isfinite(sims).any() else math.nan
        if n > 1:
            half = stats.t.ppf(0.975, n - 1) * float(np.nanstd(sims, ddof=1)) * math.sqrt(1 + 1 / n)
        else:
            half = math.nan
        low, high = _bounded(name, mean - half, mean + half)
        error = (mean - value) / value if value else math.nan
        within = bool(low <= value <= high)  # NaN: False
        rows.append((split.label, split.days, name, value, mean, low, high, error, within))
    return rows


def calibration_check(
    leads: pd.DataFrame,
    scenario: Scenario,
    policy,
    split: Split,
    fitted: ArrivalFit,
    *,
    replications: int,
    seed: int,
    real_won: pd.Series | None,
    snapshot: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """The check table (:data:`CHECK_COLUMNS`) of one split; *fitted* is the arrival fit
    on the leads before the origin, *real_won* the real wins (None: no won-share check),
    *snapshot* the export's snapshot day (:func:`snapshot_day`)."""
    from sim.engine.simulation import run

    train = leads[leads["arrived"] < split.origin]
    held = leads[(leads["arrived"] >= split.origin) & (leads["arrived"] < split.end)]
    mix = {str(k): float(v) for k, v in train["channel"].value_counts(normalize=True).items()}
    won_check = real_won is not None and scenario.process is not None
    until = won_until(split, snapshot) if won_check and snapshot is not None else split.end
    synthetic = _synthetic(scenario, fitted, mix, split, until)
    channels = sorted(set(held["channel"].dropna()) | set(mix))
    real = observed_measures(held, split.days, channels)
    simulated = []
    for s in replication_seeds(seed, replications):
        result = run(synthetic, policy, s)
        period = result.leads[result.leads["arrived"] < split.end]
        measures = observed_measures(period, split.days, channels)
        if won_check:  # the deal-stage model against the real wins
            won = _simulated_won_at(result)
            measures[WON_WITHIN] = won_within_share(period, won, split.origin, split.end)
            measures[WON_SHARE] = won_within_share(period, won, split.origin, until)
        simulated.append(measures)
    if won_check:
        real[WON_WITHIN] = won_within_share(held, real_won, split.origin, split.end)
        real[WON_SHARE] = won_within_share(held, real_won, split.origin, until)
    return pd.DataFrame(_rows(split, real, simulated), columns=list(CHECK_COLUMNS))
