"""Checkpoint policy: what a deal must show before it may pass each of the five checkpoints.

DOMAIN.md 2.1, 2.2 and 4: five mandatory checkpoints in order, none skippable, each
needing proof of action plus structured fields; an expected amount above 10 M needs a
risk-assessment form and director approval.  The proof rule is the lever: the source's
failing "3 photos per visit" or its fix, "any one of location check-in, audio clip,
e-signature or customer-system screenshot, with an offline cache".

Pure code: :func:`attempt_proof` decides one visit's proof from uniforms it is handed,
and :class:`CheckpointLedger` is the state machine that refuses to pass a checkpoint out
of order or without its evidence.  The simulation (:mod:`sim.process.pipeline`) drives both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "CHECKPOINTS",
    "PROOF_TYPES",
    "CheckpointError",
    "CheckpointLedger",
    "CheckpointPolicy",
    "Evidence",
    "HealthThresholds",
    "ProofOutcome",
    "ProofRule",
    "RiskReview",
    "Threshold",
    "attempt_proof",
]

CHECKPOINTS = ("need_diagnosis", "poc_proposal", "commercial_terms", "legal_review", "kickoff")
"""The five mandatory checkpoints, in order (the last one passed means the deal is won)."""

PROOF_TYPES = ("photo", "check_in", "audio", "e_signature", "screenshot")
"""Kinds of proof of action a rep can upload after a visit."""

_STRICT = ConfigDict(extra="forbid", frozen=True)
ProofType = Literal["photo", "check_in", "audio", "e_signature", "screenshot"]


class CheckpointError(ValueError):
    """A checkpoint was passed out of order or without its evidence."""


class ProofRule(BaseModel):
    """Proof of action per visit.

    ``mode: all``: ``count`` uploads of ``types[0]`` must all succeed (the source's "3
    photos per visit").  ``mode: any``: the rep tries ``types`` in order until one upload
    succeeds.  With ``offline_cache`` a failed upload is kept on the device and synced
    later: it counts as done, late.
    """

    model_config = _STRICT
    mode: Literal["all", "any"] = "any"
    types: list[ProofType] = Field(
        default_factory=lambda: ["check_in", "audio", "e_signature", "screenshot"], min_length=1
    )
    count: int = Field(1, ge=1, le=10)
    offline_cache: bool = True

    @model_validator(mode="after")
    def _distinct(self) -> ProofRule:
        if len(set(self.types)) != len(self.types):
            raise ValueError(f"types lists a proof type twice: {self.types}")
        if self.mode == "any" and self.count != 1:
            raise ValueError("count applies to mode 'all' only (mode 'any' needs one upload)")
        return self

    @property
    def max_uploads(self) -> int:
        """Most uploads one attempt can make (the uniforms :func:`attempt_proof` needs)."""
        return self.count if self.mode == "all" else len(self.types)


class RiskReview(BaseModel):
    """Real-time rule (DOMAIN.md 4): an expected amount above ``threshold`` needs a risk
    form and director approval before the commercial-terms checkpoint passes."""

    model_config = _STRICT
    enabled: bool = True
    threshold: float = Field(10_000_000, gt=0)


def _default_fields() -> dict[str, list[str]]:
    return {
        "need_diagnosis": ["pain_points", "decision_chain", "budget_owner"],
        "poc_proposal": ["poc_scope", "success_criteria"],
        "commercial_terms": ["expected_amount", "payment_terms", "close_date"],
        "legal_review": ["contract_type", "custom_terms"],
        "kickoff": ["org_chart", "delivery_owner", "kickoff_date"],
    }


class Threshold(BaseModel):
    """Red/amber/green cut-offs of one dashboard measure.

    ``direction: above``: amber when the value is > ``amber``, red when > ``red``;
    ``below``: amber when < ``amber``, red when < ``red``.
    """

    model_config = _STRICT
    direction: Literal["above", "below"]
    amber: float
    red: float

    @model_validator(mode="after")
    def _ordered(self) -> Threshold:
        worse = self.red >= self.amber if self.direction == "above" else self.red <= self.amber
        if not worse:
            raise ValueError(f"red ({self.red}) must be beyond amber ({self.amber})")
        return self

    def rag(self, value: float) -> str:
        """``red``, ``amber``, ``green`` (or ``n/a`` for a missing value)."""
        if value != value:  # NaN
            return "n/a"
        if self.direction == "above":
            return "red" if value > self.red else "amber" if value > self.amber else "green"
        return "red" if value < self.red else "amber" if value < self.amber else "green"


class HealthThresholds(BaseModel):
    """The process dashboard's red/amber/green thresholds (DOMAIN.md 2.4)."""

    model_config = _STRICT
    requirement_changes_30d: Threshold = Threshold(direction="above", amber=2, red=4)
    """Requirement changes of one customer within any 30 days."""
    visit_completion: Threshold = Threshold(direction="below", amber=0.8, red=0.6)
    """Share of due visits held within ``visit_grace_days`` of the plan."""
    overdue_actions: Threshold = Threshold(direction="above", amber=0.1, red=0.25)
    """Share of due visits overdue (held late or not held) per opportunity."""
    data_completeness: Threshold = Threshold(direction="below", amber=0.9, red=0.6)
    """Share of structured fields filled when the stage is recorded."""
    update_lag_days: Threshold = Threshold(direction="above", amber=1.0, red=3.0)
    """Mean days from passing a checkpoint to recording it."""
    visit_grace_days: float = Field(2.0, ge=0)


def _default_weights() -> dict[str, float]:
    return {
        "need_diagnosis": 0.1,
        "poc_proposal": 0.25,
        "commercial_terms": 0.45,
        "legal_review": 0.7,
        "kickoff": 0.9,
    }


class CheckpointPolicy(BaseModel):
    """The policy's ``checkpoints:`` levers (used only when the scenario has a process)."""

    model_config = _STRICT
    proof: ProofRule = ProofRule()
    required_fields: dict[str, list[str]] = Field(default_factory=_default_fields)
    """Structured fields recorded at each checkpoint (completeness counts them all)."""
    enforce_fields: bool = True
    """Missing required fields block the checkpoint until filled (dependent required
    fields); off: the deal passes with the fields missing."""
    risk_review: RiskReview = RiskReview()
    record_on_pass: bool = False
    """Real-time rule: the checkpoint itself writes the stage to the CRM when it is passed
    (no update lag); off: the rep records it later (the scenario's ``update_lag_days``)."""
    legal_on_custom_development: Literal["at_request", "at_legal_review"] = "at_request"
    """When legal first sees a custom-development request: at once, or only at the legal
    review (the source's failure: 2 days before signing)."""
    forecast_weights: dict[str, float] = Field(default_factory=_default_weights)
    """Win probability the forecast gives an open deal whose last recorded checkpoint is
    the key; a deal with none recorded yet gets ``forecast_weight_new``."""
    forecast_weight_new: float = Field(0.05, ge=0, le=1)
    health: HealthThresholds = HealthThresholds()

    @model_validator(mode="after")
    def _known_checkpoints(self) -> CheckpointPolicy:
        for name in (*self.required_fields, *self.forecast_weights):
            if name not in CHECKPOINTS:
                raise ValueError(f"unknown checkpoint {name!r} (known: {', '.join(CHECKPOINTS)})")
        if any(not 0 <= w <= 1 for w in self.forecast_weights.values()):
            raise ValueError("forecast_weights must be in [0, 1]")
        return self

    def weight_after(self, passed: int) -> float:
        """Forecast weight of an open deal with *passed* checkpoints recorded."""
        if passed == 0:
            return self.forecast_weight_new
        return self.forecast_weights.get(CHECKPOINTS[passed - 1], self.forecast_weight_new)


@dataclass(frozen=True)
class ProofOutcome:
    """One visit's proof: passed or not, uploads tried, and whether one came from the
    offline cache (done, but synced late)."""

    passed: bool
    uploads: int
    cached: bool


def attempt_proof(
    rule: ProofRule, failure: Mapping[str, float], uniforms: Sequence[float]
) -> ProofOutcome:
    """Decide one visit's proof under *rule*, given each proof type's upload *failure*
    probability at the site and at least ``rule.max_uploads`` uniforms in [0, 1)."""
    if len(uniforms) < rule.max_uploads:
        raise ValueError(f"need {rule.max_uploads} uniforms, got {len(uniforms)}")
    if rule.mode == "all":
        p = failure.get(rule.types[0], 0.0)
        failed = sum(1 for u in uniforms[: rule.count] if u < p)
        if failed and not rule.offline_cache:
            return ProofOutcome(False, rule.count, False)
        return ProofOutcome(True, rule.count, failed > 0)
    for i, proof in enumerate(rule.types):
        if uniforms[i] >= failure.get(proof, 0.0):
            return ProofOutcome(True, i + 1, False)
        if rule.offline_cache:
            return ProofOutcome(True, i + 1, True)  # captured offline, synced later
    return ProofOutcome(False, len(rule.types), False)


@dataclass(frozen=True)
class Evidence:
    """What a deal shows at a checkpoint: proof passed, fields filled, risk form approved."""

    proof: bool
    fields: frozenset[str] = frozenset()
    risk_approved: bool = False


@dataclass
class CheckpointLedger:
    """The checkpoints one opportunity has passed; refuses skips and missing evidence.

    ``expected_amount`` decides whether the risk review applies.  :meth:`blockers` says
    what stops the next checkpoint; :meth:`pass_next` passes it or raises
    :class:`CheckpointError`.  The ledger is the only way a simulated deal advances.
    """

    policy: CheckpointPolicy
    expected_amount: float
    passed: list[str] = field(default_factory=list)

    @property
    def next_checkpoint(self) -> str | None:
        """The checkpoint to pass next (None once all five are passed)."""
        return CHECKPOINTS[len(self.passed)] if len(self.passed) < len(CHECKPOINTS) else None

    @property
    def won(self) -> bool:
        """True once every checkpoint is passed, in order."""
        return tuple(self.passed) == CHECKPOINTS

    def needs_risk_review(self, checkpoint: str) -> bool:
        """True when *checkpoint* needs the risk form and approval for this deal."""
        review = self.policy.risk_review
        return (
            checkpoint == "commercial_terms"
            and review.enabled
            and self.expected_amount > review.threshold
        )

    def missing_fields(self, checkpoint: str, fields: frozenset[str]) -> list[str]:
        """Required fields of *checkpoint* not in *fields* (none when not enforced)."""
        if not self.policy.enforce_fields:
            return []
        return [f for f in self.policy.required_fields.get(checkpoint, []) if f not in fields]

    def blockers(self, checkpoint: str, evidence: Evidence) -> list[str]:
        """Why *checkpoint* cannot be passed now with *evidence* (empty: it can)."""
        expected = self.next_checkpoint
        if checkpoint != expected:
            return [f"out of order: next is {expected}"]
        reasons = [] if evidence.proof else ["proof"]
        reasons += [f"field:{f}" for f in self.missing_fields(checkpoint, evidence.fields)]
        if self.needs_risk_review(checkpoint) and not evidence.risk_approved:
            reasons.append("risk_review")
        return reasons

    def pass_next(self, checkpoint: str, evidence: Evidence) -> None:
        """Pass *checkpoint*; CheckpointError naming the blockers if it may not pass."""
        reasons = self.blockers(checkpoint, evidence)
        if reasons:
            raise CheckpointError(f"cannot pass {checkpoint}: {', '.join(reasons)}")
        self.passed.append(checkpoint)
