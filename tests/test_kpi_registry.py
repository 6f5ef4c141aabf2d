"""The one KPI registry: every family registered once, in the documented table order."""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest

from sim import KPIS
from sim.outcomes.catalogue import CATALOGUE, FAMILY_ORDER
from sim.outcomes.fairness import FAIRNESS
from sim.outcomes.kpis import all_kpis, kpi_specs
from sim.outcomes.lead_flow_kpis import LEAD_FLOW
from sim.outcomes.process_kpis import PROCESS
from sim.outcomes.registry import KpiFamily, KpiRegistry

OUTCOMES = Path(__file__).resolve().parent.parent / "sim" / "outcomes"

# Modules below the catalogue: the record, the window and the families themselves.
BELOW_CATALOGUE = ("registry", "measurement", "lead_flow_kpis", "fairness", "forecast")


def test_families_are_registered_once_in_table_order():
    assert CATALOGUE.family_names() == ["lead flow", "fairness", "process"]
    assert CATALOGUE.families == FAMILY_ORDER == (LEAD_FLOW, FAIRNESS, PROCESS)


def test_every_kpi_belongs_to_exactly_one_family():
    names = [name for family in CATALOGUE.families for name in family]
    assert len(names) == len(set(names))
    assert list(CATALOGUE) == names
    assert all(CATALOGUE[name] is family[name] for family in FAMILY_ORDER for name in family)


def test_lead_flow_table_order_is_pinned():
    assert list(KPIS)[:3] == ["leads_arrived", "leads_assigned", "leads_waiting_at_end"]
    assert list(KPIS) == [*LEAD_FLOW, *FAIRNESS]
    first = {family.name: next(iter(family)) for family in CATALOGUE.families}
    assert first == {
        "lead flow": "leads_arrived",
        "fairness": "a_leads_gini",
        "process": "opportunities_opened",
    }


def test_kpis_of_a_scenario_follow_its_process_section():
    assert kpi_specs(SimpleNamespace(process=None)) is KPIS
    with_process = kpi_specs(SimpleNamespace(process=object()))
    assert list(with_process) == [*KPIS, *PROCESS] == list(all_kpis())


def test_share_kpis_are_bounded_to_one():
    for kpi in CATALOGUE.values():
        assert kpi.bounds == ((0.0, 1.0) if kpi.unit == "share" else (0.0, None))
        assert kpi.better in {"lower", "higher", "none"} and kpi.description


def test_a_name_defined_or_registered_twice_is_an_error():
    family = KpiFamily("demo")
    family.kpi("demo_count", "leads", "none", "A count")(lambda r: 0.0)
    with pytest.raises(ValueError, match="'demo_count' is defined twice"):
        family.kpi("demo_count", "leads", "none", "Again")(lambda r: 0.0)
    registry = KpiRegistry()
    registry.register(family)
    with pytest.raises(ValueError, match="family 'demo' is registered twice"):
        registry.register(family)
    clash = KpiFamily("other")
    clash.kpi("demo_count", "leads", "none", "Same name")(lambda r: 0.0)
    with pytest.raises(ValueError, match="already registered"):
        registry.register(clash)


def _imported_modules(path: Path) -> set[str]:
    """Every module *path* imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("module", [*BELOW_CATALOGUE, "process_kpis"])
def test_kpi_families_do_not_import_the_catalogue(module):
    imported = _imported_modules(OUTCOMES / f"{module}.py")
    assert not imported & {"sim.outcomes.catalogue", "sim.outcomes.kpis", "sim"}
