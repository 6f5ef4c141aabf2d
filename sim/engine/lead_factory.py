"""Drawing the attributes of arriving leads, and grading them.

Every attribute has its own named stream, and all of a lead's attributes (including the
uniform that later decides qualification) are drawn the moment it arrives.  The leads of
a seed are therefore the same whatever the policy does afterwards: common random
numbers across policies.  The customer a lead comes from (``leads.customer_pool``) is drawn
the same way from its own stream, ``lead.customer``, and only when the scenario has a pool,
so a scenario without one draws exactly what it drew before the field existed.

Drawing and grading are separate steps (:meth:`LeadFactory.draw`, then
:meth:`LeadFactory.grade`) so that the policy's intake stage can fill in missing
attributes in between: a lead is scored on what intake admitted, not on the raw draw.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from policies.scoring import GRADES
from sim.engine.entities import Lead
from sim.world.randomness import Streams
from sim.world.scenario import LeadAttributes

__all__ = ["MISSABLE_FIELDS", "LeadFactory", "missing_probability"]

_GRADE_RANK = {grade: rank for rank, grade in enumerate(GRADES)}  # 'A' -> 0

_BLOCK = 1024
_STREAMS = (
    "channel",
    "region",
    "industry",
    "budget_band",
    "budget_confirmed",
    "authority",
    "need",
    "timeline_known",
    "timeline_days",
    "dwell_seconds",
    "whitepaper",
    "trial",
    "qualify",
)
_FLAGS = ("budget_confirmed", "authority", "timeline_known", "whitepaper", "trial")
"""Bernoulli attributes; their probabilities may be overridden per channel."""

MISSABLE_FIELDS: dict[str, str] = {"timeline_days": "timeline_known"}
"""Lead attributes the generator can leave missing (``None``), each with the flag whose
``False`` draw makes it missing.  Must list the same fields as
:data:`policies.intake.INTAKE_FIELDS` (a test checks it)."""


def missing_probability(attrs: LeadAttributes, field: str, channel: str) -> float:
    """Probability that *field* is missing on a lead of *channel* (0 for a field that is
    always drawn)."""
    flag = MISSABLE_FIELDS.get(field)
    return 0.0 if flag is None else 1.0 - attrs.probability(flag, channel)


class LeadFactory:
    """Creates numbered leads with attributes drawn from the scenario's distributions.

    Attributes are drawn in blocks (one vectorised draw per attribute and block), each
    attribute from its own stream, so the leads depend only on the seed and the block
    size, which is fixed.  Per-channel probabilities (``leads.by_channel``) change only
    the threshold each lead's uniform is compared with, never the uniforms drawn, so a
    lead keeps its draws whatever the overrides (common random numbers).
    """

    def __init__(self, attrs: LeadAttributes, scorer, streams: Streams) -> None:
        self._attrs, self._scorer = attrs, scorer
        self._rng = {name: streams.get(f"lead.{name}") for name in _STREAMS}
        self._channels = np.asarray(list(attrs.channels), dtype=object)
        # Threshold of each flag: a float, or an array indexed by the lead's channel when
        # some channel overrides it (the float path keeps runs without overrides as fast).
        self._p: dict[str, float | np.ndarray] = {}
        for flag in _FLAGS:
            if any(flag in over for over in attrs.by_channel.values()):
                self._p[flag] = np.asarray([attrs.probability(flag, c) for c in self._channels])
            else:
                self._p[flag] = getattr(attrs, flag)
        self._pool = attrs.customer_pool
        self._customer_rng = streams.get("lead.customer") if self._pool is not None else None
        self._customers: list[int] = []
        self._block: list[tuple] = []
        self._i = 0
        self._next_id = 0

    def _index(self, name: str, mix: Mapping[str, float]) -> np.ndarray:
        weights = np.asarray(list(mix.values()), dtype=float)
        return self._rng[name].choice(len(weights), _BLOCK, p=weights / weights.sum())

    def _choice(self, name: str, mix: Mapping[str, float]) -> list[str]:
        values = np.asarray(list(mix), dtype=object)
        return values[self._index(name, mix)].tolist()

    def _flags(self, name: str, channel: np.ndarray) -> np.ndarray:
        p = self._p[name]
        threshold = p if isinstance(p, float) else p[channel]
        return self._rng[name].random(_BLOCK) < threshold

    def _refill(self) -> None:
        a = self._attrs
        channel = self._index("channel", a.channels)
        timeline = np.round(a.timeline_days.sample(self._rng["timeline_days"], _BLOCK), 1)
        known = self._flags("timeline_known", channel)
        timelines = [float(t) if k else None for t, k in zip(timeline, known, strict=True)]
        dwell = np.round(a.dwell_seconds.sample(self._rng["dwell_seconds"], _BLOCK), 1)
        self._block = list(
            zip(
                self._channels[channel].tolist(),
                self._choice("region", a.regions),
                self._choice("industry", a.industries),
                self._choice("budget_band", a.budget_bands),
                self._flags("budget_confirmed", channel).tolist(),
                self._flags("authority", channel).tolist(),
                self._choice("need", a.need),
                timelines,
                dwell.tolist(),
                self._flags("whitepaper", channel).tolist(),
                self._flags("trial", channel).tolist(),
                self._rng["qualify"].random(_BLOCK).tolist(),
                strict=True,
            )
        )
        if self._customer_rng is not None:
            self._customers = self._customer_rng.integers(self._pool, size=_BLOCK).tolist()
        self._i = 0

    def draw(self, now: float) -> Lead:
        """The next lead, arriving at *now*, with its drawn attributes; not yet graded."""
        if self._i >= len(self._block):
            self._refill()
        values = self._block[self._i]
        lead = Lead(self._next_id, now, *values)
        if self._customers:
            lead.customer_id = self._customers[self._i]
        self._i += 1
        self._next_id += 1
        return lead

    def grade(self, lead: Lead) -> None:
        """Score and grade *lead* on its attributes as they are now (after intake)."""
        lead.score = score = self._scorer.score(lead)
        lead.grade = grade = self._scorer.grade(score)
        lead.grade_rank = _GRADE_RANK[grade]

    def new_lead(self, now: float) -> Lead:
        """The next lead, drawn and graded at once (for callers without an intake stage)."""
        lead = self.draw(now)
        self.grade(lead)
        return lead
