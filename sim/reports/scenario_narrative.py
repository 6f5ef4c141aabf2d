"""A plain-language reading of a KPI summary, for sales managers.

:func:`scenario_narrative` turns the table of :func:`sim.experiments.replications.summarise` into a
short markdown list: volume, speed to first touch, the SLA breaker, qualification,
workload and fairness.  The text is deterministic (same summary, same words) and its
sentences follow the numbers: it flags a mean first touch beyond the policy's reminder
threshold, a team busier than 85% of its working time, and A-leads concentrated on a
few reps.
"""

from __future__ import annotations

import math

import pandas as pd

from policies.policy import PolicyBase, default_policy
from policies.sla import SlaLadder
from sim.world.scenario import Scenario

__all__ = ["BUSY_UTILISATION", "format_hours", "scenario_narrative"]

BUSY_UTILISATION = 0.85
"""Mean utilisation above which the narrative warns that the team is near capacity."""

_CONCENTRATED = 1.5
"""A top-20% A-lead share above this multiple of an even split counts as concentrated."""


def _is_number(value: float | None) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def format_hours(hours: float, clock: str = "") -> str:
    """*hours* with sensible precision: minutes below one hour, then hours.

    ``format_hours(0.25) == "15 minutes"``, ``format_hours(2.345, "business") ==
    "2.3 business hours"``, ``format_hours(31.6) == "32 hours"``; NaN gives ``"n/a"``.
    """
    if not _is_number(hours):
        return "n/a"
    label = f"{clock} " if clock else ""
    minutes = round(hours * 60)
    if hours > 0 and minutes == 0:
        return f"less than a {label}minute"
    if minutes < 60:
        return f"{minutes} {label}minute{'s' if minutes != 1 else ''}"
    text = f"{hours:.1f}" if hours < 10 else f"{hours:,.0f}"
    return f"{text} {label}hour{'s' if text != '1.0' else ''}"


def _percent(share: float) -> str:
    """A share as a percentage: one decimal below 10%, none above."""
    if not _is_number(share):
        return "n/a"
    return f"{share:.1%}" if abs(share) < 0.1 else f"{share:.0%}"


def _count(value: float) -> str:
    return f"{value:,.0f}" if _is_number(value) else "n/a"


def _reminder_step(sla: SlaLadder) -> tuple[float, str] | None:
    """Hours and action of the first reminder (else the first step), or None."""
    if not sla.steps:
        return None
    step = next((s for s in sla.steps if s.action == "remind"), sla.steps[0])
    return step.after_hours, step.action


def _volume(v: dict[str, float], scenario: Scenario, runs: int | None) -> str:
    days = scenario.horizon_days - scenario.warmup_days
    arrived = v.get("leads_arrived", math.nan)
    per_day = f" (about {arrived / days:,.0f} a day)" if _is_number(arrived) and days else ""
    reps = len(scenario.team.members())
    over = f"{runs} replication{'s' if runs != 1 else ''} of " if runs else ""
    text = (
        f"**Volume.** Over {over}{days:g} days, {_count(arrived)} leads arrived per "
        f"replication{per_day} for a team of {reps} reps."
    )
    waiting = v.get("leads_waiting_at_end", math.nan)
    if _is_number(waiting) and waiting > 0:
        text += f" {_count(waiting)} of them were still waiting for a first touch at the end."
    return text


def _speed(v: dict[str, float], ci: tuple[float, float]) -> str:
    mean = v.get("first_touch_hours_mean", math.nan)
    if not _is_number(mean):
        return "**Speed.** No lead was touched, so there are no first-touch times."
    interval = ""
    if all(_is_number(x) for x in ci):
        interval = f" (95% interval {format_hours(ci[0])} to {format_hours(ci[1])})"
    return (
        f"**Speed.** A lead waited on average {format_hours(mean)}{interval} for its first "
        f"touch, or {format_hours(v.get('first_touch_business_hours_mean'), 'business')}. "
        f"Half were touched within {format_hours(v.get('first_touch_hours_median'))} "
        f"({format_hours(v.get('first_touch_business_hours_median'), 'business')}) and "
        f"nine in ten within {format_hours(v.get('first_touch_hours_p90'))} "
        f"({format_hours(v.get('first_touch_business_hours_p90'), 'business')})."
    )


def _sla(v: dict[str, float], policy: PolicyBase) -> str:
    step = _reminder_step(policy.sla)
    if step is None:
        return "**SLA.** The policy has no SLA breaker: no reminders, no reclaims."
    arrived = v.get("leads_arrived", math.nan)
    if not _is_number(arrived) or arrived <= 0:
        return "**SLA.** No leads arrived, so the SLA breaker never acted."
    reminders = v.get("sla_reminders", math.nan) / arrived * 100
    reclaims = v.get("sla_reclaims", math.nan) / arrived * 100
    text = (
        f"**SLA.** The breaker sent {reminders:.1f} reminders and reclaimed "
        f"{reclaims:.1f} leads per 100 leads."
    )
    hours, action = step
    clock = policy.sla.clock
    key = "first_touch_business_hours_mean" if clock == "business" else "first_touch_hours_mean"
    mean = v.get(key, math.nan)
    threshold = f"{hours:g} {clock} hour{'s' if hours != 1 else ''}"
    what = "reminder" if action == "remind" else "reclaim"
    if not _is_number(mean):
        return text
    if mean > hours:
        text += (
            f" ⚠️ The mean first touch ({format_hours(mean, clock)}) is beyond the "
            f"policy's {what} threshold of {threshold}: the typical lead breaches the SLA."
        )
    else:
        text += (
            f" The mean first touch ({format_hours(mean, clock)}) is within the "
            f"policy's {what} threshold of {threshold}."
        )
    return text


def _qualification(v: dict[str, float]) -> str:
    rate = v.get("qualification_rate", math.nan)
    if not _is_number(rate):
        return "**Qualification.** No touched lead has an outcome yet."
    return (
        f"**Qualification.** {_percent(rate)} of touched leads qualified, "
        f"{_count(v.get('leads_qualified', math.nan))} per replication."
    )


def _workload(v: dict[str, float]) -> str:
    busy = v.get("rep_utilisation_mean", math.nan)
    if not _is_number(busy):
        return "**Workload.** No rep had working hours in the window."
    text = f"**Workload.** Reps spent {_percent(busy)} of their working hours touching leads"
    if busy > BUSY_UTILISATION:
        return text + (
            f". ⚠️ That is above {BUSY_UTILISATION:.0%}: the team is near capacity, and "
            "more volume or slower touches will make queues grow quickly."
        )
    if busy < 0.5:
        return text + ", so there is spare capacity."
    return text + "."


def _fairness(v: dict[str, float], scenario: Scenario) -> str:
    top = v.get("a_leads_top20_share", math.nan)
    if not _is_number(top):
        return "**Fairness.** No A-lead was assigned, so fairness cannot be judged."
    reps = len(scenario.team.members())
    even = math.ceil(0.2 * reps) / reps
    text = (
        f"**Fairness.** The 20% of reps who received the most A-leads got {_percent(top)} "
        f"of them; an even split would give them {_percent(even)}"
    )
    if top > _CONCENTRATED * even:
        return text + ". ⚠️ A-leads are concentrated on a few reps."
    return text + ", so A-leads are spread fairly evenly."


def scenario_narrative(
    summary: pd.DataFrame, scenario: Scenario, policy: PolicyBase | None = None
) -> str:
    """A markdown bullet list describing *summary* (from :func:`sim.experiments.replications.summarise`).

    *policy* (None: the default policy) supplies the SLA thresholds; *scenario* the
    team size and the length of the window.  KPIs missing from *summary* read as "n/a".
    """
    policy = policy if policy is not None else default_policy()
    table = summary.set_index("kpi")
    values = {name: float(x) for name, x in table["mean"].items()}
    ci = (math.nan, math.nan)
    if "first_touch_hours_mean" in table.index and {"ci_low", "ci_high"} <= set(table.columns):
        row = table.loc["first_touch_hours_mean"]
        ci = (float(row["ci_low"]), float(row["ci_high"]))
    runs = int(table["n"].max()) if "n" in table.columns and len(table) else None
    paragraphs = [
        _volume(values, scenario, runs),
        _speed(values, ci),
        _sla(values, policy),
        _qualification(values),
        _workload(values),
        _fairness(values, scenario),
    ]
    return "\n".join(f"- {p}" for p in paragraphs) + "\n"
