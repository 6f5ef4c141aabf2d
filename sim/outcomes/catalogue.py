"""The workbench's KPI registry: every KPI family, registered here in table order.

The order below is the column order of every KPI table, kpis.json and comparison:
lead flow, then fairness (together the KPIs of every run, :data:`sim.outcomes.kpis.KPIS`),
then the process KPIs, which only runs of a scenario with a ``process:`` section have.
A new family is defined in its own module and registered here, at the end.
"""

from __future__ import annotations

from sim.outcomes.fairness import FAIRNESS
from sim.outcomes.lead_flow_kpis import LEAD_FLOW
from sim.outcomes.process_kpis import PROCESS
from sim.outcomes.registry import KpiRegistry

__all__ = ["CATALOGUE", "FAMILY_ORDER"]

FAMILY_ORDER = (LEAD_FLOW, FAIRNESS, PROCESS)
"""The KPI families in the order of KPI tables."""

CATALOGUE = KpiRegistry()
"""Every KPI of every family, by name, in :data:`FAMILY_ORDER`."""

for _family in FAMILY_ORDER:
    CATALOGUE.register(_family)
