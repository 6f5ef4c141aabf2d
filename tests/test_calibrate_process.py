"""The deal-stage model fitted to imported deals by simulation (sim.history.deal_stage_fit)."""

from __future__ import annotations

import dataclasses

import pytest

from conftest import SCENARIOS
from sim.cli.main import main
from sim.history.calibrate import fit
from sim.history.deal_stage_fit import (
    fit_process,
    neutral_frictions,
    process_block,
    read_fit_report,
)
from sim.history.importer import import_export, write_import
from sim.history.mapping import load_mapping_spec
from sim.history.scenario_writer import scenario_yaml
from sim.history.synthetic_export import make_sample
from sim.world.loading import load_scenario
from sim.world.process_spec import ProcessSpec


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """The synthetic export imported and fitted; the calibrated scenario without process."""
    root = tmp_path_factory.mktemp("calproc")
    make_sample(root / "export")
    result = import_export(root / "export", load_mapping_spec(SCENARIOS / "mappings/sample.yaml"))
    write_import(result, root / "data")
    cal = fit(root / "data")
    path = root / "fitted.yaml"
    path.write_text(scenario_yaml(cal, "fitted"), encoding="utf-8")
    return root, cal, load_scenario(path)


@pytest.mark.slow
def test_fit_reproduces_the_win_rate_and_the_mean_cycle(calibrated):
    _, cal, scenario = calibrated
    result = fit_process(scenario, cal)
    assert result is not None and result.converged
    assert result.simulated_win_rate == pytest.approx(cal.win_rate, rel=0.05)
    assert result.simulated_cycle_mean == pytest.approx(result.target_cycle_mean, rel=0.05)
    assert result.cycle_ks < 0.25 and result.won_simulated > 100
    spec = ProcessSpec.model_validate(result.process)  # a valid process section
    assert all(0 < stage.advance < 1 for stage in spec.stages.values())
    assert spec.custom_development.probability == 0  # frictions off
    assert set(neutral_frictions()) <= set(result.process)


def test_no_deals_means_no_process_block(calibrated):
    _, cal, scenario = calibrated
    assert fit_process(scenario, dataclasses.replace(cal, win_rate=None)) is None


@pytest.mark.slow
def test_calibrate_cli_writes_a_process_section_that_runs(calibrated, capsys):
    root, _, _ = calibrated
    out = root / "cli" / "fitted.yaml"
    assert main(["calibrate", str(root / "data"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "deal-stage model (search" in printed and "win rate" in printed
    text = out.read_text()
    assert "Deal-stage model" in text and ": converged:" in text and "\nprocess:\n" in text
    scenario = load_scenario(out)
    assert scenario.process is not None
    report = read_fit_report(out)  # the sidecar reports read
    assert report["converged"] is True and report["miss"] is None
    assert set(report) >= {"targets", "simulated", "relative_error", "runs"}
    assert abs(report["relative_error"]["win_rate"]) <= 0.05
    assert report["simulated"]["open_at_end"] == 0


def test_process_block_is_yaml_of_the_fit(calibrated):
    _, cal, scenario = calibrated
    result = fit_process(scenario, cal, budget=2)
    lines = process_block(result)
    assert lines[0].startswith("#") and "process:" in lines
