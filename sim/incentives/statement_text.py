"""The words of a statement in English and Chinese, and its numbers for each language.

Labels are a small catalogue (``LABELS``); a line's step text is built from what it was
made from (the earning line, the freeze-ladder record), so the Chinese reads as a finance
clerk writes it (回款、返点、应发、冻结、释放、核销) instead of a word-by-word copy.
The freeze ladder's reasons are English sentences from the policy; their known phrases
are put into Chinese, anything else is kept as written.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from sim.incentives.accounts import AuditRecord
from sim.incentives.earnings import EarningLine

__all__ = [
    "LABELS",
    "LANGS",
    "LOCALES",
    "StatementDocument",
    "amount_text",
    "date_text",
    "label",
    "line_text",
    "money",
    "percent_text",
    "period_text",
]

LANGS = ("en", "zh")
LOCALES = {"en": "en_US", "zh": "zh_CN"}

LABELS: dict[str, dict[str, str]] = {
    "title": {"en": "Incentive statement: {rep}, {period}", "zh": "提成结算单：{rep}，{period}"},
    "due": {"en": "Due by {due}; {issued}.", "zh": "发放截止：{due}；{issued}。"},
    "issued": {"en": "issued {on}", "zh": "出具日期：{on}"},
    "not_issued": {"en": "not issued yet", "zh": "尚未出具"},
    "currency": {"en": "Amounts in {currency}.", "zh": "金额单位：{currency}。"},
    "date": {"en": "Date", "zh": "日期"},
    "step": {"en": "Calculation step", "zh": "计算步骤"},
    "amount": {"en": "Amount", "zh": "金额"},
    "customer": {"en": "Customer {customer}", "zh": "客户 {customer}"},
    "no_movement": {"en": "No movement this month.", "zh": "本月无变动。"},
    "totals": {"en": "Totals", "zh": "合计"},
    "total.earned": {"en": "Earned this month", "zh": "本月新增提成"},
    "total.freeze": {"en": "Frozen this month", "zh": "本月冻结"},
    "total.release": {"en": "Released this month", "zh": "本月释放"},
    "total.write_off": {"en": "Written off this month", "zh": "本月核销"},
    "total.paid_in_run": {"en": "Paid in this run", "zh": "本次发放"},
    "total.frozen_now": {"en": "Frozen now", "zh": "当前冻结余额"},
}


@dataclass(frozen=True)
class StatementDocument:
    """What a statement prints, as text: the one source of both its HTML and its PDF."""

    lang: str
    title: str
    subtitle: str
    columns: tuple[str, str, str]
    sections: list[tuple[str, list[tuple[str, str, str]]]]  # customer, (date, step, amount)
    empty: str | None  # the sentence shown when there is no line
    totals_heading: str
    totals: list[tuple[str, str]]


TOTAL_ORDER = ("earned", "freeze", "release", "write_off", "paid_in_run", "frozen_now")

_ACTION_ZH = {"freeze": "冻结", "release": "释放", "write_off": "核销"}
_REASONS_ZH: tuple[tuple[str, str], ...] = (
    (
        r"> (\d+) days overdue: freeze (\d+)% of unpaid incentive",
        r"逾期超过 \1 天：冻结未付提成的 \2%",
    ),
    (r"installment (\d+) due (\S+), unpaid for (\d+) days", r"第 \1 期应于 \2 回款，已 \3 天未付"),
    (r"payment (\S+) line of (\S+)", r"回款 \1 于 \2 计入的提成"),
    (r"earned while frozen", "冻结期间新增的提成"),
    (r"installment\(s\) ([\d, ]+) overdue", r"第 \1 期逾期"),
    (r"(\d+)% of the new payment (\S+) line", r"新回款 \2 提成的 \1%"),
    (
        r"paid between day (\d+) and (\d+): release after approval",
        r"第 \1 至 \2 天内回款：审批后释放",
    ),
    (r"paid within (\d+) days: release and back-pay", r"\1 天内回款：释放并补发"),
    (r"paid after (\d+) days: release \(no approval required\)", r"\1 天后回款：释放（无需审批）"),
    (
        r"unpaid at (\d+) days: write off incentive on the unpaid amount after risk approval",
        r"逾期 \1 天仍未回款：经风控审批后核销未回款部分的提成",
    ),
    (r"installment\(s\) ([\d, ]+) still hold the freeze", r"第 \1 期仍处冻结"),
    (r"installment (\d+) approved on (\S+)", r"第 \1 期于 \2 审批通过"),
    (r"approved on (\S+)", r"于 \1 审批通过"),
    (r"nothing holds the freeze", "冻结事由已解除"),
    (r"([\d,]+\.\d\d) still unpaid, no frozen incentive on it", r"仍有 \1 未回款，无冻结提成"),
    (r"([\d,]+\.\d\d) still unpaid", r"仍有 \1 未回款"),
    (r"unpaid on day (\d+)", r"第 \1 天仍未回款"),
    (r"paid on day (\d+)", r"第 \1 天回款"),
    (r"^installment (\d+) ", r"第 \1 期"),
)


def _check(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"unknown statement language {lang!r} (known: {', '.join(LANGS)})")
    return lang


def label(key: str, lang: str, **fields: object) -> str:
    """The text of *key* in *lang*, placeholders filled from *fields*."""
    text = LABELS[key][_check(lang)]
    return text.format(**fields) if fields else text


def amount_text(amount: Decimal) -> str:
    """An amount with thousands separators and two decimals (the same in both languages)."""
    return f"{amount:,.2f}"


def percent_text(rate: Decimal) -> str:
    """A rate as a percentage without trailing zeros (0.023 -> ``2.3%``)."""
    return f"{(rate * 100).normalize():f}%"


def money(amount: Decimal, currency: str, lang: str) -> str:
    """*amount* with its currency, two decimals, for the language (``¥93,792.00``)."""
    from babel.numbers import format_currency

    amount = Decimal(0) if amount == 0 else amount  # never -0.00
    return format_currency(amount, currency, locale=LOCALES[_check(lang)])


def date_text(on: dt.date, lang: str) -> str:
    """A date for the language: ``Mar 6, 2026`` / ``2026年3月6日``."""
    from babel.dates import format_date

    return format_date(on, "medium", locale=LOCALES[_check(lang)])


def period_text(period: str, lang: str) -> str:
    """A ``YYYY-MM`` month: kept as is in English, ``2026年2月`` in Chinese."""
    year, _, month = period.partition("-")
    return f"{year}年{int(month)}月" if _check(lang) == "zh" and month.isdigit() else period


def _source_zh(source: str) -> str:
    kind, _, ref = source.partition(" ")
    if kind == "payment":
        return f"回款 {ref}"
    if kind == "invoice":
        return f"第 {ref} 期开票"
    return {"signed": "签约"}.get(source, source)


def _reason_zh(text: str) -> str:
    parts = []
    for part in text.split("; "):
        for pattern, replacement in _REASONS_ZH:
            part = re.sub(pattern, replacement, part)
        parts.append(part)
    return "；".join(parts)


def _earning_zh(earning: EarningLine, bad_debt: Decimal) -> str:
    rate = earning.rate
    if rate == rate.quantize(Decimal("0.0001")):
        head = f"{amount_text(earning.basis_amount)} × {percent_text(rate)}"
    else:
        head = f"提成 {amount_text(earning.gross)}"
    formula = f"{head} × (1 − {percent_text(earning.rebate_rate)})" if earning.rebate_rate else head
    channel = f"渠道 {earning.channel} 已确认" if earning.channel else "直销"
    return (
        f"合同 {earning.contract_id} {_source_zh(earning.source)}："
        f"{amount_text(earning.basis_amount)} → 返点 {percent_text(earning.rebate_rate)} → "
        f"{channel} → 坏账 {amount_text(bad_debt)} → 应发 = {formula} = "
        f"{amount_text(earning.amount)}"
    )


def line_text(
    text: str,
    lang: str,
    *,
    earning: EarningLine | None = None,
    bad_debt: Decimal = Decimal(0),
    record: AuditRecord | None = None,
) -> str:
    """A statement line's step in *lang*: *text* (its English) or the Chinese made from
    the earning line or freeze-ladder record it came from."""
    if _check(lang) == "en" or (earning is None and record is None):
        return text
    if earning is not None:
        return _earning_zh(earning, bad_debt)
    assert record is not None
    action = _ACTION_ZH.get(record.action, record.action)
    return (
        f"合同 {record.contract_id}：{action} {amount_text(record.amount)}"
        f"（{_reason_zh(record.rule)}；{_reason_zh(record.reason)}）"
    )
