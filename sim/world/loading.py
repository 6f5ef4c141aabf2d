"""Reading scenario and policy files: YAML, ``key=value`` overrides, then validation.

Every problem becomes one :class:`~sim.errors.ConfigError` line that names the file and
the dotted field (:func:`sim.io.validation.validate`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from sim.io.overrides import apply_overrides
from sim.io.safe_yaml import load_mapping
from sim.io.validation import validate
from sim.world.scenario import Scenario

if TYPE_CHECKING:
    from policies.policy import PolicyBase

__all__ = ["load_policy", "load_scenario"]


def load_scenario(path: str | Path, overrides: Iterable[str] = ()) -> Scenario:
    """Read and validate a scenario YAML file, after applying ``key=value`` overrides."""
    data = apply_overrides(load_mapping(path), overrides, Scenario)
    arrivals = data.get("arrivals")
    if isinstance(arrivals, dict) and isinstance(arrivals.get("replay"), str):  # file-relative
        data["arrivals"] = {**arrivals, "replay": Path(path).parent / arrivals["replay"]}
    return validate(Scenario, data, str(path))


def load_policy(path: str | Path | None, overrides: Iterable[str] = ()) -> PolicyBase:
    """Read and validate a policy file; ``None`` gives the default policy."""
    # The policy models are built on first use: validating a scenario file needs none.
    from policies.policy import default_policy, policy_model

    overrides = list(overrides)
    if path is None:
        if not overrides:
            return default_policy()
        data = apply_overrides({}, overrides, policy_model())
        return validate(policy_model(), data, "policy")
    data = apply_overrides(load_mapping(path), overrides, policy_model())
    return validate(policy_model(), data, str(path))
