"""Monthly incentive statements: one per rep, one line per calculation step, HTML and PDF.

DOMAIN.md 3.7: per customer, each earning line reads like
``contract X received 1,200,000.00 -> rebate 2.3% (channel Y confirmed) -> bad debt 0.00
-> payable = 1,200,000.00 x 8% x (1 - 2.3%) = 93,792.00``, followed by the freeze-ladder
movements of the month (frozen, released, written off).  A statement is due by the
plan's working day of the next month (the 5th) and issued with that month's run.

Both files are drawn from one :class:`StatementDocument` (:func:`statement_document`):
the same headings, lines and totals, in English or Chinese (``lang``), money with its
currency (CNY by default) formatted for the language by babel.  HTML is plain escaped
markup; the PDF is drawn with reportlab and embeds the workbench's CJK font
(:mod:`sim.io.fonts`), so Chinese rep and customer names print and can be copied out.
File names keep Chinese names (``2026-02__李明.pdf``) and never put two reps in one file.
"""

from __future__ import annotations

import datetime as dt
import html
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sim.errors import ConfigError
from sim.incentives.accounts import AuditRecord, ContractAccount, IncentiveRun
from sim.incentives.earnings import ZERO, EarningLine
from sim.incentives.statement_text import (
    LANGS,
    TOTAL_ORDER,
    StatementDocument,
    amount_text,
    date_text,
    label,
    line_text,
    money,
    percent_text,
    period_text,
)
from sim.io.fonts import CJK_FAMILY, font_face_css
from sim.io.output import confined, distinct_name, unique_names

__all__ = [
    "LANGS",
    "Statement",
    "StatementDocument",
    "StatementLine",
    "build_statements",
    "line_steps",
    "statement_document",
    "write_html",
    "write_pdf",
    "write_statements",
]


_money = amount_text
_percent = percent_text


def line_steps(line: EarningLine, bad_debt: Decimal = ZERO) -> str:
    """The calculation of one earning line, step by step (the source's format)."""
    channel = f"channel {line.channel} confirmed" if line.channel else "direct sale"
    rate = line.rate
    exact_rate = rate == rate.quantize(Decimal("0.0001"))
    head = (
        f"{_money(line.basis_amount)} x {_percent(rate)}"
        if exact_rate
        else (f"gross {_money(line.gross)}")
    )
    formula = f"{head} x (1 - {_percent(line.rebate_rate)})" if line.rebate_rate else head
    return (
        f"contract {line.contract_id} {line.source}: {_money(line.basis_amount)} "
        f"-> rebate {_percent(line.rebate_rate)} -> {channel} -> bad debt {_money(bad_debt)} "
        f"-> payable = {formula} = {_money(line.amount)}"
    )


@dataclass(frozen=True)
class StatementLine:
    """One printed step: date, customer, contract, text (English), signed amount, and
    what it was made from (an earning line or a freeze-ladder record), for other
    languages."""

    on: dt.date
    customer_id: str
    contract_id: str
    text: str
    amount: Decimal
    earning: EarningLine | None = None
    bad_debt: Decimal = ZERO
    record: AuditRecord | None = None


@dataclass
class Statement:
    """A rep's statement for one month."""

    rep_id: str
    period: str
    due_on: dt.date
    issued_on: dt.date | None
    lines: list[StatementLine] = field(default_factory=list)
    totals: dict[str, Decimal] = field(default_factory=dict)

    def by_customer(self) -> dict[str, list[StatementLine]]:
        """Lines grouped by customer, in customer order."""
        groups: dict[str, list[StatementLine]] = defaultdict(list)
        for line in sorted(self.lines, key=lambda x: (x.customer_id, x.on, x.contract_id)):
            groups[line.customer_id].append(line)
        return dict(groups)


_LADDER = {"freeze": -1, "release": 1, "write_off": 0}


def build_statements(
    accounts: Sequence[ContractAccount], run: IncentiveRun, due_on: dt.date
) -> list[Statement]:
    """One statement per rep for *run*'s month, from accounts computed as of its run date."""
    first = run.period_end.replace(day=1)
    statements: dict[str, Statement] = {}
    for account in accounts:
        contract = account.contract
        st = statements.setdefault(
            contract.rep_id, Statement(contract.rep_id, run.period, due_on, run.run_on)
        )
        totals = st.totals
        in_month = [r for r in account.audit if first <= r.on <= run.period_end]
        bad_debt = sum((r.amount for r in in_month if r.action == "write_off"), ZERO)
        for line in account.lines:
            if first <= line.on <= run.period_end:
                st.lines.append(
                    StatementLine(
                        line.on,
                        contract.customer_id,
                        contract.contract_id,
                        line_steps(line, bad_debt),
                        line.amount,
                        earning=line,
                        bad_debt=bad_debt,
                    )
                )
                totals["earned"] = totals.get("earned", ZERO) + line.amount
        for record in in_month:
            if record.action not in _LADDER or record.amount == 0:
                continue
            sign = _LADDER[record.action]
            st.lines.append(
                StatementLine(
                    record.on,
                    contract.customer_id,
                    contract.contract_id,
                    f"contract {contract.contract_id}: {record.action.replace('_', ' ')} "
                    f"{_money(record.amount)} ({record.rule}; {record.reason})",
                    record.amount * sign,
                    record=record,
                )
            )
            totals[record.action] = totals.get(record.action, ZERO) + record.amount
        paid = sum(
            (r.amount for r in account.audit if r.action == "pay_out" and r.on == run.run_on),
            ZERO,
        )
        totals["paid_in_run"] = totals.get("paid_in_run", ZERO) + paid
        totals["frozen_now"] = totals.get("frozen_now", ZERO) + account.frozen
    return [statements[rep] for rep in sorted(statements)]


def _line_text(line: StatementLine, lang: str) -> str:
    return line_text(
        line.text, lang, earning=line.earning, bad_debt=line.bad_debt, record=line.record
    )


def statement_document(
    statement: Statement, lang: str = "en", currency: str = "CNY"
) -> StatementDocument:
    """The printed text of *statement* in *lang* (``en`` or ``zh``), money in *currency*."""
    when = date_text(statement.issued_on, lang) if statement.issued_on else None
    issued = label("issued", lang, on=when) if when else label("not_issued", lang)
    sections = [
        (
            label("customer", lang, customer=customer),
            [
                (
                    date_text(line.on, lang),
                    _line_text(line, lang),
                    money(line.amount, currency, lang),
                )
                for line in lines
            ],
        )
        for customer, lines in statement.by_customer().items()
    ]
    order = [k for k in TOTAL_ORDER if k in statement.totals]
    order += [k for k in statement.totals if k not in TOTAL_ORDER]
    totals = [
        (
            label(f"total.{key}", lang) if key in TOTAL_ORDER else key.replace("_", " "),
            money(statement.totals[key], currency, lang),
        )
        for key in order
    ]
    return StatementDocument(
        lang=lang,
        title=label(
            "title", lang, rep=statement.rep_id, period=period_text(statement.period, lang)
        ),
        subtitle=label("due", lang, due=date_text(statement.due_on, lang), issued=issued),
        columns=(label("date", lang), label("step", lang), label("amount", lang)),
        sections=sections,
        empty=None if sections else label("no_movement", lang),
        totals_heading=label("totals", lang),
        totals=totals,
    )


def _document_text(doc: StatementDocument) -> str:
    """Every character *doc* prints (for the font subset its HTML embeds)."""
    cells = [doc.title, doc.subtitle, *doc.columns, doc.totals_heading, doc.empty or ""]
    for customer, lines in doc.sections:
        cells += [customer, *(cell for line in lines for cell in line)]
    cells += [cell for row in doc.totals for cell in row]
    return "".join(sorted(set("".join(cells))))


def _html(doc: StatementDocument, font_css: str | None = None) -> str:
    esc = html.escape
    if font_css is None:
        font_css = font_face_css(_document_text(doc))
    rows = [
        "<thead><tr>"
        + "".join(
            f"<th{' class=amount' if i == 2 else ''}>{esc(c)}</th>"
            for i, c in enumerate(doc.columns)
        )
        + "</tr></thead>"
    ]
    for customer, lines in doc.sections:
        rows.append(f'<tr class="customer"><th colspan="3">{esc(customer)}</th></tr>')
        rows += [
            f'<tr><td class="date">{esc(on)}</td><td>{esc(text)}</td>'
            f'<td class="amount">{esc(amount)}</td></tr>'
            for on, text, amount in lines
        ]
    if doc.empty:
        rows.append(f'<tr><td colspan="3">{esc(doc.empty)}</td></tr>')
    totals = "".join(
        f'<tr><th>{esc(name)}</th><td class="amount">{esc(value)}</td></tr>'
        for name, value in doc.totals
    )
    lang = "zh-CN" if doc.lang == "zh" else "en"
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(doc.title)}</title>
<style>{font_css}
body{{font-family:"{CJK_FAMILY}","PingFang SC","Microsoft YaHei",sans-serif;
margin:2em auto;max-width:1100px;padding:0 1em;color:#222;line-height:1.5}}
h1{{font-size:1.5em;margin-bottom:.2em}}h2{{font-size:1.2em;margin-top:1.5em}}
.scroll{{overflow-x:auto}}table{{border-collapse:collapse;width:100%}}
td,th{{padding:.3em .6em;text-align:left;vertical-align:top;border-bottom:1px solid #e5e5e5}}
thead th{{border-bottom:2px solid #555}}.date{{white-space:nowrap}}
.amount{{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}}
tr.customer th{{background:#f2f2f2}}table.totals{{width:auto;min-width:24em}}
</style></head><body>
<h1>{esc(doc.title)}</h1>
<p>{esc(doc.subtitle)}</p>
<div class="scroll"><table>{"".join(rows)}</table></div>
<h2>{esc(doc.totals_heading)}</h2><table class="totals">{totals}</table>
</body></html>
"""


def _path(folder: Path, statement: Statement, suffix: str, stem: str | None) -> Path:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{folder}: cannot create output folder ({exc.strerror})") from None
    rep = stem if stem is not None else distinct_name(statement.rep_id)
    return confined(folder, f"{statement.period}__{rep}{suffix}")


def write_html(
    statement: Statement,
    folder: str | Path,
    *,
    lang: str = "en",
    currency: str = "CNY",
    stem: str | None = None,
    font_css: str | None = None,
) -> Path:
    """Write the statement as ``<period>__<rep>.html`` inside *folder*; *stem* replaces
    the rep part (default: the rep id made file-safe, with a hash if that changed it).
    The page embeds the CJK font cut to its characters (*font_css*, made if not given)."""
    path = _path(Path(folder), statement, ".html", stem)
    doc = statement_document(statement, lang, currency)
    path.write_text(_html(doc, font_css), encoding="utf-8")
    return path


def write_pdf(
    statement: Statement,
    folder: str | Path,
    *,
    lang: str = "en",
    currency: str = "CNY",
    stem: str | None = None,
) -> Path:
    """Write the statement as ``<period>__<rep>.pdf`` inside *folder* (reportlab, CJK font
    embedded); the same text as :func:`write_html`."""
    from sim.incentives.statement_pdf import draw_pdf

    path = _path(Path(folder), statement, ".pdf", stem)
    draw_pdf(statement_document(statement, lang, currency), path)
    return path


def write_statements(
    statements: Sequence[Statement],
    folder: str | Path,
    *,
    lang: str = "en",
    currency: str = "CNY",
) -> list[tuple[Statement, Path, Path]]:
    """Write every statement as HTML and PDF; rep ids that would share a file name (even
    ignoring case) are told apart by a short hash.  Returns (statement, html, pdf)."""
    stems = unique_names(s.rep_id for s in statements)
    docs = [statement_document(s, lang, currency) for s in statements]
    font_css = font_face_css("".join(_document_text(doc) for doc in docs))  # one subset
    options = {"lang": lang, "currency": currency, "font_css": font_css}
    return [
        (
            s,
            write_html(s, folder, stem=stems[s.rep_id], **options),
            write_pdf(s, folder, lang=lang, currency=currency, stem=stems[s.rep_id]),
        )
        for s in statements
    ]
