"""`python -m sim report`: the scenario report rendered to HTML without code, and one clear
line plus the right exit code when the notebook name, a parameter or the notebook itself
is wrong.  Tests marked ``slow`` start a Jupyter kernel (a few seconds each)."""

from __future__ import annotations

import re
from html import escape as html_escape
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from conftest import ROOT
from sim.cli.main import main
from sim.reports.i18n import kpi_label

SCENARIO = "scenarios/baseline.yaml"
POLICY = "scenarios/policies/source_defaults.yaml"


def files_under(folder: Path) -> set[Path]:
    return {p.resolve() for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


@pytest.fixture
def at_root(monkeypatch) -> Path:
    """Run with the project root as working directory, as users do."""
    monkeypatch.chdir(ROOT)
    return ROOT


@pytest.fixture
def project_files(at_root):
    """Files of the project's reports/ and notebooks/ folders before the test."""
    return files_under(at_root / "reports") | files_under(at_root / "notebooks")


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.slow
def test_report_renders_html_without_code(tmp_path, capsys, project_files):
    out = tmp_path / "out"
    code = main(
        [
            "report",
            "scenario_report",
            "--scenario",
            SCENARIO,
            "--policy",
            POLICY,
            "-p",
            "replications",
            "1",
            "--out",
            str(out),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    html = Path(captured.out.strip())
    assert html.suffix == ".html" and html.is_file()
    # named after scenario, policy and the notebook's default seed, under --out/<notebook>/
    assert html == (out / "scenario_report" / "baseline__source_defaults__seed1.html").resolve()
    executed = html.with_suffix(".ipynb")
    assert executed.is_file()
    assert files_under(out) == {html, executed}

    text = html.read_text(encoding="utf-8")
    # no code: neither the notebook's cells nor papermill's injected parameters
    for source in ("run_replications(", "from sim.", "scenario_narrative(", "replications = 1"):
        assert source not in text
    assert str(ROOT) not in text and str(tmp_path) not in text  # no machine paths
    # verdict first, headline cards, then a table for people with human KPI labels
    assert text.index('class="verdict') < text.index('class="kpi-cards"')
    assert text.index('class="kpi-cards"') < text.index('<table class="people">')
    assert 'class="dataframe"' not in text  # no raw DataFrame dumps
    for kpi in ("leads_arrived", "first_touch_hours_mean", "qualification_rate"):
        assert html_escape(kpi_label(kpi, "en")) in text
    assert len(re.findall(r"<img[^>]+src=\"data:image/", text)) >= 3  # the charts, embedded
    # the executed notebook ran with the given parameters
    nb = nbformat.read(executed, as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "replications = 1" in injected[0].source
    assert files_under(ROOT / "reports") | files_under(ROOT / "notebooks") == project_files


def test_unknown_notebook_lists_known_ones(tmp_path, capsys, at_root):
    out = tmp_path / "out"
    code = main(["report", "no_such_report", "--scenario", SCENARIO, "--out", str(out)])
    assert code == 2
    line = one_error_line(capsys)
    assert "no_such_report" in line and "scenario_report" in line
    assert not files_under(out)


def test_unknown_parameter_is_named_before_any_kernel_starts(tmp_path, capsys, at_root):
    out = tmp_path / "out"
    code = main(
        [
            *("report", "scenario_report", "--scenario", SCENARIO),
            *("-p", "colour", "blue", "--out", str(out)),
        ]
    )
    assert code == 2
    line = one_error_line(capsys)
    assert "colour" in line
    assert "replications" in line  # the known parameters are listed
    assert not files_under(out)


def broken_notebook(folder: Path) -> Path:
    """A notebook with a parameters cell, then a cell that raises ValueError."""
    nb = new_notebook(
        cells=[
            new_code_cell(
                'scenario = ""\npolicy = None\nseed = 0', metadata={"tags": ["parameters"]}
            ),
            new_code_cell("x = 1"),
            new_code_cell('raise ValueError("no leads in this scenario")'),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = folder / "broken.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_notebook_that_raises_exits_1_with_one_line_and_stays_in_out(
    tmp_path, capsys, project_files
):
    notebook = broken_notebook(tmp_path)
    out = tmp_path / "reports"
    code = main(
        [
            *("report", str(notebook), "--allow-notebook", str(notebook), "--scenario", SCENARIO),
            *("--out", str(out), "--name", "../../escaped"),
        ]
    )
    assert code == 1
    line = one_error_line(capsys)
    assert "broken.ipynb" in line
    assert "ValueError: no leads in this scenario" in line
    assert "raise ValueError" in line  # the failing cell is named by its first line
    assert "Traceback" not in line
    # everything written (papermill keeps the failed notebook) is inside --out
    written = files_under(tmp_path) - {notebook}
    assert written and all(p.is_relative_to(out.resolve()) for p in written)
    assert files_under(ROOT / "reports") | files_under(ROOT / "notebooks") == project_files
