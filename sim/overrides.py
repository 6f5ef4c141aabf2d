"""``--set dotted.key=value`` overrides applied to a raw YAML mapping before validation.

Keys are dotted paths (``arrivals.rate_per_hour``, ``team.groups.0.count``); values are
parsed as YAML scalars (``4`` is an int, ``true`` a bool, ``[1, 2]`` a list).  Applying
before validation means an override is checked exactly like the file itself.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sim.errors import ConfigError
from sim.yamlio import parse_scalar

__all__ = [
    "apply_overrides",
    "lookup",
    "parse_override",
    "sensitivity_variants",
    "split_overrides",
]


def parse_override(item: str) -> tuple[list[str], Any]:
    """``'a.b=3'`` -> ``(['a', 'b'], 3)``; a malformed item is a ConfigError."""
    key, sep, raw = item.partition("=")
    parts = key.strip().split(".")
    if not sep or not all(parts):
        raise ConfigError(f"--set {item!r}: expected dotted.key=value")
    return parts, parse_scalar(raw.strip())


def _step(node: Any, part: str, item: str, create: bool) -> Any:
    if isinstance(node, list):
        if not part.isdigit() or int(part) >= len(node):
            raise ConfigError(
                f"--set {item!r}: {part!r} is not an index of a {len(node)}-item list"
            )
        return node[int(part)]
    if isinstance(node, dict):
        if node.get(part) is None:  # missing, or an optional block that is off (null)
            if not create:
                raise ConfigError(f"--set {item!r}: no key {part!r}")
            node[part] = {}
        return node[part]
    raise ConfigError(f"--set {item!r}: cannot descend into {part!r} (a {type(node).__name__})")


def apply_overrides(data: dict[str, Any], overrides: Iterable[str], source: str) -> dict[str, Any]:
    """A deep copy of *data* with every override set (missing mappings are created)."""
    data = copy.deepcopy(data)
    for item in overrides:
        parts, value = parse_override(item)
        node: Any = data
        for part in parts[:-1]:
            node = _step(node, part, item, create=True)
        last = parts[-1]
        if isinstance(node, list):
            _step(node, last, item, create=False)
            node[int(last)] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            raise ConfigError(f"--set {item!r}: cannot set {last!r} on a {type(node).__name__}")
    return data


def split_overrides(items: Iterable[str]) -> tuple[list[str], list[str]]:
    """Separate scenario overrides from ``policy.``-prefixed policy overrides."""
    scenario, policy = [], []
    for item in items:
        if item.startswith("policy."):
            policy.append(item.removeprefix("policy."))
        else:
            scenario.append(item)
    return scenario, policy


def lookup(data: Any, path: str) -> Any:
    """The value at dotted *path* of a raw mapping (``team.groups.0.touch_time.mean``);
    a missing key or index is a ConfigError."""
    node = data
    for part in path.split("."):
        node = _step(node, part, path, create=False)
    return node


def _override_value(value: Any) -> str:
    """*value* as override text: JSON is YAML flow syntax, so mappings and lists
    (a whole decay curve) pass as they are; dates and other objects as quoted text."""
    return json.dumps(value, default=str)


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
        labels = factor.get("labels") or [_override_value(v).strip('"') for v in values]
        if len(labels) != len(values):
            raise ConfigError(f"{where} ({name}): {len(labels)} labels for {len(values)} values")
        for label, value in zip(labels, values, strict=True):
            text = _override_value(value)
            variants.append((str(name), str(label), [f"{path}={text}" for path in paths]))
    return variants
