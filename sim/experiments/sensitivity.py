"""One-at-a-time sensitivity variants of a scenario, written as override lists.

A report that shows how much a result depends on one assumption (the case study's
key-account touch time, the response-decay curve) reruns the scenario with that
assumption changed; each variant is a list of ``path=value`` items that the one path
language (:mod:`sim.world.override_paths`) applies like ``--set``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sim.errors import ConfigError
from sim.io.overrides import format_override

__all__ = ["lookup", "sensitivity_variants"]


def lookup(data: Any, path: str) -> Any:
    """The value at dotted *path* of a raw mapping (``team.groups.0.touch_time.mean``);
    a missing key or index is a ConfigError."""
    node = data
    for part in path.split("."):
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(f"{path}: {part!r} is not an index of a {len(node)}-item list")
            node = node[int(part)]
        elif isinstance(node, dict):
            if node.get(part) is None:
                raise ConfigError(f"{path}: no key {part!r}")
            node = node[part]
        else:
            raise ConfigError(f"{path}: cannot descend into {part!r} (a {type(node).__name__})")
    return node


def sensitivity_variants(spec: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, list[str]]]:
    """One-at-a-time variants of a scenario, as override lists.

    *spec* is a list of factors, each a mapping with ``name`` (what varies, in words),
    ``set`` (one dotted path or a list of them: every path gets the same value, e.g. the
    touch time of three rep groups), ``values`` (the values to try) and optionally
    ``labels`` (one per value; default: the value as written).  Returns
    ``(name, label, overrides)`` per factor and value, in the order given.  A factor
    without a name, a path or values, or whose labels do not match its values, is a
    ConfigError.
    """
    variants = []
    for i, factor in enumerate(spec):
        where = f"sensitivity[{i}]"
        if not isinstance(factor, Mapping):
            raise ConfigError(f"{where}: expected a mapping with name, set and values")
        unknown = sorted(set(factor) - {"name", "set", "values", "labels"})
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
        name, paths, values = factor.get("name"), factor.get("set"), factor.get("values")
        paths = [paths] if isinstance(paths, str) else paths
        if not name or not paths or not all(isinstance(p, str) and p for p in paths):
            raise ConfigError(f"{where}: needs a name and 'set': a dotted path or a list")
        if not isinstance(values, Sequence) or isinstance(values, str) or not values:
            raise ConfigError(f"{where} ({name}): 'values' must be a non-empty list")
        labels = factor.get("labels") or [_label(v) for v in values]
        if len(labels) != len(values):
            raise ConfigError(f"{where} ({name}): {len(labels)} labels for {len(values)} values")
        for label, value in zip(labels, values, strict=True):
            variants.append(
                (str(name), str(label), [format_override(path, value) for path in paths])
            )
    return variants


def _label(value: Any) -> str:
    return format_override("x", value).partition("=")[2].strip("'\"")
