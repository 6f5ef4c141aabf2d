"""Incentives on the contracts won in simulation runs (the process model's book)."""

from __future__ import annotations

import pytest

from conftest import POLICIES, SCENARIOS
from sim import load_policy, load_scenario, run
from sim.errors import ConfigError
from sim.incentives.report import (
    commission_cost,
    commission_cost_replications,
    scenario_contracts,
    simulated_accounts,
)

SHORT = ["horizon_days=90"]


def test_the_book_is_the_contracts_won_in_the_run():
    scenario = load_scenario(SCENARIOS / "process_demo.yaml", SHORT)
    book = scenario_contracts(scenario, (1, 0))
    assert book.equals(run(scenario, None, (1, 0)).contracts) and len(book) > 5
    policy = load_policy(POLICIES / "commission_source.yaml")
    accounts, _, _ = simulated_accounts(
        policy, contracts=0, seed=1, start=scenario.start.date(), months=6, table=book
    )
    assert sorted(a.contract.contract_id for a in accounts) == sorted(
        book["contract_id"].astype(str)
    )
    total = commission_cost(accounts)
    assert total["earned"] > 0
    # Conservation holds on the simulated book too.
    assert total["earned"] == (
        total["paid_out"] + total["payable"] + total["frozen"] + total["written_off"]
    )


def test_monte_carlo_on_a_scenario_uses_one_run_per_replication():
    scenario = load_scenario(SCENARIOS / "process_demo.yaml", SHORT)
    policies = {
        "source": load_policy(POLICIES / "commission_source.yaml"),
        "accelerated": load_policy(POLICIES / "commission_accelerated.yaml"),
    }
    frame = commission_cost_replications(
        policies,
        replications=2,
        contracts=0,
        seed=1,
        start=scenario.start.date(),
        months=6,
        scenario=scenario,
    )
    assert len(frame) == 4 and (frame["earned"] > 0).all()
    # Replications differ (their own runs); policies differ on the same book.
    by = frame.pivot(index="replication", columns="policy", values="earned")
    assert by.loc[0, "source"] != by.loc[1, "source"]
    assert (by["source"] != by["accelerated"]).all()


def test_a_scenario_without_a_process_model_has_no_book():
    with pytest.raises(ConfigError, match="no process section"):
        scenario_contracts(load_scenario(SCENARIOS / "baseline.yaml"), 1)
