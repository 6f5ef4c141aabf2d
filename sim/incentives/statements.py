"""Monthly incentive statements: one per rep, one line per calculation step, HTML and PDF.

DOMAIN.md 3.7: per customer, each earning line reads like
``contract X received 1,200,000.00 -> rebate 2.3% (channel Y confirmed) -> bad debt 0.00
-> payable = 1,200,000.00 x 8% x (1 - 2.3%) = 93,792.00``, followed by the freeze-ladder
movements of the month (frozen, released, written off).  A statement is due by the
plan's working day of the next month (the 5th) and issued with that month's run.
HTML is plain escaped markup; the PDF is drawn with reportlab (pure Python).
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
from sim.incentives.accounts import ContractAccount, IncentiveRun
from sim.incentives.earnings import ZERO, EarningLine
from sim.io.output import confined, safe_name

__all__ = [
    "Statement",
    "StatementLine",
    "build_statements",
    "line_steps",
    "write_html",
    "write_pdf",
]


def _money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def _percent(rate: Decimal) -> str:
    text = f"{(rate * 100).normalize():f}"
    return f"{text}%"


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
    """One printed step: date, customer, contract, text, signed amount."""

    on: dt.date
    customer_id: str
    contract_id: str
    text: str
    amount: Decimal


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


def _html(statement: Statement) -> str:
    esc = html.escape
    rows = []
    for customer, lines in statement.by_customer().items():
        rows.append(f'<tr class="customer"><th colspan="3">customer {esc(customer)}</th></tr>')
        rows += [
            f"<tr><td>{line.on}</td><td>{esc(line.text)}</td>"
            f'<td class="amount">{_money(line.amount)}</td></tr>'
            for line in lines
        ]
    totals = "".join(
        f'<tr><th>{esc(k.replace("_", " "))}</th><td class="amount">{_money(v)}</td></tr>'
        for k, v in statement.totals.items()
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Incentive statement {esc(statement.rep_id)} {esc(statement.period)}</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:.2em .6em;text-align:left}}
.amount{{text-align:right;font-variant-numeric:tabular-nums}}tr.customer th{{background:#eee}}
</style></head><body>
<h1>Incentive statement: {esc(statement.rep_id)}, {esc(statement.period)}</h1>
<p>Due by {statement.due_on}; issued {statement.issued_on or "not yet"}.</p>
<table>{"".join(rows) or "<tr><td>No movement this month.</td></tr>"}</table>
<h2>Totals</h2><table>{totals}</table>
</body></html>
"""


def _path(folder: Path, statement: Statement, suffix: str) -> Path:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{folder}: cannot create output folder ({exc.strerror})") from None
    return confined(folder, safe_name(f"{statement.period}__{statement.rep_id}") + suffix)


def write_html(statement: Statement, folder: str | Path) -> Path:
    """Write the statement as ``<period>__<rep>.html`` inside *folder*."""
    path = _path(Path(folder), statement, ".html")
    path.write_text(_html(statement), encoding="utf-8")
    return path


def write_pdf(statement: Statement, folder: str | Path) -> Path:
    """Write the statement as ``<period>__<rep>.pdf`` inside *folder* (reportlab)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    path = _path(Path(folder), statement, ".pdf")
    styles = getSampleStyleSheet()
    story = [
        Paragraph(
            f"Incentive statement: {html.escape(statement.rep_id)}, {statement.period}",
            styles["Title"],
        ),
        Paragraph(
            f"Due by {statement.due_on}; issued {statement.issued_on or 'not yet'}.",
            styles["Normal"],
        ),
        Spacer(1, 8),
    ]
    rows = [["date", "step", "amount"]]
    for customer, lines in statement.by_customer().items():
        rows.append(
            ["", Paragraph(f"<b>customer {html.escape(customer)}</b>", styles["Normal"]), ""]
        )
        rows += [
            [str(line.on), Paragraph(html.escape(line.text), styles["Normal"]), _money(line.amount)]
            for line in lines
        ]
    rows += [["", k.replace("_", " "), _money(v)] for k, v in statement.totals.items()]
    table = Table(rows, colWidths=[70, 560, 90], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("ALIGN", (2, 0), (2, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                ("FONTSIZE", (0, 0), (-1, -1), 8),
            ]
        )
    )
    story.append(table)
    doc = SimpleDocTemplate(
        str(path),
        pagesize=landscape(A4),
        title=f"{statement.rep_id} {statement.period}",
        invariant=True,
    )
    doc.build(story)
    return path
