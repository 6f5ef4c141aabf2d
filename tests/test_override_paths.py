"""One path language: ``--set``, sweep ``--grid``, sweep files and batch files route and set
a dotted path the same way; an ambiguous path is an error naming both meanings."""

from __future__ import annotations

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_notebook

from conftest import POLICIES, SCENARIOS, tiny_scenario_dict
from sim.cli.main import main
from sim.errors import ConfigError
from sim.experiments.sweep_design import build_design
from sim.experiments.sweep_spec import load_sweep_spec, spec_from_options
from sim.io.overrides import format_override
from sim.reports.batch import check_variants, load_batch
from sim.world.override_paths import load_with_overrides, route_path

POLICY = str(POLICIES / "source_defaults.yaml")
# A scenario path, the breaker's shorthand, a field of an optional block that is off in
# the policy (switched on with its defaults), a path into a list and an explicit prefix.
PATHS = {
    "arrivals.rate_per_hour": 2.5,
    "sla.reclaim_hours": 8,
    "allocation.newbie_protection.a_share_max": 0.05,
    "policy.sla.steps.0.after_hours": 1,
    "scenario.warmup_days": 1,
}


def write_notebook(path, parameters: str):
    """A notebook with one parameters cell (inspected for its parameters, never run)."""
    nb = new_notebook(cells=[new_code_cell(parameters, metadata={"tags": ["parameters"]})])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def write_yaml(path, data) -> str:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(path)


def dumps(scenario, policy) -> tuple[dict, dict]:
    return tuple(m.model_dump(mode="json", by_alias=True) for m in (scenario, policy))


@pytest.fixture
def tiny_file(tmp_path) -> str:
    return write_yaml(tmp_path / "tiny.yaml", tiny_scenario_dict(horizon_days=3))


@pytest.fixture
def notebook(tmp_path) -> str:
    """A notebook with scenario and policy parameters (never executed here)."""
    cell = f'scenario = "{SCENARIOS / "baseline.yaml"}"\npolicy = None\nseed = 1'
    return write_notebook(tmp_path / "inputs_report.ipynb", cell)


def test_same_path_gives_the_same_files_through_every_entry_point(tiny_file, tmp_path, notebook):
    items = [format_override(path, value) for path, value in PATHS.items()]
    by_set = dumps(*load_with_overrides(tiny_file, POLICY, items))

    grid = [f"{path}={value}" for path, value in PATHS.items()]
    task = build_design(spec_from_options(tiny_file, POLICY, grid, [])).tasks[0]
    by_grid = (task.scenario, task.policy)

    sweep_file = write_yaml(
        tmp_path / "s.yaml",
        {"scenario": tiny_file, "policy": POLICY, "grid": {p: [v] for p, v in PATHS.items()}},
    )
    task = build_design(load_sweep_spec(sweep_file)).tasks[0]
    by_sweep_file = (task.scenario, task.policy)

    batch_file = write_yaml(
        tmp_path / "b.yaml",
        {"parameters": {"scenario": tiny_file, "policy": POLICY}, "grid": {"seed": [1]}}
        | {"variants": [{"name": "v", "parameters": dict(PATHS)}]},
    )
    (variant,) = check_variants(notebook, load_batch(batch_file), batch_file)
    by_batch = (variant.inputs["scenario"], variant.inputs["policy"])

    assert by_set == by_grid == by_sweep_file == by_batch
    scenario, policy = by_set
    assert scenario["arrivals"]["rate_per_hour"] == 2.5 and scenario["warmup_days"] == 1
    steps = [(s["after_hours"], s["action"]) for s in policy["sla"]["steps"]]
    assert steps == [(1, "remind"), (8, "reclaim")]
    assert policy["allocation"]["newbie_protection"]["a_share_max"] == 0.05


def test_fixed_sweep_sets_route_like_levers(tiny_file):
    spec = spec_from_options(tiny_file, None, ["horizon_days=2,3"], [], set=["sla.reclaim_hours=8"])
    task = build_design(spec).tasks[0]
    assert task.policy["sla"]["steps"][-1]["after_hours"] == 8


def test_ambiguous_path_names_both_meanings():
    with pytest.raises(ConfigError) as caught:
        route_path("name", "--set")
    message = str(caught.value)
    assert "ambiguous" in message and "the scenario's name" in message
    assert "the policy's name" in message
    assert "write scenario.name or policy.name" in message
    assert route_path("scenario.name").target == "scenario"
    assert route_path("policy.name").column == "policy.name"


def test_ambiguous_path_in_a_sweep_file_and_a_batch_file(tiny_file, tmp_path, notebook):
    sweep_file = write_yaml(tmp_path / "s.yaml", {"scenario": tiny_file, "grid": {"name": ["a"]}})
    with pytest.raises(ConfigError, match=r"--grid name: ambiguous.*policy\.name"):
        build_design(load_sweep_spec(sweep_file))
    batch_file = write_yaml(tmp_path / "b.yaml", {"grid": {"description.x": ["a"]}})
    with pytest.raises(ConfigError, match=r"variant .*: description\.x: ambiguous"):
        check_variants(notebook, load_batch(batch_file), batch_file)


def test_batch_policy_override_without_a_policy_parameter_is_refused(tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", "x = 1")
    batch_file = write_yaml(tmp_path / "b.yaml", {"grid": {"sla.reclaim_hours": [8]}})
    with pytest.raises(ConfigError, match="the notebook has no policy"):
        check_variants(path, load_batch(batch_file), batch_file)


def test_run_set_reaches_the_policy(tmp_path, capsys):
    """``sla.reclaim_hours`` belongs to the policy: ``run --set`` routes it there."""
    argv = ["run", str(SCENARIOS / "baseline.yaml"), "--policy", POLICY, "--out"]
    argv += [str(tmp_path / "o"), "--set", "horizon_days=1", "--set", "sla.reclaim_hours=8"]
    assert main(argv) == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "{tiny}", "--set", "nonsense.x=1"], "--set nonsense.x: unknown field 'nonsense'"),
        (["run", "{tiny}", "--set", "name=x"], "--set name: ambiguous: 'name' is a field of both"),
        (["run", "{tiny}", "--set", "sla.steps.9.after_hours=1"], "is not an index of a 2-item"),
        (["compare", "{tiny}", "--policy", POLICY, "--policy", POLICY, "--set", "name=x"], "ambig"),
        (["sweep", "{tiny}", "--grid", "description=a,b", "--workers", "0"], "--grid description"),
        (["report", "scenario_report", "--set", "bogus.x=1"], "--set bogus.x: unknown field"),
    ],
)
def test_cli_bad_path_is_one_line_and_exit_2(tiny_file, tmp_path, capsys, argv, message):
    argv = [tiny_file if a == "{tiny}" else a for a in argv] + ["--out", str(tmp_path / "o")]
    if argv[0] == "compare":
        argv[-1] = str(tmp_path / "o.csv")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert message in err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_report_and_batch_render_with_the_overridden_files(tiny_file, tmp_path, capsys):
    cell = f'scenario = "{tiny_file}"\npolicy = "{POLICY}"'
    path = write_notebook(tmp_path / "steps.ipynb", cell)
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(
        new_code_cell(
            "from sim import load_policy, load_scenario\n"
            "steps = [s.after_hours for s in load_policy(policy).sla.steps]\n"
            "print(f'steps {steps} horizon {load_scenario(scenario).horizon_days}')"
        )
    )
    nbformat.write(nb, path)
    out = tmp_path / "reports"
    argv = [
        "report",
        str(path),
        "--allow-notebook",
        str(path),
        "--set",
        "sla.reclaim_hours=8",
        "--set",
        "horizon_days=2",
    ]
    assert main([*argv, "--name", "one", "--out", str(out)]) == 0
    assert "steps [2.0, 8.0] horizon 2.0" in (out / "steps" / "one.html").read_text()

    batch = write_yaml(tmp_path / "b.yaml", {"name": "b", "grid": {"sla.reclaim_hours": [6]}})
    assert (
        main(
            [
                "report",
                str(path),
                "--allow-notebook",
                str(path),
                "--batch",
                batch,
                "--out",
                str(out),
            ]
        )
        == 0
    )
    page = (out / "batches" / "b" / "steps" / "sla.reclaim_hours-6.html").read_text()
    assert "steps [2.0, 6.0] horizon 3.0" in page
    capsys.readouterr()
