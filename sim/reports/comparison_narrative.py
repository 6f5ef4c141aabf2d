"""A plain-language reading of a before/after policy comparison, for sales managers.

:func:`comparison_narrative` turns the table of :func:`sim.experiments.replications.paired_differences`
into a markdown list: one overall line, then, for each headline KPI that has values, the
baseline and candidate means, the change with its 95% interval and whether it is a clear
improvement.  The text is deterministic (same table, same words); KPIs whose values are
missing (NaN) or absent from the table are left out.
"""

from __future__ import annotations

import math

import pandas as pd

from sim.reports.scenario_narrative import format_hours

__all__ = [
    "HEADLINE_KPIS",
    "SHORT_NAMES",
    "comparison_narrative",
    "format_change",
    "format_level",
]

HEADLINE_KPIS: dict[str, str] = {
    "first_touch_hours_mean": "Mean time to first touch (calendar hours)",
    "first_touch_business_hours_mean": "Mean time to first touch (business hours)",
    "sla_reminders": "SLA reminders per replication",
    "sla_reclaims": "Leads reclaimed by the SLA breaker per replication",
    "qualification_rate": "Qualification rate (qualified / touched leads)",
    "leads_qualified": "Leads qualified per replication",
    "rep_utilisation_mean": "Rep utilisation (share of working hours spent touching leads)",
    "a_leads_top20_share": "Share of A-leads going to the top 20% of reps",
    "a_leads_gini": "Spread of A-leads over reps (Gini: 0 = even)",
    "cross_region_share": "Leads assigned to a rep of another region",
    "new_rep_days_to_valid_lead": "Days until a new rep gets a first lead that qualifies",
}
"""KPIs the narrative reads, in order, with their plain-language names."""

SHORT_NAMES: dict[str, str] = {
    "first_touch_hours_mean": "first touch (calendar)",
    "first_touch_business_hours_mean": "first touch (business)",
    "sla_reminders": "reminders",
    "sla_reclaims": "reclaims",
    "qualification_rate": "qualification rate",
    "leads_qualified": "leads qualified",
    "rep_utilisation_mean": "utilisation",
    "a_leads_top20_share": "A-lead top-20% share",
    "a_leads_gini": "A-lead Gini",
    "cross_region_share": "cross-region share",
    "new_rep_days_to_valid_lead": "new-rep wait",
}
"""Short names of the :data:`HEADLINE_KPIS`, for lists and plot labels."""

_VERDICT_TEXT = {
    "better": "✅ A clear improvement.",
    "worse": "⚠️ Clearly worse.",
    "changed": "A clear change (neither direction is better in itself).",
    "no clear difference": "No clear difference: the interval includes zero.",
}


def _finite(value: object) -> bool:
    try:
        return math.isfinite(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _clock(kpi: str) -> str:
    return "business" if "business" in kpi else ""


def _digits(size: float, decimals: int) -> str:
    """Non-negative *size* with *decimals*, or one significant digit when that would
    show a non-zero number as 0 (a small but clear paired difference stays visible)."""
    if size and round(size, decimals) == 0:
        return f"{size:.1g}"
    return f"{size:,.{decimals}f}"


def _plain(value: float) -> str:
    """A count-like number: whole numbers as such, one decimal below 10, else none."""
    if float(value).is_integer() or abs(value) >= 10:
        return f"{value:,.0f}"
    return f"{value:.1f}"


def _duration(hours: float, clock: str) -> str:
    """A non-negative duration; unlike :func:`format_hours`, tenths of a minute below 10
    minutes, since paired differences are often that small."""
    minutes = hours * 60
    if minutes >= 10:
        return format_hours(hours, clock)
    label = f"{clock} " if clock else ""
    text = _digits(minutes, 1)
    return f"{text} {label}minute{'' if text == '1.0' else 's'}"


def format_level(value: float, unit: str, kpi: str = "") -> str:
    """A KPI value in words: ``format_level(0.25, "share") == "25%"``, hours as
    :func:`sim.reports.scenario_narrative.format_hours` (business hours when *kpi* is a business-hours
    KPI), ``"3.5 days"``, counts rounded; NaN gives ``"n/a"``."""
    if not _finite(value):
        return "n/a"
    if unit == "h":
        return format_hours(value, _clock(kpi))
    if unit == "share":
        return f"{value:.1%}" if abs(value) < 0.1 else f"{value:.0%}"
    if unit == "days":
        return f"{value:.1f} days"
    if unit == "index":
        return f"{value:.3f}"
    return _plain(value)


def format_change(value: float, unit: str, kpi: str = "") -> str:
    """A signed difference in words: ``"-4.3 hours"``, ``"+1.5 percentage points"``,
    ``"+0.021"``, ``"-12"``; zero is ``"±0 ..."``; NaN gives ``"n/a"``.  A difference too
    small for the usual precision keeps one significant digit (``"-0.0002"``)."""
    if not _finite(value):
        return "n/a"
    sign = "+" if value > 0 else "-" if value < 0 else "±"
    size = abs(value)
    if unit == "h":
        return sign + _duration(size, _clock(kpi))
    if unit == "share":
        return f"{sign}{_digits(size * 100, 1)} percentage points"
    if unit == "days":
        return f"{sign}{_digits(size, 1)} days"
    if unit == "index":
        return f"{sign}{_digits(size, 3)}"
    return sign + (_plain(size) if size >= 0.05 or not size else _digits(size, 1))


_SLA_KPIS = ("sla_reminders", "sla_reclaims")


def _bullet(row: pd.Series, baseline: str, candidate: str) -> str:
    kpi, unit = str(row["kpi"]), str(row["unit"])
    text = (
        f"**{HEADLINE_KPIS[kpi]}.** {format_level(row['baseline_mean'], unit, kpi)} "
        f"{baseline} → {format_level(row['candidate_mean'], unit, kpi)} {candidate}: "
        f"a change of {format_change(row['difference'], unit, kpi)}"
    )
    details = []
    if _finite(row["ci_low"]) and _finite(row["ci_high"]):
        details.append(
            f"95% interval {format_change(row['ci_low'], unit, kpi)} to "
            f"{format_change(row['ci_high'], unit, kpi)}"
        )
    else:
        details.append("no interval from a single replication")
    relative = row["relative_change"]
    if _finite(relative):
        details.append(
            f"{relative:+.1%} relative" if abs(relative) < 0.1 else f"{relative:+.0%} relative"
        )
    verdict = _VERDICT_TEXT[str(row["verdict"])]
    if not (_finite(row["ci_low"]) and _finite(row["ci_high"])):
        verdict = "Too few replications to judge."
    if kpi in _SLA_KPIS and row["baseline_mean"] == 0 and row["candidate_mean"] > 0:
        verdict += (
            f" None under the {baseline} policy: these count the {candidate} policy's "
            "breaker at work, not slower reps."
        )
    return f"{text} ({'; '.join(details)}). {verdict}"


def _overall(rows: pd.DataFrame, baseline: str, candidate: str) -> str:
    runs = int(rows["n"].max())
    pairs = f"{runs} paired replication{'s' if runs != 1 else ''}"
    head = f"**Overall.** Over {pairs} (the same leads under both policies), compared with "
    head += f"the {baseline} policy, the {candidate} policy is "
    named = {
        verdict: [SHORT_NAMES[k] for k in rows.loc[rows["verdict"] == verdict, "kpi"]]
        for verdict in _VERDICT_TEXT
    }
    parts = [
        f"{words} {', '.join(named[verdict])}"
        for verdict, words in (
            ("better", "clearly better on"),
            ("worse", "clearly worse on"),
            ("changed", "clearly different on"),
        )
        if named[verdict]
    ]
    unclear = len(named["no clear difference"])
    if not parts:
        return head + f"not clearly different on any headline measure ({unclear} compared)."
    if unclear:
        parts.append(
            f"with no clear difference on {unclear} other headline "
            f"measure{'s' if unclear != 1 else ''}"
        )
    return head + "; ".join(parts) + "."


def comparison_narrative(
    differences: pd.DataFrame, baseline: str = "before", candidate: str = "after"
) -> str:
    """A markdown bullet list reading *differences* (from
    :func:`sim.experiments.replications.paired_differences`) for the :data:`HEADLINE_KPIS`.

    *baseline* and *candidate* are the labels the text uses for the two policies.  Each
    bullet gives ``baseline -> candidate``, the change with its 95% interval (and relative
    change when the baseline is not 0) and the verdict.  KPIs whose baseline or candidate
    mean is NaN are skipped; with none left the list says so.
    """
    table = differences[differences["kpi"].isin(list(HEADLINE_KPIS))].copy()
    table["order"] = table["kpi"].map(list(HEADLINE_KPIS).index)
    table = table.sort_values("order", kind="stable")
    has_values = table["baseline_mean"].map(_finite) & table["candidate_mean"].map(_finite)
    table = table[has_values]
    if table.empty:
        return "- No headline measure has values for both policies.\n"
    bullets = [_overall(table, baseline, candidate)]
    bullets += [_bullet(row, baseline, candidate) for _, row in table.iterrows()]
    return "\n".join(f"- {b}" for b in bullets) + "\n"
