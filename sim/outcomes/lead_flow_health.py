"""The monthly lead-flow health report (DOMAIN.md 1.6): where leads stall, how many
cross regions, the A-lead funnel and its break points, and what intake dropped.

Pure functions of a finished run.  Like the KPIs they look at the measurement window
(leads arriving at or after the warm-up); a lead belongs to the calendar month of its
arrival (``scenario.start + arrived_t``, label ``YYYY-MM``).  Functions that count leads
also take a list of runs (replications) and pool their counts, so a share is the pooled
count over the pooled count, not a mean of per-run shares.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.engine.intake import intake_counts, potential_grades  # the definition intake_counts uses
from sim.engine.result import RunResult
from sim.outcomes.fairness import stall_positions, stall_segments
from sim.outcomes.kpis import KPIS
from sim.outcomes.measurement import window
from sim.world.clock import SimClock

__all__ = [
    "FAIRNESS_KPIS",
    "FUNNEL_STAGES",
    "a_lead_funnel",
    "a_lead_mask",
    "dropped_defaulted_by_channel",
    "fairness_figures",
    "funnel_break_points",
    "misrouting_by_month",
    "month_of",
    "pool_wait_context",
    "region_balance",
    "sla_threshold",
    "top_stall_positions",
]

Runs = RunResult | Sequence[RunResult]

FUNNEL_STAGES: dict[str, str | None] = {
    "arrived": None,
    "admitted": "arrived",
    "assigned": "admitted",
    "touched within SLA": "assigned",
    "touched": "assigned",
    "qualified": "touched",
}
"""Stages of the A-lead funnel, in report order, each with the stage it is a share of.

``touched within SLA`` (first touch within the SLA reminder threshold of arrival, see
:func:`sla_threshold`) is a subset of ``touched``, so both are shares of ``assigned``:
the first says how many were reached in time, the second how many at all."""

FAIRNESS_KPIS = (
    "a_leads_top20_share",
    "a_leads_gini",
    "a_leads_max_rep_share",
    "cross_region_share",
    "new_rep_days_to_valid_lead",
)
"""KPIs (:data:`sim.outcomes.kpis.KPIS`) shown as the report's fairness figures."""

DEFAULT_THRESHOLD = (2.0, "calendar")
"""SLA reminder threshold when the policy has no SLA step: 2 h on the calendar clock."""


def _runs(results: Runs) -> list[RunResult]:
    return [results] if isinstance(results, RunResult) else list(results)


def month_of(result: RunResult, leads: pd.DataFrame | None = None) -> pd.Series:
    """Calendar month (``YYYY-MM``) of each lead's arrival, from ``scenario.start``."""
    leads = result.leads if leads is None else leads
    when = SimClock(result.scenario.start).timestamps(leads["arrived_t"])
    return when.dt.strftime("%Y-%m").rename("month")


def sla_threshold(result: RunResult) -> tuple[float, str]:
    """``(hours, clock)`` of the policy's SLA reminder: its first ``remind`` step, else its
    first step; with no step at all, :data:`DEFAULT_THRESHOLD`."""
    sla = result.policy.sla
    steps = [s for s in sla.steps if s.action == "remind"] or list(sla.steps)
    return (steps[0].after_hours, sla.clock) if steps else DEFAULT_THRESHOLD


def a_lead_mask(result: RunResult, leads: pd.DataFrame) -> pd.Series:
    """True for the A-leads among *leads*: admitted leads graded A, and dropped leads
    whose *potential* grade is A (their missing fields filled as
    :func:`sim.engine.intake.intake_counts` does), since a dropped lead was graded without them."""
    dropped = leads["dropped_reason"].notna()
    is_a = (leads["grade"] == "A") & ~dropped
    if dropped.any():
        is_a[dropped] = potential_grades(result, leads[dropped]) == "A"
    return is_a.astype(bool)


def _stage_flags(result: RunResult) -> pd.DataFrame:
    """One row per window A-lead: month and a boolean column per funnel stage."""
    leads = window(result)
    leads = leads[a_lead_mask(result, leads)]
    hours, clock = sla_threshold(result)
    wait = leads["first_touch_business_hours" if clock == "business" else "first_touch_hours"]
    touched = leads["first_touch_t"].notna()
    return pd.DataFrame(
        {
            "month": month_of(result, leads),
            "arrived": True,
            "admitted": leads["dropped_reason"].isna(),
            "assigned": leads["first_assigned_t"].notna(),
            "touched within SLA": touched & (wait <= hours + 1e-9),
            "touched": touched,
            "qualified": leads["qualified"].fillna(False).astype(bool),
        }
    )


def _months(results: list[RunResult]) -> list[str]:
    """Every month with a window lead (any grade) in any run, in order."""
    return sorted({m for r in results for m in month_of(r, window(r)).unique()})


def a_lead_funnel(results: Runs) -> pd.DataFrame:
    """The A-lead funnel per arrival month: month, stage, of_stage, leads,
    share_of_previous (leads / leads of ``of_stage``; NaN when that is 0; 1 for the
    first stage).

    Stages are :data:`FUNNEL_STAGES`: A-leads arrived (:func:`a_lead_mask`: a lead
    dropped at intake counts by its potential grade) -> admitted (not dropped at
    intake) -> assigned (to a rep, at least once) -> touched within the SLA reminder
    threshold -> touched -> qualified.  Every month with a window lead gets every stage
    (zeros included).  Several runs: counts are summed.
    """
    runs = _runs(results)
    stages = list(FUNNEL_STAGES)
    flags = pd.concat([_stage_flags(r) for r in runs], ignore_index=True)
    counts = (
        flags.groupby("month")[stages].sum().reindex(_months(runs), fill_value=0).astype(np.int64)
    )
    rows = []
    for month, row in counts.iterrows():
        for stage, base in FUNNEL_STAGES.items():
            leads = int(row[stage])
            total = int(row[base]) if base else None
            if base is None:  # the first stage: 1 when it has any lead
                share = 1.0 if leads else np.nan
            else:
                share = leads / total if total else np.nan
            rows.append(
                {
                    "month": month,
                    "stage": stage,
                    "of_stage": base,
                    "leads": leads,
                    "share_of_previous": share,
                }
            )
    columns = ["month", "stage", "of_stage", "leads", "share_of_previous"]
    return pd.DataFrame(rows, columns=columns).astype({"leads": np.int64})


def funnel_break_points(funnel: pd.DataFrame, exclude: Sequence[str] = ()) -> pd.DataFrame:
    """Per month, the stage that loses the largest share of its ``of_stage``: month,
    stage, of_stage, lost (leads), loss_share (1 - share_of_previous).

    *exclude* leaves stages out of the ranking: ``("qualified",)`` finds the process
    break point (intake, routing, touching), apart from the leads that did not qualify.
    Ties go to the earlier stage; a month where no stage has a share (no A-lead) is left
    out, and so is a month that loses nothing anywhere.
    """
    keep = funnel["of_stage"].notna() & ~funnel["stage"].isin(list(exclude))
    steps = funnel[keep & funnel["share_of_previous"].notna()].copy()
    base = funnel.set_index(["month", "stage"])["leads"]
    steps["lost"] = [
        int(base[(m, b)]) - n
        for m, b, n in zip(steps["month"], steps["of_stage"], steps["leads"], strict=True)
    ]
    steps["loss_share"] = 1.0 - steps["share_of_previous"]
    steps = steps[steps["lost"] > 0]
    worst = steps.loc[steps.groupby("month", sort=True)["loss_share"].idxmax()]
    columns = ["month", "stage", "of_stage", "lost", "loss_share"]
    return worst[columns].astype({"lost": np.int64}).reset_index(drop=True)


def misrouting_by_month(results: Runs) -> pd.DataFrame:
    """Cross-region routing per arrival month: month, assigned (window leads with a
    first rep), cross_region (first rep's region differs from the lead's),
    cross_region_share.  The whole-window share is the KPI ``cross_region_share``.
    Several runs: counts are summed."""
    runs = _runs(results)
    frames = []
    for r in runs:
        leads = window(r)
        leads = leads[leads["first_rep"].notna()]
        region = r.reps.set_index("rep_id")["region"]
        frames.append(
            pd.DataFrame(
                {
                    "month": month_of(r, leads),
                    "assigned": 1,
                    "cross_region": (leads["first_rep"].map(region) != leads["region"]).astype(int),
                }
            )
        )
    table = (
        pd.concat(frames, ignore_index=True)
        .groupby("month")[["assigned", "cross_region"]]
        .sum()
        .reindex(_months(runs), fill_value=0)
        .astype(np.int64)
        .rename_axis("month")
        .reset_index()
    )
    assigned = table["assigned"].where(table["assigned"] > 0)
    table["cross_region_share"] = table["cross_region"] / assigned
    return table


def top_stall_positions(result: RunResult, n: int = 5) -> pd.DataFrame:
    """The *n* positions where window leads waited longest in total (each rep's queue is
    its own position): :func:`sim.outcomes.fairness.stall_positions` cut to its first *n* rows."""
    return stall_positions(result, top=n).reset_index(drop=True)


def dropped_defaulted_by_channel(results: Runs) -> pd.DataFrame:
    """Intake by channel: channel, dropped, defaulted (leads), a_leads_lost (dropped
    leads whose potential grade is A), reasons (comma-separated), from
    :func:`sim.engine.intake.intake_counts`.  A lead defaulted on two fields counts twice in
    ``defaulted``.  No row when intake dropped and defaulted nothing.  Several runs:
    counts are summed."""
    counts = pd.concat([intake_counts(r) for r in _runs(results)], ignore_index=True)
    columns = ["channel", "dropped", "defaulted", "a_leads_lost", "reasons"]
    if counts.empty:
        return pd.DataFrame(
            {
                c: pd.Series(dtype=object if c in ("channel", "reasons") else np.int64)
                for c in columns
            }
        )
    leads = counts.pivot_table(
        index="channel", columns="action", values="leads", aggfunc="sum", fill_value=0
    ).reindex(columns=["dropped", "defaulted"], fill_value=0)
    table = leads.assign(
        a_leads_lost=counts.groupby("channel")["a_leads_lost"].sum(),
        reasons=counts.groupby("channel")["reason"].agg(lambda r: ", ".join(sorted(set(r)))),
    )
    table = table.rename_axis(columns=None).reset_index()
    return table[columns].astype({c: np.int64 for c in ("dropped", "defaulted", "a_leads_lost")})


def fairness_figures(results: Runs) -> pd.DataFrame:
    """The :data:`FAIRNESS_KPIS`, mean over the runs: kpi, value, unit, description."""
    runs = _runs(results)
    rows = []
    for name in FAIRNESS_KPIS:
        kpi = KPIS[name]
        values = np.array([kpi.compute(r) for r in runs], dtype=float)
        finite = values[np.isfinite(values)]
        rows.append(
            {
                "kpi": name,
                "value": float(finite.mean()) if len(finite) else np.nan,
                "unit": kpi.unit,
                "description": kpi.description,
            }
        )
    return pd.DataFrame(rows, columns=["kpi", "value", "unit", "description"])


def pool_wait_context(results: Runs) -> dict[str, float]:
    """Why leads waited in the routing pool, pooled over the runs: ``stretches`` and
    ``hours`` of pool waiting in the window, and ``off_shift_share``, the share of
    those hours spent by stretches that began while no rep's calendar was working (a
    lead of a night, a weekend or a holiday waiting for the next shift), with
    ``off_shift_stretch_share`` the same as a share of the stretches."""
    from sim.engine.team import build_calendar

    stretches = hours = off_stretches = off_hours = 0.0
    for r in _runs(results):
        seg = stall_segments(r)
        seg = seg[(seg["start"] >= r.scenario.warmup_hours) & (seg["position"] == "pool")]
        used = sorted(set(r.reps["calendar"]))
        calendars = [
            build_calendar(r.scenario.calendars[key], r.scenario.start, r.scenario.horizon_days)
            for key in used
            if key in r.scenario.calendars
        ]
        off = np.array(
            [not any(c.is_working(float(t)) for c in calendars) for t in seg["start"]], dtype=bool
        )
        stretches += len(seg)
        hours += float(seg["hours"].sum())
        off_stretches += float(off.sum())
        off_hours += float(seg["hours"].to_numpy()[off].sum()) if len(seg) else 0.0
    return {
        "stretches": stretches,
        "hours": hours,
        "off_shift_share": off_hours / hours if hours > 0 else float("nan"),
        "off_shift_stretch_share": off_stretches / stretches if stretches else float("nan"),
    }


def region_balance(results: Runs) -> pd.DataFrame:
    """Leads and reps per region, pooled over the runs: region, leads (assigned window
    leads arriving there), lead_share, reps, rep_share, cross_region (leads whose first
    rep is of another region), cross_region_share (of the region's leads).  A region
    with a larger share of the leads than of the reps sends leads elsewhere when the
    routing ignores regions."""
    rows = []
    for r in _runs(results):
        leads = window(r)
        leads = leads[leads["first_rep"].notna()]
        region = r.reps.set_index("rep_id")["region"]
        rows.append(
            pd.DataFrame(
                {
                    "region": leads["region"].astype(str),
                    "leads": 1,
                    "cross_region": (leads["first_rep"].map(region) != leads["region"]).astype(int),
                }
            )
        )
    table = pd.concat(rows, ignore_index=True).groupby("region")[["leads", "cross_region"]].sum()
    reps = _runs(results)[0].reps["region"].astype(str).value_counts()
    table = table.reindex(sorted(set(table.index) | set(reps.index)), fill_value=0)
    table["reps"] = reps.reindex(table.index, fill_value=0).astype(np.int64)
    table["lead_share"] = table["leads"] / max(int(table["leads"].sum()), 1)
    table["rep_share"] = table["reps"] / max(int(table["reps"].sum()), 1)
    table["cross_region_share"] = table["cross_region"] / table["leads"].where(table["leads"] > 0)
    columns = ["leads", "lead_share", "reps", "rep_share", "cross_region", "cross_region_share"]
    return table[columns].rename_axis("region").reset_index()
