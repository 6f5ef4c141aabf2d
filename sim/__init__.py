"""The sales-operations workbench engine: scenarios, runs, KPIs and reports.

Typical use::

    from sim import load_scenario, load_policy, run, kpis
    result = run(load_scenario("scenarios/baseline.yaml"), seed=1)
    kpis(result)["first_touch_hours_mean"]
"""

from sim.engine.result import RunResult
from sim.engine.simulation import run
from sim.errors import ConfigError, DataError, RuleError, WorkbenchError
from sim.outcomes import fairness  # registers the fairness and lead-flow KPIs
from sim.outcomes.kpis import KPIS, kpi_table, kpis, queue_length, rep_load
from sim.world.scenario import Scenario, load_policy, load_scenario

__all__ = [
    "KPIS",
    "ConfigError",
    "DataError",
    "RuleError",
    "RunResult",
    "Scenario",
    "WorkbenchError",
    "fairness",
    "kpi_table",
    "kpis",
    "load_policy",
    "load_scenario",
    "queue_length",
    "rep_load",
    "run",
]
