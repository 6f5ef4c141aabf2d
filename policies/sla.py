"""The SLA circuit breaker (超时熔断) as a ladder of steps.

Source defaults: no first touch within 2 h of assignment -> reminder; within 4 h ->
the lead is reclaimed and reassigned.  The hours count on the SLA clock: business
hours of the assigned rep's calendar (default) or calendar hours.  The ladder is pure
data plus one pure decision (:func:`due_action`); the engine's monitors apply it.
"""

from __future__ import annotations

import itertools
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["SlaLadder", "SlaStep", "due_action"]

_STRICT = ConfigDict(extra="forbid", frozen=True)


class SlaStep(BaseModel):
    """One rung: after *after_hours* without a first touch, do *action*."""

    model_config = _STRICT
    after_hours: float = Field(gt=0)
    action: Literal["remind", "reclaim"]
    # A reminded rep works the lead next (its queue position jumps to the front).
    prioritise: bool = True


class SlaLadder(BaseModel):
    """Ordered steps measured from each assignment; an empty ladder disables the breaker."""

    model_config = _STRICT
    clock: Literal["business", "calendar"] = "business"
    steps: list[SlaStep] = Field(
        default_factory=lambda: [
            SlaStep(after_hours=2, action="remind"),
            SlaStep(after_hours=4, action="reclaim"),
        ]
    )

    @model_validator(mode="after")
    def _well_ordered(self) -> SlaLadder:
        hours = [s.after_hours for s in self.steps]
        if any(b <= a for a, b in itertools.pairwise(hours)):
            raise ValueError(f"steps must have strictly increasing after_hours, got {hours}")
        reclaims = [i for i, s in enumerate(self.steps) if s.action == "reclaim"]
        if reclaims and reclaims != [len(self.steps) - 1]:
            raise ValueError("at most one 'reclaim' step, and it must be the last")
        return self

    @property
    def enabled(self) -> bool:
        """True when the ladder has at least one step."""
        return bool(self.steps)


def due_action(step: SlaStep, *, still_assigned: bool, touched: bool) -> str | None:
    """What a due deadline does: the step's action, or None once it no longer applies.

    A deadline applies only to the assignment that set it (``still_assigned``) and only
    while that assignment has not been touched.
    """
    if not still_assigned or touched:
        return None
    return step.action
