"""One writer per output folder, and one design per sweep folder: a second command, or a
sweep of another design, stops with one line and exit 2 before writing anything; a
killed writer leaves no stale lock.  Every wait is on an event (a line the other process
prints), never on the clock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, tiny_scenario_dict
from sim.cli.main import main
from sim.errors import ConfigError
from sim.experiments.fanout import SequentialEvaluator
from sim.experiments.store import read_manifest
from sim.experiments.sweep import run_sweep
from sim.experiments.sweep_design import build_design
from sim.experiments.sweep_spec import SweepSpec
from sim.io.locks import LOCK_FILE, folder_lock

# Takes the lock of the folder in argv[1], says so, and holds it until stdin closes.
HOLDER = """
import sys
from sim.io.locks import folder_lock

with folder_lock(sys.argv[1], "holder"):
    print("locked", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture
def tiny_file(tmp_path) -> str:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_scenario_dict(horizon_days=1)), encoding="utf-8")
    return str(path)


def take(folder, command: str) -> None:
    """Take the lock of *folder* and give it back."""
    with folder_lock(folder, command):
        pass


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    return err.strip()


# -- the lock ---------------------------------------------------------------------------------
def test_a_second_writer_is_refused_naming_the_holder(tmp_path):
    with folder_lock(tmp_path / "out", "sweep"), pytest.raises(ConfigError) as caught:
        take(tmp_path / "out", "run")
    message = str(caught.value)
    assert message == (
        f"{tmp_path / 'out'}: sweep (pid {os.getpid()}) is writing this folder; wait for it "
        "to finish or choose another --out"
    )
    with folder_lock(tmp_path / "out", "run"):  # released at the end of the block
        pass
    with pytest.raises(RuntimeError), folder_lock(tmp_path / "out", "run"):
        raise RuntimeError("boom")
    with folder_lock(tmp_path / "out", "run"):  # and when the block raises
        pass


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline() == "locked\n"
        with pytest.raises(ConfigError, match=rf"holder \(pid {proc.pid}\) is writing"):
            take(out, "run")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=120)  # a guard against a hang, not a synchronisation
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdin.close()
        proc.stdout.close()
    assert (out / LOCK_FILE).is_file()  # the file stays; the operating system's lock went
    with folder_lock(out, "run"):
        pass


def test_a_folder_that_cannot_be_made_is_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="cannot create output folder"):
        take(tmp_path / "file" / "out", "run")


# -- commands writing a locked folder -----------------------------------------------------
def test_a_second_sweep_into_a_busy_folder_is_exit_2(tiny_file, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["sweep", tiny_file, "--grid", "horizon_days=1", "-n", "1", "--workers", "0"]
    with folder_lock(out, "sweep"):
        assert main([*argv, "--no-progress", "--out", str(out)]) == 2
    assert "sweep (pid" in one_line_error(capsys)
    assert not (out / "sweep.json").exists()


def test_a_second_run_into_a_busy_folder_is_exit_2(tiny_file, tmp_path, capsys):
    out = tmp_path / "run"
    with folder_lock(out, "run"):
        assert main(["run", tiny_file, "--out", str(out)]) == 2
    assert one_line_error(capsys).endswith(
        "is writing this folder; wait for it to finish or choose another --out"
    )
    assert sorted(p.name for p in out.iterdir()) == [LOCK_FILE]  # nothing written


def test_a_second_import_into_a_busy_folder_is_exit_2(tmp_path, capsys):
    from sim.history.synthetic_export import make_sample

    make_sample(tmp_path / "export", seed=3)
    capsys.readouterr()
    mapping = ROOT / "scenarios" / "mappings" / "sample.yaml"
    out = tmp_path / "data"
    with folder_lock(out, "import"):
        argv = ["import", str(tmp_path / "export"), "--mapping", str(mapping), "--out", str(out)]
        assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "import (pid" in captured.err
    assert sorted(p.name for p in out.iterdir()) == [LOCK_FILE]


# -- one design per sweep folder ----------------------------------------------------------
def test_a_sweep_folder_belongs_to_one_design(tiny_file, tmp_path, capsys):
    out = tmp_path / "out"
    spec = SweepSpec(scenario=tiny_file, grid={"horizon_days": [1, 2]}, replications=1)
    first = run_sweep(build_design(spec), out, SequentialEvaluator(progress=False))
    assert first.complete
    stored = read_manifest(out)["design_hash"]

    # The same design under another name and spelling is the same folder's design.
    same = spec.model_copy(update={"name": "renamed", "grid": {"scenario.horizon_days": [1, 2]}})
    assert run_sweep(build_design(same), out, SequentialEvaluator(progress=False)).reused == 2
    assert read_manifest(out)["design_hash"] == stored
    manifest = (out / "sweep.json").read_bytes()
    results = (out / "results.parquet").read_bytes()

    # Another design: one line, exit 2, and the folder is left exactly as it was.
    argv = ["sweep", tiny_file, "--grid", "horizon_days=1,3", "-n", "1", "--workers", "0"]
    assert main([*argv, "--no-progress", "--out", str(out)]) == 2
    message = one_line_error(capsys)
    assert message.startswith(f"error: --out {out}: holds a different sweep (")
    assert f"design {stored[:12]}) from this one (design " in message
    assert message.endswith("choose another --out or remove the folder")
    other = spec.model_copy(update={"replications": 2})
    with pytest.raises(ConfigError, match="holds a different sweep"):
        run_sweep(build_design(other), out, SequentialEvaluator(progress=False))
    assert (out / "sweep.json").read_bytes() == manifest
    assert (out / "results.parquet").read_bytes() == results
    assert len(list((out / "points").glob("*.parquet"))) == 2


def test_a_sweep_json_without_hash_is_compared_by_its_content(tiny_file, tmp_path):
    """A folder written before the hash was stored is still recognised."""
    out = tmp_path / "out"
    spec = SweepSpec(scenario=tiny_file, grid={"horizon_days": [1]}, replications=1)
    run_sweep(build_design(spec), out, SequentialEvaluator(progress=False))
    manifest = read_manifest(out)
    del manifest["design_hash"]
    (out / "sweep.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert run_sweep(build_design(spec), out, SequentialEvaluator(progress=False)).reused == 1
    with pytest.raises(ConfigError, match="holds a different sweep"):
        other = spec.model_copy(update={"grid": {"horizon_days": [2]}})
        run_sweep(build_design(other), out, SequentialEvaluator(progress=False))


def test_a_results_table_without_its_design_is_removed(tiny_file, tmp_path):
    """results.parquet is only ever the table of the sweep.json beside it."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.parquet").write_bytes(b"another sweep's table")
    spec = SweepSpec(scenario=tiny_file, grid={"horizon_days": [1, 2]}, replications=1)

    def stop(task):
        raise KeyboardInterrupt  # killed after its first point

    with pytest.raises(KeyboardInterrupt):
        run_sweep(build_design(spec), out, SequentialEvaluator(progress=False), on_point=stop)
    assert not (out / "results.parquet").exists()
    assert read_manifest(out)["design_hash"]
