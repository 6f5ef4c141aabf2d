"""The design of a sweep: its levers, its points, each validated and keyed before any run.

A *lever* is a dotted path into the scenario or the policy, routed by
:func:`sim.world.override_paths.route_path` exactly like ``--set`` (``arrivals.rate_per_hour``,
``policy.sla.steps.1.after_hours``, ``sla.reclaim_hours``).  A design is either a full
grid (the product of each grid lever's values) or a Latin hypercube over the ranges
(``samples`` points from ``scipy.stats.qmc``), crossed with any grid levers.  Every point
is set in the raw files by :func:`sim.io.overrides.set_path` and validated by pydantic
before anything runs: a bad path or value is one ``ConfigError`` line naming it.

Each point is keyed by a hash of its full validated configuration and seeds
(:func:`point_key`), which is what makes a sweep resumable.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel

from policies.policy import policy_model
from sim.errors import ConfigError
from sim.experiments.sweep_spec import SweepSpec
from sim.io.overrides import apply_overrides, parse_override, set_path
from sim.io.paths import resolve
from sim.io.safe_yaml import load_mapping
from sim.io.validation import validate
from sim.world.override_paths import refuse_repeats, route_path, split_overrides
from sim.world.scenario import Scenario

__all__ = ["Design", "Lever", "PointTask", "build_design", "point_key"]

KEY_FORMAT = 1  # bump when the content of a point file changes meaning
SIGNIFICANT = 6  # digits kept of a Latin-hypercube value (readable, stable keys)


@dataclass(frozen=True)
class Lever:
    """One swept path: its column name (``policy.``-prefixed for the policy), target
    (``scenario`` or ``policy``) and the path inside that file."""

    column: str
    target: Literal["scenario", "policy"]
    parts: tuple[str, ...]
    kind: Literal["grid", "range"]

    @classmethod
    def from_path(cls, path: str, kind: Literal["grid", "range"]) -> Lever:
        """Route *path* to the scenario or the policy; ConfigError for an unknown or
        ambiguous field."""
        routed = route_path(path, f"--{kind}")
        return cls(routed.column, routed.target, routed.parts, kind)

    def set(self, data: dict[str, Any], value: Any, defaults: Any) -> None:
        """Set *value* at this lever's path in *data* (missing mappings from *defaults*)."""
        set_path(data, self.parts, value, f"--{self.kind} {self.column}", lambda: defaults)


@dataclass(frozen=True)
class PointTask:
    """What a worker needs for one point: validated configurations (JSON-able) and seeds."""

    point: int
    key: str
    scenario: dict[str, Any]
    policy: dict[str, Any]
    base_seed: int
    replications: int


@dataclass(frozen=True)
class Design:
    """The points of a sweep, validated, with their keys, and the manifest describing it."""

    spec: SweepSpec
    levers: tuple[Lever, ...]
    values: tuple[dict[str, Any], ...]  # per point: lever column -> value
    tasks: tuple[PointTask, ...]

    def manifest(self) -> dict[str, Any]:
        """The JSON description written to ``sweep.json``."""
        return {
            "name": self.spec.name,
            "scenario": self.spec.scenario,
            "policy": self.spec.policy,
            "set": list(self.spec.set),
            "design": self.spec.design_kind,
            "samples": self.spec.samples,
            "replications": self.spec.replications,
            "base_seed": self.spec.seed,
            "levers": [
                {"column": lever.column, "target": lever.target, "kind": lever.kind}
                for lever in self.levers
            ],
            "points": [
                {"point": task.point, "key": task.key, "values": values}
                for task, values in zip(self.tasks, self.values, strict=True)
            ],
        }


def point_key(scenario: Mapping[str, Any], policy: Mapping[str, Any], seed: int, n: int) -> str:
    """Hash (sha256, 20 hex digits) of a point's full configuration and seeds."""
    payload = {
        "format": KEY_FORMAT,
        "scenario": scenario,
        "policy": policy,
        "seeds": [seed, n],
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def _lhs_values(spec: SweepSpec, levers: Sequence[Lever]) -> list[dict[str, Any]]:
    """``samples`` Latin-hypercube points over the ranges (seeded by ``spec.seed``)."""
    from scipy.stats import qmc

    ranges = list(spec.ranges.items())
    unit = qmc.LatinHypercube(d=len(ranges), rng=np.random.default_rng(spec.seed))
    samples = unit.random(spec.samples or 0)
    rows = []
    for sample in samples:
        row = {}
        for lever, (low, high), u in zip(levers, (r for _, r in ranges), sample, strict=True):
            if isinstance(low, int) and isinstance(high, int):
                row[lever.column] = int(min(high, low + math.floor(u * (high - low + 1))))
            else:
                row[lever.column] = float(f"{low + u * (high - low):.{SIGNIFICANT}g}")
        rows.append(row)
    return rows


def _point_values(spec: SweepSpec, grid: Sequence[Lever], ranged: Sequence[Lever]) -> list[dict]:
    combos = [
        dict(zip((lever.column for lever in grid), combo, strict=True))
        for combo in itertools.product(*spec.grid.values())
    ]
    if spec.design_kind == "grid":
        return combos
    samples = _lhs_values(spec, ranged)
    return [{**combo, **sample} for combo in combos for sample in samples]


def _models() -> dict[str, type[BaseModel]]:
    return {"scenario": Scenario, "policy": policy_model()}


def _check_levers_alone(
    levers: Iterable[tuple[Lever, Sequence[Any]]],
    raw: Mapping[str, dict[str, Any]],
    defaults: Mapping[str, dict[str, Any]],
) -> None:
    """Validate each lever value on its own, so an error names one path and value."""
    models = _models()
    for lever, values in levers:
        for value in values:
            data = copy.deepcopy(raw[lever.target])
            lever.set(data, value, defaults[lever.target])
            source = f"--{lever.kind} {lever.column}={value}"
            validate(models[lever.target], data, source, one_line=True)


def _raw_files(spec: SweepSpec) -> dict[str, dict[str, Any]]:
    """The raw scenario and policy mappings with the spec's fixed ``set`` overrides."""
    models = _models()
    scenario_sets, policy_sets = split_overrides(spec.set)
    scenario = load_mapping(resolve(spec.scenario))
    policy = load_mapping(resolve(spec.policy)) if spec.policy is not None else {}
    return {
        "scenario": apply_overrides(scenario, scenario_sets, models["scenario"]),
        "policy": apply_overrides(policy, policy_sets, models["policy"]),
    }


def build_design(spec: SweepSpec) -> Design:
    """Every point of *spec*, validated against the scenario and policy models.

    Raises ConfigError (one line naming the file, path or value) before anything runs.
    """
    models = _models()
    raw = _raw_files(spec)
    refuse_repeats(  # a path swept and also fixed by set: which one wins is not stated
        [
            *(("--set", parse_override(item)[0]) for item in spec.set),
            *(("--grid", path) for path in spec.grid),
            *(("--range", path) for path in spec.ranges),
        ]
    )
    checks: dict[str, tuple[Lever, Sequence[Any]]] = {}
    for kind, items in (("grid", spec.grid.items()), ("range", spec.ranges.items())):
        for path, values in items:
            lever = Lever.from_path(path, kind)
            if lever.column in checks:
                raise ConfigError(f"--{kind} {path}: the lever {lever.column} is given twice")
            checks[lever.column] = (lever, values)
    levers = [lever for lever, _ in checks.values()]
    grid, ranged = levers[: len(spec.grid)], levers[len(spec.grid) :]
    sources = {"scenario": spec.scenario, "policy": spec.policy or "policy"}
    defaults = {
        target: validate(models[target], raw[target], sources[target], one_line=True).model_dump(
            mode="json", by_alias=True
        )
        for target in ("scenario", "policy")
    }
    _check_levers_alone(checks.values(), raw, defaults)

    values = _point_values(spec, grid, ranged)
    tasks = []
    for index, point in enumerate(values):
        data = copy.deepcopy(raw)
        for lever in levers:
            lever.set(data[lever.target], point[lever.column], defaults[lever.target])
        label = "sweep point " + ", ".join(f"{c}={v}" for c, v in point.items())
        dumps = [
            validate(models[target], data[target], label, one_line=True).model_dump(
                mode="json", by_alias=True
            )
            for target in ("scenario", "policy")
        ]
        key = point_key(*dumps, spec.seed, spec.replications)
        tasks.append(PointTask(index, key, *dumps, spec.seed, spec.replications))
    return Design(spec, tuple(levers), tuple(values), tuple(tasks))
