"""KPIs of a run: which ones a run has, their values, and their table.

Every KPI is a :class:`~sim.outcomes.registry.Kpi` of a family registered in
:data:`sim.outcomes.catalogue.CATALOGUE`; each looks at the measurement window
(:func:`sim.outcomes.measurement.window`).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from sim.engine.result import RunResult
from sim.outcomes.catalogue import CATALOGUE
from sim.outcomes.registry import Kpi

__all__ = ["KPIS", "all_kpis", "kpi_specs", "kpi_table", "kpis"]

KPIS: Mapping[str, Kpi] = CATALOGUE.select(process=False)
"""The KPIs of every run (lead flow, then fairness) by name, in table order."""


def all_kpis() -> Mapping[str, Kpi]:
    """Every registered KPI: :data:`KPIS`, then the process KPIs."""
    return CATALOGUE


def kpi_specs(scenario) -> Mapping[str, Kpi]:
    """The KPIs of runs of *scenario*: :data:`KPIS`, plus the process KPIs when it has a
    ``process:`` section (other scenarios' tables keep their columns)."""
    return KPIS if getattr(scenario, "process", None) is None else CATALOGUE


def kpis(result: RunResult) -> dict[str, float]:
    """Every KPI of *result* (see :func:`kpi_specs`), in table order."""
    return {name: k.compute(result) for name, k in kpi_specs(result.scenario).items()}


def kpi_table(result: RunResult) -> pd.DataFrame:
    """KPIs as a table: kpi, value, unit, better, description."""
    values = kpis(result)
    return pd.DataFrame(
        [
            {
                "kpi": k.name,
                "value": values[k.name],
                "unit": k.unit,
                "better": k.better,
                "description": k.description,
            }
            for k in kpi_specs(result.scenario).values()
        ]
    )
