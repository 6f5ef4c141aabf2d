"""Stage-weighted pipeline forecast at each month start, against what was then won.

At the start of each calendar month the forecast for that month is the sum, over the
deals open at that instant, of the rep's expected amount times the policy's weight for
the last checkpoint *recorded in the CRM* by then (so late stage updates, DOMAIN.md 4,
make the forecast worse).  The actual is the value of the contracts signed during the
month.  The error is ``forecast / actual - 1`` (the source reports +-37%).

Only months that start at or after the warm-up and end by the horizon count.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from policies.checkpoints import CHECKPOINTS
from sim.engine.result import RunResult
from sim.world.clock import SimClock

__all__ = ["FORECAST_COLUMNS", "forecast_error", "month_starts", "pipeline_forecast"]

FORECAST_COLUMNS = ("month", "month_start_t", "open_deals", "forecast", "won", "error")
"""Columns of :func:`pipeline_forecast`: money in yuan, ``error`` as a share."""


def month_starts(result: RunResult) -> list[tuple[str, float, float]]:
    """``(YYYY-MM, start, end)`` in clock hours of the whole months inside the window."""
    scenario = result.scenario
    clock, origin = SimClock(scenario.start), pd.Timestamp(scenario.start)
    first = (origin + pd.Timedelta(hours=scenario.warmup_hours) - pd.Timedelta(1)).to_period(
        "M"
    ) + 1
    months = []
    period = first
    while True:
        start = clock.hours_at(period.start_time)
        end = clock.hours_at((period + 1).start_time)
        if end > scenario.horizon_hours:
            return months
        months.append((str(period), float(start), float(end)))
        period += 1


def _recorded_stage(opps: pd.DataFrame, t: float) -> np.ndarray:
    """Checkpoints recorded by time *t*, per opportunity (recording is in order)."""
    recorded = opps[[f"recorded_{c}_t" for c in CHECKPOINTS]].to_numpy(float)
    return (recorded <= t).sum(axis=1)


def pipeline_forecast(result: RunResult) -> pd.DataFrame:
    """One row per whole month of the window: open deals, forecast, won value, error."""
    opps, contracts = result.opportunities, result.contracts
    weights = result.policy.checkpoints
    rows = []
    for month, start, end in month_starts(result):
        closed = opps["closed_t"].to_numpy(float)
        is_open = (opps["opened_t"].to_numpy(float) <= start) & ~(closed <= start)
        stage = _recorded_stage(opps, start)[is_open]
        w = np.asarray([weights.weight_after(int(k)) for k in stage], dtype=float)
        forecast = float((w * opps["expected_amount"].to_numpy(float)[is_open]).sum())
        signed = contracts["signed_at"].to_numpy(float)
        in_month = (signed >= start) & (signed < end)
        won = int(contracts["value_cents"].to_numpy(np.int64)[in_month].sum()) / 100
        error = forecast / won - 1 if won > 0 else np.nan
        rows.append((month, start, int(is_open.sum()), forecast, won, error))
    return pd.DataFrame(rows, columns=list(FORECAST_COLUMNS)).astype(
        {"open_deals": np.int64, "forecast": float, "won": float, "error": float}
    )


def forecast_error(results: RunResult | Sequence[RunResult]) -> float:
    """Mean absolute forecast error (share) over the months of *results* (NaN if none)."""
    runs = [results] if isinstance(results, RunResult) else list(results)
    errors = pd.concat([pipeline_forecast(r)["error"] for r in runs]) if runs else pd.Series()
    errors = errors.dropna()
    return float(errors.abs().mean()) if len(errors) else float("nan")
