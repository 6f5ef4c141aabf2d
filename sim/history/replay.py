"""Replaying imported leads: real arrival times and attributes instead of a synthetic process.

A scenario with ``arrivals: {replay: data/leads.parquet}`` (a canonical leads table
written by ``python -m sim import``) takes every lead that arrived at or after the
scenario's ``start``, in arrival order (ties: file order); the run's horizon ends the
replay.  :class:`ReplaySource` is the engine's arrival source for such a scenario:
:func:`replay_times` gives the arrival times and :class:`ReplayLeadFactory` gives each
lead the imported attributes: the lead is first
drawn as usual (so every stream draws what it would have drawn: common random numbers
hold across policies), then each attribute the table has for it overrides the drawn one.
A cell that is empty keeps the drawn value, except ``timeline_days``, which the
generator itself may leave missing: empty there means *unknown* (None), and the
policy's intake decides what happens.  ``customer_id`` values (text) become integer
codes in order of first appearance in the table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import pandas as pd

from sim.engine.lead_factory import MISSABLE_FIELDS
from sim.errors import DataError
from sim.io.atomic import require_complete_file
from sim.world.clock import SimClock
from sim.world.lead_attributes import ATTRIBUTE_NAMES, FLAGS, NUMBERS
from sim.world.scenario import ReplayArrivals

__all__ = ["ReplayLeadFactory", "ReplaySource", "replay_span", "replay_table", "replay_times"]

_FLAGS = frozenset(FLAGS)
_NUMBERS = frozenset(NUMBERS)


@lru_cache(maxsize=8)
def _read(path: str, mtime_ns: int, size: int) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read replay table ({exc.__class__.__name__})") from None
    if "arrived" not in frame:
        raise DataError(f"{path}: column 'arrived' missing (not a canonical leads table)")
    frame = frame[frame["arrived"].notna()]
    return frame.sort_values("arrived", kind="stable").reset_index(drop=True)


def replay_table(path: str | Path, start: dt.datetime) -> pd.DataFrame:
    """Imported leads arriving at or after *start*, in arrival order, with ``t`` (hours)."""
    path = Path(path)
    require_complete_file(path)  # not from a half-written import folder
    stat = path.stat()
    frame = _read(str(path), stat.st_mtime_ns, stat.st_size)
    frame = frame[frame["arrived"] >= pd.Timestamp(start)]
    return frame.assign(t=SimClock(start).hours_of(frame["arrived"])).reset_index(drop=True)


def replay_times(process: ReplayArrivals, start: dt.datetime) -> Iterator[float]:
    """Arrival times (hours since *start*) of the replayed leads, increasing."""
    yield from replay_table(process.replay, start)["t"].tolist()


def _overrides(frame: pd.DataFrame) -> list[dict]:
    """Per lead, the attributes that replace drawn ones (see the module docstring)."""
    columns = [c for c in (*ATTRIBUTE_NAMES, "customer_id") if c in frame]
    values: dict[str, list] = {}
    for name in columns:
        col = frame[name]
        if name == "customer_id":
            codes, _ = pd.factorize(col, use_na_sentinel=True)
            values[name] = [None if c < 0 else int(c) for c in codes]
        elif name in _FLAGS:
            values[name] = [None if pd.isna(v) else bool(v) for v in col.astype(object)]
        elif name in _NUMBERS:
            values[name] = [None if pd.isna(v) else float(v) for v in col.astype(object)]
        else:
            values[name] = [None if pd.isna(v) else str(v) for v in col.astype(object)]
    rows = []
    for i in range(len(frame)):
        row = {}
        for name in columns:
            value = values[name][i]
            if value is not None or name in MISSABLE_FIELDS:
                row[name] = value
        rows.append(row)
    return rows


class ReplayLeadFactory:
    """A :class:`~sim.engine.lead_factory.LeadFactory` whose leads carry the imported attributes.

    The n-th lead drawn is the n-th replayed row (the engine draws one lead per arrival
    time of :func:`replay_times`, in order).
    """

    def __init__(self, factory, process: ReplayArrivals, start: dt.datetime) -> None:
        self._factory = factory
        self._rows = _overrides(replay_table(process.replay, start))
        self._next = 0

    def draw(self, now: float):
        """The next lead, drawn, then given the imported attributes of its row."""
        lead = self._factory.draw(now)
        if self._next < len(self._rows):
            for name, value in self._rows[self._next].items():
                setattr(lead, name, value)
        self._next += 1
        return lead

    def grade(self, lead) -> None:
        """Score and grade *lead* (delegated)."""
        self._factory.grade(lead)

    def new_lead(self, now: float):
        """Draw and grade at once."""
        lead = self.draw(now)
        self.grade(lead)
        return lead


class ReplaySource:
    """The engine's :class:`~sim.engine.arrivals.ArrivalSource` for ``arrivals: {replay:
    file}``: the replayed arrival times and a :class:`ReplayLeadFactory`.

    Registered for the ``replay`` process by the ``sim`` package
    (``register_arrival_source("replay", ReplaySource)`` in ``sim/__init__.py``).
    """

    def __init__(self, process: ReplayArrivals, start: dt.datetime) -> None:
        self.process, self.start = process, start

    def times(self) -> Iterator[float]:
        """Arrival times of the replayed leads (see :func:`replay_times`)."""
        return replay_times(self.process, self.start)

    def lead_factory(self, factory) -> ReplayLeadFactory:
        """*factory* wrapped so that each lead carries its imported attributes."""
        return ReplayLeadFactory(factory, self.process, self.start)


def replay_span(path: str | Path) -> tuple[pd.Timestamp, pd.Timestamp, int]:
    """First and last arrival of an imported leads table, and its number of leads."""
    frame = _read(str(path), Path(path).stat().st_mtime_ns, Path(path).stat().st_size)
    if frame.empty:
        raise DataError(f"{path}: no leads with an arrival time")
    return frame["arrived"].min(), frame["arrived"].max(), len(frame)
