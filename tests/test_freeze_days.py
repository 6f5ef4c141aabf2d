"""The freeze ladder on its edge days, worked by hand (DOMAIN.md 3.5, Decision).

Days count from the due date (day 0).  "More than 60 days overdue" starts on day 61; "paid
within 90 days" is paid on or before day 90; "unpaid at 120 days" is still unpaid at the
end of day 120.  Events of one day apply in causal order.  While frozen, 70% of each new
line is held and 30% is paid in its own period.  A write-off takes only the frozen
incentive on amounts still unpaid when it is approved.

Every case is checked twice: against the hand figures, and against the independent
reference model (``tests/reference_ledger.py``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from reference_ledger import RefLadder, RefPlan, figures_on, replay_contract

from policies.commission import CommissionPlan
from policies.freeze import FreezeLadder
from sim.incentives.accounts import account_contract
from sim.incentives.ledger import Approval, Contract, IncentiveRun, Installment, Ledger, Payment
from sim.incentives.report import calculator_figures, describe_account

SIGNED = dt.date(2026, 1, 5)
DUE = dt.date(2026, 2, 4)
LADDER = FreezeLadder()  # 60 / 70% / 90 / 120, late release after approval, lag 3 days
SIGNED_PLAN = CommissionPlan(basis="signed", accumulate="contract")  # 8%
CASH_PLAN = CommissionPlan(basis="cash", accumulate="contract")
INVOICED_PLAN = CommissionPlan(basis="invoiced", accumulate="contract")
RUN_MARCH = IncentiveRun("2026-03", dt.date(2026, 3, 31), dt.date(2026, 4, 6))  # day 61
RUN_APRIL = IncentiveRun("2026-04", dt.date(2026, 4, 30), dt.date(2026, 5, 11))
RUN_MAY = IncentiveRun("2026-05", dt.date(2026, 5, 31), dt.date(2026, 6, 5))


def day(n: int, due: dt.date = DUE) -> dt.date:
    return due + dt.timedelta(days=n)


def ledger_of(amounts=("1000000",), payments=(), approvals=()) -> Ledger:
    """Contract C1 of rep1: installment k due 30 days after the one before (first: DUE)."""
    installments = tuple(
        Installment(k + 1, SIGNED + dt.timedelta(days=30 * k), day(30 * k), D(a))
        for k, a in enumerate(amounts)
    )
    value = sum((i.amount for i in installments), D(0))
    contract = Contract("C1", "rep1", "K1", value, SIGNED, installments, fulfilled_on=SIGNED)
    paid = [
        Payment(f"P{k}", "C1", D(amount), on, on, number)
        for k, (number, amount, on) in enumerate(payments, start=1)
    ]
    approved = [Approval("C1", n, kind, on) for n, kind, on in approvals]
    return Ledger({"C1": contract}, paid, approvals=approved)


def figures(ledger, plan, on, runs=(), ladder=LADDER) -> tuple:
    """(earned, paid out, payable, frozen, written off) as of *on*, checked against the
    reference model and the conservation invariant."""
    account = account_contract(ledger, "C1", plan, ladder, list(runs), on)
    assert account.balanced()
    got = (account.earned, account.paid_out, account.payable, account.frozen, account.written_off)
    basis = plan.basis
    ref = replay_contract(
        ledger.contracts["C1"],
        ledger.payments,
        ledger.disputes,
        ledger.approvals,
        list(runs),
        RefPlan(basis, ((D(0), D("0.08")),), {}),
        RefLadder(
            share=ladder.frozen_share,
            late_release_needs_approval=ladder.approve_late_release,
            auto_approve=ladder.auto_approve,
        ),
        on,
    )
    want = figures_on(ref, on)
    assert got == (want.earned, want.paid_out, want.payable, want.frozen, want.written_off)
    return got


# --- day 60 / 61: the freeze ---------------------------------------------------------


def test_unpaid_on_day_60_is_not_frozen_day_61_is():
    """Signed basis: 1,000,000 x 8% = 80,000.00 earned at signing.  End of day 60: nothing
    frozen.  Day 61: 70% x 80,000.00 = 56,000.00 frozen, 24,000.00 payable."""
    ledger = ledger_of()
    assert figures(ledger, SIGNED_PLAN, day(60)) == (D("80000.00"), 0, D("80000.00"), 0, 0)
    assert figures(ledger, SIGNED_PLAN, day(61)) == (
        D("80000.00"),
        0,
        D("24000.00"),
        D("56000.00"),
        0,
    )


def test_paid_on_day_60_never_freezes():
    ledger = ledger_of(payments=[(1, "1000000", day(60))])
    assert figures(ledger, SIGNED_PLAN, day(61)) == (D("80000.00"), 0, D("80000.00"), 0, 0)


def test_paid_on_the_freeze_day_ends_released_and_back_paid():
    """Defect 1.  Paid on day 61 (2026-04-06): the freeze of the day (56,000.00) comes
    first, the payment then releases it: frozen 0.00 at the end of the day.  The March
    run on that same day pays the whole 80,000.00 (the released amount keeps its line's
    date, 2026-01-05).  Before the fix: release applied first, then the freeze, so
    56,000.00 stayed frozen for ever and the calculator said "unpaid for 61 days"."""
    ledger = ledger_of(payments=[(1, "1000000", day(61))])
    assert figures(ledger, SIGNED_PLAN, day(61), [RUN_MARCH]) == (
        D("80000.00"),
        D("80000.00"),
        0,
        0,
        0,
    )
    account = account_contract(ledger, "C1", SIGNED_PLAN, LADDER, [RUN_MARCH], day(200))
    assert [(r.on, r.action, r.amount) for r in account.audit] == [
        (SIGNED, "earn", D("80000.00")),
        (day(61), "freeze", D("56000.00")),
        (day(61), "release", D("56000.00")),
        (day(61), "pay_out", D("80000.00")),
    ]
    assert account.holds == {1: "released"}


def test_cash_paid_on_the_freeze_day_calculator_says_nothing_frozen():
    """Cash basis, 300,000 paid (proof the same day) on day 61: its line 300,000 x 8% =
    24,000.00 is earned after the freeze was released: payable 24,000.00, frozen 0.00.
    Before the fix: frozen 16,800.00 (70%) for ever, "unpaid for 61 days"."""
    ledger = ledger_of(["300000"], payments=[(1, "300000", day(61))])
    assert figures(ledger, CASH_PLAN, day(61)) == (D("24000.00"), 0, D("24000.00"), 0, 0)
    assert figures(ledger, CASH_PLAN, day(200)) == (D("24000.00"), 0, D("24000.00"), 0, 0)
    account = account_contract(ledger, "C1", CASH_PLAN, LADDER, [RUN_APRIL], day(80))
    text = describe_account(account, ledger, _Policy(), RUN_APRIL)
    assert "nothing frozen" in text and "unpaid for 61 days (" not in text
    assert "  payable now        24,000.00" in text


class _Policy:
    name = "hand"
    commission = CASH_PLAN
    freeze = LADDER


# --- day 90 / 91: release on payment or after approval ---------------------------------


def test_paid_on_day_90_releases_on_payment_day_91_after_approval():
    """Paid on day 90: 56,000.00 released that day.  Paid on day 91: still frozen until
    the approval, expected day 91 + 3 = day 94; released then."""
    on_90 = ledger_of(payments=[(1, "1000000", day(90))])
    assert figures(on_90, SIGNED_PLAN, day(90)) == (D("80000.00"), 0, D("80000.00"), 0, 0)
    on_91 = ledger_of(payments=[(1, "1000000", day(91))])
    frozen = (D("80000.00"), 0, D("24000.00"), D("56000.00"), 0)
    assert figures(on_91, SIGNED_PLAN, day(91)) == frozen
    assert figures(on_91, SIGNED_PLAN, day(93)) == frozen
    account = account_contract(on_91, "C1", SIGNED_PLAN, LADDER, [], day(93))
    assert calculator_figures(account, LADDER, None)["expected"] == {1: ("release", day(94))}
    assert figures(on_91, SIGNED_PLAN, day(94)) == (D("80000.00"), 0, D("80000.00"), 0, 0)


# --- day 120 / 121: release after approval, or write-off ------------------------------


def test_paid_on_day_120_is_paid_never_written_off():
    """Paid on day 120: the release waits for approval (day 123), no write-off even with a
    write-off approval recorded."""
    ledger = ledger_of(payments=[(1, "1000000", day(120))], approvals=[(1, "write_off", day(120))])
    assert figures(ledger, SIGNED_PLAN, day(122))[3:] == (D("56000.00"), 0)
    assert figures(ledger, SIGNED_PLAN, day(123)) == (D("80000.00"), 0, D("80000.00"), 0, 0)


def test_unpaid_at_the_end_of_day_120_is_written_off_on_approval():
    """Unpaid at the end of day 120, risk approval recorded on day 120: the frozen 56,000.00
    (all of it on the 1,000,000.00 still unpaid) is written off on day 120.  The payment on
    day 121 comes too late for it; the 24,000.00 not frozen stays payable."""
    ledger = ledger_of(payments=[(1, "1000000", day(121))], approvals=[(1, "write_off", day(120))])
    assert figures(ledger, SIGNED_PLAN, day(119))[3:] == (D("56000.00"), 0)
    assert figures(ledger, SIGNED_PLAN, day(121)) == (
        D("80000.00"),
        0,
        D("24000.00"),
        0,
        D("56000.00"),
    )


def test_paid_on_day_121_before_approval_is_not_written_off():
    """Defect 3, signed basis.  Paid in full on day 121, write-off approved on day 123 (day
    120 + 3): at approval 0.00 is unpaid, so 0.00 is written off and the 56,000.00 is
    released."""
    ledger = ledger_of(payments=[(1, "1000000", day(121))])
    assert figures(ledger, SIGNED_PLAN, day(122))[3:] == (D("56000.00"), 0)
    assert figures(ledger, SIGNED_PLAN, day(123)) == (D("80000.00"), 0, D("80000.00"), 0, 0)


def test_cash_paid_after_120_before_approval_keeps_its_commission():
    """Defect 3, cash basis: 300,000 due 2026-02-04 paid on day 121 (2026-06-05), write-off
    approval recorded on day 122.  Its line 24,000.00 is earned while frozen: 16,800.00
    held, 7,200.00 payable.  On approval: written off 0.00 (commission on cash received),
    16,800.00 released.  Before the fix: written off 16,800.00."""
    ledger = ledger_of(
        ["300000"], payments=[(1, "300000", day(121))], approvals=[(1, "write_off", day(122))]
    )
    assert figures(ledger, CASH_PLAN, day(121)) == (
        D("24000.00"),
        0,
        D("7200.00"),
        D("16800.00"),
        0,
    )
    assert figures(ledger, CASH_PLAN, day(122)) == (D("24000.00"), 0, D("24000.00"), 0, 0)


def test_invoiced_partly_paid_after_120_writes_off_only_the_unpaid_share():
    """Invoiced basis: invoice of 300,000 earns 24,000.00 on 2026-01-05; day 61: 16,800.00
    frozen.  100,000 paid on day 121, approval on day 122: 200,000 of 300,000 still unpaid,
    so 16,800.00 x 200,000 / 300,000 = 11,200.00 written off and 5,600.00 released."""
    ledger = ledger_of(
        ["300000"], payments=[(1, "100000", day(121))], approvals=[(1, "write_off", day(122))]
    )
    assert figures(ledger, INVOICED_PLAN, day(122)) == (
        D("24000.00"),
        0,
        D("12800.00"),
        0,
        D("11200.00"),
    )


# --- new lines while frozen, with monthly runs ----------------------------------------


def test_new_line_while_frozen_30_percent_paid_in_its_own_period():
    """Defect 2, cash basis, 3 installments of 300,000 (due 02-04, 03-06, 04-05).
    Installment 2 paid 2026-04-01: April line 24,000.00.  Installment 1 unpaid, day 61
    (2026-04-06): 70% of it frozen = 16,800.00, 7,200.00 payable.  Installment 3 paid
    2026-05-06: May line 24,000.00, 16,800.00 held, 7,200.00 payable.  The April run
    (2026-05-11) pays April's 7,200.00; the May run (2026-06-05) May's 7,200.00.  Before
    the fix the May hold took April's 7,200.00 first: the April run paid 0.00 while the
    calculator said "payable now 14,400.00"."""
    ledger = ledger_of(
        ["300000"] * 3,
        payments=[(2, "300000", dt.date(2026, 4, 1)), (3, "300000", dt.date(2026, 5, 6))],
    )
    runs = [RUN_MARCH, RUN_APRIL, RUN_MAY]
    on = dt.date(2026, 5, 7)
    assert figures(ledger, CASH_PLAN, on, runs) == (
        D("48000.00"),
        0,
        D("14400.00"),
        D("33600.00"),
        0,
    )
    account = account_contract(ledger, "C1", CASH_PLAN, LADDER, runs, on)
    calc = calculator_figures(account, LADDER, RUN_APRIL)
    assert (calc["payable_now"], calc["next_run_pays"], calc["paid_later"]) == (
        D("14400.00"),
        D("7200.00"),
        D("7200.00"),
    )
    text = describe_account(account, ledger, _Policy(), RUN_APRIL)
    assert "next incentive run 2026-05-11 (period 2026-04) pays 7,200.00; the other 7,200.00" in (
        text
    )
    assert figures(ledger, CASH_PLAN, RUN_APRIL.run_on, runs)[1] == D("7200.00")
    # Installment 1 unpaid at 120 days (2026-06-04), written off on 2026-06-07: the frozen
    # 33,600.00 is all commission on cash received, so nothing is written off: released.
    assert figures(ledger, CASH_PLAN, dt.date(2026, 6, 6), runs)[3] == D("33600.00")
    assert figures(ledger, CASH_PLAN, dt.date(2026, 6, 7), runs) == (
        D("48000.00"),
        D("14400.00"),
        D("33600.00"),
        0,
        0,
    )


# --- approvals on any day -------------------------------------------------------------


def test_approval_recorded_before_its_request_applies_on_the_request_day():
    """Write-off approval recorded on day 100 (before the day-120 request): written off on
    day 120.  Release approval recorded on day 80 for a payment on day 95: released on
    day 95."""
    early_wo = ledger_of(approvals=[(1, "write_off", day(100))])
    assert figures(early_wo, SIGNED_PLAN, day(119))[3:] == (D("56000.00"), 0)
    assert figures(early_wo, SIGNED_PLAN, day(120))[3:] == (0, D("56000.00"))
    early_rel = ledger_of(payments=[(1, "1000000", day(95))], approvals=[(1, "release", day(80))])
    assert figures(early_rel, SIGNED_PLAN, day(95))[3] == 0


def test_late_approval_and_no_approval():
    """Write-off approval recorded on day 130: frozen until then.  Without auto-approval
    and no record, the 56,000.00 stays frozen and the calculator says so."""
    late = ledger_of(approvals=[(1, "write_off", day(130))])
    assert figures(late, SIGNED_PLAN, day(129))[3:] == (D("56000.00"), 0)
    assert figures(late, SIGNED_PLAN, day(130))[3:] == (0, D("56000.00"))
    manual = LADDER.model_copy(update={"auto_approve": False})
    never = ledger_of()
    assert figures(never, SIGNED_PLAN, day(300), ladder=manual)[3:] == (D("56000.00"), 0)
    account = account_contract(never, "C1", SIGNED_PLAN, manual, [], day(300))
    assert calculator_figures(account, manual, None)["expected"] == {1: ("write_off", None)}
