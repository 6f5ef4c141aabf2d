"""The sweep report in words: which lever matters most for which KPI, and the best point
per headline KPI with its paired gap to the runner-up, in English or Chinese.

Computed from :func:`sim.experiments.analysis.best_points` and
:func:`sim.experiments.analysis.lever_effects`; lever names and values read as people
say them (``sweep.lever.*`` / ``sweep.value.*`` in the catalogue, else as written).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from sim.reports.formatting import KpiCard
from sim.reports.i18n import has_key, kpi_label, tr
from sim.reports.value_format import fmt_interval, fmt_kpi, fmt_number, is_missing

__all__ = [
    "best_cards",
    "best_is_tied",
    "lever_label",
    "lever_value",
    "point_text",
    "sweep_verdict",
]


def lever_label(column: str, lang: str) -> str:
    """A lever's name for people ("SLA reclaim after" / "熔断回收时限"); an unknown lever
    is its dotted path without the ``policy.`` / ``scenario.`` prefix."""
    key = f"sweep.lever.{column}"
    if has_key(key):
        return tr(key, lang)
    return column.removeprefix("policy.").removeprefix("scenario.")


def lever_value(column: str, value: Any, lang: str) -> str:
    """One level of a lever for people: a number with the lever's unit ("3 h" / "3 小时"),
    a known name translated ("least loaded" / "最少负载优先"), else as written."""
    if is_missing(value):
        return fmt_number(value, lang)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        text = fmt_number(value, lang)
        unit = f"sweep.unit.{column}"
        return f"{text} {tr(unit, lang)}" if has_key(unit) else text
    text = str(value)
    return tr(f"sweep.value.{text}", lang) if has_key(f"sweep.value.{text}") else text


def point_text(row: Mapping[str, Any], levers: Sequence[str], lang: str) -> str:
    """A point's lever values: "SLA reclaim after 3 h · Routing rule least loaded"."""
    return " · ".join(
        f"{lever_label(lever, lang)} {lever_value(lever, row[lever], lang)}" for lever in levers
    )


def best_is_tied(row: Mapping[str, Any]) -> bool:
    """Whether the runner-up has exactly the best mean (several points share the best)."""
    return not is_missing(row["runner_up"]) and float(row["runner_up"]) == float(row["mean"])


def _level(lever: str, level: str, lang: str) -> str:
    """A tornado level (text from :func:`lever_effects`) read back as a lever value."""
    try:
        number = float(level)
    except ValueError:
        return lever_value(lever, level, lang)
    return lever_value(lever, int(number) if number == int(number) else number, lang)


def _lever_item(kpi: str, top: Mapping[str, Any], better: str, lang: str) -> str:
    """ "first touch, mean (2.3 h at least loaded vs 2.4 h at round robin)"."""
    best_at, worst_at = ("at_low", "at_high") if better != "higher" else ("at_high", "at_low")
    best, worst = ("low", "high") if better != "higher" else ("high", "low")
    label = kpi_label(kpi, lang)
    return tr(
        "sweep.verdict.lever_item",
        lang,
        kpi=label[:1].lower() + label[1:] if lang == "en" and label[1:2].islower() else label,
        best_level=_level(top["lever"], top[best_at], lang),
        best=fmt_kpi(kpi, top[best], lang),
        worst_level=_level(top["lever"], top[worst_at], lang),
        worst=fmt_kpi(kpi, top[worst], lang),
    )


def _lever_sentences(
    effects: Mapping[str, pd.DataFrame], directions: Mapping[str, str], lang: str
) -> list[str]:
    """One sentence per lever that has the largest swing for some KPI, naming those KPIs
    with the KPI's value at the lever's best and worst level."""
    by_lever: dict[str, list[str]] = {}
    for kpi, frame in effects.items():
        if frame.empty:
            continue
        top = frame.iloc[0]
        item = _lever_item(kpi, top, directions.get(kpi, "lower"), lang)
        by_lever.setdefault(top["lever"], []).append(item)
    sep = tr("sweep.verdict.kpi_sep", lang)
    return [
        tr("sweep.verdict.lever", lang, lever=lever_label(lever, lang), items=sep.join(items))
        for lever, items in by_lever.items()
    ]


def _gap(kpi: str, value: float, lang: str) -> str:
    """A signed-free gap in the KPI's unit (its size; the direction is "ahead")."""
    return fmt_kpi(kpi, abs(value), lang)


def sweep_verdict(
    best: pd.DataFrame,
    effects: Mapping[str, pd.DataFrame],
    levers: Sequence[str],
    replications: int,
    lang: str,
) -> str:
    """Two paragraphs: the lever with the largest swing for each KPI of *effects*
    (its best and worst level), then the headline KPIs whose best point is clearly
    ahead of the runner-up (with the gap and its paired 95% interval), those that are
    not, and those where several points tie."""
    directions = {row["kpi"]: row["better"] for _, row in best.iterrows()}
    joiner = " " if lang == "en" else ""
    paragraphs = []
    levers_said = _lever_sentences(effects, directions, lang)
    if levers_said:
        paragraphs.append(joiner.join(levers_said))
    sep = tr("sweep.verdict.item_sep", lang)
    clear, unclear, tied = [], [], []
    for _, row in best.iterrows():
        kpi = row["kpi"]
        if best_is_tied(row):
            tied.append(kpi_label(kpi, lang))
        elif row["clear"]:
            gap = float(row["mean"]) - float(row["runner_up"])
            low, high = sorted(abs(float(row[c])) for c in ("gap_low", "gap_high"))
            clear.append(
                tr(
                    "sweep.verdict.clear_item",
                    lang,
                    kpi=kpi_label(kpi, lang),
                    point=point_text(row, levers, lang),
                    value=fmt_kpi(kpi, row["mean"], lang),
                    gap=_gap(kpi, gap, lang),
                    low=_gap(kpi, low, lang),
                    high=_gap(kpi, high, lang),
                )
            )
        else:
            unclear.append(kpi_label(kpi, lang))
    comma = tr("sweep.verdict.list_sep", lang)
    best_sentences = []
    if clear:
        best_sentences.append(tr("sweep.verdict.clear", lang, items=sep.join(clear)))
    elif not best.empty:
        best_sentences.append(
            tr("sweep.verdict.none_clear", lang, replications=fmt_number(replications, lang, 0))
        )
    if clear and unclear:
        best_sentences.append(tr("sweep.verdict.unclear", lang, kpis=comma.join(unclear)))
    if tied:
        best_sentences.append(tr("sweep.verdict.tied", lang, kpis=comma.join(tied)))
    if best_sentences:
        paragraphs.append(joiner.join(best_sentences))
    return "\n\n".join(paragraphs)


def best_cards(best: pd.DataFrame, levers: Sequence[str], lang: str) -> list[KpiCard]:
    """One card per headline KPI (at most five): the best mean with its interval, where
    it is reached and whether it is clearly ahead of the runner-up."""
    cards = []
    for _, row in best.head(5).iterrows():
        kpi = row["kpi"]
        point = point_text(row, levers, lang)
        if best_is_tied(row):
            detail, tone = tr("sweep.card.tied", lang, point=point), "neutral"
        elif row["clear"]:
            detail, tone = tr("sweep.card.clear", lang, point=point), "better"
        else:
            detail, tone = tr("sweep.card.unclear", lang, point=point), "neutral"
        cards.append(
            KpiCard(
                kpi_label(kpi, lang),
                fmt_interval(row["mean"], row["ci_low"], row["ci_high"], row["unit"], lang),
                detail,
                tone,
            )
        )
    return cards
