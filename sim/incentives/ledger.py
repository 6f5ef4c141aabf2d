"""The incentive ledger's records: contracts with installments, payments, disputes,
channel invoices, approvals, and the monthly runs.

Plain frozen dataclasses with exact Decimal amounts and calendar dates; built by
:mod:`sim.incentives.ledger_import` (CSV files) or :mod:`sim.incentives.payments` (the
simulation), read by :mod:`sim.incentives.accounts`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sim.errors import DataError

__all__ = [
    "Approval",
    "ChannelInvoice",
    "Contract",
    "Dispute",
    "IncentiveRun",
    "Installment",
    "Ledger",
    "Payment",
]


@dataclass(frozen=True)
class Installment:
    """One scheduled payment of a contract."""

    number: int
    invoiced_on: dt.date
    due_on: dt.date
    amount: Decimal


@dataclass(frozen=True)
class Contract:
    """A signed contract: owner, customer, optional sales channel, installments."""

    contract_id: str
    rep_id: str
    customer_id: str
    value: Decimal
    signed_on: dt.date
    installments: tuple[Installment, ...]
    channel: str | None = None
    fulfilled_on: dt.date | None = None


@dataclass(frozen=True)
class Payment:
    """Cash received for an installment (None: allocated to the oldest open one)."""

    payment_id: str
    contract_id: str
    amount: Decimal
    received_on: dt.date
    proof_uploaded_on: dt.date | None = None
    installment: int | None = None


@dataclass(frozen=True)
class Dispute:
    """A quality dispute, open on ``[opened_on, closed_on)``; None: still open."""

    contract_id: str
    opened_on: dt.date
    closed_on: dt.date | None = None


@dataclass(frozen=True)
class ChannelInvoice:
    """A row of a channel's ERP feed: invoice amount, channel code, end customer."""

    invoice_id: str
    channel: str
    end_customer_id: str
    amount: Decimal
    invoiced_on: dt.date


@dataclass(frozen=True)
class Approval:
    """A recorded approval: ``release`` (late payment) or ``write_off`` (risk)."""

    contract_id: str
    installment: int
    kind: str
    approved_on: dt.date


@dataclass(frozen=True)
class IncentiveRun:
    """A monthly run: pays what was payable by ``period_end``, on ``run_on``."""

    period: str  # "YYYY-MM"
    period_end: dt.date
    run_on: dt.date


@dataclass
class Ledger:
    """Everything the calculation reads; contracts keyed by id."""

    contracts: dict[str, Contract]
    payments: list[Payment] = field(default_factory=list)
    disputes: list[Dispute] = field(default_factory=list)
    channel_invoices: list[ChannelInvoice] = field(default_factory=list)
    approvals: list[Approval] = field(default_factory=list)

    def of_contract(self, contract_id: str) -> tuple[list[Payment], list[Approval]]:
        """Payments and approvals of one contract (indexed once per ledger size)."""
        key = (len(self.payments), len(self.approvals))
        index = self.__dict__.get("_index")
        if index is None or index[0] != key:
            by_contract: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
            for p in self.payments:
                by_contract[p.contract_id][0].append(p)
            for a in self.approvals:
                by_contract[a.contract_id][1].append(a)
            index = self.__dict__["_index"] = (key, dict(by_contract))
        return index[1].get(contract_id, ([], []))

    def contract(self, contract_id: str) -> Contract:
        """The contract *contract_id*; DataError naming close ids when unknown."""
        try:
            return self.contracts[contract_id]
        except KeyError:
            close = sorted(c for c in self.contracts if contract_id.lower() in c.lower())[:5]
            hint = f" (similar: {', '.join(close)})" if close else ""
            raise DataError(f"contract {contract_id!r} is not in the ledger{hint}") from None
