"""Crash test of every entry point: malformed files and arguments give exit 2 and one
line on stderr, never a traceback.

A table corpus of broken YAML goes into every place a command reads a YAML file, and
Hypothesis (derandomized, so every run tries the same inputs) feeds malformed argument
values, YAML and CSV/Parquet bytes.  Everything runs in-process through
``sim.cli.main.main``; no input here ever starts a simulation or a report.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import POLICIES, SCENARIOS
from policies.policy import policy_model
from sim.cli.main import main
from sim.world.scenario import Scenario

BASELINE = str(SCENARIOS / "baseline.yaml")
NO_SLA = str(POLICIES / "no_sla.yaml")
LEDGER = SCENARIOS / "ledgers" / "sample"
MAPPING = str(SCENARIOS / "mappings" / "sample.yaml")
FIELDS = set(Scenario.model_fields) | set(policy_model().model_fields) | {"scenario", "policy"}
FUZZ = settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def one_line(capsys, argv: list[str], codes: tuple[int, ...] = (2,)) -> list[str]:
    """Run the CLI; the exit code is in *codes* and a failure is one stderr line."""
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err
    assert code in codes, (argv, code, err)
    if code == 2:
        assert len(lines) == 1, (argv, lines)
    return lines


# --- broken YAML in every place a YAML file is read ---------------------------------

BOMB = "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}' if i else 'x'] * 9)}]\n" for i in range(9))
BROKEN_YAML: dict[str, str | bytes | None] = {
    "alias-bomb": BOMB + "team: [*l8, *l8]\nrouting: [*l8]\ntables: [*l8]\nvariants: [*l8]\n",
    "deep-lists": "team: " + "[" * 490 + "]" * 490 + "\n",
    "deep-mappings": "routing: " + "{a: " * 300 + "1" + "}" * 300 + "\n",
    "list-key": "? [1, 2]\n: 3\n",
    "mapping-key": "? {a: 1}\n: 3\n",
    "duplicate-key": "name: a\nname: b\n",
    "tab-syntax": "name:\t[\n",
    "python-tag": "x: !!python/object/apply:os.system ['echo hi']\n",
    "unknown-tag": "x: !foo 1\n",
    "top-level-list": "- 1\n- 2\n",
    "top-level-text": "hello\n",
    "empty": "",
    "comment-only": "# nothing\n",
    "impossible-date": "start: 2026-02-30\nteam: {}\n",
    "two-documents": "a: 1\n---\nb: 2\n",
    "not-utf8": b"name: \xe9\xff\n",
    "nul-byte": b"name: a\x00b\n",
    "directory": None,
}


@pytest.fixture
def broken(tmp_path, request) -> str:
    content = BROKEN_YAML[request.param]
    path = tmp_path / f"{request.param}.yaml"
    if content is None:
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


def _places(out: Path) -> dict[str, list[str]]:
    f = "{file}"
    return {
        "validate": ["validate", f],
        "run scenario": ["run", f, "--out", out],
        "run policy": ["run", BASELINE, "--policy", f, "--out", out],
        "compare scenario": ["compare", f, "--policy", NO_SLA, "--policy", NO_SLA, "-n", "1"],
        "compare policy": ["compare", BASELINE, "--policy", f, "--policy", NO_SLA, "-n", "1"],
        "sweep spec": ["sweep", "--spec", f, "--out", out],
        "sweep scenario": ["sweep", f, "--grid", "horizon_days=1,2", "--out", out],
        "report scenario": ["report", "scenario_report", "--scenario", f, "--out", out],
        "report policy": ["report", "scenario_report", "--policy", f, "--out", out],
        "report batch": ["report", "scenario_report", "--batch", f, "--out", out],
        "import mapping": ["import", str(LEDGER), "--mapping", f, "--check"],
        "backtest scenario": ["backtest", out, "--scenario", f],
        "backtest policy": ["backtest", out, "--scenario", BASELINE, "--candidate", f],
        "incentive calc": [
            "incentive",
            "calc",
            "--policy",
            f,
            "--contract",
            "C-1003",
            "--as-of",
            "2026-04-01",
            "--out",
            out,
        ],
        "incentive statements": [
            "incentive",
            "statements",
            "--policy",
            f,
            "--period",
            "2026-03",
            "--out",
            out,
        ],
    }


PLACES = list(_places(Path("out")))


@pytest.mark.parametrize("broken", list(BROKEN_YAML), indirect=True)
@pytest.mark.parametrize("place", PLACES)
def test_broken_yaml_everywhere_is_one_line(tmp_path, capsys, broken, place):
    argv = [broken if part == "{file}" else part for part in _places(tmp_path / "out")[place]]
    one_line(capsys, argv)
    assert not (tmp_path / "out").exists()  # refused before anything is written


# --- malformed argument values -------------------------------------------------------


def _not_whole(text: str, minimum: int) -> bool:
    try:
        return int(text.strip()) < minimum
    except ValueError:
        return True


ARG_TEXT = st.text(min_size=0, max_size=30).filter(lambda s: not s.startswith("-"))


@FUZZ
@given(seed=ARG_TEXT)
def test_run_seed(capsys, seed):
    assume(_not_whole(seed, 0))
    one_line(capsys, ["run", BASELINE, "--seed", seed])


@FUZZ
@given(item=st.text(max_size=40))
def test_run_set(capsys, item):
    head = item.partition("=")[0].strip().split(".")[0]
    assume(head not in FIELDS)
    one_line(capsys, ["run", BASELINE, f"--set={item}"])


@FUZZ
@given(n=ARG_TEXT)
def test_compare_replications(capsys, n):
    assume(_not_whole(n, 1))
    one_line(capsys, ["compare", BASELINE, "--policy", NO_SLA, "--policy", NO_SLA, "-n", n])


@FUZZ
@given(grid=st.text(max_size=40), ranged=st.text(max_size=40))
def test_sweep_grid_and_range(capsys, grid, ranged):
    for item in (grid, ranged):
        assume(item.partition("=")[0].strip().split(".")[0] not in FIELDS)
    one_line(capsys, ["sweep", BASELINE, f"--grid={grid}", f"--range={ranged}", "--samples", "2"])


@FUZZ
@given(name=ARG_TEXT)
def test_report_notebook_name(capsys, name):
    notebooks = {p.stem for p in (SCENARIOS.parent / "notebooks").glob("*.ipynb")}
    assume(name.strip() not in notebooks)
    one_line(capsys, ["report", name])


@FUZZ
@given(value=st.text(max_size=40))
def test_report_parameter_twice(capsys, value):
    one_line(capsys, ["report", "scenario_report", "-p", "seed", value, "-p", "seed", value])


def _valid_date(text: str) -> bool:
    try:
        return 1900 <= dt.date.fromisoformat(text).year < 3000
    except ValueError:
        return False


@FUZZ
@given(as_of=ARG_TEXT, contract=ARG_TEXT)
def test_incentive_calc_arguments(capsys, as_of, contract):
    assume(not _valid_date(as_of))
    one_line(capsys, ["incentive", "calc", "--contract", contract, "--as-of", as_of])


@FUZZ
@given(period=ARG_TEXT)
def test_incentive_statements_period(capsys, period):
    assume(not _valid_date(f"{period}-01"))
    one_line(capsys, ["incentive", "statements", "--period", period])


@pytest.mark.parametrize(
    "argv",
    [
        ["incentive", "calc", "--contract", "C-1003", "--as-of", "9999-12-31"],
        ["incentive", "calc", "--contract", "C-1003", "--as-of", "0001-01-01"],
        ["incentive", "statements", "--period", "9999-12"],
        ["incentive", "calc", "--contract", "nope", "--as-of", "2026-01-01"],
        ["incentive", "calc", "--contract", "a", "--contract", "b", "--as-of", "2026-01-01"],
        [
            "incentive",
            "calc",
            "--ledger",
            "/nonexistent",
            "--contract",
            "C",
            "--as-of",
            "2026-01-01",
        ],
        ["backtest", "no-data", "--scenario", BASELINE, "--seed", "-5"],
        ["calibrate", "no-data", "--out", "x.txt"],
        ["import", "no-export", "--mapping", MAPPING, "--check"],
        ["import", "--make-sample", "x", "--seed", "-1"],
        ["run", BASELINE, "--seed", "1", "--seed", "2"],
        ["run", BASELINE, "--set", "horizon_days=1", "--set", "horizon_days=2"],
        ["run", BASELINE, "--set", "sla.reclaim_hours=1", "--set", "policy.sla.reclaim_hours=2"],
        ["compare", BASELINE, "--policy", NO_SLA, "--set", "a.b=1", "--set", "a.b=2"],
        ["sweep", BASELINE, "--grid", "sla.reclaim_hours=4,8", "--set", "sla.reclaim_hours=3"],
        ["report", "scenario_report", "--set", "horizon_days=1", "--set", "horizon_days=2"],
        ["report", "../../etc/passwd"],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_argument_table(capsys, argv):
    one_line(capsys, argv)


# --- malformed data files ------------------------------------------------------------

BYTES = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda s: s.encode("utf-8")),
    st.just(b"PAR1"),
)


@FUZZ
@given(content=BYTES)
def test_import_mapping_bytes(capsys, content):
    with tempfile.TemporaryDirectory() as folder:
        mapping = Path(folder) / "mapping.yaml"
        mapping.write_bytes(content)
        one_line(capsys, ["import", str(LEDGER), "--mapping", mapping, "--check"])


@FUZZ
@given(content=BYTES)
def test_validate_bytes(capsys, content):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "any.yaml"
        path.write_bytes(content)
        code = main(["validate", str(path)])
        err = capsys.readouterr().err
        assert code in (0, 2) and "Traceback" not in err
        assert all(line.startswith(str(path)) for line in err.splitlines() if line.strip())


@FUZZ
@given(name=st.sampled_from(sorted(p.name for p in LEDGER.glob("*.csv"))), content=BYTES)
def test_incentive_ledger_bytes(capsys, name, content):
    # A row problem is quarantined (exit 0, listed); a file problem is exit 2, one line.
    with tempfile.TemporaryDirectory() as folder:
        ledger = Path(folder) / "ledger"
        shutil.copytree(LEDGER, ledger)
        (ledger / name).write_bytes(content)
        argv = ["incentive", "calc", "--ledger", ledger, "--contract", "C-1003"]
        one_line(capsys, [*argv, "--as-of", "2026-04-01", "--out", Path(folder) / "out"], (0, 2))


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("imported")
    assert main(["import", "--make-sample", str(base / "export")]) == 0
    mapping = ["--mapping", MAPPING, "--out", str(base / "data")]
    assert main(["import", str(base / "export"), *mapping]) == 0
    return base / "data"


@pytest.mark.slow
@FUZZ
@given(content=BYTES)
def test_calibrate_and_backtest_corrupt_leads(capsys, imported, content):
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "data"
        shutil.copytree(imported, data)
        (data / "leads.parquet").write_bytes(content)
        one_line(capsys, ["calibrate", data, "--out", Path(folder) / "c.yaml"])
        one_line(capsys, ["backtest", data, "--scenario", BASELINE, "--replications", "1"])
