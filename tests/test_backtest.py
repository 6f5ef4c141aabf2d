"""Backtests: replay of a held-out period under two policies; held-out calibration check."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from conftest import POLICIES, SCENARIOS
from sim.cli.main import main
from sim.errors import ConfigError
from sim.history.backtest import CHECK_COLUMNS, backtest, observed_measures, read_check, split_day
from sim.history.backtest_splits import SUMMARY_LABEL, split_errors, splits
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
def with_process(prepared, tmp_path_factory):
    """The scenario ``python -m sim calibrate`` writes for the sample: with a deal-stage
    model (its fit is checked elsewhere; here only that it runs)."""
    data, _ = prepared
    fitted = tmp_path_factory.mktemp("cal") / "with_process.yaml"
    main(["calibrate", str(data), "--out", str(fitted)])  # exit 3 if the fit missed: fine
    assert fitted.is_file()
    return fitted


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
    assert "held out 14 days" in printed and "checks within the 95% prediction band" in printed
    summary = json.loads((out / "backtest.json").read_text())
    assert summary["holdout_days"] == 14
    assert {p.name for p in out.iterdir()} == {
        "comparison.csv",
        "replications.csv",
        "calibration_check.csv",
        "split_errors.csv",
        "backtest.json",
    }
    # The sample says who won each deal: the historical assignment is the default
    # baseline, and both policies are named by name and file, on screen and in the files.
    assert "historical: historical assignment (scenarios/policies/historical_assignment.yaml)" in (
        printed
    )
    assert "candidate: source_defaults (scenarios/policies/source_defaults.yaml)" in printed
    assert summary["policies"] == [
        {
            "label": "historical",
            "name": "historical assignment",
            "file": "scenarios/policies/historical_assignment.yaml",
        },
        {
            "label": "candidate",
            "name": "source_defaults",
            "file": "scenarios/policies/source_defaults.yaml",
        },
    ]
    assert summary["assignment"]["with_historical_rep"] > 0
    assert "went to the rep who really got them" in printed


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--holdout-days", "0"], "must be >= 1"),
        (["--holdout-days", "9999"], "holdout_days: must be in"),
        (["--candidate", "nowhere.yaml"], "file not found"),
        (["--split-date", "2099-01-01"], "split_date: 2099-01-01 must be after the first"),
        (["--split-date", "2025-02-17", "--splits", "9"], "leave no training day"),
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


def test_a_fitted_deal_stage_model_is_checked_against_real_wins(prepared, with_process):
    data, _ = prepared
    scenario = load_scenario(with_process)
    assert scenario.process is not None
    policy = load_policy(POLICIES / "no_sla.yaml")
    result = backtest(
        data, scenario, policy, policy, holdout_days=14, replications=3, seed=5, labels=("a", "b")
    )
    check = result.check.set_index("measure")
    row = check.loc["won_within_period_share"]
    assert 0 < row["real"] < 0.5 and 0 < row["simulated_mean"] < 0.5
    # followed to the snapshot, more of the held-out leads' deals have closed, both sides
    later = check.loc["won_share"]
    assert later["real"] > row["real"] and later["simulated_mean"] > row["simulated_mean"]
    # Without a process model there is nothing to compare deals with.
    _, plain = prepared
    assert "won_within_period_share" not in set(
        backtest(
            data, plain, policy, policy, holdout_days=14, replications=2, seed=5, labels=("a", "b")
        ).check["measure"]
    )


def test_the_cli_prints_every_check_of_the_written_table(prepared, with_process, tmp_path, capsys):
    """The console and the report list the same checks: both are made from the written
    calibration_check.csv, won share included."""
    from sim.reports.backtest_reading import check_rows

    data, _ = prepared
    out = tmp_path / "bt"
    argv = ["backtest", str(data), "--scenario", str(with_process), "--holdout-days", "10"]
    assert main([*argv, "--splits", "2", "--replications", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    check = read_check(out)
    assert "won_within_period_share" in set(check["measure"])
    assert len(check) == 2 * check["measure"].nunique()
    lines = [line for line in printed.splitlines() if "  real " in line]
    console = [(line.split("  real ")[0].strip(), line.split()[-1]) for line in lines]
    assert console == [
        (m, "within" if w else "OUTSIDE")
        for m, w in zip(check["measure"], check["within"], strict=True)
    ]
    report = check_rows(check, "en")
    assert list(report["measure_id"]) == list(check["measure"])
    assert list(report["within"]) == list(check["within"])
    assert report["split"].nunique() == check["split"].nunique() == 2


def test_rolling_splits_hold_out_consecutive_periods():
    days = pd.date_range("2025-01-01", periods=200, freq="D")
    leads = pd.DataFrame({"arrived": days + pd.Timedelta(hours=10)})
    chosen = splits(leads, 30, count=3)
    assert [s.days for s in chosen] == [30, 30, 30]
    assert chosen[-1].end == pd.Timestamp("2025-07-20")  # the day after the last arrival
    assert all(a.end == b.origin for a, b in itertools.pairwise(chosen))
    # default: 60 days when the earliest origin keeps 120 days of training, else shorter
    assert [s.days for s in splits(leads)] == [60]
    assert [s.days for s in splits(leads, count=2)] == [40, 40]
    with pytest.raises(ConfigError, match=r"holdout_days: must be in 1\.\.66 .* and 3 splits"):
        splits(leads, 67, count=3)


def test_split_date_sets_the_last_origin():
    days = pd.date_range("2025-01-01", periods=100, freq="D")
    leads = pd.DataFrame({"arrived": days + pd.Timedelta(hours=10)})
    (only,) = splits(leads, split_date="2025-03-01")
    assert (only.origin, only.end) == (pd.Timestamp("2025-03-01"), pd.Timestamp("2025-04-11"))
    first, last = splits(leads, 14, count=2, split_date="2025-03-01")
    assert (first.origin, last.origin, last.end) == (
        pd.Timestamp("2025-02-15"),
        pd.Timestamp("2025-03-01"),
        pd.Timestamp("2025-03-15"),
    )
    for bad, message in [
        ("2024-12-01", "split_date: 2024-12-01 must be after the first observed day"),
        ("2025-03-01 10:00", "without a time"),
        ("soon", "not a date"),
    ]:
        with pytest.raises(ConfigError, match=message):
            splits(leads, split_date=bad)
    with pytest.raises(ConfigError, match="leave no training day"):
        splits(leads, 30, count=3, split_date="2025-02-20")


def test_split_errors_table_has_a_mean_absolute_error_row():
    rows = []
    for split, errors in (("2025-01-01", (0.10, -0.30)), ("2025-02-01", (-0.20, 0.10))):
        for measure, error, within in zip(
            ("leads", "weekend_share"), errors, (True, False), strict=True
        ):
            rows.append((split, 31, measure, 1.0, 1 + error, 0, 2, error, within))
    check = pd.DataFrame(
        rows,
        columns=list(CHECK_COLUMNS),
    )
    table = split_errors(check).set_index("split")
    assert list(table.index) == ["2025-01-01", "2025-02-01", SUMMARY_LABEL]
    assert table.loc["2025-01-01", "leads"] == pytest.approx(0.10)
    assert table.loc["2025-01-01", "mean_abs_error"] == pytest.approx(0.20)
    assert table.loc[SUMMARY_LABEL, "leads"] == pytest.approx(0.15)
    assert table.loc[SUMMARY_LABEL, "weekend_share"] == pytest.approx(0.20)
    assert table.loc[SUMMARY_LABEL, "within"] == 2 and table.loc[SUMMARY_LABEL, "checks"] == 4


def test_split_date_backtest_checks_that_window(prepared):
    data, scenario = prepared
    leads = pd.read_parquet(data / "leads.parquet")
    policy = load_policy(POLICIES / "no_sla.yaml")
    result = backtest(
        data,
        scenario,
        policy,
        policy,
        split_date="2025-02-03",
        holdout_days=7,
        replications=2,
        seed=1,
        labels=("a", "b"),
    )
    window = leads[(leads["arrived"] >= "2025-02-03") & (leads["arrived"] < "2025-02-10")]
    assert result.split == pd.Timestamp("2025-02-03") and result.holdout_days == 7
    assert result.replayed_leads == len(window) > 0
    check = result.check.set_index("measure")
    assert check.loc["leads", "real"] == len(window)
    assert set(result.check["split"]) == {"2025-02-03"}
    assert result.summary()["training_leads"] == int((leads["arrived"] < "2025-02-03").sum())


def test_incomplete_days_at_the_end_are_not_held_out():
    """A truncated export: the last two days hold a tenth of a day's leads.  The held-out
    period ends before them, rather than counting them as a collapse of arrivals."""
    from sim.history.backtest import _complete

    rng = np.random.default_rng(0)
    days = pd.date_range("2025-01-01", periods=150, freq="D")
    counts = rng.poisson(40, len(days))
    counts[-2:] = [4, 3]
    hours = pd.to_timedelta(rng.uniform(9, 18, counts.sum()), "h")
    leads = pd.DataFrame({"arrived": np.repeat(days, counts) + hours, "channel": "web_form"})
    kept, tail = _complete(leads)
    assert tail == {"days": 2, "from": "2025-05-29", "leads": 7}
    assert kept["arrived"].max() < pd.Timestamp("2025-05-29")
    (last,) = splits(kept, 30)
    assert last.end == pd.Timestamp("2025-05-29")
