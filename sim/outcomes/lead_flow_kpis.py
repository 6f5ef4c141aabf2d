"""Lead-flow KPIs: arrivals, assignment, first-touch times, SLA events, utilisation,
qualification, A-lead concentration and intake drops.

Leads still untouched at the horizon are censored: they count in
``leads_waiting_at_end`` and not in first-touch statistics.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.engine.result import RunResult
from sim.outcomes.measurement import a_lead_shares, rep_load, window
from sim.outcomes.registry import KpiFamily

__all__ = ["LEAD_FLOW"]

LEAD_FLOW = KpiFamily("lead flow")
"""The lead-flow KPIs, in the order of KPI tables."""


def _touched(result: RunResult) -> pd.DataFrame:
    leads = window(result)
    return leads[leads["first_touch_t"].notna()]


def _quantile(values: pd.Series, q: float) -> float:
    return float(values.quantile(q)) if len(values) else float("nan")


def _mean(values: pd.Series) -> float:
    return float(values.mean()) if len(values) else float("nan")


@LEAD_FLOW.kpi("leads_arrived", "leads", "none", "Leads that arrived in the window")
def _leads_arrived(r: RunResult) -> float:
    return float(len(window(r)))


@LEAD_FLOW.kpi("leads_assigned", "leads", "higher", "Leads assigned to a rep at least once")
def _leads_assigned(r: RunResult) -> float:
    return float(window(r)["first_assigned_t"].notna().sum())


@LEAD_FLOW.kpi(
    "leads_waiting_at_end", "leads", "lower", "Admitted leads not yet touched at the horizon"
)
def _waiting_at_end(r: RunResult) -> float:
    leads = window(r)
    return float((leads["first_touch_t"].isna() & leads["dropped_reason"].isna()).sum())


for _stat, _label in (("mean", "Mean"), ("median", "Median"), ("p90", "90th percentile of")):
    for _col, _clock in (
        ("first_touch_hours", "calendar"),
        ("first_touch_business_hours", "business"),
    ):
        _q = {"mean": None, "median": 0.5, "p90": 0.9}[_stat]

        def _ft(r: RunResult, col: str = _col, q: float | None = _q) -> float:
            values = _touched(r)[col]
            return _mean(values) if q is None else _quantile(values, q)

        LEAD_FLOW.kpi(
            f"{_col}_{_stat}",
            "h",
            "lower",
            f"{_label} first-touch time from arrival, {_clock} hours",
        )(_ft)


@LEAD_FLOW.kpi("sla_reminders", "events", "lower", "SLA reminders sent for window leads")
def _reminders(r: RunResult) -> float:
    return float(window(r)["reminders"].sum())


@LEAD_FLOW.kpi(
    "sla_reclaims", "events", "lower", "Leads reclaimed by the SLA breaker (window leads)"
)
def _reclaims(r: RunResult) -> float:
    return float(window(r)["reclaims"].sum())


@LEAD_FLOW.kpi(
    "reassignments_per_lead",
    "per lead",
    "lower",
    "Mean extra assignments per assigned lead (0 = never reassigned)",
)
def _reassignments(r: RunResult) -> float:
    assigned = window(r)
    assigned = assigned[assigned["assignments"] > 0]
    return _mean(assigned["assignments"] - 1)


@LEAD_FLOW.kpi(
    "rep_utilisation_mean",
    "share",
    "none",
    "Mean over reps of touch hours / working hours in the window",
)
def _utilisation(r: RunResult) -> float:
    load = rep_load(r)
    return _mean(load["utilisation"].dropna())


@LEAD_FLOW.kpi("qualification_rate", "share", "higher", "Qualified leads / touched leads")
def _qualification_rate(r: RunResult) -> float:
    done = window(r)["qualified"].dropna()
    return float(done.mean()) if len(done) else float("nan")


@LEAD_FLOW.kpi("leads_qualified", "leads", "higher", "Touched leads that qualified")
def _leads_qualified(r: RunResult) -> float:
    return float(window(r)["qualified"].fillna(False).sum())


@LEAD_FLOW.kpi(
    "a_leads_top20_share",
    "share",
    "lower",
    "Share of A-leads received by the 20% of reps who received the most",
)
def _a_top20(r: RunResult) -> float:
    shares = a_lead_shares(r).sort_values(ascending=False)
    if shares.empty or shares.sum() == 0:
        return float("nan")
    top = max(1, int(np.ceil(0.2 * len(shares))))
    return float(shares.iloc[:top].sum())


@LEAD_FLOW.kpi(
    "a_leads_max_rep_share", "share", "lower", "Largest share of A-leads held by one rep"
)
def _a_max(r: RunResult) -> float:
    shares = a_lead_shares(r)
    return float(shares.max()) if len(shares) and shares.sum() > 0 else float("nan")


# Intake (DOMAIN.md 1.2, sim/engine/intake.py): a dropped lead is never routed; by channel and
# reason in sim.engine.intake.intake_counts.
@LEAD_FLOW.kpi(
    "leads_dropped", "leads", "lower", "Leads dropped at intake (a required field missing)"
)
def _leads_dropped(r: RunResult) -> float:
    return float(window(r)["dropped_reason"].notna().sum())


@LEAD_FLOW.kpi(
    "leads_defaulted", "leads", "none", "Leads admitted with a channel default for a field"
)
def _leads_defaulted(r: RunResult) -> float:
    return float(window(r)["defaulted_fields"].notna().sum())


@LEAD_FLOW.kpi("dropped_share", "share", "lower", "Leads dropped at intake / leads arrived")
def _dropped_share(r: RunResult) -> float:
    leads = window(r)
    return float(leads["dropped_reason"].notna().mean()) if len(leads) else float("nan")
