"""The policy-search report in words: the recommended lever settings and why, where they
fail and what moves the results, in English or Chinese.

Everything is read off a :class:`~sim.reports.policy_search_data.SearchFolder` (the
output of ``python -m sim optimize``).  Lever and factor names read as people say them:
``ps.factor.<path>`` in the catalogue, else the sweep report's lever words, else the
dotted path; a value gets its unit (``ps.unit.<path>`` or the sweep's) and a known choice
its name (``sweep.value.<name>``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from sim.outcomes.catalogue import CATALOGUE
from sim.reports.formatting import KpiCard
from sim.reports.i18n import has_key, kpi_label, tr
from sim.reports.policy_search_data import SearchFolder
from sim.reports.value_format import (
    SHARE_UNITS,
    fmt_interval,
    fmt_kpi,
    fmt_number,
    fmt_percent,
    is_missing,
)

__all__ = [
    "amount",
    "box_condition",
    "box_sentences",
    "candidate_text",
    "factor_label",
    "factor_value",
    "objective_text",
    "recommendation",
    "recommendation_cards",
    "regret_frame",
    "top_factor",
]


def _first_key(*keys: str) -> str | None:
    return next((key for key in keys if has_key(key)), None)


def factor_label(path: str, lang: str) -> str:
    """A lever's or uncertainty's name for people ("SLA reclaim after" / "熔断回收时限")."""
    key = _first_key(f"ps.factor.{path}", f"sweep.lever.{path}", f"sweep.lever.policy.{path}")
    return tr(key, lang) if key else path.removeprefix("policy.").removeprefix("scenario.")


def _factor_name(path: str, lang: str) -> str:
    """A factor's name inside a sentence (lower case in English, unless an acronym)."""
    label = factor_label(path, lang)
    if lang == "en" and label[1:2].islower():
        return label[:1].lower() + label[1:]
    return label


def factor_value(path: str, value: Any, lang: str) -> str:
    """One value of a lever or uncertainty: a number with its unit ("6 h" / "6 小时"), a
    known name translated ("least loaded"), else as written."""
    if is_missing(value):
        return fmt_number(value, lang)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)
        text = fmt_number(int(number) if number == int(number) else number, lang)
        unit = _first_key(f"ps.unit.{path}", f"sweep.unit.{path}", f"sweep.unit.policy.{path}")
        return f"{text} {tr(unit, lang)}" if unit else text
    text = str(value)
    return tr(f"sweep.value.{text}", lang) if has_key(f"sweep.value.{text}") else text


def candidate_text(row: Mapping[str, Any], levers: Sequence[str], lang: str) -> str:
    """A candidate's lever settings: "SLA reclaim after 6 h · Routing rule least loaded"."""
    return " · ".join(f"{factor_label(p, lang)} {factor_value(p, row[p], lang)}" for p in levers)


def _kpi_name(kpi: str, lang: str) -> str:
    """A KPI's label inside a sentence (lower case in English, unless an acronym)."""
    label = kpi_label(kpi, lang)
    if lang == "en" and label[1:2].islower():
        return label[:1].lower() + label[1:]
    return label


def amount(kpi: str, value: float, lang: str) -> str:
    """A difference of *kpi* as a size: shares in percentage points, else in its unit."""
    if CATALOGUE[kpi].unit in SHARE_UNITS:
        return f"{fmt_number(abs(value) * 100, lang, 1)} {tr('unit.pp', lang)}"
    return fmt_kpi(kpi, abs(value), lang)


def objective_text(row: Mapping[str, Any], kpi: str, lang: str) -> str:
    """A candidate's mean of *kpi* with its 95% interval, in the KPI's unit."""
    unit = CATALOGUE[kpi].unit
    return fmt_interval(row[f"{kpi}_mean"], row[f"{kpi}_low"], row[f"{kpi}_high"], unit, lang)


def _range_text(uncertainty: Mapping[str, Any], lang: str) -> str:
    path = uncertainty["path"]
    low = fmt_number(uncertainty["low"], lang)  # the unit once, after the high end
    high = factor_value(path, uncertainty["high"], lang)
    return tr("ps.range", lang, factor=_factor_name(path, lang), low=low, high=high)


def _limit_text(dimension: str, row: Mapping[str, Any], lang: str) -> str:
    categories = row.get("categories")
    if isinstance(categories, str) and categories:
        values = [factor_value(dimension, c, lang) for c in categories.split(",")]
        sep = tr("ps.box.or", lang)
        return tr("ps.box.is", lang, factor=_factor_name(dimension, lang), values=sep.join(values))
    low, high = float(row["low"]), float(row["high"])
    label = _factor_name(dimension, lang)
    low_set, high_set = math.isfinite(low), math.isfinite(high)
    if low_set and high_set:
        return tr(
            "ps.box.between",
            lang,
            factor=label,
            low=fmt_number(int(low) if low == int(low) else low, lang),  # the unit once
            high=factor_value(dimension, high, lang),
        )
    if low_set:
        return tr("ps.box.above", lang, factor=label, value=factor_value(dimension, low, lang))
    return tr("ps.box.below", lang, factor=label, value=factor_value(dimension, high, lang))


def box_condition(rows: pd.DataFrame, lang: str) -> str:
    """One PRIM box's limits in words: "leads per month above 4,100 and reps in the first
    group below 11" (*rows*: the box's rows of ``prim.csv``)."""
    parts = [_limit_text(row["dimension"], row, lang) for _, row in rows.iterrows()]
    return tr("ps.box.and", lang).join(parts)


def box_sentences(search: SearchFolder, lang: str) -> list[str]:
    """One line per PRIM box: "fails when ...: coverage 85%, density 92%"."""
    rule = search.manifest.get("discover")
    if not rule or search.prim.empty:
        return []
    lines = []
    for _, rows in search.prim.groupby("box", sort=True):
        first = rows.iloc[0]
        lines.append(
            tr(
                "ps.box.sentence",
                lang,
                condition=box_condition(rows, lang),
                coverage=fmt_percent(first["coverage"], lang, 0),
                density=fmt_percent(first["density"], lang, 0),
                mass=fmt_percent(first["mass"], lang, 0),
            )
        )
    return lines


def _rule_text(rule: Mapping[str, Any], lang: str) -> str:
    """ "first touch p90 above 12.7 h"."""
    kpi = rule["kpi"]
    return tr(
        f"ps.op.{ {'>': 'gt', '>=': 'ge', '<': 'lt', '<=': 'le'}[rule['op']] }",
        lang,
        kpi=_kpi_name(kpi, lang),
        value=fmt_kpi(kpi, rule["value"], lang),
    )


def top_factor(search: SearchFolder, kpi: str) -> pd.Series | None:
    """The factor with the largest total Sobol index for *kpi* (None without Sobol)."""
    part = search.sobol[search.sobol["kpi"] == kpi]
    if part.empty:
        return None
    return part.sort_values(["ST", "factor"], ascending=[False, True]).iloc[0]


def _robust_sentence(search: SearchFolder, lang: str) -> str | None:
    chosen = search.recommended
    robust = search.robustness
    primary = search.objectives[0][0]
    futures = int(search.manifest.get("futures") or 0)
    mine = robust[(robust["candidate"] == chosen) & (robust["objective"] == primary)]
    if mine.empty:
        return None
    row = mine.iloc[0]
    compared = robust["candidate"].nunique()
    if futures < 2:
        return tr("ps.verdict.no_futures", lang, n=fmt_number(compared, lang, 0))
    ranges = tr("ps.list_sep", lang).join(_range_text(u, lang) for u in search.uncertainties)
    text = tr(
        "ps.verdict.robust",
        lang,
        futures=fmt_number(futures, lang, 0),
        ranges=ranges,
        regret=amount(primary, float(row["max_regret"]), lang),
        kpi=_kpi_name(primary, lang),
        n=fmt_number(compared, lang, 0),
        p10=fmt_kpi(primary, row["p10"], lang),
    )
    worst = robust[robust["objective"] == primary].set_index("candidate")["max_regret"]
    scale = max(abs(float(worst.max())), 1e-12)
    tied = [
        int(c)
        for c, v in worst.items()
        if c != chosen and abs(v - row["max_regret"]) <= 1e-9 * scale
    ]
    if tied:
        others = tr("ps.list_sep", lang).join(str(c) for c in tied)
        text += (" " if lang == "en" else "") + tr("ps.verdict.tied", lang, others=others)
    return text


def _failure_sentence(search: SearchFolder, lang: str) -> str | None:
    rule = search.manifest.get("discover")
    counts = search.failures()
    if not rule or counts is None:
        return None
    failed, total = counts
    rule_text = _rule_text(rule, lang)
    if failed == 0:
        return tr("ps.verdict.never_fails", lang, rule=rule_text, n=fmt_number(total, lang, 0))
    boxes = box_sentences(search, lang)
    key = "ps.verdict.fails_when" if boxes else "ps.verdict.fails"
    first = search.prim[search.prim["box"] == search.prim["box"].min()] if boxes else None
    return tr(
        key,
        lang,
        rule=rule_text,
        k=fmt_number(failed, lang, 0),
        n=fmt_number(total, lang, 0),
        condition=box_condition(first, lang) if first is not None else "",
        coverage=fmt_percent(first["coverage"].iloc[0], lang, 0) if first is not None else "",
    )


def _sobol_sentence(search: SearchFolder, lang: str) -> str | None:
    primary = search.objectives[0][0]
    top = top_factor(search, primary)
    if top is None:
        return None
    return tr(
        "ps.verdict.sobol",
        lang,
        factor=_factor_name(top["factor"], lang),
        kpi=_kpi_name(primary, lang),
        st=fmt_number(float(top["ST"]), lang, 2),
        conf=fmt_number(float(top["ST_conf"]), lang, 2),
    )


def recommendation(search: SearchFolder, lang: str) -> str:
    """The first screen: the recommended settings with their KPIs (mean and 95% interval,
    in units), why they are robust, where they fail and what moves the primary KPI."""
    joiner = " " if lang == "en" else ""
    chosen = search.recommended
    if chosen is None:
        return tr("ps.verdict.none", lang)
    row = search.candidate(chosen)
    items = tr("ps.list_sep", lang).join(
        tr("ps.verdict.kpi_item", lang, kpi=_kpi_name(k, lang), value=objective_text(row, k, lang))
        for k, _ in search.objectives
    )
    first = [
        tr(
            "ps.verdict.recommended",
            lang,
            levers=candidate_text(row, search.levers, lang),
            id=chosen,
            n=fmt_number(len(search.candidates), lang, 0),
        ),
        tr(
            "ps.verdict.as_given",
            lang,
            replications=fmt_number(search.manifest.get("replications", 0), lang, 0),
            items=items,
        ),
    ]
    paragraphs = [joiner.join(first)]
    more = [_robust_sentence(search, lang), _failure_sentence(search, lang)]
    said = [s for s in more if s]
    if said:
        paragraphs.append(joiner.join(said))
    sobol = _sobol_sentence(search, lang)
    front = int(search.candidates["pareto"].astype(bool).sum())
    last = [
        tr(
            "ps.verdict.front",
            lang,
            n=fmt_number(len(search.candidates), lang, 0),
            front=fmt_number(front, lang, 0),
        )
    ]
    if sobol:
        last.insert(0, sobol)
    if not search.complete:
        last.append(tr("ps.verdict.incomplete", lang))
    paragraphs.append(joiner.join(last))
    return "\n\n".join(paragraphs)


def recommendation_cards(search: SearchFolder, lang: str) -> list[KpiCard]:
    """A card per objective for the recommended candidate (mean, 95% interval, the
    sense sought), and one for the futures where it fails (with ``--discover``)."""
    chosen = search.recommended
    if chosen is None:
        return []
    row = search.candidate(chosen)
    cards = [
        KpiCard(
            kpi_label(kpi, lang),
            objective_text(row, kpi, lang),
            tr(f"ps.card.{sense}", lang),
            "neutral",
        )
        for kpi, sense in search.objectives[:4]
    ]
    counts = search.failures()
    rule = search.manifest.get("discover")
    if counts is not None and rule:
        failed, total = counts
        cards.append(
            KpiCard(
                tr("ps.card.fails", lang),
                tr("ps.card.fails_value", lang, k=failed, n=total),
                _rule_text(rule, lang),
                "worse" if failed else "better",
            )
        )
    return cards


def regret_frame(search: SearchFolder, lang: str) -> pd.DataFrame:
    """The regret table for people: per candidate compared across futures and objective,
    its settings, mean, 10th percentile (reached or beaten in 90% of futures), maximum
    and mean regret, the recommended candidate first."""
    robust = search.robustness
    if robust.empty:
        return pd.DataFrame(
            columns=["candidate", "settings", "objective", "mean", "p10", "max", "mean_regret"]
        )
    rows = []
    order = {c: (c != search.recommended, c) for c in robust["candidate"].unique()}
    kpis = [k for k, _ in search.objectives]
    ranked = robust.assign(
        _order=robust["candidate"].map(order),
        _kpi=robust["objective"].map({k: i for i, k in enumerate(kpis)}),
    ).sort_values(["_order", "_kpi"])
    for _, r in ranked.iterrows():
        kpi, candidate = r["objective"], int(r["candidate"])
        label = str(candidate)
        if candidate == search.recommended:
            label += " ★"
        rows.append(
            {
                "candidate": label,
                "settings": candidate_text(search.candidate(candidate), search.levers, lang),
                "objective": kpi_label(kpi, lang),
                "mean": fmt_kpi(kpi, r["mean"], lang),
                "p10": fmt_kpi(kpi, r["p10"], lang),
                "max": amount(kpi, float(r["max_regret"]), lang),
                "mean_regret": amount(kpi, float(r["mean_regret"]), lang),
            }
        )
    return pd.DataFrame(rows)
