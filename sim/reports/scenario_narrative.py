"""A plain-language reading of a KPI summary, for sales managers.

:func:`scenario_narrative` turns the table of :func:`sim.experiments.replications.summarise` into a
short markdown list: volume, speed to first touch, the SLA breaker, qualification,
workload and fairness.  The text is deterministic (same summary, same words) and its
sentences follow the numbers: it flags a mean first touch beyond the policy's reminder
threshold, a team busier than 85% of its working time, and A-leads concentrated on a
few reps.  :func:`inputs_text` names the scenario and policies a report ran (name,
description, the team's regions, the lead channels).  Every name, description, region
or channel is user text and goes through :func:`sim.io.safe_text.escape_markdown`, so a
description such as ``<script>...</script>`` shows as text, never as markup.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from policies.policy import PolicyBase, default_policy
from policies.sla import SlaLadder
from sim.io.safe_text import escape_markdown
from sim.reports.formatting import KpiCard, Tone
from sim.reports.i18n import kpi_label, tr
from sim.reports.value_format import MISSING, fmt_hours, fmt_number, fmt_percent
from sim.world.scenario import Scenario

__all__ = [
    "BUSY_UTILISATION",
    "LONG_POOL_HOURS",
    "a_leads_concentrated",
    "even_top20_share",
    "format_hours",
    "inputs_text",
    "pool_is_long",
    "scenario_cards",
    "scenario_narrative",
    "scenario_verdict",
    "sla_breached",
]

BUSY_UTILISATION = 0.85
"""Mean utilisation above which the narrative warns that the team is near capacity."""

LONG_POOL_HOURS = 4.0
"""Mean routing-pool wait (hours) above which idle rep time is not called spare capacity."""

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


def _percent(share: float, lang: str = "en") -> str:
    """A share as a percentage: one decimal below 10%, none above."""
    if not _is_number(share):
        return "n/a" if lang == "en" else MISSING
    if lang != "en":
        return fmt_percent(share, lang, 1 if abs(share) < 0.1 else 0)
    return f"{share:.1%}" if abs(share) < 0.1 else f"{share:.0%}"


def _count(value: float, lang: str = "en") -> str:
    if not _is_number(value):
        return "n/a" if lang == "en" else MISSING
    return f"{value:,.0f}" if lang == "en" else fmt_number(value, lang, 0)


def _hours(hours: float | None, lang: str, clock: str = "") -> str:
    """A duration in the report's language (English: :func:`format_hours`)."""
    if lang == "en":
        return format_hours(hours, clock)  # type: ignore[arg-type]
    return fmt_hours(hours, lang)


def _reminder_step(sla: SlaLadder) -> tuple[float, str] | None:
    """Hours and action of the first reminder (else the first step), or None."""
    if not sla.steps:
        return None
    step = next((s for s in sla.steps if s.action == "remind"), sla.steps[0])
    return step.after_hours, step.action


def _runs_text(runs: int, lang: str) -> str:
    return tr("sr.runs_one", lang) if runs == 1 else tr("sr.runs_many", lang, n=runs)


def _volume(v: dict[str, float], scenario: Scenario, runs: int | None, lang: str) -> str:
    days = scenario.horizon_days - scenario.warmup_days
    arrived = v.get("leads_arrived", math.nan)
    per_day = (
        tr("sr.volume.per_day", lang, n=_count(arrived / days, lang))
        if _is_number(arrived) and days
        else ""
    )
    over = ""
    if runs:
        over = tr("sr.volume.over_one" if runs == 1 else "sr.volume.over_many", lang, n=runs)
    text = tr(
        "sr.volume",
        lang,
        over=over,
        days=f"{days:g}",
        arrived=_count(arrived, lang),
        per_day=per_day,
        reps=len(scenario.team.members()),
    )
    waiting = v.get("leads_waiting_at_end", math.nan)
    if _is_number(waiting) and waiting > 0:
        text += tr("sr.volume.waiting", lang, n=_count(waiting, lang))
    return text


def _business(hours: float | None, lang: str) -> str:
    """A working-time duration; exactly zero (touched before any working time passed)
    says so rather than printing "0 minutes"."""
    if _is_number(hours) and hours == 0:
        return tr("sr.speed.no_working_time", lang)
    return _hours(hours, lang, "business")


def _speed(v: dict[str, float], ci: tuple[float, float], lang: str) -> str:
    mean = v.get("first_touch_hours_mean", math.nan)
    if not _is_number(mean):
        return tr("sr.speed.none", lang)
    interval = ""
    if all(_is_number(x) for x in ci):
        interval = tr("sr.speed.interval", lang, low=_hours(ci[0], lang), high=_hours(ci[1], lang))
    return tr(
        "sr.speed",
        lang,
        mean=_hours(mean, lang),
        interval=interval,
        bmean=_business(v.get("first_touch_business_hours_mean"), lang),
        median=_hours(v.get("first_touch_hours_median"), lang),
        bmedian=_business(v.get("first_touch_business_hours_median"), lang),
        p90=_hours(v.get("first_touch_hours_p90"), lang),
        bp90=_business(v.get("first_touch_business_hours_p90"), lang),
    )


def sla_breached(v: Mapping[str, float], policy: PolicyBase) -> bool:
    """Whether the mean first touch (on the policy's SLA clock) is beyond its reminder."""
    step = _reminder_step(policy.sla)
    if step is None:
        return False
    key = (
        "first_touch_business_hours_mean"
        if policy.sla.clock == "business"
        else "first_touch_hours_mean"
    )
    mean = v.get(key, math.nan)
    return _is_number(mean) and mean > step[0]


def _sla(v: dict[str, float], policy: PolicyBase, lang: str) -> str:
    step = _reminder_step(policy.sla)
    if step is None:
        return tr("sr.sla.none", lang)
    arrived = v.get("leads_arrived", math.nan)
    if not _is_number(arrived) or arrived <= 0:
        return tr("sr.sla.no_leads", lang)
    per_100 = [v.get(k, math.nan) / arrived * 100 for k in ("sla_reminders", "sla_reclaims")]
    one = [f"{x:.1f}" if lang == "en" else fmt_number(x, lang, 1) for x in per_100]
    text = tr("sr.sla.counts", lang, reminders=one[0], reclaims=one[1])
    hours, action = step
    clock = policy.sla.clock
    key = "first_touch_business_hours_mean" if clock == "business" else "first_touch_hours_mean"
    mean = v.get(key, math.nan)
    if not _is_number(mean):
        return text
    threshold = tr(
        f"sr.sla.threshold_{'business' if clock == 'business' else 'calendar'}",
        lang,
        h=f"{hours:g}",
        s="s" if hours != 1 else "",
    )
    what = tr("sr.sla.reminder" if action == "remind" else "sr.sla.reclaim", lang)
    which = "sr.sla.beyond" if mean > hours else "sr.sla.within"
    return text + tr(which, lang, mean=_hours(mean, lang, clock), what=what, threshold=threshold)


def _qualification(v: dict[str, float], lang: str) -> str:
    rate = v.get("qualification_rate", math.nan)
    if not _is_number(rate):
        return tr("sr.qualification.none", lang)
    n = _count(v.get("leads_qualified", math.nan), lang)
    return tr("sr.qualification", lang, rate=_percent(rate, lang), n=n)


def pool_is_long(v: Mapping[str, float]) -> bool:
    """Whether leads waited long (over :data:`LONG_POOL_HOURS` on average) in the pool."""
    pool = v.get("pool_wait_hours_mean", math.nan)
    return _is_number(pool) and pool > LONG_POOL_HOURS


def _workload(v: dict[str, float], lang: str, off_shift: float | None) -> str:
    busy = v.get("rep_utilisation_mean", math.nan)
    if not _is_number(busy):
        return tr("sr.workload.none", lang)
    text = tr("sr.workload", lang, busy=_percent(busy, lang))
    if busy > BUSY_UTILISATION:
        return text + tr("sr.workload.busy", lang, limit=_percent(BUSY_UTILISATION, lang))
    if pool_is_long(v):  # idle reps next to long pool waits are no spare capacity
        pool = _hours(v["pool_wait_hours_mean"], lang)
        if off_shift is not None and _is_number(off_shift) and off_shift >= 0.5:
            return text + tr(
                "sr.workload.off_shift", lang, pool=pool, share=_percent(off_shift, lang)
            )
        return text + tr("sr.workload.pool_short", lang, pool=pool)
    if busy < 0.5:
        return text + tr("sr.workload.spare", lang)
    return text + tr("sr.workload.plain", lang)


def even_top20_share(scenario: Scenario) -> float:
    """The share of A-leads the top 20% of reps would get from an even split."""
    reps = len(scenario.team.members())
    return math.ceil(0.2 * reps) / reps if reps else math.nan


def a_leads_concentrated(v: Mapping[str, float], scenario: Scenario) -> bool:
    """Whether the top 20% of reps hold over 1.5 times their even share of A-leads."""
    top = v.get("a_leads_top20_share", math.nan)
    return _is_number(top) and top > _CONCENTRATED * even_top20_share(scenario)


def _fairness(v: dict[str, float], scenario: Scenario, lang: str) -> str:
    top = v.get("a_leads_top20_share", math.nan)
    if not _is_number(top):
        return tr("sr.fairness.none", lang)
    even = even_top20_share(scenario)
    text = tr("sr.fairness", lang, top=_percent(top, lang), even=_percent(even, lang))
    concentrated = a_leads_concentrated(v, scenario)
    return text + tr("sr.fairness.concentrated" if concentrated else "sr.fairness.even", lang)


def scenario_narrative(
    summary: pd.DataFrame,
    scenario: Scenario,
    policy: PolicyBase | None = None,
    lang: str = "en",
    off_shift_share: float | None = None,
) -> str:
    """A markdown bullet list describing *summary* (from
    :func:`sim.experiments.replications.summarise`), in *lang*.

    *policy* (None: the default policy) supplies the SLA thresholds; *scenario* the
    team size and the length of the window.  KPIs missing from *summary* read as "n/a".
    *off_shift_share* (the ``off_shift_share`` of
    :func:`sim.outcomes.lead_flow_health.pool_wait_context`) lets the workload line say
    whether long pool waits are leads waiting for the next shift: idle working hours
    next to long pool waits are never called spare capacity.
    """
    policy = policy if policy is not None else default_policy()
    values, ci, runs = _values(summary)
    paragraphs = [
        ("volume", _volume(values, scenario, runs, lang)),
        ("speed", _speed(values, ci, lang)),
        ("sla", _sla(values, policy, lang)),
        ("qualification", _qualification(values, lang)),
        ("workload", _workload(values, lang, off_shift_share)),
        ("fairness", _fairness(values, scenario, lang)),
    ]
    return "\n".join(f"- {tr('sr.head.' + k, lang)} {p}" for k, p in paragraphs) + "\n"


def _values(summary: pd.DataFrame) -> tuple[dict[str, float], tuple[float, float], int | None]:
    """Means by KPI, the first-touch interval and the number of replications."""
    table = summary.set_index("kpi")
    values = {name: float(x) for name, x in table["mean"].items()}
    ci = (math.nan, math.nan)
    if "first_touch_hours_mean" in table.index and {"ci_low", "ci_high"} <= set(table.columns):
        row = table.loc["first_touch_hours_mean"]
        ci = (float(row["ci_low"]), float(row["ci_high"]))
    runs = int(table["n"].max()) if "n" in table.columns and len(table) else None
    return values, ci, runs


def _named(role: str, spec) -> str:
    description = f": {escape_markdown(spec.description)}" if spec.description else ""
    return f"**{escape_markdown(role)}** {escape_markdown(spec.name)}{description}"


def inputs_text(scenario: Scenario, policies: Mapping[str, PolicyBase] | None = None) -> str:
    """Markdown paragraphs naming a report's inputs, every user string escaped.

    The scenario (name and description), its team size, the regions of its reps and
    leads, and the lead channels,
    then one paragraph per entry of *policies* (role label -> policy: its name and
    description), e.g. ``{"Policy": policy}`` or ``{"Baseline": a, "Candidate": b}``.
    """
    members = scenario.team.members()
    regions = sorted({m.region for m in members} | set(scenario.leads.regions))
    channels = list(scenario.leads.channels)
    lines = [
        _named("Scenario", scenario),
        f"**Team** {len(members)} reps; regions: "
        + ", ".join(escape_markdown(r) for r in regions)
        + "; lead channels: "
        + ", ".join(escape_markdown(c) for c in channels),
    ]
    lines += [_named(role, policy) for role, policy in (policies or {}).items()]
    return "\n\n".join(lines) + "\n"


def scenario_verdict(
    summary: pd.DataFrame,
    scenario: Scenario,
    policy: PolicyBase | None = None,
    lang: str = "en",
) -> tuple[str, Tone]:
    """The first-screen verdict of a scenario report: first touch with its interval and
    the qualification rate, then the warning signs (or that there are none), and the
    tone that colours it."""
    policy = policy if policy is not None else default_policy()
    v, ci, _ = _values(summary)
    mean = v.get("first_touch_hours_mean", math.nan)
    if not _is_number(mean):
        return tr("sr.verdict.no_touch", lang), "neutral"
    head = tr(
        "sr.verdict.speed",
        lang,
        mean=fmt_hours(mean, lang),
        interval=tr(
            "sr.verdict.interval", lang, low=fmt_hours(ci[0], lang), high=fmt_hours(ci[1], lang)
        )
        if all(_is_number(x) for x in ci) and ci[0] != ci[1]
        else "",
        business=fmt_hours(v.get("first_touch_business_hours_mean"), lang),
        qualified=fmt_percent(v.get("qualification_rate"), lang),
    )
    issues = []
    if sla_breached(v, policy):
        issues.append(tr("sr.issue.sla", lang))
    if _is_number(v.get("rep_utilisation_mean")) and v["rep_utilisation_mean"] > BUSY_UTILISATION:
        issues.append(tr("sr.issue.busy", lang))
    if pool_is_long(v):
        issues.append(tr("sr.issue.pool", lang, hours=fmt_hours(v["pool_wait_hours_mean"], lang)))
    if a_leads_concentrated(v, scenario):
        issues.append(tr("sr.issue.concentrated", lang))
    waiting = v.get("leads_waiting_at_end", math.nan)
    if _is_number(waiting) and waiting > 0.02 * v.get("leads_arrived", math.inf):
        issues.append(tr("sr.issue.backlog", lang, n=fmt_number(waiting, lang, 0)))
    if not issues:
        return f"{head}\n\n{tr('sr.verdict.ok', lang)}", "better"
    sep = "; " if lang == "en" else "；"
    return f"{head}\n\n{tr('sr.verdict.issues', lang, issues=sep.join(issues))}", "worse"


def scenario_cards(
    summary: pd.DataFrame, scenario: Scenario, policy: PolicyBase | None = None, lang: str = "en"
) -> list[KpiCard]:
    """Four headline cards: first touch (with its interval), qualification rate, SLA
    reminders per 100 leads and the top 20% of reps' A-lead share."""
    policy = policy if policy is not None else default_policy()
    table = summary.set_index("kpi")
    v, ci, _ = _values(summary)
    cards = []
    if _is_number(v.get("first_touch_hours_mean")):
        low, high = ci
        detail = (
            tr("sr.card.interval", lang, low=fmt_hours(low, lang), high=fmt_hours(high, lang))
            if _is_number(low) and _is_number(high) and low != high
            else tr(
                "sr.card.business",
                lang,
                business=fmt_hours(v.get("first_touch_business_hours_mean"), lang),
            )
        )
        tone: Tone = "worse" if sla_breached(v, policy) else "neutral"
        cards.append(
            KpiCard(
                kpi_label("first_touch_hours_mean", lang),
                fmt_hours(v["first_touch_hours_mean"], lang),
                detail,
                tone,
            )
        )
    if "qualification_rate" in table.index:
        cards.append(
            KpiCard(
                kpi_label("qualification_rate", lang),
                fmt_percent(v["qualification_rate"], lang),
                kpi_label("leads_qualified", lang)
                + " "
                + fmt_number(v.get("leads_qualified"), lang, 0),
            )
        )
    arrived = v.get("leads_arrived", math.nan)
    if "sla_reminders" in table.index and _is_number(arrived) and arrived > 0:
        per_100 = fmt_number(v["sla_reminders"] / arrived * 100, lang, 1)
        cards.append(
            KpiCard(
                kpi_label("sla_reminders", lang),
                fmt_number(v["sla_reminders"], lang, 0),
                tr("sr.card.reminders_detail", lang, n=per_100),
            )
        )
    if "pool_wait_hours_mean" in table.index and pool_is_long(v):
        cards.append(
            KpiCard(
                kpi_label("pool_wait_hours_mean", lang),
                fmt_hours(v["pool_wait_hours_mean"], lang),
                "",
                "worse",
            )
        )
    if _is_number(v.get("a_leads_top20_share")):
        tone = "worse" if a_leads_concentrated(v, scenario) else "neutral"
        even = fmt_percent(even_top20_share(scenario), lang, 0)
        cards.append(
            KpiCard(
                kpi_label("a_leads_top20_share", lang),
                fmt_percent(v["a_leads_top20_share"], lang),
                tr("sr.card.top20_detail", lang, even=even),
                tone,
            )
        )
    return cards[:5]
