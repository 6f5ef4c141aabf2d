"""The simulation clock: hours (a float) since the scenario's start, and back to dates.

A run's clock reads 0 at ``scenario.start`` (a naive local datetime) and counts hours.
:class:`SimClock` is the one place that converts between clock values and wall-clock
datetimes, dates and timestamps: scalars (:meth:`~SimClock.datetime_at`,
:meth:`~SimClock.hours_at`, to the microsecond, as :class:`datetime.timedelta` does) and
columns (:meth:`~SimClock.timestamps`, :meth:`~SimClock.hours_of`, to the nanosecond).
Calendars, the event log, result tables, replay, payments and reports all use it, so a
clock value names the same instant everywhere.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd

from sim.errors import ConfigError

__all__ = ["SimClock"]

_HOUR = timedelta(hours=1)
_NS_PER_HOUR = 3.6e12


class SimClock:
    """Conversions between clock values (hours since *start*) and wall-clock time."""

    __slots__ = ("day0", "start")

    def __init__(self, start: datetime) -> None:
        if not isinstance(start, datetime) or start.tzinfo is not None:
            raise ConfigError(f"clock start must be a naive datetime, got {start!r}")
        self.start = start
        self.day0 = self.hours_at(datetime.combine(start.date(), time()))
        """Clock value (<= 0) of the start date's midnight: day ``d`` begins at
        ``day0 + 24 d``."""

    def __repr__(self) -> str:
        return f"SimClock({self.start.isoformat()})"

    def datetime_at(self, t: float) -> datetime:
        """Wall-clock time of clock value ``t`` (``start + t hours``, to the microsecond)."""
        return self.start + timedelta(hours=t)

    def date_at(self, t: float) -> date:
        """Calendar date of clock value ``t``."""
        return self.datetime_at(t).date()

    def hours_at(self, when: datetime) -> float:
        """Clock value of wall-clock time *when*; the inverse of :meth:`datetime_at`."""
        return (when - self.start) / _HOUR

    def hours_at_date(self, day: date) -> float:
        """Clock value of the midnight that begins *day*."""
        return self.hours_at(datetime.combine(day, time()))

    @property
    def week_hour(self) -> float:
        """Hour of the week at the start (Monday 00:00 = 0, Sunday 23:59 ~ 168)."""
        return self.start.weekday() * 24 - self.day0

    def timestamps(self, t) -> pd.DatetimeIndex | pd.Series:
        """Timestamps of clock values *t* (an array or Series), rounded to the nanosecond."""
        ns = np.round(np.asarray(t, dtype=float) * _NS_PER_HOUR)
        stamps = pd.Timestamp(self.start) + pd.to_timedelta(ns, unit="ns")
        if isinstance(t, pd.Series):
            return pd.Series(stamps, index=t.index, name=t.name)
        return stamps

    def hours_of(self, stamps) -> np.ndarray:
        """Clock values of timestamps *stamps* (an array or Series of datetimes)."""
        delta = pd.to_datetime(stamps) - pd.Timestamp(self.start)
        return np.asarray(delta / pd.Timedelta(hours=1), dtype=float)
