"""The measurement window and the per-rep and queue views the KPIs are built on.

Every KPI looks at the measurement window: leads that arrived at or after the
scenario's warm-up, and rep time from the warm-up to the horizon.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.engine.event_log import Kind
from sim.engine.result import RunResult

__all__ = ["a_lead_shares", "queue_length", "rep_load", "window"]


def window(result: RunResult) -> pd.DataFrame:
    """Leads that arrived inside the measurement window (at or after the warm-up)."""
    leads = result.leads
    return leads[leads["arrived_t"] >= result.scenario.warmup_hours]


def a_lead_shares(result: RunResult) -> pd.Series:
    """Share of the window's first-assigned A-leads per rep (all reps, zeros included)."""
    leads = window(result)
    a = leads[(leads["grade"] == "A") & leads["first_rep"].notna()]
    counts = a["first_rep"].value_counts().reindex(result.reps["rep_id"], fill_value=0)
    total = counts.sum()
    return (counts / total if total else counts.astype(float)).rename("a_lead_share")


def _busy_in_window(result: RunResult) -> pd.Series:
    """Touch hours per rep overlapping [warm-up, horizon)."""
    ev = result.events
    start = ev[ev["kind"] == "touch_started"][["lead_id", "rep_id", "t"]]
    done = ev[ev["kind"] == "touch_completed"][["lead_id", "t"]]
    spans = start.merge(done, on="lead_id", how="left", suffixes=("_start", "_end"))
    lo, hi = result.scenario.warmup_hours, result.scenario.horizon_hours
    end = spans["t_end"].fillna(hi).clip(upper=hi)
    spans["busy"] = (end - spans["t_start"].clip(lower=lo)).clip(lower=0)
    return spans.groupby("rep_id", observed=True)["busy"].sum()


def rep_load(result: RunResult) -> pd.DataFrame:
    """Per rep: leads and A-leads received, touches, utilisation in the window."""
    reps = result.reps.set_index("rep_id")
    leads = window(result)
    got = leads.groupby("first_rep", observed=True).size()
    got_a = leads[leads["grade"] == "A"].groupby("first_rep", observed=True).size()
    busy = _busy_in_window(result).reindex(reps.index, fill_value=0.0)
    hours = reps["working_hours"]
    out = pd.DataFrame(
        {
            "region": reps["region"],
            "leads_received": got.reindex(reps.index, fill_value=0).astype(int),
            "a_leads_received": got_a.reindex(reps.index, fill_value=0).astype(int),
            "busy_hours": busy,
            "working_hours": hours,
            "utilisation": (busy / hours).where(hours > 0),
        }
    )
    out["a_lead_share"] = a_lead_shares(result)
    return out


def queue_length(result: RunResult) -> pd.DataFrame:
    """Leads arrived but not yet touched (nor dropped at intake), as a step function:
    columns ``t``, ``waiting``."""
    ev = result.events
    codes = ev["kind"].cat.codes.to_numpy()
    leaves = (codes == Kind.touch_started) | (codes == Kind.lead_dropped)
    step = np.where(codes == Kind.lead_arrived, 1, np.where(leaves, -1, 0))
    mask = step != 0
    frame = pd.DataFrame({"t": ev["t"].to_numpy()[mask], "waiting": np.cumsum(step[mask])})
    return frame.drop_duplicates("t", keep="last").reset_index(drop=True)
