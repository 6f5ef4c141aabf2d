"""The sales team of a scenario: reps, templated groups of reps, queue discipline."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from policies.marketplace import ClaimFilters
from sim.world.distributions import Distribution, Exponential

__all__ = ["RepGroup", "RepSpec", "RepTemplate", "Team"]

_STRICT = ConfigDict(extra="forbid", frozen=True)


class RepTemplate(BaseModel):
    """Everything a rep has except its id; shared by explicit reps and groups."""

    model_config = _STRICT
    region: str = "default"
    hire_date: dt.date | None = None
    calendar: str = "standard"
    touch_time: Distribution = Exponential(mean=0.5)
    max_open_leads: int | None = Field(None, ge=1)
    close_cycle_days: float | None = Field(None, gt=0)  # historical median close cycle
    leave: list[tuple[dt.date, dt.date]] = Field(default_factory=list)  # inclusive ranges
    opt_out: bool = False  # takes no new leads (works those already assigned)
    strength: float = Field(1.0, gt=0)  # relative skill: the strong claim first
    claim_filters: ClaimFilters = ClaimFilters()  # what the rep looks for in a marketplace
    # Marketplace hoarding: unworked claimed leads the rep keeps in hand while busy (0: the
    # rep claims only when idle).  Bounded by max_open_leads and the daily claim limit.
    claim_ahead: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _leave_ordered(self) -> RepTemplate:
        for first, last in self.leave:
            if last < first:
                raise ValueError(f"leave ends ({last}) before it starts ({first})")
        return self


class RepSpec(RepTemplate):
    """One rep of the team."""

    id: str = Field(min_length=1)


class RepGroup(RepTemplate):
    """``count`` reps alike but for their ids (``{prefix}{01..n}``)."""

    count: int = Field(ge=1)
    id_prefix: str = Field(min_length=1)

    def expand(self) -> list[RepSpec]:
        """The reps of the group."""
        width = len(str(self.count))
        fields = self.model_dump(exclude={"count", "id_prefix"}, by_alias=True)
        return [
            RepSpec(id=f"{self.id_prefix}{i:0{width}d}", **fields) for i in range(1, self.count + 1)
        ]


class Team(BaseModel):
    """The sales team: explicit reps and/or templated groups; at least one rep."""

    model_config = _STRICT
    reps: list[RepSpec] = Field(default_factory=list)
    groups: list[RepGroup] = Field(default_factory=list)
    queue_discipline: Literal["grade_then_age", "fifo"] = "grade_then_age"
    # Share of marketplace claims that take the best-scored lead instead of the oldest;
    # above 0, the strongest idle reps are also offered new posts first.
    cherry_picking: float = Field(0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _non_empty_unique(self) -> Team:
        members = self.members()
        if not members:
            raise ValueError("the team has no reps (give team.reps or team.groups)")
        seen: set[str] = set()
        for rep in members:
            if rep.id in seen:
                raise ValueError(f"duplicate rep id {rep.id!r}")
            seen.add(rep.id)
        return self

    def members(self) -> list[RepSpec]:
        """Explicit reps followed by the expanded groups, in file order."""
        return list(self.reps) + [rep for group in self.groups for rep in group.expand()]
