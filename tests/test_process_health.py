"""The process health dashboard (sim.outcomes.process_health) and the process KPIs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from conftest import POLICIES, SCENARIOS, tiny_scenario_dict
from sim import load_policy, load_scenario, run
from sim.outcomes.process_health import (
    DRILL_DOWNS,
    checkpoint_funnel,
    health_by,
    proof_by_site,
    requirement_change_hotspots,
    weekly_data_health,
)
from sim.outcomes.process_kpis import (
    PROCESS,
    customer_change_peaks,
    process_kpi_summary,
    process_kpis,
)
from sim.world.scenario import Scenario

DAY = 24.0


@pytest.fixture(scope="module")
def demo():
    scenario = load_scenario(SCENARIOS / "process_demo.yaml", ["horizon_days=100"])
    return run(scenario, load_policy(POLICIES / "proof_photos.yaml"), 2)


def changes_result(times: dict[int | None, list[float]]):
    """A run whose only process events are requirement changes at the given days, one
    deal per key (None: a deal without a customer id)."""
    base = run(Scenario.model_validate(tiny_scenario_dict(horizon_days=90)), None, 0)
    rows = [
        (day * DAY, opp, customer)
        for opp, (customer, days) in enumerate(times.items())
        for day in days
    ]
    events = pd.DataFrame(rows, columns=["t", "opportunity_id", "customer_id"])
    events["customer_id"] = events["customer_id"].astype("Int64")
    events["kind"] = "requirement_changed"
    events["value"] = np.nan
    return dataclasses.replace(base, process_events=events)


def test_most_changes_within_any_30_days():
    result = changes_result({7: [0, 10, 25, 31, 50], 8: [0, 1, 2, 3, 4], None: [5], 9: [0, 30]})
    peaks = customer_change_peaks(result).set_index("customer")
    assert peaks.loc[7].tolist() == [5, 3]  # 0-25, 10-31 or 25-50: three each
    assert peaks.loc[8].tolist() == [5, 5]
    assert peaks.loc[9].tolist() == [2, 1]  # 30 days apart: not within the same 30 days
    assert peaks.loc[-1 - 2].tolist() == [1, 1]  # no customer id: keyed by the deal
    hot = requirement_change_hotspots(result)
    assert hot["customer"].tolist() == [8, 7]  # > 2 changes in 30 days (default amber)
    assert hot["rag"].tolist() == ["red", "amber"]  # 5 > 4 is red, 3 is amber
    assert process_kpis(result)["customers_change_amber"] == 2


def test_threshold_comes_from_the_policy():
    result = changes_result({7: [0, 10, 25]})
    lax = load_policy(
        None, ["checkpoints.health.requirement_changes_30d={direction: above, amber: 3, red: 5}"]
    )
    assert len(requirement_change_hotspots(result)) == 1
    assert requirement_change_hotspots(dataclasses.replace(result, policy=lax)).empty


def test_funnel_adds_up(demo):
    funnel = checkpoint_funnel(demo).set_index("checkpoint")
    opps = demo.opportunities
    opps = opps[opps["opened_t"] >= demo.scenario.warmup_hours]
    assert funnel["reached"].iloc[0] == len(opps)
    assert (funnel["reached"].iloc[1:].to_numpy() == funnel["passed"].iloc[:-1].to_numpy()).all()
    lost = funnel["lost_customer"] + funnel["lost_proof_stall"]
    closed_or_open = funnel["passed"] + lost + funnel["in_progress"]
    assert (closed_or_open == funnel["reached"]).all()
    assert funnel["passed"].iloc[-1] == (opps["status"] == "won").sum()
    assert funnel["lost_proof_stall"].sum() == (opps["lost_reason"] == "proof_stall").sum() > 0


def test_proof_by_site_shows_the_factory_problem(demo):
    table = proof_by_site(demo)
    assert table.loc["factory_floor", "failure_rate"] > 0.6
    assert table.loc["office", "failure_rate"] < 0.15
    opps = demo.opportunities.query("opened_t >= @demo.scenario.warmup_hours")
    assert table["stalls"].sum() == (opps["lost_reason"] == "proof_stall").sum()


@pytest.mark.parametrize("level", list(DRILL_DOWNS))
def test_drill_down_pools_to_the_kpis(demo, level):
    table = health_by(demo, level)
    values = process_kpis(demo)
    assert table["deals"].sum() == values["opportunities_opened"]
    assert table["won"].sum() == values["deals_won"]
    rags = [c for c in table.columns if c.endswith("_rag")]
    assert len(rags) == 5
    assert set(np.unique(table[rags].to_numpy())) <= {"red", "amber", "green", "n/a"}
    if level == "region":
        overall = values["visit_completion_rate"]
        assert table["visit_completion"].min() <= overall <= table["visit_completion"].max()


def test_rag_follows_the_thresholds(demo):
    table = health_by(demo, "rep")
    limits = demo.policy.checkpoints.health
    for _, row in table.iterrows():
        assert row["data_completeness_rag"] == limits.data_completeness.rag(
            row["data_completeness"]
        )
        expected = (
            "red"
            if row["update_lag_days"] > 3
            else "amber"
            if row["update_lag_days"] > 1
            else "green"
        )
        assert row["update_lag_days_rag"] == expected


def test_unknown_level(demo):
    with pytest.raises(ValueError, match="unknown level 'team'"):
        health_by(demo, "team")


def test_kpis_have_units_and_summaries(demo):
    for kpi in PROCESS.values():
        assert kpi.unit and kpi.description and kpi.better in {"lower", "higher", "none"}
    summary = process_kpi_summary([demo, demo])
    assert summary["kpi"].tolist() == list(PROCESS)
    assert (summary["n"] == 2).all() or summary["n"].isin([0, 2]).all()
    same = summary.dropna(subset=["ci_low"])
    assert np.allclose(same["ci_low"], same["mean"]) and np.allclose(same["ci_high"], same["mean"])
    values = process_kpis(demo)
    assert values["proof_failure_rate"] == pytest.approx(
        demo.opportunities.query("opened_t >= 720")["proof_failures"].sum()
        / demo.opportunities.query("opened_t >= 720")["proof_attempts"].sum()
    )


def test_without_process_the_kpis_are_empty(tiny_scenario):
    values = process_kpis(run(tiny_scenario, None, 0))
    assert values["opportunities_opened"] == 0
    assert np.isnan(values["win_rate"])


def test_weekly_data_health_by_hand():
    """Rep r1, week of Monday 5 January 2026: CRM records 0.5 and 3 days late, visits 1
    and 2.5 days after plan (grace 2 days), 2 fields missing; week of 12 January: one
    record 0.2 days late, no visit."""
    base = run(Scenario.model_validate(tiny_scenario_dict(horizon_days=14)), None, 0)
    rows = [
        (0.0, "checkpoint_recorded", 0.5),
        (24.0, "visit_held", 1.0),
        (50.0, "checkpoint_recorded", 3.0),
        (75.0, "visit_held", 2.5),
        (100.0, "fields_missing", 2.0),
        (170.0, "checkpoint_recorded", 0.2),
    ]
    events = pd.DataFrame(rows, columns=["t", "kind", "value"]).assign(rep_id="r1")
    events["time"] = pd.Timestamp("2026-01-05") + pd.to_timedelta(events["t"], unit="h")
    table = weekly_data_health(dataclasses.replace(base, process_events=events))
    first, second = (
        table.loc[("r1", pd.Timestamp("2026-01-05"))],
        table.loc[("r1", pd.Timestamp("2026-01-12"))],
    )
    assert first[["updates", "visits_held", "field_blocks"]].tolist() == [2, 2, 2]
    assert first["update_lag_days"] == pytest.approx(1.75)
    assert first["updates_within_1d"] == pytest.approx(0.5)
    assert first["visits_on_time"] == pytest.approx(0.5)
    assert (first["update_lag_days_rag"], first["visits_on_time_rag"]) == ("amber", "red")
    assert second["updates"] == 1 and second["update_lag_days_rag"] == "green"
    assert second["visits_on_time_rag"] == "n/a"
