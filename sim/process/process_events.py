"""The process event log of a run: its kinds, the meaning of ``value``, and its table.

The log itself is a :class:`sim.events.EventLog` of :data:`PROCESS_EVENTS` (subject: the
opportunity id, detail: the checkpoint index, -1 when the event is not about one
checkpoint), filled by :mod:`sim.process.pipeline`.  :func:`process_events_frame` turns
it into the ``process_events`` table of a :class:`~sim.engine.result.RunResult`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from policies.checkpoints import CHECKPOINTS
from sim.events import EventKinds, EventLog
from sim.world.clock import SimClock

__all__ = [
    "PROCESS_EVENTS",
    "PROCESS_EVENT_DTYPES",
    "PROCESS_KINDS",
    "PROCESS_VALUE_MEANING",
    "ProcessKind",
    "process_events_frame",
]


class ProcessKind:
    """Integer codes of the process event kinds (attribute per kind; new kinds go at the
    end)."""

    opportunity_opened = 0
    visit_planned = 1
    visit_held = 2
    proof_failed = 3
    proof_cached = 4
    fields_missing = 5
    risk_review_requested = 6
    risk_approved = 7
    requirement_changed = 8
    custom_dev_requested = 9
    legal_involved = 10
    demo_video_watched = 11
    poc_revised = 12
    checkpoint_passed = 13
    checkpoint_recorded = 14
    opportunity_lost = 15
    opportunity_won = 16
    handed_off = 17


PROCESS_VALUE_MEANING = {
    "visit_planned": "planned time, hours since start",
    "visit_held": "slip, days after the plan",
    "proof_failed": "uploads tried",
    "proof_cached": "uploads tried",
    "fields_missing": "number of required fields missing",
    "risk_review_requested": "the expected amount (yuan)",
    "requirement_changed": "the customer's change count so far",
    "legal_involved": "1 at the request, 0 at the legal review",
    "demo_video_watched": "completion (0..1)",
    "poc_revised": "revision number",
    "checkpoint_recorded": "update lag (days)",
    "opportunity_lost": "1 if lost to a proof stall, else 0",
    "opportunity_won": "contract value (yuan)",
    "handed_off": "data completeness at hand-off (0..1)",
}
"""What the ``value`` column holds for each kind (NaN for the kinds not listed)."""

PROCESS_EVENTS = EventKinds(
    ProcessKind, PROCESS_VALUE_MEANING, subject="opportunity", detail="checkpoint"
)
"""The kinds of the process event log."""

PROCESS_KINDS = PROCESS_EVENTS.names
"""Process event kinds, in the order of their integer codes."""

PROCESS_EVENT_DTYPES = {
    "t": "float64",
    "time": "datetime64[ns]",
    "kind": PROCESS_EVENTS.dtype,
    "opportunity_id": "int64",
    "lead_id": "int64",
    "customer_id": "Int64",
    "rep_id": "string",
    "stage": pd.CategoricalDtype(list(CHECKPOINTS)),
    "value": "float64",
}
"""Columns and dtypes of the process-events table."""


def process_events_frame(
    log: EventLog, opportunities: pd.DataFrame, start: dt.datetime, horizon: float
) -> pd.DataFrame:
    """The process-events table: events up to *horizon* in time order (ties in the
    order they were logged), with the lead, customer and rep of their opportunity."""
    rows = log.rows()
    rows = rows[rows[:, 0] <= horizon]  # e.g. a CRM update due after the horizon
    rows = rows[np.argsort(rows[:, 0], kind="stable")]
    opp = rows[:, 2].astype(np.int64)
    by_id = opportunities.set_index("opportunity_id")
    stage = rows[:, 3].astype(np.int64)
    frame = pd.DataFrame(
        {
            "t": rows[:, 0].copy(),
            "time": SimClock(start).timestamps(rows[:, 0]),
            "kind": PROCESS_EVENTS.categorical(rows[:, 1]),
            "opportunity_id": opp,
            "lead_id": by_id["lead_id"].reindex(opp).to_numpy(np.int64),
            "customer_id": by_id["customer_id"].reindex(opp).array,
            "rep_id": by_id["rep_id"].reindex(opp).array,
            "stage": pd.Categorical.from_codes(stage.astype(np.int8), categories=list(CHECKPOINTS)),
            "value": rows[:, 4].copy(),
        }
    )
    return frame.astype(PROCESS_EVENT_DTYPES)
