"""The incentive report in words: which commission plan costs more, by how much, and how
sure we are, in English or Chinese, computed from the Monte Carlo table of
:func:`sim.incentives.report.commission_cost_replications`.

Money is written with its currency to the cent (:func:`fmt_money`); the difference's
interval is the paired one of :func:`sim.incentives.report.paired_cost_difference`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from sim.incentives.report import paired_cost_difference
from sim.reports.formatting import KpiCard, Tone
from sim.reports.i18n import tr
from sim.reports.value_format import fmt_money, fmt_number, fmt_percent, fmt_relative, is_missing

__all__ = [
    "cash_basis_note",
    "cost_cards",
    "cost_verdict",
    "month_label",
    "plan_sentence",
    "signed_money",
]


def signed_money(amount: float, currency: str, lang: str) -> str:
    """Money with an explicit sign ("+CN¥40,902.98", "−CN¥164,561.40"); a word joiner
    keeps the sign on the amount's line."""
    text = "\u2060" + fmt_money(abs(amount), currency, lang)
    if round(amount, 2) > 0:
        return "+" + text
    if round(amount, 2) < 0:
        return "−" + text
    return text


def plan_sentence(policy: Any, lang: str) -> str:
    """One sentence describing a commission plan: its basis and its freeze ladder."""
    freeze = policy.freeze
    return tr(
        "incentive.plan",
        lang,
        name=policy.name,
        basis=tr(f"incentive.basis.{policy.commission.basis}", lang),
        after=fmt_number(freeze.freeze_after_days, lang, 0),
        share=fmt_percent(float(freeze.frozen_share), lang, 0),
        within=fmt_number(freeze.release_within_days, lang, 0),
        write_off=fmt_number(freeze.write_off_at_days, lang, 0),
    )


def cash_basis_note(policies: Mapping[str, Any], lang: str) -> str | None:
    """Why written-off is zero for the cash-basis plans among *policies* (None if none)."""
    cash = [name for name, p in policies.items() if p.commission.basis == "cash"]
    if not cash:
        return None
    return tr("incentive.cash_basis_note", lang, plans=", ".join(cash))


def _held(costs: pd.DataFrame, names: Sequence[str], currency: str, lang: str) -> str:
    means = costs.groupby("policy")[["frozen", "written_off"]].mean()
    a, b = names
    return tr(
        "incentive.verdict.held",
        lang,
        baseline=a,
        candidate=b,
        frozen_a=fmt_money(means.loc[a, "frozen"], currency, lang),
        written_a=fmt_money(means.loc[a, "written_off"], currency, lang),
        frozen_b=fmt_money(means.loc[b, "frozen"], currency, lang),
        written_b=fmt_money(means.loc[b, "written_off"], currency, lang),
    )


def cost_verdict(
    costs: pd.DataFrame, names: Sequence[str], months: int, currency: str, lang: str
) -> tuple[str, Tone]:
    """The first-screen verdict (two paragraphs) and its tone: which plan (of *names*,
    baseline then candidate) costs more in commission and by how much, with the paired
    95% interval, then what each plan holds frozen and has written off at the end.

    The tone is ``worse`` when the candidate clearly costs more, ``better`` when it
    clearly costs less, else ``neutral``.
    """
    baseline, candidate = names
    d = paired_cost_difference(costs, baseline, candidate)
    fields = {
        "baseline": baseline,
        "candidate": candidate,
        "months": fmt_number(months, lang, 0),
        "diff": fmt_money(abs(d["diff"]), currency, lang),
        "relative": fmt_relative(d["relative"], lang),
        "low": signed_money(d["low"], currency, lang),
        "high": signed_money(d["high"], currency, lang),
        "n": fmt_number(d["n"], lang, 0),
        "direction": tr("incentive.word.more" if d["diff"] >= 0 else "incentive.word.less", lang),
    }
    tone: Tone = "neutral"
    if is_missing(d["low"]):
        key = "incentive.verdict.single"
    elif d["low"] > 0:
        key, tone = "incentive.verdict.more", "worse"
    elif d["high"] < 0:
        key, tone = "incentive.verdict.less", "better"
    else:
        key = "incentive.verdict.unclear"
    text = tr(key, lang, **fields) + "\n\n" + _held(costs, names, currency, lang)
    return text, tone


def cost_cards(
    costs: pd.DataFrame, names: Sequence[str], currency: str, lang: str
) -> list[KpiCard]:
    """Headline cards: each plan's mean cost (with its 5th-95th percentile range over
    replications) and the paired difference with its 95% interval."""
    cards = []
    for name in names:
        cost = costs.loc[costs["policy"] == name, "cost"]
        cards.append(
            KpiCard(
                tr("incentive.card.cost", lang, plan=name),
                fmt_money(cost.mean(), currency, lang),
                tr(
                    "incentive.card.cost_detail",
                    lang,
                    low=fmt_money(cost.quantile(0.05), currency, lang),
                    high=fmt_money(cost.quantile(0.95), currency, lang),
                ),
            )
        )
    d = paired_cost_difference(costs, *names)
    tone: Tone = "neutral"
    detail = ""
    if not is_missing(d["low"]):
        tone = "worse" if d["low"] > 0 else "better" if d["high"] < 0 else "neutral"
        detail = tr(
            "incentive.card.diff_detail",
            lang,
            low=signed_money(d["low"], currency, lang),
            high=signed_money(d["high"], currency, lang),
        )
    cards.append(
        KpiCard(
            tr("incentive.card.diff", lang, baseline=names[0], candidate=names[1]),
            signed_money(d["diff"], currency, lang),
            detail,
            tone,
        )
    )
    return cards


def month_label(period: str, lang: str) -> str:
    """A ``YYYY-MM`` month for people: "Feb 2026" / "2026年2月"."""
    import datetime as dt

    from babel.dates import format_date

    from sim.reports.i18n import LOCALES, check_lang

    year, month = (int(part) for part in period.split("-")[:2])
    pattern = "MMM y" if check_lang(lang) == "en" else "y年M月"
    return format_date(dt.date(year, month, 1), pattern, locale=LOCALES[lang])
