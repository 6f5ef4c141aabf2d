"""Lead arrival times on the simulation clock.

A fixed schedule (hand-built cases); a homogeneous Poisson process when the scenario
gives a constant rate; otherwise a non-homogeneous one whose rate is piecewise constant
per hour of the week, sampled exactly by thinning (Lewis & Shedler): candidates at the
peak rate, each kept with probability ``rate(t) / peak``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np

from sim.world.scenario import ArrivalProcess, ReplayArrivals, ScheduledArrivals

__all__ = ["arrival_times"]

_BLOCK = 4096


def _hour_of_week(start: dt.datetime) -> float:
    """Hours from Monday 00:00 to *start*."""
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    return start.weekday() * 24 + (start - midnight).total_seconds() / 3600


def arrival_times(
    process: ArrivalProcess, start: dt.datetime, rng: np.random.Generator
) -> Iterator[float]:
    """Yield increasing arrival times (hours since *start*), without end."""
    if isinstance(process, ScheduledArrivals):
        yield from process.at_hours
        return
    if isinstance(process, ReplayArrivals):  # imported leads (sim.history.replay)
        from sim.history.replay import replay_times

        yield from replay_times(process, start)
        return
    rates = process.hourly_rates()
    if rates is None:
        yield from _homogeneous(process.mean_rate, rng)
    else:
        yield from _thinned(np.asarray(rates), _hour_of_week(start), rng)


def _homogeneous(rate: float, rng: np.random.Generator) -> Iterator[float]:
    t = 0.0
    while True:
        for gap in rng.exponential(1.0 / rate, _BLOCK).tolist():
            t += gap
            yield t


def _thinned(rates: np.ndarray, offset: float, rng: np.random.Generator) -> Iterator[float]:
    peak = float(rates.max())
    keep_prob = (rates / peak).tolist()
    t = 0.0
    while True:
        gaps = rng.exponential(1.0 / peak, _BLOCK).tolist()
        coins = rng.random(_BLOCK).tolist()
        for gap, coin in zip(gaps, coins, strict=True):
            t += gap
            if coin < keep_prob[int(t + offset) % 168]:
                yield t
