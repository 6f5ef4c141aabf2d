"""Calibration: fitted numbers against the known truth of the synthetic export."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import SCENARIOS
from sim.cli.main import main
from sim.history.calibrate import fit, fit_arrivals, fit_duration
from sim.history.importer import import_export, write_import
from sim.history.mapping import load_mapping_spec
from sim.history.scenario_writer import scenario_yaml
from sim.history.synthetic_export import SampleTruth, make_sample
from sim.world.loading import load_scenario
from sim.world.scenario import PoissonArrivals, ReplayArrivals


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """The synthetic export imported into a data folder, and the truth it was drawn from."""
    root = tmp_path_factory.mktemp("cal")
    manifest = make_sample(root / "export")
    result = import_export(root / "export", load_mapping_spec(SCENARIOS / "mappings/sample.yaml"))
    write_import(result, root / "data")
    return root / "data", manifest["truth"]


@pytest.fixture(scope="module")
def calibration(imported):
    """The fit of the imported sample."""
    return fit(imported[0])


def test_channel_mix_matches_the_truth(calibration, imported):
    truth = imported[1]
    mix = calibration.mixes["channels"]
    assert sum(mix.values()) == pytest.approx(1, abs=1e-3)
    names = {"Web Form": "web_form", "Douyin": "douyin", "Trade Show": "trade_show"}
    for source, share in truth["channels"].items():
        if source in names:
            assert mix[names[source]] == pytest.approx(share, abs=0.03)


def test_arrival_rate_profile_and_trend(calibration, imported):
    truth = imported[1]
    a = calibration.arrivals
    per_week = a.leads / a.days * 7
    # the import quarantined 24 of ~1,800 leads; the rate is within 5% of the truth
    assert per_week == pytest.approx(truth["leads_per_week"], rel=0.05)
    assert a.weekday[5] < 0.3 and a.weekday[6] < 0.3  # weekends are quiet
    assert np.argmax(a.hour) in range(9, 17)  # office hours
    assert a.exact_share > 0.95
    assert 0 < a.trend_per_month < 0.25  # truth: +10% per month
    assert 0.5 < a.dispersion < 1.6  # Poisson data: chi-square/df near 1
    assert a.hour_ks < 0.05


def test_cycle_time_fit_recovers_the_lognormal(calibration, imported):
    truth = imported[1]
    cycle = calibration.cycle
    assert cycle.chosen == "lognormal"
    assert np.median(cycle.sample) == pytest.approx(truth["cycle_median_days"], rel=0.15)
    assert cycle.ks < 0.08
    assert cycle.candidates["exponential"]["ks"] > cycle.ks


def test_win_rates_and_payment_delays(calibration, imported):
    truth = imported[1]
    rates = calibration.win_rate_by_channel
    assert rates["referral"] > rates["web_form"] > rates["douyin"]
    assert rates["referral"] == pytest.approx(truth["win_probability"]["Referral"], abs=0.08)
    assert calibration.late_share == pytest.approx(truth["late_share"], abs=0.08)
    assert calibration.payment_delay.sample.mean() == pytest.approx(
        truth["late_mean_days"], rel=0.3
    )
    reps = calibration.reps.set_index("rep_id")
    assert reps["won"].sum() == len(calibration.cycle.sample)
    assert reps["close_cycle_days"].between(8, 35).all()


def test_fit_duration_on_known_samples():
    rng = np.random.Generator(np.random.PCG64(11))
    lognormal = fit_duration("x", rng.lognormal(np.log(10), 0.8, 3000))
    assert lognormal.chosen == "lognormal"
    assert lognormal.spec["mean"] == pytest.approx(10 * np.exp(0.32), rel=0.05)
    expo = fit_duration("x", rng.exponential(5.0, 3000))
    assert expo.candidates["exponential"]["ks"] < 0.03
    assert expo.spec["mean"] == pytest.approx(5.0, rel=0.05)
    assert fit_duration("x", np.array([1.0, 2.0])).chosen is None  # too few


def test_date_only_arrivals_fit_no_hour_of_week(imported):
    import pandas as pd

    leads = pd.read_parquet(imported[0] / "leads.parquet").assign(arrived_date_only=True)
    a = fit_arrivals(leads)
    assert np.isnan(a.hour_ks)


def test_written_scenario_loads_and_states_its_sources(calibration, tmp_path):
    path = tmp_path / "fitted.yaml"
    path.write_text(scenario_yaml(calibration, "fitted"))
    scenario = load_scenario(path)
    assert isinstance(scenario.arrivals, PoissonArrivals)
    # the rate at the end of the fitted window (the chosen arrival model), not the mean
    assert scenario.arrivals.leads_per_month == pytest.approx(
        calibration.arrivals.rate_at_end, rel=1e-3
    )
    assert len(scenario.team.members()) == 8
    assert scenario.team.members()[0].id == "001"
    text = path.read_text()
    phrases = ("# Arrivals:", "# Arrival model:", "Cross-validation", "Weekday profile")
    phrases += ("Cycle time", "Win rate", "KS", "Payments", "Win rate among closed deals")
    for phrase in phrases:
        assert phrase in text


def test_cli_calibrate_with_replay_resolves_relative_to_the_file(imported, tmp_path, capsys):
    out = tmp_path / "scen" / "fitted.yaml"
    assert main(["calibrate", str(imported[0]), "--out", str(out), "--replay"]) == 0
    assert "wrote" in capsys.readouterr().out
    scenario = load_scenario(out)
    assert isinstance(scenario.arrivals, ReplayArrivals)
    assert scenario.arrivals.replay.resolve() == (imported[0] / "leads.parquet").resolve()
    assert 'replay: "../' in out.read_text()


def test_cli_calibrate_bad_arguments(imported, tmp_path, capsys):
    assert main(["calibrate", str(imported[0]), "--out", str(tmp_path / "x.txt")]) == 2
    assert "expected a .yaml file" in capsys.readouterr().err
    assert main(["calibrate", str(tmp_path), "--out", str(tmp_path / "x.yaml")]) == 2
    assert "no import_report.json" in capsys.readouterr().err


def test_sample_truth_is_the_default():
    assert SampleTruth().defects["date_only"] == 40


def test_calibration_is_byte_identical(imported, tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    assert main(["calibrate", str(imported[0]), "--out", str(a)]) == 0
    assert main(["calibrate", str(imported[0]), "--out", str(b), "--name", "a"]) == 0
    assert a.read_bytes() == b.read_bytes()


def test_reps_with_deals_missing_from_the_reps_table_are_kept_and_named(imported, tmp_path):
    import shutil

    import pandas as pd

    data = tmp_path / "data"
    shutil.copytree(imported[0], data)
    reps = pd.read_parquet(data / "reps.parquet")
    opps = pd.read_parquet(data / "opportunities.parquet")
    top = opps.loc[opps["outcome"] == "won", "rep_id"].value_counts().index[0]  # top seller
    reps[reps["rep_id"] != top].to_parquet(data / "reps.parquet")
    cal = fit(data)
    row = cal.reps.set_index("rep_id").loc[top]
    assert row["won"] == (opps.loc[opps["outcome"] == "won", "rep_id"] == top).sum()
    assert not row["in_reps_table"] and row["deals"] == (opps["rep_id"] == top).sum()
    assert [n for n in cal.notes if "missing from the reps table" in n and top in n]
    path = tmp_path / "fitted.yaml"
    path.write_text(scenario_yaml(cal, "fitted"))
    assert "# NOTE: 1 rep(s) with deals are missing" in path.read_text()
    assert top in {m.id for m in load_scenario(path).team.members()}
    assert len(load_scenario(path).team.members()) == 8


def test_deal_only_export_with_open_deals_calibrates_with_censoring(tmp_path):
    import json

    from test_censored_fits import _deal_export

    tables, report = _deal_export(np.random.Generator(np.random.PCG64(2)))
    tables["leads"]["channel"] = "web_form"
    for name, frame in tables.items():
        frame.to_parquet(tmp_path / f"{name}.parquet")
    report |= {"mapping": "deals", "derived_leads": True}
    (tmp_path / "import_report.json").write_text(json.dumps(report))
    cal = fit(tmp_path)
    d = cal.deals
    assert d.n_open > 0.35 * d.n and d.unit == "deal"
    assert cal.win_rate == pytest.approx(d.win_probability) == pytest.approx(0.3, rel=0.05)
    assert cal.cycle_target_days == pytest.approx(d.cycle_mean_days)
    assert cal.cycle_target_days == pytest.approx(25 * np.exp(0.125), rel=0.1)
    assert len(cal.cycle.censored) > 0.3 * d.n  # the cycle fit used the open deals
    assert d.win_rate_closed == pytest.approx(d.n_won / (d.n_won + d.n_lost))
    assert cal.reps["rep_id"].tolist() == ["r1"] and cal.notes == []
    text = scenario_yaml(cal, "deals")
    assert "Win rate among closed deals" in text and f"{d.n_open} open" in text
