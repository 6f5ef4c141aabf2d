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
from sim.engine.columns import inferred_str_array_of_codes
from sim.engine.entities import Lead
from sim.world.lead_attributes import ATTRIBUTE_NAMES, FLAGS, LEAD_ATTRIBUTES, LeadAttribute
from sim.world.randomness import Streams
from sim.world.scenario import LeadAttributes

__all__ = ["MISSABLE_FIELDS", "LeadFactory", "missing_probability"]

_GRADE_RANK = {grade: rank for rank, grade in enumerate(GRADES)}  # 'A' -> 0

_BLOCK = 1024

MISSABLE_FIELDS: dict[str, str] = {"timeline_days": "timeline_known"}
"""Lead attributes the generator can leave missing (``None``), each with the flag whose
``False`` draw makes it missing.  Must list the same fields as
:data:`policies.intake.INTAKE_FIELDS` (a test checks it)."""

_FLAGS = (*FLAGS, *MISSABLE_FIELDS.values())
"""Bernoulli draws; their probabilities may be overridden per channel."""
_STREAMS = (*ATTRIBUTE_NAMES, *MISSABLE_FIELDS.values(), "qualify")
"""One stream per attribute, per missing-value flag, and the qualification uniform."""


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
        # Every block as drawn, per attribute (category codes, flags, numbers with NaN
        # where missing): the leads table's attribute columns without reading each lead.
        self._drawn: dict[str, list[np.ndarray]] = {name: [] for name in ATTRIBUTE_NAMES}
        self._categories = {
            a.name: np.asarray(list(getattr(attrs, a.mix)), dtype=object)
            for a in LEAD_ATTRIBUTES
            if a.kind == "category"
        }
        self._i = 0
        self._next_id = 0

    def _index(self, name: str, mix: Mapping[str, float]) -> np.ndarray:
        weights = np.asarray(list(mix.values()), dtype=float)
        return self._rng[name].choice(len(weights), _BLOCK, p=weights / weights.sum())

    def _flags(self, name: str, channel: np.ndarray) -> np.ndarray:
        p = self._p[name]
        threshold = p if isinstance(p, float) else p[channel]
        return self._rng[name].random(_BLOCK) < threshold

    def _raw(self, attr: LeadAttribute, channel: np.ndarray) -> np.ndarray:
        """One block of draws of *attr*: category codes, flags, or numbers rounded to 0.1
        (NaN where missing)."""
        if attr.name == "channel":
            return channel
        if attr.kind == "category":
            return self._index(attr.name, getattr(self._attrs, attr.mix))
        if attr.kind == "flag":
            return self._flags(attr.name, channel)
        dist = getattr(self._attrs, attr.name)
        values = np.round(dist.sample(self._rng[attr.name], _BLOCK), 1)
        flag = MISSABLE_FIELDS.get(attr.name)
        if flag is None:
            return values
        return np.where(self._flags(flag, channel), values, np.nan)

    def _column(self, attr: LeadAttribute, raw: np.ndarray) -> list:
        """The block *raw* of *attr* as the leads' values (None where missing)."""
        if attr.kind == "category":
            return self._categories[attr.name][raw].tolist()
        values = raw.tolist()
        if attr.name in MISSABLE_FIELDS:
            return [None if v != v else v for v in values]  # NaN -> None
        return values

    def _refill(self) -> None:
        """Draw the next block: per lead, its attributes in Lead's field order, then the
        qualification uniform."""
        channel = self._index("channel", self._attrs.channels)
        columns = []
        for attr in LEAD_ATTRIBUTES:
            raw = self._raw(attr, channel)
            self._drawn[attr.name].append(raw)
            columns.append(self._column(attr, raw))
        columns.append(self._rng["qualify"].random(_BLOCK).tolist())
        self._block = list(zip(*columns, strict=True))
        if self._customer_rng is not None:
            self._customers = self._customer_rng.integers(self._pool, size=_BLOCK).tolist()
        self._i = 0

    def drawn_columns(self, n: int) -> dict[str, object] | None:
        """The attribute columns of the first *n* leads drawn, as the leads table holds
        them (text, bool, float with NaN where missing), straight from the drawn blocks.

        Valid only while the leads still hold their drawn values (no intake default was
        applied); None when fewer than *n* leads were drawn.
        """
        if n > self._next_id or not self._drawn["channel"]:
            return None
        out: dict[str, object] = {}
        for attr in LEAD_ATTRIBUTES:
            raw = np.concatenate(self._drawn[attr.name])[:n]
            if attr.kind == "category":
                out[attr.name] = inferred_str_array_of_codes(self._categories[attr.name], raw)
            else:
                out[attr.name] = raw
        return out

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
