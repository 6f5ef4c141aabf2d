"""Payments in the simulation: reproducible draws per contract, behaviour shares by
segment, the working-day run calendar, and the delay fit."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from sim.errors import DataError
from sim.incentives.payments import (
    PaymentBehaviour,
    SegmentPayment,
    fit_payment_delays,
    monthly_runs,
    simulate_ledger,
    synthetic_contracts,
)
from sim.world.calendars import WorkingDays

START = dt.datetime(2026, 1, 5)


def test_same_seed_same_ledger_and_contracts_draw_independently():
    table = synthetic_contracts(30, seed=4)
    a = simulate_ledger(table, START, PaymentBehaviour(), seed=4)
    b = simulate_ledger(table, START, PaymentBehaviour(), seed=4)
    assert a.payments == b.payments and a.disputes == b.disputes
    # dropping contracts leaves the others' payments unchanged (one stream per contract)
    fewer = simulate_ledger(table.iloc[::2], START, PaymentBehaviour(), seed=4)
    kept = set(table.iloc[::2]["contract_id"])
    assert fewer.payments == [p for p in a.payments if p.contract_id in kept]
    assert simulate_ledger(table, START, PaymentBehaviour(), seed=5).payments != a.payments


def test_installments_add_up_and_dates_follow_the_schedule():
    table = synthetic_contracts(10, seed=2)
    ledger = simulate_ledger(table, START, PaymentBehaviour(installments=3), seed=2)
    for contract in ledger.contracts.values():
        assert sum(i.amount for i in contract.installments) == contract.value
        assert [(i.due_on - i.invoiced_on).days for i in contract.installments] == [30] * 3
        assert contract.installments[0].invoiced_on == contract.signed_on


def test_on_time_late_never_shares_match_the_segment():
    table = synthetic_contracts(600, seed=3).assign(budget_band="small")
    segment = SegmentPayment(on_time=0.5, never=0.2)
    behaviour = PaymentBehaviour(installments=1, segments={"small": segment}, proof_missing=0)
    ledger = simulate_ledger(table, START, behaviour, seed=3)
    dues = {c.contract_id: c.installments[0].due_on for c in ledger.contracts.values()}
    never = 1 - len(ledger.payments) / 600
    on_time = np.mean([p.received_on <= dues[p.contract_id] for p in ledger.payments]) * (1 - never)
    sd = np.sqrt(0.25 / 600)
    assert abs(never - 0.2) < 4 * sd and abs(on_time - 0.5) < 4 * sd


def test_contracts_table_needs_the_engine_columns():
    with pytest.raises(DataError, match=r"lacks column.*signed_at"):
        simulate_ledger(synthetic_contracts(3).drop(columns="signed_at"), START, PaymentBehaviour())


def test_runs_on_the_fifth_working_day_with_chinese_holidays():
    days = WorkingDays(dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    runs = {
        r.period: r.run_on for r in monthly_runs(dt.date(2026, 1, 1), dt.date(2026, 9, 30), days)
    }
    assert runs["2026-01"] == dt.date(2026, 2, 6)
    assert runs["2026-04"] == dt.date(2026, 5, 11)  # 1-5 May: Labour Day holidays
    # October: 1-7 holidays, Saturday 10 October an adjusted workday -> 8, 9, 10, 12, 13
    assert runs["2026-09"] == dt.date(2026, 10, 13)
    assert days.is_working(dt.date(2026, 10, 10)) and not days.is_working(dt.date(2026, 10, 5))
    assert days.between(dt.date(2026, 10, 7), dt.date(2026, 10, 13)) == 5
    assert days.add(dt.date(2026, 9, 30), 5) == dt.date(2026, 10, 13)


def test_fit_recovers_a_known_lognormal():
    rng = np.random.default_rng(7)
    sigma, mu = 0.8, np.log(12.0)
    late = rng.lognormal(mu, sigma, size=4000)
    days = np.concatenate([np.zeros(6000), late])
    fit = fit_payment_delays(days)
    assert fit.on_time == pytest.approx(0.6)
    assert fit.late_days.mean == pytest.approx(np.exp(mu + sigma**2 / 2), rel=0.05)
    with pytest.raises(ValueError, match="days_late"):
        fit_payment_delays(np.array([-1.0]))


def test_engine_shaped_contracts_table():
    """Integer ids, nullable customers, values as exact text and cents (the engine's)."""
    import pandas as pd

    table = pd.DataFrame(
        {
            "contract_id": pd.Series([1, 2], dtype="int64"),
            "lead_id": [10, 11],
            "customer_id": pd.Series([7, None], dtype="Int64"),
            "rep_id": pd.Series(["r1", "r2"], dtype="string"),
            "region": ["east", "east"],
            "budget_band": ["large", "tiny"],  # an unknown band pays like the default
            "signed_at": [5.0, 30.5],
            "value_cents": pd.Series([123456789, 100], dtype="int64"),
            "value": pd.Series(["1234567.89", "1.00"], dtype="string"),
        }
    )
    ledger = simulate_ledger(table, START, PaymentBehaviour(), seed=1)
    first, second = ledger.contract("1"), ledger.contract("2")
    assert str(first.value) == "1234567.89" and first.customer_id == "7"
    assert second.customer_id == "lead-11" and second.signed_on == dt.date(2026, 1, 6)


def test_contracts_from_a_simulated_run():
    """The process model's contracts table (when present) plugs straight in."""
    from conftest import SCENARIOS

    pytest.importorskip("sim.process.opportunities", reason="the process model is not in this tree")
    path = SCENARIOS / "process_demo.yaml"
    if not path.is_file():
        pytest.skip(f"no process scenario at {path}")
    from policies.policy import default_policy
    from sim.engine.simulation import run
    from sim.incentives.report import commission_cost, ledger_accounts
    from sim.world.loading import load_scenario

    scenario = load_scenario(path)
    result = run(scenario, default_policy(), seed=1)
    contracts = getattr(result, "contracts", None)
    if contracts is None or contracts.empty:
        pytest.skip("this run produced no contracts table")
    ledger = simulate_ledger(contracts, scenario.start, PaymentBehaviour(), seed=1)
    assert len(ledger.contracts) == len(contracts)
    days = WorkingDays(scenario.start.date(), dt.date(2027, 3, 31))
    runs = monthly_runs(scenario.start.date(), dt.date(2026, 12, 31), days)
    accounts = ledger_accounts(ledger, default_policy(), runs, dt.date(2026, 12, 31))
    total = commission_cost(accounts)
    assert all(a.balanced() for a in accounts) and total["earned"] > 0
