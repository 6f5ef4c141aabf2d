"""Reading incentive accounts: the calculator's text and tables for the report notebook.

:func:`describe_account` is what ``python -m sim incentive calc`` prints;
:func:`ledger_accounts`, :func:`monthly_movements`, :func:`statement_timeliness` and
:func:`commission_cost` feed ``notebooks/incentive_report.ipynb``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

import pandas as pd

from policies.commission import basis_blockers
from sim.errors import ConfigError
from sim.incentives.accounts import ContractAccount, IncentiveRun, Ledger, account_contract
from sim.incentives.earnings import ZERO, earning_lines, lines_by_contract

__all__ = [
    "appealable_lines",
    "blocked_payments",
    "calculator_figures",
    "commission_cost",
    "commission_cost_replications",
    "describe_account",
    "expected_release",
    "ledger_accounts",
    "monthly_movements",
    "paired_cost_difference",
    "scenario_contracts",
    "simulated_accounts",
    "statement_timeliness",
]


def blocked_payments(account: ContractAccount, ledger: Ledger) -> list[tuple[str, list[str]]]:
    """Cash received by *as_of* that the basis does not count yet, with what blocks it."""
    contract, on = account.contract, account.as_of
    counted = {line.source for line in account.lines}
    disputes = [
        (d.opened_on, d.closed_on if d.closed_on and d.closed_on <= on else None)
        for d in ledger.disputes
        if d.contract_id == contract.contract_id and d.opened_on <= on
    ]
    blocked = []
    for p in ledger.payments:
        if p.contract_id != contract.contract_id or p.received_on > on:
            continue
        if f"payment {p.payment_id}" in counted:
            continue
        reasons = basis_blockers(
            on, p.received_on, p.proof_uploaded_on, contract.fulfilled_on, disputes
        )
        blocked.append((p.payment_id, reasons))
    return blocked


def _holders(account: ContractAccount) -> list[int]:
    return sorted(n for n, state in account.holds.items() if state == "frozen")


def _frozen_why(account: ContractAccount) -> list[str]:
    """The ladder freeze of each installment that holds the contract frozen."""
    why = []
    for number in _holders(account):
        prefix = f"installment {number} "
        freezes = [
            r
            for r in account.audit
            if r.action == "freeze"
            and r.reason.startswith(prefix)
            and r.rule != "earned while frozen"
        ]
        why += [f"{r.reason.split('; ')[0]} ({r.rule}, since {r.on})" for r in freezes[-1:]]
    return why


def expected_release(account: ContractAccount, ladder) -> dict[int, tuple]:
    """Per installment holding the freeze: ``(kind, approval date or None)`` while an
    approval is awaited (kind ``release`` or ``write_off``), else ``("payment", release
    deadline, write-off day)``: released on payment by the deadline (day 90)."""
    expected: dict[int, tuple] = {}
    for number in _holders(account):
        inst = next(i for i in account.contract.installments if i.number == number)
        if number in account.pending:
            expected[number] = account.pending[number]
        else:
            within = inst.due_on + dt.timedelta(days=ladder.release_within_days)
            expected[number] = ("payment", within, ladder.write_off_on(inst.due_on))
    return expected


def calculator_figures(account: ContractAccount, ladder, next_run: IncentiveRun | None) -> dict:
    """The calculator's figures: payable now (and what the next run pays of it, the rest
    being lines of later periods), frozen, written off, expected release."""
    pays = account.payable_by(next_run.period_end) if next_run is not None else ZERO
    return {
        "payable_now": account.payable,
        "next_run_pays": pays,
        "paid_later": account.payable - pays,
        "frozen": account.frozen,
        "written_off": account.written_off,
        "expected": expected_release(account, ladder),
    }


def _expected(account: ContractAccount, ladder) -> list[str]:
    """When each holding installment is expected to release (or be written off)."""
    notes = []
    for number, (kind, *dates) in expected_release(account, ladder).items():
        if kind == "payment":
            within, write_off_on = dates
            notes.append(
                f"installment {number}: released on payment if paid by {within}; paid later, "
                f"released after approval; written off if unpaid on {write_off_on}"
            )
            continue
        when = f"expected {dates[0]}" if dates[0] else "not yet recorded"
        then = (
            "released then"
            if kind == "release"
            else "then the frozen incentive on amounts still unpaid is written off, "
            "the rest released"
        )
        notes.append(f"installment {number}: {kind.replace('_', '-')} approval {when}; {then}")
    return notes


def describe_account(
    account: ContractAccount, ledger: Ledger, policy, next_run: IncentiveRun | None
) -> str:
    """The calculator's answer: amounts, why frozen, expected release, blocks, audit."""
    c = account.contract
    sale = f"channel {c.channel}" if c.channel else "direct"
    out = [
        f"contract {c.contract_id}: rep {c.rep_id}, customer {c.customer_id}, {sale}, "
        f"value {c.value:,.2f}; as of {account.as_of}; policy {policy.name} "
        f"(basis: {policy.commission.basis})",
        f"  earned       {account.earned:>15,.2f}",
        f"  paid out     {account.paid_out:>15,.2f}",
        f"  payable now  {account.payable:>15,.2f}",
        f"  frozen       {account.frozen:>15,.2f}",
        f"  written off  {account.written_off:>15,.2f}",
    ]
    figures = calculator_figures(account, policy.freeze, next_run)
    if next_run is not None and account.payable:
        line = (
            f"next incentive run {next_run.run_on} (period {next_run.period}) pays "
            f"{figures['next_run_pays']:,.2f}"
        )
        if figures["paid_later"]:
            line += (
                f"; the other {figures['paid_later']:,.2f} payable is on lines dated "
                f"after {next_run.period_end}, paid at the run of their own period"
            )
        out.append(line)
    if account.frozen or _holders(account):
        out += ["frozen because:"] + [f"  {why}" for why in _frozen_why(account)]
        out += ["expected release:"] + [f"  {note}" for note in _expected(account, policy.freeze)]
    else:
        out.append("nothing frozen")
    for line in account.lines:
        month_end = (line.on.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        if line.channel and month_end > account.as_of:
            out.append(
                f"provisional: the {line.source} line uses channel {line.channel}'s "
                f"{line.on:%Y-%m} pool so far ({line.pool:,.2f}, rebate "
                f"{line.rebate_rate * 100:g}%); final when the month closes"
            )
    if policy.commission.basis == "cash":
        for payment_id, reasons in blocked_payments(account, ledger):
            out.append(f"payment {payment_id} not counted yet: {'; '.join(reasons)}")
    out.append("audit trail:")
    out += [
        f"  {r.on}  {r.action:<15} {r.amount:>14,.2f}  {r.rule}; {r.reason}" for r in account.audit
    ] or ["  (no entries)"]
    return "\n".join(out)


def ledger_accounts(
    ledger: Ledger, policy, runs: Sequence[IncentiveRun], as_of: dt.date
) -> list[ContractAccount]:
    """Every contract's account as of *as_of* (earning lines computed once)."""
    lines = lines_by_contract(earning_lines(ledger, policy.commission, as_of))
    return [
        account_contract(ledger, cid, policy.commission, policy.freeze, runs, as_of, lines)
        for cid in sorted(ledger.contracts)
    ]


def monthly_movements(accounts: Sequence[ContractAccount]) -> pd.DataFrame:
    """Amounts per month and action (earn, freeze, release, write_off, pay_out), as floats
    for plotting (the exact figures stay in the audit records)."""
    rows = [(f"{r.on:%Y-%m}", r.action, r.amount) for a in accounts for r in a.audit if r.amount]
    frame = pd.DataFrame(rows, columns=["month", "action", "amount"])
    if frame.empty:
        return pd.DataFrame()
    table = frame.groupby(["month", "action"])["amount"].sum().unstack(fill_value=Decimal(0))
    return table.map(float).sort_index()


def statement_timeliness(
    runs: Sequence[IncentiveRun], days, calculation_working_days: int, due_working_day: int
) -> pd.DataFrame:
    """Statements due (working day *due_working_day* of the next month) vs issued (after
    *calculation_working_days* working days of calculation from the month's end)."""
    rows = []
    for run in runs:
        nxt = run.period_end + dt.timedelta(days=1)
        due = days.nth_of_month(nxt.year, nxt.month, due_working_day)
        issued = days.add(run.period_end, calculation_working_days)
        rows.append(
            {
                "period": run.period,
                "due": due,
                "issued": issued,
                "working_days_late": max(0, days.between(due, issued)),
            }
        )
    return pd.DataFrame(rows)


def commission_cost(accounts: Sequence[ContractAccount]) -> dict[str, Decimal]:
    """Totals over contracts: earned, paid out, payable, frozen, written off."""
    keys = ("earned", "paid_out", "payable", "frozen", "written_off")
    return {k: sum((getattr(a, k) for a in accounts), ZERO) for k in keys}


def simulated_accounts(
    policy,
    *,
    contracts: int,
    seed: int,
    start: dt.date,
    months: int,
    behaviour=None,
    country: str | None = "CN",
    table: pd.DataFrame | None = None,
) -> tuple[list[ContractAccount], list[IncentiveRun], object]:
    """Accounts of a simulated book at the end of *months*: :func:`synthetic_contracts`
    signed over the first half of the horizon (or the contracts *table* of a simulation
    run, e.g. :func:`scenario_contracts`), their payments drawn by
    :func:`simulate_ledger` (same *seed*: same contracts and payments under any policy),
    monthly runs on the working-day calendar."""
    from sim.incentives.payments import (
        PaymentBehaviour,
        monthly_runs,
        simulate_ledger,
        synthetic_contracts,
    )
    from sim.world.calendars import WorkingDays

    end = (start.replace(day=1) + dt.timedelta(days=31 * months)).replace(day=1)
    end -= dt.timedelta(days=1)
    if table is None:
        table = synthetic_contracts(contracts, seed, horizon_days=(end - start).days / 2)
    ledger = simulate_ledger(
        table, dt.datetime.combine(start, dt.time()), behaviour or PaymentBehaviour(), seed
    )
    days = WorkingDays(start, end + dt.timedelta(days=62), country)
    runs = monthly_runs(start, end, days, policy.commission.statement_working_day)
    return ledger_accounts(ledger, policy, runs, end), runs, days


def scenario_contracts(scenario, seed) -> pd.DataFrame:
    """The contracts won in one run of *scenario* (which needs a ``process:`` section)
    under its default lead policy: the book the incentive policies are applied to."""
    from sim.engine.simulation import run

    if scenario.process is None:
        raise ConfigError(
            f"scenario {scenario.name}: has no process section, so no contracts are won "
            "(use a scenario with `process:`, e.g. scenarios/process_demo.yaml)"
        )
    return run(scenario, None, seed).contracts


def commission_cost_replications(
    policies: dict,
    *,
    replications: int,
    contracts: int,
    seed: int,
    start: dt.date,
    months: int,
    scenario=None,
) -> pd.DataFrame:
    """Total commission cost per policy and replication: replication *i* uses seed
    ``(seed, i)`` folded into one integer, the same for every policy (common random
    numbers).  Cost = earned - written off (what the company pays or still owes).
    With a *scenario* (with a process model), replication *i*'s contracts are those won
    in its run on seed ``(seed, i)``, instead of synthetic ones."""
    rows = []
    for i in range(replications):
        rep_seed = seed * 1000 + i
        table = scenario_contracts(scenario, (seed, i)) if scenario is not None else None
        for name, policy in policies.items():
            accounts, _, _ = simulated_accounts(
                policy,
                contracts=contracts,
                seed=rep_seed,
                start=start,
                months=months,
                table=table,
            )
            total = commission_cost(accounts)
            rows.append(
                {
                    "policy": name,
                    "replication": i,
                    **{k: float(v) for k, v in total.items()},
                    "cost": float(total["earned"] - total["written_off"]),
                }
            )
    return pd.DataFrame(rows)


def appealable_lines(accounts: Sequence[ContractAccount]) -> pd.DataFrame:
    """Per month, statement steps a rep is likely to appeal: freezes and write-offs
    (count and amount); the 31% disputed statements of the source came from such steps."""
    rows = [
        (f"{r.on:%Y-%m}", r.action, r.amount)
        for a in accounts
        for r in a.audit
        if r.action in ("freeze", "write_off") and r.amount
    ]
    frame = pd.DataFrame(rows, columns=["month", "action", "amount"])
    if frame.empty:
        return pd.DataFrame(columns=["month", "action", "lines", "amount"])
    frame["amount"] = frame["amount"].map(float)
    return (
        frame.groupby(["month", "action"])
        .agg(lines=("amount", "size"), amount=("amount", "sum"))
        .reset_index()
    )


def paired_cost_difference(
    costs: pd.DataFrame, baseline: str, candidate: str, confidence: float = 0.95
) -> dict[str, float]:
    """*candidate*'s commission cost minus *baseline*'s, paired by replication (both
    plans see the same contracts and payments in replication *i*: common random
    numbers), from :func:`commission_cost_replications`' table.

    Returns the plans' mean costs (``baseline``, ``candidate``), the mean difference
    ``diff`` with its Student-t interval ``low`` / ``high`` (NaN with one replication),
    ``relative`` (``diff`` over the baseline's mean) and ``n``.
    """
    import math

    from scipy import stats

    wide = costs.pivot(index="replication", columns="policy", values="cost")
    missing = [name for name in (baseline, candidate) if name not in wide]
    if missing:
        raise ValueError(f"no costs for plan(s) {missing}; plans: {list(wide.columns)}")
    d = (wide[candidate] - wide[baseline]).dropna().to_numpy(dtype=float)
    n = len(d)
    half = math.nan
    if n > 1:
        half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * d.std(ddof=1) / math.sqrt(n))
    base_mean = float(wide[baseline].mean())
    diff = float(d.mean()) if n else math.nan
    return {
        "baseline": base_mean,
        "candidate": float(wide[candidate].mean()),
        "diff": diff,
        "low": diff - half,
        "high": diff + half,
        "relative": diff / base_mean if base_mean else math.nan,
        "n": float(n),
    }
