"""Which file a dotted override path sets: the scenario or the policy.

One rule for ``--set`` (run, compare, report), the sweep's ``--grid`` and ``--range``,
sweep files and batch files:

- ``scenario.`` or ``policy.`` in front names the file (always allowed);
- otherwise the first field decides: one only the scenario has (``team``, ``arrivals``,
  ...) goes to the scenario, one only the policy has (``sla``, ``routing``, ...) to the
  policy;
- a first field both have (``name``, ``description``) is ambiguous: an error that gives
  both meanings and how to pick one;
- a path given twice (``--set horizon_days=1 --set horizon_days=2``, or ``sla.x`` and
  ``policy.sla.x``, or the same path in ``--grid`` and ``--range``) is an error, never
  "the last one wins": :func:`refuse_repeats`.

The rest of the path is set by :func:`sim.io.overrides.set_path`; the models take care
of shorthands (``sla.reclaim_hours``, ``sla.remind_hours``) and optional blocks are
switched on by setting one of their fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from policies.policy import PolicyBase, policy_model
from sim.errors import ConfigError
from sim.io.overrides import parse_override
from sim.world.loading import load_policy, load_scenario
from sim.world.scenario import Scenario

__all__ = [
    "OverridePath",
    "load_with_overrides",
    "refuse_repeats",
    "route_path",
    "split_overrides",
]

Target = Literal["scenario", "policy"]


@dataclass(frozen=True)
class OverridePath:
    """A routed path: the file it sets and the path inside that file."""

    target: Target
    parts: tuple[str, ...]

    @property
    def relative(self) -> str:
        """The dotted path inside the target file (``sla.steps.1.after_hours``)."""
        return ".".join(self.parts)

    @property
    def column(self) -> str:
        """The path as a table column: ``policy.``-prefixed for the policy."""
        return self.relative if self.target == "scenario" else f"policy.{self.relative}"


def route_path(path: str, flag: str = "--set") -> OverridePath:
    """Route *path* to the scenario or the policy; ConfigError (naming *flag*) otherwise."""
    head, _, rest = path.partition(".")
    if head in ("scenario", "policy") and rest:
        return OverridePath(head, tuple(rest.split(".")))  # type: ignore[arg-type]
    scenario_fields = set(Scenario.model_fields)
    policy_fields = set(policy_model().model_fields)
    in_scenario, in_policy = head in scenario_fields, head in policy_fields
    if in_scenario and in_policy:
        raise ConfigError(
            f"{flag} {path}: ambiguous: {head!r} is a field of both the scenario "
            f"(the scenario's {path}) and the policy (the policy's {path}); write "
            f"scenario.{path} or policy.{path}"
        )
    if in_scenario or in_policy:
        return OverridePath("scenario" if in_scenario else "policy", tuple(path.split(".")))
    raise ConfigError(
        f"{flag} {path}: unknown field {head!r} (scenario: {', '.join(sorted(scenario_fields))}; "
        f"policy: {', '.join(sorted(policy_fields))})"
    )


def refuse_repeats(given: Iterable[tuple[str, str]]) -> None:
    """ConfigError when two ``(flag, path)`` pairs set the same file's path.

    Paths are compared once routed, so ``sla.reclaim_hours`` and
    ``policy.sla.reclaim_hours`` are the same path.
    """
    seen: dict[str, tuple[str, str]] = {}
    for flag, path in given:
        column = route_path(path, flag).column
        if column in seen:
            first = " ".join(seen[column])
            what = "given twice" if first == f"{flag} {path}" else f"the same path as {first}"
            raise ConfigError(f"{flag} {path}: {what}; give each path once")
        seen[column] = (flag, path)


def split_overrides(items: Iterable[str], flag: str = "--set") -> tuple[list[str], list[str]]:
    """Scenario and policy overrides of ``path=value`` *items*, each relative to its file.

    The value text is kept as given (it is parsed when set).  A path given twice is an
    error (:func:`refuse_repeats`).
    """
    scenario: list[str] = []
    policy: list[str] = []
    items = list(items)
    refuse_repeats((flag, parse_override(item, flag)[0]) for item in items)
    for item in items:
        path, _ = parse_override(item, flag)
        routed = route_path(path, flag)
        relative = f"{routed.relative}={item.partition('=')[2]}"
        (scenario if routed.target == "scenario" else policy).append(relative)
    return scenario, policy


def load_with_overrides(
    scenario: str | Path, policy: str | Path | None, overrides: Iterable[str] = ()
) -> tuple[Scenario, PolicyBase]:
    """The scenario and policy files (None: the default policy) with ``--set`` items."""
    scenario_sets, policy_sets = split_overrides(overrides)
    return load_scenario(scenario, scenario_sets), load_policy(policy, policy_sets)
