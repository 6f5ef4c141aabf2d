"""Building the run-time team (reps with calendars and touch-time samplers)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator

from sim.engine.entities import Rep
from sim.errors import ConfigError
from sim.world.calendars import AlwaysOpen, ShiftCalendar, WorkCalendar, working_dates
from sim.world.clock import SimClock
from sim.world.distributions import Sampler
from sim.world.randomness import Streams
from sim.world.scenario import WEEKDAYS, CalendarSpec, Scenario

__all__ = ["build_calendar", "build_team", "leave_starts"]

_MARGIN_DAYS = 60  # SLA deadlines and touches may run past the horizon


def build_calendar(
    spec: CalendarSpec,
    start: dt.datetime,
    horizon_days: float,
    leave: Iterable[tuple[dt.date, dt.date]] = (),
) -> WorkCalendar:
    """The working calendar described by *spec* for a run starting at *start*.

    *leave* (inclusive date ranges) adds days off for one rep on top of the calendar.
    """
    if spec.kind == "always":
        return AlwaysOpen(start)
    days = horizon_days + _MARGIN_DAYS
    end = start + dt.timedelta(days=days)
    holidays, extra_working = working_dates(
        spec.holidays.country,
        range(start.year, end.year + 1),
        spec.holidays.subdiv,
        holidays=[*spec.holidays.extra, *_days_of(leave)],
        extra_working_dates=spec.holidays.extra_working_dates,
    )
    return ShiftCalendar(
        start,
        weekdays=[WEEKDAYS.index(day) for day in spec.weekdays],
        day_start=spec.hours[0],
        day_end=spec.hours[1],
        holidays=holidays,
        extra_working_dates=extra_working,
        horizon_days=days,
    )


def _days_of(ranges: Iterable[tuple[dt.date, dt.date]]) -> Iterator[dt.date]:
    for first, last in ranges:
        for offset in range((last - first).days + 1):
            yield first + dt.timedelta(days=offset)


def leave_starts(
    team_calendar: WorkCalendar, leave: Iterable[tuple[dt.date, dt.date]], horizon: float
) -> tuple[float, ...]:
    """Clock values (midnights, ``0 < t < horizon``) at which the rep's leave begins.

    A leave begins on a leave day that is a working day of *team_calendar* and whose
    previous working day of that calendar is not a leave day: leave that covers only days
    off begins nothing, and a week off after a weekend begins on the Monday.
    """
    days = set(_days_of(leave))
    first_day = team_calendar.start.date()

    def midnight(day: dt.date) -> float:
        return team_calendar.hours_at(dt.datetime.combine(day, dt.time()))

    def working(day: dt.date) -> bool:  # a day on or after the start date
        return team_calendar.is_working_day(max(midnight(day), 0.0))

    starts = []
    for day in sorted(days):
        t = midnight(day)
        if not 0.0 < t < horizon or not working(day):
            continue
        previous = day - dt.timedelta(days=1)
        while previous >= first_day and not working(previous):
            previous -= dt.timedelta(days=1)
        if previous not in days:  # also when no working day precedes it in the run
            starts.append(t)
    return tuple(starts)


def build_team(scenario: Scenario, streams: Streams) -> list[Rep]:
    """One :class:`Rep` per team member, in file order.

    Calendars are shared by name; a rep with leave gets a calendar of their own (and a
    calendar key of their own, so SLA deadlines stay FIFO per calendar), and keeps the
    shared one as its team calendar (the default SLA clock) with the times its leave
    begins (where the SLA breaker reclaims the rep's untouched leads).
    """
    calendars = {
        name: build_calendar(spec, scenario.start, scenario.horizon_days)
        for name, spec in scenario.calendars.items()
    }
    fifo = scenario.team.queue_discipline == "fifo"
    clock = SimClock(scenario.start)
    reps = []
    for index, spec in enumerate(scenario.team.members()):
        hire_t = -math.inf
        if spec.hire_date is not None:
            hire_t = clock.hours_at_date(spec.hire_date)
        calendar, key = calendars[spec.calendar], spec.calendar
        team_calendar, starts = calendar, ()
        if spec.leave:
            cal_spec = scenario.calendars[spec.calendar]
            if cal_spec.kind == "always":
                raise ConfigError(
                    f"team: rep {spec.id!r} has leave but calendar {spec.calendar!r} is "
                    "'always' (24/7); give the rep a shift calendar"
                )
            calendar = build_calendar(cal_spec, scenario.start, scenario.horizon_days, spec.leave)
            key = f"{spec.calendar}+leave:{spec.id}"
            starts = leave_starts(team_calendar, spec.leave, scenario.horizon_hours)
        rep = Rep(
            index=index,
            rep_id=spec.id,
            region=spec.region,
            hire_t=hire_t,
            calendar=calendar,
            calendar_key=key,
            max_open=spec.max_open_leads or 2**62,
            fifo=fifo,
            close_cycle_days=spec.close_cycle_days,
            opt_out=spec.opt_out,
            strength=spec.strength,
            claim_filters=spec.claim_filters,
            claim_ahead=spec.claim_ahead,
            team_calendar=team_calendar,
            team_calendar_key=spec.calendar,
            leave_starts=starts,
        )
        rep.touch = Sampler(spec.touch_time, streams.get(f"rep.{spec.id}.touch_time"))
        reps.append(rep)
    return reps
