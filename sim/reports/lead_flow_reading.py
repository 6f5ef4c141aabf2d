"""The monthly lead-flow health report read for managers, in English or Chinese.

:func:`lead_flow_verdict` says where leads stall most and why (the routing pool's waits
are read against the reps' shifts: a lead of a night, a weekend or a holiday waits for
the next shift, not for a free rep), how many cross regions and why (the policy's region
match, the region that sends most of its leads elsewhere), and where the A-lead funnel
loses the most before qualification.  :func:`lead_flow_cards` gives the headline numbers.
Inputs are the tables of :mod:`sim.outcomes.lead_flow_health`; every word comes from
``locales/lead_flow_health.yaml``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from sim.io.safe_text import escape_markdown
from sim.reports.formatting import KpiCard, Tone
from sim.reports.i18n import kpi_label, tr
from sim.reports.value_format import fmt_hours, fmt_number, fmt_percent

__all__ = [
    "MISROUTING_NOTABLE",
    "lead_flow_cards",
    "lead_flow_verdict",
    "position_name",
    "stage_name",
]

MISROUTING_NOTABLE = 0.10
"""A cross-region share above which the verdict explains the misrouting."""


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def position_name(position: str, lang: str) -> str:
    """A stall position in words ("routing pool", "queue of rep 李明")."""
    if position.startswith("rep queue: "):
        return tr("lf.position.rep_queue", lang, rep=position.removeprefix("rep queue: "))
    key = f"lf.position.{position}"
    try:
        return tr(key, lang)
    except KeyError:
        return position


def stage_name(stage: str, lang: str) -> str:
    """A funnel stage in words."""
    return tr(f"lf.stage.{stage}", lang)


def _hours_total(hours: float, lang: str) -> str:
    unit = tr("unit.h", lang)
    return f"{fmt_number(hours, lang, 0)} {unit}"


def _stall(stalls: pd.DataFrame, pool: Mapping[str, float], lang: str) -> tuple[list[str], bool]:
    if stalls.empty:
        return [tr("lf.verdict.no_stall", lang)], False
    top = stalls.iloc[0]
    text = [
        tr(
            "lf.verdict.stall",
            lang,
            position=escape_markdown(position_name(str(top["position"]), lang)),
            hours=_hours_total(float(top["total_hours"]), lang),
            stretches=fmt_number(top["stretches"], lang, 0),
            mean=fmt_hours(top["mean_hours"], lang),
        )
    ]
    worry = False
    if top["position"] == "pool" and _finite(pool.get("off_shift_share")):
        share = float(pool["off_shift_share"])
        if share >= 0.5:
            text.append(tr("lf.verdict.off_shift", lang, share=fmt_percent(share, lang, 0)))
        else:
            text.append(tr("lf.verdict.on_shift", lang))
            worry = True
    return text, worry


def _misrouting(regions: pd.DataFrame, region_match: str, lang: str) -> tuple[str, bool]:
    assigned = int(regions["leads"].sum())
    cross = int(regions["cross_region"].sum())
    if not assigned:
        return "", False
    share = cross / assigned
    if share <= MISROUTING_NOTABLE:
        return tr("lf.verdict.region_low", lang, share=fmt_percent(share, lang)), False
    worst = regions.sort_values("cross_region_share", ascending=False).iloc[0]
    text = tr(
        "lf.verdict.misrouting",
        lang,
        share=fmt_percent(share, lang, 0),
        n=fmt_number(cross, lang, 0),
    )
    fields = {
        "text": text,
        "worst": escape_markdown(str(worst["region"])),
        "worst_share": fmt_percent(worst["cross_region_share"], lang, 0),
    }
    if region_match == "off":
        return tr("lf.verdict.region_off", lang, **fields), True
    mode = tr(f"lf.region_match.{region_match}", lang)
    return tr("lf.verdict.region_on", lang, mode=mode, **fields), True


def _funnel(funnel: pd.DataFrame, breaks: pd.DataFrame, lang: str) -> str:
    counts = funnel.groupby("stage", sort=False)["leads"].sum()
    if breaks.empty or "arrived" not in counts or not counts["arrived"]:
        return ""
    worst = breaks.sort_values("lost", ascending=False).iloc[0]
    lost = breaks[breaks["stage"] == worst["stage"]]["lost"].sum()
    base = counts.get(worst["of_stage"], 0)
    return tr(
        "lf.verdict.funnel",
        lang,
        arrived=fmt_number(counts["arrived"], lang, 0),
        qualified=fmt_number(counts.get("qualified", 0), lang, 0),
        stage=stage_name(str(worst["stage"]), lang),
        of_stage=stage_name(str(worst["of_stage"]), lang),
        loss=fmt_percent(lost / base if base else math.nan, lang, 0),
    )


def lead_flow_verdict(
    stalls: pd.DataFrame,
    pool: Mapping[str, float],
    regions: pd.DataFrame,
    region_match: str,
    funnel: pd.DataFrame,
    breaks: pd.DataFrame,
    lang: str = "en",
) -> tuple[str, Tone]:
    """The first-screen verdict: the largest stall and why, cross-region routing and why,
    the A-lead funnel's largest process loss; and its tone.

    *stalls* is :func:`~sim.outcomes.lead_flow_health.top_stall_positions`, *pool*
    :func:`~sim.outcomes.lead_flow_health.pool_wait_context`, *regions*
    :func:`~sim.outcomes.lead_flow_health.region_balance`, *region_match* the policy's
    ``allocation.region_match``, *funnel* and *breaks* the A-lead funnel and its break
    points before qualification.
    """
    stall, worry = _stall(stalls, pool, lang)
    misrouting, misrouted = _misrouting(regions, region_match, lang)
    sentences = [" ".join(stall) if lang == "en" else "".join(stall)]
    sentences += [s for s in (misrouting, _funnel(funnel, breaks, lang)) if s]
    tone: Tone = "worse" if worry or misrouted else "neutral"
    return "\n\n".join(sentences), tone


def lead_flow_cards(
    stalls: pd.DataFrame,
    pool: Mapping[str, float],
    regions: pd.DataFrame,
    funnel: pd.DataFrame,
    lang: str,
) -> list[KpiCard]:
    """Headline cards: the largest stall, cross-region share, A-leads touched within the
    SLA and A-leads qualified."""
    cards = []
    if not stalls.empty:
        top = stalls.iloc[0]
        cards.append(
            KpiCard(
                tr("lf.card.stall_total", lang, position=position_name(str(top["position"]), lang)),
                _hours_total(float(top["total_hours"]), lang),
                tr(
                    "lf.card.pool_detail",
                    lang,
                    stretches=fmt_number(top["stretches"], lang, 0),
                    mean=fmt_hours(top["mean_hours"], lang),
                ),
                "worse"
                if top["position"] == "pool" and pool.get("off_shift_share", 1) < 0.5
                else "neutral",
            )
        )
    assigned = int(regions["leads"].sum())
    if assigned:
        share = regions["cross_region"].sum() / assigned
        cards.append(
            KpiCard(
                kpi_label("cross_region_share", lang),
                fmt_percent(share, lang),
                tr(
                    "lf.card.cross_detail",
                    lang,
                    n=fmt_number(regions["cross_region"].sum(), lang, 0),
                ),
                "worse" if share > MISROUTING_NOTABLE else "neutral",
            )
        )
    counts = funnel.groupby("stage", sort=False)["leads"].sum()
    if counts.get("assigned", 0):
        cards.append(
            KpiCard(
                tr("lf.card.sla", lang),
                fmt_percent(counts.get("touched within SLA", 0) / counts["assigned"], lang),
                tr("lf.card.sla_detail", lang),
            )
        )
    if counts.get("arrived", 0):
        cards.append(
            KpiCard(
                tr("lf.card.funnel", lang),
                fmt_number(counts.get("qualified", 0), lang, 0),
                tr("lf.card.funnel_detail", lang, arrived=fmt_number(counts["arrived"], lang, 0)),
            )
        )
    return cards
