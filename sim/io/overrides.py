"""``--set dotted.key=value`` overrides applied to a raw YAML mapping before validation.

Keys are dotted paths (``arrivals.rate_per_hour``, ``team.groups.0.count``); values are
parsed as YAML scalars (``4`` is an int, ``true`` a bool, ``[1, 2]`` a list).  Applying
before validation means an override is checked exactly like the file itself.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from sim.errors import ConfigError
from sim.io.safe_yaml import parse_scalar

__all__ = ["apply_overrides", "parse_override", "split_overrides"]


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
