"""Lead scoring: BANT + behaviour points, 0..100, graded A/B/C.

Defaults from the source: Budget, Authority, Need, Timeline plus the behaviours
website dwell > 180 s, white-paper download and trial request; a score >= 72 is grade A
(priority pool).  Decision recorded in DOMAIN.md: B >= 45, else C.  Every number is a
parameter of :class:`BantScoringParams`.
"""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from policies.registry import Registry

__all__ = [
    "GRADES",
    "SCORERS",
    "BantPoints",
    "BantScorer",
    "BantScoringParams",
    "GradeThresholds",
    "ScoredAttributes",
]

GRADES = ("A", "B", "C")
"""Grades from best to worst; the index is the grade's rank in queues."""

_STRICT = ConfigDict(extra="forbid", frozen=True)

SCORERS: Registry = Registry("scorer")


class ScoredAttributes(Protocol):
    """What a scorer reads from a lead (a simulated lead or an imported row)."""

    budget_confirmed: bool
    authority: bool
    need: str
    timeline_days: float | None
    dwell_seconds: float
    whitepaper: bool
    trial: bool


class NeedPoints(BaseModel):
    """Points by strength of need."""

    model_config = _STRICT
    high: int = Field(20, ge=0, le=100)
    medium: int = Field(10, ge=0, le=100)
    low: int = Field(0, ge=0, le=100)


class BantPoints(BaseModel):
    """Points each criterion adds to the score."""

    model_config = _STRICT
    budget_confirmed: int = Field(20, ge=0, le=100)
    authority: int = Field(15, ge=0, le=100)
    need: NeedPoints = NeedPoints()
    timeline: int = Field(15, ge=0, le=100)
    dwell: int = Field(10, ge=0, le=100)
    whitepaper: int = Field(10, ge=0, le=100)
    trial: int = Field(10, ge=0, le=100)


class GradeThresholds(BaseModel):
    """Lowest score of grade A and of grade B (everything below B is C)."""

    model_config = _STRICT
    A: int = Field(72, ge=0, le=100)
    B: int = Field(45, ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> GradeThresholds:
        if self.B > self.A:
            raise ValueError(f"threshold B ({self.B}) must not exceed threshold A ({self.A})")
        return self


class BantScoringParams(BaseModel):
    """Parameters of the BANT + behaviour scorer."""

    model_config = _STRICT
    name: Literal["bant"] = "bant"
    points: BantPoints = BantPoints()
    timeline_within_days: float = Field(90, gt=0)
    dwell_over_seconds: float = Field(180, ge=0)
    grades: GradeThresholds = GradeThresholds()
    # Extra points by attribute value, e.g. {industry: {lab: 8}}: how what reps claim
    # for in a marketplace feeds back into the score (see sim.outcomes.claim_feedback).
    attribute_points: dict[
        Literal["channel", "region", "industry", "budget_band"], dict[str, int]
    ] = Field(default_factory=dict)


@SCORERS.register("bant", BantScoringParams)
class BantScorer:
    """Integer score 0..100 and grade of a lead; pure, no simulation state."""

    def __init__(self, params: BantScoringParams) -> None:
        self.params = params
        self._need_points = params.points.need.model_dump()
        pts = params.points  # read once: score() runs once per lead
        self._budget, self._authority, self._timeline = (
            pts.budget_confirmed,
            pts.authority,
            pts.timeline,
        )
        self._dwell, self._whitepaper, self._trial = pts.dwell, pts.whitepaper, pts.trial
        self._within_days, self._dwell_over = params.timeline_within_days, params.dwell_over_seconds
        self._a, self._b = params.grades.A, params.grades.B
        self._attribute_points = [(a, t) for a, t in params.attribute_points.items() if t]

    def score(self, lead: ScoredAttributes) -> int:
        """Sum of the points the lead earns, capped at 100."""
        total = self._need_points.get(lead.need, 0)
        if lead.budget_confirmed:
            total += self._budget
        if lead.authority:
            total += self._authority
        # A missing timeline earns nothing: it is not "within the window".
        timeline = lead.timeline_days
        if timeline is not None and timeline <= self._within_days:
            total += self._timeline
        if lead.dwell_seconds > self._dwell_over:
            total += self._dwell
        if lead.whitepaper:
            total += self._whitepaper
        if lead.trial:
            total += self._trial
        for attribute, table in self._attribute_points:
            total += table.get(getattr(lead, attribute, None), 0)
        return max(0, min(int(total), 100))

    def grade(self, score: int) -> str:
        """'A', 'B' or 'C' by the thresholds (a score equal to a threshold reaches it)."""
        return "A" if score >= self._a else "B" if score >= self._b else "C"
