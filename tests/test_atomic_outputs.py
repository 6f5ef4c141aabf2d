"""Output folders appear complete or not at all: files by rename, a completion marker last,
and readers that refuse a folder an interrupted command left.  The interrupted commands
are real processes killed at a gate they reach (a line on stdout), never on a timer."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, tiny_scenario_dict
from sim.cli.main import main
from sim.errors import ConfigError
from sim.history.import_folder import read_imported
from sim.history.importer import import_export, write_import
from sim.history.mapping import load_mapping_spec
from sim.history.synthetic_export import make_sample
from sim.io.atomic import (
    COMPLETE_MARKER,
    atomic_path,
    atomic_write_text,
    require_complete,
    require_complete_file,
)
from sim.io.locks import LOCK_FILE

MAPPING = ROOT / "scenarios" / "mappings" / "sample.yaml"

# Runs a CLI command with one function replaced by a gate: on its first call the gate
# says so on stdout and blocks until stdin closes (the test kills the process first).
# argv: MODULE ATTRIBUTE before|after COMMAND...
GATED = """
import importlib
import sys

module = importlib.import_module(sys.argv[1])
original = getattr(module, sys.argv[2])


def gated(*args, **kwargs):
    if sys.argv[3] == "after":
        original(*args, **kwargs)
    print("at the gate", flush=True)
    sys.stdin.readline()
    return original(*args, **kwargs) if sys.argv[3] == "before" else None


setattr(module, sys.argv[2], gated)
from sim.cli.main import main

sys.exit(main(sys.argv[4:]))
"""


def kill_at_gate(module: str, attribute: str, when: str, argv: list[str]) -> int:
    """Run the CLI *argv* gated at ``module.attribute``; SIGKILL it there; its exit code."""
    proc = subprocess.Popen(
        [sys.executable, "-c", GATED, module, attribute, when, *argv],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        printed = []  # the command's own output, then the gate's line (or the end)
        while (line := proc.stdout.readline()) not in ("at the gate\n", ""):
            printed.append(line)
        if not line:
            proc.wait(timeout=120)
            pytest.fail(f"never reached the gate: {printed} {proc.stderr.read()}")
        proc.send_signal(signal.SIGKILL)
        return proc.wait(timeout=120)  # a guard against a hang, not a synchronisation
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            stream.close()


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    return err.strip().removeprefix("error: ")


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """Two synthetic CRM exports (different seeds: different tables)."""
    root = tmp_path_factory.mktemp("exports")
    make_sample(root / "a", seed=3)
    make_sample(root / "b", seed=5)
    return root / "a", root / "b"


@pytest.fixture
def tiny_file(tmp_path) -> str:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_scenario_dict(horizon_days=1)), encoding="utf-8")
    return str(path)


# -- the helpers ------------------------------------------------------------------------------
def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "table.csv"
    atomic_write_text(target, "old\n")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half a fi")
        raise RuntimeError("killed")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]


def test_a_folder_without_its_marker_is_refused(tmp_path):
    with pytest.raises(ConfigError) as caught:
        require_complete(tmp_path, "import")
    assert str(caught.value) == f"{tmp_path}: was not completely written: rerun import"
    (tmp_path / COMPLETE_MARKER).write_text(json.dumps({"command": "run", "files": []}))
    with pytest.raises(ConfigError, match="rerun import"):
        require_complete(tmp_path, "import")  # another command's folder
    (tmp_path / "leads.parquet").write_bytes(b"by hand")
    with pytest.raises(ConfigError, match=r"leads.parquet: not written by the last run of"):
        require_complete_file(tmp_path / "leads.parquet")
    hand = tmp_path / "hand"
    hand.mkdir()
    require_complete_file(hand / "leads.parquet")  # a folder no command wrote: not checked


# -- run --out -----------------------------------------------------------------------------
def test_run_folder_is_marked_complete_last_and_old_tables_go(tiny_file, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "contracts.parquet").write_bytes(b"from an older run with a process model")
    assert main(["run", tiny_file, "--out", str(out)]) == 0
    files = ["events.parquet", "kpis.json", "leads.parquet", "reps.parquet"]
    assert require_complete(out, "run") == files
    assert sorted(p.name for p in out.iterdir()) == sorted([*files, COMPLETE_MARKER, LOCK_FILE])


def test_a_run_interrupted_while_writing_is_not_complete(tiny_file, tmp_path, monkeypatch):
    import sim.outcomes.run_files as run_files

    out = tmp_path / "run"
    assert main(["run", tiny_file, "--out", str(out)]) == 0
    kpis = (out / "kpis.json").read_bytes()

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_files, "atomic_write_text", killed)  # dies before kpis.json
    assert main(["run", tiny_file, "--seed", "9", "--out", str(out)]) == 130
    assert (out / "kpis.json").read_bytes() == kpis  # the old file, whole
    with pytest.raises(ConfigError, match="was not completely written: rerun run"):
        require_complete(out, "run")


# -- import, and its readers -------------------------------------------------------------------
def test_an_import_killed_over_an_older_one_is_refused_by_its_readers(
    exports, tmp_path, tiny_file, capsys
):
    data = tmp_path / "data"
    write_import(import_export(exports[0], load_mapping_spec(MAPPING)), data)
    argv = ["import", str(exports[1]), "--mapping", str(MAPPING), "--out", str(data)]
    # Killed once its first table (leads) is in place: the folder mixes the two imports.
    code = kill_at_gate("sim.history.import_folder", "write_frame", "after", argv)
    assert code == -signal.SIGKILL
    assert (data / "leads.parquet").is_file() and not (data / COMPLETE_MARKER).exists()

    expected = f"{data}: was not completely written: rerun import"
    scenario = str(tmp_path / "fitted.yaml")
    assert main(["calibrate", str(data), "--out", scenario]) == 2
    assert one_line(capsys) == expected
    assert not (tmp_path / "fitted.yaml").exists()
    assert main(["backtest", str(data), "--scenario", tiny_file, "--out", str(tmp_path)]) == 2
    assert one_line(capsys) == expected
    replaying = tmp_path / "replay.yaml"
    replay = tiny_scenario_dict(arrivals={"replay": str(data / "leads.parquet")})
    replaying.write_text(yaml.safe_dump(replay), encoding="utf-8")
    assert main(["run", str(replaying), "--out", str(tmp_path / "r")]) == 2
    assert one_line(capsys) == expected

    # Importing again completes the folder: the readers read the new import only.
    assert main(argv) == 0
    tables, report = read_imported(data)
    again = import_export(exports[1], load_mapping_spec(MAPPING))
    assert report["totals"] == again.totals()
    assert sorted(tables) == sorted(again.tables)
    assert len(tables["leads"]) == len(again.tables["leads"])


def test_an_import_that_drops_a_table_removes_the_old_one(exports, tmp_path):
    data = tmp_path / "data"
    result = import_export(exports[0], load_mapping_spec(MAPPING))
    write_import(result, data)
    assert (data / "payments.parquet").is_file()
    result.tables.pop("payments")
    write_import(result, data)
    assert not (data / "payments.parquet").exists()
    assert "payments" not in read_imported(data)[0]


# -- calibrate -------------------------------------------------------------------------------
def test_a_killed_calibrate_leaves_the_old_scenario_or_none(exports, tmp_path, capsys):
    data = tmp_path / "data"
    write_import(import_export(exports[0], load_mapping_spec(MAPPING)), data)
    target = tmp_path / "scenarios" / "fitted.yaml"
    argv = ["calibrate", str(data), "--out", str(target)]
    # Killed while fitting the process block, after the first part is written and loaded.
    code = kill_at_gate("sim.history.deal_stage_fit", "fit_process", "before", argv)
    assert code == -signal.SIGKILL
    assert not target.exists()  # not a scenario without its process: block
    assert main(["validate", str(target)]) == 2
    assert capsys.readouterr().err == f"{target}: file not found\n"

    target.write_text("# the previous calibration\n")
    assert kill_at_gate("sim.history.deal_stage_fit", "fit_process", "before", argv) < 0
    assert target.read_text() == "# the previous calibration\n"
