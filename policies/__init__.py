"""Policies: the levers a strategist tests (scoring, routing, SLA breaker, ...).

Pure code: nothing here imports SimPy or knows the simulation clock beyond the float
``now`` it is handed.  Each family has a registry; see :mod:`policies.registry`.

The names below are imported on first use (a module ``__getattr__``), so a module that
needs one policy family (the scenario's checkpoint names, say) does not build every
policy model: ``python -m sim validate scenario.yaml`` stays quick.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "GRADES",
    "INTAKE_FIELDS",
    "ROUTERS",
    "SCORERS",
    "BantScorer",
    "BantScoringParams",
    "ChannelDefaults",
    "HistoricalAssignment",
    "Intake",
    "IntakeOutcome",
    "IntakeParams",
    "PolicyBase",
    "Registry",
    "RoundRobin",
    "RoundRobinParams",
    "SlaLadder",
    "SlaStep",
    "UnknownPluginError",
    "default_policy",
    "policy_model",
]

_HOME = {
    "HistoricalAssignment": "historical_assignment",
    "INTAKE_FIELDS": "intake",
    "ChannelDefaults": "intake",
    "Intake": "intake",
    "IntakeOutcome": "intake",
    "IntakeParams": "intake",
    "PolicyBase": "policy",
    "default_policy": "policy",
    "policy_model": "policy",
    "Registry": "registry",
    "UnknownPluginError": "registry",
    "ROUTERS": "routing",
    "RoundRobin": "routing",
    "RoundRobinParams": "routing",
    "GRADES": "scoring",
    "SCORERS": "scoring",
    "BantScorer": "scoring",
    "BantScoringParams": "scoring",
    "SlaLadder": "sla",
    "SlaStep": "sla",
}
"""Public name -> the submodule that defines it."""


def __getattr__(name: str) -> Any:
    """Import a public name's submodule on first use (PEP 562) and keep the name here."""
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'policies' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"policies.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
