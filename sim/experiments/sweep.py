"""Parameter sweeps: a design of points over scenario and policy levers, run resumably.

A *lever* is a dotted path into the scenario or the policy (``arrivals.rate_per_hour``,
``policy.sla.steps.1.after_hours``; a path whose first field only the policy has, such
as ``sla.steps.1.after_hours``, goes to the policy too).  A sweep is either a full grid
(``grid``: the product of each lever's values) or a Latin hypercube over ranges
(``ranges`` with ``samples``, from ``scipy.stats.qmc``; crossed with any grid levers).
Every point is applied to the raw files and validated by pydantic before anything runs:
a bad path or value is one ``ConfigError`` line naming it.

Each point runs ``replications`` runs on the seeds ``(seed, 0..n-1)`` (the same seeds at
every point: common random numbers across the design) and is keyed by a hash of its
full validated configuration and seeds.  Its KPIs go to one Parquet file per point
(:mod:`sim.experiments.store`); a rerun skips finished points, so a killed sweep resumes and
ends with the same combined table as an uninterrupted one::

    spec = SweepSpec(scenario="scenarios/baseline.yaml", grid={"sla.steps.1.after_hours": [4, 8]})
    outcome = run_sweep(build_design(spec), "runs/sweeps/demo", SequentialEvaluator())
    table = outcome.table  # one row per (point, replication)
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from policies.policy import policy_model
from sim.errors import ConfigError
from sim.experiments.fanout import Evaluator
from sim.experiments.replications import kpi_frame, run_replications
from sim.experiments.store import (
    RESULTS,
    combined_table,
    confined,
    finished_keys,
    point_path,
    write_failures,
    write_frame,
    write_manifest,
)
from sim.io.overrides import apply_overrides, split_overrides
from sim.io.paths import resolve
from sim.io.safe_yaml import load_mapping, parse_scalar
from sim.world.scenario import Scenario, format_validation_error

__all__ = [
    "Design",
    "Lever",
    "PointTask",
    "SweepOutcome",
    "SweepSpec",
    "build_design",
    "evaluate_point",
    "load_sweep_spec",
    "parse_grid",
    "parse_range",
    "point_key",
    "run_sweep",
]

KEY_FORMAT = 1  # bump when the content of a point file changes meaning
SIGNIFICANT = 6  # digits kept of a Latin-hypercube value (readable, stable keys)


class SweepSpec(BaseModel):
    """What to sweep: files, fixed overrides, levers, design and seeds.

    The same fields as the ``python -m sim sweep`` options; also read from a YAML file
    (:func:`load_sweep_spec`).  ``grid`` maps a lever path to its values; ``ranges`` maps
    a lever path to ``[low, high]`` (integers when both bounds are integers).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str | None = None
    scenario: str
    policy: str | None = None
    set: list[str] = Field(default_factory=list)
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    ranges: dict[str, tuple[int, int] | tuple[float, float]] = Field(default_factory=dict)
    design: Literal["grid", "lhs"] | None = None
    samples: int | None = Field(None, ge=1)
    replications: int = Field(10, ge=1)
    seed: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> SweepSpec:
        for path, (low, high) in self.ranges.items():
            if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
                raise ValueError(f"range {path}: need finite low < high, got {low}:{high}")
        design = self.design or ("lhs" if self.ranges else "grid")
        if design == "grid" and (self.ranges or self.samples is not None):
            raise ValueError("ranges and samples need design 'lhs' (a grid sweeps listed values)")
        if design == "lhs" and (not self.ranges or self.samples is None):
            raise ValueError("design 'lhs' needs at least one range and a number of samples")
        if not self.grid and not self.ranges:
            raise ValueError("nothing to sweep: give at least one grid lever or range")
        for path, values in self.grid.items():
            if not values:
                raise ValueError(f"grid {path}: no values")
            if len({json.dumps(v, sort_keys=True, default=str) for v in values}) < len(values):
                raise ValueError(f"grid {path}: a value is listed twice")
        duplicated = set(self.grid) & set(self.ranges)
        if duplicated:
            raise ValueError(f"{sorted(duplicated)[0]} is both a grid lever and a range")
        return self

    @property
    def design_kind(self) -> Literal["grid", "lhs"]:
        """``grid`` or ``lhs`` (inferred from ``ranges`` when not given)."""
        return self.design or ("lhs" if self.ranges else "grid")


def load_sweep_spec(path: str | Path) -> SweepSpec:
    """A :class:`SweepSpec` from a YAML file; errors name the file and the field."""
    try:
        return SweepSpec.model_validate(load_mapping(path))
    except ValidationError as exc:
        raise ConfigError(_spec_error(str(path), exc)) from None


def _spec_error(source: str, exc: ValidationError) -> str:
    """One line per problem of a sweep spec ('(top level)' left out: the spec is small)."""
    lines = format_validation_error(source, exc)
    return "\n".join(line.replace(": (top level): ", ": ") for line in lines)


def _split_values(text: str) -> list[str]:
    """Split on commas outside brackets and quotes: ``1,[2, 3],'a,b'`` -> 3 items."""
    items, depth, quote, current = [], 0, "", []
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            items.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    items.append("".join(current).strip())
    return items


def parse_grid(item: str) -> tuple[str, list[Any]]:
    """``'path=v1,v2'`` -> ``('path', [v1, v2])`` (values parsed as YAML scalars)."""
    path, sep, raw = item.partition("=")
    path = path.strip()
    values = _split_values(raw) if sep else []
    if not sep or not path or not all(path.split(".")) or not all(values):
        raise ConfigError(f"--grid {item!r}: expected dotted.path=value1,value2,...")
    return path, [parse_scalar(v) for v in values]


def parse_range(item: str) -> tuple[str, tuple[float, float]]:
    """``'path=lo:hi'`` -> ``('path', (lo, hi))``; integer bounds stay integers."""
    path, sep, raw = item.partition("=")
    path = path.strip()
    low, colon, high = raw.partition(":")
    try:
        if not sep or not colon or not path or not all(path.split(".")):
            raise ValueError
        bounds = tuple(int(v) if v.strip().lstrip("-").isdigit() else float(v) for v in (low, high))
    except ValueError:
        raise ConfigError(f"--range {item!r}: expected dotted.path=low:high") from None
    return path, bounds  # type: ignore[return-value]


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
        """Route *path* to the scenario or the policy; ConfigError for an unknown field."""
        head, _, rest = path.partition(".")
        scenario_fields, policy_fields = (
            set(Scenario.model_fields),
            set(policy_model().model_fields),
        )
        if head in ("policy", "scenario") and rest:
            target, parts = head, rest.split(".")
        elif head in scenario_fields:
            target, parts = "scenario", path.split(".")
        elif head in policy_fields:
            target, parts = "policy", path.split(".")
        else:
            raise ConfigError(
                f"--{kind} {path}: unknown field {head!r} (scenario: "
                f"{', '.join(sorted(scenario_fields))}; policy: {', '.join(sorted(policy_fields))})"
            )
        column = ".".join(parts) if target == "scenario" else "policy." + ".".join(parts)
        return cls(column, target, tuple(parts), kind)


def _child(node: Any, part: str) -> Any:
    """``node[part]`` for a mapping or a list, else None."""
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    return None


def _set_path(data: dict[str, Any], lever: Lever, value: Any, defaults: Any) -> None:
    """Set *value* at the lever's path in *data*.

    A mapping missing on the way is copied from *defaults* (the validated model's full
    dump), so a path into a default (``sla.steps.1.after_hours`` with no policy file)
    works; where there is no default either (or an optional block is off, ``None``), an
    empty mapping is created: setting a field of an optional block switches it on with
    its defaults (``allocation.newbie_protection.a_share_max``).
    """
    node: Any = data
    *head, last = lever.parts
    for depth, part in enumerate([*head, last]):
        where = ".".join(lever.parts[: depth + 1])
        defaults = _child(defaults, part)
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(
                    f"--{lever.kind} {lever.column}: {where!r} is not an index of a "
                    f"{len(node)}-item list"
                )
            if depth == len(head):
                node[int(part)] = value
            else:
                node = node[int(part)]
        elif isinstance(node, dict):
            if depth == len(head):
                node[part] = value
            else:
                if node.get(part) is None:  # missing, or an optional block that is off
                    fresh = copy.deepcopy(defaults) if isinstance(defaults, dict | list) else {}
                    node[part] = fresh
                node = node[part]
        else:
            raise ConfigError(
                f"--{lever.kind} {lever.column}: cannot descend into {where!r} "
                f"(a {type(node).__name__})"
            )


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


def _validated(model: type[BaseModel], data: dict[str, Any], source: str) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = format_validation_error(source, exc)
        more = f" (+{len(lines) - 1} more)" if len(lines) > 1 else ""
        raise ConfigError(lines[0] + more) from None


def _check_levers_alone(
    levers: Iterable[tuple[Lever, Sequence[Any]]],
    raw: Mapping[str, dict[str, Any]],
    defaults: Mapping[str, dict[str, Any]],
) -> None:
    """Validate each lever value on its own, so an error names one path and value."""
    models = {"scenario": Scenario, "policy": policy_model()}
    for lever, values in levers:
        for value in values:
            data = copy.deepcopy(raw[lever.target])
            _set_path(data, lever, value, defaults[lever.target])
            _validated(models[lever.target], data, f"--{lever.kind} {lever.column}={value}")


def build_design(spec: SweepSpec) -> Design:
    """Every point of *spec*, validated against the scenario and policy models.

    Raises ConfigError (one line naming the file, path or value) before anything runs.
    """
    scenario_sets, policy_sets = split_overrides(spec.set)
    scenario_path = resolve(spec.scenario)
    raw = {"scenario": apply_overrides(load_mapping(scenario_path), scenario_sets, spec.scenario)}
    if spec.policy is not None:
        policy_raw = load_mapping(resolve(spec.policy))
        raw["policy"] = apply_overrides(policy_raw, policy_sets, spec.policy)
    else:
        raw["policy"] = apply_overrides({}, policy_sets, "policy")
    checks: dict[str, tuple[Lever, Sequence[Any]]] = {}
    for kind, items in (("grid", spec.grid.items()), ("range", spec.ranges.items())):
        for path, values in items:
            lever = Lever.from_path(path, kind)
            if lever.column in checks:
                raise ConfigError(f"--{kind} {path}: the lever {lever.column} is given twice")
            checks[lever.column] = (lever, values)
    levers = [lever for lever, _ in checks.values()]
    grid, ranged = levers[: len(spec.grid)], levers[len(spec.grid) :]
    defaults = {
        "scenario": _validated(Scenario, raw["scenario"], spec.scenario),
        "policy": _validated(policy_model(), raw["policy"], spec.policy or "policy"),
    }
    defaults = {k: m.model_dump(mode="json", by_alias=True) for k, m in defaults.items()}
    _check_levers_alone(checks.values(), raw, defaults)

    values = _point_values(spec, grid, ranged)
    tasks = []
    for index, point in enumerate(values):
        data = copy.deepcopy(raw)
        for lever in levers:
            _set_path(data[lever.target], lever, point[lever.column], defaults[lever.target])
        label = "sweep point " + ", ".join(f"{c}={v}" for c, v in point.items())
        scenario = _validated(Scenario, data["scenario"], label)
        policy = _validated(policy_model(), data["policy"], label)
        dumps = [m.model_dump(mode="json", by_alias=True) for m in (scenario, policy)]
        key = point_key(*dumps, spec.seed, spec.replications)
        tasks.append(PointTask(index, key, *dumps, spec.seed, spec.replications))
    return Design(spec, tuple(levers), tuple(values), tuple(tasks))


def evaluate_point(task: PointTask) -> pd.DataFrame:
    """Run one point's replications; one row per replication: ``replication`` and KPIs.

    Runs where it is called (a Dask worker or this process); the configuration is
    validated again from its JSON form, which is exactly what the key was hashed from.
    """
    scenario = Scenario.model_validate(task.scenario)
    policy = policy_model().model_validate(task.policy)
    results = run_replications(scenario, policy, task.replications, task.base_seed)
    return kpi_frame(results).drop(columns=["seed"])


@dataclass
class SweepOutcome:
    """What a call of :func:`run_sweep` did, and the combined table when complete."""

    out: Path
    points: int
    reused: int
    finished: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    table: pd.DataFrame | None = None

    @property
    def complete(self) -> bool:
        """True when every point has its result file."""
        return not self.failed and self.table is not None

    @property
    def results_path(self) -> Path:
        """``OUT/results.parquet`` (written only when complete)."""
        return self.out / RESULTS


def run_sweep(
    design: Design,
    out: str | Path,
    evaluator: Evaluator,
    on_point: Callable[[PointTask], None] | None = None,
    evaluate: Callable[[PointTask], pd.DataFrame] = evaluate_point,
) -> SweepOutcome:
    """Run the design's unfinished points with *evaluator*; write each as it finishes.

    *evaluate* computes one point (default :func:`evaluate_point`; it must be picklable
    for Dask); *on_point* is called with each task once its file is written.

    Points whose file exists in *out* are skipped (a configuration is run once per key
    even if several points share it).  When every point has finished, the combined
    table is written to ``OUT/results.parquet`` and returned; failed points are kept in
    ``OUT/failures.json`` and left for the next call.  A ``KeyboardInterrupt`` leaves
    every point finished so far on disk and propagates.
    """
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{out}: cannot create output folder ({exc.strerror})") from None
    manifest = design.manifest()
    write_manifest(out, manifest)
    done = finished_keys(out, [task.key for task in design.tasks])
    unique = {task.key: task for task in design.tasks if task.key not in done}
    outcome = SweepOutcome(out, len(design.tasks), sum(t.key in done for t in design.tasks))
    results = confined(out, RESULTS)

    def finished(task: PointTask, frame: pd.DataFrame) -> None:
        write_frame(frame, point_path(out, task.key))
        outcome.finished += 1
        if on_point is not None:
            on_point(task)

    def failed(task: PointTask, message: str) -> None:
        values = design.values[task.point]
        outcome.failed.append(
            {"point": task.point, "key": task.key, "values": values, "error": message}
        )

    evaluator.map(evaluate, list(unique.values()), finished, failed, label="points")
    write_failures(out, outcome.failed)
    if outcome.failed:
        results.unlink(missing_ok=True)
        return outcome
    outcome.table = combined_table(out, manifest)
    write_frame(outcome.table, results)
    return outcome


def spec_from_options(
    scenario: str,
    policy: str | None,
    grid: Iterable[str],
    ranges: Iterable[str],
    **fields: Any,
) -> SweepSpec:
    """A :class:`SweepSpec` from command-line strings (``path=v1,v2``, ``path=lo:hi``)."""
    grid_levers: dict[str, list[Any]] = {}
    for item in grid:
        path, values = parse_grid(item)
        if path in grid_levers:
            raise ConfigError(f"--grid {path}: given twice")
        grid_levers[path] = values
    range_levers: dict[str, tuple[float, float]] = {}
    for item in ranges:
        path, bounds = parse_range(item)
        if path in range_levers:
            raise ConfigError(f"--range {path}: given twice")
        range_levers[path] = bounds
    data = {"scenario": scenario, "policy": policy, "grid": grid_levers, "ranges": range_levers}
    try:
        return SweepSpec.model_validate({**data, **fields})
    except ValidationError as exc:
        raise ConfigError(_spec_error("sweep", exc)) from None
