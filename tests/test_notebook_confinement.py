"""A notebook runs code: only notebooks/ runs, anything else needs an explicit allowance."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT
from sim.cli.main import main
from sim.errors import ConfigError
from sim.reports.batch import BatchSpec, run_batch
from sim.reports.rendering import find_notebook


def evil_notebook(folder, marker):
    """A notebook that would write *marker* if it ever ran."""
    cell = {
        "cell_type": "code",
        "metadata": {"tags": ["parameters"]},
        "execution_count": None,
        "outputs": [],
        "source": f"open({str(marker)!r}, 'w').write('ran')\n",
    }
    nb = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = folder / "evil.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def test_report_refuses_a_notebook_from_elsewhere(tmp_path, capsys):
    marker = tmp_path / "ran.txt"
    path = evil_notebook(tmp_path, marker)
    assert main(["report", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--allow-notebook" in err[0] and "Traceback" not in err[0]
    assert not marker.exists()


def test_a_batch_cannot_run_a_notebook_from_elsewhere(tmp_path):
    marker = tmp_path / "ran.txt"
    path = evil_notebook(tmp_path, marker)
    with pytest.raises(ConfigError, match="allow-notebook"):
        run_batch(str(path), BatchSpec(grid={"x": [1, 2]}), name="b", out_dir=tmp_path)
    assert not marker.exists()


def test_project_notebooks_and_allowed_files_are_found(tmp_path):
    inside = ROOT / "notebooks" / "scenario_report.ipynb"
    assert find_notebook("scenario_report") == inside.resolve()
    assert find_notebook(str(inside)) == inside.resolve()
    path = evil_notebook(tmp_path, tmp_path / "ran.txt")
    assert find_notebook(str(path), allowed=[path]) == path.resolve()
    with pytest.raises(ConfigError):
        find_notebook(str(path), allowed=[tmp_path / "other.ipynb"])
