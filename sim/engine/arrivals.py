"""Lead arrival times on the simulation clock.

A fixed schedule (hand-built cases); a homogeneous Poisson process when the scenario
gives a constant rate; otherwise a non-homogeneous one whose rate is piecewise constant
per hour of the week, sampled exactly by thinning (Lewis & Shedler): candidates at the
peak rate, each kept with probability ``rate(t) / peak``.

Arrivals the engine does not draw (a ``replay`` of imported leads) come from an
:class:`ArrivalSource` registered under the arrival process's name with
:func:`register_arrival_source`; the engine never imports who provides it.  The
``replay`` source is :class:`sim.history.replay.ReplaySource`, registered by the
``sim`` package itself (``sim/__init__.py``) so that every run sees it.  That
registration is deferred with :func:`defer_arrival_sources`: it runs the first time the
registry is used (:func:`arrival_source`, or ``ARRIVAL_SOURCES`` read from outside), so
importing the package does not import who provides the sources.  This module imports
little at load (the scenario models and the clock inside the functions), because
``sim/__init__.py`` imports it on every start.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from sim.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

    from sim.world.scenario import ArrivalProcess

__all__ = [
    "ARRIVAL_SOURCES",
    "ArrivalSource",
    "arrival_source",
    "arrival_times",
    "register_arrival_source",
]


class ArrivalSource(Protocol):
    """Arrivals the engine does not draw itself: their times and the leads that arrive."""

    def times(self) -> Iterable[float]:
        """Increasing arrival times, hours since the scenario start."""
        ...

    def lead_factory(self, factory: Any) -> Any:
        """The factory of the arriving leads, given the run's drawing one (the n-th
        lead drawn arrives at the n-th time)."""
        ...


_SOURCES: dict[str, Callable[[Any, dt.datetime], ArrivalSource]] = {}
"""Arrival process name -> ``build(process, start)`` of its :class:`ArrivalSource`
(read it as ``ARRIVAL_SOURCES``, which first runs the deferred registrations)."""

_DEFERRED: list[Callable[[], None]] = []

if TYPE_CHECKING:  # at run time, ARRIVAL_SOURCES is served by __getattr__ below
    ARRIVAL_SOURCES = _SOURCES


def register_arrival_source(
    process: str, build: Callable[[Any, dt.datetime], ArrivalSource]
) -> None:
    """Make *build* the source of arrival processes named *process* (e.g. ``replay``)."""
    _SOURCES[process] = build


def defer_arrival_sources(register: Callable[[], None]) -> None:
    """Call *register* (which calls :func:`register_arrival_source`) once, the first time
    the registry is used, instead of now: a provider need not be imported until a run
    looks a source up."""
    _DEFERRED.append(register)


def _registry() -> dict[str, Callable[[Any, dt.datetime], ArrivalSource]]:
    """The registry, after the deferred registrations (each runs once)."""
    while _DEFERRED:
        _DEFERRED.pop(0)()
    return _SOURCES


def __getattr__(name: str) -> Any:
    if name == "ARRIVAL_SOURCES":  # the registry as others see it: always complete
        return _registry()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def arrival_source(process: ArrivalProcess, start: dt.datetime) -> ArrivalSource | None:
    """The registered source of *process*, or None for the processes drawn here."""
    from sim.world.scenario import PoissonArrivals, ScheduledArrivals

    if isinstance(process, PoissonArrivals | ScheduledArrivals):
        return None
    sources = _registry()
    build = sources.get(process.process)
    if build is None:
        known = ", ".join(sorted(sources)) or "none"
        raise ConfigError(
            f"arrivals: no source registered for process {process.process!r} (known: {known})"
        )
    return build(process, start)


_BLOCK = 4096


def _hour_of_week(start: dt.datetime) -> float:
    """Hours from Monday 00:00 to *start*."""
    from sim.world.clock import SimClock

    return SimClock(start).week_hour


def arrival_times(
    process: ArrivalProcess, start: dt.datetime, rng: np.random.Generator
) -> Iterator[float]:
    """Yield increasing arrival times (hours since *start*), without end, of a drawn
    (Poisson) or scheduled process."""
    import numpy as np

    from sim.world.scenario import ScheduledArrivals

    if isinstance(process, ScheduledArrivals):
        yield from process.at_hours
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
