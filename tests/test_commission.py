"""Commission plan arithmetic: marginal brackets, whole-amount tiers, accelerators, caps,
and the three conditions of the cash basis, each named when it blocks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from pydantic import ValidationError

from policies.commission import (
    CommissionPlan,
    RateTable,
    basis_blockers,
    cash_counted_on,
)

TIERS = [
    {"from": 0, "rate": 0.02},
    {"from": 5000000, "rate": 0.03},
    {"from": 8000000, "rate": 0.04},
]


@pytest.mark.parametrize(
    ("base", "marginal", "whole"),
    [
        ("4999999.99", "99999.9998", "99999.9998"),
        ("5000000", "100000", "150000"),  # reaching 5 M: the whole base at 3%
        ("8000000", "190000", "320000"),  # reaching 8 M: the whole base at 4%
        ("8000000.01", "190000.0004", "320000.0004"),
        ("10000000", "270000", "400000"),
    ],
)
def test_tier_boundaries_at_5m_and_8m(base, marginal, whole):
    assert RateTable(kind="marginal", brackets=TIERS).commission(D(base)) == D(marginal)
    assert RateTable(kind="whole", brackets=TIERS).commission(D(base)) == D(whole)


def test_increments_sum_to_gross_of_the_total_in_any_order():
    plan = CommissionPlan(rates={"kind": "whole", "brackets": TIERS})
    amounts = [D("3000000"), D("2500000"), D("4000000")]
    for order in (amounts, amounts[::-1]):
        before, total = D(0), D(0)
        for amount in order:
            total += plan.increment(before, amount)
            before += amount
        assert total == plan.gross(D("9500000")) == D("380000")
    # The payment that reaches 5 M carries the whole-base true-up.
    assert plan.increment(D("3000000"), D("2000000")) == D("150000") - D("60000")


def test_accelerator_and_cap():
    plan = CommissionPlan(
        rates={"brackets": [{"from": 0, "rate": 0.06}, {"from": 1000000, "rate": 0.09}]},
        accelerators=[{"above": 3000000, "multiplier": 1.5}],
        cap=400000,
    )
    assert plan.gross(D("3000000")) == D("60000") + D("180000")
    # above 3 M: 9% x 1.5 = 13.5% on the part above
    assert plan.gross(D("4000000")) == D("240000") + D("135000")
    assert plan.gross(D("10000000")) == D("400000")  # capped


def test_brackets_must_start_at_zero_and_increase():
    with pytest.raises(ValidationError, match="start from 0"):
        RateTable(brackets=[{"from": 10, "rate": 0.1}])
    with pytest.raises(ValidationError, match="brackets must increase"):
        RateTable(brackets=[{"from": 0, "rate": 0.1}, {"from": 0, "rate": 0.2}])
    with pytest.raises(ValidationError):
        RateTable(brackets=[{"from": 0, "rate": -0.1}])


D0 = dt.date(2026, 3, 1)


def day(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


def test_cash_counts_when_all_three_conditions_hold():
    assert cash_counted_on(day(0), day(2), day(1)) == day(2)
    assert cash_counted_on(day(5), day(5), day(9)) == day(9)
    assert cash_counted_on(day(0), None, day(1)) is None  # no bank proof
    assert cash_counted_on(day(0), day(0), None) is None  # never fulfilled
    # a dispute open on [3, 10) pushes counting to its close; a still-open one blocks
    assert cash_counted_on(day(4), day(4), day(4), [(day(3), day(10))]) == day(10)
    assert cash_counted_on(day(4), day(4), day(4), [(day(3), day(10)), (day(10), day(12))]) == (
        day(12)
    )
    assert cash_counted_on(day(4), day(4), day(4), [(day(3), None)]) is None


def test_blockers_name_each_condition():
    blockers = basis_blockers(day(5), day(0), None, None, [(day(1), None)])
    assert blockers == [
        "(a) bank-transfer proof not uploaded",
        '(b) contract status is not "fulfilled"',
        f"(c) quality dispute open since {day(1)}",
    ]
    assert basis_blockers(day(5), day(0), day(1), day(2), [(day(1), day(3))]) == []
