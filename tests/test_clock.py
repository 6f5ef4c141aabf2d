"""The simulation clock: one conversion between clock hours and wall-clock time."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sim.errors import ConfigError
from sim.world.calendars import ShiftCalendar
from sim.world.clock import SimClock

START = dt.datetime(2026, 3, 4, 9, 30)  # a Wednesday


def test_scalar_conversions_are_inverse():
    clock = SimClock(START)
    assert clock.datetime_at(0.0) == START
    assert clock.datetime_at(14.5) == dt.datetime(2026, 3, 5, 0, 0)
    assert clock.hours_at(dt.datetime(2026, 3, 5)) == 14.5
    assert clock.hours_at_date(dt.date(2026, 3, 5)) == 14.5
    assert clock.date_at(14.49) == dt.date(2026, 3, 4)
    assert clock.day0 == -9.5
    assert clock.week_hour == 2 * 24 + 9.5


def test_columns_match_scalars_and_invert():
    clock = SimClock(START)
    t = np.array([0.0, 1.25, 14.5, 1000.0 / 3])
    stamps = clock.timestamps(t)
    assert list(stamps[:3]) == [pd.Timestamp(clock.datetime_at(x)) for x in t[:3]]
    np.testing.assert_allclose(clock.hours_of(stamps), t, rtol=0, atol=1e-12)
    series = clock.timestamps(pd.Series(t, index=[5, 6, 7, 8], name="arrived_t"))
    assert list(series.index) == [5, 6, 7, 8] and series.name == "arrived_t"


def test_calendars_use_the_clock():
    calendar = ShiftCalendar(START)
    assert calendar.clock.start == START
    assert calendar.datetime_at(3.0) == calendar.clock.datetime_at(3.0)
    assert calendar.hours_at(dt.datetime(2026, 3, 6)) == calendar.clock.hours_at(
        dt.datetime(2026, 3, 6)
    )


def test_start_must_be_naive_datetime():
    with pytest.raises(ConfigError, match="naive datetime"):
        SimClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(ConfigError, match="naive datetime"):
        SimClock(dt.date(2026, 1, 1))
