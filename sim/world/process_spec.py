"""The scenario's ``process:`` section: how opportunities move through the five checkpoints.

A qualified lead becomes an opportunity (DOMAIN.md 2).  This module declares the world
side of that model, validated by pydantic like the rest of a scenario: stage durations
and the odds of passing each checkpoint (scaled by lead grade, rep skill and budget band),
contract values by budget band, customer site types and how often each kind of proof
fails there, visit plans and their slip, requirement changes, custom-development
requests, demo-video completion, POC revisions, data entry, and *planted effects* of
process measures on the odds (for testing the attribution).  The levers (which proof a
checkpoint needs, which fields, the risk review) are the policy's, in
:mod:`policies.checkpoints`.

Units: durations in days, rates per 30 days, money in the scenario's currency units
(yuan), probabilities in [0, 1], odds multipliers > 0.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from policies.checkpoints import CHECKPOINTS, PROOF_TYPES
from sim.world.distributions import Constant, Distribution, Exponential, Gamma, LogNormal, Uniform

__all__ = [
    "DataEntry",
    "PlantedEffects",
    "ProcessSpec",
    "RequirementChanges",
    "StageSpec",
    "Visits",
]

_STRICT = ConfigDict(extra="forbid", frozen=True)
Probability = float


def _positive_weights(name: str, mix: dict[str, float]) -> None:
    if not mix:
        raise ValueError(f"{name} must list at least one value")
    if any(w < 0 or not math.isfinite(w) for w in mix.values()) or sum(mix.values()) <= 0:
        raise ValueError(f"{name} weights must be finite, >= 0 and not all zero")


class StageSpec(BaseModel):
    """One checkpoint stage: how long the work before the checkpoint takes, and the
    probability of passing it for a B-lead, medium budget, rep of strength 1."""

    model_config = _STRICT
    duration_days: Distribution = Gamma(mean=7.0, shape=2.0)
    advance: float = Field(0.8, gt=0, lt=1)


def _default_stages() -> dict[str, StageSpec]:
    advance = (0.7, 0.75, 0.8, 0.9, 0.97)
    means = (6.0, 10.0, 8.0, 6.0, 4.0)
    return {
        name: StageSpec(duration_days=Gamma(mean=m, shape=2.0), advance=p)
        for name, m, p in zip(CHECKPOINTS, means, advance, strict=True)
    }


class OddsScaling(BaseModel):
    """How lead grade, budget band and rep skill change the checkpoint odds and durations.

    Odds of passing a checkpoint = base odds x ``grade[g]`` x ``budget_band[b]`` x
    ``strength ** skill_exponent``; a stage's duration is multiplied by
    ``duration_by_grade[g]`` and ``duration_by_band[b]`` and divided by
    ``strength ** skill_duration_exponent``.  A grade or band not listed has multiplier 1.
    """

    model_config = _STRICT
    grade: dict[Literal["A", "B", "C"], float] = Field(
        default_factory=lambda: {"A": 1.6, "B": 1.0, "C": 0.6}
    )
    budget_band: dict[str, float] = Field(
        default_factory=lambda: {"small": 1.2, "medium": 1.0, "large": 0.7}
    )
    skill_exponent: float = 1.0
    skill_duration_exponent: float = 0.5
    duration_by_grade: dict[Literal["A", "B", "C"], float] = Field(
        default_factory=lambda: {"A": 0.85, "B": 1.0, "C": 1.2}
    )
    duration_by_band: dict[str, float] = Field(
        default_factory=lambda: {"small": 0.8, "medium": 1.0, "large": 1.4}
    )

    @model_validator(mode="after")
    def _positive(self) -> OddsScaling:
        for name in ("grade", "budget_band", "duration_by_grade", "duration_by_band"):
            if any(not (v > 0 and math.isfinite(v)) for v in getattr(self, name).values()):
                raise ValueError(f"{name} multipliers must be finite and > 0")
        return self


class Visits(BaseModel):
    """Visit plans: ``per_stage`` visits planned evenly over each stage's duration; each is
    held ``slip`` days late, where the opportunity's mean slip is drawn from
    ``slip_days`` (the source: 5.3 days on average) and each visit's slip is exponential
    around it.  A failed proof needs a re-visit ``revisit_days`` later."""

    model_config = _STRICT
    per_stage: int = Field(1, ge=1, le=5)
    slip_days: Distribution = Exponential(mean=5.3)
    revisit_days: Distribution = Gamma(mean=2.0, shape=2.0)
    max_proof_attempts: int = Field(4, ge=1, le=10)
    """After this many failed proofs at one checkpoint the rep gives up: the opportunity
    is lost (reason ``proof_stall``)."""
    sync_delay_hours: float = Field(12.0, ge=0)
    """With an offline cache, a proof that failed to upload is synced this much later."""


class RequirementChanges(BaseModel):
    """Requirement changes: each customer changes its requirements at its own rate (per
    30 days), drawn per opportunity from ``rate_per_30_days``; each change delays the
    current stage by ``delay_days``."""

    model_config = _STRICT
    rate_per_30_days: Distribution = Gamma(mean=1.0, shape=1.5)
    delay_days: float = Field(1.0, ge=0)


class CustomDevelopment(BaseModel):
    """Custom-development requests: probability per opportunity, and the legal review
    work they add (days) when legal first sees them at the legal stage."""

    model_config = _STRICT
    probability: Probability = Field(0.3, ge=0, le=1)
    late_legal_days: Distribution = Gamma(mean=4.0, shape=2.0)


class DataEntry(BaseModel):
    """Data governance (DOMAIN.md 4): structured fields filled at first entry with
    probability ``fill_probability`` x rep strength (capped at 1), a missing required
    field takes ``fix_days`` to complete, and a stage update reaches the CRM
    ``update_lag_days`` after the checkpoint is passed (the source: 4.2 days)."""

    model_config = _STRICT
    fill_probability: Probability = Field(0.35, ge=0, le=1)
    fix_days: Distribution = Constant(value=0.5)
    update_lag_days: Distribution = Exponential(mean=4.2)
    approval_days: Distribution = Gamma(mean=2.0, shape=2.0)
    """Director approval of the risk form for a large expected amount."""
    expected_amount_error: float = Field(0.25, ge=0)
    """Log-normal spread (sd of the log) of the rep's expected amount around the value."""


class PlantedEffects(BaseModel):
    """Effects of process measures on the checkpoint odds, for testing the attribution.

    Each is an odds multiplier on every checkpoint after need diagnosis (1 = no effect):
    ``demo_low_odds`` when the demo-video completion is below ``demo_threshold`` (the
    source: < 60% is strongly associated with lost deals), ``per_poc_revision_odds`` per
    POC revision, ``per_change_rate_odds`` per unit of requirement-change rate,
    ``custom_development_odds`` for a custom-development request.
    """

    model_config = _STRICT
    demo_threshold: Probability = Field(0.6, ge=0, le=1)
    demo_low_odds: float = Field(1.0, gt=0)
    per_poc_revision_odds: float = Field(1.0, gt=0)
    per_change_rate_odds: float = Field(1.0, gt=0)
    custom_development_odds: float = Field(1.0, gt=0)


def _default_values() -> dict[str, Distribution]:
    return {
        "small": Uniform(low=200_000, high=1_000_000),
        "medium": LogNormal(mean=3_000_000, sd=1_500_000),
        "large": LogNormal(mean=12_000_000, sd=5_000_000),
    }


class ProcessSpec(BaseModel):
    """The opportunity stage model of a scenario (``process:``)."""

    model_config = _STRICT
    stages: dict[str, StageSpec] = Field(default_factory=_default_stages)
    """The five checkpoints; a checkpoint or field not given keeps its default."""

    @field_validator("stages", mode="before")
    @classmethod
    def _complete_stages(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        unknown = [name for name in value if name not in CHECKPOINTS]
        if unknown:
            raise ValueError(
                f"unknown checkpoint(s) {', '.join(map(repr, unknown))} "
                f"(known: {', '.join(CHECKPOINTS)})"
            )
        defaults = _default_stages()
        merged = {}
        for name in CHECKPOINTS:
            given = value.get(name, {})
            if isinstance(given, dict):
                given = defaults[name].model_dump(by_alias=True) | given
            merged[name] = given
        return merged

    odds: OddsScaling = OddsScaling()
    contract_value: dict[str, Distribution] = Field(default_factory=_default_values)
    """Contract value (yuan) by the lead's budget band."""
    product_lines: dict[str, float] = Field(
        default_factory=lambda: {"imaging": 0.5, "lab": 0.3, "software": 0.2}
    )
    site_types: dict[str, float] = Field(
        default_factory=lambda: {"office": 0.55, "hospital_ward": 0.3, "factory_floor": 0.15}
    )
    proof_failure: dict[str, dict[str, Probability]] = Field(
        default_factory=lambda: {
            "photo": {"office": 0.03, "hospital_ward": 0.12, "factory_floor": 0.35},
            "check_in": {"office": 0.02, "hospital_ward": 0.08, "factory_floor": 0.3},
            "audio": {"office": 0.02, "hospital_ward": 0.05, "factory_floor": 0.25},
            "e_signature": {"office": 0.03, "hospital_ward": 0.1, "factory_floor": 0.3},
            "screenshot": {"office": 0.02, "hospital_ward": 0.05, "factory_floor": 0.3},
        }
    )
    """Probability that one upload of a proof type fails at a site type (no signal,
    refused, blurred).  The source: 3 photos per visit failed 73% of the time in
    factories (1 - 0.65^3 = 0.725)."""
    visits: Visits = Visits()
    requirement_changes: RequirementChanges = RequirementChanges()
    custom_development: CustomDevelopment = CustomDevelopment()
    demo_completion: Distribution = Uniform(low=0.2, high=1.0)
    """Share of the demo video the customer watched (values above 1 count as 1)."""
    poc_revisions_mean: float = Field(1.0, ge=0)
    """Mean (Poisson) number of POC revisions the customer asks for."""
    poc_revision_days: Distribution = Gamma(mean=3.0, shape=2.0)
    data_entry: DataEntry = DataEntry()
    effects: PlantedEffects = PlantedEffects()

    @model_validator(mode="after")
    def _consistent(self) -> ProcessSpec:
        _positive_weights("product_lines", self.product_lines)
        _positive_weights("site_types", self.site_types)
        for proof, by_site in self.proof_failure.items():
            if proof not in PROOF_TYPES:
                raise ValueError(f"proof_failure names unknown proof type {proof!r}")
            for site, p in by_site.items():
                if site not in self.site_types:
                    raise ValueError(f"proof_failure.{proof} names unknown site type {site!r}")
                if not 0 <= p <= 1:
                    raise ValueError(f"proof_failure.{proof}.{site} must be in [0, 1]")
        return self

    def failure_by_site(self, site: str) -> dict[str, float]:
        """Upload failure probability of every proof type at *site* (0 when not given)."""
        return {proof: self.proof_failure.get(proof, {}).get(site, 0.0) for proof in PROOF_TYPES}
