"""KPIs: named measures with a unit and a direction, pure functions of a RunResult.

Every KPI looks at the measurement window: leads that arrived at or after the
scenario's warm-up, and rep time from the warm-up to the horizon.  Leads still
untouched at the horizon are censored: they count in ``leads_waiting_at_end`` and not in
first-touch statistics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from sim.engine.event_log import Kind
from sim.engine.result import RunResult

__all__ = [
    "KPIS",
    "Kpi",
    "a_lead_shares",
    "all_kpis",
    "kpi",
    "kpi_registrar",
    "kpi_specs",
    "kpi_table",
    "kpis",
    "queue_length",
    "rep_load",
]


@dataclass(frozen=True)
class Kpi:
    """A named outcome measure."""

    name: str
    unit: str
    better: Literal["lower", "higher", "none"]
    description: str
    compute: Callable[[RunResult], float]
    bounds: tuple[float | None, float | None] = (0.0, None)  # the values it can take


KPIS: dict[str, Kpi] = {}
"""All KPIs by name, in definition order (the order of tables and reports)."""


def kpi_registrar(registry: dict[str, Kpi], label: str = "KPI"):
    """A decorator factory ``(name, unit, better, description)`` that registers a KPI
    function ``f(result) -> float`` in *registry* (a name defined twice is an error).

    Every KPI is a count, a duration or a rate, so its bounds are ``(0, None)``; a unit
    of ``share`` bounds it to ``(0, 1)``.
    """

    def register(
        name: str, unit: str, better: Literal["lower", "higher", "none"], description: str
    ):
        def decorate(fn: Callable[[RunResult], float]) -> Callable[[RunResult], float]:
            if name in registry:
                raise ValueError(f"{label} {name!r} is defined twice")
            bounds = (0.0, 1.0) if unit == "share" else (0.0, None)
            registry[name] = Kpi(name, unit, better, description, fn, bounds)
            return fn

        return decorate

    return register


kpi = kpi_registrar(KPIS)
"""Decorator registering a lead-flow KPI in :data:`KPIS`."""


def window(result: RunResult) -> pd.DataFrame:
    """Leads that arrived inside the measurement window (at or after the warm-up)."""
    leads = result.leads
    return leads[leads["arrived_t"] >= result.scenario.warmup_hours]


def _touched(result: RunResult) -> pd.DataFrame:
    leads = window(result)
    return leads[leads["first_touch_t"].notna()]


def _quantile(values: pd.Series, q: float) -> float:
    return float(values.quantile(q)) if len(values) else float("nan")


def _mean(values: pd.Series) -> float:
    return float(values.mean()) if len(values) else float("nan")


@kpi("leads_arrived", "leads", "none", "Leads that arrived in the window")
def _leads_arrived(r: RunResult) -> float:
    return float(len(window(r)))


@kpi("leads_assigned", "leads", "higher", "Leads assigned to a rep at least once")
def _leads_assigned(r: RunResult) -> float:
    return float(window(r)["first_assigned_t"].notna().sum())


@kpi("leads_waiting_at_end", "leads", "lower", "Admitted leads not yet touched at the horizon")
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

        kpi(
            f"{_col}_{_stat}",
            "h",
            "lower",
            f"{_label} first-touch time from arrival, {_clock} hours",
        )(_ft)


@kpi("sla_reminders", "events", "lower", "SLA reminders sent for window leads")
def _reminders(r: RunResult) -> float:
    return float(window(r)["reminders"].sum())


@kpi("sla_reclaims", "events", "lower", "Leads reclaimed by the SLA breaker (window leads)")
def _reclaims(r: RunResult) -> float:
    return float(window(r)["reclaims"].sum())


@kpi(
    "reassignments_per_lead",
    "per lead",
    "lower",
    "Mean extra assignments per assigned lead (0 = never reassigned)",
)
def _reassignments(r: RunResult) -> float:
    assigned = window(r)
    assigned = assigned[assigned["assignments"] > 0]
    return _mean(assigned["assignments"] - 1)


@kpi(
    "rep_utilisation_mean",
    "share",
    "none",
    "Mean over reps of touch hours / working hours in the window",
)
def _utilisation(r: RunResult) -> float:
    load = rep_load(r)
    return _mean(load["utilisation"].dropna())


@kpi("qualification_rate", "share", "higher", "Qualified leads / touched leads")
def _qualification_rate(r: RunResult) -> float:
    done = window(r)["qualified"].dropna()
    return float(done.mean()) if len(done) else float("nan")


@kpi("leads_qualified", "leads", "higher", "Touched leads that qualified")
def _leads_qualified(r: RunResult) -> float:
    return float(window(r)["qualified"].fillna(False).sum())


@kpi(
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


@kpi("a_leads_max_rep_share", "share", "lower", "Largest share of A-leads held by one rep")
def _a_max(r: RunResult) -> float:
    shares = a_lead_shares(r)
    return float(shares.max()) if len(shares) and shares.sum() > 0 else float("nan")


# Intake (DOMAIN.md 1.2, sim/engine/intake.py): a dropped lead is never routed; by channel and
# reason in sim.engine.intake.intake_counts.
@kpi("leads_dropped", "leads", "lower", "Leads dropped at intake (a required field missing)")
def _leads_dropped(r: RunResult) -> float:
    return float(window(r)["dropped_reason"].notna().sum())


@kpi("leads_defaulted", "leads", "none", "Leads admitted with a channel default for a field")
def _leads_defaulted(r: RunResult) -> float:
    return float(window(r)["defaulted_fields"].notna().sum())


@kpi("dropped_share", "share", "lower", "Leads dropped at intake / leads arrived")
def _dropped_share(r: RunResult) -> float:
    leads = window(r)
    return float(leads["dropped_reason"].notna().mean()) if len(leads) else float("nan")


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


def all_kpis() -> dict[str, Kpi]:
    """Every registered KPI: the lead-flow :data:`KPIS`, then the process KPIs
    (:data:`sim.outcomes.process_kpis.PROCESS_KPIS`)."""
    from sim.outcomes.process_kpis import PROCESS_KPIS  # imports this module: import lazily

    return {**KPIS, **PROCESS_KPIS}


def kpi_specs(scenario) -> dict[str, Kpi]:
    """The KPIs of runs of *scenario*: :data:`KPIS`, plus the process KPIs when it has a
    ``process:`` section (other scenarios' tables keep their columns)."""
    if getattr(scenario, "process", None) is None:
        return KPIS
    return all_kpis()


def kpis(result: RunResult) -> dict[str, float]:
    """Every KPI of *result* (see :func:`kpi_specs`), in definition order."""
    return {name: k.compute(result) for name, k in kpi_specs(result.scenario).items()}


def kpi_table(result: RunResult) -> pd.DataFrame:
    """KPIs as a table: kpi, value, unit, better, description."""
    values = kpis(result)
    return pd.DataFrame(
        [
            {
                "kpi": k.name,
                "value": values[k.name],
                "unit": k.unit,
                "better": k.better,
                "description": k.description,
            }
            for k in kpi_specs(result.scenario).values()
        ]
    )
