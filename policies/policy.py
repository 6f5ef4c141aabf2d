"""A policy: the full set of levers one run applies.

``policies/*.yaml`` files validate into the model returned by :func:`policy_model`.
Plug-in families (scoring, routing) are discriminated unions over whatever is
registered when the model is built, so a plug-in registered by user code is accepted
by name without editing this module.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from policies.allocation import AllocationParams
from policies.checkpoints import CheckpointPolicy
from policies.commission import CommissionPlan
from policies.freeze import FreezeLadder
from policies.historical_assignment import HistoricalAssignmentParams  # noqa: F401 (registers)
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

    @model_validator(mode="after")
    def _weights_need_a_weighted_router(self) -> PolicyBase:
        """Refuse allocation weights that the chosen router would silently ignore.

        ``round_robin`` and ``least_loaded`` do not balance by weight, so
        ``capability_match`` and ``rep_weights`` other than 0 or 1 would change nothing;
        weight 0 (never receives) is a filter and works with any router.
        """
        routing = getattr(self, "routing", None)
        if routing is None or getattr(ROUTERS.factory(routing.name), "uses_weights", True):
            return self
        allocation = self.allocation
        field = None
        if allocation.capability_match is not None:
            field = "allocation.capability_match"
        elif any(w not in (0, 1) for w in allocation.rep_weights.values()):
            field = "allocation.rep_weights"
        if field is not None:
            raise ValueError(
                f"{field} needs a weighted router: routing {routing.name!r} ignores weights; "
                "use routing.name: weighted_round_robin"
            )
        return self


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
