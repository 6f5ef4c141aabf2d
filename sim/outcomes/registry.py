"""The KPI record, the families KPIs are defined in, and the registry that lists them.

A :class:`KpiFamily` is an ordered group of KPIs defined together in one module (the
lead-flow KPIs, the fairness KPIs, the process KPIs).  A :class:`KpiRegistry` holds the
families in a fixed order; :mod:`sim.outcomes.catalogue` builds the workbench's one
registry, so every KPI table lists its columns in that order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from sim.engine.result import RunResult

__all__ = ["Better", "Kpi", "KpiFamily", "KpiRegistry"]

Better = Literal["lower", "higher", "none"]
"""Which direction of a KPI is an improvement (``none``: neither, e.g. a volume)."""


@dataclass(frozen=True)
class Kpi:
    """A named outcome measure: a pure function of a run with a unit and a direction."""

    name: str
    unit: str
    better: Better
    description: str
    compute: Callable[[RunResult], float]
    bounds: tuple[float | None, float | None] = (0.0, None)  # the values it can take


class _KpisByName(Mapping[str, Kpi]):
    """Read-only mapping over ``self._kpis`` (name -> Kpi, in insertion order)."""

    _kpis: dict[str, Kpi]

    def __getitem__(self, name: str) -> Kpi:
        return self._kpis[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._kpis)

    def __len__(self) -> int:
        return len(self._kpis)


class KpiFamily(_KpisByName):
    """KPIs defined together, by name in definition order.

    *needs_process*: the family measures the opportunity stage model, so it applies only
    to scenarios with a ``process:`` section (other scenarios' tables keep their columns).
    """

    def __init__(self, name: str, *, needs_process: bool = False) -> None:
        self.name = name
        self.needs_process = needs_process
        self._kpis: dict[str, Kpi] = {}

    def kpi(self, name: str, unit: str, better: Better, description: str):
        """Decorator adding the KPI function ``f(result) -> float`` to this family (a name
        defined twice is an error).

        Every KPI is a count, a duration or a rate, so its bounds are ``(0, None)``; a unit
        of ``share`` bounds it to ``(0, 1)``.
        """

        def decorate(fn: Callable[[RunResult], float]) -> Callable[[RunResult], float]:
            if name in self._kpis:
                raise ValueError(f"{self.name} KPI {name!r} is defined twice")
            bounds = (0.0, 1.0) if unit == "share" else (0.0, None)
            self._kpis[name] = Kpi(name, unit, better, description, fn, bounds)
            return fn

        return decorate

    def __repr__(self) -> str:
        return f"KpiFamily({self.name!r}, {len(self)} KPIs)"


class KpiRegistry(_KpisByName):
    """Every KPI of the registered families by name, families in registration order.

    A family or a KPI name registered twice is an error, so a name means one measure.
    """

    def __init__(self) -> None:
        self._families: list[KpiFamily] = []
        self._kpis: dict[str, Kpi] = {}

    def register(self, family: KpiFamily) -> None:
        """Add *family* after those already registered."""
        if family.name in self.family_names():
            raise ValueError(f"KPI family {family.name!r} is registered twice")
        clash = sorted(set(family) & set(self._kpis))
        if clash:
            raise ValueError(f"KPI(s) {clash} of family {family.name!r} are already registered")
        self._families.append(family)
        self._kpis.update(family)

    @property
    def families(self) -> tuple[KpiFamily, ...]:
        """The registered families, in order."""
        return tuple(self._families)

    def family_names(self) -> list[str]:
        """Names of the registered families, in order."""
        return [family.name for family in self._families]

    def select(self, *, process: bool) -> dict[str, Kpi]:
        """The KPIs of every family, leaving out those that need a process model unless
        *process*, in registry order."""
        return {
            name: kpi
            for family in self._families
            if process or not family.needs_process
            for name, kpi in family.items()
        }
