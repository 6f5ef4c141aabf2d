"""Fairness and lead-flow measures: who gets the A-leads, how long new reps wait for a
valid lead, how often leads cross regions, where leads stall, and how many customers are
touched by more than one rep.

Pure functions of a :class:`~sim.engine.result.RunResult`; the headline numbers are the
:data:`FAIRNESS` KPI family (listed in :mod:`sim.outcomes.catalogue`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from statsmodels.duration.survfunc import SurvfuncRight

from sim.engine.result import RunResult
from sim.outcomes.measurement import a_lead_shares, window
from sim.outcomes.registry import KpiFamily

__all__ = [
    "FAIRNESS",
    "customer_reps",
    "gini",
    "new_rep_wait_survival",
    "new_rep_waits",
    "stall_positions",
    "stall_segments",
]

FAIRNESS = KpiFamily("fairness")
"""The fairness and stall KPIs, in the order of KPI tables."""

# Event kinds that open or close a stall segment of a lead.
_SEGMENT_KINDS = (
    "lead_pooled",
    "lead_posted",
    "lead_assigned",
    "lead_reclaimed",
    "touch_started",
)
_OPENS = {
    "lead_pooled": "pool",
    "lead_posted": "marketplace",
    "lead_assigned": "rep queue",
    "lead_reclaimed": "reclaim",
}


def gini(values: np.ndarray | pd.Series) -> float:
    """Gini coefficient of non-negative *values* (0 = perfectly even, -> 1 = one holds all)."""
    x = np.sort(np.asarray(values, dtype=float))
    n, total = len(x), x.sum()
    if n == 0 or total == 0:
        return float("nan")
    ranks = np.arange(1, n + 1)
    return float((2 * (ranks * x).sum()) / (n * total) - (n + 1) / n)


def new_rep_waits(result: RunResult) -> pd.DataFrame:
    """Per rep hired during the run: days from hire to the assignment of their first lead
    that qualified (a *valid* lead).  ``censored`` is True when none came by the horizon
    (the wait is then counted up to the horizon)."""
    reps = result.reps
    hired = reps[reps["hire_t"].notna() & (reps["hire_t"] >= 0)]
    leads = result.leads
    valid = leads[leads["qualified"].fillna(False).astype(bool)]
    first_valid = valid.groupby("first_rep", observed=True)["first_assigned_t"].min()
    horizon = result.scenario.horizon_hours
    rows = []
    for rep_id, hire_t in zip(hired["rep_id"], hired["hire_t"], strict=True):
        if hire_t >= horizon:
            continue
        got = first_valid.get(rep_id, np.nan)
        censored = bool(np.isnan(got))
        end = horizon if censored else got
        rows.append(
            {
                "rep_id": rep_id,
                "hire_t": hire_t,
                "days_to_first_valid_lead": (end - hire_t) / 24,
                "censored": censored,
            }
        )
    return pd.DataFrame(rows, columns=["rep_id", "hire_t", "days_to_first_valid_lead", "censored"])


def new_rep_wait_survival(waits: pd.DataFrame) -> dict[str, float]:
    """Kaplan-Meier reading of new reps' waits for a valid lead, censoring respected.

    *waits* has the columns of :func:`new_rep_waits` (``days_to_first_valid_lead``,
    ``censored``), for one run or several pooled (e.g. every replication of a policy).
    A censored wait (no valid lead by the horizon) says only "longer than this"; a plain
    mean would count it as finished at the horizon (or drop it), so both understate.

    Returns a dict:

    - ``reps``: waits in *waits*; ``censored``: how many had no valid lead by the horizon;
      ``censored_share``: their share (NaN without reps);
    - ``km_median_days``: the Kaplan-Meier median wait (statsmodels'
      :class:`~statsmodels.duration.survfunc.SurvfuncRight`; as in SAS, the first wait
      at which the estimated share still waiting falls *below* one half).  NaN when it
      never does: the median is then not reached, i.e. longer than ``followup_days``;
    - ``km_still_waiting``: the estimated share still waiting at ``followup_days``;
    - ``followup_days``: the longest wait observed, censored or not;
    - ``mean_days_to_horizon``: the plain mean with censored waits counted up to the
      horizon (a lower bound of the true mean whenever anything is censored).
    """
    times = waits["days_to_first_valid_lead"].to_numpy(dtype=float)
    censored = waits["censored"].to_numpy(dtype=bool)
    n = len(times)
    out = {
        "reps": float(n),
        "censored": float(censored.sum()),
        "censored_share": float(censored.mean()) if n else math.nan,
        "km_median_days": math.nan,
        "km_still_waiting": math.nan,
        "followup_days": float(times.max()) if n else math.nan,
        "mean_days_to_horizon": float(times.mean()) if n else math.nan,
    }
    if n == 0:
        return out
    if censored.all():  # no wait ended: the share still waiting never drops below 1
        out["km_still_waiting"] = 1.0
        return out
    fit = SurvfuncRight(times, (~censored).astype(int))
    out["km_median_days"] = float(fit.quantile(0.5))
    out["km_still_waiting"] = float(fit.surv_prob[-1])
    return out


def stall_segments(result: RunResult) -> pd.DataFrame:
    """Every stretch a lead waited, as rows: lead_id, position, rep_id, start, end, hours.

    Positions: ``pool`` (no eligible rep: from ``lead_pooled`` to the next assignment),
    ``marketplace`` (posted, until a rep claims it),
    ``rep queue`` (assigned, not yet touched: to the touch or a reclaim) and ``reclaim``
    (reclaimed, to the next assignment or pooling).  Stretches still open at the horizon
    end there.
    """
    ev = result.events
    ev = ev[ev["kind"].isin(_SEGMENT_KINDS)][["lead_id", "t", "kind", "rep_id"]]
    ev = ev.sort_values(["lead_id", "t"], kind="stable")
    nxt = ev.groupby("lead_id", sort=False)["t"].shift(-1)
    kinds = ev["kind"].astype(str)
    opens = kinds.isin(list(_OPENS))
    out = pd.DataFrame(
        {
            "lead_id": ev["lead_id"],
            "position": kinds.map(_OPENS),
            "rep_id": ev["rep_id"].where(kinds == "lead_assigned"),
            "start": ev["t"],
            "end": nxt.fillna(result.scenario.horizon_hours),
        }
    )[opens.to_numpy()]
    out["hours"] = out["end"] - out["start"]
    return out.reset_index(drop=True)


def stall_positions(result: RunResult, top: int | None = None) -> pd.DataFrame:
    """Stall time by position (the queue of each rep is its own position), most first:
    position, stretches, total_hours, mean_hours, p90_hours."""
    seg = stall_segments(result)
    seg = seg[seg["start"] >= result.scenario.warmup_hours]
    label = seg["position"].where(seg["rep_id"].isna(), "rep queue: " + seg["rep_id"].fillna(""))
    table = (
        seg.assign(where=label)
        .groupby("where")["hours"]
        .agg(
            stretches="size",
            total_hours="sum",
            mean_hours="mean",
            p90_hours=lambda h: h.quantile(0.9),
        )
        .sort_values("total_hours", ascending=False)
        .rename_axis("position")
        .reset_index()
    )
    return table.head(top) if top else table


@FAIRNESS.kpi("a_leads_gini", "index", "lower", "Gini coefficient of A-leads received per rep")
def _a_gini(r: RunResult) -> float:
    return gini(a_lead_shares(r))


@FAIRNESS.kpi(
    "cross_region_share",
    "share",
    "lower",
    "Assigned leads whose first rep is in another region than the lead",
)
def _cross_region(r: RunResult) -> float:
    leads = window(r)
    leads = leads[leads["first_rep"].notna()]
    if leads.empty:
        return float("nan")
    region = r.reps.set_index("rep_id")["region"]
    return float((leads["first_rep"].map(region) != leads["region"]).mean())


@FAIRNESS.kpi(
    "new_rep_days_to_valid_lead",
    "days",
    "lower",
    "Mean days a rep hired during the run waits for a first lead that qualifies "
    "(censored at the horizon)",
)
def _new_rep_wait(r: RunResult) -> float:
    # A censored wait counts up to the horizon, so this mean is a lower bound when any
    # wait is censored; reports read new_rep_wait_survival() for the censored share and
    # the Kaplan-Meier median.
    waits = new_rep_waits(r)
    return float(waits["days_to_first_valid_lead"].mean()) if len(waits) else float("nan")


@FAIRNESS.kpi(
    "pool_wait_hours_mean",
    "h",
    "lower",
    "Mean time a lead waited in the routing pool for an eligible rep (waits in the "
    "marketplace are not counted: see assignment_wait_hours_mean)",
)
def _pool_wait(r: RunResult) -> float:
    seg = stall_segments(r)
    pool = seg[(seg["position"] == "pool") & (seg["start"] >= r.scenario.warmup_hours)]
    return float(pool["hours"].mean()) if len(pool) else 0.0


@FAIRNESS.kpi(
    "assignment_wait_hours_mean",
    "h",
    "lower",
    "Mean time from a lead's arrival to its first rep, routed or claimed from the "
    "marketplace (leads still unassigned at the end are left out)",
)
def _assignment_wait(r: RunResult) -> float:
    # The fair comparison across allocation modes: a lead that waits for Monday waits in
    # the routing pool under routing and in the marketplace under self-claim, so
    # pool_wait_hours_mean alone moves when only the place of waiting changes.
    leads = window(r)
    waited = (leads["first_assigned_t"] - leads["arrived_t"]).dropna()
    return float(waited.mean()) if len(waited) else float("nan")


def customer_reps(result: RunResult) -> pd.DataFrame:
    """Per customer with a touched lead in the window: ``touched_leads`` and ``reps``
    (distinct reps who made the first touch of its leads), indexed by ``customer_id``.
    Empty when the scenario has no ``leads.customer_pool``."""
    leads = window(result)
    leads = leads[leads["customer_id"].notna() & leads["touch_rep"].notna()]
    return (
        leads.groupby("customer_id")["touch_rep"]
        .agg(touched_leads="size", reps="nunique")
        .astype(np.int64)
    )


@FAIRNESS.kpi(
    "customers_multi_rep",
    "customers",
    "lower",
    "Customers touched by more than one rep (the rep of each lead's first touch; "
    "n/a without leads.customer_pool)",
)
def _customers_multi_rep(r: RunResult) -> float:
    if r.scenario.leads.customer_pool is None:
        return float("nan")
    return float((customer_reps(r)["reps"] > 1).sum())


@FAIRNESS.kpi(
    "customers_multi_rep_share",
    "share",
    "lower",
    "Share of customers with two or more touched leads that were touched by more than one rep",
)
def _customers_multi_rep_share(r: RunResult) -> float:
    if r.scenario.leads.customer_pool is None:
        return float("nan")
    per = customer_reps(r)
    repeat = per[per["touched_leads"] >= 2]
    return float((repeat["reps"] > 1).mean()) if len(repeat) else float("nan")
