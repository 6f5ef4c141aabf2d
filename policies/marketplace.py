"""The self-claim marketplace (线索集市): leads posted to a pool that reps claim.

The policy decides which leads are posted (by grade; reclaimed leads too) and how many
claims a rep may make per day.  The reps' side - what each rep filters for, how strong
they are, how much they cherry-pick - is behaviour, given by the scenario.  This module
holds the pure decisions: whether a lead matches a rep's filters, which lead a rep takes,
and the reason recorded with the claim.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ClaimFilters", "MarketLead", "MarketplaceParams", "claim_reason", "matches", "pick"]

_STRICT = ConfigDict(extra="forbid", frozen=True)


class MarketplaceParams(BaseModel):
    """The ``marketplace:`` block of a policy (off by default)."""

    model_config = _STRICT
    enabled: bool = False
    publish_grades: list[Literal["A", "B", "C"]] = Field(
        default_factory=lambda: ["A", "B", "C"]
    )  # grades posted to the market instead of routed
    reclaimed_to_market: bool = True  # a lead reclaimed by the SLA breaker is posted
    claim_limit_per_day: int | None = Field(10, ge=1)


class ClaimFilters(BaseModel):
    """What a rep looks for in the market; an empty list means "any"."""

    model_config = _STRICT
    industries: list[str] = Field(default_factory=list)
    budget_bands: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list)


class MarketLead(Protocol):
    """What claim decisions read about a posted lead."""

    lead_id: int
    arrived: float
    score: int
    industry: str
    budget_band: str
    region: str


def matches(lead: MarketLead, filters: ClaimFilters) -> bool:
    """Whether *lead* passes every filter the rep set."""
    return (
        (not filters.industries or lead.industry in filters.industries)
        and (not filters.budget_bands or lead.budget_band in filters.budget_bands)
        and (not filters.regions or lead.region in filters.regions)
    )


def pick(leads: Sequence[MarketLead], filters: ClaimFilters, cherry_pick: bool):
    """The lead a rep claims: the best score when cherry-picking, else the oldest; None
    when nothing matches.  Ties go to the older lead, then the lower id."""
    candidates = [lead for lead in leads if matches(lead, filters)]
    if not candidates:
        return None
    if cherry_pick:
        return min(candidates, key=lambda lead: (-lead.score, lead.arrived, lead.lead_id))
    return min(candidates, key=lambda lead: (lead.arrived, lead.lead_id))


def claim_reason(lead: MarketLead, filters: ClaimFilters, cherry_pick: bool) -> str:
    """A readable reason stored with the claim, e.g. ``industry=clinic; best score``."""
    parts = [
        f"{name}={getattr(lead, attr)}"
        for name, attr, wanted in (
            ("industry", "industry", filters.industries),
            ("budget", "budget_band", filters.budget_bands),
            ("region", "region", filters.regions),
        )
        if wanted
    ]
    parts.append("best score" if cherry_pick else "oldest")
    return "; ".join(parts)
