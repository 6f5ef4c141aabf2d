"""The incentive ledger and its calculation: earnings, freezes, payouts, to the cent.

A :class:`~sim.incentives.ledger.Ledger` (its records are re-exported here) holds
contracts (with installments), payments, quality disputes, channel invoices and recorded
approvals, from CSV files (:mod:`sim.incentives.ledger_import`) or from the simulation
(:mod:`sim.incentives.payments`).
:func:`~sim.incentives.earnings.earning_lines` turns it into statement lines under a
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from policies.commission import CommissionPlan
from policies.freeze import FreezeLadder, LadderStep, installment_steps
from sim.incentives.earnings import (
    ZERO,
    EarningLine,
    cent,
    earning_lines,
    installment_paid_on,
    installment_unpaid,
)
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
    "IncentiveRun",
    "Installment",
    "Ledger",
    "LinePart",
    "Payment",
    "account_contract",
]


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
