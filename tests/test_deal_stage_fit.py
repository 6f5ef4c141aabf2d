"""The deal-stage fit converges or fails loudly (sim.history.deal_stage_fit, stage_search,
stage_history_fit): a search on common random numbers, exit 3 with the miss, the
``.fit.json`` sidecar, and stage durations and pass odds read off a stage history."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, SCENARIOS
from sim.cli.main import main
from sim.history import calibrate
from sim.history.calibrate import fit
from sim.history.deal_stage_fit import (
    TOLERANCE,
    ProcessFit,
    fit_process,
    fit_report_path,
    read_fit_report,
    write_calibrated_scenario,
)
from sim.history.importer import import_export, write_import
from sim.history.mapping import load_mapping_spec
from sim.history.scenario_writer import scenario_yaml
from sim.history.stage_history_fit import canonical_stage, stage_model
from sim.history.stage_search import (
    ADVANCE_BOUNDS,
    pass_probability,
    qualification_at,
    shift_for_pass_probability,
)
from sim.history.synthetic_export import make_sample
from sim.world.loading import load_scenario
from sim.world.process_spec import ProcessSpec, _default_stages
from sim.world.scenario import Qualification

DEFAULT_ADVANCE = [s.advance for s in _default_stages().values()]


# -- the pieces ------------------------------------------------------------------------------
def test_one_logit_shift_gives_the_wanted_pass_probability():
    shift, advance = shift_for_pass_probability(DEFAULT_ADVANCE, 0.6)
    assert shift > 0 and pass_probability(advance) == pytest.approx(0.6, abs=1e-8)
    order = np.argsort(DEFAULT_ADVANCE)
    assert list(np.argsort(advance)) == list(order)  # the stages keep their ranking
    _, capped = shift_for_pass_probability(DEFAULT_ADVANCE, 0.999)  # beyond the bounds
    assert max(capped) == ADVANCE_BOUNDS[1] and pass_probability(capped) < 0.999


def test_the_qualification_shift_moves_every_grade_and_the_floor():
    base = Qualification()
    assert qualification_at(base, 0) is base
    up, down = qualification_at(base, 2.0), qualification_at(base, -2.0)
    for grade, p in base.base.items():
        assert down.base[grade] < p < up.base[grade] < 1
    assert down.decay.floor < base.decay.floor < up.decay.floor
    assert qualification_at(base, 8.0).base["C"] > 0.99  # every lead can become a deal


def _fit(win: float, cycle: float) -> ProcessFit:
    block = {"stages": {n: {"advance": 0.9} for n in ("need_diagnosis",)}}
    return ProcessFit(
        process=block,
        target_win_rate=0.51,
        simulated_win_rate=win,
        target_cycle_mean=21.0,
        simulated_cycle_mean=cycle,
        cycle_ks=0.1,
        won_simulated=100,
        runs=4,
    )


def test_a_miss_is_one_line_with_both_relative_errors():
    missed = _fit(0.48, 20.1)
    assert not missed.converged
    assert missed.miss == (
        "deal-stage fit missed: win rate 0.480 simulated vs 0.510 target (-5.9%), "
        "mean cycle 20.1 vs 21.0 days (-4.3%)"
    )
    close = _fit(0.50, 20.2)
    assert close.converged and close.miss is None
    assert abs(close.win_error) <= TOLERANCE and abs(close.cycle_error) <= TOLERANCE
    assert not _fit(float("nan"), 20.0).converged  # nothing won: not converged


def _history() -> tuple[pd.DataFrame, pd.DataFrame]:
    day = pd.Timestamp("2024-01-01")

    def at(d: float) -> pd.Timestamp:
        return day + pd.Timedelta(days=d)

    rows, deals = [], []
    for k in range(3):  # won, every stage: 2, 3, 1, 2, 1 days
        deal = f"W{k}"
        for stage, d in zip(
            ("Need Diagnosis", "poc-proposal", "commercial_terms", "legal_review", "kickoff"),
            (0, 2, 5, 6, 8),
            strict=True,
        ):
            rows.append((deal, stage, at(d)))
        rows += [(deal, "Site visit", at(1)), (deal, "Won", at(9))]
        deals.append((deal, "won", at(9), at(0)))
    rows += [("L1", "need_diagnosis", at(0)), ("L1", "poc_proposal", at(1))]
    rows += [("L1", "commercial_terms", at(4))]
    deals.append(("L1", "lost", at(7), at(0)))  # lost at commercial terms after 3 days
    rows += [("L2", "need_diagnosis", at(0)), ("L2", "commercial_terms", at(4))]
    deals.append(("L2", "lost", at(5), at(0)))  # jumped over poc_proposal, then lost
    rows += [("O1", "need_diagnosis", at(0)), ("O1", "poc_proposal", at(3))]
    deals.append(("O1", "open", pd.NaT, at(0)))  # still in poc_proposal: censored
    rows.append(("X9", "need_diagnosis", at(0)))  # not among the opportunities
    history = pd.DataFrame(rows, columns=["opportunity_id", "stage", "entered"])
    opps = pd.DataFrame(deals, columns=["opportunity_id", "outcome", "closed", "created"])
    return history, opps


def test_a_stage_history_gives_pass_odds_and_durations_directly():
    assert canonical_stage("Legal Review") == "legal_review"
    assert canonical_stage("Won") is None and canonical_stage(None) is None
    model = stage_model(*_history())
    table = model.table.set_index("stage")
    assert table["passed"].tolist() == [6, 5, 3, 3, 3]
    assert table["failed"].tolist() == [0, 0, 2, 0, 0]
    assert table.loc["poc_proposal", "unresolved"] == 1  # the open deal
    assert model.advance[2] == pytest.approx(0.6)
    assert model.advance[0] == ADVANCE_BOUNDS[1]  # never lost there: the highest odds
    # need diagnosis: 2, 2, 2 (won), 1 (L1), 4 (L2 jumped), 3 (O1 moved on)
    assert model.means[0] == pytest.approx(14 / 6, abs=1e-4)
    assert model.means[2] == pytest.approx((1 + 1 + 1 + 3 + 1) / 5, abs=1e-4)
    assert model.means[4] == pytest.approx(1.0)
    assert model.resolved == 5 and model.usable
    notes = " | ".join(model.notes)
    assert "Site visit" in notes and "Won" not in notes  # outcome rows need no note
    assert "1 deal(s) in the stage history are not among the opportunities" in notes


# -- the search on a calibrated scenario ---------------------------------------------------------
@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """The synthetic export imported and fitted; the calibrated scenario without process."""
    root = tmp_path_factory.mktemp("stagefit")
    make_sample(root / "export")
    result = import_export(root / "export", load_mapping_spec(SCENARIOS / "mappings/sample.yaml"))
    write_import(result, root / "data")
    cal = fit(root / "data")
    path = root / "fitted.yaml"
    path.write_text(scenario_yaml(cal, "fitted"), encoding="utf-8")
    return root, cal, load_scenario(path)


def _targets(cal, win: float, cycle: float, per_deal: float):
    deals = dataclasses.replace(
        cal.deals, win_probability=per_deal, lead_win_probability=win, cycle_mean_days=cycle
    )
    return dataclasses.replace(cal, win_rate=win, cycle_target_days=cycle, deals=deals)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("win", "cycle", "per_deal"),
    [(0.105, 49.0, 1.0), (0.6, 40.0, 0.6)],  # Olist-like (won deals only); deal-only export
    ids=["low", "high"],
)
def test_the_search_reaches_low_and_high_win_rates(calibrated, win, cycle, per_deal):
    _, cal, scenario = calibrated
    result = fit_process(scenario, _targets(cal, win, cycle, per_deal), budget=6)
    assert result.converged, result.miss
    assert result.simulated_win_rate == pytest.approx(win, rel=TOLERANCE)
    assert result.simulated_cycle_mean == pytest.approx(cycle, rel=TOLERANCE)
    assert result.realised_win_rate == pytest.approx(win, rel=0.15)  # the coin flips agree
    assert result.open_at_end == 0 and 2 <= result.runs <= 6
    spec = ProcessSpec.model_validate(result.process)
    advance = [stage.advance for stage in spec.stages.values()]
    assert pass_probability(advance) == pytest.approx(min(per_deal, 0.975), abs=0.01)
    qualification = Qualification.model_validate(result.qualification)
    default = scenario.qualification.base
    if win > 0.3:  # the default qualification caps the win rate: it was opened up
        assert all(qualification.base[g] > default[g] for g in default)
    assert spec.custom_development.probability == 0  # frictions off


def test_an_unreachable_target_exits_3_with_one_line_and_a_sidecar(
    calibrated, tmp_path, monkeypatch, capsys
):
    root, _, _ = calibrated
    real_fit = calibrate.fit

    def impossible(data_dir):  # every lead won, in an hour
        cal = real_fit(data_dir)
        return _targets(cal, 0.999, 0.05, 0.999)

    monkeypatch.setattr(calibrate, "fit", impossible)
    out = tmp_path / "fitted.yaml"
    argv = ["calibrate", str(root / "data"), "--out", str(out), "--fit-runs", "2"]
    assert main(argv) == 3
    captured = capsys.readouterr()
    err = captured.err.splitlines()
    assert len(err) == 1 and err[0].startswith("calibrate: deal-stage fit missed: win rate ")
    assert "0.999 target" in err[0] and "mean cycle" in err[0] and "vs 0.05 days" in err[0]
    assert "MISSED" in out.read_text()
    assert load_scenario(out).process is not None  # still written, for inspection
    report = read_fit_report(out)
    assert fit_report_path(out) == tmp_path / "fitted.fit.json"
    assert report["converged"] is False and report["miss"] == err[0].removeprefix("calibrate: ")
    assert report["targets"] == {"win_rate": 0.999, "cycle_mean_days": 0.05}
    assert report["relative_error"]["win_rate"] < 0  # the pass odds are capped below 1
    assert report["relative_error"]["cycle_mean_days"] > TOLERANCE
    assert report["runs"] <= 2


def test_without_deals_no_process_block_and_no_stale_sidecar(calibrated, tmp_path):
    _, cal, _ = calibrated
    out = tmp_path / "fitted.yaml"
    fit_report_path(out).write_text("{}\n")  # from an earlier calibration
    assert write_calibrated_scenario(dataclasses.replace(cal, win_rate=None), out, "f") is None
    assert "\nprocess:" not in out.read_text() and load_scenario(out).process is None
    assert not fit_report_path(out).exists() and read_fit_report(out) is None


def test_calibrate_help_documents_exit_3(capsys):
    with pytest.raises(SystemExit):
        main(["calibrate", "--help"])
    assert "3 the deal-stage fit missed" in " ".join(capsys.readouterr().out.split())


# -- a deal-only export with a stage history -------------------------------------------------------
STAGE_MAP = """
  stage_history:
    files: stage_history.csv
    columns:
      opportunity_id: opportunity_id
      stage:
        column: stage
        values: {Engaging: need_diagnosis, Discovery: poc_proposal, Demo: commercial_terms,
                 Proposal: legal_review, Negotiation: kickoff, Won: won, Lost: lost}
        unmapped: warn
      entered: {column: entered_at, formats: ["%Y-%m-%d"]}
    required: [opportunity_id, stage, entered]
"""


@pytest.mark.slow
def test_calibrate_reads_stages_off_a_stage_history(tmp_path, capsys):
    from sim.history.synthetic_deal_files import make_deal_export
    from sim.history.synthetic_deals import deal_preset

    truth = deal_preset("flat", stage_history=True)
    make_deal_export(tmp_path / "export", seed=3, truth=truth)
    text = (ROOT / "scenarios/mappings/crm_pipeline.yaml").read_text(encoding="utf-8")
    mapping = tmp_path / "map.yaml"
    mapping.write_text(text.replace("\nchecks:", STAGE_MAP.rstrip() + "\nchecks:"), "utf-8")
    argv = ["import", str(tmp_path / "export"), "--mapping", str(mapping)]
    assert main([*argv, "--out", str(tmp_path / "data")]) == 0
    out = tmp_path / "fitted.yaml"
    code = main(["calibrate", str(tmp_path / "data"), "--out", str(out)])
    printed = capsys.readouterr().out
    assert "deal-stage model (stage history" in printed
    report = json.loads(fit_report_path(out).read_text())
    assert report["method"] == "stage_history"
    assert code == (0 if report["converged"] else 3)
    assert abs(report["relative_error"]["win_rate"]) <= TOLERANCE  # qualification searched
    spec = load_scenario(out).process
    for stage, true in zip(spec.stages.values(), truth.stages, strict=True):
        assert stage.advance == pytest.approx(true.advance, abs=0.03)
        assert stage.duration_days.mean == pytest.approx(true.mean_days, rel=0.1)
