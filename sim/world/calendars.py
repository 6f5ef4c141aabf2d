"""Working calendars on the simulation clock.

The clock is a float: hours since the scenario's ``start`` (a naive local datetime;
conversions by :class:`~sim.world.clock.SimClock`).
:class:`AlwaysOpen` is open 24/7; :class:`ShiftCalendar` has one shift per working day, with
weekends, holidays and adjusted working days (see :func:`public_holidays`). Working
intervals are half-open, ``[shift_start, shift_end)``. ShiftCalendar keeps them in sorted
arrays, grown on demand: answers are exact for every ``t >= 0`` (up to ~100 years after
the start), never silently truncated. Queries bisect plain lists of the same floats
(the engine asks several per lead; ``bisect`` on a list costs a fraction of a numpy
scalar search).

:class:`WorkingDays` answers the same working-day rule by date (statement dates such as
the 5th working day of a month); :func:`working_dates` builds the holiday and adjusted
working-day sets both kinds of calendar use.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

import numpy as np

from sim.errors import ConfigError
from sim.world.clock import SimClock

__all__ = [
    "AlwaysOpen",
    "ShiftCalendar",
    "WorkCalendar",
    "WorkingDays",
    "public_holidays",
    "working_dates",
]

_MARGIN_DAYS = 60.0  # precomputed beyond horizon_days, so ordinary runs never extend
_MAX_DAYS = 36_600.0  # ~100 years: farther queries raise instead of exhausting memory


def _check(value: float, what: str = "time t") -> float:
    """Return ``value`` if it is finite and >= 0, else raise ValueError naming ``what``."""
    if not 0.0 <= value < math.inf:  # also rejects NaN
        raise ValueError(f"calendar {what} must be finite and >= 0, got {value!r}")
    return value


class WorkCalendar(ABC):
    """Working time of a rep on the simulation clock (hours since ``start``).

    Queries take clock values ``t >= 0`` and raise ValueError otherwise; only
    :meth:`datetime_at` and :meth:`hours_at` accept times before the start.
    """

    def __init__(self, start: datetime) -> None:
        if not isinstance(start, datetime) or start.tzinfo is not None:
            raise ConfigError(f"calendar start must be a naive datetime, got {start!r}")
        self.start = start
        self.clock = SimClock(start)

    @abstractmethod
    def is_working(self, t: float) -> bool:
        """Whether ``t`` lies inside a working interval ``[shift_start, shift_end)``."""

    @abstractmethod
    def is_working_day(self, t: float) -> bool:
        """Whether the calendar date of ``t`` is a working day (not a weekend or holiday)."""

    @abstractmethod
    def next_working(self, t: float) -> float:
        """``t`` itself if working, else the start of the next working interval."""

    @abstractmethod
    def shift_end(self, t: float) -> float:
        """End of the working interval containing ``t``; ValueError if ``t`` is not working."""

    @abstractmethod
    def add_working_hours(self, t: float, hours: float) -> float:
        """Earliest ``t' >= t`` with ``working_hours_between(t, t') == hours``.

        ``add_working_hours(t, 0)`` is ``t`` if working, else ``next_working(t)``.
        Invariant: monotone non-decreasing in ``t`` for fixed ``hours``; the SLA monitors
        rely on it to keep deadlines in FIFO order.
        """

    @abstractmethod
    def working_hours_between(self, t0: float, t1: float) -> float:
        """Working time in ``[t0, t1)``; 0 if ``t1 <= t0``."""

    def working_interval(self, t: float) -> tuple[float, float]:
        """``(start, end)`` of the working interval containing ``t``, else of the next one
        (ConfigError if there is none).

        One query answers :meth:`is_working` (``start <= t``), :meth:`next_working`
        (``max(t, start)``) and :meth:`shift_end` for every time up to ``end``: the same
        interval is the answer for all of ``[t, end)``.
        """
        start = self.next_working(t)
        return start, self.shift_end(start)

    def datetime_at(self, t: float) -> datetime:
        """Wall-clock time of clock value ``t`` (``start + t hours``, to the microsecond)."""
        return self.clock.datetime_at(t)

    def hours_at(self, dt: datetime) -> float:
        """Clock value of wall-clock time ``dt``; the inverse of :meth:`datetime_at`."""
        return self.clock.hours_at(dt)


class AlwaysOpen(WorkCalendar):
    """Open 24/7 with no holidays: working time equals elapsed time."""

    def is_working(self, t: float) -> bool:
        """Always True."""
        _check(t)
        return True

    def is_working_day(self, t: float) -> bool:
        """Always True."""
        _check(t)
        return True

    def next_working(self, t: float) -> float:
        """``t`` itself."""
        return _check(t)

    def shift_end(self, t: float) -> float:
        """``math.inf``: the single shift never ends."""
        _check(t)
        return math.inf

    def add_working_hours(self, t: float, hours: float) -> float:
        """``t + hours``."""
        return _check(t) + _check(hours, "hours")

    def working_hours_between(self, t0: float, t1: float) -> float:
        """``max(0, t1 - t0)``."""
        return max(0.0, _check(t1) - _check(t0))

    def working_interval(self, t: float) -> tuple[float, float]:
        """``(0, inf)``: one interval holds all time."""
        _check(t)
        return 0.0, math.inf


def _check_weekday(day: object) -> int:
    """Return ``day`` if it is an int weekday 0..6 (Monday=0), else raise ConfigError."""
    if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
        raise ConfigError(f"weekday {day!r} is not an integer in 0..6 (Monday=0)")
    return day


class ShiftCalendar(WorkCalendar):
    """One shift ``[day_start, day_end)`` on every working day.

    A date is a working day iff (its weekday is in ``weekdays`` and it is not in
    ``holidays``) or it is in ``extra_working_dates`` (adjusted weekend workdays such as
    China's 调休). Shifts cannot cross midnight. Intervals are precomputed for
    ``horizon_days`` (plus a margin) and extended lazily for later queries.
    """

    def __init__(
        self,
        start: datetime,
        *,
        weekdays: Iterable[int] = (0, 1, 2, 3, 4),
        day_start: time = time(9),
        day_end: time = time(18),
        holidays: Iterable[date] = (),
        extra_working_dates: Iterable[date] = (),
        horizon_days: float = 400.0,
    ) -> None:
        super().__init__(start)
        self.weekdays = frozenset(_check_weekday(day) for day in weekdays)
        if not (isinstance(day_start, time) and isinstance(day_end, time)):
            raise ConfigError(f"day_start/day_end must be times, got {day_start!r}/{day_end!r}")
        if not day_start < day_end:
            raise ConfigError(f"day_end {day_end} must be after day_start {day_start}")
        if not 0.0 < horizon_days <= _MAX_DAYS:
            raise ConfigError(f"horizon_days {horizon_days!r} must be in (0, {_MAX_DAYS:g}]")
        self.day_start, self.day_end = day_start, day_end
        self.holidays = frozenset(holidays)
        self.extra_working_dates = frozenset(extra_working_dates)
        if not self.weekdays and not self.extra_working_dates:
            raise ConfigError("calendar has no working time: no weekdays, no extra working dates")
        self._build(horizon_days + _MARGIN_DAYS)

    def is_working_date(self, day: date) -> bool:
        """Whether *day* is a working day: the working-day rule of the class docstring."""
        if day in self.extra_working_dates:
            return True
        return day.weekday() in self.weekdays and day not in self.holidays

    def _build(self, days: float) -> None:
        """(Re)compute the intervals of all dates from the start date to ``start + days``.

        Invariants: ``starts[i] < ends[i] < starts[i + 1]``, all >= 0; ``cum[i]`` is the
        working time before interval ``i`` (``len(cum) == len(starts) + 1``), summed
        sequentially, so a rebuild keeps every known prefix bit-identical.
        """
        spans: list[tuple[float, float]] = []
        flags: list[bool] = []  # flags[d]: whether the d-th date from the start date works
        day, last = self.start.date(), (self.start + timedelta(days=days)).date()
        while day <= last:
            flags.append(self.is_working_date(day))
            if flags[-1]:
                lo = max(self.hours_at(datetime.combine(day, self.day_start)), 0.0)
                hi = self.hours_at(datetime.combine(day, self.day_end))
                if hi > lo:  # the start may fall inside or after the first day's shift
                    spans.append((lo, hi))
            day += timedelta(days=1)
        table = np.array(spans, dtype=float).reshape(-1, 2)
        self._starts, self._ends = table[:, 0].copy(), table[:, 1].copy()
        self._cum = np.concatenate(([0.0], np.cumsum(self._ends - self._starts)))
        # The same values as Python floats, for the per-query bisection (hot path).
        self._start_list: list[float] = self._starts.tolist()
        self._end_list: list[float] = self._ends.tolist()
        self._cum_list: list[float] = self._cum.tolist()
        self._last_end = float(self._ends[-1]) if spans else -math.inf  # cached for speed
        self._days = days
        self._day_flags = flags
        self._day0 = self.clock.day0  # day d begins at _day0 + 24 d
        # Without working weekdays nothing can follow the last extra working date.
        self._final = not self.weekdays and last >= max(self.extra_working_dates)

    def _extend(self) -> None:
        """Double the precomputed range; ValueError beyond ``_MAX_DAYS``."""
        if self._days >= _MAX_DAYS:
            raise ValueError(f"calendar query beyond {_MAX_DAYS:g} days after {self.start}")
        self._build(min(2.0 * self._days, _MAX_DAYS))

    def _index(self, t: float, *, strict: bool = False) -> int:
        """Index ``i`` of the first interval ending after ``t``; working iff starts[i] <= t.

        Extends the arrays until that interval is known. If the calendar has no more work,
        raises ConfigError when ``strict``, else returns ``len(starts)``.
        """
        _check(t)
        while self._last_end <= t:
            if self._final:
                if strict:
                    raise ConfigError(f"calendar has no working time after {self.datetime_at(t)}")
                break
            self._extend()
        return bisect_right(self._end_list, t)

    def _worked(self, t: float) -> float:
        """Working hours in ``[0, t)``; monotone non-decreasing in ``t`` (also in floats)."""
        i = self._index(t)
        starts = self._start_list
        if i < len(starts) and starts[i] < t:
            return float(self._cum_list[i] + (t - starts[i]))
        return self._cum_list[i]

    def is_working(self, t: float) -> bool:
        """Whether ``t`` lies inside a shift ``[shift_start, shift_end)``."""
        i = self._index(t)
        starts = self._start_list
        return i < len(starts) and starts[i] <= t

    def is_working_day(self, t: float) -> bool:
        """Whether the calendar date of ``t`` is a working day."""
        d = int((_check(t) - self._day0) // 24.0)
        while d >= len(self._day_flags):
            self._extend()
        return self._day_flags[d]

    def next_working(self, t: float) -> float:
        """``t`` if working, else the next shift start; ConfigError if there is none."""
        i = self._index(t, strict=True)
        return max(t, self._start_list[i])

    def working_interval(self, t: float) -> tuple[float, float]:
        """``(start, end)`` of the shift containing ``t``, else of the next shift
        (ConfigError if there is none)."""
        i = self._index(t, strict=True)
        return self._start_list[i], self._end_list[i]

    def shift_end(self, t: float) -> float:
        """End of the shift containing ``t``; ValueError if ``t`` is not working."""
        i = self._index(t)
        if not (i < len(self._start_list) and self._start_list[i] <= t):
            raise ValueError(f"t={t!r} ({self.datetime_at(t)}) is not working time")
        return self._end_list[i]

    def add_working_hours(self, t: float, hours: float) -> float:
        """Earliest ``t' >= t`` with ``hours`` of working time in ``[t, t')``.

        Monotone non-decreasing in ``t``: the target ``_worked(t) + hours`` is monotone,
        and so is its inverse below, because shifts are separated by non-working gaps.
        A target at a shift's end yields that end, not the next shift's start.
        """
        if _check(hours, "hours") == 0.0:
            return self.next_working(t)
        target = self._worked(t) + hours
        while self._cum_list[-1] < target:
            if self._final:
                raise ConfigError(f"calendar has no working time after {self.datetime_at(t)}")
            self._extend()
        cum = self._cum_list
        j = bisect_left(cum, target, 1) - 1  # first interval whose end is >= target
        return max(t, float(self._start_list[j] + (target - cum[j])))

    def working_hours_between(self, t0: float, t1: float) -> float:
        """Working time in ``[t0, t1)``; 0 if ``t1 <= t0``."""
        if _check(t1) <= _check(t0):
            return 0.0
        return self._worked(t1) - self._worked(t0)


def public_holidays(
    country: str, years: Iterable[int], subdiv: str | None = None
) -> tuple[set[date], set[date]]:
    """(holidays, adjusted weekend working days) from the ``holidays`` package.

    The working days come from the table's ``weekend_workdays`` (China has them), limited
    to ``years``; empty for countries without. Unknown country or subdivision: ConfigError.
    """
    import holidays as holidays_pkg  # imported lazily: it is slow to import

    wanted = sorted(set(years))
    try:
        table = holidays_pkg.country_holidays(country, subdiv=subdiv, years=wanted)
    except NotImplementedError:
        if subdiv is not None and country in holidays_pkg.list_supported_countries():
            raise ConfigError(
                f"unknown holiday subdivision {subdiv!r} for country {country!r}"
            ) from None
        raise ConfigError(f"unknown holiday country {country!r}") from None
    workdays = {day for day in getattr(table, "weekend_workdays", ()) if day.year in wanted}
    return set(table), workdays


def working_dates(
    country: str | None,
    years: Iterable[int],
    subdiv: str | None = None,
    *,
    holidays: Iterable[date] = (),
    extra_working_dates: Iterable[date] = (),
) -> tuple[set[date], set[date]]:
    """(days off, adjusted working days) of a calendar: *holidays* plus the public holidays
    of *country* in *years* (none without a country), and *extra_working_dates* plus the
    country's adjusted weekend workdays, minus the days off (a day off always wins)."""
    days_off, working = set(holidays), set(extra_working_dates)
    if country:
        public, adjusted = public_holidays(country, years, subdiv)
        days_off |= public
        working |= adjusted
    return days_off, working - days_off


class WorkingDays:
    """Working dates from *first* on: a Monday-Friday :class:`ShiftCalendar` with the
    public holidays and adjusted workdays of *country* (None: weekends only), by date."""

    def __init__(self, first: date, last: date, country: str | None = "CN") -> None:
        if last < first:
            raise ValueError(f"last {last} is before first {first}")
        holidays, extra = working_dates(country, range(first.year, last.year + 2))
        self.first = first
        self.calendar = ShiftCalendar(
            datetime.combine(first, time()),
            holidays=holidays,
            extra_working_dates=extra,
            horizon_days=(last - first).days + 60,
        )

    def is_working(self, day: date) -> bool:
        """Whether *day* is a working day (not a weekend or holiday, or an adjusted workday)."""
        return self.calendar.is_working_date(day)

    def nth_of_month(self, year: int, month: int, n: int) -> date:
        """The *n*-th working day of the month (1-based)."""
        if n < 1:
            raise ValueError(f"working day number must be >= 1, got {n!r}")
        day, seen = date(year, month, 1), 0
        while True:
            if self.is_working(day):
                seen += 1
                if seen == n:
                    return day
            day += timedelta(days=1)

    def add(self, day: date, n: int) -> date:
        """The *n*-th working day after *day* (*day* itself excluded; n=0: *day*)."""
        while n > 0:
            day += timedelta(days=1)
            n -= self.is_working(day)
        return day

    def between(self, start: date, end: date) -> int:
        """Working days in ``(start, end]``."""
        days = range(1, (end - start).days + 1)
        return sum(self.is_working(start + timedelta(days=k)) for k in days)
