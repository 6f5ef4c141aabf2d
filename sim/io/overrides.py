"""Dotted-path overrides (``arrivals.rate_per_hour=4``) set in a raw YAML mapping.

Keys are dotted paths (``arrivals.rate_per_hour``, ``team.groups.0.count``); values are
parsed as YAML scalars (``4`` is an int, ``true`` a bool, ``[1, 2]`` a list).  Setting
them before validation means an override is checked exactly like the file itself.

:func:`set_path` is the one way a path is set, for ``--set``, sweep levers and batch
variants alike.  A mapping missing on the way (or an optional block that is off,
``None``) is copied from the defaults, the dump of the file validated by *model*, so a
path into a default (``sla.steps.1.after_hours`` with no policy file) works; where there
is no default either, an empty mapping is created: setting a field of an optional block
switches it on with its defaults.  Which file a path belongs to is decided by
:mod:`sim.world.override_paths`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from sim.errors import ConfigError
from sim.io.safe_yaml import parse_scalar

__all__ = ["Defaults", "apply_overrides", "format_override", "parse_override", "set_path"]


def parse_override(item: str, flag: str = "--set") -> tuple[str, Any]:
    """``'a.b=3'`` -> ``('a.b', 3)``; a malformed item is a ConfigError naming *flag*."""
    key, sep, raw = item.partition("=")
    path = key.strip()
    if not sep or not path or not all(path.split(".")):
        raise ConfigError(f"{flag} {item!r}: expected dotted.key=value")
    return path, parse_scalar(raw.strip())


def format_override(path: str, value: Any) -> str:
    """``('a.b', [1, 2])`` -> ``'a.b=[1, 2]'``: the item :func:`parse_override` reads back."""
    text = yaml.safe_dump(value, default_flow_style=True, width=float("inf"))
    return f"{path}={text.removesuffix(chr(10) + '...' + chr(10)).strip()}"


class Defaults:
    """The validated dump of a raw mapping, computed once and only when first needed.

    ``None`` when there is no model or the mapping does not validate on its own (the
    final validation reports that); then missing mappings start empty.
    """

    def __init__(self, data: dict[str, Any], model: type[BaseModel] | None) -> None:
        self._data, self._model = data, model
        self._dump: Any = None
        self._done = model is None

    def get(self) -> Any:
        """The full default dump (JSON-like), or None."""
        if not self._done:
            self._done = True
            try:
                validated = self._model.model_validate(self._data)  # type: ignore[union-attr]
                self._dump = validated.model_dump(mode="json", by_alias=True)
            except ValidationError:
                self._dump = None
        return self._dump


def _child(node: Any, part: str) -> Any:
    """``node[part]`` for a mapping or a list, else None."""
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    return None


def set_path(
    data: dict[str, Any],
    parts: Iterable[str],
    value: Any,
    label: str,
    defaults: Callable[[], Any] | None = None,
) -> None:
    """Set *value* at *parts* in *data* (in place); errors start with *label*.

    *defaults* returns the validated dump of *data* (see the module docstring).
    """
    parts = list(parts)
    node: Any = data
    fallback = defaults() if defaults is not None and _needs_default(data, parts) else None
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        fallback = _child(fallback, part)
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                where = ".".join(parts[: depth + 1])
                raise ConfigError(f"{label}: {where!r} is not an index of a {len(node)}-item list")
            if last:
                node[int(part)] = value
            else:
                node = node[int(part)]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                if node.get(part) is None:  # missing, or an optional block that is off
                    fresh = copy.deepcopy(fallback) if isinstance(fallback, dict | list) else {}
                    node[part] = fresh
                node = node[part]
        else:
            raise ConfigError(f"{label}: cannot set {part!r} on a {type(node).__name__}")


def _needs_default(data: dict[str, Any], parts: list[str]) -> bool:
    """True when a mapping on the way to the last part is missing or off."""
    node: Any = data
    for part in parts[:-1]:
        node = _child(node, part)
        if node is None:
            return True
    return False


def apply_overrides(
    data: dict[str, Any],
    overrides: Iterable[str],
    model: type[BaseModel] | None = None,
) -> dict[str, Any]:
    """A deep copy of *data* with every ``dotted.key=value`` override set.

    *model* validates *data* for the defaults of missing mappings (none when omitted);
    errors name the override itself.
    """
    original = data
    data = copy.deepcopy(data)
    defaults = Defaults(original, model)
    for item in overrides:
        path, value = parse_override(item)
        set_path(data, path.split("."), value, f"--set {item!r}", defaults.get)
    return data
