"""``python -m sim compare``: policies on the same seeds, paired differences and their
intervals printed per KPI; the per-run table it is built from; bad input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import tiny_scenario_dict
from sim import KPIS
from sim.cli.experiments import compare_files, policy_labels
from sim.cli.main import main
from sim.experiments.replications import paired_differences

N = 3


def write_yaml(path, data) -> str:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(path)


@pytest.fixture
def files(tmp_path):
    """A tiny world, and two policies: no SLA breaker vs a 0.5 h / 1 h calendar breaker."""
    scenario = write_yaml(
        tmp_path / "tiny.yaml",
        tiny_scenario_dict(horizon_days=2, arrivals={"rate_per_hour": 4.5}),
    )
    no_sla = write_yaml(tmp_path / "no_sla.yaml", {"name": "no_sla", "sla": {"steps": []}})
    fast = write_yaml(
        tmp_path / "fast.yaml",
        {
            "name": "fast",
            "sla": {
                "clock": "calendar",
                "steps": [
                    {"after_hours": 0.5, "action": "remind"},
                    {"after_hours": 1, "action": "reclaim"},
                ],
            },
        },
    )
    return scenario, no_sla, fast


def printed_rows(text: str) -> dict[str, list[str]]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("kpi "))
    rows = {}
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        cells = line.split()
        rows[cells[0]] = cells[1:]
    return rows


def test_library_frame_is_one_row_per_policy_and_replication_on_shared_seeds(files):
    scenario, no_sla, fast = files
    frame = compare_files(scenario, [no_sla, fast], N, base_seed=3)
    assert list(frame.columns) == ["policy", "replication", "seed", *KPIS]
    assert list(frame["policy"]) == ["no_sla"] * N + ["fast"] * N
    assert list(frame["seed"]) == [(3, i) for i in range(N)] * 2
    # Common random numbers: replication i brings the same leads under both policies.
    arrived = frame.pivot(index="replication", columns="policy", values="leads_arrived")
    assert arrived["no_sla"].tolist() == arrived["fast"].tolist()
    assert arrived["no_sla"].nunique() > 1  # ... and differs between replications
    assert frame.loc[frame["policy"] == "fast", "sla_reminders"].sum() > 0
    assert frame.loc[frame["policy"] == "no_sla", "sla_reminders"].sum() == 0


def test_cli_prints_every_kpi_with_means_difference_and_interval(files, capsys):
    scenario, no_sla, fast = files
    code = main(["compare", scenario, "--policy", no_sla, "--policy", fast, "-n", str(N)])
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0].startswith("fast vs no_sla: 3 paired replication(s)")
    rows = printed_rows(out)
    expected = paired_differences(compare_files(scenario, [no_sla, fast], N), "no_sla", "fast")
    expected = expected[expected["n"] > 0].set_index("kpi")
    assert list(rows) == list(expected.index)
    for kpi in ("sla_reminders", "first_touch_hours_mean", "leads_arrived"):
        row = expected.loc[kpi]
        cells = rows[kpi]
        numbers = [row[c] for c in ("baseline_mean", "candidate_mean", "difference")]
        numbers += [row["ci_low"], row["ci_high"]]
        assert cells[:5] == [f"{v:,.3f}" for v in numbers], kpi
    # Reminders only exist under the breaker: a clear rise, read as worse.
    assert " ".join(rows["sla_reminders"][5:]) == "worse events"
    assert rows["leads_arrived"][2:5] == ["0.000", "0.000", "0.000"]  # same leads: no noise


def test_warmup_days_leaves_early_leads_out(files):
    scenario, no_sla, fast = files
    whole = compare_files(scenario, [no_sla, fast], 2)
    later = compare_files(scenario, [no_sla, fast], 2, warmup_days=1)
    assert (later["leads_arrived"] < whole["leads_arrived"]).all()
    in_file = write_yaml(
        Path(files[0]).with_name("warm.yaml"),
        tiny_scenario_dict(horizon_days=2, arrivals={"rate_per_hour": 4.5}, warmup_days=1),
    )
    pd.testing.assert_frame_equal(later, compare_files(in_file, [no_sla, fast], 2))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_out_writes_the_per_run_table(files, tmp_path, capsys, suffix):
    scenario, no_sla, fast = files
    out = tmp_path / "sub" / f"runs{suffix}"
    argv = ["compare", scenario, "--policy", no_sla, "--policy", fast, "-n", "2", "--out", str(out)]
    assert main(argv) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    table = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert len(table) == 4 and list(table["seed"]) == ["0-0", "0-1"] * 2
    assert list(table.columns) == ["policy", "replication", "seed", *KPIS]


def test_policy_labels_are_stems_numbered_when_repeated():
    assert policy_labels(["a/x.yaml", "b/y.yaml"]) == ["x", "y"]
    assert policy_labels(["a/x.yaml", "b/x.yaml", "y.yaml"]) == ["x#1", "x#2", "y"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["-n", "0"], "-n/--replications: must be >= 1"),
        (["--warmup-days", "-1"], "--warmup-days: must be >= 0"),
        (["--warmup-days", "2"], "warmup_days (2.0) must be less than horizon_days"),
        (["--out", "x.txt"], "--out x.txt: expected a .csv or .parquet file name"),
        (["--set", "arrivals.rate_per_hour=-1"], "arrivals.poisson.rate_per_hour"),
        (["--policy", "missing.yaml"], "missing.yaml: file not found"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(files, capsys, extra, message):
    scenario, no_sla, fast = files
    code = main(["compare", scenario, "--policy", no_sla, "--policy", fast, *extra])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err, err


def test_one_policy_is_not_a_comparison(files, capsys):
    scenario, no_sla, _ = files
    assert main(["compare", scenario, "--policy", no_sla]) == 2
    assert "give it at least twice" in capsys.readouterr().err


def test_common_random_numbers_narrow_the_interval_against_independent_seeds(files):
    """As tests/test_comparison.py does for the library, here through the files the CLI
    reads: the candidate on other seeds (base 1000) gives a much wider interval."""
    scenario, no_sla, fast = files
    paired = compare_files(scenario, [no_sla, fast], 6)
    other = compare_files(scenario, [no_sla, fast], 6, base_seed=1000)
    independent = pd.concat(
        [paired[paired["policy"] == "no_sla"], other[other["policy"] == "fast"]]
    )

    def width(frame: pd.DataFrame, kpi: str) -> float:
        row = paired_differences(frame, "no_sla", "fast").set_index("kpi").loc[kpi]
        return row["ci_high"] - row["ci_low"]

    assert width(paired, "rep_utilisation_mean") < width(independent, "rep_utilisation_mean") / 2
    assert width(paired, "leads_qualified") < width(independent, "leads_qualified")
