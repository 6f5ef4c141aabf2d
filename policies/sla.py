"""The SLA circuit breaker (超时熔断) as a ladder of steps.

Source defaults: no first touch within 2 h of assignment -> reminder; within 4 h ->
the lead is reclaimed and reassigned.  The hours count on the SLA clock: business hours
(default) or calendar hours.  Business hours are those of the team calendar by default
(``clock_calendar: team``: the shared calendar the assigned rep is given by name in the
scenario, *without* the rep's own leave, so a lead held by a rep on leave still comes due)
or of the rep's own calendar, leave included (``clock_calendar: rep``: the clock stops
while the rep is away).  With the breaker on and the team clock, a rep's leave also
reclaims the untouched leads they hold when it starts (``reclaim_on_leave``: on by
default with the team clock, off with the rep clock).  The ladder is pure data plus one
pure decision (:func:`due_action`); the engine's monitors apply it.
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
    """Ordered steps measured from each assignment; an empty ladder disables the breaker.

    Shorthands, for files and ``--set`` / sweep paths: ``remind_hours: 1`` and
    ``reclaim_hours: 8`` set the ``after_hours`` of the ladder's remind (first) or
    reclaim step, adding the step when the ladder has none; they are folded into
    ``steps`` when the model is built (``sla.reclaim_hours=2,4,8`` sweeps the breaker).
    """

    model_config = _STRICT
    clock: Literal["business", "calendar"] = "business"
    # Whose business hours the clock counts: the team's shared calendar or the rep's own
    # (leave included).  Ignored by the calendar-hours clock.
    clock_calendar: Literal["team", "rep"] = "team"
    # At the first working day of a rep's leave, take back the untouched leads the rep
    # holds (logged as lead_reclaimed with value 0) and route them again.  Only while the
    # ladder is enabled.  None (default): on with the team clock, off with the rep clock
    # (which then behaves exactly as before the team clock existed).
    reclaim_on_leave: bool | None = None
    steps: list[SlaStep] = Field(
        default_factory=lambda: [
            SlaStep(after_hours=2, action="remind"),
            SlaStep(after_hours=4, action="reclaim"),
        ]
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthands(cls, data: object) -> object:
        if not isinstance(data, dict) or not {"remind_hours", "reclaim_hours"} & set(data):
            return data
        data = dict(data)
        steps = data.get("steps")
        if steps is None:
            steps = [
                {"after_hours": 2, "action": "remind"},
                {"after_hours": 4, "action": "reclaim"},
            ]
        steps = [s.model_dump() if isinstance(s, SlaStep) else dict(s) for s in steps]
        for key, action in (("remind_hours", "remind"), ("reclaim_hours", "reclaim")):
            if key not in data:
                continue
            hours = data.pop(key)
            same = [s for s in steps if s.get("action") == action]
            if same:
                (same[0] if action == "remind" else same[-1])["after_hours"] = hours
            elif action == "remind":
                steps.insert(0, {"after_hours": hours, "action": action})
            else:
                steps.append({"after_hours": hours, "action": action})
        data["steps"] = steps
        return data

    @model_validator(mode="after")
    def _well_ordered(self) -> SlaLadder:
        for (i, a), (j, b) in itertools.pairwise(enumerate(self.steps)):
            if b.after_hours <= a.after_hours:
                raise ValueError(
                    f"steps.{j} ({b.action} at {b.after_hours:g} h) must come after steps.{i} "
                    f"({a.action} at {a.after_hours:g} h): after_hours must be strictly increasing"
                    " (set remind_hours too when moving reclaim_hours to or below the reminder)"
                )
        reclaims = [i for i, s in enumerate(self.steps) if s.action == "reclaim"]
        if reclaims and reclaims != [len(self.steps) - 1]:
            raise ValueError("at most one 'reclaim' step, and it must be the last")
        return self

    @property
    def enabled(self) -> bool:
        """True when the ladder has at least one step."""
        return bool(self.steps)

    @property
    def leave_reclaims(self) -> bool:
        """Whether a rep's leave reclaims their untouched leads (when the ladder is on)."""
        if self.reclaim_on_leave is None:
            return self.clock_calendar == "team"
        return self.reclaim_on_leave


def due_action(step: SlaStep, *, still_assigned: bool, touched: bool) -> str | None:
    """What a due deadline does: the step's action, or None once it no longer applies.

    A deadline applies only to the assignment that set it (``still_assigned``) and only
    while that assignment has not been touched.
    """
    if not still_assigned or touched:
        return None
    return step.action
