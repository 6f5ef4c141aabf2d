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

**Who really got each lead.**  When the export says (:func:`historical_reps`: the leads
table's ``rep_id`` column, a lead's owner, or else the rep of the lead's first deal in
``opportunities.parquet`` next to the leads file), each such replayed lead is a
:class:`ReplayedLead` carrying ``historical_rep``, which the pure
:mod:`policies.historical_assignment` router reads; other routers ignore it, so runs under
them are unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

import pandas as pd

from sim.engine.entities import Lead
from sim.engine.lead_factory import MISSABLE_FIELDS
from sim.errors import DataError
from sim.io.atomic import require_complete_file
from sim.world.clock import SimClock
from sim.world.lead_attributes import ATTRIBUTE_NAMES, FLAGS, NUMBERS
from sim.world.scenario import ReplayArrivals

__all__ = [
    "ReplayLeadFactory",
    "ReplaySource",
    "ReplayedLead",
    "historical_reps",
    "replay_span",
    "replay_table",
    "replay_times",
]

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


@lru_cache(maxsize=8)
def _deal_reps(path: str, mtime_ns: int, size: int) -> pd.Series:
    try:
        opps = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read table ({exc.__class__.__name__})") from None
    if not {"lead_id", "rep_id"} <= set(opps.columns):
        return pd.Series(dtype=object)
    opps = opps[opps["lead_id"].notna() & opps["rep_id"].notna()]
    order = [c for c in ("created", "closed") if c in opps.columns]
    if order:  # the first deal of each lead; undated deals last, ties in file order
        opps = opps.sort_values(order, kind="stable", na_position="last")
    first = opps.drop_duplicates("lead_id")
    return pd.Series(first["rep_id"].astype(str).to_numpy(), index=first["lead_id"].astype(str))


def historical_reps(path: str | Path) -> pd.Series:
    """Who really got each lead of the leads table at *path*: ``lead_id -> rep_id``.

    A lead's owner (the table's own ``rep_id`` column) where given, else the rep of the
    lead's first deal (earliest ``created``, else ``closed``) in ``opportunities.parquet``
    of the same folder.  Leads the export says nothing about are absent.
    """
    path = Path(path)
    stat = path.stat()
    leads = _read(str(path), stat.st_mtime_ns, stat.st_size)
    owners = pd.Series(dtype=object)
    if "rep_id" in leads.columns:
        given = leads[leads["rep_id"].notna()]
        owners = pd.Series(
            given["rep_id"].astype(str).to_numpy(), index=given["lead_id"].astype(str)
        )
    opps = path.with_name("opportunities.parquet")
    if opps.is_file():
        o = opps.stat()
        deals = _deal_reps(str(opps), o.st_mtime_ns, o.st_size)
        owners = pd.concat([owners, deals[~deals.index.isin(owners.index)]])
    return owners[~owners.index.duplicated()]


def replay_table(path: str | Path, start: dt.datetime) -> pd.DataFrame:
    """Imported leads arriving at or after *start*, in arrival order, with ``t`` (hours)
    and ``historical_rep`` (see :func:`historical_reps`; None where not known)."""
    path = Path(path)
    require_complete_file(path)  # not from a half-written import folder
    stat = path.stat()
    frame = _read(str(path), stat.st_mtime_ns, stat.st_size)
    frame = frame[frame["arrived"] >= pd.Timestamp(start)]
    owners = historical_reps(path) if "lead_id" in frame.columns else pd.Series(dtype=object)
    reps = frame["lead_id"].astype(str).map(owners) if len(owners) else None
    return frame.assign(
        t=SimClock(start).hours_of(frame["arrived"]),
        historical_rep=[None if pd.isna(r) else r for r in reps] if reps is not None else None,
    ).reset_index(drop=True)


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


@dataclass(slots=True, eq=False)
class ReplayedLead(Lead):
    """A replayed lead that also knows who really got it (``historical_rep``: a rep id)."""

    historical_rep: str | None = None


_LEAD_FIELDS = tuple(f.name for f in fields(Lead))


class ReplayLeadFactory:
    """A :class:`~sim.engine.lead_factory.LeadFactory` whose leads carry the imported attributes.

    The n-th lead drawn is the n-th replayed row (the engine draws one lead per arrival
    time of :func:`replay_times`, in order).
    """

    def __init__(self, factory, process: ReplayArrivals, start: dt.datetime) -> None:
        self._factory = factory
        table = replay_table(process.replay, start)
        self._rows = _overrides(table)
        self._owners = table["historical_rep"].tolist()
        self._next = 0

    def draw(self, now: float):
        """The next lead, drawn, then given the imported attributes of its row (and, as a
        :class:`ReplayedLead`, its historical rep when the export names one)."""
        lead = self._factory.draw(now)
        i = self._next
        if i < len(self._rows):
            for name, value in self._rows[i].items():
                setattr(lead, name, value)
            owner = self._owners[i]
            if owner is not None:
                lead = ReplayedLead(*(getattr(lead, f) for f in _LEAD_FIELDS), owner)
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
