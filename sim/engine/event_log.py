"""The lead event log of a run: its kinds, the meaning of ``value``, and its table.

The log itself is a :class:`sim.events.EventLog` of :data:`LEAD_EVENTS` (subject: the
lead id, detail: the rep index, -1 for none), filled by the arrivals, dispatch, the
marketplace and the reps' work.  Kinds are small integers while the run is going and an
ordered categorical in the table built by :func:`lead_events_frame`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.engine.columns import string_array_of_codes
from sim.events import EventKinds, EventLog
from sim.world.clock import SimClock

__all__ = ["KINDS", "LEAD_EVENTS", "VALUE_MEANING", "Kind", "lead_events_frame"]


class Kind:
    """Integer codes of the lead event kinds (attribute per kind, e.g. ``Kind.lead_arrived``;
    new kinds go at the end)."""

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


LEAD_EVENTS = EventKinds(Kind, VALUE_MEANING, subject="lead", detail="rep")
"""The kinds of the lead event log."""

KINDS = LEAD_EVENTS.names
"""Lead event kinds, in the order of their integer codes."""


def lead_events_frame(log: EventLog, start: dt.datetime, rep_ids: Sequence[str]) -> pd.DataFrame:
    """The lead event log as a DataFrame: t, time, kind, lead_id, rep_id, value."""
    rows = log.rows()
    t = rows[:, 0].copy()
    rep = rows[:, 3].astype(np.int64)
    return pd.DataFrame(
        {
            "t": t,
            "time": SimClock(start).timestamps(t),
            "kind": LEAD_EVENTS.categorical(rows[:, 1]),
            "lead_id": rows[:, 2].astype(np.int64),
            "rep_id": string_array_of_codes([*rep_ids, None], rep),  # -1 -> None
            "value": rows[:, 4].copy(),
        }
    )
