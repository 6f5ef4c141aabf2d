"""Intake: the channel -> attribute mapping and the required-field switch (DOMAIN.md 1.2).

Pure unit tests of :class:`policies.intake.Intake`, the scenario's per-channel
probabilities, and the source's failure reproduced end to end: a new channel ``douyin``
whose leads never carry a Timeline, a policy that requires Timeline and has no douyin
mapping.  The leads are all dropped, A-leads fall, and the workbench says so loudly.
"""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from conftest import POLICIES, ROOT, SCENARIOS, tiny_scenario_dict
from policies.intake import INTAKE_FIELDS, Intake, IntakeParams
from sim import ConfigError, kpis, load_policy, load_scenario, run
from sim.cli.main import main
from sim.engine.intake import INTAKE_COUNT_COLUMNS, intake_counts
from sim.engine.lead_factory import MISSABLE_FIELDS
from sim.engine.result import INTAKE_COLUMNS
from sim.world.scenario import Scenario

NAIVE = POLICIES / "naive_required_timeline.yaml"
MAPPED = POLICIES / "channel_mapping.yaml"
DOUYIN_NO_TIMELINE = "leads.by_channel={douyin: {timeline_known: 0.0}}"


def lead(channel: str = "douyin", timeline_days: float | None = None) -> SimpleNamespace:
    return SimpleNamespace(channel=channel, timeline_days=timeline_days)


# -- the pure Intake -------------------------------------------------------------------


def test_default_params_admit_everything_unchanged():
    params = IntakeParams()
    assert not params.active
    outcome = Intake(params).admit(lead())
    assert outcome.admitted and not outcome.filled and outcome.defaulted == ()
    assert outcome.reason_code == -1


def test_missing_field_gets_its_channels_default_and_the_lead_is_not_mutated():
    intake = Intake(IntakeParams(channel_defaults={"douyin": {"timeline_days": 30}}))
    raw = lead()
    outcome = intake.admit(raw)
    assert outcome.admitted and dict(outcome.filled) == {"timeline_days": 30}
    assert outcome.defaulted == ("timeline_days",)
    assert raw.timeline_days is None  # admit decides; the engine applies
    # A present value is kept; another channel's default does not apply.
    assert not intake.admit(lead(timeline_days=200.0)).filled
    assert not intake.admit(lead("web_form")).filled


def test_required_field_missing_without_default_drops_the_lead():
    intake = Intake(IntakeParams(required_fields=["timeline_days"]))
    outcome = intake.admit(lead())
    assert not outcome.admitted
    assert outcome.dropped_reason == "missing:timeline_days"
    assert outcome.reason_code == INTAKE_FIELDS.index("timeline_days") == 0
    assert not outcome.filled  # a dropped lead is not defaulted
    assert intake.admit(lead(timeline_days=12.0)).admitted


def test_required_field_with_a_channel_default_is_defaulted_not_dropped():
    params = IntakeParams(
        required_fields=["timeline_days"], channel_defaults={"douyin": {"timeline_days": 30}}
    )
    intake = Intake(params)
    assert intake.admit(lead()).filled == {"timeline_days": 30}
    assert intake.admit(lead("webinar")).dropped_reason == "missing:timeline_days"
    assert params.default_for("douyin", "timeline_days") == 30
    assert params.default_for("webinar", "timeline_days") is None


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"required_fields": ["budget"]}, "unknown field 'budget'"),
        ({"required_fields": ["timeline_days", "timeline_days"]}, "listed twice"),
        ({"channel_defaults": {"douyin": {"timeline": 30}}}, "Extra inputs"),
        ({"channel_defaults": {"douyin": {"timeline_days": -1}}}, "greater than or equal"),
        ({"strict": True}, "Extra inputs"),
    ],
)
def test_bad_intake_blocks_are_rejected(block, message):
    with pytest.raises(ValidationError, match=message):
        IntakeParams.model_validate(block)


def test_bad_intake_in_a_policy_file_names_the_field(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("intake:\n  required_fields: [budget]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"p\.yaml: intake\.required_fields: unknown field"):
        load_policy(path)


def test_intake_fields_are_the_fields_the_generator_can_leave_missing():
    assert set(INTAKE_FIELDS) == set(MISSABLE_FIELDS)


# -- the scenario side: per-channel probabilities ------------------------------------------


def test_by_channel_must_name_a_channel_of_the_mix():
    data = tiny_scenario_dict(leads={"channels": {"web": 1}, "by_channel": {"douyin": {}}})
    with pytest.raises(ValidationError, match="by_channel names channel 'douyin'"):
        Scenario.model_validate(data)
    data["leads"]["by_channel"] = {"web": {"timeline_knwn": 0.5}}
    with pytest.raises(ValidationError, match="timeline_knwn"):
        Scenario.model_validate(data)
    data["leads"]["by_channel"] = {"web": {"trial": 1.5}}
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        Scenario.model_validate(data)


def test_by_channel_changes_only_that_channels_thresholds_on_the_same_draws():
    plain = load_scenario(SCENARIOS / "baseline.yaml", ["horizon_days=3"])
    douyin = load_scenario(SCENARIOS / "baseline.yaml", ["horizon_days=3", DOUYIN_NO_TIMELINE])
    a, b = run(plain, None, 4).arrivals, run(douyin, None, 4).arrivals
    assert a[["lead_id", "arrived_t", "channel", "region"]].equals(
        b[["lead_id", "arrived_t", "channel", "region"]]
    )
    is_douyin = b["channel"] == "douyin"
    assert b.loc[is_douyin, "timeline_days"].isna().all()
    assert a.loc[is_douyin, "timeline_days"].notna().any()
    # Other channels: bit-identical leads (same uniforms, same thresholds).
    pd.testing.assert_frame_equal(a[~is_douyin], b[~is_douyin])


def test_by_channel_equal_to_the_global_probabilities_changes_nothing():
    base = ["horizon_days=2"]
    same = "leads.by_channel={douyin: {timeline_known: 0.85, trial: 0.3, authority: 0.5}}"
    a = run(load_scenario(SCENARIOS / "baseline.yaml", base), None, 1)
    b = run(load_scenario(SCENARIOS / "baseline.yaml", [*base, same]), None, 1)
    pd.testing.assert_frame_equal(a.leads, b.leads)
    pd.testing.assert_frame_equal(a.events, b.events)


def test_no_intake_policy_drops_and_defaults_nothing():
    result = run(load_scenario(SCENARIOS / "baseline.yaml", ["horizon_days=2"]), None, 2)
    assert set(INTAKE_COLUMNS) <= set(result.leads.columns)
    assert result.leads["dropped_reason"].isna().all()
    assert result.leads["defaulted_fields"].isna().all()
    assert not (result.events["kind"] == "lead_dropped").any()
    assert not any("mapping" in w for w in result.warnings)
    assert intake_counts(result).empty
    assert list(intake_counts(result).columns) == list(INTAKE_COUNT_COLUMNS)
    values = kpis(result)
    assert values["leads_dropped"] == values["leads_defaulted"] == values["dropped_share"] == 0


# -- the source's failure, reproduced ------------------------------------------------------


@pytest.fixture(scope="module")
def douyin_world() -> Scenario:
    """Baseline for a week, with a new channel douyin whose leads never carry a Timeline."""
    return load_scenario(SCENARIOS / "baseline.yaml", ["horizon_days=7", DOUYIN_NO_TIMELINE])


@pytest.fixture(scope="module")
def naive(douyin_world):
    return run(douyin_world, load_policy(NAIVE), 11)


@pytest.fixture(scope="module")
def mapped(douyin_world):
    """The naive rule set plus the one missing line: douyin -> Timeline 30 days."""
    return run(
        douyin_world,
        load_policy(NAIVE, ["intake.channel_defaults.douyin.timeline_days=30"]),
        11,
    )


def _routed_ids(result) -> set[int]:
    ev = result.events
    return set(ev.loc[ev["kind"].isin(["lead_assigned", "lead_pooled"]), "lead_id"])


def _routed_a_leads(result, by: str) -> pd.Series:
    leads = result.leads
    routed = leads[leads["dropped_reason"].isna() & (leads["grade"] == "A")]
    return routed.groupby(by).size()


def test_every_douyin_lead_is_dropped_and_never_routed(naive):
    leads = naive.leads
    douyin = leads[leads["channel"] == "douyin"]
    assert len(douyin) > 100
    assert (douyin["dropped_reason"] == "missing:timeline_days").all()
    assert leads.loc[leads["channel"] != "douyin", "dropped_reason"].isna().all()
    assert not set(douyin["lead_id"]) & _routed_ids(naive)
    assert douyin["first_rep"].isna().all() and douyin["first_touch_t"].isna().all()
    dropped_events = naive.events[naive.events["kind"] == "lead_dropped"]
    assert sorted(dropped_events["lead_id"]) == sorted(douyin["lead_id"])
    assert (dropped_events["value"] == 0).all()  # INTAKE_FIELDS index of timeline_days


def test_same_arrivals_under_both_rule_sets(naive, mapped):
    drawn = ["lead_id", "arrived_t", "channel", "region", "need", "budget_confirmed", "trial"]
    pd.testing.assert_frame_equal(naive.leads[drawn], mapped.leads[drawn])
    other = naive.leads["channel"] != "douyin"
    pd.testing.assert_frame_equal(naive.arrivals[other], mapped.arrivals[other])


def test_the_mapping_defaults_douyin_timelines_and_they_earn_their_points(naive, mapped):
    douyin = mapped.leads[mapped.leads["channel"] == "douyin"].set_index("lead_id")
    assert (douyin["defaulted_fields"] == "timeline_days").all()
    assert (douyin["timeline_days"] == 30).all()
    assert douyin["dropped_reason"].isna().all()
    # Scored after intake: each douyin lead scores exactly the timeline points more than
    # the same lead scored without a Timeline in the naive run.
    before = naive.leads.set_index("lead_id").loc[douyin.index, "score"]
    points = mapped.policy.scoring.points.timeline
    assert (douyin["score"] == (before + points).clip(upper=100)).all()
    assert set(douyin.index) <= _routed_ids(mapped)


def test_a_leads_fall_by_channel_and_by_region(naive, mapped):
    lost = _routed_a_leads(mapped, "channel").get("douyin", 0)
    assert lost > 10
    assert _routed_a_leads(naive, "channel").get("douyin", 0) == 0
    others = _routed_a_leads(mapped, "channel").drop("douyin")
    pd.testing.assert_series_equal(others, _routed_a_leads(naive, "channel"))
    by_region_naive = _routed_a_leads(naive, "region")
    by_region_mapped = _routed_a_leads(mapped, "region")
    assert (by_region_naive < by_region_mapped).all()
    assert by_region_naive.sum() == by_region_mapped.sum() - lost


def test_the_warning_names_the_channel_and_the_dropped_count(naive, mapped):
    n = int((naive.leads["channel"] == "douyin").sum())
    assert naive.warnings[0] == (
        f"channel 'douyin' has no mapping: {n} leads dropped (missing:timeline_days); "
        "add it to intake.channel_defaults"
    )
    assert not any("mapping" in w for w in mapped.warnings)


def test_intake_counts_show_the_drops_by_channel_and_reason(naive, mapped):
    counts = intake_counts(naive)
    assert list(counts.columns) == list(INTAKE_COUNT_COLUMNS)
    dropped = counts[counts["action"] == "dropped"]
    assert dropped[["channel", "reason"]].values.tolist() == [["douyin", "missing:timeline_days"]]
    n = int((naive.leads["channel"] == "douyin").sum())
    assert dropped["leads"].iloc[0] == n == kpis(naive)["leads_dropped"]
    # Potential grade: the median observed Timeline (within the 90-day window) earns the
    # same points as the 30-day default, so the A-leads lost are the mapped run's.
    assert dropped["a_leads_lost"].iloc[0] == _routed_a_leads(mapped, "channel")["douyin"]
    defaulted = counts[counts["action"] == "defaulted"]
    assert set(defaulted["channel"]) <= {"web_form", "trade_show", "referral", "webinar"}
    assert defaulted["leads"].sum() == kpis(naive)["leads_defaulted"]
    assert kpis(naive)["dropped_share"] == pytest.approx(n / len(naive.leads))
    # Under the mapping, douyin appears among the defaulted, nothing is dropped.
    fixed = intake_counts(mapped)
    assert not (fixed["action"] == "dropped").any()
    assert fixed.set_index("channel").loc["douyin", "leads"] == n


def test_cli_run_prints_the_warning(tmp_path, capsys):
    args = ["run", str(SCENARIOS / "baseline.yaml"), "--policy", str(NAIVE)]
    args += ["--out", str(tmp_path / "o"), "--set", "horizon_days=3"]
    assert main([*args, "--set", DOUYIN_NO_TIMELINE]) == 0
    captured = capsys.readouterr()
    assert "leads_dropped" in captured.out and "dropped_share" in captured.out
    warning = next(line for line in captured.err.splitlines() if "douyin" in line)
    assert warning.startswith("warning: channel 'douyin' has no mapping: ")
    assert "leads dropped (missing:timeline_days)" in warning
    leads = pd.read_parquet(tmp_path / "o" / "leads.parquet")
    assert (leads.loc[leads["channel"] == "douyin", "dropped_reason"].notna()).all()


def test_strict_channels_refuses_to_run_with_exit_2_and_one_line(tmp_path):
    cmd = [sys.executable, "-m", "sim", "run", str(SCENARIOS / "baseline.yaml")]
    cmd += ["--policy", str(NAIVE), "--out", str(tmp_path / "o"), "--set", "horizon_days=1"]
    cmd += ["--set", "policy.intake.strict_channels=true"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "intake.channel_defaults" in lines[0] and "'douyin'" in lines[0]
    assert "Traceback" not in done.stderr and not (tmp_path / "o").exists()


def test_strict_channels_runs_when_every_channel_is_mapped(douyin_world):
    # channel_mapping.yaml has strict_channels on and maps every channel.
    result = run(douyin_world.model_copy(update={"horizon_days": 1.0}), load_policy(MAPPED), 2)
    assert result.leads["dropped_reason"].isna().all()


def test_strict_channels_ignores_channels_that_cannot_miss_the_field():
    data = tiny_scenario_dict(
        leads={
            "channels": {"web": 1, "fair": 1, "old": 0},
            "by_channel": {"fair": {"timeline_known": 1.0}},
        }
    )
    policy = load_policy(
        None,
        [
            "intake.required_fields=[timeline_days]",
            "intake.channel_defaults.web.timeline_days=20",
            "intake.strict_channels=true",
        ],
    )
    result = run(Scenario.model_validate(data), policy, 0)  # fair never misses; old never comes
    assert result.leads["dropped_reason"].isna().all()
    data["leads"]["by_channel"]["fair"]["timeline_known"] = 0.99
    with pytest.raises(ConfigError, match="channel 'fair' has no default for required"):
        run(Scenario.model_validate(data), policy, 0)


def test_a_partial_mapping_warns_about_unmapped_and_unknown_channels():
    data = tiny_scenario_dict(leads={"channels": {"web": 1, "fair": 1}})
    policy = load_policy(
        None,
        ["intake.channel_defaults={web: {timeline_days: 20}, Fair: {timeline_days: 20}}"],
    )
    result = run(Scenario.model_validate(data), policy, 3)
    kept = result.leads.query("channel == 'fair'")["timeline_days"].isna().sum()
    assert result.warnings[:2] == [
        f"channel 'fair' has no mapping for timeline_days: {kept} leads kept without it "
        "(scored as missing)",
        "intake.channel_defaults maps channel 'Fair', which the scenario does not have "
        "(its channels: web, fair)",
    ]
    assert result.leads["dropped_reason"].isna().all()


# -- invariant: every arriving lead is routed or dropped, never both -------------------------


@settings(
    max_examples=25,
    deadline=None,
    database=None,  # leave no .hypothesis folder behind
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    known=st.lists(st.sampled_from([0.0, 0.3, 1.0]), min_size=3, max_size=3),
    mapped=st.lists(st.one_of(st.none(), st.floats(0, 200)), min_size=3, max_size=3),
    required=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_arrived_equals_routed_plus_dropped(known, mapped, required, seed):
    channels = ["a", "b", "c"]
    data = tiny_scenario_dict(
        horizon_days=1,
        leads={
            "channels": dict.fromkeys(channels, 1.0),
            "by_channel": {c: {"timeline_known": k} for c, k in zip(channels, known, strict=True)},
        },
    )
    defaults = {c: {"timeline_days": v} for c, v in zip(channels, mapped, strict=True)}
    policy = load_policy(None).model_copy(
        update={
            "intake": IntakeParams(
                channel_defaults=defaults, required_fields=["timeline_days"] if required else []
            )
        }
    )
    result = run(Scenario.model_validate(data), policy, seed)
    leads, ev = result.leads, result.events
    dropped = set(leads.loc[leads["dropped_reason"].notna(), "lead_id"])
    routed = _routed_ids(result)
    assert len(leads) == (ev["kind"] == "lead_arrived").sum()
    assert len(leads) == len(routed) + len(dropped) and not routed & dropped
    assert dropped == set(ev.loc[ev["kind"] == "lead_dropped", "lead_id"])
    assert kpis(result)["leads_dropped"] == len(dropped)
    # Dropped exactly when required, missing and unmapped; defaulted exactly when mapped.
    unmapped = {c for c, v in zip(channels, mapped, strict=True) if v is None}
    raw_missing = leads["timeline_days"].isna() | leads["defaulted_fields"].notna()
    expect_drop = raw_missing & leads["channel"].isin(unmapped) & required
    assert (leads["dropped_reason"].notna() == expect_drop).all()
    expect_default = raw_missing & ~leads["channel"].isin(unmapped)
    assert (leads["defaulted_fields"].notna() == expect_default).all()
    if not required:
        assert not dropped


def test_dropped_leads_are_not_counted_as_waiting():
    from conftest import POLICIES, SCENARIOS
    from sim import kpis, load_policy, load_scenario, queue_length, run

    scenario = load_scenario(
        SCENARIOS / "baseline.yaml",
        ["horizon_days=7", "leads.by_channel={douyin: {timeline_known: 0}}"],
    )
    result = run(scenario, load_policy(POLICIES / "naive_required_timeline.yaml"), 1)
    k = kpis(result)
    assert k["leads_dropped"] > 0
    untouched = result.leads["first_touch_t"].isna().sum()
    assert k["leads_waiting_at_end"] == untouched - k["leads_dropped"]
    assert queue_length(result)["waiting"].iloc[-1] == k["leads_waiting_at_end"]
