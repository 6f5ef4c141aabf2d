"""Process KPIs: named measures of the opportunity stage model, with unit and direction.

They are the :data:`PROCESS` KPI family (listed in :mod:`sim.outcomes.catalogue`), which
needs a process model: runs of scenarios without a ``process:`` section do not have them
(the lead-flow tables and reports of those scenarios stay as they are).  Every KPI looks
at the opportunities opened at or after the warm-up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from sim.engine.result import RunResult
from sim.outcomes.forecast import forecast_error
from sim.outcomes.registry import KpiFamily

__all__ = [
    "PROCESS",
    "customer_change_peaks",
    "opportunity_window",
    "process_kpi_summary",
    "process_kpis",
]

PROCESS = KpiFamily("process", needs_process=True)
"""The process KPIs, in the order of KPI tables (``share``: in [0, 1])."""


def opportunity_window(result: RunResult) -> pd.DataFrame:
    """Opportunities opened at or after the warm-up."""
    opps = result.opportunities
    return opps[opps["opened_t"] >= result.scenario.warmup_hours]


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else math.nan


def customer_change_peaks(result: RunResult, days: float = 30.0) -> pd.DataFrame:
    """Per customer: requirement changes in the window, and the most within any *days*.

    A deal without a ``customer_id`` (no customer pool) is its own customer, keyed
    ``-1 - opportunity_id``.  Columns: customer, changes, max_in_window.
    """
    ev = result.process_events
    ev = ev[(ev["kind"] == "requirement_changed") & (ev["t"] >= result.scenario.warmup_hours)]
    customer = ev["customer_id"].fillna(-1 - ev["opportunity_id"]).astype(np.int64).to_numpy()
    t = ev["t"].to_numpy(float)
    rows = []
    span = days * 24.0
    for key in np.unique(customer):
        times = np.sort(t[customer == key])
        # most changes in a half-open window [t_i, t_i + span)
        ends = np.searchsorted(times, times + span, side="left")
        rows.append((int(key), len(times), int((ends - np.arange(len(times))).max())))
    return pd.DataFrame(rows, columns=["customer", "changes", "max_in_window"]).astype(np.int64)


@PROCESS.kpi("opportunities_opened", "deals", "none", "Qualified leads that became opportunities")
def _opened(r: RunResult) -> float:
    return float(len(opportunity_window(r)))


@PROCESS.kpi("deals_won", "deals", "higher", "Opportunities won (all five checkpoints passed)")
def _won(r: RunResult) -> float:
    return float((opportunity_window(r)["status"] == "won").sum())


@PROCESS.kpi("win_rate", "share", "higher", "Won / closed (won or lost) opportunities")
def _win_rate(r: RunResult) -> float:
    status = opportunity_window(r)["status"]
    return _ratio((status == "won").sum(), (status != "open").sum())


@PROCESS.kpi("contract_value_won", "M yuan", "higher", "Value of the contracts signed")
def _value(r: RunResult) -> float:
    opps = opportunity_window(r)
    return int(opps.loc[opps["status"] == "won", "value_cents"].sum()) / 1e8


@PROCESS.kpi("won_cycle_days_mean", "d", "lower", "Mean days from opportunity to signed contract")
def _cycle(r: RunResult) -> float:
    opps = opportunity_window(r)
    days = opps.loc[opps["status"] == "won", "cycle_days"]
    return float(days.mean()) if len(days) else math.nan


@PROCESS.kpi("proof_failure_rate", "share", "lower", "Failed proofs / proof attempts at visits")
def _proof_failure_rate(r: RunResult) -> float:
    opps = opportunity_window(r)
    return _ratio(opps["proof_failures"].sum(), opps["proof_attempts"].sum())


@PROCESS.kpi(
    "proof_reworks_per_deal", "per deal", "lower", "Re-visits for a failed proof, per deal"
)
def _reworks(r: RunResult) -> float:
    opps = opportunity_window(r)
    return _ratio(opps["proof_failures"].sum(), len(opps))


@PROCESS.kpi("proof_stall_losses", "deals", "lower", "Deals lost because proof kept failing")
def _stalls(r: RunResult) -> float:
    return float((opportunity_window(r)["lost_reason"] == "proof_stall").sum())


@PROCESS.kpi(
    "visit_completion_rate", "share", "higher", "Due visits held within the grace days of the plan"
)
def _visit_completion(r: RunResult) -> float:
    opps = opportunity_window(r)
    due = opps["visits_on_time"].sum() + opps["visits_overdue"].sum()
    return _ratio(opps["visits_on_time"].sum(), due)


@PROCESS.kpi("overdue_visits", "visits", "lower", "Visits held late or still awaited past grace")
def _overdue(r: RunResult) -> float:
    return float(opportunity_window(r)["visits_overdue"].sum())


@PROCESS.kpi("data_completeness", "share", "higher", "Structured fields recorded / required")
def _completeness(r: RunResult) -> float:
    opps = opportunity_window(r)
    return _ratio(opps["fields_recorded"].sum(), opps["fields_required"].sum())


@PROCESS.kpi(
    "first_entry_completeness", "share", "higher", "Structured fields filled at first entry"
)
def _first_entry(r: RunResult) -> float:
    opps = opportunity_window(r)
    return _ratio(opps["fields_filled_first"].sum(), opps["fields_required"].sum())


@PROCESS.kpi("field_blocks_per_deal", "per deal", "lower", "Required fields that blocked a pass")
def _blocks(r: RunResult) -> float:
    opps = opportunity_window(r)
    return _ratio(opps["field_blocks"].sum(), len(opps))


def _update_lags(r: RunResult) -> np.ndarray:
    ev = r.process_events
    lags = ev.loc[(ev["kind"] == "checkpoint_recorded"), ["opportunity_id", "value"]]
    keep = lags["opportunity_id"].isin(opportunity_window(r)["opportunity_id"])
    return lags.loc[keep, "value"].to_numpy(float)


@PROCESS.kpi("update_lag_days_mean", "d", "lower", "Mean days from a pass to its CRM record")
def _lag(r: RunResult) -> float:
    lags = _update_lags(r)
    return float(lags.mean()) if len(lags) else math.nan


@PROCESS.kpi("updates_within_1d_share", "share", "higher", "Stage updates recorded within 1 day")
def _timely(r: RunResult) -> float:
    lags = _update_lags(r)
    return float((lags <= 1.0).mean()) if len(lags) else math.nan


@PROCESS.kpi(
    "customers_change_amber",
    "customers",
    "lower",
    "Customers above the amber requirement-change threshold within 30 days",
)
def _customers_amber(r: RunResult) -> float:
    limit = r.policy.checkpoints.health.requirement_changes_30d.amber
    peaks = customer_change_peaks(r)
    return float((peaks["max_in_window"] > limit).sum())


@PROCESS.kpi(
    "legal_days_before_signing_mean",
    "d",
    "higher",
    "Days legal knew of a custom-development request before signing (won deals)",
)
def _legal(r: RunResult) -> float:
    opps = opportunity_window(r)
    days = opps.loc[
        (opps["status"] == "won") & opps["custom_development"], "legal_days_before_signing"
    ]
    return float(days.mean()) if len(days) else math.nan


@PROCESS.kpi("risk_reviews", "deals", "none", "Deals that needed the risk form and approval")
def _risk(r: RunResult) -> float:
    return float((opportunity_window(r)["risk_reviews"] > 0).sum())


@PROCESS.kpi(
    "forecast_error_abs_mean",
    "share",
    "lower",
    "Mean |stage-weighted forecast / won - 1| over the whole months (source: 0.37)",
)
def _forecast(r: RunResult) -> float:
    return forecast_error(r)


def process_kpis(result: RunResult) -> dict[str, float]:
    """Every process KPI of *result*, in definition order."""
    return {name: k.compute(result) for name, k in PROCESS.items()}


def process_kpi_summary(
    results: RunResult | Sequence[RunResult], confidence: float = 0.95
) -> pd.DataFrame:
    """Process KPIs over replications: kpi, mean, ci_low, ci_high (Student t, cut at the
    KPI's bounds; NaN with fewer than 2 values), unit, better, n, description."""
    runs = [results] if isinstance(results, RunResult) else list(results)
    values = [process_kpis(r) for r in runs]
    rows = []
    for name, spec in PROCESS.items():
        x = np.asarray([v[name] for v in values], dtype=float)
        x = x[np.isfinite(x)]
        mean = float(x.mean()) if len(x) else math.nan
        low = high = math.nan
        if len(x) >= 2:
            half = stats.t.ppf(0.5 + confidence / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
            low, high = mean - half, mean + half
            lo_bound, hi_bound = spec.bounds
            low = max(low, lo_bound) if lo_bound is not None else low
            high = min(high, hi_bound) if hi_bound is not None else high
        rows.append((name, mean, low, high, spec.unit, spec.better, len(x), spec.description))
    columns = ["kpi", "mean", "ci_low", "ci_high", "unit", "better", "n", "description"]
    return pd.DataFrame(rows, columns=columns)
