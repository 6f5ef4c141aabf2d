"""The sales-operations workbench engine: scenarios, runs, KPIs and reports.

Typical use::

    from sim import load_scenario, load_policy, run, kpis
    result = run(load_scenario("scenarios/baseline.yaml"), seed=1)
    kpis(result)["first_touch_hours_mean"]
"""

from sim.engine.arrivals import register_arrival_source
from sim.engine.result import RunResult
from sim.engine.simulation import run
from sim.errors import ConfigError, DataError, RuleError, WorkbenchError
from sim.history.replay import ReplaySource
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

# The one piece of wiring: a scenario's ``arrivals: {replay: file}`` replays imported
# leads (sim.history.replay); the engine knows only the ArrivalSource protocol and its
# registry (sim.engine.arrivals), so the dependency points from history to the engine.
register_arrival_source("replay", ReplaySource)
