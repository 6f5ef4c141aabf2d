"""Backtests: replay of a held-out period under two policies; held-out calibration check."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import POLICIES, SCENARIOS
from sim.cli.main import main
from sim.errors import ConfigError
from sim.history.backtest import backtest, observed_measures, split_day
from sim.history.calibrate import fit
from sim.history.importer import import_export, write_import
from sim.history.mapping import load_mapping_spec
from sim.history.scenario_writer import scenario_yaml
from sim.history.synthetic_export import SampleTruth, make_sample
from sim.world.loading import load_policy, load_scenario

MAPPING = SCENARIOS / "mappings" / "sample.yaml"


def _prepare(root, truth: SampleTruth | None = None):
    make_sample(root / "export", truth=truth)
    write_import(import_export(root / "export", load_mapping_spec(MAPPING)), root / "data")
    path = root / "fitted.yaml"
    path.write_text(scenario_yaml(fit(root / "data"), "fitted"))
    return root / "data", load_scenario(path)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """Imported sample (flat trend) and a scenario calibrated to it."""
    truth = SampleTruth(trend_per_month=0.0, weeks=8)
    data, scenario = _prepare(tmp_path_factory.mktemp("bt"), truth)
    # two of the eight reps: a team short enough that untouched leads meet the breaker
    team = scenario.team.model_copy(update={"reps": scenario.team.reps[:2]})
    return data, scenario.model_copy(update={"team": team})


@pytest.fixture(scope="module")
def result(prepared):
    """A backtest of the sample: no SLA breaker vs the source's 2 h / 4 h breaker."""
    data, scenario = prepared
    return backtest(
        data,
        scenario,
        load_policy(POLICIES / "no_sla.yaml"),
        load_policy(POLICIES / "source_defaults.yaml"),
        holdout_days=14,
        replications=3,
        seed=5,
    )


def test_split_is_the_last_quarter_by_default():
    leads = pd.DataFrame({"arrived": pd.to_datetime(["2025-01-01 10:00", "2025-04-10 09:00"])})
    split, days = split_day(leads, None)
    assert days == 100 // 4
    assert split == pd.Timestamp("2025-04-11") - pd.Timedelta(days=25)
    with pytest.raises(ConfigError, match="holdout_days"):
        split_day(leads, 100)


def test_replay_runs_the_real_held_out_leads_under_both_policies(prepared, result):
    data, _ = prepared
    leads = pd.read_parquet(data / "leads.parquet")
    held = leads[leads["arrived"] >= result.split]
    assert result.replayed_leads == len(held) > 150
    frame = result.replay_frame
    assert set(frame["policy"]) == {"historical", "candidate"}
    assert (frame["leads_arrived"] == len(held)).all()  # the same real leads, every run
    diff = result.differences.set_index("kpi")
    # the breaker only acts under the candidate: reminders appear, never under no_sla
    assert diff.loc["sla_reminders", "baseline_mean"] == 0
    assert diff.loc["sla_reminders", "candidate_mean"] > 0
    assert diff.loc["sla_reminders", "verdict"] == "worse"  # more reminders: a cost


def test_calibration_check_on_stationary_data_is_within(result):
    check = result.check.set_index("measure")
    assert check.loc["leads", "within"]
    assert check.loc["leads_per_week", "within"]
    real_shares = check[check.index.str.startswith("share:")]["real"]
    assert real_shares.sum() == pytest.approx(1.0)
    assert check["within"].mean() >= 0.75


def test_calibration_check_catches_a_changed_rate(prepared, tmp_path):
    data, scenario = prepared
    leads = pd.read_parquet(data / "leads.parquet")
    split, _ = split_day(leads, 14)
    held = leads[leads["arrived"] >= split]
    extra = held.assign(
        lead_id=held["lead_id"] + "x", arrived=held["arrived"] + pd.Timedelta(1, "s")
    )
    tripled = pd.concat([leads, extra, extra.assign(lead_id=extra["lead_id"] + "y")])
    (tmp_path / "data").mkdir()
    tripled.sort_values("arrived").to_parquet(tmp_path / "data" / "leads.parquet", index=False)
    policy = load_policy(POLICIES / "no_sla.yaml")
    changed = backtest(tmp_path / "data", scenario, policy, policy, holdout_days=14, replications=3)
    check = changed.check.set_index("measure")
    assert not check.loc["leads", "within"]
    assert check.loc["leads", "real"] == 3 * len(held)


def test_backtest_is_deterministic(prepared, result):
    data, scenario = prepared
    again = backtest(
        data,
        scenario,
        load_policy(POLICIES / "no_sla.yaml"),
        load_policy(POLICIES / "source_defaults.yaml"),
        holdout_days=14,
        replications=3,
        seed=5,
    )
    pd.testing.assert_frame_equal(result.replay_frame, again.replay_frame)
    pd.testing.assert_frame_equal(result.check, again.check)


def test_prediction_bands_stay_within_what_a_measure_can_be(result):
    check = result.check.set_index("measure")
    assert (check["band_low"] >= 0).all()
    shares = check[[m.startswith("share:") or m.endswith("_share") for m in check.index]]
    assert len(shares) and (shares["band_high"] <= 1).all()


def test_observed_measures():
    leads = pd.DataFrame(
        {
            "arrived": pd.to_datetime(["2025-01-04 10:00", "2025-01-06 10:00", "2025-01-07 10:00"]),
            "channel": ["a", "a", "b"],
        }
    )
    m = observed_measures(leads, 14, ["a", "b", "c"])
    assert m["leads"] == 3 and m["leads_per_week"] == 1.5
    assert m["weekend_share"] == pytest.approx(1 / 3)
    assert (m["share:a"], m["share:c"]) == (pytest.approx(2 / 3), 0.0)


def test_cli_backtest_writes_tables(prepared, tmp_path, capsys):
    data, _ = prepared
    scenario = tmp_path / "fitted.yaml"
    scenario.write_text(scenario_yaml(fit(data), "fitted"))
    out = tmp_path / "bt"
    argv = ["backtest", str(data), "--scenario", str(scenario), "--holdout-days", "14"]
    assert main([*argv, "--replications", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "held out 14 days" in printed and "calibration check:" in printed
    summary = json.loads((out / "backtest.json").read_text())
    assert summary["holdout_days"] == 14
    assert {p.name for p in out.iterdir()} == {
        "comparison.csv",
        "replications.csv",
        "calibration_check.csv",
        "backtest.json",
    }


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--holdout-days", "0"], "must be >= 1"),
        (["--holdout-days", "9999"], "holdout_days: must be in"),
        (["--candidate", "nowhere.yaml"], "file not found"),
    ],
)
def test_cli_backtest_bad_arguments(prepared, tmp_path, capsys, extra, message):
    data, _ = prepared
    scenario = tmp_path / "fitted.yaml"
    scenario.write_text(scenario_yaml(fit(data), "fitted"))
    assert main(["backtest", str(data), "--scenario", str(scenario), *extra]) == 2
    assert message in capsys.readouterr().err


def test_won_within_period_share_counts_only_wins_inside_the_period():
    from sim.history.backtest import won_within_share

    leads = pd.DataFrame({"lead_id": [1, 2, 3, 4]})
    start, end = pd.Timestamp("2026-03-01"), pd.Timestamp("2026-03-29")
    won_at = pd.Series(pd.to_datetime(["2026-03-05", "2026-04-02", "2026-02-20"]), index=[1, 2, 3])
    assert won_within_share(leads, won_at, start, end) == 0.25


def test_a_fitted_deal_stage_model_is_checked_against_real_wins(prepared, tmp_path):
    data, _ = prepared
    fitted = tmp_path / "with_process.yaml"
    assert main(["calibrate", str(data), "--out", str(fitted)]) == 0
    scenario = load_scenario(fitted)
    assert scenario.process is not None
    policy = load_policy(POLICIES / "no_sla.yaml")
    result = backtest(
        data, scenario, policy, policy, holdout_days=14, replications=3, seed=5, labels=("a", "b")
    )
    row = result.check.set_index("measure").loc["won_within_period_share"]
    assert 0 < row["real"] < 0.5 and 0 < row["simulated_mean"] < 0.5
    # Without a process model there is nothing to compare deals with.
    _, plain = prepared
    assert "won_within_period_share" not in set(
        backtest(
            data, plain, policy, policy, holdout_days=14, replications=2, seed=5, labels=("a", "b")
        ).check["measure"]
    )
