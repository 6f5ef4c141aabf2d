"""Start-up: what a command imports, not how long it takes (``bench/startup.py`` times it).

``python -m sim --help`` and ``validate`` must not load the heavy analysis, notebook and
cluster packages; ``sim``'s public names are imported on first use; the ``replay`` arrival
source is registered before any run without ``import sim`` importing ``sim.history``.
Each check runs a fresh interpreter, so nothing imported by other tests counts.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sim.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent

HEAVY = (
    "statsmodels",
    "scipy",
    "papermill",
    "nbconvert",
    "dask",
    "distributed",
    "matplotlib",
    "pandas",
    "pyarrow",
    "numpy",
    "simpy",
)
"""Packages that neither ``--help`` nor ``validate`` needs (top-level names)."""


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def _modules(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``python -X importtime ARGS``: the result and the modules imported."""
    done = _python("-X", "importtime", *args)
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return done, modules


def _imported(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``python -X importtime ARGS``: the result and the top-level packages imported."""
    done, modules = _modules(*args)
    return done, {module.split(".")[0] for module in modules}


@pytest.mark.parametrize(
    "command",
    [
        ["--help"],
        ["validate", "scenarios/baseline.yaml"],
        [
            "validate",
            "scenarios/policies/source_defaults.yaml",
            "scenarios/east_china_medtech.yaml",
        ],
    ],
    ids=["help", "validate-scenario", "validate-policy-and-case"],
)
def test_a_command_that_runs_nothing_imports_no_heavy_package(command):
    done, packages = _imported("-m", "sim", *command)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "sim" in packages  # the importtime log was read
    loaded = sorted(set(HEAVY) & packages)
    assert not loaded, f"python -m sim {' '.join(command)} imported {loaded}"


def test_help_imports_no_third_party_package_at_all():
    done, packages = _imported("-m", "sim", "--help")
    assert done.returncode == 0, done.stderr[-2000:]
    assert not {"pydantic", "yaml", "holidays"} & packages


def test_a_holiday_country_is_checked_without_importing_every_country():
    done, modules = _modules("-m", "sim", "validate", "scenarios/baseline.yaml")  # CN
    assert done.returncode == 0, done.stderr[-2000:]
    countries = sorted(m for m in modules if m.startswith("holidays.countries."))
    assert len(countries) <= 1, f"{len(countries)} country modules imported: {countries[:5]}"


@pytest.mark.parametrize(
    ("holidays", "problem"),
    [
        ({"country": "US", "subdiv": "CA"}, None),
        ({"country": "UK"}, None),  # an alias, as holidays.list_supported_countries() has
        ({"country": "XX"}, "unknown holiday country 'XX'"),
        ({"country": "US", "subdiv": "ZZ"}, "unknown subdivision 'ZZ' of US"),
    ],
)
def test_holiday_country_and_subdivision_are_still_checked(holidays, problem):
    from sim.world.scenario import HolidaySpec

    if problem is None:
        HolidaySpec(**holidays)
    else:
        with pytest.raises(ValueError, match=problem):
            HolidaySpec(**holidays)


def test_the_public_api_is_imported_on_first_use():
    script = textwrap.dedent(
        """
        import sys
        import sim
        assert "sim.engine.simulation" not in sys.modules
        assert "sim.outcomes.kpis" not in sys.modules
        assert "sim.history" not in sys.modules
        from sim import (
            KPIS, ConfigError, DataError, RuleError, RunResult, Scenario, WorkbenchError,
            kpi_table, kpis, load_policy, load_scenario, queue_length, rep_load, run,
        )
        from sim.engine.simulation import run as engine_run
        from sim.world.scenario import Scenario as WorldScenario
        assert run is engine_run and Scenario is WorldScenario
        assert all(getattr(sim, name) is not None for name in sim.__all__)
        assert set(sim.__all__) <= set(dir(sim))
        try:
            sim.no_such_name
        except AttributeError as exc:
            assert "no_such_name" in str(exc)
        else:
            raise AssertionError("sim.no_such_name did not raise AttributeError")
        print("ok")
        """
    )
    done = _python("-c", script)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_replay_is_registered_by_the_first_arrival_lookup_of_a_fresh_interpreter():
    """``import sim`` does not import ``sim.history``; the first arrival-source lookup (as
    a run makes) registers ``replay`` before answering."""
    script = textwrap.dedent(
        """
        import datetime as dt
        import sys
        from types import SimpleNamespace

        import sim.engine.arrivals as arrivals

        assert "sim.history" not in sys.modules, "import sim imported sim.history"
        source = arrivals.arrival_source(SimpleNamespace(process="replay"), dt.datetime(2026, 1, 5))
        assert type(source) is sys.modules["sim.history.replay"].ReplaySource
        print("ok")
        """
    )
    done = _python("-c", script)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_deferred_registrations_run_once_on_first_use_of_the_registry(monkeypatch):
    from sim.engine import arrivals

    monkeypatch.setattr(arrivals, "_SOURCES", {})
    monkeypatch.setattr(arrivals, "_DEFERRED", [])
    calls = []

    def register() -> None:
        calls.append(1)
        arrivals.register_arrival_source("planted", lambda process, start: ("planted", start))

    arrivals.defer_arrival_sources(register)
    assert calls == []  # deferred: nothing registered yet
    assert set(arrivals.ARRIVAL_SOURCES) == {"planted"}  # reading it ran the registration
    assert calls == [1]
    process = type("Planted", (), {"process": "planted"})()
    assert arrivals.arrival_source(process, "t0") == ("planted", "t0")
    assert calls == [1]  # once
    other = type("Other", (), {"process": "other"})()
    with pytest.raises(
        ConfigError, match=r"no source registered for process 'other' \(known: planted\)"
    ):
        arrivals.arrival_source(other, "t0")


@pytest.mark.parametrize(
    ("error", "code"),
    [("report", 1), ("config", 2)],
)
def test_main_tells_a_failed_report_from_bad_input_without_importing_reports_first(
    monkeypatch, capsys, error, code
):
    """``main`` imports ``sim.reports.rendering`` only once an error is raised: a failed
    notebook still exits 1 with its message, bad input 2 with one line."""
    from sim.cli import main as cli
    from sim.reports.rendering import ReportError

    def fail(args):
        raise (ReportError if error == "report" else ConfigError)(f"{error} went wrong")

    monkeypatch.setattr(cli, "_cmd_validate", fail)
    assert cli.main(["validate", "x.yaml"]) == code
    assert capsys.readouterr().err == f"error: {error} went wrong\n"
