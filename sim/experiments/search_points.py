"""Configurations of a policy search: lever values set in the files, validated, keyed.

:class:`Configurations` loads the scenario and policy once (with the fixed ``--set``
overrides) and turns a mapping ``column -> value`` into a
:class:`~sim.experiments.sweep_design.PointTask`: the validated configuration, keyed by
:func:`~sim.experiments.sweep_design.point_key` with the search's base seed and
replications.  Every configuration runs on the seeds ``(seed, 0..n-1)``: common random
numbers across candidates and futures, exactly as a sweep point.

Up front, a lever (or uncertainty) is refused, one ``ConfigError`` line, only when no
value of it gives a valid configuration: a typo, a wrong type, a path that does not
exist, a range entirely invalid.  Its probes are both bounds, the midpoint and a few
seeded points of a range (each choice of a choice lever, which is refused when one
choice is never valid: a typo), each tried alone and with the other levers at seeded
values.  A configuration that is invalid only for some values (``reclaim_hours`` 1.5 h
below a 2 h reminder, or two levers that do not fit together) is not an error of the
search: :meth:`Configurations.task` raises :class:`InvalidConfiguration` with a
one-line ``reason`` and the search records that trial as infeasible, never run.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from policies.policy import policy_model
from sim.errors import ConfigError
from sim.experiments.search_spec import SearchLever, SearchSpec
from sim.experiments.sweep_design import SIGNIFICANT, PointTask, point_key
from sim.io.overrides import apply_overrides, parse_override, set_path
from sim.io.paths import resolve
from sim.io.safe_yaml import load_mapping
from sim.io.validation import validate
from sim.outcomes.kpis import kpi_specs
from sim.world.override_paths import refuse_repeats, split_overrides
from sim.world.scenario import Scenario

__all__ = ["Configurations", "InvalidConfiguration", "rounded"]

PROBES = 3  # seeded points of a range, and seeded settings of the other levers


class InvalidConfiguration(ConfigError):
    """Lever values that do not give a valid configuration; ``reason`` is one line."""

    def __init__(self, values: Mapping[str, Any], reason: str) -> None:
        self.values, self.reason = dict(values), reason
        shown = ", ".join(f"{c}={v}" for c, v in self.values.items()) or "base"
        super().__init__(f"configuration {shown}: {reason}")


def rounded(lever: SearchLever, value: Any) -> Any:
    """A value as stored: ints as int, floats to 6 significant digits (stable keys)."""
    if lever.kind == "int":
        return round(float(value))
    if lever.kind == "float":
        return float(f"{float(value):.{SIGNIFICANT}g}")
    return value


class Configurations:
    """The search's base files and how to set levers in them."""

    def __init__(self, spec: SearchSpec) -> None:
        self.spec = spec
        self.models = {"scenario": Scenario, "policy": policy_model()}
        refuse_repeats(
            [
                *(("--set", parse_override(item)[0]) for item in spec.overrides),
                *((lever.flag, lever.path) for lever in (*spec.levers, *spec.uncertainties)),
            ]
        )
        scenario_sets, policy_sets = split_overrides(spec.overrides)
        scenario = load_mapping(resolve(spec.scenario))
        policy = load_mapping(resolve(spec.policy)) if spec.policy is not None else {}
        self.raw = {
            "scenario": apply_overrides(scenario, scenario_sets, Scenario),
            "policy": apply_overrides(policy, policy_sets, self.models["policy"]),
        }
        sources = {"scenario": spec.scenario, "policy": spec.policy or "policy"}
        validated = {
            target: validate(self.models[target], self.raw[target], sources[target], one_line=True)
            for target in ("scenario", "policy")
        }
        self.defaults = {
            target: model.model_dump(mode="json", by_alias=True)
            for target, model in validated.items()
        }
        known = kpi_specs(validated["scenario"])
        wanted = [(f"--objective {o.sense}:{o.kpi}", o.kpi) for o in spec.objectives]
        wanted += [(f"--constraint {c.kpi}", c.kpi) for c in spec.constraints]
        if spec.discover is not None:
            wanted.append((f"--discover {spec.discover.kpi}", spec.discover.kpi))
        for flag, kpi in wanted:
            if kpi not in known:
                raise ConfigError(
                    f"{flag}: {spec.scenario} has no {kpi!r} KPI (process KPIs need a "
                    "scenario with a process: section)"
                )
        self.levers = {lever.column: lever for lever in (*spec.levers, *spec.uncertainties)}
        self._known: dict[str, PointTask | InvalidConfiguration] = {}
        self.base = self.task({})
        self._check_levers((*spec.levers, *spec.uncertainties))

    def _check_levers(self, levers: Sequence[SearchLever]) -> None:
        """Refuse a lever no value of which gives a valid configuration (module doc)."""
        rng = np.random.default_rng(self.spec.seed)
        contexts = [{}] + [
            {lever.column: _draw(lever, rng) for lever in levers} for _ in range(PROBES)
        ]
        for lever in levers:
            groups = (
                [[c] for c in lever.choices or ()]
                if lever.kind == "choice"
                else [_probes(lever, rng)]
            )
            for values in groups:
                first = None
                for value, context in itertools.product(values, contexts):
                    setting = {**context, lever.column: value}
                    setting = {c: v for c, v in setting.items() if c in self.levers}
                    try:
                        self._build(setting, 0)
                    except InvalidConfiguration as exc:
                        first = first or exc
                        continue
                    break
                else:
                    shown = values[0] if len(values) == 1 else f"{lever.low}:{lever.high}"
                    tried = (
                        ""
                        if len(values) == 1
                        else (
                            " (no value tried gives a valid configuration: "
                            + ", ".join(f"{v:g}" for v in values)
                            + ")"
                        )
                    )
                    raise ConfigError(f"{lever.flag} {lever.path}={shown}: {first.reason}{tried}")

    def task(self, values: Mapping[str, Any], index: int = 0) -> PointTask:
        """The validated, keyed configuration with *values* (column -> value) set.

        Validated once per distinct *values* (a repeated trial or a candidate met again
        in the only future reuses it).
        """
        memo = json.dumps(sorted(values.items()), default=str)
        known = self._known.get(memo)
        if known is None:
            try:
                known = self._build(values, index)
            except InvalidConfiguration as exc:
                known = exc
            self._known[memo] = known
        if isinstance(known, InvalidConfiguration):
            raise known
        return dataclasses.replace(known, point=index)

    def _build(self, values: Mapping[str, Any], index: int) -> PointTask:
        """The validated task; InvalidConfiguration (one-line reason) when it is not valid."""
        data = copy.deepcopy(self.raw)
        for column, value in values.items():
            lever = self.levers[column]
            routed = lever.routed
            if isinstance(value, float) and not math.isfinite(value):
                raise InvalidConfiguration(values, f"{lever.path}: value {value} is not finite")
            try:
                set_path(
                    data[routed.target],
                    routed.parts,
                    value,
                    lever.path,
                    lambda r=routed: self.defaults[r.target],
                )
            except ConfigError as exc:
                raise InvalidConfiguration(values, str(exc)) from None
        dumps = []
        for target in ("scenario", "policy"):
            try:
                model = validate(self.models[target], data[target], target, one_line=True)
            except ConfigError as exc:
                raise InvalidConfiguration(values, str(exc)) from None
            dumps.append(model.model_dump(mode="json", by_alias=True))
        n, seed = self.spec.replications, self.spec.seed
        return PointTask(index, point_key(*dumps, seed, n), *dumps, seed, n)


def _draw(lever: SearchLever, rng: np.random.Generator) -> Any:
    """One seeded value of *lever* (a choice, or a point of its range), as stored."""
    if lever.kind == "choice":
        choices = list(lever.choices or ())
        return choices[int(rng.integers(len(choices)))]
    return rounded(lever, rng.uniform(float(lever.low), float(lever.high)))


def _probes(lever: SearchLever, rng: np.random.Generator) -> list[Any]:
    """A range's probe values: both bounds, the midpoint and seeded points, distinct."""
    middle = (float(lever.low) + float(lever.high)) / 2
    values = [lever.low, lever.high, rounded(lever, middle)]
    values += [_draw(lever, rng) for _ in range(PROBES)]
    return list(dict.fromkeys(rounded(lever, v) for v in values))
