"""The opportunity stage model (sim.process.pipeline): checkpoints, proofs, contracts."""

from __future__ import annotations

import hashlib
import io
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import POLICIES, ROOT, SCENARIOS, tiny_scenario_dict
from policies.checkpoints import CHECKPOINTS
from sim import ConfigError, load_policy, load_scenario, run
from sim.cli.main import main
from sim.process.opportunities import CONTRACT_COLUMNS, cents_to_text
from sim.world.scenario import Scenario

DEMO = SCENARIOS / "process_demo.yaml"
FAST = SCENARIOS / "process_attribution.yaml"


def digest(*frames: pd.DataFrame) -> str:
    buffer = io.BytesIO()
    for frame in frames:
        frame.to_csv(buffer, index=False, float_format="%.17g")
    return hashlib.sha256(buffer.getvalue()).hexdigest()


@pytest.fixture(scope="module")
def photos():
    return load_policy(POLICIES / "proof_photos.yaml")


@pytest.fixture(scope="module")
def any_offline():
    return load_policy(POLICIES / "proof_any_offline.yaml")


@pytest.fixture(scope="module")
def fast_runs(photos, any_offline):
    scenario = load_scenario(FAST)
    return run(scenario, any_offline, 3), run(scenario, photos, 3)


def test_scenario_without_process_has_empty_tables(tiny_scenario):
    result = run(tiny_scenario, None, 1)
    for frame in (result.opportunities, result.contracts, result.process_events):
        assert frame.empty
    assert list(result.contracts.columns) == list(CONTRACT_COLUMNS)


def test_process_section_leaves_the_lead_flow_unchanged():
    with_process = load_scenario(FAST)
    without = Scenario.model_validate(with_process.model_dump(by_alias=True) | {"process": None})
    a, b = run(with_process, None, 4), run(without, None, 4)
    assert len(a.opportunities) > 100
    assert digest(a.events, a.leads, a.reps) == digest(b.events, b.leads, b.reps)


def test_same_seed_gives_identical_process_tables(any_offline):
    scenario = load_scenario(FAST, ["horizon_days=40"])
    first, second = run(scenario, any_offline, 9), run(scenario, any_offline, 9)
    tables = ("opportunities", "contracts", "process_events")
    assert digest(*(getattr(first, t) for t in tables)) == digest(
        *(getattr(second, t) for t in tables)
    )
    other = run(scenario, any_offline, 10)
    assert digest(first.opportunities) != digest(other.opportunities)


def test_every_qualified_lead_opens_one_opportunity(fast_runs):
    result = fast_runs[0]
    qualified = result.leads.loc[result.leads["qualified"].fillna(False), "lead_id"]
    assert sorted(result.opportunities["lead_id"]) == sorted(qualified)
    opened = result.opportunities.set_index("lead_id")["opened_t"]
    ev = result.events[result.events["kind"] == "lead_qualified"].set_index("lead_id")["t"]
    assert np.allclose(opened.sort_index(), ev.sort_index())


def test_same_lead_same_deal_under_both_proof_rules(fast_runs):
    """Common random numbers: a lead's deal profile does not depend on the policy."""
    a, b = (r.opportunities.set_index("lead_id") for r in fast_runs)
    profile = [
        "site_type",
        "product_line",
        "demo_video_completion",
        "poc_revisions",
        "requirement_change_rate",
        "custom_development",
        "visit_slip_days",
        "value_cents",
        "expected_amount",
    ]
    common = a.index.intersection(b.index)
    assert len(common) == len(a) == len(b)  # proof rules do not change qualification
    pd.testing.assert_frame_equal(a.loc[common, profile], b.loc[common, profile])


def test_checkpoints_are_passed_in_order_in_the_event_log(fast_runs):
    for result in fast_runs:
        ev = result.process_events
        passed = ev[ev["kind"] == "checkpoint_passed"]
        for _, stages in passed.groupby("opportunity_id")["stage"]:
            names = [str(s) for s in stages]
            assert tuple(names) == CHECKPOINTS[: len(names)]
        won = result.opportunities[result.opportunities["status"] == "won"]
        counts = passed.groupby("opportunity_id").size()
        assert (counts.reindex(won["opportunity_id"]) == 5).all()


def test_won_deals_make_contracts_and_hand_offs(fast_runs):
    result = fast_runs[0]
    opps, contracts = result.opportunities, result.contracts
    won = opps[opps["status"] == "won"]
    assert len(contracts) == len(won) > 20
    assert contracts["contract_id"].tolist() == list(range(1, len(won) + 1))
    assert contracts["signed_at"].is_monotonic_increasing
    merged = contracts.merge(opps, on="opportunity_id", suffixes=("", "_opp"))
    assert (merged["signed_at"] == merged["closed_t"]).all()
    assert (merged["rep_id"] == merged["rep_id_opp"]).all()
    assert contracts["value_cents"].dtype == np.int64
    for cents, text in zip(contracts["value_cents"], contracts["value"], strict=True):
        assert Decimal(text) * 100 == cents
    small = contracts.loc[contracts["budget_band"] == "small", "value_cents"]
    assert small.between(200_000 * 100, 1_000_000 * 100).all()  # Uniform(200k, 1M)
    handed = result.process_events[result.process_events["kind"] == "handed_off"]
    assert sorted(handed["opportunity_id"]) == sorted(won["opportunity_id"])


def test_cents_to_text():
    assert [cents_to_text(c) for c in (0, 5, 123456789, -150)] == [
        "0.00",
        "0.05",
        "1234567.89",
        "-1.50",
    ]


def test_photo_rule_causes_rework_and_stalls(fast_runs):
    offline, photos = (r.opportunities for r in fast_runs)
    assert offline["proof_failures"].sum() == 0  # everything is cached
    assert offline["proof_cached"].sum() > 0
    assert (offline["lost_reason"] == "proof_stall").sum() == 0
    factory = photos[photos["site_type"] == "factory_floor"]
    rate = factory["proof_failures"].sum() / factory["proof_attempts"].sum()
    assert rate == pytest.approx(1 - 0.65**3, abs=0.06)
    assert (photos["lost_reason"] == "proof_stall").sum() > 0
    assert (photos["status"] == "won").sum() < (offline["status"] == "won").sum()


def test_risk_review_only_above_ten_million(fast_runs):
    opps = fast_runs[0].opportunities
    reviewed = opps[opps["risk_reviews"] > 0]
    assert len(reviewed) > 0
    assert (reviewed["expected_amount"] > 10e6).all()
    past_terms = opps[(opps["checkpoints_passed"] >= 3) & (opps["expected_amount"] > 10e6)]
    assert (past_terms["risk_reviews"] == 1).all()


def test_enforced_fields_complete_the_record(any_offline):
    scenario = load_scenario(FAST, ["horizon_days=60"])
    lax = load_policy(POLICIES / "proof_any_offline.yaml", ["checkpoints.enforce_fields=false"])
    strict, loose = run(scenario, any_offline, 2), run(scenario, lax, 2)
    closed = strict.opportunities[strict.opportunities["status"] != "open"]
    assert (closed["data_completeness"] == 1).all()
    assert (closed["field_blocks"] > 0).any()
    loose_opps = loose.opportunities
    assert (loose_opps["field_blocks"] == 0).all()
    share = loose_opps["fields_recorded"].sum() / loose_opps["fields_required"].sum()
    assert share == pytest.approx(
        loose_opps["fields_filled_first"].sum() / loose_opps["fields_required"].sum()
    )
    assert 0.2 < share < 0.6  # fill probability 0.35 x rep strength 0.8 or 1.3


def test_legal_sees_custom_development_late_without_the_rule(any_offline):
    scenario = load_scenario(FAST)
    late = load_policy(
        POLICIES / "proof_any_offline.yaml",
        ["checkpoints.legal_on_custom_development=at_legal_review"],
    )
    days = {}
    for label, policy in (("early", any_offline), ("late", late)):
        opps = run(scenario, policy, 5).opportunities
        custom = opps[(opps["status"] == "won") & opps["custom_development"]]
        days[label] = custom["legal_days_before_signing"].mean()
        assert custom["legal_days_before_signing"].notna().all()
    assert days["late"] < days["early"]


def test_overdue_visits_counted(fast_runs):
    opps = fast_runs[0].opportunities
    assert (opps["visits_on_time"] + opps["visits_overdue"] <= opps["visits_planned"] + 1).all()
    held_late = opps["visits_overdue"].sum()
    assert 0 < held_late < opps["visits_planned"].sum()


def test_process_yaml_errors_name_file_and_field(tmp_path):
    text = DEMO.read_text().replace("max_proof_attempts: 4", "max_proof_attempts: 0")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(ConfigError, match=r"bad.yaml: process.visits.max_proof_attempts"):
        load_scenario(bad)
    assert main(["validate", str(bad)]) == 2
    with pytest.raises(ConfigError, match=r"process.effects.demo_low_odds"):
        load_scenario(DEMO, ["process.effects.demo_low_odds=-1"])
    with pytest.raises(ConfigError, match=r"proof.types.0"):
        load_policy(POLICIES / "proof_photos.yaml", ["checkpoints.proof.types=[fax]"])


def test_missing_contract_value_band_is_a_config_error():
    data = tiny_scenario_dict(
        process={"contract_value": {"small": {"dist": "constant", "value": 1}}}
    )
    scenario = Scenario.model_validate(data)
    with pytest.raises(ConfigError, match=r"process\.contract_value .* medium"):
        run(scenario, None, 0)


def test_cli_run_with_process_scenario(tmp_path, capsys):
    code = main(["run", str(FAST), "--set", "horizon_days=20", "--out", str(tmp_path / "r")])
    assert code == 0
    assert "leads_arrived" in capsys.readouterr().out


@settings(max_examples=6, deadline=None)
@given(
    advance=st.floats(0.3, 0.99),
    visits=st.integers(1, 3),
    attempts=st.integers(1, 4),
    photos=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_simulated_deals_never_skip_a_checkpoint(advance, visits, attempts, photos, seed):
    """Property over random worlds and proof rules: every deal's passes are in order,
    each preceded by a held visit with a passing proof at that checkpoint."""
    stages = {
        c: {"duration_days": {"dist": "exponential", "mean": 2}, "advance": advance}
        for c in CHECKPOINTS
    }
    process = {"stages": stages, "visits": {"per_stage": visits, "max_proof_attempts": attempts}}
    data = tiny_scenario_dict(horizon_days=30, process=process)
    data["arrivals"] = {"rate_per_hour": 0.3}
    data["qualification"] = {"base": {"A": 1.0, "B": 1.0, "C": 1.0}}
    policy = load_policy(POLICIES / ("proof_photos.yaml" if photos else "proof_any_offline.yaml"))
    result = run(Scenario.model_validate(data), policy, seed)
    ev = result.process_events
    for _, group in ev.groupby("opportunity_id"):
        kinds, stage = group["kind"].astype(str).tolist(), group["stage"].tolist()
        passed = [s for k, s in zip(kinds, stage, strict=True) if k == "checkpoint_passed"]
        assert tuple(passed) == CHECKPOINTS[: len(passed)]
        for name in passed:
            at = [k for k, s in zip(kinds, stage, strict=True) if s == name]
            assert at.count("visit_held") == visits
            assert at.index("visit_held") < at.index("checkpoint_passed")
        if "opportunity_won" in kinds:
            assert len(passed) == 5


def test_example_files_validate():
    for path in (DEMO, FAST):
        assert load_scenario(path).process is not None
    for name in ("proof_photos", "proof_any_offline"):
        assert load_policy(POLICIES / f"{name}.yaml").name == name
    assert (ROOT / "notebooks" / "process_health.ipynb").is_file()


def test_recording_on_pass_removes_the_update_lag(any_offline):
    scenario = load_scenario(FAST, ["horizon_days=60"])
    realtime = load_policy(POLICIES / "proof_any_offline.yaml", ["checkpoints.record_on_pass=true"])
    late, now = run(scenario, any_offline, 6), run(scenario, realtime, 6)
    assert late.opportunities["update_lag_days_mean"].mean() > 1
    assert (now.opportunities["update_lag_days_mean"].dropna() == 0).all()
    passed = [f"passed_{c}_t" for c in CHECKPOINTS]
    recorded = [f"recorded_{c}_t" for c in CHECKPOINTS]
    opps = now.opportunities
    np.testing.assert_array_equal(opps[passed].to_numpy(), opps[recorded].to_numpy())
    # the lever changes only the records: the same deals pass at the same times
    pd.testing.assert_frame_equal(late.opportunities[passed], opps[passed])


def test_contracts_feed_the_payment_ledger(fast_runs):
    from sim.incentives.payments import PaymentBehaviour, simulate_ledger

    result = fast_runs[0]
    ledger = simulate_ledger(result.contracts, result.scenario.start, PaymentBehaviour(), seed=1)
    assert len(ledger.contracts) == len(result.contracts)
    total = sum(c.value for c in ledger.contracts.values())
    assert total * 100 == int(result.contracts["value_cents"].sum())


def test_odds_and_durations_by_grade_skill_and_band():
    import simpy

    from sim.process.opportunities import Opportunity
    from sim.process.pipeline import Pipeline

    stages = {c: {"advance": 0.5} for c in CHECKPOINTS}
    process = {"stages": stages, "effects": {"demo_low_odds": 0.4}}
    scenario = Scenario.model_validate(tiny_scenario_dict(process=process))
    pipe = Pipeline(
        simpy.Environment(), scenario.process, load_policy(None).checkpoints, (0,), scenario
    )
    deal = Opportunity(
        opportunity_id=0, lead_id=0, customer_id=None, rep=0, rep_region="east",
        rep_strength=1.3, lead_region="east", grade="A", budget_band="large",
        industry="lab", product_line="lab", site_type="office", opened=0.0,
        demo_video_completion=0.5, poc_revisions=0, requirement_change_rate=1.0,
        custom_development=False, visit_slip_days=1.0, value_cents=100, expected_amount=1.0,
    )  # fmt: skip
    odds = 1.6 * 0.7 * 1.3  # grade A, large band, strength 1.3 (base odds 1)
    assert pipe.advance_probability(deal, 0) == pytest.approx(odds / (1 + odds))
    low = odds * 0.4  # demo completion 50% < 60% after need diagnosis
    assert pipe.advance_probability(deal, 1) == pytest.approx(low / (1 + low))
    assert pipe.stage_hours(deal, 10.0) == pytest.approx(10 * 1.4 * 0.85 / 1.3**0.5 * 24)


def test_a_stage_given_in_part_keeps_its_other_defaults():
    scenario = load_scenario(DEMO, ["process.stages.kickoff.advance=0.5"])
    stages = scenario.process.stages
    assert list(stages) == list(CHECKPOINTS)
    assert stages["kickoff"].advance == 0.5
    assert stages["kickoff"].duration_days.mean == 4.0  # the kickoff default
    assert stages["need_diagnosis"].advance == 0.7
    with pytest.raises(ConfigError, match=r"process\.stages: unknown checkpoint\(s\) 'signing'"):
        load_scenario(DEMO, ["process.stages.signing.advance=0.5"])
