"""Hand-computed statements and the conservation of money.

Every example is worked by hand in its docstring or comments; the property test checks,
over random payment histories, that for every contract at every date
earned = paid out + payable + frozen + written off, to the cent.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.commission import CommissionPlan
from policies.freeze import FreezeLadder
from sim.incentives.accounts import (
    ChannelInvoice,
    Contract,
    Dispute,
    IncentiveRun,
    Installment,
    Ledger,
    Payment,
    account_contract,
)
from sim.incentives.earnings import earning_lines
from sim.incentives.statements import line_steps

SIGNED = dt.date(2026, 1, 5)
DUE = dt.date(2026, 2, 4)


def day(n: int) -> dt.date:
    """*n* days after the due date."""
    return DUE + dt.timedelta(days=n)


def one_contract(value="1000000", channel=None, paid_day=None, approvals=()) -> Ledger:
    contract = Contract(
        "C1",
        "rep1",
        "K1",
        D(value),
        SIGNED,
        (Installment(1, SIGNED, DUE, D(value)),),
        channel=channel,
        fulfilled_on=SIGNED,
    )
    payments = []
    if paid_day is not None:
        payments.append(Payment("P1", "C1", D(value), day(paid_day), day(paid_day), 1))
    return Ledger({"C1": contract}, payments, approvals=list(approvals))


def source_plan(**changes) -> CommissionPlan:
    data = {
        "rebate": {
            "channels": {"Y": "0.023"},
            "default": "IFS(received > 8000000, 0.025, received >= 5000000, 0.02, 0)",
        }
    }
    data.update(changes)
    return CommissionPlan.model_validate(data)


RUN_MARCH = IncentiveRun("2026-03", dt.date(2026, 3, 31), day(70))  # 2026-04-15
RUN_MAY = IncentiveRun("2026-05", dt.date(2026, 5, 31), dt.date(2026, 6, 5))
RUN_JUNE = IncentiveRun("2026-06", dt.date(2026, 6, 30), dt.date(2026, 7, 7))
RUNS = [RUN_MARCH, RUN_MAY, RUN_JUNE]


def amounts(account) -> tuple:
    assert account.balanced()
    return (account.earned, account.paid_out, account.payable, account.frozen, account.written_off)


def test_source_example_prints_93792():
    """1,200,000 received through channel Y (2.3%) at 8%: 1,200,000 x 8% x (1 - 2.3%)
    = 96,000 x 0.977 = 93,792.00 (the source's text says 91,200, which is wrong)."""
    ledger = one_contract("1200000", channel="Y", paid_day=-1)
    account = account_contract(ledger, "C1", source_plan(), FreezeLadder(), RUNS, day(80))
    [line] = account.lines
    assert line.amount == D("93792.00")
    assert line_steps(line) == (
        "contract C1 payment P1: 1,200,000.00 -> rebate 2.3% -> channel Y confirmed -> "
        "bad debt 0.00 -> payable = 1,200,000.00 x 8% x (1 - 2.3%) = 93,792.00"
    )
    assert amounts(account) == (D("93792.00"), D("93792.00"), 0, 0, 0)


def test_rebate_tier_boundaries_at_5m_and_8m_in_a_statement():
    """Channel Z's pool for the rep in the month decides the rebate: 1,000,000 at 8% is
    80,000 gross; pool 4,999,999.99 -> 0% -> 80,000.00; exactly 5,000,000 -> 2% ->
    78,400.00; exactly 8,000,000 -> still 2% -> 78,400.00; 8,000,000.01 -> 2.5% -> 78,000.00.
    """
    expected = {
        "4999999.99": "80000.00",
        "5000000.00": "78400.00",
        "8000000.00": "78400.00",
        "8000000.01": "78000.00",
    }
    for pool, payable in expected.items():
        ledger = one_contract(channel="Z", paid_day=-1)
        ledger.channel_invoices = [ChannelInvoice("I1", "Z", "K1", D(pool), day(-2))]
        [line] = earning_lines(ledger, source_plan(), day(0))
        assert (line.pool, line.amount) == (D(pool), D(payable)), pool


def test_whole_amount_tier_reached_exactly_at_5m_and_8m():
    """Whole-amount tiers 2% / 3% from 5 M / 4% from 8 M on the rep's month: payments of
    3,000,000, 2,000,000 and 3,000,000 earn 60,000.00, then 150,000 - 60,000 = 90,000.00
    (the base reaches 5,000,000 exactly: the whole base at 3%), then 320,000 - 150,000 =
    170,000.00 (the base reaches 8,000,000 exactly)."""
    plan = CommissionPlan.model_validate(
        {
            "basis": "signed",
            "rates": {
                "kind": "whole",
                "brackets": [
                    {"from": 0, "rate": 0.02},
                    {"from": 5000000, "rate": 0.03},
                    {"from": 8000000, "rate": 0.04},
                ],
            },
        }
    )
    contracts = {}
    for k, value in enumerate(["3000000", "2000000", "3000000"], start=1):
        on = SIGNED + dt.timedelta(days=k)
        contracts[f"C{k}"] = Contract(
            f"C{k}", "rep1", f"K{k}", D(value), on, (Installment(1, on, on, D(value)),)
        )
    lines = earning_lines(Ledger(contracts), plan, day(0))
    assert [line.amount for line in lines] == [D("60000.00"), D("90000.00"), D("170000.00")]
    assert sum(line.amount for line in lines) == plan.gross(D("8000000")) == D("320000")


SIGNED_PLAN = CommissionPlan(basis="signed")  # 8%: 1,000,000 earns 80,000.00 at signing


def test_freeze_released_on_day_89():
    """Earned 80,000.00 at signing. Day 61: 70% of the unpaid 80,000 frozen = 56,000.00,
    payable 24,000.00, paid in the March run (day 70). Paid on day 89: 56,000.00 released
    and back-paid in the May run: paid out 80,000.00 in all."""
    ledger = one_contract(paid_day=89)
    ladder = FreezeLadder()
    assert amounts(account_contract(ledger, "C1", SIGNED_PLAN, ladder, RUNS, day(60))) == (
        D("80000.00"),
        0,
        D("80000.00"),
        0,
        0,
    )
    assert amounts(account_contract(ledger, "C1", SIGNED_PLAN, ladder, RUNS, day(61))) == (
        D("80000.00"),
        0,
        D("24000.00"),
        D("56000.00"),
        0,
    )
    assert amounts(account_contract(ledger, "C1", SIGNED_PLAN, ladder, RUNS, day(88))) == (
        D("80000.00"),
        D("24000.00"),
        0,
        D("56000.00"),
        0,
    )
    account = account_contract(ledger, "C1", SIGNED_PLAN, ladder, RUNS, day(89))
    assert amounts(account) == (D("80000.00"), D("24000.00"), D("56000.00"), 0, 0)
    assert [(r.on, r.action, r.amount) for r in account.audit][-1] == (
        day(89),
        "release",
        D("56000.00"),
    )
    final = account_contract(ledger, "C1", SIGNED_PLAN, ladder, RUNS, dt.date(2026, 6, 5))
    assert amounts(final) == (D("80000.00"), D("80000.00"), 0, 0, 0)
    assert final.audit[-1].rule == "incentive run 2026-05" and final.audit[-1].amount == 56000


def test_freeze_released_after_approval_on_day_100():
    """Paid on day 100 (between 90 and 120): stays frozen until the approval recorded on
    day 104, then 56,000.00 is released and paid in the May run."""
    from sim.incentives.accounts import Approval

    ledger = one_contract(paid_day=100, approvals=[Approval("C1", 1, "release", day(104))])
    ladder = FreezeLadder()
    waiting = account_contract(ledger, "C1", SIGNED_PLAN, ladder, RUNS, day(103))
    assert amounts(waiting) == (D("80000.00"), D("24000.00"), 0, D("56000.00"), 0)
    assert waiting.pending == {1: ("release", day(104))}  # the recorded approval
    assert [r.action for r in waiting.audit][-1] == "await_approval"
    released = account_contract(ledger, "C1", SIGNED_PLAN, ladder, RUNS, day(104))
    assert amounts(released) == (D("80000.00"), D("24000.00"), D("56000.00"), 0, 0)


def test_unpaid_written_off_at_day_120():
    """Unpaid at day 120 with risk approval the same day: the frozen 56,000.00 is written
    off; the 24,000.00 already paid stays paid."""
    from sim.incentives.accounts import Approval

    ledger = one_contract(approvals=[Approval("C1", 1, "write_off", day(120))])
    account = account_contract(ledger, "C1", SIGNED_PLAN, FreezeLadder(), RUNS, day(120))
    assert amounts(account) == (D("80000.00"), D("24000.00"), 0, 0, D("56000.00"))
    assert [r.action for r in account.audit] == [
        "earn",
        "freeze",
        "pay_out",
        "await_write_off",
        "write_off",
    ]
    before = account_contract(ledger, "C1", SIGNED_PLAN, FreezeLadder(), RUNS, day(119))
    assert before.frozen == D("56000.00") and before.written_off == 0


def test_cash_earned_while_frozen_is_70_percent_frozen():
    """Installment 1 unpaid and frozen; installment 2 paid later: 70% of its line frozen."""
    inst = (Installment(1, SIGNED, DUE, D("500000")), Installment(2, SIGNED, DUE, D("500000")))
    contract = Contract("C1", "rep1", "K1", D("1000000"), SIGNED, inst, fulfilled_on=SIGNED)
    ledger = Ledger({"C1": contract}, [Payment("P2", "C1", D("500000"), day(70), day(71), 2)])
    account = account_contract(ledger, "C1", CommissionPlan(), FreezeLadder(), [], day(72))
    assert amounts(account) == (D("40000.00"), 0, D("12000.00"), D("28000.00"), 0)


# --- conservation property ---------------------------------------------------------

MONTHLY = [
    IncentiveRun(
        f"{y}-{m:02d}",
        dt.date(y + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1),
        dt.date(y + m // 12, m % 12 + 1, 6),
    )
    for y in (2026, 2027)
    for m in range(1, 13)
]

cents = st.integers(min_value=1, max_value=50_000_000).map(lambda c: D(c) / 100)
maybe_days = st.one_of(st.none(), st.integers(min_value=-20, max_value=200))


def contract_history(draw, cid: str, signed: dt.date):
    """One contract of rep1 with random installments, payments, proofs and disputes."""
    n = draw(st.integers(1, 4))
    amounts_ = [draw(cents) for _ in range(n)]
    installments = tuple(
        Installment(
            k + 1,
            signed + dt.timedelta(days=30 * k),
            signed + dt.timedelta(days=30 * (k + 1)),
            a,
        )
        for k, a in enumerate(amounts_)
    )
    fulfilled = draw(st.one_of(st.none(), st.integers(0, 120)))
    contract = Contract(
        cid,
        "rep1",
        f"K{cid}",
        sum(amounts_),
        signed,
        installments,
        channel=draw(st.sampled_from([None, "Y", "Z"])),
        fulfilled_on=None if fulfilled is None else signed + dt.timedelta(days=fulfilled),
    )
    payments = []
    for inst in installments:
        delay = draw(maybe_days)
        if delay is None:
            continue
        received = inst.due_on + dt.timedelta(days=delay)
        lag = draw(st.one_of(st.none(), st.integers(0, 15)))
        split = draw(st.booleans())
        parts = [inst.amount] if not split else [inst.amount / 2, inst.amount - inst.amount / 2]
        for j, part in enumerate(parts):
            proof = None if lag is None else received + dt.timedelta(days=lag + j)
            number = draw(st.sampled_from([inst.number, None]))
            payments.append(Payment(f"{cid}.{inst.number}.{j}", cid, part, received, proof, number))
    disputes = [
        Dispute(
            cid,
            signed + dt.timedelta(days=draw(st.integers(0, 150))),
            draw(st.one_of(st.none(), st.just(signed + dt.timedelta(days=200)))),
        )
        for _ in range(draw(st.integers(0, 2)))
    ]
    return contract, payments, disputes


@st.composite
def histories(draw):
    """1-3 contracts of one rep (so rep-level bases mix them), with a channel feed."""
    ledger = Ledger({})
    for k in range(draw(st.integers(1, 3))):
        signed = SIGNED + dt.timedelta(days=draw(st.integers(0, 60)))
        contract, payments, disputes = contract_history(draw, f"C{k + 1}", signed)
        ledger.contracts[contract.contract_id] = contract
        ledger.payments += payments
        ledger.disputes += disputes
        pool = draw(st.sampled_from(["0", "4999999.99", "5000000", "8000000.01"]))
        # dated before any as_of, so every line's rebate is final whatever the as_of date
        ledger.channel_invoices.append(
            ChannelInvoice(f"I{k}", "Z", contract.customer_id, D(pool), dt.date(2026, 1, 1))
        )
    return ledger


plans = st.builds(
    lambda basis, kind, r1, r2, cap, share, accumulate: (
        source_plan(
            basis=basis,
            accumulate=accumulate,
            rates={
                "kind": kind,
                "brackets": [{"from": 0, "rate": r1}, {"from": 1000000, "rate": r2}],
            },
            cap=cap,
        ),
        FreezeLadder(frozen_share=share),
    ),
    st.sampled_from(["signed", "invoiced", "cash"]),
    st.sampled_from(["marginal", "whole"]),
    st.sampled_from(["0.08", "0.0333", "0.05"]),
    st.sampled_from(["0.1", "0.07"]),
    st.sampled_from([None, "12345.67"]),
    st.sampled_from(["0.7", "0.333", "1"]),
    st.sampled_from(["contract", "rep_month", "rep_year"]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), plans, st.integers(0, 400), st.sampled_from([1, 3, 0]))
def test_conservation_for_every_contract_at_every_date(ledger, plan_ladder, as_of_days, every):
    """Runs monthly, quarterly or never (then freezes take everything earned so far)."""
    plan, ladder = plan_ladder
    runs = MONTHLY[::every] if every else []
    as_of = SIGNED + dt.timedelta(days=as_of_days)
    end = dt.date(2027, 12, 31)
    for cid in ledger.contracts:
        final = account_contract(ledger, cid, plan, ladder, runs, end)
        for snap in final.snapshots:
            assert snap.earned == snap.paid_out + snap.payable + snap.frozen + snap.written_off
            assert min(snap.paid_out, snap.payable, snap.frozen, snap.written_off) >= 0
            assert snap.earned.as_tuple().exponent == -2  # whole cents, one rounding per line
        assert final.earned == sum(line.amount for line in final.lines)
        # The account as of any date agrees with the history up to that date.
        account = account_contract(ledger, cid, plan, ladder, runs, as_of)
        assert account.balanced()
        upto = [s for s in final.snapshots if s.on <= as_of]
        seen = upto[-1] if upto else None
        expected = (
            (seen.earned, seen.paid_out, seen.payable, seen.frozen, seen.written_off)
            if seen
            else (0,) * 5
        )
        got = (account.earned, account.paid_out, account.payable, account.frozen)
        assert (*got, account.written_off) == expected


@settings(max_examples=60, deadline=None)
@given(histories(), plans)
def test_lines_of_a_base_sum_to_its_gross_exactly(ledger, plan_ladder):
    """Whatever the order of earnings, a base's exact gross is the sum of its lines'."""
    plan, _ = plan_ladder
    bases: dict = {}
    for line in earning_lines(ledger, plan, dt.date(2027, 12, 31)):
        key = {"contract": line.contract_id, "rep_month": f"{line.on:%Y-%m}"}.get(
            plan.accumulate, str(line.on.year)
        )
        total, gross = bases.get(key, (D(0), D(0)))
        assert line.base_before == total
        bases[key] = (total + line.basis_amount, gross + line.gross)
    for total, gross in bases.values():
        assert gross == plan.gross(total)
