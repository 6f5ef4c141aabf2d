"""The IBM Watson accounts-receivable sample as an incentive ledger.

:func:`read_ibm_receivables` reads the file (US dates, invoice numbers as text) and
:func:`ibm_ledger` turns it into a ledger: one one-installment contract per invoice.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd

from sim.errors import DataError
from sim.incentives.accounts import Contract, Dispute, Installment, Ledger, Payment

__all__ = ["ibm_ledger", "read_ibm_receivables"]


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
