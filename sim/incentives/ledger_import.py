"""Importing an incentive ledger from CSV files, row by row, dropping nothing silently.

A ledger folder holds ``contracts.csv`` and ``installments.csv`` (required),
``payments.csv``, ``disputes.csv``, ``channel_invoices.csv`` and ``approvals.csv``
(optional; columns in :data:`COLUMNS`).  Dates are ISO (``2026-01-31``), amounts plain
decimals (``1200000.00``; thousands separators are refused as ambiguous).  Each row is
either accepted or quarantined with a :class:`~sim.io.quarantine.QuarantinedRow` naming
file, line, column and reason (the record the CRM import uses too), so for every file
``read == accepted + quarantined``.  A missing required file
or column is a :class:`~sim.errors.DataError` (one line).

:func:`read_ibm_receivables` reads the IBM Watson accounts-receivable sample (US dates,
invoice numbers as text) and :func:`ibm_ledger` turns it into a ledger.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pandas as pd

from sim.errors import DataError
from sim.incentives.accounts import (
    Approval,
    ChannelInvoice,
    Contract,
    Dispute,
    Installment,
    Ledger,
    Payment,
)
from sim.io.quarantine import FileCount, QuarantinedRow, check_counts, quarantine_frame

__all__ = [
    "COLUMNS",
    "ImportReport",
    "ibm_ledger",
    "read_ibm_receivables",
    "read_ledger",
]

COLUMNS = {
    "contracts.csv": ("contract_id", "rep_id", "customer_id", "value", "signed_on"),
    "installments.csv": ("contract_id", "installment", "invoiced_on", "due_on", "amount"),
    "payments.csv": ("payment_id", "contract_id", "amount", "received_on"),
    "disputes.csv": ("contract_id", "opened_on"),
    "channel_invoices.csv": ("invoice_id", "channel", "end_customer_id", "amount", "invoiced_on"),
    "approvals.csv": ("contract_id", "installment", "kind", "approved_on"),
}
"""Required columns per file; optional ones: contracts ``channel, fulfilled_on``,
payments ``proof_uploaded_on, installment``, disputes ``closed_on``."""
REQUIRED_FILES = ("contracts.csv", "installments.csv")


def _table(file: str) -> str:
    """The table a ledger file holds: its name without ``.csv``."""
    return file.removesuffix(".csv")


def _problem(file: str, line: int, column: str, reason: str) -> QuarantinedRow:
    """The quarantine record of one ledger row."""
    return QuarantinedRow(_table(file), file, line, column, reason)


@dataclass
class ImportReport:
    """Per file: rows read and accepted, and the quarantined rows with their problems."""

    read: dict[str, int] = field(default_factory=dict)
    accepted: dict[str, int] = field(default_factory=dict)
    problems: list[QuarantinedRow] = field(default_factory=list)

    def quarantined(self, file: str) -> int:
        """Rows of *file* that were not accepted."""
        return len({p.row for p in self.problems if p.file == file})

    def counts(self) -> list[FileCount]:
        """Per file: rows read, accepted and quarantined."""
        return [
            FileCount(_table(f), f, self.read[f], self.accepted[f], self.quarantined(f))
            for f in self.read
        ]

    def balanced(self) -> bool:
        """read = accepted + quarantined, for every file."""
        try:
            check_counts(self.counts())
        except DataError:
            return False
        return True

    def quarantine(self) -> pd.DataFrame:
        """The quarantined rows as a table in the shared quarantine-file columns."""
        return quarantine_frame(self.problems)

    def summary(self) -> str:
        """One line: per file accepted/read, and the quarantine count."""
        parts = [f"{f} {self.accepted[f]}/{self.read[f]}" for f in self.read]
        return f"accepted {', '.join(parts)}; {len(self.problems)} row problem(s)"


class _RowError(Exception):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


def _text(row: dict, column: str, optional: bool = False) -> str | None:
    value = (row.get(column) or "").strip()
    if not value:
        if optional:
            return None
        raise _RowError(column, "is empty")
    return value


def _date(row: dict, column: str, optional: bool = False) -> dt.date | None:
    value = _text(row, column, optional)
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _RowError(column, f"not an ISO date (YYYY-MM-DD): {value!r}") from None


def _amount(row: dict, column: str) -> Decimal:
    value = _text(row, column)
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise _RowError(column, f"not a plain decimal amount: {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise _RowError(column, f"must be a finite amount >= 0, got {value!r}")
    if amount != amount.quantize(Decimal("0.01")):
        raise _RowError(column, f"has more than 2 decimals: {value!r}")
    return amount


def _int(row: dict, column: str, optional: bool = False) -> int | None:
    value = _text(row, column, optional)
    if value is None:
        return None
    if not value.isdigit() or int(value) < 1:
        raise _RowError(column, f"must be a whole number >= 1, got {value!r}")
    return int(value)


def _rows(folder: Path, name: str, report: ImportReport):
    """(line number, row dict) of a CSV file; DataError for a missing file or column."""
    path = folder / name
    if not path.is_file():
        if name in REQUIRED_FILES:
            raise DataError(f"{path}: file not found (a ledger needs {', '.join(REQUIRED_FILES)})")
        report.read[name] = report.accepted[name] = 0
        return []
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            missing = [c for c in COLUMNS[name] if c not in header]
            if missing:
                raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
            rows = [(reader.line_num, row) for row in reader]
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text") from None
    except csv.Error as exc:
        raise DataError(f"{path}: malformed CSV ({exc})") from None
    report.read[name] = len(rows)
    report.accepted[name] = 0
    return rows


def _accept(report: ImportReport, name: str, line: int, build, *args):
    """``build(row)`` or None, with the row's problem recorded."""
    try:
        item = build(*args)
    except _RowError as exc:
        report.problems.append(_problem(name, line, exc.column, exc.reason))
        return None
    report.accepted[name] += 1
    return item


def _contract_row(row):
    return dict(
        contract_id=_text(row, "contract_id"),
        rep_id=_text(row, "rep_id"),
        customer_id=_text(row, "customer_id"),
        value=_amount(row, "value"),
        signed_on=_date(row, "signed_on"),
        channel=_text(row, "channel", optional=True),
        fulfilled_on=_date(row, "fulfilled_on", optional=True),
    )


def _installment_row(row, contracts):
    contract_id = _text(row, "contract_id")
    if contract_id not in contracts:
        raise _RowError("contract_id", f"unknown contract {contract_id!r}")
    invoiced, due = _date(row, "invoiced_on"), _date(row, "due_on")
    if due < invoiced:
        raise _RowError("due_on", f"{due} is before invoiced_on {invoiced}")
    return contract_id, Installment(_int(row, "installment"), invoiced, due, _amount(row, "amount"))


def _payment_row(row, contracts):
    contract_id = _text(row, "contract_id")
    if contract_id not in contracts:
        raise _RowError("contract_id", f"unknown contract {contract_id!r}")
    received = _date(row, "received_on")
    proof = _date(row, "proof_uploaded_on", optional=True)
    if proof is not None and proof < received:
        raise _RowError("proof_uploaded_on", f"{proof} is before received_on {received}")
    number = _int(row, "installment", optional=True)
    known = {i.number for i in contracts[contract_id]["installments"]}
    if number is not None and number not in known:
        raise _RowError("installment", f"contract {contract_id} has no installment {number}")
    amount = _amount(row, "amount")
    return Payment(_text(row, "payment_id"), contract_id, amount, received, proof, number)


def _dispute_row(row, contracts):
    contract_id = _text(row, "contract_id")
    if contract_id not in contracts:
        raise _RowError("contract_id", f"unknown contract {contract_id!r}")
    opened, closed = _date(row, "opened_on"), _date(row, "closed_on", optional=True)
    if closed is not None and closed < opened:
        raise _RowError("closed_on", f"{closed} is before opened_on {opened}")
    return Dispute(contract_id, opened, closed)


def _invoice_row(row):
    return ChannelInvoice(
        _text(row, "invoice_id"),
        _text(row, "channel"),
        _text(row, "end_customer_id"),
        _amount(row, "amount"),
        _date(row, "invoiced_on"),
    )


def _approval_row(row, contracts):
    contract_id = _text(row, "contract_id")
    if contract_id not in contracts:
        raise _RowError("contract_id", f"unknown contract {contract_id!r}")
    kind = _text(row, "kind")
    if kind not in ("release", "write_off"):
        raise _RowError("kind", f"must be release or write_off, got {kind!r}")
    return Approval(contract_id, _int(row, "installment"), kind, _date(row, "approved_on"))


def _contracts(folder: Path, report: ImportReport) -> dict[str, dict]:
    name, contracts, lines = "contracts.csv", {}, {}
    for line, row in _rows(folder, name, report):
        item = _accept(report, name, line, _contract_row, row)
        if item is None:
            continue
        if item["contract_id"] in contracts:
            report.accepted[name] -= 1
            first = lines[item["contract_id"]]
            reason = f"duplicate contract_id (first on line {first})"
            report.problems.append(_problem(name, line, "contract_id", reason))
            continue
        contracts[item["contract_id"]] = {**item, "installments": []}
        lines[item["contract_id"]] = line
    for line, row in _rows(folder, "installments.csv", report):
        item = _accept(report, "installments.csv", line, _installment_row, row, contracts)
        if item is not None:
            contracts[item[0]]["installments"].append(item[1])
    for contract_id, spec in list(contracts.items()):
        numbers = sorted(i.number for i in spec["installments"])
        total = sum((i.amount for i in spec["installments"]), Decimal(0))
        reason = None
        if not numbers:
            reason = "has no installment in installments.csv"
        elif len(set(numbers)) != len(numbers):
            reason = f"repeats an installment number ({numbers})"
        elif total != spec["value"]:
            reason = f"installments sum to {total}, not the value {spec['value']}"
        if reason is not None:
            report.accepted[name] -= 1
            report.problems.append(_problem(name, lines[contract_id], "value", reason))
            del contracts[contract_id]
    return contracts


def read_ledger(folder: str | Path) -> tuple[Ledger, ImportReport]:
    """Read a ledger folder; every rejected row is in the report, none disappears.

    A contract whose installments are inconsistent is quarantined, and so are the
    payments, disputes and approvals that name it (their reason says so).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: ledger folder not found")
    report = ImportReport()
    specs = _contracts(folder, report)
    ledger = Ledger(contracts={})
    for cid, spec in specs.items():
        installments = tuple(sorted(spec.pop("installments"), key=lambda i: i.number))
        ledger.contracts[cid] = Contract(installments=installments, **spec)
    specs = {cid: {"installments": c.installments} for cid, c in ledger.contracts.items()}
    for name, build, target, args in (
        ("payments.csv", _payment_row, ledger.payments, (specs,)),
        ("disputes.csv", _dispute_row, ledger.disputes, (specs,)),
        ("channel_invoices.csv", _invoice_row, ledger.channel_invoices, ()),
        ("approvals.csv", _approval_row, ledger.approvals, (specs,)),
    ):
        first_line: dict[str, int] = {}
        for line, row in _rows(folder, name, report):
            item = _accept(report, name, line, build, row, *args)
            if item is None:
                continue
            key = _ID_FIELDS.get(name)
            if key is not None and getattr(item, key) in first_line:
                report.accepted[name] -= 1
                reason = f"duplicate {key} (first on line {first_line[getattr(item, key)]})"
                report.problems.append(_problem(name, line, key, reason))
                continue
            if key is not None:
                first_line[getattr(item, key)] = line
            target.append(item)
    return ledger, report


_ID_FIELDS = {"payments.csv": "payment_id", "channel_invoices.csv": "invoice_id"}


def read_ibm_receivables(path: str | Path) -> pd.DataFrame:
    """The IBM accounts-receivable sample: dates parsed (US ``M/D/YYYY``), invoice numbers
    and customer ids kept as text, ``DaysLate`` checked against the dates."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    frame = pd.read_csv(path, dtype={"invoiceNumber": str, "customerID": str, "countryCode": str})
    needed = ("customerID", "invoiceNumber", "InvoiceDate", "DueDate", "InvoiceAmount")
    missing = [c for c in (*needed, "SettledDate", "Disputed", "DaysLate") if c not in frame]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
    for column in ("InvoiceDate", "DueDate", "SettledDate"):
        parsed = pd.to_datetime(frame[column], format="%m/%d/%Y", errors="coerce")
        bad = parsed.isna() & frame[column].notna()
        if bad.any():
            line = int(bad.to_numpy().argmax()) + 2
            raise DataError(f"{path}: line {line}: {column}: not a M/D/YYYY date")
        frame[column] = parsed.dt.date
    late = [
        (s - d).days if s is not None else None
        for s, d in zip(frame["SettledDate"], frame["DueDate"], strict=True)
    ]
    frame["days_overdue"] = late
    return frame


def ibm_ledger(frame: pd.DataFrame) -> Ledger:
    """Each IBM invoice as a one-installment contract (Decision: the rep is the customer's
    country code, the bank proof arrives with the settlement, fulfilment on the invoice
    date; a disputed invoice has a dispute open from invoice to settlement)."""
    ledger = Ledger(contracts={})
    for row in frame.itertuples(index=False):
        cid = str(row.invoiceNumber)
        amount = Decimal(str(row.InvoiceAmount)).quantize(Decimal("0.01"))
        inst = Installment(1, row.InvoiceDate, row.DueDate, amount)
        ledger.contracts[cid] = Contract(
            cid,
            f"rep-{row.countryCode}",
            str(row.customerID),
            amount,
            row.InvoiceDate,
            (inst,),
            fulfilled_on=row.InvoiceDate,
        )
        if row.SettledDate is not None and not pd.isna(row.SettledDate):
            ledger.payments.append(
                Payment(f"S{cid}", cid, amount, row.SettledDate, row.SettledDate, 1)
            )
            if str(row.Disputed).strip().lower() == "yes":
                ledger.disputes.append(Dispute(cid, row.InvoiceDate, row.SettledDate))
    return ledger
