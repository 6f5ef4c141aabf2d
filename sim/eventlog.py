"""The columnar event log of a run.

Events are appended to one Python list per column (cheap in the inner loop) and turned
into a single DataFrame at the end.  Kinds are small integers while the run is going and
an ordered categorical in the frame.
"""

from __future__ import annotations

import datetime as dt
import math
from array import array
from collections.abc import Sequence
from itertools import chain

import numpy as np
import pandas as pd

from sim.columns import string_array

__all__ = ["KINDS", "EventLog", "Kind"]

KINDS = (
    "lead_arrived",
    "lead_assigned",
    "lead_pooled",
    "sla_reminder",
    "lead_reclaimed",
    "touch_started",
    "touch_completed",
    "lead_qualified",
    "lead_disqualified",
    "lead_dropped",
    "lead_posted",
    "lead_claimed",
)
"""Event kinds, in the order of their integer codes (new kinds go at the end)."""


class Kind:
    """Integer codes of :data:`KINDS` (attribute per kind, e.g. ``Kind.lead_arrived``)."""

    lead_arrived = 0
    lead_assigned = 1
    lead_pooled = 2
    sla_reminder = 3
    lead_reclaimed = 4
    touch_started = 5
    touch_completed = 6
    lead_qualified = 7
    lead_disqualified = 8
    lead_dropped = 9
    lead_posted = 10
    lead_claimed = 11


assert all(getattr(Kind, name) == code for code, name in enumerate(KINDS))

VALUE_MEANING = {
    "lead_arrived": "lead score (0..100)",
    "lead_assigned": "assignment number of the lead (1 = first)",
    "lead_pooled": "number of reps that were excluded because they lost the lead",
    "sla_reminder": "SLA step, hours after assignment",
    "lead_reclaimed": "SLA step, hours after assignment; 0 when the rep's leave began "
    "(sla.reclaim_on_leave)",
    "touch_started": "first-touch delay, calendar hours since arrival",
    "touch_completed": "touch duration, hours",
    "lead_qualified": "qualification probability used",
    "lead_disqualified": "qualification probability used",
    "lead_posted": "lead score, when posted to the self-claim marketplace",
    "lead_claimed": "1 if the claim cherry-picked the best score, 0 if it took the oldest",
    "lead_dropped": "dropped at intake: index in policies.intake.INTAKE_FIELDS of the missing "
    "required field (0 = timeline_days); the reason is the leads table's dropped_reason",
}
"""What the ``value`` column holds for each kind."""


class EventLog:
    """Append-only log of events with fields ``t`` (hours), ``kind``, ``lead``, ``rep``
    (index, -1 for none) and ``value``.

    Hot loops call :attr:`record` with a 5-tuple: it is a list's own ``append`` (no Python
    frame per event, and the cheapest append CPython has).  Tuples are moved in batches
    into one typed ``array('d')`` of five doubles per event (ids and kind codes are small
    integers, exact in a double), so memory stays at 40 bytes an event: the engine calls
    :meth:`settle` once per arrival, which moves the batch when it is large.  Order is
    preserved: the array holds the older events, the batch the newer ones.
    :meth:`frame` reshapes the buffer into one typed column per field.
    """

    __slots__ = ("_batch", "_data", "record")

    BATCH = 8192  # events kept as tuples before settle() packs them into the array

    def __init__(self) -> None:
        self._data = array("d")
        self._batch: list[tuple] = []
        self.record = self._batch.append

    def add(self, t: float, kind: int, lead: int, rep: int = -1, value: float = math.nan) -> None:
        """Record one event (rep -1 means no rep)."""
        self._batch.append((t, kind, lead, rep, value))

    def settle(self) -> None:
        """Pack the batch into the array if it has grown large (cheap to call often)."""
        if len(self._batch) >= self.BATCH:
            self._pack()

    def _pack(self) -> None:
        self._data.fromlist(list(chain.from_iterable(self._batch)))
        self._batch.clear()  # in place: ``record`` is bound to this list

    def __len__(self) -> int:
        return len(self._data) // 5 + len(self._batch)

    def frame(self, start: dt.datetime, rep_ids: Sequence[str]) -> pd.DataFrame:
        """The log as a DataFrame: t, time, kind, lead_id, rep_id, value."""
        self._pack()
        rows = np.frombuffer(self._data, dtype=np.float64).reshape(-1, 5)
        t = rows[:, 0].copy()
        rep = rows[:, 3].astype(np.int64)
        names = np.asarray([*rep_ids, None], dtype=object)  # index -1 -> None
        return pd.DataFrame(
            {
                "t": t,
                "time": pd.Timestamp(start) + pd.to_timedelta(np.round(t * 3.6e12), unit="ns"),
                "kind": pd.Categorical.from_codes(
                    rows[:, 1].astype(np.int8), categories=list(KINDS), ordered=True
                ),
                "lead_id": rows[:, 2].astype(np.int64),
                "rep_id": string_array(names[rep]),
                "value": rows[:, 4].copy(),
            }
        )
