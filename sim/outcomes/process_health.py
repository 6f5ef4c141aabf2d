"""The process health dashboard (DOMAIN.md 2.4 and 4): tables with red/amber/green.

Drill-down by rep, region or product line: visit-plan completion, overdue key actions
(visits held past the grace days or still awaited), requirement-change frequency, data
completeness and update timeliness; plus the checkpoint funnel, proof outcomes by site
type and the customers whose requirements changed too often.  Thresholds come from the
policy (``checkpoints.health``).  Every function takes one run or a list of replications
(counts are pooled) and looks at opportunities opened at or after the warm-up.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from policies.checkpoints import CHECKPOINTS, HealthThresholds
from sim.engine.result import RunResult
from sim.outcomes.process_kpis import customer_change_peaks, opportunity_window

__all__ = [
    "DRILL_DOWNS",
    "checkpoint_funnel",
    "health_by",
    "proof_by_site",
    "requirement_change_hotspots",
    "thresholds",
    "weekly_data_health",
]

DRILL_DOWNS = {"rep": "rep_id", "region": "region", "product_line": "product_line"}
"""Dashboard drill-down levels and the opportunities column each groups by."""


def _runs(results: RunResult | Sequence[RunResult]) -> list[RunResult]:
    return [results] if isinstance(results, RunResult) else list(results)


def thresholds(results: RunResult | Sequence[RunResult]) -> HealthThresholds:
    """The red/amber/green thresholds of the runs' policy."""
    return _runs(results)[0].policy.checkpoints.health


def _pooled(results: RunResult | Sequence[RunResult]) -> pd.DataFrame:
    frames = [opportunity_window(r).assign(replication=i) for i, r in enumerate(_runs(results))]
    return pd.concat(frames, ignore_index=True)


def _customer_peaks(results) -> pd.DataFrame:
    frames = [customer_change_peaks(r).assign(replication=i) for i, r in enumerate(_runs(results))]
    return pd.concat(frames, ignore_index=True)


def health_by(results: RunResult | Sequence[RunResult], level: str = "rep") -> pd.DataFrame:
    """The dashboard at one drill-down *level* (``rep``, ``region``, ``product_line``).

    Columns: deals, won, visit_completion, overdue_share (overdue visits / due visits),
    changes_per_deal_30d (requirement changes per deal per 30 open days),
    max_changes_30d (most changes of one of the group's customers in any 30 days),
    data_completeness, update_lag_days, then a ``*_rag`` column per thresholded measure.
    """
    if level not in DRILL_DOWNS:
        raise ValueError(f"unknown level {level!r} (known: {', '.join(DRILL_DOWNS)})")
    key = DRILL_DOWNS[level]
    opps = _pooled(results)
    horizon = _runs(results)[0].scenario.horizon_hours
    open_days = (opps["closed_t"].fillna(horizon) - opps["opened_t"]) / 24.0
    peaks = _customer_peaks(results)
    opps = opps.assign(
        open_days=open_days,
        customer=opps["customer_id"].fillna(-1 - opps["opportunity_id"]).astype(np.int64),
        due=opps["visits_on_time"] + opps["visits_overdue"],
        lag_sum=opps["update_lag_days_mean"].fillna(0) * opps["checkpoints_passed"],
        lag_n=np.where(opps["update_lag_days_mean"].notna(), opps["checkpoints_passed"], 0),
    )
    opps = opps.merge(peaks, on=["replication", "customer"], how="left")
    grouped = opps.groupby(key, observed=True, sort=True)
    table = pd.DataFrame(
        {
            "deals": grouped.size(),
            "won": grouped["status"].apply(lambda s: int((s == "won").sum())),
            "visit_completion": grouped["visits_on_time"].sum() / grouped["due"].sum(),
            "overdue_share": grouped["visits_overdue"].sum() / grouped["due"].sum(),
            "changes_per_deal_30d": 30
            * grouped["requirement_changes"].sum()
            / grouped["open_days"].sum(),
            "max_changes_30d": grouped["max_in_window"].max().fillna(0).astype(np.int64),
            "data_completeness": grouped["fields_recorded"].sum()
            / grouped["fields_required"].sum(),
            "update_lag_days": grouped["lag_sum"].sum() / grouped["lag_n"].sum(),
        }
    )
    table.index.name = level
    limits = thresholds(results)
    for column, threshold in (
        ("visit_completion", limits.visit_completion),
        ("overdue_share", limits.overdue_actions),
        ("max_changes_30d", limits.requirement_changes_30d),
        ("data_completeness", limits.data_completeness),
        ("update_lag_days", limits.update_lag_days),
    ):
        table[f"{column}_rag"] = table[column].map(threshold.rag)
    return table


def requirement_change_hotspots(results: RunResult | Sequence[RunResult]) -> pd.DataFrame:
    """Customers above the amber requirement-change threshold: replication, customer,
    changes, max_in_window (changes within any 30 days), rag; worst first."""
    peaks = _customer_peaks(results)
    limit = thresholds(results).requirement_changes_30d
    peaks = peaks[peaks["max_in_window"] > limit.amber].assign(
        rag=lambda f: f["max_in_window"].map(limit.rag)
    )
    order = ["max_in_window", "changes", "replication", "customer"]
    return peaks.sort_values(order, ascending=[False, False, True, True], kind="mergesort")[
        ["replication", "customer", "changes", "max_in_window", "rag"]
    ].reset_index(drop=True)


def checkpoint_funnel(results: RunResult | Sequence[RunResult]) -> pd.DataFrame:
    """Per checkpoint: deals that reached it, passed it, were lost there (customer, proof
    stall) and are still working on it at the horizon; pass_share = passed / decided."""
    opps = _pooled(results)
    passed = opps["checkpoints_passed"].to_numpy()
    rows = []
    for i, name in enumerate(CHECKPOINTS):
        here = opps[passed == i]
        lost = here[here["status"] == "lost"]
        n_passed = int((passed > i).sum())
        customer = int((lost["lost_reason"] == "customer").sum())
        stall = int((lost["lost_reason"] == "proof_stall").sum())
        decided = n_passed + customer + stall
        rows.append(
            {
                "checkpoint": name,
                "reached": int((passed >= i).sum()),
                "passed": n_passed,
                "lost_customer": customer,
                "lost_proof_stall": stall,
                "in_progress": int((here["status"] == "open").sum()),
                "pass_share": n_passed / decided if decided else np.nan,
            }
        )
    return pd.DataFrame(rows)


def proof_by_site(results: RunResult | Sequence[RunResult]) -> pd.DataFrame:
    """Per site type: deals, proof attempts, failures, failure rate, proofs synced from the
    offline cache, re-visits per deal and deals lost to a proof stall."""
    opps = _pooled(results)
    grouped = opps.groupby("site_type", observed=True, sort=True)
    table = pd.DataFrame(
        {
            "deals": grouped.size(),
            "attempts": grouped["proof_attempts"].sum(),
            "failures": grouped["proof_failures"].sum(),
            "cached": grouped["proof_cached"].sum(),
            "stalls": grouped["lost_reason"].apply(lambda s: int((s == "proof_stall").sum())),
        }
    )
    table["failure_rate"] = table["failures"] / table["attempts"].where(table["attempts"] > 0)
    table["reworks_per_deal"] = table["failures"] / table["deals"]
    return table


def weekly_data_health(results: RunResult | Sequence[RunResult]) -> pd.DataFrame:
    """The weekly personal data-health report (DOMAIN.md 4), per rep and week (Monday).

    From the process events of the window: ``updates`` (checkpoints recorded in the CRM
    that week), ``update_lag_days`` (their mean lag) and ``updates_within_1d``;
    ``visits_held`` and ``visits_on_time`` (held within the grace days of the plan);
    ``field_blocks`` (required fields missing at a checkpoint); with ``*_rag`` columns for
    the lag and the on-time share.  Counts are pooled over the replications.
    """
    runs = _runs(results)
    limits = thresholds(runs)
    frames = []
    for r in runs:
        ev = r.process_events
        ev = ev[ev["t"] >= r.scenario.warmup_hours]
        week = ev["time"].dt.to_period("W-SUN").dt.start_time
        frames.append(ev.assign(week=week))
    ev = pd.concat(frames, ignore_index=True)
    kind, value = ev["kind"].astype(str), ev["value"]
    parts = pd.DataFrame(
        {
            "rep": ev["rep_id"],
            "week": ev["week"],
            "updates": kind == "checkpoint_recorded",
            "lag": value.where(kind == "checkpoint_recorded"),
            "within_1d": (kind == "checkpoint_recorded") & (value <= 1.0),
            "visits_held": kind == "visit_held",
            "visits_on_time": (kind == "visit_held") & (value <= limits.visit_grace_days),
            "field_blocks": value.where(kind == "fields_missing", 0.0),
        }
    )
    grouped = parts.groupby(["rep", "week"], observed=True, sort=True)
    table = pd.DataFrame(
        {
            "updates": grouped["updates"].sum().astype(np.int64),
            "update_lag_days": grouped["lag"].mean(),
            "updates_within_1d": grouped["within_1d"].sum() / grouped["updates"].sum(),
            "visits_held": grouped["visits_held"].sum().astype(np.int64),
            "visits_on_time": grouped["visits_on_time"].sum() / grouped["visits_held"].sum(),
            "field_blocks": grouped["field_blocks"].sum().astype(np.int64),
        }
    )
    table["update_lag_days_rag"] = table["update_lag_days"].map(limits.update_lag_days.rag)
    table["visits_on_time_rag"] = table["visits_on_time"].map(limits.visit_completion.rag)
    return table
