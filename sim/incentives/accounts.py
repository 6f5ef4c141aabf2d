"""The incentive ledger and its calculation: earnings, freezes, payouts, to the cent.

A :class:`~sim.incentives.ledger.Ledger` (its records are re-exported here) holds contracts (with
installments), payments, quality disputes, channel invoices and recorded approvals, from
CSV files (:mod:`sim.incentives.ledger_import`) or from the simulation
(:mod:`sim.incentives.payments`).
:func:`earning_lines` turns it into statement lines under a
:class:`~policies.commission.CommissionPlan`; :func:`account_contract` replays one
contract's lines, freeze-ladder steps and monthly runs into a :class:`ContractAccount`:
amounts, audit trail and a snapshot after every event.

Money is Decimal.  Each earning line is rounded to 0.01 (ROUND_HALF_UP) once; every later
movement (freeze, release, write-off, payout) moves amounts that are already whole cents,
so the conservation invariant holds exactly, for every contract at every date::

    earned = paid_out + payable + frozen + written_off
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from policies.commission import CommissionPlan, cash_counted_on
from policies.freeze import FreezeLadder, LadderStep, installment_steps
from policies.rules import RuleRefused
from sim.errors import RuleError
from sim.incentives.ledger import (
    Approval,
    ChannelInvoice,
    Contract,
    Dispute,
    IncentiveRun,
    Installment,
    Ledger,
    Payment,
)

__all__ = [
    "Approval",
    "AuditRecord",
    "ChannelInvoice",
    "Contract",
    "ContractAccount",
    "Dispute",
    "EarningLine",
    "IncentiveRun",
    "Installment",
    "Ledger",
    "Payment",
    "account_contract",
    "cent",
    "channel_pools",
    "earning_lines",
    "installment_paid_on",
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

    @property
    def rate(self) -> Decimal:
        """Effective commission rate of the line (gross / basis)."""
        return self.gross / self.basis_amount if self.basis_amount else Decimal(0)


@dataclass(frozen=True)
class AuditRecord:
    """One state change of a contract's incentive: date, amount, rule, reason."""

    on: dt.date
    contract_id: str
    action: str
    amount: Decimal
    rule: str
    reason: str


@dataclass(frozen=True)
class Snapshot:
    """The four buckets after one event; earned is their sum by construction and check."""

    on: dt.date
    earned: Decimal
    paid_out: Decimal
    payable: Decimal
    frozen: Decimal
    written_off: Decimal


@dataclass
class ContractAccount:
    """A contract's incentive as of a date: amounts, holds, audit trail, snapshots."""

    contract: Contract
    as_of: dt.date
    earned: Decimal = ZERO
    paid_out: Decimal = ZERO
    frozen: Decimal = ZERO
    written_off: Decimal = ZERO
    payable_buckets: list[tuple[dt.date, Decimal]] = field(default_factory=list)
    lines: list[EarningLine] = field(default_factory=list)
    audit: list[AuditRecord] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)
    holds: dict[int, str] = field(default_factory=dict)  # installment -> ladder state
    pending: dict[int, tuple[str, dt.date | None]] = field(default_factory=dict)
    """Installments awaiting approval: kind (release / write_off), expected approval date
    (recorded, else request + the policy's lag; None when only a record can approve)."""

    @property
    def payable(self) -> Decimal:
        """Earned, not frozen, not yet paid out."""
        return sum((amount for _, amount in self.payable_buckets), ZERO)

    def balanced(self) -> bool:
        """The conservation invariant, exactly."""
        return self.earned == self.paid_out + self.payable + self.frozen + self.written_off


def installment_paid_on(contract: Contract, payments: Iterable[Payment]) -> dict[int, dt.date]:
    """Date each installment was fully paid: explicit payments first, the rest allocated
    in date order to the oldest installment still open."""
    open_amount = {i.number: i.amount for i in contract.installments}
    paid_on: dict[int, dt.date] = {}
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
            if open_amount[number] <= 0 and number not in paid_on:
                paid_on[number] = payment.received_on
    return paid_on


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
    """(date, source, amount) of what counts toward the basis, up to *as_of*."""
    if plan.basis == "signed":
        return (
            [(contract.signed_on, "signed", contract.value)] if contract.signed_on <= as_of else []
        )
    if plan.basis == "invoiced":
        return [
            (i.invoiced_on, f"invoice {i.number}", i.amount)
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
            events.append((counted, f"payment {p.payment_id}", p.amount))
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
        for on, source, amount in _basis_events(contract, view[contract.contract_id], plan, as_of):
            events.append((on, contract.rep_id, contract.contract_id, source, amount))
    events.sort(key=lambda e: (e[0], e[1], e[2], e[3]))
    bases: dict[tuple, Decimal] = defaultdict(Decimal)
    lines = []
    for on, rep_id, contract_id, source, amount in events:
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
            )
        )
    return lines


def lines_by_contract(lines: Iterable[EarningLine]) -> dict[str, list[EarningLine]]:
    """Earning lines grouped by contract, in their order."""
    grouped: dict[str, list[EarningLine]] = defaultdict(list)
    for line in lines:
        grouped[line.contract_id].append(line)
    return dict(grouped)


# Order of events on one day: a payment's release first (the cash has arrived), then
# earnings, then new freezes (which take that day's earnings too), write-offs, and last
# the run that pays out.
_ORDER = {"release": 0, "await_approval": 1, "earn": 2, "freeze": 3, "await_write_off": 4}
_ORDER |= {"write_off": 5, "run": 6}


class _Replay:
    """Applies one contract's events to its account (see :func:`account_contract`)."""

    def __init__(self, account: ContractAccount, ladder: FreezeLadder) -> None:
        self.account = account
        self.ladder = ladder

    def record(self, on: dt.date, action: str, amount: Decimal, rule: str, reason: str) -> None:
        acc = self.account
        acc.audit.append(AuditRecord(on, acc.contract.contract_id, action, amount, rule, reason))

    def snapshot(self, on: dt.date) -> None:
        acc = self.account
        acc.snapshots.append(
            Snapshot(on, acc.earned, acc.paid_out, acc.payable, acc.frozen, acc.written_off)
        )

    def take_payable(self, amount: Decimal) -> None:
        """Remove *amount* from the payable buckets, oldest first."""
        buckets = self.account.payable_buckets
        while amount > 0:
            on, held = buckets[0]
            used = min(held, amount)
            amount -= used
            if used == held:
                buckets.pop(0)
            else:
                buckets[0] = (on, held - used)

    def frozen_holders(self) -> list[int]:
        """Installments whose ladder holds the contract frozen now."""
        return [n for n, state in self.account.holds.items() if state == "frozen"]

    def earn(self, line: EarningLine) -> None:
        acc = self.account
        acc.earned += line.amount
        acc.lines.append(line)
        rule = f"basis {line.source}"
        reason = f"{line.basis_amount:,.2f} counted"
        acc.payable_buckets.append((line.on, line.amount))
        self.record(line.on, "earn", line.amount, rule, reason)
        if self.frozen_holders():
            held = cent(line.amount * self.ladder.frozen_share)
            self.take_payable(held)
            acc.frozen += held
            self.record(
                line.on,
                "freeze",
                held,
                "earned while frozen",
                f"installment(s) {', '.join(map(str, self.frozen_holders()))} overdue",
            )

    def ladder_step(self, number: int, step: LadderStep) -> None:
        acc = self.account
        step = LadderStep(step.on, step.action, step.rule, f"installment {number} {step.reason}")
        holding_before = self.frozen_holders()
        if step.action == "freeze":
            acc.holds[number] = "frozen"
            amount = ZERO
            if not holding_before:
                amount = cent(acc.payable * self.ladder.frozen_share)
                self.take_payable(amount)
                acc.frozen += amount
            self.record(step.on, "freeze", amount, step.rule, step.reason)
        elif step.action in ("await_approval", "await_write_off"):
            kind = "release" if step.action == "await_approval" else "write_off"
            acc.pending[number] = (kind, step.on)
            self.record(step.on, step.action, ZERO, step.rule, step.reason)
        elif step.action == "write_off":
            acc.holds[number] = "written_off"
            amount = acc.frozen
            acc.frozen = ZERO
            acc.written_off += amount
            acc.pending.pop(number, None)
            self.record(step.on, "write_off", amount, step.rule, step.reason)
            self._release_if_clear(step)
        else:  # release
            acc.holds[number] = "released"
            acc.pending.pop(number, None)
            if not self._release_if_clear(step):
                others = ", ".join(map(str, self.frozen_holders()))
                reason = f"{step.reason}; installment(s) {others} still hold the freeze"
                self.record(step.on, "release", ZERO, step.rule, reason)

    def _release_if_clear(self, step: LadderStep) -> bool:
        acc = self.account
        if self.frozen_holders():
            return False
        if acc.frozen > 0 or step.action == "release":
            amount = acc.frozen
            acc.frozen = ZERO
            if amount:
                acc.payable_buckets.append((step.on, amount))
            self.record(step.on, "release", amount, step.rule, step.reason)
        return True

    def run(self, run: IncentiveRun) -> None:
        acc = self.account
        due = [(on, a) for on, a in acc.payable_buckets if on <= run.period_end]
        amount = sum((a for _, a in due), ZERO)
        if amount:
            acc.payable_buckets = [(on, a) for on, a in acc.payable_buckets if on > run.period_end]
            acc.paid_out += amount
            self.record(run.run_on, "pay_out", amount, f"incentive run {run.period}", "payable")


def account_contract(
    ledger: Ledger,
    contract_id: str,
    plan: CommissionPlan,
    ladder: FreezeLadder,
    runs: Sequence[IncentiveRun],
    as_of: dt.date,
    lines: Sequence[EarningLine] | dict[str, list[EarningLine]] | None = None,
) -> ContractAccount:
    """The account of one contract as of *as_of*: replay its earning lines, ladder steps
    and runs in date order (earnings, ladder, runs within a day).

    *lines* may be passed when computed once for many contracts (:func:`earning_lines`,
    or :func:`lines_by_contract` of them).
    """
    contract = ledger.contract(contract_id)
    if lines is None:
        lines = earning_lines(ledger, plan, as_of)
    if isinstance(lines, dict):
        lines = lines.get(contract_id, [])
    events: list[tuple] = [
        (line.on, _ORDER["earn"], i, line)
        for i, line in enumerate(lines)
        if line.contract_id == contract_id and line.on <= as_of
    ]
    payments, recorded = ledger.of_contract(contract_id)
    paid_on = installment_paid_on(contract, payments)
    approvals: dict[int, dict[str, dt.date]] = defaultdict(dict)
    # A recorded approval is the truth even when dated after as_of (its step is then not
    # reached yet); the policy's approval lag only fills in approvals not recorded.
    for a in recorded:
        approvals[a.installment][a.kind] = a.approved_on
    for inst in contract.installments:
        steps = installment_steps(
            inst.due_on, paid_on.get(inst.number), as_of, ladder, approvals.get(inst.number)
        )
        events += [(s.on, _ORDER[s.action], inst.number, s) for s in steps]
    events += [(r.run_on, _ORDER["run"], 0, r) for r in runs if r.run_on <= as_of]
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    replay = _Replay(ContractAccount(contract=contract, as_of=as_of), ladder)
    for on, order, number, item in events:
        if order == _ORDER["earn"]:
            replay.earn(item)
        elif order == _ORDER["run"]:
            replay.run(item)
        else:
            replay.ladder_step(number, item)
        replay.snapshot(on)
    pending = replay.account.pending
    for number, (kind, requested) in pending.items():
        recorded = approvals.get(number, {}).get(kind)
        lag = dt.timedelta(days=ladder.approval_lag_days)
        pending[number] = (kind, recorded or (requested + lag if ladder.auto_approve else None))
    return replay.account
