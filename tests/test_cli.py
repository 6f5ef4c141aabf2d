"""The command line: outputs of `run`, `validate`, and one clear line + exit 2 for every
kind of bad input (never a traceback)."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from conftest import POLICIES, ROOT, SCENARIOS, tiny_scenario_dict
from sim.cli.main import main


def write_yaml(path, data) -> str:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(path)


def test_run_writes_tables_and_kpis(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        [
            "run",
            str(SCENARIOS / "baseline.yaml"),
            "--policy",
            str(POLICIES / "source_defaults.yaml"),
            "--seed",
            "3",
            "--out",
            str(out),
            "--set",
            "horizon_days=3",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "first_touch_hours_mean" in printed and "qualification_rate" in printed
    for name in ("events.parquet", "leads.parquet", "reps.parquet", "kpis.json"):
        assert (out / name).is_file()
    events = pd.read_parquet(out / "events.parquet")
    assert {"t", "time", "kind", "lead_id", "rep_id", "value"} <= set(events.columns)
    kpis = json.loads((out / "kpis.json").read_text())
    assert kpis["seed"] == [3] and kpis["policy"] == "source_defaults"
    leads = pd.read_parquet(out / "leads.parquet")
    assert kpis["kpis"]["leads_arrived"] == len(leads)


def test_set_overrides_scenario_and_policy(tmp_path):
    out = tmp_path / "o"
    assert (
        main(
            [
                "run",
                str(SCENARIOS / "baseline.yaml"),
                "--out",
                str(out),
                "--set",
                "horizon_days=2",
                "--set",
                "team.groups.0.count=3",
                "--set",
                "policy.sla.steps=[]",
            ]
        )
        == 0
    )
    reps = pd.read_parquet(out / "reps.parquet")
    assert len(reps) == 3 + 6 + 2
    assert json.loads((out / "kpis.json").read_text())["kpis"]["sla_reminders"] == 0


def test_validate_reports_ok_and_every_problem(tmp_path, capsys):
    assert (
        main(["validate", str(SCENARIOS / "baseline.yaml"), str(POLICIES / "source_defaults.yaml")])
        == 0
    )
    assert capsys.readouterr().out.count(": ok") == 2
    bad = tiny_scenario_dict(horizon_days=-1, arrivals={"rate_per_hour": 0})
    code = main(["validate", write_yaml(tmp_path / "bad.yaml", bad)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert any("horizon_days" in line for line in err)
    assert any("arrivals" in line and "rate_per_hour" in line for line in err)


def _tiny(**changes):
    return tiny_scenario_dict(**changes)


def _team(**rep):
    data = tiny_scenario_dict()
    data["team"]["groups"][0].update(rep)
    return data


BAD_SCENARIOS = [
    ("unknown top-level key", {**_tiny(), "horizon_dayz": 3}, "horizon_dayz", "Extra inputs"),
    ("wrong type", _tiny(horizon_days="three"), "horizon_days", "valid number"),
    (
        "negative rate",
        _tiny(arrivals={"rate_per_hour": -2}),
        "arrivals.poisson.rate_per_hour",
        "greater than 0",
    ),
    ("empty team", _tiny(team={"reps": []}), "team", "no reps"),
    (
        "duplicate rep ids",
        _tiny(
            team={"reps": [{"id": "a", "calendar": "always"}, {"id": "a", "calendar": "always"}]}
        ),
        "team",
        "duplicate rep id 'a'",
    ),
    ("unknown calendar", _team(calendar="night"), "(top level)", "calendar 'night'"),
    (
        "negative touch mean",
        _team(touch_time={"dist": "exponential", "mean": -1}),
        "touch_time.exponential.mean",
        "greater than 0",
    ),
    (
        "unknown distribution",
        _team(touch_time={"dist": "weibull", "mean": 1}),
        "touch_time",
        "weibull",
    ),
    ("zero cap", _team(max_open_leads=0), "max_open_leads", "greater than or equal to 1"),
    (
        "both rates",
        _tiny(arrivals={"rate_per_hour": 1, "leads_per_month": 100}),
        "arrivals.poisson",
        "exactly one",
    ),
    (
        "unknown holiday country",
        _tiny(calendars={"always": {"kind": "always"}, "x": {"holidays": {"country": "XX"}}}),
        "calendars.x.holidays",
        "unknown holiday country 'XX'",
    ),
    (
        "reversed hours",
        _tiny(calendars={"always": {"kind": "always"}, "x": {"hours": ["18:00", "09:00"]}}),
        "calendars.x",
        "must be after start",
    ),
    (
        "probability above 1",
        _tiny(leads={"authority": 1.5}),
        "leads.authority",
        "less than or equal to 1",
    ),
    ("all-zero channel mix", _tiny(leads={"channels": {"web": 0}}), "leads", "not all zero"),
    ("warm-up longer than horizon", _tiny(warmup_days=5), "(top level)", "warmup_days"),
]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [case[1:] for case in BAD_SCENARIOS],
    ids=[case[0] for case in BAD_SCENARIOS],
)
def test_bad_scenario_gives_one_line_naming_file_and_field(tmp_path, capsys, data, field, message):
    path = write_yaml(tmp_path / "bad.yaml", data)
    assert main(["run", path, "--out", str(tmp_path / "o")]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {path}: ")
    assert field in lines[0] and message in lines[0]
    assert "Traceback" not in captured.err + captured.out


BAD_FILES = [
    ("missing file", None, "file not found"),
    ("empty file", "", "file is empty"),
    ("invalid YAML", "name: [unclosed\n", "line 2, column 1: expected ','"),
    ("not a mapping", "- a\n- b\n", "top level must be a mapping"),
    ("duplicate key", "name: a\nname: b\n", "duplicate key 'name'"),
    (
        "python object tag",
        "name: !!python/object/apply:os.system ['true']\n",
        "could not determine a constructor",
    ),
]


@pytest.mark.parametrize(
    ("text", "message"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES]
)
def test_bad_file_gives_one_line(tmp_path, capsys, text, message):
    path = tmp_path / "s.yaml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0] and message in err[0], err


BAD_ARGS = [
    (["run"], "required: scenario"),
    (["run", "x.yaml", "--seed", "-1"], "must be >= 0"),
    (["run", "x.yaml", "--seed", "abc"], "whole number"),
    (["run", "x.yaml", "--set", "novalue"], "expected dotted.key=value"),
    (["frobnicate"], "invalid choice"),
    ([], "required: command"),
]


@pytest.mark.parametrize(("argv", "message"), BAD_ARGS)
def test_bad_arguments_give_one_line_and_exit_2(capsys, argv, message):
    if "x.yaml" in argv and "--set" in argv:
        argv = [str(SCENARIOS / "baseline.yaml") if a == "x.yaml" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_bad_policy_names_policy_file(tmp_path, capsys):
    policy = write_yaml(tmp_path / "p.yaml", {"routing": {"name": "telepathy"}})
    assert main(["run", str(SCENARIOS / "baseline.yaml"), "--policy", policy]) == 2
    err = capsys.readouterr().err
    assert policy in err and "routing" in err and "telepathy" in err


def test_bad_override_path(capsys):
    assert main(["run", str(SCENARIOS / "baseline.yaml"), "--set", "team.groups.9.count=1"]) == 2
    assert "not an index" in capsys.readouterr().err


def test_help_everywhere():
    for argv in ([], ["run"], ["validate"], ["report"]):
        done = subprocess.run(
            [sys.executable, "-m", "sim", *argv, "--help"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0 and "usage:" in done.stdout


def test_module_entry_point_exit_code(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "sim", "run", str(tmp_path / "none.yaml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_run_of_a_process_scenario_writes_its_tables_and_kpis(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "run",
            str(SCENARIOS / "process_demo.yaml"),
            "--policy",
            str(POLICIES / "proof_any_offline.yaml"),
            "--set",
            "horizon_days=60",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "win_rate" in printed and "forecast_error_abs_mean" in printed
    for name in ("events", "leads", "reps", "opportunities", "contracts", "process_events"):
        assert (out / f"{name}.parquet").is_file(), name
    payload = json.loads((out / "kpis.json").read_text())
    assert "deals_won" in payload["kpis"]


def test_validate_tells_sweep_batch_and_mapping_files_apart(tmp_path, capsys):
    good = [
        SCENARIOS / "sweeps" / "sla_routing_demo.yaml",
        SCENARIOS / "sweeps" / "scenario_reports_batch.yaml",
        SCENARIOS / "mappings" / "sample.yaml",
    ]
    assert main(["validate", *map(str, good)]) == 0
    assert capsys.readouterr().out.count(": ok") == 3
    bad = tmp_path / "sweep.yaml"
    bad.write_text("scenario: scenarios/baseline.yaml\nreplications: 0\n")
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "replications" in err, err
