"""Backtests: policies on a replayed historical period, and a held-out calibration check.

:func:`backtest` splits the imported leads at a day: the *training* period before it
and the *held-out* period from it (default: the last quarter of the observed days,
at least 7).  Then:

1. **Replay**: the held-out period's real leads (times and attributes,
   :mod:`sim.history.replay`) run through the scenario's team under a *historical-like* policy
   and a *candidate*, on the same replication seeds, and
   :func:`sim.experiments.replications.paired_differences` compares every KPI.
2. **Calibration check**: arrivals fitted on the training period only (rate projected
   by the fitted trend to the middle of the held-out period, weekday x hour profile,
   channel mix) are simulated over the held-out period, and the measures the export
   also records (leads, leads per week, weekend share, share of each channel) are
   compared with the real held-out values: a real value is *within* when it lies in the
   95% prediction interval of one more replication, ``mean +- t(n-1) s sqrt(1 + 1/n)``
   over the *n* simulated replications (needs n >= 2), cut at 0 (and at 1 for a
   share).  When the scenario has a deal-stage model (``process:``, e.g. fitted by
   ``python -m sim calibrate``) and the export has deals, ``won_within_period_share``
   compares the share of held-out leads with a deal won before the period ends, real
   against simulated.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from policies.policy import PolicyBase
from sim.errors import ConfigError, DataError
from sim.experiments.replications import compare_runs, comparison_frame, paired_differences
from sim.history.calibrate import ArrivalFit, fit_arrivals
from sim.io.output import confined
from sim.io.safe_text import write_csv
from sim.world.clock import SimClock
from sim.world.randomness import replication_seeds
from sim.world.scenario import PoissonArrivals, ReplayArrivals, Scenario, WeeklyProfile

__all__ = [
    "Backtest",
    "backtest",
    "is_share",
    "observed_measures",
    "split_day",
    "won_within_share",
    "write_backtest",
]

CHECK_COLUMNS = ("measure", "real", "simulated_mean", "band_low", "band_high", "within")


@dataclass
class Backtest:
    """The result of :func:`backtest`."""

    split: pd.Timestamp
    holdout_days: int
    labels: tuple[str, str]
    fitted: ArrivalFit
    replay_frame: pd.DataFrame  # one row per (policy, replication): KPIs
    differences: pd.DataFrame  # paired_differences(historical, candidate)
    check: pd.DataFrame  # CHECK_COLUMNS
    replayed_leads: int
    runs: dict  # label -> replayed RunResults (plots, warnings)

    def summary(self) -> dict:
        """Headline numbers (JSON-ready)."""
        return {
            "split": str(self.split.date()),
            "holdout_days": self.holdout_days,
            "labels": list(self.labels),
            "replayed_leads": self.replayed_leads,
            "training_leads": self.fitted.leads,
            "fitted_leads_per_month": round(self.fitted.leads_per_month, 3),
            "trend_per_month": None
            if math.isnan(self.fitted.trend_per_month)
            else round(self.fitted.trend_per_month, 4),
            "within": int(self.check["within"].sum()),
            "measures": len(self.check),
        }


def split_day(leads: pd.DataFrame, holdout_days: int | None) -> tuple[pd.Timestamp, int]:
    """The first held-out day and the held-out length in days."""
    arrived = leads["arrived"].dropna()
    if arrived.empty:
        raise DataError("leads: no arrivals to backtest")
    first, last = arrived.min().normalize(), arrived.max().normalize()
    days = int((last - first).days) + 1
    hold = holdout_days if holdout_days is not None else max(7, days // 4)
    if not 1 <= hold < days:
        raise ConfigError(f"holdout_days: must be in 1..{days - 1} for {days} observed days")
    return last + pd.Timedelta(days=1) - pd.Timedelta(days=hold), hold


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


def _read_table(path: Path) -> pd.DataFrame:
    """An imported Parquet table; a corrupt or unreadable file is a one-line DataError."""
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise DataError(f"{path}: cannot read table ({exc.__class__.__name__})") from None


def _real_won_at(data_dir: Path) -> pd.Series | None:
    path = data_dir / "opportunities.parquet"
    if not path.is_file():
        return None
    opps = _read_table(path)
    if not {"outcome", "closed", "lead_id"} <= set(opps.columns):
        return None
    won = opps[(opps["outcome"] == "won") & opps["lead_id"].notna() & opps["closed"].notna()]
    return won.groupby("lead_id")["closed"].min()


def _simulated_won_at(result) -> pd.Series:
    opps = result.opportunities
    won = opps[opps["status"] == "won"]
    times = SimClock(result.scenario.start).timestamps(won["closed_t"].to_numpy())
    return pd.Series(times.to_numpy(), index=won["lead_id"].to_numpy())


def _synthetic(scenario: Scenario, fitted: ArrivalFit, mix, split, hold) -> Scenario:
    day = (split - fitted.first_day).days + hold / 2
    arrivals = PoissonArrivals(
        leads_per_month=max(fitted.leads_per_month_at(day), 1e-6),
        profile=WeeklyProfile(weekday=fitted.weekday, hour=fitted.hour),
    )
    leads = scenario.leads.model_copy(update={"channels": mix, "by_channel": {}})
    return scenario.model_copy(
        update={"start": split.to_pydatetime(), "horizon_days": float(hold), "warmup_days": 0.0}
        | {"arrivals": arrivals, "leads": leads}
    )


def is_share(measure: str) -> bool:
    """Whether a held-out *measure* is a share (in [0, 1]) rather than a count."""
    return measure.startswith("share:") or measure.endswith("_share")


def _bounded(measure: str, low: float, high: float) -> tuple[float, float]:
    """A prediction band cut at what the measure can be: [0, 1] for a share, >= 0 for a
    count (the t band is symmetric and would otherwise read "-3%")."""
    top = 1.0 if is_share(measure) else math.inf
    return min(max(low, 0.0), top), min(max(high, 0.0), top)


def _check(real: dict, simulated: list[dict]) -> pd.DataFrame:
    rows = []
    for name, value in real.items():
        sims = np.asarray([s[name] for s in simulated], dtype=float)
        n, mean = len(sims), float(sims.mean())
        if n > 1:
            half = stats.t.ppf(0.975, n - 1) * float(sims.std(ddof=1)) * math.sqrt(1 + 1 / n)
        else:
            half = math.nan
        low, high = _bounded(name, mean - half, mean + half)
        rows.append((name, value, mean, low, high, bool(low <= value <= high)))  # NaN: False
    return pd.DataFrame(rows, columns=list(CHECK_COLUMNS))


def backtest(
    data_dir: str | Path,
    scenario: Scenario,
    historical: PolicyBase,
    candidate: PolicyBase,
    *,
    holdout_days: int | None = None,
    replications: int = 3,
    seed: int = 0,
    labels: tuple[str, str] = ("historical", "candidate"),
) -> Backtest:
    """Replay the held-out period under both policies and check the calibration on it."""
    from sim.engine.simulation import run
    from sim.history.import_folder import require_imported

    data_dir = Path(data_dir)
    require_imported(data_dir)  # one line for a folder an import did not finish
    path = data_dir / "leads.parquet"
    if not path.is_file():
        raise ConfigError(f"{data_dir}: no leads.parquet (run 'python -m sim import' first)")
    if labels[0] == labels[1]:
        raise ConfigError(f"labels: both are {labels[0]!r}")
    leads = _read_table(path)
    if "arrived" not in leads.columns:
        raise DataError(f"{path}: column 'arrived' missing (not a canonical leads table)")
    split, hold = split_day(leads, holdout_days)
    train = leads[leads["arrived"] < split]
    held = leads[(leads["arrived"] >= split)]
    fitted = fit_arrivals(train)
    mix = {str(k): float(v) for k, v in train["channel"].value_counts(normalize=True).items()}
    replay = scenario.model_copy(
        update={
            "start": split.to_pydatetime(),
            "horizon_days": float(hold),
            "warmup_days": 0.0,
            "arrivals": ReplayArrivals(replay=path.resolve()),
        }
    )
    policies = dict(zip(labels, (historical, candidate), strict=True))
    runs = compare_runs(replay, policies, replications, seed)
    frame = comparison_frame(runs)
    differences = paired_differences(frame, labels[0], labels[1])
    synthetic = _synthetic(scenario, fitted, mix, split, hold)
    channels = sorted(set(held["channel"].dropna()) | set(mix))
    real = observed_measures(held, hold, channels)
    real_won = _real_won_at(data_dir) if scenario.process is not None else None
    end = split + pd.Timedelta(days=hold)
    simulated = []
    for s in replication_seeds(seed, replications):
        result = run(synthetic, historical, s)
        measures = observed_measures(result.leads, hold, channels)
        if real_won is not None:  # the deal-stage model against the real wins
            measures["won_within_period_share"] = won_within_share(
                result.leads, _simulated_won_at(result), split, end
            )
        simulated.append(measures)
    if real_won is not None:
        real["won_within_period_share"] = won_within_share(held, real_won, split, end)
    check = _check(real, simulated)
    return Backtest(split, hold, labels, fitted, frame, differences, check, len(held), runs)


def write_backtest(result: Backtest, out: str | Path) -> dict[str, Path]:
    """Write ``comparison.csv``, ``replications.csv``, ``calibration_check.csv`` and
    ``backtest.json`` into *out*."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{out}: cannot create output folder ({exc.strerror})") from None
    paths = {
        "comparison": confined(out, "comparison.csv"),
        "replications": confined(out, "replications.csv"),
        "check": confined(out, "calibration_check.csv"),
        "summary": confined(out, "backtest.json"),
    }
    write_csv(result.differences, paths["comparison"])  # text cells neutralised
    write_csv(
        result.replay_frame.assign(seed=result.replay_frame["seed"].map(str)), paths["replications"]
    )
    write_csv(result.check, paths["check"])
    paths["summary"].write_text(json.dumps(result.summary(), indent=2) + "\n", encoding="utf-8")
    return paths
