"""Response decay: how the delay before first touch lowers the odds of qualifying.

The qualification probability of a touched lead is ``base[grade] * decay(delay)``,
with ``decay(0) == 1`` and non-increasing.  Two shapes are offered:

``exponential`` (the default)
    ``floor + (1 - floor) * 0.5 ** (delay / half_life_hours)``.  Default half-life 6 h,
    floor 0.5.  This is deliberately flatter than the research figures below: those
    measure cold web inquiries, while the source's own before/after (mean first touch
    11.6 h -> 1.8 h, conversion +15-25%) implies that B2B leads lose roughly a quarter of
    their odds over a working day, not 98%.  With the default curve, moving a lead's
    first touch from 11.6 h to 1.8 h raises its odds by 0.90 / 0.63 = 1.4x; averaged over
    realistic delay spreads the lift falls in the source's range.

``piecewise``
    Knots ``[[hours, multiplier], ...]`` joined log-linearly, flat past the last knot.
    The research reading (Oldroyd 2007 / HBR 2011, see DOMAIN.md: qualifying is ~7x as
    likely within 1 h as in the 2nd hour, > 60x as likely as after 24 h) is
    ``[[0, 1], [1, 1], [2, 0.143], [24, 0.0167]]``.

``clock`` says whether the delay is counted in calendar hours (the customer waits in
real time; default) or in business hours of the touching rep's calendar.
"""

from __future__ import annotations

import itertools
import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["ExponentialDecay", "NoDecay", "PiecewiseDecay", "ResponseDecay"]

_STRICT = ConfigDict(extra="forbid", frozen=True)


class ExponentialDecay(BaseModel):
    """Half-life decay towards a floor."""

    model_config = _STRICT
    kind: Literal["exponential"] = "exponential"
    half_life_hours: float = Field(6.0, gt=0)
    floor: float = Field(0.5, ge=0, le=1)
    clock: Literal["calendar", "business"] = "calendar"

    def __call__(self, delay_hours: float) -> float:
        """Multiplier in [floor, 1] for a first touch *delay_hours* after arrival."""
        return self.floor + (1 - self.floor) * 0.5 ** (max(delay_hours, 0.0) / self.half_life_hours)


class PiecewiseDecay(BaseModel):
    """Log-linear interpolation between knots ``[hours, multiplier]``."""

    model_config = _STRICT
    kind: Literal["piecewise"] = "piecewise"
    points: list[tuple[float, float]] = Field(min_length=1)
    clock: Literal["calendar", "business"] = "calendar"

    @model_validator(mode="after")
    def _check(self) -> PiecewiseDecay:
        hours = [h for h, _ in self.points]
        mult = [m for _, m in self.points]
        if hours[0] != 0 or any(b <= a for a, b in itertools.pairwise(hours)):
            raise ValueError(f"knot hours must start at 0 and increase strictly, got {hours}")
        if mult[0] != 1 or any(not 0 < m <= 1 for m in mult):
            raise ValueError(f"multipliers must start at 1 and lie in (0, 1], got {mult}")
        if any(b > a for a, b in itertools.pairwise(mult)):
            raise ValueError(f"multipliers must not increase, got {mult}")
        return self

    def __call__(self, delay_hours: float) -> float:
        """Multiplier for a first touch *delay_hours* after arrival."""
        import numpy as np  # here, not at module level: validating a file needs none

        hours = [h for h, _ in self.points]
        logs = [math.log(m) for _, m in self.points]
        return float(math.exp(np.interp(max(delay_hours, 0.0), hours, logs)))


class NoDecay(BaseModel):
    """Delay does not matter (queueing validation, or to isolate other effects)."""

    model_config = _STRICT
    kind: Literal["none"] = "none"
    clock: Literal["calendar", "business"] = "calendar"

    def __call__(self, delay_hours: float) -> float:
        """Always 1."""
        return 1.0


ResponseDecay = Annotated[ExponentialDecay | PiecewiseDecay | NoDecay, Field(discriminator="kind")]
"""Any decay shape, selected by its ``kind`` key."""
