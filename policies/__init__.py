"""Policies: the levers a strategist tests (scoring, routing, SLA breaker, ...).

Pure code: nothing here imports SimPy or knows the simulation clock beyond the float
``now`` it is handed.  Each family has a registry; see :mod:`policies.registry`.
"""

from policies.intake import INTAKE_FIELDS, ChannelDefaults, Intake, IntakeOutcome, IntakeParams
from policies.policy import PolicyBase, default_policy, policy_model
from policies.registry import Registry, UnknownPluginError
from policies.routing import ROUTERS, RoundRobin, RoundRobinParams
from policies.scoring import GRADES, SCORERS, BantScorer, BantScoringParams
from policies.sla import SlaLadder, SlaStep

__all__ = [
    "GRADES",
    "INTAKE_FIELDS",
    "ROUTERS",
    "SCORERS",
    "BantScorer",
    "BantScoringParams",
    "ChannelDefaults",
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
