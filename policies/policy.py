"""A policy: the full set of levers one run applies.

``policies/*.yaml`` files validate into the model returned by :func:`policy_model`.
Plug-in families (scoring, routing) are discriminated unions over whatever is
registered when the model is built, so a plug-in registered by user code is accepted
by name without editing this module.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from policies.allocation import AllocationParams
from policies.checkpoints import CheckpointPolicy
from policies.commission import CommissionPlan
from policies.freeze import FreezeLadder
from policies.intake import IntakeParams
from policies.marketplace import MarketplaceParams
from policies.registry import Registry
from policies.routing import ROUTERS, RoundRobinParams
from policies.scoring import SCORERS, BantScoringParams
from policies.sla import SlaLadder

__all__ = ["PolicyBase", "default_policy", "policy_model"]


class PolicyBase(BaseModel):
    """Fields every policy has; plug-in fields are added by :func:`policy_model`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = "default"
    description: str = ""
    sla: SlaLadder = SlaLadder()
    intake: IntakeParams = IntakeParams()
    allocation: AllocationParams = AllocationParams()
    marketplace: MarketplaceParams = MarketplaceParams()
    checkpoints: CheckpointPolicy = CheckpointPolicy()  # used only with a scenario process
    commission: CommissionPlan = CommissionPlan()  # incentives: basis, rates, rebates
    freeze: FreezeLadder = FreezeLadder()  # incentives: bad-debt freeze ladder


def _family(registry: Registry) -> Any:
    models = registry.params_models()
    if len(models) == 1:
        return models[0]
    return Annotated[Union[tuple(models)], Field(discriminator="name")]  # noqa: UP007


@cache
def _model_for(scorers: tuple[str, ...], routers: tuple[str, ...]) -> type[PolicyBase]:
    return create_model(
        "Policy",
        __base__=PolicyBase,
        scoring=(_family(SCORERS), BantScoringParams()),
        routing=(_family(ROUTERS), RoundRobinParams()),
    )


def policy_model() -> type[PolicyBase]:
    """The Policy model for the plug-ins registered now."""
    return _model_for(tuple(SCORERS.names()), tuple(ROUTERS.names()))


def default_policy() -> PolicyBase:
    """The source's defaults: BANT scoring, round robin, 2 h reminder / 4 h reclaim."""
    return policy_model()()
