"""Override paths for report notebooks: the scenario and policy files a notebook reads,
with dotted-path overrides applied.

A report notebook takes file names (``scenario``, ``policy`` or ``baseline`` and
``candidate``), so overrides given to ``report --set`` or as dotted keys of a batch file
(``sla.reclaim_hours: 8``, ``team.groups.0.count: 6``) are routed exactly like ``run
--set`` (:mod:`sim.world.override_paths`), applied to the files those parameters name
(or to the notebook's defaults), validated, and written as complete files the notebook
then reads.  A policy override applies to every policy the notebook compares.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from sim.errors import ConfigError
from sim.io.output import confined, safe_name
from sim.io.overrides import format_override, parse_override
from sim.io.paths import resolve
from sim.world.loading import load_policy, load_scenario
from sim.world.override_paths import split_overrides

__all__ = [
    "POLICY_PARAMETERS",
    "overridden_inputs",
    "split_parameters",
    "with_overrides",
    "write_inputs",
]

POLICY_PARAMETERS = ("policy", "baseline", "candidate")


def split_parameters(params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Notebook parameters and override paths (the keys with a dot) of *params*."""
    notebook = {k: v for k, v in params.items() if "." not in k}
    overrides = {k: v for k, v in params.items() if "." in k}
    return notebook, overrides


def _default(known: Mapping[str, Any], name: str) -> Any:
    """The notebook's default of parameter *name* (papermill gives its source text)."""
    value = known.get(name)
    if not isinstance(value, str):
        return value
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value


def overridden_inputs(
    known: Mapping[str, Any],
    params: Mapping[str, Any],
    overrides: Mapping[str, Any],
    label: str,
    flag: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Per scenario/policy parameter touched by *overrides*: its validated file content.

    *known* are the notebook's parameters and defaults, *params* the values given;
    errors start with *label* (a path's own errors with *flag*, default ``label:``) and
    are raised before anything is written.
    """
    items = [format_override(path, value) for path, value in overrides.items()]
    scenario_sets, policy_sets = split_overrides(items, flag or f"{label}:")
    dumps: dict[str, dict[str, Any]] = {}
    if scenario_sets:
        if "scenario" not in known:
            raise ConfigError(f"{label}: scenario override(s) but the notebook has no scenario")
        path = params.get("scenario", _default(known, "scenario"))
        if not isinstance(path, str):
            raise ConfigError(f"{label}: scenario override(s) need a scenario file")
        scenario = load_scenario(resolve(path), scenario_sets)
        dumps["scenario"] = scenario.model_dump(mode="json", by_alias=True)
    if policy_sets:
        names = [name for name in POLICY_PARAMETERS if name in known]
        if not names:
            raise ConfigError(f"{label}: policy override(s) but the notebook has no policy")
        for name in names:
            path = params.get(name, _default(known, name))
            policy = load_policy(resolve(path) if path is not None else None, policy_sets)
            dumps[name] = policy.model_dump(mode="json", by_alias=True)
    return dumps


def write_inputs(folder: Path, stem: str, dumps: Mapping[str, dict[str, Any]]) -> dict[str, str]:
    """Write each file of :func:`overridden_inputs` as ``folder/<stem>.<parameter>.yaml``;
    returns the notebook parameters naming them."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, data in dumps.items():
        path = confined(folder, safe_name(f"{stem}.{name}") + ".yaml")
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "utf-8")
        written[name] = str(path)
    return written


def with_overrides(
    known: Mapping[str, Any],
    params: Mapping[str, Any],
    items: Iterable[str],
    folder: Path,
    stem: str,
) -> dict[str, Any]:
    """*params* whose scenario/policy files carry the ``--set`` *items*: the overridden
    copies are written as ``folder/<stem>.<parameter>.yaml``."""
    overrides = dict(parse_override(item) for item in items)
    dumps = overridden_inputs(known, params, overrides, "report --set", "--set")
    return {**params, **write_inputs(folder, stem, dumps)}
