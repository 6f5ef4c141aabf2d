"""An independent reference model of the incentive ledger, for the tests only.

Written from DOMAIN.md 3.1-3.2 (cash basis with its three conditions, basis x rate x
(1 - rebate)) and 3.5 (the freeze ladder and its day conventions), as a plain replay
that walks the calendar one day at a time.  It shares no code with the production
ledger: it reads the plain records of ``sim.incentives.ledger`` and nothing else from the project.
The plan is reduced to what the comparison needs: a marginal rate table accumulated per
contract, a fixed rebate rate per channel.

Within one day, events apply in causal order:

1. freeze: an installment not fully paid when day ``freeze_after + 1`` begins freezes
   ``share`` of every line's not-yet-paid incentive (line by line, rounded per line),
   unless another installment already holds the contract frozen;
2. the day's cash: a frozen installment fully paid today by day ``release_within`` (or
   up to ``write_off_at`` when late releases need no approval) is released; paid on
   days ``release_within + 1 .. write_off_at`` it waits for a release approval; a
   release approved today releases (once nothing else holds the contract);
3. the day's earnings: a new line while the contract is frozen has ``share`` of it held;
4. end of day: a frozen installment still not fully paid at the end of day
   ``write_off_at`` waits for a write-off approval; an approved write-off takes, line by
   line, the frozen incentive on the installment's amount still unpaid at the end of the
   approval day (never on cash received), then releases the rest if nothing else holds;
5. the monthly run pays the not-yet-paid part of every line dated by its period's end.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal("0.00")
ONE_DAY = dt.timedelta(days=1)


def to_cent(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class RefPlan:
    basis: str  # "signed" | "invoiced" | "cash"
    brackets: tuple[tuple[Decimal, Decimal], ...]  # (from, rate), marginal, per contract
    rebates: dict  # channel -> rate (absent: 0)


@dataclass(frozen=True)
class RefLadder:
    enabled: bool = True
    freeze_after: int = 60
    share: Decimal = Decimal("0.7")
    release_within: int = 90
    write_off_at: int = 120
    late_release_needs_approval: bool = True
    lag: int = 3
    auto_approve: bool = True


def commission(brackets, base: Decimal) -> Decimal:
    total = Decimal(0)
    for k, (start, rate) in enumerate(brackets):
        end = brackets[k + 1][0] if k + 1 < len(brackets) else None
        if base > start:
            top = base if end is None else min(base, end)
            total += (top - start) * rate
    return total


@dataclass
class Line:
    on: dt.date
    source: str
    kind: str
    installment: int | None
    amount: Decimal
    payable: Decimal
    basis_left: Decimal
    frozen: Decimal = ZERO


@dataclass
class DayFigures:
    earned: Decimal
    paid_out: Decimal
    payable: Decimal
    frozen: Decimal
    written_off: Decimal
    payable_lines: list  # (line date, payable)
    expected: dict  # holding installment -> expected release (see expected())


@dataclass
class Replay:
    """One contract replayed day by day; ``days[d]`` are the figures at the end of d."""

    contract: object
    days: dict = field(default_factory=dict)
    movements: list = field(default_factory=list)  # (date, action, amount), amount != 0
    lines: list = field(default_factory=list)


def counted_lines(contract, payments, disputes, plan: RefPlan, last: dt.date) -> list[tuple]:
    """(date, source, kind, installment, basis amount) the plan counts, up to *last*."""
    if plan.basis == "signed":
        return [(contract.signed_on, "signed", "signed", None, contract.value)]
    if plan.basis == "invoiced":
        return [
            (i.invoiced_on, f"invoice {i.number}", "invoiced", i.number, i.amount)
            for i in contract.installments
        ]
    out = []
    for p in payments:
        day = p.received_on
        while day <= last:
            ok = (
                p.proof_uploaded_on is not None
                and p.proof_uploaded_on <= day
                and contract.fulfilled_on is not None
                and contract.fulfilled_on <= day
                and not any(
                    d.opened_on <= day and (d.closed_on is None or day < d.closed_on)
                    for d in disputes
                )
            )
            if ok:
                out.append((day, f"payment {p.payment_id}", "cash", None, p.amount))
                break
            day += ONE_DAY
    return out


def replay_contract(
    contract,
    payments,
    disputes,
    approvals,
    runs,
    plan: RefPlan,
    ladder: RefLadder,
    last: dt.date,
) -> Replay:
    """Replay *contract* from its signing (or earlier events) to *last*, day by day."""
    result = Replay(contract)
    counted = sorted(
        counted_lines(contract, payments, disputes, plan, last), key=lambda c: (c[0], c[1])
    )
    rebate = Decimal(plan.rebates.get(contract.channel, 0)) if contract.channel else Decimal(0)
    recorded = {(a.installment, a.kind): a.approved_on for a in approvals}
    due = {i.number: i.due_on for i in contract.installments}
    numbers = sorted(due)
    unpaid = {i.number: i.amount for i in contract.installments}
    paid_day: dict[int, dt.date] = {}
    state: dict[int, str] = {}  # "frozen" | "released" | "written_off"
    waiting: dict[int, tuple[str, dt.date, dt.date | None]] = {}  # kind, requested, approval
    lines: list[Line] = []
    base = Decimal(0)
    earned = paid_out = written_off = ZERO
    by_day_payments: dict[dt.date, list] = {}
    for p in sorted(payments, key=lambda p: (p.received_on, p.payment_id)):
        by_day_payments.setdefault(p.received_on, []).append(p)

    def holders():
        return [n for n in numbers if state.get(n) == "frozen"]

    def approval(kind: str, number: int, requested: dt.date):
        if (number, kind) in recorded:
            return max(recorded[number, kind], requested)
        if ladder.auto_approve:
            return requested + dt.timedelta(days=ladder.lag)
        return None

    def hold(line: Line) -> Decimal:
        held = to_cent(line.payable * ladder.share)
        line.payable -= held
        line.frozen += held
        return held

    def release_all(day: dt.date):
        total = ZERO
        for line in lines:
            total += line.frozen
            line.payable += line.frozen
            line.frozen = ZERO
        if total:
            result.movements.append((day, "release", total))

    starts = [contract.signed_on, *(i.invoiced_on for i in contract.installments)]
    starts += [p.received_on for p in payments] + [r.run_on for r in runs]
    day = min(starts)
    while day <= last:
        # 1. freeze, as the day begins
        if ladder.enabled:
            for n in numbers:
                if day == due[n] + dt.timedelta(days=ladder.freeze_after + 1) and (
                    n not in paid_day
                ):
                    if not holders():
                        for line in lines:
                            if line.payable:
                                held = hold(line)
                                if held:
                                    result.movements.append((day, "freeze", held))
                    state[n] = "frozen"
        # 2. the day's cash
        for p in by_day_payments.get(day, []):
            left = p.amount
            order = ([p.installment] if p.installment is not None else []) + [
                n for n in numbers if n != p.installment
            ]
            for n in order:
                if n in unpaid and left > 0:
                    used = min(left, unpaid[n])
                    unpaid[n] -= used
                    left -= used
        releasing = []
        for n in numbers:
            if n not in paid_day and unpaid[n] <= 0:
                paid_day[n] = day
                if state.get(n) != "frozen":
                    continue
                late = (day - due[n]).days
                if late > ladder.write_off_at:
                    continue  # the write-off path: only the unpaid amount matters then
                if late <= ladder.release_within or not ladder.late_release_needs_approval:
                    releasing.append(n)
                else:
                    waiting[n] = ("release", day, approval("release", n, day))
        for n in numbers:
            w = waiting.get(n)
            if n in releasing or (w and w[0] == "release" and w[2] == day):
                state[n] = "released"
                waiting.pop(n, None)
                if not holders():
                    release_all(day)
        # 3. the day's earnings
        for on, source, kind, number, amount in counted:
            if on != day:
                continue
            gross = commission(plan.brackets, base + amount) - commission(plan.brackets, base)
            base += amount
            value = to_cent(gross * (1 - rebate))
            basis = contract.value if kind == "signed" else amount
            line = Line(day, source, kind, number, value, value, basis)
            lines.append(line)
            result.lines.append((day, source, value))
            earned += value
            if holders():
                held = hold(line)
                if held:
                    result.movements.append((day, "freeze", held))
        # 4. end of day: write-off requests, then approved write-offs
        for n in numbers:
            if (
                state.get(n) == "frozen"
                and n not in waiting
                and day == due[n] + dt.timedelta(days=ladder.write_off_at)
                and unpaid[n] > 0
            ):
                waiting[n] = ("write_off", day, approval("write_off", n, day))
        for n in numbers:
            w = waiting.get(n)
            if not (w and w[0] == "write_off" and w[2] == day):
                continue
            still = unpaid[n]
            for line in lines:
                if line.kind == "cash" or (line.kind == "invoiced" and line.installment != n):
                    continue
                if line.frozen > 0 and line.basis_left > 0:
                    fraction = min(still / line.basis_left, Decimal(1))
                    take = min(line.frozen, to_cent(line.frozen * fraction))
                    line.frozen -= take
                    written_off += take
                    if take:
                        result.movements.append((day, "write_off", take))
                line.basis_left = max(line.basis_left - still, ZERO)
            state[n] = "written_off"
            del waiting[n]
            if not holders():
                release_all(day)
        # 5. the run
        for run in runs:
            if run.run_on == day:
                for line in lines:
                    if line.on <= run.period_end and line.payable:
                        paid_out += line.payable
                        line.payable = ZERO
        expected = {}
        for n in holders():
            if n in waiting:
                expected[n] = (waiting[n][0], waiting[n][2])
            else:
                expected[n] = (
                    "payment",
                    due[n] + dt.timedelta(days=ladder.release_within),
                    due[n] + dt.timedelta(days=ladder.write_off_at),
                )
        result.days[day] = DayFigures(
            earned=earned,
            paid_out=paid_out,
            payable=sum((line.payable for line in lines), ZERO),
            frozen=sum((line.frozen for line in lines), ZERO),
            written_off=written_off,
            payable_lines=[(line.on, line.payable) for line in lines if line.payable],
            expected=expected,
        )
        day += ONE_DAY
    return result


def figures_on(replay: Replay, day: dt.date) -> DayFigures:
    """Figures at the end of *day* (before the first event: all zero)."""
    known = [d for d in replay.days if d <= day]
    if not known:
        return DayFigures(ZERO, ZERO, ZERO, ZERO, ZERO, [], {})
    return replay.days[max(known)]


def next_run_pays(figures: DayFigures, period_end: dt.date) -> Decimal:
    return sum((a for on, a in figures.payable_lines if on <= period_end), ZERO)
