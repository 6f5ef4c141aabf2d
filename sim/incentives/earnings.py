"""Statement lines of the incentive ledger: what each contract earns, line by line.

:func:`earning_lines` turns a :class:`~sim.incentives.ledger.Ledger` into
:class:`EarningLine` records under a :class:`~policies.commission.CommissionPlan`: a basis
amount counted on a date (signed, invoiced or cash received under the three conditions),
its tiered rate, the channel rebate its rep's pool earns, and the incentive, rounded to
0.01 (ROUND_HALF_UP) once per line.  Also: when each installment was paid, what is still
unpaid, and the channel feed matched to the owning reps.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from policies.commission import CommissionPlan, cash_counted_on
from policies.rules import RuleRefused
from sim.errors import RuleError
from sim.incentives.ledger import Contract, Ledger, Payment

__all__ = [
    "CENT",
    "ZERO",
    "EarningLine",
    "cent",
    "channel_pools",
    "earning_lines",
    "installment_paid_on",
    "installment_unpaid",
    "lines_by_contract",
]

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def cent(amount: Decimal) -> Decimal:
    """*amount* rounded to 0.01, half up: the one rounding of a statement line."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class EarningLine:
    """One statement line: a basis amount counted on a date, and the incentive it earns."""

    contract_id: str
    rep_id: str
    customer_id: str
    on: dt.date
    source: str  # "signed", "invoice 2", "payment P-17"
    basis_amount: Decimal
    base_before: Decimal
    gross: Decimal  # exact, before the rebate
    channel: str | None
    rebate_rate: Decimal
    pool: Decimal  # the rep's channel pool the rebate clause saw
    amount: Decimal  # gross x (1 - rebate), rounded once
    kind: str = "cash"  # the plan's basis: "signed", "invoiced" or "cash"
    installment: int | None = None  # the invoiced installment of an "invoiced" line

    @property
    def rate(self) -> Decimal:
        """Effective commission rate of the line (gross / basis)."""
        return self.gross / self.basis_amount if self.basis_amount else Decimal(0)


def _allocated(contract: Contract, payments: Iterable[Payment]):
    """Yield (payment, open amounts after it) in date order: a payment goes to its named
    installment first, the rest to the oldest installments still open."""
    open_amount = {i.number: i.amount for i in contract.installments}
    ordered = sorted(payments, key=lambda p: (p.received_on, p.payment_id))
    for payment in ordered:
        left = payment.amount
        targets = [payment.installment] if payment.installment is not None else []
        targets += [n for n in sorted(open_amount) if n not in targets]
        for number in targets:
            if left <= 0 or number not in open_amount:
                continue
            used = min(left, open_amount[number])
            open_amount[number] -= used
            left -= used
        yield payment, open_amount


def installment_paid_on(contract: Contract, payments: Iterable[Payment]) -> dict[int, dt.date]:
    """Date each installment was fully paid: explicit payments first, the rest allocated
    in date order to the oldest installment still open."""
    paid_on: dict[int, dt.date] = {}
    for payment, open_amount in _allocated(contract, payments):
        for number, amount in open_amount.items():
            if amount <= 0 and number not in paid_on:
                paid_on[number] = payment.received_on
    return paid_on


def installment_unpaid(
    contract: Contract, payments: Iterable[Payment], on: dt.date
) -> dict[int, Decimal]:
    """Amount of each installment still unpaid at the end of *on*."""
    unpaid = {i.number: i.amount for i in contract.installments}
    for _, open_amount in _allocated(contract, [p for p in payments if p.received_on <= on]):
        unpaid = dict(open_amount)
    return unpaid


def channel_pools(ledger: Ledger, as_of: dt.date) -> tuple[dict, dict, list[tuple]]:
    """Channel feed matched to the owning rep and month, up to *as_of*.

    Returns ``(rep_pools, channel_totals, unmatched)``: sums keyed by
    ``(rep_id, channel, "YYYY-MM")`` and ``(channel, "YYYY-MM")``, and the rows no rep
    owns, each with its reason (never dropped silently).
    """
    owners: dict[str, set[str]] = defaultdict(set)
    for contract in ledger.contracts.values():
        owners[contract.customer_id].add(contract.rep_id)
    rep_pools: dict[tuple, Decimal] = defaultdict(Decimal)
    totals: dict[tuple, Decimal] = defaultdict(Decimal)
    unmatched = []
    for row in ledger.channel_invoices:
        if row.invoiced_on > as_of:
            continue
        month = f"{row.invoiced_on:%Y-%m}"
        totals[row.channel, month] += row.amount
        reps = owners.get(row.end_customer_id, set())
        if len(reps) == 1:
            rep_pools[next(iter(reps)), row.channel, month] += row.amount
        else:
            reason = (
                "no contract for this end customer"
                if not reps
                else (f"end customer owned by several reps ({', '.join(sorted(reps))})")
            )
            unmatched.append((row, reason))
    return dict(rep_pools), dict(totals), unmatched


def _basis_events(contract: Contract, ledger_view: dict, plan: CommissionPlan, as_of: dt.date):
    """(date, source, amount, kind, installment) of what counts toward the basis, up to
    *as_of*."""
    if plan.basis == "signed":
        return (
            [(contract.signed_on, "signed", contract.value, "signed", None)]
            if contract.signed_on <= as_of
            else []
        )
    if plan.basis == "invoiced":
        return [
            (i.invoiced_on, f"invoice {i.number}", i.amount, "invoiced", i.number)
            for i in contract.installments
            if i.invoiced_on <= as_of
        ]
    disputes = [(d.opened_on, d.closed_on) for d in ledger_view["disputes"]]
    events = []
    for p in ledger_view["payments"]:
        if p.received_on > as_of:
            continue
        known = [(o, c if c is None or c <= as_of else None) for o, c in disputes if o <= as_of]
        proof = (
            p.proof_uploaded_on if p.proof_uploaded_on and p.proof_uploaded_on <= as_of else None
        )
        fulfilled = (
            contract.fulfilled_on
            if contract.fulfilled_on and contract.fulfilled_on <= as_of
            else None
        )
        counted = cash_counted_on(p.received_on, proof, fulfilled, known)
        if counted is not None and counted <= as_of:
            events.append((counted, f"payment {p.payment_id}", p.amount, "cash", None))
    return events


def _grouped(ledger: Ledger) -> dict[str, dict[str, list]]:
    view: dict[str, dict[str, list]] = {
        cid: {"payments": [], "disputes": []} for cid in ledger.contracts
    }
    for p in ledger.payments:
        if p.contract_id in view:
            view[p.contract_id]["payments"].append(p)
    for d in ledger.disputes:
        if d.contract_id in view:
            view[d.contract_id]["disputes"].append(d)
    return view


def _base_key(plan: CommissionPlan, contract: Contract, on: dt.date) -> tuple:
    if plan.accumulate == "contract":
        return ("contract", contract.contract_id)
    if plan.accumulate == "rep_month":
        return ("rep", contract.rep_id, on.year, on.month)
    return ("rep", contract.rep_id, on.year)


def earning_lines(ledger: Ledger, plan: CommissionPlan, as_of: dt.date) -> list[EarningLine]:
    """Every statement line earned up to *as_of*, in date order.

    The rate table's base accumulates per ``plan.accumulate``; a line earns the increase
    of gross commission it causes (exact), times (1 - its channel's rebate rate for the
    rep's pool of that month), rounded to the cent once.
    """
    view = _grouped(ledger)
    rep_pools, totals, _ = channel_pools(ledger, as_of)
    events = []
    for contract in ledger.contracts.values():
        for on, source, amount, kind, number in _basis_events(
            contract, view[contract.contract_id], plan, as_of
        ):
            events.append((on, contract.rep_id, contract.contract_id, source, amount, kind, number))
    events.sort(key=lambda e: (e[0], e[1], e[2], e[3]))
    bases: dict[tuple, Decimal] = defaultdict(Decimal)
    lines = []
    for on, rep_id, contract_id, source, amount, kind, number in events:
        contract = ledger.contracts[contract_id]
        key = _base_key(plan, contract, on)
        before = bases[key]
        bases[key] = before + amount
        gross = plan.increment(before, amount)
        month = f"{on:%Y-%m}"
        pool = rep_pools.get((rep_id, contract.channel, month), Decimal(0))
        try:
            rebate = plan.rebate.rate(
                contract.channel,
                received=pool,
                channel_total=totals.get((contract.channel, month), Decimal(0)),
                contract_value=contract.value,
            )
        except (RuleRefused, ValueError) as exc:
            raise RuleError(f"commission.rebate, contract {contract_id}: {exc}") from None
        lines.append(
            EarningLine(
                contract_id=contract_id,
                rep_id=rep_id,
                customer_id=contract.customer_id,
                on=on,
                source=source,
                basis_amount=amount,
                base_before=before,
                gross=gross,
                channel=contract.channel,
                rebate_rate=rebate,
                pool=pool,
                amount=cent(gross * (1 - rebate)),
                kind=kind,
                installment=number,
            )
        )
    return lines


def lines_by_contract(lines: Iterable[EarningLine]) -> dict[str, list[EarningLine]]:
    """Earning lines grouped by contract, in their order."""
    grouped: dict[str, list[EarningLine]] = defaultdict(list)
    for line in lines:
        grouped[line.contract_id].append(line)
    return dict(grouped)
