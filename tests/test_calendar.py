"""Tests of sim.world.calendars: hand-computed examples plus Hypothesis properties.

Most examples start on Monday 2026-01-05 00:00 with a Mon-Fri 09:00-18:00 shift, so
Monday's shift is [9, 18), Tuesday's [33, 42), Friday's [105, 114), the next Monday's
[177, 186) on the simulation clock (hours since the start).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.errors import ConfigError, WorkbenchError
from sim.world.calendars import AlwaysOpen, ShiftCalendar, WorkCalendar, public_holidays

MON = datetime(2026, 1, 5)  # a Monday


@pytest.fixture
def cal() -> ShiftCalendar:
    return ShiftCalendar(MON)


# --- hand-computed examples -------------------------------------------------------------


def test_half_open_shift_boundaries(cal: ShiftCalendar) -> None:
    assert not cal.is_working(0.0)
    assert not cal.is_working(8.99)
    assert cal.is_working(9.0)
    assert cal.is_working(17.99)
    assert not cal.is_working(18.0)
    assert cal.is_working(33.0)


def test_next_working(cal: ShiftCalendar) -> None:
    assert cal.next_working(0.0) == 9.0
    assert cal.next_working(10.5) == 10.5
    assert cal.next_working(18.0) == 33.0  # at the shift end: next day's start
    assert cal.next_working(20.0) == 33.0  # Tue 09:00
    assert cal.next_working(5 * 24 + 10) == 177.0  # Saturday -> Monday 09:00


def test_shift_end(cal: ShiftCalendar) -> None:
    assert cal.shift_end(9.0) == 18.0
    assert cal.shift_end(17.5) == 18.0
    with pytest.raises(ValueError, match="not working"):
        cal.shift_end(18.0)


def test_add_working_hours_over_weekend(cal: ShiftCalendar) -> None:
    friday_17 = 4 * 24 + 17.0
    monday_10 = 7 * 24 + 10.0
    assert cal.add_working_hours(friday_17, 2.0) == monday_10
    assert cal.datetime_at(monday_10) == datetime(2026, 1, 12, 10)


def test_add_working_hours_edges(cal: ShiftCalendar) -> None:
    assert cal.add_working_hours(9.0, 9.0) == 18.0  # lands on the shift end, not 33
    assert cal.add_working_hours(9.0, 10.0) == 34.0
    assert cal.add_working_hours(0.0, 1.0) == 10.0  # starts counting at the next shift
    assert cal.add_working_hours(10.0, 0.0) == 10.0
    assert cal.add_working_hours(18.0, 0.0) == 33.0
    assert cal.add_working_hours(0.0, 45.0) == 4 * 24 + 18.0  # one full week -> Fri 18:00


def test_working_hours_between_across_weekend(cal: ShiftCalendar) -> None:
    friday_12, monday_12 = 4 * 24 + 12.0, 7 * 24 + 12.0
    assert cal.working_hours_between(friday_12, monday_12) == 6.0 + 3.0
    assert cal.working_hours_between(0.0, 7 * 24) == 45.0
    assert cal.working_hours_between(10.0, 10.0) == 0.0
    assert cal.working_hours_between(20.0, 10.0) == 0.0


def test_is_working_day(cal: ShiftCalendar) -> None:
    assert cal.is_working_day(0.0)  # Monday 00:00, outside the shift but a working day
    assert cal.is_working_day(4 * 24 + 23.5)  # Friday night
    assert not cal.is_working_day(5 * 24 + 10)  # Saturday


def test_holiday_is_skipped() -> None:
    cal = ShiftCalendar(MON, holidays=[date(2026, 1, 6)])  # Tuesday off
    assert not cal.is_working(24 + 10.0)
    assert not cal.is_working_day(24 + 10.0)
    assert cal.next_working(18.0) == 2 * 24 + 9.0  # Wednesday 09:00
    assert cal.working_hours_between(0.0, 3 * 24) == 18.0
    assert cal.add_working_hours(17.0, 2.0) == 2 * 24 + 10.0


def test_extra_working_saturday_is_used() -> None:
    cal = ShiftCalendar(MON, extra_working_dates=[date(2026, 1, 10)])
    saturday_10 = 5 * 24 + 10.0
    assert cal.is_working(saturday_10)
    assert cal.is_working_day(saturday_10)
    assert cal.add_working_hours(4 * 24 + 17.0, 2.0) == saturday_10
    assert cal.working_hours_between(0.0, 7 * 24) == 54.0


def test_extra_working_date_beats_holiday() -> None:
    day = date(2026, 1, 7)
    cal = ShiftCalendar(MON, holidays=[day], extra_working_dates=[day])
    assert cal.is_working(2 * 24 + 9.0)


def test_custom_hours_and_weekdays() -> None:
    cal = ShiftCalendar(MON, weekdays=[5, 6], day_start=time(8, 30), day_end=time(12, 15))
    assert cal.next_working(0.0) == 5 * 24 + 8.5  # Saturday 08:30
    assert cal.shift_end(5 * 24 + 9.0) == 5 * 24 + 12.25
    assert cal.working_hours_between(0.0, 7 * 24) == 7.5


def test_start_inside_a_shift() -> None:
    cal = ShiftCalendar(datetime(2026, 1, 5, 12))
    assert cal.is_working(0.0)
    assert cal.shift_end(0.0) == 6.0
    assert cal.next_working(6.0) == 21.0  # Tuesday 09:00
    assert cal.working_hours_between(0.0, 24.0) == 6.0 + 3.0  # Mon 12-18, Tue 9-12
    assert cal.add_working_hours(0.0, 7.0) == 22.0


def test_datetime_round_trip(cal: ShiftCalendar) -> None:
    assert cal.datetime_at(33.0) == datetime(2026, 1, 6, 9)
    assert cal.hours_at(datetime(2026, 1, 6, 9)) == 33.0
    assert cal.hours_at(datetime(2026, 1, 4, 12)) == -12.0  # before the start is fine
    assert cal.datetime_at(-12.0) == datetime(2026, 1, 4, 12)


def test_lazy_extension_beyond_horizon() -> None:
    small = ShiftCalendar(MON, horizon_days=10.0)
    big = ShiftCalendar(MON, horizon_days=1200.0)
    t = 24 * 1000.0  # day 1000 = 2028-10-01, a Sunday (1000 = 142 weeks + 6 days)
    assert small.datetime_at(t) == datetime(2028, 10, 1)
    assert small.next_working(t) == t + 24 + 9  # Monday 2028-10-02 09:00
    # Days 0..999: 142 weeks plus Mon..Sat -> 715 working days of 9 hours.
    assert small.working_hours_between(0.0, t) == 715 * 9.0
    assert small.add_working_hours(0.0, 715 * 9.0) == t - 2 * 24 + 18  # Friday 18:00
    for q in (0.0, 9.5, 5000.25, t, t + 33.3):
        assert small.next_working(q) == big.next_working(q)
        assert small.working_hours_between(0.0, q) == big.working_hours_between(0.0, q)
        assert small.add_working_hours(q, 100.0) == big.add_working_hours(q, 100.0)


def test_queries_beyond_a_century_are_refused(cal: ShiftCalendar) -> None:
    with pytest.raises(ValueError, match="beyond"):
        cal.next_working(24 * 40_000.0)


def test_calendar_that_runs_out_of_work() -> None:
    cal = ShiftCalendar(MON, weekdays=(), extra_working_dates=[date(2026, 1, 10)])
    assert cal.next_working(0.0) == 5 * 24 + 9.0
    assert cal.working_hours_between(0.0, 1000.0) == 9.0
    assert not cal.is_working(500.0)
    with pytest.raises(ConfigError, match="no working time"):
        cal.next_working(5 * 24 + 18.0)
    assert cal.working_interval(0.0) == (5 * 24 + 9.0, 5 * 24 + 18.0)
    with pytest.raises(ConfigError, match="no working time"):
        cal.working_interval(5 * 24 + 18.0)
    with pytest.raises(ConfigError, match="no working time"):
        cal.add_working_hours(0.0, 10.0)
    assert cal.add_working_hours(0.0, 9.0) == 5 * 24 + 18.0


def test_no_working_days_at_all() -> None:
    with pytest.raises(ConfigError, match="no working time"):
        ShiftCalendar(MON, weekdays=())
    past = ShiftCalendar(MON, weekdays=(), extra_working_dates=[date(2025, 1, 1)])
    with pytest.raises(ConfigError, match="no working time"):
        past.next_working(0.0)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"day_start": time(18), "day_end": time(9)}, "09:00:00"),
        ({"day_start": time(9), "day_end": time(9)}, "09:00:00"),
        ({"day_start": "09:00"}, "'09:00'"),
        ({"weekdays": [0, 7]}, "weekday 7"),
        ({"weekdays": [-1]}, "weekday -1"),
        ({"weekdays": [True]}, "weekday True"),
        ({"horizon_days": 0.0}, "horizon_days 0.0"),
    ],
)
def test_bad_specs_raise_config_error(kwargs: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        ShiftCalendar(MON, **kwargs)  # type: ignore[arg-type]


def test_start_must_be_naive_datetime() -> None:
    with pytest.raises(ConfigError, match="naive"):
        ShiftCalendar(datetime(2026, 1, 5, tzinfo=UTC))
    with pytest.raises(ConfigError, match="naive"):
        AlwaysOpen(date(2026, 1, 5))  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [-1.0, -1e-9, math.nan, math.inf])
def test_bad_query_times_raise_value_error(cal: ShiftCalendar, bad: float) -> None:
    for query in (cal.is_working, cal.next_working, cal.is_working_day):
        with pytest.raises(ValueError, match="time t must be finite"):
            query(bad)
    with pytest.raises(ValueError):
        cal.working_hours_between(0.0, bad)
    with pytest.raises(ValueError, match="hours"):
        cal.add_working_hours(0.0, bad)


# --- AlwaysOpen -----------------------------------------------------------------------


def test_always_open_identities() -> None:
    cal = AlwaysOpen(MON)
    assert isinstance(cal, WorkCalendar)
    for t in (0.0, 3.25, 18.0, 1e6):
        assert cal.is_working(t)
        assert cal.is_working_day(t)
        assert cal.next_working(t) == t
        assert cal.shift_end(t) == math.inf
        assert cal.working_interval(t) == (0.0, math.inf)
        assert cal.add_working_hours(t, 2.5) == t + 2.5
        assert cal.add_working_hours(t, 0.0) == t
    assert cal.working_hours_between(2.0, 7.5) == 5.5
    assert cal.working_hours_between(7.5, 2.0) == 0.0
    assert cal.datetime_at(36.0) == datetime(2026, 1, 6, 12)
    with pytest.raises(ValueError):
        cal.next_working(-1.0)


# --- public holidays --------------------------------------------------------------------


def test_china_2026_holidays_and_adjusted_workdays() -> None:
    hols, workdays = public_holidays("CN", [2026])
    assert date(2026, 10, 1) in hols  # National Day
    assert date(2026, 2, 17) in hols  # Spring Festival
    assert date(2026, 1, 1) in hols
    assert date(2026, 2, 14) in workdays and date(2026, 2, 14).weekday() == 5  # a Saturday
    assert {date(2026, 1, 4), date(2026, 2, 28)} <= workdays
    assert all(day.year == 2026 for day in hols | workdays)  # package also lists 2001...


def test_china_calendar_spring_festival() -> None:
    hols, workdays = public_holidays("CN", [2026])
    start = datetime(2026, 2, 9)  # a Monday
    cal = ShiftCalendar(start, holidays=hols, extra_working_dates=workdays)
    saturday_14 = cal.hours_at(datetime(2026, 2, 14, 10))
    assert cal.is_working(saturday_14)
    monday_16 = cal.hours_at(datetime(2026, 2, 16, 10))
    assert not cal.is_working(monday_16)
    # Feb 16-20 and 23 are holidays, 21-22 a weekend: back to work Tuesday the 24th.
    assert cal.datetime_at(cal.next_working(monday_16)) == datetime(2026, 2, 24, 9)


def test_countries_without_adjusted_workdays() -> None:
    hols, workdays = public_holidays("US", range(2026, 2028))
    assert date(2026, 7, 4) in hols and date(2027, 12, 25) in hols
    assert workdays == set()


def test_unknown_country_or_subdivision() -> None:
    with pytest.raises(ConfigError, match="unknown holiday country 'XX'"):
        public_holidays("XX", [2026])
    with pytest.raises(WorkbenchError, match="subdivision 'ZZ'"):
        public_holidays("US", [2026], subdiv="ZZ")


# --- properties -------------------------------------------------------------------------


def _naive_hours(cal: ShiftCalendar, t0: float, t1: float) -> float:
    """Working hours in [t0, t1) by walking the dates: an independent oracle."""
    total, day = 0.0, cal.datetime_at(t0).date() - timedelta(days=1)
    while day <= cal.datetime_at(t1).date():
        if day in cal.extra_working_dates or (
            day.weekday() in cal.weekdays and day not in cal.holidays
        ):
            lo = cal.hours_at(datetime.combine(day, cal.day_start))
            hi = cal.hours_at(datetime.combine(day, cal.day_end))
            total += max(0.0, min(hi, t1) - max(lo, t0))
        day += timedelta(days=1)
    return total


CALENDARS = [
    ShiftCalendar(MON),
    ShiftCalendar(
        datetime(2026, 1, 3, 13, 20),  # a Saturday afternoon
        weekdays=(0, 2, 3, 4, 5),
        day_start=time(8, 20),  # non-dyadic hours: 1/3 does not fit a float exactly
        day_end=time(17, 10),
        holidays=[date(2026, 1, 7), date(2026, 3, 2), date(2026, 12, 25)],
        extra_working_dates=[date(2026, 1, 4), date(2026, 2, 1)],
        horizon_days=3.0,  # properties also exercise the lazy extension
    ),
    ShiftCalendar(MON, weekdays=[6], day_start=time(0), day_end=time(23, 59)),
]
calendars = st.sampled_from(CALENDARS)
times = st.one_of(
    st.floats(0.0, 24 * 900.0),
    st.integers(0, 24 * 900).map(float),  # shift boundaries and midnights
    st.integers(0, 24 * 900 * 6).map(lambda k: k / 6),  # 10-minute grid
)
hours = st.one_of(st.floats(0.0, 400.0), st.integers(0, 100).map(float))


@given(calendars, times, hours)
@settings(deadline=None)
def test_add_then_measure_round_trips(cal: ShiftCalendar, t: float, h: float) -> None:
    end = cal.add_working_hours(t, h)
    assert end >= t
    assert cal.working_hours_between(t, end) == pytest.approx(h, abs=1e-9)


@given(calendars, times, times, hours)
@settings(deadline=None)
def test_add_working_hours_is_monotone(cal: ShiftCalendar, a: float, b: float, h: float) -> None:
    a, b = min(a, b), max(a, b)
    assert cal.add_working_hours(a, h) <= cal.add_working_hours(b, h)
    nudged = math.nextafter(a, math.inf)  # neighbouring floats, e.g. at shift ends
    assert cal.add_working_hours(a, h) <= cal.add_working_hours(nudged, h)


@given(calendars, times)
@settings(deadline=None)
def test_next_working_is_working(cal: ShiftCalendar, t: float) -> None:
    nxt = cal.next_working(t)
    assert nxt >= t
    assert cal.is_working(nxt)
    assert cal.working_hours_between(t, nxt) == 0.0
    assert (nxt == t) == cal.is_working(t)
    assert cal.add_working_hours(t, 0.0) == nxt
    assert cal.shift_end(nxt) > nxt


@given(calendars, times, times)
@settings(deadline=None)
def test_working_interval_answers_until_its_end(cal: ShiftCalendar, t: float, u: float) -> None:
    """The engine asks once and reuses the answer for every later time before ``end``."""
    start, end = cal.working_interval(t)
    assert start < end and end > t
    assert cal.is_working(t) == (start <= t)
    assert cal.next_working(t) == max(t, start)
    later = t + (end - t) * (u / (24 * 900.0))  # some time in [t, end)
    if later < end:
        assert cal.is_working(later) == (start <= later)
        assert cal.next_working(later) == max(later, start)
        if start <= later:
            assert cal.shift_end(later) == end


@given(calendars, times, times, times)
@settings(deadline=None)
def test_working_hours_are_additive(cal: ShiftCalendar, a: float, b: float, c: float) -> None:
    a, b, c = sorted((a, b, c))
    ab, bc = cal.working_hours_between(a, b), cal.working_hours_between(b, c)
    assert ab >= 0.0 and bc >= 0.0
    assert ab + bc == pytest.approx(cal.working_hours_between(a, c), abs=1e-9)


@given(calendars, times, st.floats(0.0, 24 * 20.0))
@settings(deadline=None)
def test_working_hours_match_naive_oracle(cal: ShiftCalendar, t0: float, span: float) -> None:
    expected = _naive_hours(cal, t0, t0 + span)
    assert cal.working_hours_between(t0, t0 + span) == pytest.approx(expected, abs=1e-9)


def test_working_days_follow_the_shift_calendar_rule() -> None:
    """One working-day rule: statement dates and shift calendars agree day by day."""
    from sim.world.calendars import ShiftCalendar, WorkingDays, working_dates

    days = WorkingDays(date(2026, 1, 1), date(2026, 12, 31), "CN")
    holidays, extra = working_dates("CN", range(2026, 2028))
    shifts = ShiftCalendar(datetime(2026, 1, 1), holidays=holidays, extra_working_dates=extra)
    for k in range(365):
        day = date(2026, 1, 1) + timedelta(days=k)
        noon = shifts.hours_at(datetime.combine(day, time(12)))
        assert days.is_working(day) == shifts.is_working_day(noon), day
    assert days.is_working(date(2026, 2, 28))  # adjusted workday (Saturday)
    assert not days.is_working(date(2026, 10, 1))  # National Day


def test_working_dates_let_a_day_off_win() -> None:
    from sim.world.calendars import working_dates

    sat = date(2026, 2, 28)
    off, extra = working_dates(None, [2026], holidays=[sat], extra_working_dates=[sat])
    assert off == {sat} and extra == set()


def test_holidays_are_read_in_one_place() -> None:
    """Only the calendar module asks the holidays package which days are off."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    users = sorted(
        str(p.relative_to(root))
        for folder in ("sim", "policies")
        for p in (root / folder).rglob("*.py")
        if "country_holidays" in p.read_text(encoding="utf-8")
    )
    assert users == ["sim/world/calendars.py"]
