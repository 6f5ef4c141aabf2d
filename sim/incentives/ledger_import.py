"""Importing an incentive ledger from CSV files, row by row, dropping nothing silently.

A ledger folder holds ``contracts.csv`` and ``installments.csv`` (required),
``payments.csv``, ``disputes.csv``, ``channel_invoices.csv`` and ``approvals.csv``
(optional; columns in :data:`COLUMNS`).  Dates are ISO (``2026-01-31``), amounts plain
decimals (``1200000.00``: digits and one point; thousands separators, ``1_000.00`` and
``1E+3`` are refused as ambiguous, reason ``bad_number``).  Each row is either accepted
or quarantined with a :class:`~sim.io.quarantine.QuarantinedRow` naming file, line,
column and reason (the record the CRM import uses too), so for every file
``read == accepted + quarantined``.  A contract that is quarantined takes every row that
names it along (installments, payments, disputes, approvals: ``contract_quarantined``),
so those rows are never counted as accepted nor reported as naming an unknown contract.
A missing required file or column, a path that is not a file, or a column named twice is
a :class:`~sim.errors.DataError` (one line); a column the ledger does not know is a
warning (:attr:`ImportReport.warnings`), or a DataError with ``strict=True``.

:func:`read_ibm_receivables` and :func:`ibm_ledger` (the IBM Watson accounts-receivable
sample) live in :mod:`sim.incentives.ibm_receivables` and are re-exported here.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
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
from sim.incentives.ibm_receivables import ibm_ledger, read_ibm_receivables
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
OPTIONAL_COLUMNS = {
    "contracts.csv": ("channel", "fulfilled_on"),
    "payments.csv": ("proof_uploaded_on", "installment"),
    "disputes.csv": ("closed_on",),
}
REQUIRED_FILES = ("contracts.csv", "installments.csv")
_PLAIN_AMOUNT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


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
    warnings: list[str] = field(default_factory=list)

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
        if not _PLAIN_AMOUNT.fullmatch(value):
            raise InvalidOperation
        amount = Decimal(value)
    except InvalidOperation:
        raise _RowError(column, f"not a plain decimal amount: {value!r} (bad_number)") from None
    if amount < 0:
        raise _RowError(column, f"must be an amount >= 0, got {value!r} (bad_number)")
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


def _check_header(path: Path, name: str, header: list[str], report: ImportReport, strict: bool):
    """DataError for a missing or doubled column; a warning (strict: DataError) for one
    the ledger does not know."""
    missing = [c for c in COLUMNS[name] if c not in header]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
    doubled = sorted({c for c in header if header.count(c) > 1})
    if doubled:
        raise DataError(f"{path}: column(s) {', '.join(map(repr, doubled))} appear twice")
    known = (*COLUMNS[name], *OPTIONAL_COLUMNS.get(name, ()))
    for column in [c for c in header if c not in known]:
        text = f"{path}: unknown column {column!r} (known: {', '.join(known)})"
        if strict:
            raise DataError(text)
        report.warnings.append(f"{text}; ignored")


def _rows(folder: Path, name: str, report: ImportReport, strict: bool = False):
    """(line number, row dict) of a CSV file; DataError for a missing file or column."""
    path = folder / name
    if path.exists() and not path.is_file():
        raise DataError(f"{path}: not a regular file")
    if not path.is_file():
        if name in REQUIRED_FILES:
            raise DataError(f"{path}: file not found (a ledger needs {', '.join(REQUIRED_FILES)})")
        report.read[name] = report.accepted[name] = 0
        return []
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            _check_header(path, name, list(reader.fieldnames or []), report, strict)
            rows = [(reader.line_num, row) for row in reader]
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except csv.Error as exc:
        raise DataError(f"{path}: malformed CSV ({exc})") from None
    report.read[name] = len(rows)
    report.accepted[name] = 0
    return rows


def _accept(report: ImportReport, name: str, line: int, build, row, *args):
    """``build(row)`` or None, with the row's problem recorded."""
    try:
        if None in row:  # more fields than the header: nothing in the row is sure
            width = len(row) - 1 + len(row[None])
            raise _RowError(
                "(record)", f"{width} fields, the header has {len(row) - 1} (bad_field_count)"
            )
        item = build(row, *args)
    except _RowError as exc:
        report.problems.append(_problem(name, line, exc.column, exc.reason))
        return None
    report.accepted[name] += 1
    return item


@dataclass
class _Contracts:
    """Contract ids for reference checks: accepted (id -> spec) and quarantined (id ->
    its line in contracts.csv)."""

    accepted: dict[str, dict]
    quarantined: dict[str, int] = field(default_factory=dict)

    def __contains__(self, contract_id: str) -> bool:
        return contract_id in self.accepted

    def __getitem__(self, contract_id: str) -> dict:
        return self.accepted[contract_id]


def _known_contract(row: dict, contracts: _Contracts) -> str:
    """The row's contract id; a row error when it names no accepted contract: one that
    was quarantined (``contract_quarantined``) or one never seen (unknown)."""
    contract_id = _text(row, "contract_id")
    if contract_id in contracts:
        return contract_id
    if contract_id in contracts.quarantined:
        line = contracts.quarantined[contract_id]
        raise _RowError(
            "contract_id",
            f"contract {contract_id!r} is quarantined, see contracts.csv line {line} "
            "(contract_quarantined)",
        )
    raise _RowError("contract_id", f"unknown contract {contract_id!r}")


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
    contract_id = _known_contract(row, contracts)
    invoiced, due = _date(row, "invoiced_on"), _date(row, "due_on")
    if due < invoiced:
        raise _RowError("due_on", f"{due} is before invoiced_on {invoiced}")
    return contract_id, Installment(_int(row, "installment"), invoiced, due, _amount(row, "amount"))


def _payment_row(row, contracts):
    contract_id = _known_contract(row, contracts)
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
    contract_id = _known_contract(row, contracts)
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
    contract_id = _known_contract(row, contracts)
    kind = _text(row, "kind")
    if kind not in ("release", "write_off"):
        raise _RowError("kind", f"must be release or write_off, got {kind!r}")
    return Approval(contract_id, _int(row, "installment"), kind, _date(row, "approved_on"))


def _contracts(folder: Path, report: ImportReport, strict: bool) -> _Contracts:
    name, contracts, lines = "contracts.csv", {}, {}
    refs = _Contracts(contracts)
    for line, row in _rows(folder, name, report, strict):
        item = _accept(report, name, line, _contract_row, row)
        if item is None:
            cid = (row.get("contract_id") or "").strip() if None not in row else ""
            if cid:
                refs.quarantined.setdefault(cid, line)
            continue
        if item["contract_id"] in contracts:
            report.accepted[name] -= 1
            first = lines[item["contract_id"]]
            reason = f"duplicate contract_id (first on line {first})"
            report.problems.append(_problem(name, line, "contract_id", reason))
            continue
        contracts[item["contract_id"]] = {**item, "installments": []}
        lines[item["contract_id"]] = line
    installment_lines: dict[str, list[int]] = {}
    for line, row in _rows(folder, "installments.csv", report, strict):
        item = _accept(report, "installments.csv", line, _installment_row, row, refs)
        if item is not None:
            contracts[item[0]]["installments"].append(item[1])
            installment_lines.setdefault(item[0], []).append(line)
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
            refs.quarantined.setdefault(contract_id, lines[contract_id])
            _cascade(report, contract_id, lines[contract_id], installment_lines)
    for contract_id in set(refs.quarantined) & set(contracts):
        del refs.quarantined[contract_id]  # a later row of that id was accepted
    return refs


def _cascade(report: ImportReport, contract_id: str, line: int, accepted: dict) -> None:
    """Quarantine the accepted installment rows of a contract quarantined afterwards."""
    name = "installments.csv"
    reason = (
        f"contract {contract_id!r} is quarantined, see contracts.csv line {line} "
        "(contract_quarantined)"
    )
    for row in accepted.get(contract_id, []):
        report.accepted[name] -= 1
        report.problems.append(_problem(name, row, "contract_id", reason))


def read_ledger(folder: str | Path, strict: bool = False) -> tuple[Ledger, ImportReport]:
    """Read a ledger folder; every rejected row is in the report, none disappears.

    A contract that is quarantined (a bad row, or inconsistent installments) takes its
    installments, payments, disputes and approvals along (``contract_quarantined``).
    *strict*: a column the ledger does not know is an error instead of a warning.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: ledger folder not found")
    report = ImportReport()
    refs = _contracts(folder, report, strict)
    ledger = Ledger(contracts={})
    for cid, spec in refs.accepted.items():
        installments = tuple(sorted(spec.pop("installments"), key=lambda i: i.number))
        ledger.contracts[cid] = Contract(installments=installments, **spec)
    specs = _Contracts(
        {cid: {"installments": c.installments} for cid, c in ledger.contracts.items()},
        refs.quarantined,
    )
    for name, build, target, args in (
        ("payments.csv", _payment_row, ledger.payments, (specs,)),
        ("disputes.csv", _dispute_row, ledger.disputes, (specs,)),
        ("channel_invoices.csv", _invoice_row, ledger.channel_invoices, ()),
        ("approvals.csv", _approval_row, ledger.approvals, (specs,)),
    ):
        first_line: dict[str, int] = {}
        for line, row in _rows(folder, name, report, strict):
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
