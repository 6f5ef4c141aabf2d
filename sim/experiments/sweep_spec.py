"""What a sweep sweeps: :class:`SweepSpec`, from a YAML file or from command-line options.

A sweep file (``scenarios/sweeps/*.yaml``) and the ``python -m sim sweep`` options hold
the same fields: the scenario and policy files, fixed ``set`` overrides, ``grid`` levers
(a dotted path and its values), ``ranges`` (a dotted path and ``[low, high]``) for a
Latin hypercube, the number of ``samples``, ``replications`` and the base ``seed``.
Paths are routed to the scenario or the policy by :mod:`sim.world.override_paths`
when the design is built (:mod:`sim.experiments.sweep_design`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.errors import ConfigError
from sim.io.safe_yaml import load_mapping, parse_scalar
from sim.io.validation import validate

__all__ = ["SweepSpec", "load_sweep_spec", "parse_grid", "parse_range", "spec_from_options"]


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
    return validate(SweepSpec, load_mapping(path), str(path), name_top_level=False)


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
    return validate(SweepSpec, {**data, **fields}, "sweep", name_top_level=False)
