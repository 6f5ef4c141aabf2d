"""Sweeps: the design (grid, Latin hypercube), validation before anything runs, keys,
resumable per-point Parquet files, and the same combined table whatever the number of
workers or interruptions."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import POLICIES, ROOT, tiny_scenario_dict
from policies.policy import policy_model
from sim.cli.main import main
from sim.errors import ConfigError
from sim.experiments.analysis import best_points, lever_effects, point_summary
from sim.experiments.fanout import DaskEvaluator, SequentialEvaluator
from sim.experiments.replications import kpi_frame, run_replications
from sim.experiments.store import combined_table, point_path, read_manifest
from sim.experiments.sweep import evaluate_point, run_sweep
from sim.experiments.sweep_design import build_design
from sim.experiments.sweep_spec import (
    SweepSpec,
    load_sweep_spec,
    parse_grid,
    parse_range,
    spec_from_options,
)
from sim.world.loading import load_scenario

SLA_RECLAIM = "sla.steps.1.after_hours"


def write_yaml(path, data) -> str:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(path)


@pytest.fixture
def tiny_file(tmp_path) -> str:
    return write_yaml(tmp_path / "tiny.yaml", tiny_scenario_dict(horizon_days=3))


def grid_spec(scenario: str, **fields) -> SweepSpec:
    data = {
        "scenario": scenario,
        "grid": {"arrivals.rate_per_hour": [1.5, 3.0], SLA_RECLAIM: [3, 6, 9]},
        "replications": 2,
        "seed": 4,
    }
    return SweepSpec.model_validate({**data, **fields})


@pytest.fixture(scope="module")
def dask_evaluator():
    """One local cluster for the module (starting one costs seconds): 1 worker at first."""
    with DaskEvaluator(workers=1, progress=False) as evaluator:
        yield evaluator


# -- design ---------------------------------------------------------------------------------
def test_grid_is_the_full_product_in_order_and_levers_go_to_their_file(tiny_file):
    design = build_design(grid_spec(tiny_file))
    assert [lever.column for lever in design.levers] == [
        "arrivals.rate_per_hour",
        "policy.sla.steps.1.after_hours",
    ]
    assert [lever.target for lever in design.levers] == ["scenario", "policy"]
    assert [tuple(v.values()) for v in design.values] == [
        (1.5, 3),
        (1.5, 6),
        (1.5, 9),
        (3.0, 3),
        (3.0, 6),
        (3.0, 9),
    ]
    task = design.tasks[4]
    assert task.scenario["arrivals"]["rate_per_hour"] == 3.0
    assert task.policy["sla"]["steps"][1]["after_hours"] == 6
    assert task.policy["sla"]["steps"][0]["after_hours"] == 2  # the rest of the ladder kept
    assert len({t.key for t in design.tasks}) == 6


def test_keys_hash_the_full_configuration_and_seeds(tiny_file):
    base = build_design(grid_spec(tiny_file))
    by_values = {tuple(v.values()): t.key for v, t in zip(base.values, base.tasks, strict=True)}
    # Other order, other spelling of the path: a key depends on the configuration only.
    grid = {"policy." + SLA_RECLAIM: [9, 3], "arrivals.rate_per_hour": [3.0]}
    same = build_design(grid_spec(tiny_file, grid=grid))
    assert [t.key for t in same.tasks] == [by_values[(3.0, 9)], by_values[(3.0, 3)]]
    # The default reclaim step is 4 h: sweeping it to 4 gives the default policy's key.
    default = build_design(grid_spec(tiny_file, grid={SLA_RECLAIM: [4]}))
    fixed = build_design(grid_spec(tiny_file, grid={"horizon_days": [3]}))
    assert default.tasks[0].key == fixed.tasks[0].key
    assert build_design(grid_spec(tiny_file, seed=5)).tasks[0].key != base.tasks[0].key
    assert build_design(grid_spec(tiny_file, replications=3)).tasks[0].key != base.tasks[0].key


def test_latin_hypercube_puts_one_sample_in_every_stratum(tiny_file):
    spec = SweepSpec(
        scenario=tiny_file,
        ranges={"arrivals.rate_per_hour": (1.0, 3.0), "team.groups.0.count": (2, 9)},
        samples=8,
        replications=1,
    )
    assert spec.design_kind == "lhs"
    design = build_design(spec)
    rates = np.array([v["arrivals.rate_per_hour"] for v in design.values])
    counts = [v["team.groups.0.count"] for v in design.values]
    assert len(design.tasks) == 8
    assert sorted(np.floor((rates - 1.0) / 2.0 * 8).astype(int)) == list(range(8))
    assert sorted(counts) == list(range(2, 10))  # 8 integer levels, one sample each
    assert all(isinstance(c, int) for c in counts)
    again = build_design(spec)
    assert [t.key for t in again.tasks] == [t.key for t in design.tasks]  # seeded
    other = build_design(spec.model_copy(update={"seed": 1}))
    assert [v["arrivals.rate_per_hour"] for v in other.values] != list(rates)


def test_lhs_is_crossed_with_grid_levers(tiny_file):
    spec = SweepSpec(
        scenario=tiny_file,
        grid={SLA_RECLAIM: [3, 6]},
        ranges={"arrivals.rate_per_hour": (1.0, 3.0)},
        samples=3,
    )
    values = build_design(spec).values
    assert [v["policy.sla.steps.1.after_hours"] for v in values] == [3, 3, 3, 6, 6, 6]
    assert [v["arrivals.rate_per_hour"] for v in values[:3]] == [
        v["arrivals.rate_per_hour"] for v in values[3:]
    ]


def test_parse_grid_and_range():
    assert parse_grid("a.b=1,2.5,x") == ("a.b", [1, 2.5, "x"])
    assert parse_grid("a=[1, 2],{k: 3}") == ("a", [[1, 2], {"k": 3}])
    assert parse_range("a.b=2:9") == ("a.b", (2, 9))
    assert parse_range("a.b=0.5:1") == ("a.b", (0.5, 1))
    for bad in ("a.b", "a..b=1", "=1,2", "a=1,,2"):
        with pytest.raises(ConfigError, match="--grid"):
            parse_grid(bad)
    for bad in ("a=1", "a=x:2", "a.b"):
        with pytest.raises(ConfigError, match="--range"):
            parse_range(bad)


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        (
            {"arrivals.rate_per_hur": [1]},
            r"--grid arrivals.rate_per_hur=1: arrivals.*rate_per_hur: Extra",
        ),
        ({"arrivals.rate_per_hour": [1, -2]}, r"--grid arrivals.rate_per_hour=-2: arrivals"),
        (
            {"sla.steps.7.after_hours": [1]},
            r"--grid policy.sla.steps.7.after_hours: 'sla.steps.7' is not an index of a 2-item",
        ),
        ({"nonsense.x": [1]}, r"--grid nonsense.x: unknown field 'nonsense'"),
        # a 1 h reclaim before the 2 h reminder: the ladder is out of order
        ({SLA_RECLAIM: [8, 1]}, r"--grid policy.sla.steps.1.after_hours=1: sla"),
    ],
)
def test_bad_path_or_value_is_one_line_naming_it(tiny_file, grid, message):
    with pytest.raises(ConfigError, match=message) as caught:
        build_design(grid_spec(tiny_file, grid=grid))
    assert "\n" not in str(caught.value)


def test_points_that_only_fail_together_are_caught_before_running(tiny_file):
    spec = grid_spec(tiny_file, grid={"horizon_days": [1, 3], "warmup_days": [0, 2]})
    with pytest.raises(ConfigError, match=r"sweep point horizon_days=1, warmup_days=2: "):
        build_design(spec)


def test_spec_model_refuses_inconsistent_designs(tiny_file):
    with pytest.raises(ValueError, match="need design 'lhs'"):
        SweepSpec(scenario=tiny_file, design="grid", ranges={"horizon_days": (1, 2)})
    with pytest.raises(ValueError, match="samples"):
        SweepSpec(scenario=tiny_file, ranges={"horizon_days": (1, 2)})
    with pytest.raises(ValueError, match="nothing to sweep"):
        SweepSpec(scenario=tiny_file)
    with pytest.raises(ValueError, match="listed twice"):
        SweepSpec(scenario=tiny_file, grid={"horizon_days": [1, 1]})
    with pytest.raises(ValueError, match="low < high"):
        SweepSpec(scenario=tiny_file, ranges={"horizon_days": (2, 1)}, samples=2)
    with pytest.raises(ConfigError, match="given twice"):
        spec_from_options(tiny_file, None, ["horizon_days=1", "horizon_days=2"], [])


# -- running, storing, resuming ---------------------------------------------------------------
def test_sequential_sweep_writes_one_file_per_point_with_the_runs_kpis(tiny_file, tmp_path):
    design = build_design(grid_spec(tiny_file))
    # What a kill during a write leaves behind is ignored (files appear by rename).
    path = point_path(tmp_path / "out", design.tasks[0].key)
    path.with_name(f".{path.name}.999.tmp").write_bytes(b"half a parquet file")
    outcome = run_sweep(design, tmp_path / "out", SequentialEvaluator(progress=False))
    assert outcome.complete and (outcome.points, outcome.reused, outcome.finished) == (6, 0, 6)
    table = pd.read_parquet(outcome.results_path)
    pd.testing.assert_frame_equal(table, outcome.table)
    assert len(table) == 12 and list(table["point"]) == [i // 2 for i in range(12)]
    assert list(table.columns[:6]) == [
        "point",
        "key",
        "arrivals.rate_per_hour",
        "policy.sla.steps.1.after_hours",
        "base_seed",
        "replication",
    ]
    # Point 4 (rate 3.0, reclaim at 6 h) is exactly run_replications on its configuration.
    task = design.tasks[4]
    expected = evaluate_point(task)
    got = table[table["point"] == 4].drop(columns=table.columns[:5]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected)

    scenario = load_scenario(tiny_file, ["arrivals.rate_per_hour=3.0"])
    policy = policy_model().model_validate(task.policy)
    direct = kpi_frame(run_replications(scenario, policy, 2, base_seed=4))
    pd.testing.assert_frame_equal(got, direct.drop(columns=["seed"]))
    # A rerun runs nothing and gives the same table.
    again = run_sweep(design, tmp_path / "out", SequentialEvaluator(progress=False))
    assert (again.reused, again.finished) == (6, 0)
    assert again.table.equals(table)
    assert read_manifest(tmp_path / "out")["points"][4]["key"] == task.key


def test_dask_with_one_and_two_workers_gives_the_sequential_table(
    tiny_file, tmp_path, dask_evaluator
):
    grid = {"arrivals.rate_per_hour": [1.5, 3.0], SLA_RECLAIM: [3, 9]}
    design = build_design(grid_spec(tiny_file, grid=grid))
    reference = run_sweep(design, tmp_path / "seq", SequentialEvaluator(progress=False))
    one = run_sweep(design, tmp_path / "one", dask_evaluator)
    assert dask_evaluator.threads() == 1
    dask_evaluator.client.cluster.scale(2)
    dask_evaluator.client.wait_for_workers(2, timeout=60)
    two = run_sweep(design, tmp_path / "two", dask_evaluator)
    assert dask_evaluator.threads() == 2
    assert one.table.equals(reference.table) and two.table.equals(reference.table)
    files = [(tmp_path / name / "results.parquet").read_bytes() for name in ("seq", "one", "two")]
    assert files[0] == files[1] == files[2]  # byte-identical Parquet


def test_a_failing_point_is_recorded_and_the_others_finish(tmp_path, dask_evaluator):
    # strict_channels refuses a run whose channel can miss a required field unmapped:
    # the configuration validates, but the run raises.
    scenario = write_yaml(
        tmp_path / "s.yaml",
        tiny_scenario_dict(
            leads={"channels": {"web_form": 1, "douyin": 1}, "by_channel": {"douyin": {}}}
        ),
    )
    policy = write_yaml(tmp_path / "p.yaml", {"intake": {"required_fields": ["timeline_days"]}})
    spec = SweepSpec(
        scenario=scenario,
        policy=policy,
        grid={"intake.strict_channels": [False, True], "horizon_days": [1, 2]},
        replications=1,
    )
    design = build_design(spec)
    out = tmp_path / "out"
    outcome = run_sweep(design, out, dask_evaluator)
    assert not outcome.complete and outcome.finished == 2
    assert [f["point"] for f in sorted(outcome.failed, key=lambda f: f["point"])] == [2, 3]
    assert "ConfigError" in outcome.failed[0]["error"] and "douyin" in outcome.failed[0]["error"]
    assert (out / "failures.json").is_file() and not (out / "results.parquet").exists()
    assert len(combined_table(out)) == 2  # what finished is readable
    fixed = build_design(spec.model_copy(update={"grid": {"horizon_days": [1, 2]}}))
    with pytest.raises(ConfigError, match="holds a different sweep"):  # a folder, one design
        run_sweep(fixed, out, dask_evaluator)
    assert (out / "failures.json").is_file()  # left as it was
    done = run_sweep(fixed, tmp_path / "fixed", dask_evaluator)
    assert done.complete and not (tmp_path / "fixed" / "failures.json").exists()


KILL_GRID = ["arrivals.rate_per_hour=1.5,2,2.5,3", f"{SLA_RECLAIM}=3,6"]


def sweep_command(scenario: str, out, workers: int) -> list[str]:
    levers = [arg for item in KILL_GRID for arg in ("--grid", item)]
    return [
        sys.executable,
        "-m",
        "sim",
        "sweep",
        scenario,
        *levers,
        *("-n", "2", "--seed", "4", "--workers", str(workers), "--no-progress"),
        *("--out", str(out)),
    ]


@pytest.fixture(scope="module")
def kill_case(tmp_path_factory):
    """The scenario file of the interruption tests and its uninterrupted sweep."""
    folder = tmp_path_factory.mktemp("kill")
    scenario = write_yaml(folder / "tiny.yaml", tiny_scenario_dict(horizon_days=4))
    spec = spec_from_options(scenario, None, KILL_GRID, [], replications=2, seed=4)
    clean = run_sweep(build_design(spec), folder / "clean", SequentialEvaluator(progress=False))
    return scenario, clean


# The sweep command with a gate: once its second point file is written, the command blocks
# (on a pipe) after telling the test so on stdout.  The test then interrupts it: the
# interruption always lands with exactly two points finished, however busy the machine
# (no race against the clock; the test never sleeps).
GATED_SWEEP = """
import os
import select
import signal
import sys

import sim.experiments.sweep as sweep
from sim.cli.main import main

# A shell starts background jobs with SIGINT ignored, and Python then keeps it ignored:
# restore Ctrl-C's usual meaning, whatever this test run inherited.
signal.signal(signal.SIGINT, signal.default_int_handler)
write = sweep.write_frame
points = []


def gated(frame, path):
    write(frame, path)
    if path.parent.name == "points":
        points.append(path)
        if len(points) == 2:
            # A signal may be delivered to any thread (Dask runs several): the wakeup pipe
            # wakes this, the main thread, which then runs the handler (KeyboardInterrupt).
            wake, wakeup = os.pipe()
            os.set_blocking(wakeup, False)
            signal.set_wakeup_fd(wakeup)
            print("two points written", flush=True)
            while True:  # until the test's signal, or the test's end (stdin closes)
                ready, _, _ = select.select([wake, sys.stdin], [], [])
                if sys.stdin in ready:
                    return


sweep.write_frame = gated
sys.exit(main(sys.argv[1:]))
"""


def interrupt_at_two_points(command: list[str], sig: int, log) -> tuple[int, str]:
    """Run *command* (a sweep) gated after two points, send *sig*; exit code and stderr."""
    with log.open("w", encoding="utf-8") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-c", GATED_SWEEP, *command[3:]],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        try:
            line = proc.stdout.readline()  # returns once the gate is reached (or on exit)
            assert line == "two points written\n", log.read_text(encoding="utf-8")
            os.kill(proc.pid, sig)
            proc.wait(timeout=300)  # a guard against a hang, not a synchronisation
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdin.close()
            proc.stdout.close()
    return proc.returncode, log.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("workers", "sig"), [(0, signal.SIGKILL), (1, signal.SIGINT)], ids=["in-process", "dask"]
)
def test_killed_sweep_resumes_to_the_uninterrupted_table(tmp_path, kill_case, workers, sig):
    scenario, clean = kill_case
    out = tmp_path / "killed"
    code, stderr = interrupt_at_two_points(
        sweep_command(scenario, out, workers), sig, tmp_path / "err"
    )
    assert len(list((out / "points").glob("*.parquet"))) == 2, stderr
    assert not list((out / "points").glob(".*.tmp"))  # no half-written file
    if sig == signal.SIGINT:
        assert code == 130, stderr
        assert "point(s) finished in this call and kept in" in stderr
        assert "run the same command again to resume" in stderr
    else:
        assert code == -signal.SIGKILL
    assert not (out / "results.parquet").exists()

    # The killed command's lock went with it: the same command resumes, in this process.
    assert main(sweep_command(scenario, out, 0)[3:]) == 0
    assert len(list((out / "points").glob("*.parquet"))) == 8
    resumed = pd.read_parquet(out / "results.parquet")
    assert resumed.equals(clean.table)
    assert (out / "results.parquet").read_bytes() == clean.results_path.read_bytes()


# -- command line ----------------------------------------------------------------------------
def test_cli_sweep_from_a_spec_file(tmp_path, capsys):
    scenario = write_yaml(tmp_path / "tiny.yaml", tiny_scenario_dict())
    spec = write_yaml(
        tmp_path / "demo.yaml",
        {"scenario": scenario, "grid": {SLA_RECLAIM: [3, 6]}, "replications": 1},
    )
    assert load_sweep_spec(spec).grid == {SLA_RECLAIM: [3, 6]}
    out = tmp_path / "out"
    code = main(["sweep", "--spec", spec, "--workers", "0", "--no-progress", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0 and captured.out.strip() == str(out / "results.parquet")
    assert "2 point(s): 0 already finished, 2 run now, 0 failed" in captured.err
    assert read_manifest(out)["name"] == "demo"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--grid", "arrivals.rate_per_hour"], "--grid 'arrivals.rate_per_hour': expected"),
        (["--grid", "arrivals.rate_per_hour=1,-1"], "--grid arrivals.rate_per_hour=-1:"),
        (["--grid", "bogus.path=1"], "--grid bogus.path: unknown field 'bogus'"),
        (["--range", "horizon_days=3:1"], "range horizon_days: need finite low < high"),
        (["--range", "horizon_days=1:3"], "needs at least one range and a number of samples"),
        (["--grid", "horizon_days=1", "--workers", "-1"], "--workers: must be >= 0"),
        (["--grid", "horizon_days=1", "--samples", "0"], "--samples: must be >= 1"),
        (["--grid", "horizon_days=1", "--spec", "x.yaml"], "--spec already defines the sweep"),
        (["--grid", "horizon_days=1", "--bogus"], "unrecognized arguments: --bogus"),
        ([], "nothing to sweep"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(tiny_file, tmp_path, capsys, extra, message):
    code = main(["sweep", tiny_file, "--workers", "0", "--out", str(tmp_path / "o"), *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert message in err
    assert not (tmp_path / "o").exists()  # nothing ran


# -- reading the table -----------------------------------------------------------------------
def test_sweep_analysis_on_a_hand_made_table():
    table = pd.DataFrame(
        {
            "point": [0, 0, 0, 1, 1, 1, 2, 2, 2],
            "x": [1, 1, 1, 2, 2, 2, 3, 3, 3],
            "y": ["a", "a", "a", "a", "a", "a", "b", "b", "b"],
            "replication": [0, 1, 2] * 3,
            "sla_reclaims": [4.0, 5, 6, 1, 2, 3, 1, 2, 4],  # means 5, 2, 7/3 (lower is better)
            "qualification_rate": [0.1, 0.2, 0.3, 0.2, 0.3, 0.4, 0.3, 0.4, 0.5],
        }
    )
    summary = point_summary(table, ["x", "y"])
    row = summary[(summary["point"] == 0) & (summary["kpi"] == "sla_reclaims")].iloc[0]
    assert (row["x"], row["y"], row["mean"], row["n"]) == (1, "a", 5.0, 3)
    assert row["ci_high"] - 5.0 == pytest.approx(4.302652729749464 / 3**0.5)  # s = 1

    best = best_points(table, ["x", "y"], ["sla_reclaims", "qualification_rate"])
    reclaims = best.set_index("kpi").loc["sla_reclaims"]
    assert (reclaims["point"], reclaims["x"], reclaims["mean"]) == (1, 2, 2.0)
    assert reclaims["runner_up"] == pytest.approx(7 / 3)
    # best - runner-up per replication: 0, 0, -1 -> mean -1/3, s = sqrt(1/3), n = 3
    half = 4.302652729749464 * (1 / 3) ** 0.5 / 3**0.5
    assert reclaims["gap_low"] == pytest.approx(-1 / 3 - half)
    assert reclaims["gap_high"] == pytest.approx(-1 / 3 + half)
    assert not reclaims["clear"]
    rate = best.set_index("kpi").loc["qualification_rate"]
    assert rate["point"] == 2 and rate["clear"]  # +0.1 in every replication
    assert rate["gap_low"] == pytest.approx(0.1) and rate["gap_high"] == pytest.approx(0.1)

    effects = lever_effects(table, ["x", "y"], "sla_reclaims")
    assert list(effects["lever"]) == ["x", "y"]  # x swings 3.0, y swings 7/3 - 7/2
    x = effects.iloc[0]
    assert (x["low"], x["high"], x["swing"], x["at_low"], x["at_high"]) == (2.0, 5.0, 3.0, "2", "1")
    y = effects.iloc[1]
    assert y["low"] == pytest.approx(7 / 3) and y["high"] == pytest.approx(3.5)


def test_shorthand_and_optional_block_levers_resolve():
    """The breaker's reclaim_hours shorthand and a field of an optional block that is off
    (newbie protection) are sweepable: the block is switched on with its defaults."""
    from sim.world.loading import load_policy

    policy = load_policy(
        POLICIES / "source_defaults.yaml",
        ["sla.reclaim_hours=8", "allocation.newbie_protection.a_share_max=0.05"],
    )
    assert [(s.after_hours, s.action) for s in policy.sla.steps] == [(2, "remind"), (8, "reclaim")]
    assert policy.allocation.newbie_protection.a_share_max == 0.05
    assert policy.allocation.newbie_protection.days == 7  # the block's default


def test_readme_reclaim_sweep_example_builds_and_a_collision_names_both_steps():
    """The README's shorthand example validates at every point; a reclaim at the reminder's
    hour is refused naming both steps and their hours."""
    import re
    import shlex

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = re.search(r"python -m sim sweep (.*?\\\n.*--grid sla\.reclaim_hours=.*)", readme)
    args = shlex.split(command.group(1).replace("\\\n", " "))
    grids = [args[i + 1] for i, arg in enumerate(args) if arg == "--grid"]
    spec = spec_from_options(
        str(ROOT / args[0]), str(ROOT / args[args.index("--policy") + 1]), grids, []
    )
    design = build_design(spec)
    assert len(design.tasks) == 6
    reclaims = {task.policy["sla"]["steps"][-1]["after_hours"] for task in design.tasks}
    assert reclaims == {3, 4, 8}
    assert {task.policy["sla"]["steps"][0]["after_hours"] for task in design.tasks} == {2}

    spec = spec_from_options(str(ROOT / args[0]), None, ["sla.reclaim_hours=2,4"], [])
    with pytest.raises(ConfigError) as caught:
        build_design(spec)
    assert str(caught.value) == (
        "--grid policy.sla.reclaim_hours=2: sla: steps.1 (reclaim at 2 h) must come after "
        "steps.0 (remind at 2 h): after_hours must be strictly increasing (set remind_hours "
        "too when moving reclaim_hours to or below the reminder)"
    )
