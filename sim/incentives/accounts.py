"""The incentive ledger and its calculation: earnings, freezes, payouts, to the cent.

A :class:`~sim.incentives.ledger.Ledger` (its records are re-exported here) holds contracts (with
installments), payments, quality disputes, channel invoices and recorded approvals, from
CSV files (:mod:`sim.incentives.ledger_import`) or from the simulation
(:mod:`sim.incentives.payments`).
:func:`earning_lines` turns it into statement lines under a
:class:`~policies.commission.CommissionPlan`; :func:`account_contract` replays one
contract's lines, freeze-ladder steps and monthly runs into a :class:`ContractAccount`:
amounts, audit trail and a snapshot after every event.

Money is Decimal.  Each earning line is rounded to 0.01 (ROUND_HALF_UP) once, and is
followed on its own (:class:`LinePart`): a freeze holds 70% of each line's not-yet-paid
part, a write-off takes part of each line's frozen amount (each rounded once, per line,
and logged as its own audit record); releases and payouts move whole cents.  So the
conservation invariant holds exactly, for every contract at every date::

    earned = paid_out + payable + frozen + written_off

The ladder's rules and day conventions (DOMAIN.md 3.5) are in :mod:`policies.freeze`;
within one day, events apply in causal order (``_ORDER``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
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
    "LinePart",
    "Payment",
    "account_contract",
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
class LinePart:
    """What became of one earning line: not yet paid (payable), frozen, paid out.

    ``basis_left`` is the part of the line's basis not yet written off (a write-off takes
    the frozen incentive on the amount still unpaid, in proportion to it)."""

    line: EarningLine
    payable: Decimal
    frozen: Decimal = ZERO
    paid_out: Decimal = ZERO
    basis_left: Decimal = ZERO


@dataclass
class ContractAccount:
    """A contract's incentive as of a date: amounts, holds, audit trail, snapshots."""

    contract: Contract
    as_of: dt.date
    earned: Decimal = ZERO
    paid_out: Decimal = ZERO
    written_off: Decimal = ZERO
    parts: list[LinePart] = field(default_factory=list)
    """One per earning line, in order: its payable, frozen and paid-out amounts."""
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
        return sum((part.payable for part in self.parts), ZERO)

    @property
    def frozen(self) -> Decimal:
        """Held by the freeze ladder."""
        return sum((part.frozen for part in self.parts), ZERO)

    @property
    def payable_buckets(self) -> list[tuple[dt.date, Decimal]]:
        """(line date, payable) of each line with something payable: a run pays the lines
        dated by its period's end."""
        return [(part.line.on, part.payable) for part in self.parts if part.payable]

    def payable_by(self, period_end: dt.date) -> Decimal:
        """What a run whose period ends on *period_end* pays (lines dated by then)."""
        return sum((a for on, a in self.payable_buckets if on <= period_end), ZERO)

    def balanced(self) -> bool:
        """The conservation invariant, exactly."""
        return self.earned == self.paid_out + self.payable + self.frozen + self.written_off


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


# Events of one day apply in causal order.  The ladder's freeze comes first: the day an
# installment becomes more than ``freeze_after_days`` overdue begins frozen.  Then the
# day's cash: a payment releases (or goes to approval) and an approved release follows;
# then the day's earnings (70% of a new line is held while the contract is frozen); then
# end-of-day steps: an installment still unpaid at the end of the write-off day goes to
# approval, approved write-offs; last the run that pays out.  A payment that arrives on
# the freeze day therefore cancels the freeze it follows.
_ORDER = {"freeze": 0, "await_approval": 1, "release": 2, "earn": 3, "await_write_off": 4}
_ORDER |= {"write_off": 5, "run": 6}


class _Replay:
    """Applies one contract's events to its account (see :func:`account_contract`)."""

    def __init__(
        self,
        account: ContractAccount,
        ladder: FreezeLadder,
        unpaid: Callable[[int, dt.date], Decimal],
    ) -> None:
        self.account = account
        self.ladder = ladder
        self.unpaid = unpaid

    def record(self, on: dt.date, action: str, amount: Decimal, rule: str, reason: str) -> None:
        acc = self.account
        acc.audit.append(AuditRecord(on, acc.contract.contract_id, action, amount, rule, reason))

    def snapshot(self, on: dt.date) -> None:
        acc = self.account
        acc.snapshots.append(
            Snapshot(on, acc.earned, acc.paid_out, acc.payable, acc.frozen, acc.written_off)
        )

    def frozen_holders(self) -> list[int]:
        """Installments whose ladder holds the contract frozen now."""
        return [n for n, state in self.account.holds.items() if state == "frozen"]

    def hold(self, part: LinePart) -> Decimal:
        """Freeze ``frozen_share`` of what *part* has payable (one rounding per line)."""
        held = cent(part.payable * self.ladder.frozen_share)
        part.payable -= held
        part.frozen += held
        return held

    def earn(self, line: EarningLine) -> None:
        acc = self.account
        acc.earned += line.amount
        acc.lines.append(line)
        basis = self.account.contract.value if line.kind == "signed" else line.basis_amount
        part = LinePart(line, payable=line.amount, basis_left=basis)
        acc.parts.append(part)
        self.record(line.on, "earn", line.amount, f"basis {line.source}", _counted(line))
        holders = self.frozen_holders()
        if holders:
            held = self.hold(part)
            self.record(
                line.on,
                "freeze",
                held,
                "earned while frozen",
                f"installment(s) {', '.join(map(str, holders))} overdue; "
                f"{_percent(self.ladder.frozen_share)} of the new {line.source} line",
            )

    def ladder_step(self, number: int, step: LadderStep) -> None:
        acc = self.account
        step = LadderStep(step.on, step.action, step.rule, f"installment {number} {step.reason}")
        holding_before = self.frozen_holders()
        if step.action == "freeze":
            acc.holds[number] = "frozen"
            recorded = False
            if not holding_before:
                for part in acc.parts:
                    if part.payable:
                        held = self.hold(part)
                        reason = f"{step.reason}; {part.line.source} line of {part.line.on}"
                        self.record(step.on, "freeze", held, step.rule, reason)
                        recorded = True
            if not recorded:
                self.record(step.on, "freeze", ZERO, step.rule, step.reason)
        elif step.action in ("await_approval", "await_write_off"):
            kind = "release" if step.action == "await_approval" else "write_off"
            acc.pending[number] = (kind, step.on)
            self.record(step.on, step.action, ZERO, step.rule, step.reason)
        elif step.action == "write_off":
            self.write_off(number, step)
        else:  # release
            acc.holds[number] = "released"
            acc.pending.pop(number, None)
            if not self._release_if_clear(step):
                others = ", ".join(map(str, self.frozen_holders()))
                reason = f"{step.reason}; installment(s) {others} still hold the freeze"
                self.record(step.on, "release", ZERO, step.rule, reason)

    def write_off(self, number: int, step: LadderStep) -> None:
        """Write off the frozen incentive on the amount of installment *number* still
        unpaid at the end of the approval day; incentive on cash received is kept."""
        acc = self.account
        unpaid = self.unpaid(number, step.on)
        acc.holds[number] = "written_off"
        acc.pending.pop(number, None)
        recorded = False
        for part in acc.parts:
            line = part.line
            if line.kind == "cash" or (line.kind == "invoiced" and line.installment != number):
                continue  # commission on cash received, or on another installment
            if part.frozen and part.basis_left > 0:
                share = min(unpaid / part.basis_left, Decimal(1))
                taken = min(part.frozen, cent(part.frozen * share))
                if taken:
                    part.frozen -= taken
                    acc.written_off += taken
                    reason = (
                        f"{step.reason}; {unpaid:,.2f} still unpaid, "
                        f"{line.source} line of {line.on}"
                    )
                    self.record(step.on, "write_off", taken, step.rule, reason)
                    recorded = True
            part.basis_left = max(part.basis_left - unpaid, ZERO)
        if not recorded:
            reason = f"{step.reason}; {unpaid:,.2f} still unpaid, no frozen incentive on it"
            self.record(step.on, "write_off", ZERO, step.rule, reason)
        self._release_if_clear(step)

    def _release_if_clear(self, step: LadderStep) -> bool:
        acc = self.account
        if self.frozen_holders():
            return False
        amount = acc.frozen
        if amount > 0 or step.action == "release":
            for part in acc.parts:
                part.payable += part.frozen
                part.frozen = ZERO
            rule = step.rule if step.action == "release" else "nothing holds the freeze"
            self.record(step.on, "release", amount, rule, step.reason)
        return True

    def run(self, run: IncentiveRun) -> None:
        acc = self.account
        amount = ZERO
        for part in acc.parts:
            if part.payable and part.line.on <= run.period_end:
                amount += part.payable
                part.paid_out += part.payable
                part.payable = ZERO
        if amount:
            acc.paid_out += amount
            self.record(run.run_on, "pay_out", amount, f"incentive run {run.period}", "payable")


def _counted(line: EarningLine) -> str:
    return f"{line.basis_amount:,.2f} counted"


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
    and runs in date order, and within a day in causal order (see ``_ORDER``).

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

    def unpaid(number: int, on: dt.date) -> Decimal:
        return installment_unpaid(contract, payments, on).get(number, ZERO)

    replay = _Replay(ContractAccount(contract=contract, as_of=as_of), ladder, unpaid)
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
        expected = max(recorded, requested) if recorded else None
        if expected is None and ladder.auto_approve:
            expected = requested + lag
        pending[number] = (kind, expected)
    return replay.account


def _percent(share: Decimal) -> str:
    return f"{(share * 100).normalize():f}%"
