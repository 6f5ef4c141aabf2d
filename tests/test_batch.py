"""``python -m sim report NOTEBOOK --batch FILE``: variants rendered in parallel with an
index page; a failing variant is reported, not fatal; bad batch files are one line, exit 2,
before any kernel starts."""

from __future__ import annotations

import re

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_notebook

from conftest import SCENARIOS, tiny_scenario_dict
from sim.cli.main import main
from sim.experiments.fanout import SequentialEvaluator
from sim.experiments.sweep import run_sweep
from sim.experiments.sweep_design import build_design
from sim.experiments.sweep_spec import SweepSpec
from sim.reports.batch import BatchSpec, load_batch, variants


def write_yaml(path, data) -> str:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(path)


@pytest.fixture
def notebook(tmp_path) -> str:
    """A two-cell notebook: parameters x and label; raises when label is 'boom'."""
    nb = new_notebook(
        cells=[
            new_code_cell('x = 1\nlabel = "a"', metadata={"tags": ["parameters"]}),
            new_code_cell(
                'if label == "boom":\n    raise ValueError("label was boom")\n'
                'print(f"x squared is {x * x}, label {label}")'
            ),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = tmp_path / "tiny_report.ipynb"
    nbformat.write(nb, path)
    return str(path)


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_variants_cross_named_variants_with_the_grid():
    spec = BatchSpec(
        parameters={"x": 1, "label": "shared"},
        variants=[{"name": "a", "parameters": {"label": "A"}}, {"name": "b"}],
        grid={"x": [2, 3], "policy": ["scenarios/policies/no_sla.yaml"]},
    )
    got = variants(spec)
    assert [name for name, _ in got] == [
        "a__x-2__policy-no_sla",
        "a__x-3__policy-no_sla",
        "b__x-2__policy-no_sla",
        "b__x-3__policy-no_sla",
    ]
    assert got[1][1] == {"x": 3, "label": "A", "policy": "scenarios/policies/no_sla.yaml"}
    assert got[2][1]["label"] == "shared"
    only_grid = variants(BatchSpec(grid={"x": [1, 2]}))
    assert only_grid == [("x-1", {"x": 1}), ("x-2", {"x": 2})]


def test_example_batch_file_is_valid():
    spec = load_batch(SCENARIOS / "sweeps" / "scenario_reports_batch.yaml")
    assert len(variants(spec)) == 6


@pytest.mark.slow
def test_batch_renders_every_variant_and_an_index(notebook, tmp_path, capsys):
    batch = write_yaml(
        tmp_path / "b.yaml",
        {
            "name": "../../escape attempt",
            "parallel": 2,
            "parameters": {"x": 3},
            "variants": [
                {"name": "first", "parameters": {"label": "one"}},
                {"name": "second", "parameters": {"label": "boom"}},
            ],
        },
    )
    out = tmp_path / "reports"
    code = main(
        [
            "report",
            notebook,
            "--allow-notebook",
            notebook,
            "--batch",
            batch,
            "-p",
            "x",
            "4",
            "--out",
            str(out),
        ]
    )
    captured = capsys.readouterr()
    assert code == 1  # one variant failed
    index = out / "batches" / "escape-attempt" / "index.html"  # confined to the reports folder
    assert captured.out.strip() == str(index)
    assert captured.err.strip() == (
        "error: second: tiny_report.ipynb: the cell starting 'if label == \"boom\":' raised "
        "ValueError: label was boom"
    )
    page = index.read_text()
    links = re.findall(r'href="([^"]+)"', page)
    assert links == ["tiny_report/first.html"]
    first = (index.parent / links[0]).read_text()
    assert "x squared is 16, label one" in first  # -p overrides the shared parameter
    assert "failed</span> tiny_report.ipynb: the cell starting" in page
    assert "Shared by every variant: x 4</p>" in page  # shared by every variant, in words
    assert "<td>label one</td>" in page and "<td>label boom</td>" in page  # each its own
    assert '<footer class="report-footer">' in page


@pytest.mark.parametrize(
    ("batch", "extra", "message"),
    [
        ({"variants": [{"name": "a", "parameters": {"y": 1}}]}, [], "unknown parameter(s) y"),
        ({"grid": {"x": []}}, [], "b.yaml: (top level): grid x: no values"),
        ({"parameters": {"x": 1}}, [], "no variants: give 'variants', 'grid' or both"),
        ({"grid": {"x": [1]}, "paralel": 2}, [], "b.yaml: paralel: Extra inputs"),
        ({"variants": [{"name": "a"}, {"name": "a"}]}, [], "two variants are both named 'a'"),
        ({"grid": {"x": [1]}}, ["--name", "n"], "--name cannot be combined with --batch"),
    ],
)
def test_bad_batch_is_one_line_and_exit_2(notebook, tmp_path, capsys, batch, extra, message):
    path = write_yaml(tmp_path / "b.yaml", batch)
    out = tmp_path / "reports"
    code = main(
        [
            "report",
            notebook,
            "--allow-notebook",
            notebook,
            "--batch",
            path,
            "--out",
            str(out),
            *extra,
        ]
    )
    assert code == 2
    assert message in one_error_line(capsys)
    assert not out.exists()  # nothing started


def test_missing_scenario_file_in_a_batch_is_caught_before_rendering(tmp_path, capsys):
    batch = write_yaml(
        tmp_path / "b.yaml",
        {"parameters": {"scenario": "nowhere/none.yaml"}, "grid": {"seed": [1]}},
    )
    code = main(["report", "scenario_report", "--batch", batch, "--out", str(tmp_path / "r")])
    assert code == 2
    assert "none.yaml: file not found" in one_error_line(capsys)
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_sweep_report_renders_for_a_sweep_folder(tmp_path, capsys):
    scenario = write_yaml(tmp_path / "tiny.yaml", tiny_scenario_dict())
    spec = SweepSpec(
        scenario=scenario,
        grid={"sla.steps.1.after_hours": [3, 6], "arrivals.rate_per_hour": [1.0, 3.0]},
        replications=2,
    )
    out = tmp_path / "my_sweep"
    run_sweep(build_design(spec), out, SequentialEvaluator(progress=False))
    argv = ["report", "sweep_report", "-p", "sweep_dir", str(out), "-p", "spec", "null"]
    argv += ["-p", "headline", "[sla_reclaims, qualification_rate]", "--out", str(tmp_path)]
    assert main(argv) == 0
    html = tmp_path / "sweep_report" / "my_sweep.html"
    assert capsys.readouterr().out.strip() == str(html)
    page = html.read_text()
    for text in ("Best point per KPI", "tornado", "Response surfaces", "Every point finished"):
        assert text in page
