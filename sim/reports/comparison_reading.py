"""A before/after comparison read for managers, in English or Chinese: the first-screen
verdict, the headline cards and one line per measure.

It reads the table of :func:`sim.experiments.replications.paired_differences`.  The
verdict gives the key changes as ``before → after (relative change, 95% CI)`` and names
the costs: every measure that is clearly worse.  One cost is not what it seems: when a
policy routes the leads of weekends and holidays into its pool instead of the
marketplace, ``pool_wait_hours_mean`` rises only because the place of waiting moved, so
when ``assignment_wait_hours_mean`` (arrival to a rep, the fair measure) is not worse the
verdict says so instead of calling it a cost.  Every word comes from the catalogue
(``locales/policy_comparison.yaml``); policy labels are user text, escaped for Markdown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from sim.io.safe_text import escape_markdown
from sim.outcomes.catalogue import CATALOGUE
from sim.outcomes.fairness import new_rep_wait_survival
from sim.reports.formatting import KpiCard, Tone
from sim.reports.i18n import kpi_label, tr
from sim.reports.value_format import (
    MISSING,
    fmt_change,
    fmt_days,
    fmt_kpi,
    fmt_number,
    fmt_percent,
    fmt_relative,
)
from sim.reports.value_format import _unit_numbers as unit_numbers

__all__ = [
    "CARD_KPIS",
    "VERDICT_KPIS",
    "change_interval",
    "comparison_cards",
    "comparison_reading",
    "comparison_verdict",
    "new_rep_wait_words",
    "policy_word",
    "relocated_pool_wait",
]

VERDICT_KPIS = ("first_touch_hours_mean", "qualification_rate")
"""The measures the verdict always states (when present), before the costs."""

CARD_KPIS = (
    "first_touch_hours_mean",
    "qualification_rate",
    "assignment_wait_hours_mean",
    "a_leads_top20_share",
    "sla_reclaims",
)
"""The headline cards, in order (those present, at most five)."""

_READING = (
    "first_touch_hours_mean",
    "first_touch_business_hours_mean",
    "sla_reminders",
    "sla_reclaims",
    "qualification_rate",
    "leads_qualified",
    "rep_utilisation_mean",
    "a_leads_top20_share",
    "a_leads_gini",
    "cross_region_share",
    "assignment_wait_hours_mean",
    "pool_wait_hours_mean",
    "new_rep_days_to_valid_lead",
)


def policy_word(label: str, lang: str) -> str:
    """A policy's label as the reader sees it: the default labels ``before`` / ``after``
    in the report's language, any other label as given (escaped for Markdown)."""
    if label in ("before", "after") and lang != "en":
        return tr(f"col.{label}", lang)
    return escape_markdown(label)


def _breaker_rise(kpi: str, row: pd.Series) -> bool:
    """An SLA count that is 0 under the baseline: the candidate's breaker at work."""
    return kpi in ("sla_reminders", "sla_reclaims") and row["baseline_mean"] == 0


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _rows(differences: pd.DataFrame) -> dict[str, pd.Series]:
    ok = differences["baseline_mean"].map(_finite) & differences["candidate_mean"].map(_finite)
    return {str(r["kpi"]): r for _, r in differences[ok].iterrows()}


def _signed(values: list[float], unit: str, lang: str) -> list[str]:
    """Signed differences on one scale with their unit ("-6.1 h", "+3.2 pp")."""
    if unit == "share":
        unit_text = tr("unit.pp", lang)
        return [f"{t} {unit_text}" for t in unit_numbers(values, "share", lang, True)[0]]
    texts, unit_text = unit_numbers(values, unit, lang, sign=True)
    return [f"{t} {unit_text}".strip() if unit_text != "%" else f"{t}%" for t in texts]


def change_interval(row: pd.Series, lang: str) -> str:
    """The change with its paired 95% interval: "-6.1 h (-7.0 h to -5.2 h)"."""
    unit = str(row["unit"])
    if not _finite(row["difference"]):
        return MISSING
    if not (_finite(row["ci_low"]) and _finite(row["ci_high"])):
        return _signed([float(row["difference"])], unit, lang)[0]
    diff, low, high = _signed(
        [float(row[c]) for c in ("difference", "ci_low", "ci_high")], unit, lang
    )
    word = " to " if lang == "en" else " 至 "
    return f"{diff} ({low}{word}{high})"


def _relative_ci(row: pd.Series, lang: str) -> str:
    base = float(row["baseline_mean"])
    if base == 0 or not (_finite(row["ci_low"]) and _finite(row["ci_high"])):
        return ""
    low, high = (fmt_relative(float(row[c]) / abs(base), lang) for c in ("ci_low", "ci_high"))
    return tr("pc.verdict.ci", lang, low=low, high=high)


def _change_words(kpi: str, row: pd.Series, lang: str) -> str:
    """ "first touch 12.5 h → 5.5 h (-56%, 95% CI -69% to -44%)"."""
    base = float(row["baseline_mean"])
    rel = (
        fmt_relative(float(row["difference"]) / abs(base), lang)
        if base
        else fmt_change(base, row["candidate_mean"], str(row["unit"]), lang)
    )
    before, after = fmt_kpi(kpi, base, lang), fmt_kpi(kpi, row["candidate_mean"], lang)
    if before == after:  # a small but clear change: show the digits that tell them apart
        before, after = fmt_number(base, lang), fmt_number(row["candidate_mean"], lang)
    label = kpi_label(kpi, lang)
    if lang == "en" and label[1:2].islower():  # mid-sentence: "first touch", not "First"
        label = label[0].lower() + label[1:]
    return tr(
        "pc.verdict.change",
        lang,
        label=label,
        before=before,
        after=after,
        rel=rel,
        ci=_relative_ci(row, lang),
    )


def relocated_pool_wait(rows: Mapping[str, pd.Series]) -> bool:
    """Whether a worse pool wait is a relocation: the pool wait is clearly worse while
    arrival-to-rep (``assignment_wait_hours_mean``) is not worse."""
    pool, assign = rows.get("pool_wait_hours_mean"), rows.get("assignment_wait_hours_mean")
    return (
        pool is not None
        and assign is not None
        and pool["verdict"] == "worse"
        and assign["verdict"] != "worse"
    )


def comparison_verdict(
    differences: pd.DataFrame, baseline: str, candidate: str, lang: str = "en"
) -> tuple[str, Tone]:
    """Two or three sentences: the key changes with their intervals, then the costs (or
    that there are none) and, when it applies, why the pool wait rose; and the tone."""
    rows = _rows(differences)
    b, c = policy_word(baseline, lang), policy_word(candidate, lang)
    key = [k for k in VERDICT_KPIS if k in rows]
    better = [k for k in _READING if k in rows and k not in key and rows[k]["verdict"] == "better"]
    shown = key + better[: max(0, 3 - len(key))]
    if not shown:
        return tr("pc.verdict.none", lang), "neutral"
    sep = "; " if lang == "en" else "；"
    parts = [
        tr(
            "pc.verdict.head",
            lang,
            baseline=b,
            candidate=c,
            changes=sep.join(_change_words(k, rows[k], lang) for k in shown),
        )
    ]
    parts[0] = parts[0][:1].upper() + parts[0][1:]  # "After against before: ..."
    relocated = relocated_pool_wait(rows)
    costs = [
        k
        for k, r in rows.items()
        if r["verdict"] == "worse"
        and not (relocated and k == "pool_wait_hours_mean")
        and not _breaker_rise(k, r)
    ]
    if costs:
        parts.append(
            tr(
                "pc.verdict.costs",
                lang,
                costs=sep.join(_change_words(k, rows[k], lang) for k in costs[:3]),
            )
        )
    elif any(_breaker_rise(k, r) and r["verdict"] == "worse" for k, r in rows.items()):
        counts = {
            k: fmt_kpi(k, rows[k]["candidate_mean"], lang) if k in rows else "0"
            for k in ("sla_reminders", "sla_reclaims")
        }
        parts.append(
            tr(
                "pc.verdict.breaker_only",
                lang,
                reminders=counts["sla_reminders"],
                reclaims=counts["sla_reclaims"],
            )
        )
    elif any(_finite(r["ci_low"]) for r in rows.values()):
        parts.append(tr("pc.verdict.no_cost", lang))
    else:
        parts.append(tr("pc.verdict.few_runs", lang))
    if relocated:
        pool, assign = rows["pool_wait_hours_mean"], rows["assignment_wait_hours_mean"]
        parts.append(
            tr(
                "pc.verdict.relocated",
                lang,
                pool_before=fmt_kpi("pool_wait_hours_mean", pool["baseline_mean"], lang),
                pool_after=fmt_kpi("pool_wait_hours_mean", pool["candidate_mean"], lang),
                assign_before=fmt_kpi("assignment_wait_hours_mean", assign["baseline_mean"], lang),
                assign_after=fmt_kpi("assignment_wait_hours_mean", assign["candidate_mean"], lang),
            )
        )
    gains = any(rows[k]["verdict"] == "better" for k in key) or (
        not key and any(rows[k]["verdict"] == "better" for k in shown)
    )
    tone: Tone = "better" if gains and not costs else "worse" if costs and not gains else "neutral"
    return "\n\n".join(parts), tone


def comparison_cards(differences: pd.DataFrame, baseline: str, lang: str = "en") -> list[KpiCard]:
    """Headline cards: the candidate's value, the baseline's and the change, coloured by
    the verdict."""
    rows = _rows(differences)
    cards = []
    for kpi in CARD_KPIS:
        if kpi not in rows:
            continue
        row = rows[kpi]
        verdict = str(row["verdict"])
        tone: Tone = verdict if verdict in ("better", "worse", "changed") else "neutral"  # type: ignore[assignment]
        detail = tr(
            "pc.card.detail",
            lang,
            baseline=policy_word(baseline, lang),
            before=fmt_kpi(kpi, row["baseline_mean"], lang),
            change=fmt_change(row["baseline_mean"], row["candidate_mean"], str(row["unit"]), lang),
        )
        cards.append(
            KpiCard(kpi_label(kpi, lang), fmt_kpi(kpi, row["candidate_mean"], lang), detail, tone)
        )
    return cards[:5]


def new_rep_wait_words(waits: pd.DataFrame, lang: str = "en") -> str:
    """New reps' waits for a valid lead with censoring respected (share still waiting
    at the end, Kaplan-Meier median or that it is not reached)."""
    s = new_rep_wait_survival(waits)
    n, censored = int(s["reps"]), int(s["censored"])
    if n == 0:
        return tr("pc.newrep.none", lang)
    if censored == 0:
        return tr("pc.newrep.all", lang, n=n, median=fmt_days(s["km_median_days"], lang))
    text = tr(
        "pc.newrep.censored",
        lang,
        censored=censored,
        n=n,
        share=fmt_percent(s["censored_share"], lang, 0),
    )
    if _finite(s["km_median_days"]):
        return text + tr("pc.newrep.median", lang, median=fmt_days(s["km_median_days"], lang))
    return text + tr(
        "pc.newrep.not_reached",
        lang,
        followup=fmt_days(s["followup_days"], lang),
        still=fmt_percent(s["km_still_waiting"], lang, 0),
    )


def _bullet(kpi: str, row: pd.Series, b: str, c: str, lang: str, relocated: bool) -> str:
    has_ci = _finite(row["ci_low"]) and _finite(row["ci_high"])
    verdict = (
        tr("pc.bullet." + str(row["verdict"]).replace(" ", "_"), lang)
        if has_ci
        else tr("pc.bullet.too_few", lang)
    )
    if (
        kpi in ("sla_reminders", "sla_reclaims")
        and row["baseline_mean"] == 0
        and row["candidate_mean"] > 0
    ):
        verdict += tr("pc.bullet.breaker", lang, baseline=b, candidate=c)
    if kpi == "pool_wait_hours_mean" and relocated:
        verdict += tr("pc.bullet.relocated", lang)
    elif row["verdict"] == "worse" and has_ci:
        verdict += tr("pc.bullet.cost", lang, candidate=c)
    unit = str(row["unit"])
    low, high = (
        _signed([float(row["ci_low"]), float(row["ci_high"])], unit, lang) if has_ci else ("", "")
    )
    return tr(
        "pc.bullet",
        lang,
        label=kpi_label(kpi, lang),
        before=fmt_kpi(kpi, row["baseline_mean"], lang),
        after=fmt_kpi(kpi, row["candidate_mean"], lang),
        change=fmt_change(row["baseline_mean"], row["candidate_mean"], unit, lang),
        ci=tr("pc.bullet.ci", lang, low=low, high=high) if has_ci else "",
        verdict=verdict,
    )


def comparison_reading(
    differences: pd.DataFrame,
    baseline: str,
    candidate: str,
    lang: str = "en",
    new_rep_waits: Mapping[str, pd.DataFrame] | None = None,
) -> str:
    """A Markdown list: one line per measure the reading covers (before → after, the
    change with its interval, the verdict), new reps' waits read as censored data when
    *new_rep_waits* (label -> pooled waits) is given, then every other clearly worse
    measure."""
    rows = _rows(differences)
    b, c = policy_word(baseline, lang), policy_word(candidate, lang)
    relocated = relocated_pool_wait(rows)
    lines = []
    for kpi in _READING:
        if kpi not in rows:
            continue
        row = rows[kpi]
        if (
            kpi == "new_rep_days_to_valid_lead"
            and new_rep_waits
            and {baseline, candidate} <= set(new_rep_waits)
        ):
            text = tr(
                "pc.newrep.bullet",
                lang,
                label=kpi_label(kpi, lang),
                baseline=b,
                candidate=c,
                before=new_rep_wait_words(new_rep_waits[baseline], lang),
                after=new_rep_wait_words(new_rep_waits[candidate], lang),
            )
            if any(
                new_rep_wait_survival(new_rep_waits[k])["censored"] for k in (baseline, candidate)
            ):
                text += tr(
                    "pc.newrep.mean_note",
                    lang,
                    mean_before=fmt_kpi(kpi, row["baseline_mean"], lang),
                    mean_after=fmt_kpi(kpi, row["candidate_mean"], lang),
                )
            lines.append(text)
        else:
            lines.append(_bullet(kpi, row, b, c, lang, relocated))
    others = [
        k
        for k, r in rows.items()
        if k not in _READING and r["verdict"] == "worse" and k in CATALOGUE
    ]
    lines += [_bullet(k, rows[k], b, c, lang, relocated) for k in others]
    if not lines:
        return f"- {tr('pc.verdict.none', lang)}\n"
    return "\n".join(f"- {line}" for line in lines) + "\n"
