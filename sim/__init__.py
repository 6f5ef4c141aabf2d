"""The sales-operations workbench engine: scenarios, runs, KPIs and reports.

Typical use::

    from sim import load_scenario, load_policy, run, kpis
    result = run(load_scenario("scenarios/baseline.yaml"), seed=1)
    kpis(result)["first_touch_hours_mean"]

The public names are imported on first use (a module ``__getattr__``), so that
``import sim``, and every ``python -m sim`` command, pays only for the modules it needs:
``python -m sim validate`` loads neither the engine nor pandas, SciPy or statsmodels
(``tests/test_startup_imports.py``).  ``from sim import run`` works as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.engine.arrivals import defer_arrival_sources, register_arrival_source
from sim.errors import ConfigError, DataError, RuleError, WorkbenchError

if TYPE_CHECKING:  # the names below, for type checkers and IDEs
    from sim.engine.result import RunResult
    from sim.engine.simulation import run
    from sim.outcomes.kpis import KPIS, kpi_table, kpis
    from sim.outcomes.measurement import queue_length, rep_load
    from sim.world.loading import load_policy, load_scenario
    from sim.world.scenario import Scenario

__all__ = [
    "KPIS",
    "ConfigError",
    "DataError",
    "RuleError",
    "RunResult",
    "Scenario",
    "WorkbenchError",
    "kpi_table",
    "kpis",
    "load_policy",
    "load_scenario",
    "queue_length",
    "rep_load",
    "run",
]

_LAZY = {
    "RunResult": "sim.engine.result",
    "run": "sim.engine.simulation",
    "KPIS": "sim.outcomes.kpis",
    "kpi_table": "sim.outcomes.kpis",
    "kpis": "sim.outcomes.kpis",
    "queue_length": "sim.outcomes.measurement",
    "rep_load": "sim.outcomes.measurement",
    "load_policy": "sim.world.loading",
    "load_scenario": "sim.world.loading",
    "Scenario": "sim.world.scenario",
}
"""Public name -> the module that defines it, imported when the name is first read."""


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562) and keep the name here."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


# The one piece of wiring: a scenario's ``arrivals: {replay: file}`` replays imported
# leads (sim.history.replay); the engine knows only the ArrivalSource protocol and its
# registry (sim.engine.arrivals), so the dependency points from history to the engine.
# The registration is explicit but deferred: the engine calls _register_replay the first
# time its registry is used (an arrival-source lookup, or ARRIVAL_SOURCES read), so every
# run sees ``replay`` while a command that runs nothing never imports sim.history.
def _register_replay() -> None:
    from sim.history.replay import ReplaySource

    register_arrival_source("replay", ReplaySource)


defer_arrival_sources(_register_replay)
