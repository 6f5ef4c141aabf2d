"""Drawing the attributes of arriving leads.

Every attribute has its own named stream, and all of a lead's attributes (including the
uniform that later decides qualification) are drawn the moment it arrives.  The leads of
a seed are therefore the same whatever the policy does afterwards: common random
numbers across policies.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from policies.scoring import GRADES
from sim.config import LeadAttributes
from sim.entities import Lead
from sim.randomness import Streams

__all__ = ["LeadFactory"]

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


class LeadFactory:
    """Creates numbered leads with attributes drawn from the scenario's distributions.

    Attributes are drawn in blocks (one vectorised draw per attribute and block), each
    attribute from its own stream, so the leads depend only on the seed and the block
    size, which is fixed.
    """

    def __init__(self, attrs: LeadAttributes, scorer, streams: Streams) -> None:
        self._attrs, self._scorer = attrs, scorer
        self._rng = {name: streams.get(f"lead.{name}") for name in _STREAMS}
        self._block: list[tuple] = []
        self._i = 0
        self._next_id = 0

    def _choice(self, name: str, mix: Mapping[str, float]) -> list[str]:
        values = np.asarray(list(mix), dtype=object)
        weights = np.asarray(list(mix.values()), dtype=float)
        idx = self._rng[name].choice(len(values), _BLOCK, p=weights / weights.sum())
        return values[idx].tolist()

    def _flag(self, name: str, p: float) -> list[bool]:
        return (self._rng[name].random(_BLOCK) < p).tolist()

    def _refill(self) -> None:
        a = self._attrs
        timeline = np.round(a.timeline_days.sample(self._rng["timeline_days"], _BLOCK), 1)
        known = self._rng["timeline_known"].random(_BLOCK) < a.timeline_known
        timelines = [float(t) if k else None for t, k in zip(timeline, known, strict=True)]
        dwell = np.round(a.dwell_seconds.sample(self._rng["dwell_seconds"], _BLOCK), 1)
        self._block = list(
            zip(
                self._choice("channel", a.channels),
                self._choice("region", a.regions),
                self._choice("industry", a.industries),
                self._choice("budget_band", a.budget_bands),
                self._flag("budget_confirmed", a.budget_confirmed),
                self._flag("authority", a.authority),
                self._choice("need", a.need),
                timelines,
                dwell.tolist(),
                self._flag("whitepaper", a.whitepaper),
                self._flag("trial", a.trial),
                self._rng["qualify"].random(_BLOCK).tolist(),
                strict=True,
            )
        )
        self._i = 0

    def new_lead(self, now: float) -> Lead:
        """The next lead, arriving at *now*, scored and graded."""
        if self._i >= len(self._block):
            self._refill()
        values = self._block[self._i]
        self._i += 1
        lead = Lead(self._next_id, now, *values)
        self._next_id += 1
        lead.score = score = self._scorer.score(lead)
        lead.grade = grade = self._scorer.grade(score)
        lead.grade_rank = GRADES.index(grade)
        return lead
