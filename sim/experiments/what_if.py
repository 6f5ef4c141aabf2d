"""A live what-if: change a few levers, see the KPI changes against a cached baseline.

:class:`WhatIf` runs the baseline once (``replications`` runs of the scenario under the
policy, on a shorter ``horizon_days`` than the file's so that a change answers within
seconds), keeps its KPIs, and on :meth:`WhatIf.evaluate` runs the changed scenario and
policy on the *same* seeds (common random numbers): the paired differences
(:func:`sim.experiments.replications.paired_differences`) then show what the change
does, with 95% intervals, with most of the run-to-run noise cancelled::

    what_if = WhatIf("scenarios/baseline.yaml", "scenarios/policies/source_defaults.yaml")
    result = what_if.evaluate({"sla.reclaim_hours": 8, "routing.name": "least_loaded"})
    result.differences      # one row per KPI: baseline, what-if, change and interval
    result.seconds          # time taken by the change (the baseline is not rerun)

The levers are dotted paths as in ``--set`` (:data:`MAIN_LEVERS` are the ones the
notebook ``what_if.ipynb`` offers); a value equal to the baseline's is not applied, so
the unchanged settings reproduce the baseline exactly.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from sim.errors import ConfigError
from sim.experiments.replications import kpi_frame, paired_differences, run_replications
from sim.experiments.sensitivity import lookup
from sim.io.overrides import format_override
from sim.world.override_paths import load_with_overrides, route_path

__all__ = ["HEADLINE", "MAIN_LEVERS", "WhatIf", "WhatIfLever", "WhatIfResult"]

HEADLINE = (
    "qualification_rate",
    "first_touch_hours_mean",
    "first_touch_hours_p90",
    "sla_reclaims",
    "a_leads_gini",
    "rep_utilisation_mean",
)
"""The KPIs a what-if shows first."""


@dataclass(frozen=True)
class WhatIfLever:
    """A lever the what-if offers: its path, kind and range (or choices).

    ``off`` is the value that means "not set" when the baseline leaves an optional block
    out (a newbie A-share cap of 100% bounds nothing).
    """

    path: str
    kind: Literal["float", "int", "choice"]
    low: float = 0.0
    high: float = 1.0
    step: float = 1.0
    choices: tuple[str, ...] = ()
    off: Any = None


MAIN_LEVERS = (
    WhatIfLever("sla.reclaim_hours", "float", 3, 24, 1),
    WhatIfLever("allocation.newbie_protection.a_share_max", "float", 0, 1, 0.05, off=1.0),
    WhatIfLever("routing.name", "choice", choices=("round_robin", "least_loaded")),
    WhatIfLever("team.groups.0.count", "int", 1, 40, 1),
    WhatIfLever("arrivals.leads_per_month", "int", 500, 12000, 100),
)
"""SLA reclaim hours, newbie A-share cap, routing rule, team size (the first rep group)
and lead volume."""


@dataclass(frozen=True)
class WhatIfResult:
    """One evaluated change: the overrides applied, the paired KPI differences against
    the baseline (:data:`sim.experiments.replications.DIFFERENCE_COLUMNS`) and the
    seconds the change took."""

    overrides: tuple[str, ...]
    differences: pd.DataFrame
    seconds: float
    frame: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)

    def headline(self, kpis: Sequence[str] = HEADLINE) -> pd.DataFrame:
        """The differences of *kpis* (those the scenario has), in that order."""
        table = self.differences.set_index("kpi")
        return table.loc[[k for k in kpis if k in table.index]].reset_index()


def _reclaim_hours(policy: Mapping[str, Any]) -> Any:
    """The breaker's reclaim time (``sla.reclaim_hours`` is a shorthand for the step)."""
    steps = (policy.get("sla") or {}).get("steps") or []
    hours = [s["after_hours"] for s in steps if s.get("action") == "reclaim"]
    return hours[0] if hours else None


class WhatIf:
    """A cached baseline and the evaluation of changes to it (see the module docstring).

    The baseline runs when the object is made; a bad file, path or value is a one-line
    ConfigError.
    """

    def __init__(
        self,
        scenario: str | Path,
        policy: str | Path | None = None,
        *,
        horizon_days: float = 12,
        replications: int = 4,
        seed: int = 0,
        levers: Sequence[WhatIfLever] = MAIN_LEVERS,
    ) -> None:
        if replications < 2:
            raise ConfigError("what-if: needs at least 2 replications for an interval")
        self.scenario_path = scenario
        self.policy_path = policy
        self.horizon_days = horizon_days
        self.replications = replications
        self.seed = seed
        self.levers = tuple(levers)
        for lever in self.levers:
            route_path(lever.path, "what-if lever")  # fail fast on an unknown field
        self._fixed = (format_override("horizon_days", horizon_days),)
        scenario_model, policy_model = load_with_overrides(scenario, policy, self._fixed)
        self.scenario_name = scenario_model.name
        self.defaults = self._current(scenario_model, policy_model)
        start = time.perf_counter()
        runs = run_replications(scenario_model, policy_model, replications, seed)
        self.baseline = kpi_frame(runs)
        self.baseline_seconds = time.perf_counter() - start
        self.leads_per_run = sum(len(r.leads) for r in runs) / len(runs)

    def _current(self, scenario: Any, policy: Any) -> dict[str, Any]:
        """Each lever's value in the baseline files."""
        data = {
            "scenario": scenario.model_dump(mode="json", by_alias=True),
            "policy": policy.model_dump(mode="json", by_alias=True),
        }
        values = {}
        for lever in self.levers:
            routed = route_path(lever.path, "what-if lever")
            raw = data[routed.target]
            if routed.relative == "sla.reclaim_hours":
                value = _reclaim_hours(raw)
            else:
                try:
                    value = lookup(raw, routed.relative)
                except ConfigError:
                    value = None
            if value is None:
                value = lever.off
            if value is None:
                raise ConfigError(f"what-if lever {lever.path}: the baseline does not set it")
            values[lever.path] = value
        return values

    def overrides(self, values: Mapping[str, Any]) -> tuple[str, ...]:
        """``path=value`` items for the *values* that differ from the baseline."""
        unknown = sorted(set(values) - set(self.defaults))
        if unknown:
            raise ConfigError(f"what-if: unknown lever(s) {', '.join(unknown)}")
        changed = []
        for path, value in values.items():
            if value != self.defaults[path]:
                changed.append(format_override(path, value))
        return tuple(changed)

    def evaluate(self, values: Mapping[str, Any] | None = None) -> WhatIfResult:
        """Run the baseline changed by *values* (lever path -> value) on the baseline's
        seeds; the paired differences against the cached baseline."""
        start = time.perf_counter()
        items = self.overrides(values or {})
        if items:
            scenario, policy = load_with_overrides(
                self.scenario_path, self.policy_path, [*self._fixed, *items]
            )
            frame = kpi_frame(run_replications(scenario, policy, self.replications, self.seed))
        else:
            frame = self.baseline
        both = pd.concat(
            [self.baseline.assign(policy="baseline"), frame.assign(policy="what_if")],
            ignore_index=True,
        )
        differences = paired_differences(both, "baseline", "what_if")
        return WhatIfResult(items, differences, time.perf_counter() - start, frame)
