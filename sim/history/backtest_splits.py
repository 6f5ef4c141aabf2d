"""Where a backtest splits the export, and the per-split error table.

A *split* is an origin day and a held-out length: the model is fitted on every lead that
arrived before the origin and checked on the ``days`` days from it.  :func:`splits` gives
one split (the last ``holdout_days`` of the export, or from ``split_date``) or a
*rolling-origin* series of ``count`` splits: the held-out windows are consecutive and do
not overlap, the last one ending with the export (or at ``split_date + holdout_days``),
and each earlier origin fits on less data (an expanding window).

The default held-out length is :data:`DEFAULT_HOLDOUT_DAYS` (60) when the export is long
enough for it (:data:`MIN_TRAINING_DAYS` of training before the earliest origin), else a
quarter of the observed days (at least 7) for one split, and ``days / (count + 3)`` for
more.

:func:`split_errors` turns the long check table (one row per split and measure, the
``calibration_check.csv`` a backtest writes) into one row per split with each measure's
relative error, the checks within the band, and a summary row: the mean absolute
relative error of each measure over the splits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.errors import ConfigError, DataError

__all__ = [
    "DEFAULT_HOLDOUT_DAYS",
    "MIN_TRAINING_DAYS",
    "SUMMARY_LABEL",
    "Split",
    "default_holdout",
    "observed_span",
    "split_errors",
    "splits",
]

DEFAULT_HOLDOUT_DAYS = 60
"""Held-out days of each split when the export is long enough."""

MIN_TRAINING_DAYS = 120
"""Days of training before the earliest origin for the default 60-day held-out period."""

SUMMARY_LABEL = "mean |error|"
"""The ``split`` cell of :func:`split_errors`' summary row."""


@dataclass(frozen=True)
class Split:
    """One origin: fit on leads before ``origin``, check on ``[origin, end)``."""

    origin: pd.Timestamp
    days: int

    @property
    def end(self) -> pd.Timestamp:
        """The first day after the held-out period."""
        return self.origin + pd.Timedelta(days=self.days)

    @property
    def label(self) -> str:
        """The origin as ``YYYY-MM-DD`` (the ``split`` column of the tables)."""
        return str(self.origin.date())


def observed_span(leads: pd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The first and the last observed day (midnights) of the leads' arrivals."""
    arrived = leads["arrived"].dropna()
    if arrived.empty:
        raise DataError("leads: no arrivals to backtest")
    return arrived.min().normalize(), arrived.max().normalize()


def default_holdout(days: int, count: int = 1) -> int:
    """The default held-out length of each of *count* splits of a *days*-day export."""
    if days - count * DEFAULT_HOLDOUT_DAYS >= MIN_TRAINING_DAYS:
        return DEFAULT_HOLDOUT_DAYS
    return max(7, days // (count + 3))


def _day(value: str | dt.date | pd.Timestamp) -> pd.Timestamp:
    try:
        day = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ConfigError(f"split_date: {value!r} is not a date (YYYY-MM-DD)") from None
    if day != day.normalize():
        raise ConfigError(f"split_date: {value!r} must be a date without a time")
    return day


def splits(
    leads: pd.DataFrame,
    holdout_days: int | None = None,
    *,
    count: int = 1,
    split_date: str | dt.date | pd.Timestamp | None = None,
) -> list[Split]:
    """The *count* splits of a backtest on *leads*, oldest first (see the module doc).

    Without *split_date* the last split ends with the last observed day; with it, the last
    origin is that day and its held-out period runs *holdout_days* (default: to the end
    of the export).  A split that would leave no training day, or run past the export,
    is a :class:`ConfigError` naming the argument.
    """
    if count < 1:
        raise ConfigError(f"splits: must be >= 1, got {count}")
    first, last = observed_span(leads)
    days = int((last - first).days) + 1
    if split_date is None:
        hold = holdout_days if holdout_days is not None else default_holdout(days, count)
        limit = (days - 1) // count
        if not 1 <= hold <= limit:
            raise ConfigError(
                f"holdout_days: must be in 1..{limit} for {days} observed days"
                + (f" and {count} splits" if count > 1 else "")
            )
        end = last + pd.Timedelta(days=1)
    else:
        origin = _day(split_date)
        if not first < origin <= last:
            raise ConfigError(
                f"split_date: {origin.date()} must be after the first observed day "
                f"({first.date()}) and not after the last ({last.date()})"
            )
        to_end = int((last - origin).days) + 1
        hold = holdout_days if holdout_days is not None else to_end
        if not 1 <= hold <= to_end:
            raise ConfigError(
                f"holdout_days: must be in 1..{to_end} from split_date {origin.date()}"
            )
        end = origin + pd.Timedelta(days=hold)
        earliest = end - pd.Timedelta(days=count * hold)
        if earliest <= first:
            raise ConfigError(
                f"splits: {count} splits of {hold} days before {end.date()} leave no "
                f"training day after {first.date()}"
            )
    return [Split(end - pd.Timedelta(days=(count - i) * hold), hold) for i in range(count)]


def split_errors(check: pd.DataFrame) -> pd.DataFrame:
    """One row per split: held-out days, checks within the band, each measure's relative
    error (simulated mean vs real, signed) and the mean absolute one; then a summary row
    (``split`` = :data:`SUMMARY_LABEL`) with each measure's mean absolute relative error
    over the splits and the total of checks within.

    *check* is the long table of a backtest (``calibration_check.csv``).
    """
    rows = []
    measures = list(dict.fromkeys(check["measure"]))
    for label, part in check.groupby("split", sort=True):
        errors = part.set_index("measure")["relative_error"]
        row = {
            "split": label,
            "days": int(part["days"].iloc[0]),
            "within": int(part["within"].sum()),
            "checks": len(part),
            "mean_abs_error": float(np.nanmean(np.abs(errors))) if errors.notna().any() else np.nan,
        }
        rows.append(row | {m: float(errors.get(m, np.nan)) for m in measures})
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    summary = {
        "split": SUMMARY_LABEL,
        "days": int(table["days"].sum()),
        "within": int(table["within"].sum()),
        "checks": int(table["checks"].sum()),
        "mean_abs_error": _mean_abs(table["mean_abs_error"]),
    }
    summary |= {m: _mean_abs(table[m]) for m in measures}
    return pd.concat([table, pd.DataFrame([summary])], ignore_index=True)


def _mean_abs(values: pd.Series) -> float:
    finite = values.dropna().abs()
    return float(finite.mean()) if len(finite) else float("nan")
