"""Structural breaks in weekly lead counts: where the current arrival regime starts.

A CRM export often holds more than one regime: a launch, a new campaign or a holiday
slump moves the weekly level, and a model fitted across such a shift describes neither
side.  :func:`last_break` finds the most recent break by binary segmentation along the
latest segment: full weeks are counted back from the last day; within a segment, each
week *k* with at least :data:`MIN_WEEKS` weeks on either side is tried as a break, with a
straight line fitted to the weekly totals on each side against one line through them all
(a Chow F test, so a jump in the level or a change of the trend both count, and a steady
trend does not); the best split is a break when its p-value times the number of splits
tried (Bonferroni) is below :data:`ALPHA`.  The search then continues after that break
until no later one is significant.  The residual variance comes from the weekly totals
themselves, so over-dispersed (non-Poisson) counts need a larger shift to count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["ALPHA", "MIN_WEEKS", "Break", "last_break", "weekly_totals"]

ALPHA = 0.01
"""Family-wise significance of a break (p-value x splits tried)."""
MIN_WEEKS = 4
"""Full weeks a break needs on each side."""


@dataclass(frozen=True)
class Break:
    """The most recent break: the regime since day offset *day* (a week boundary counted
    back from the last day), with the mean leads/day of the *MIN_WEEKS* weeks before and
    after it and the Bonferroni-adjusted p-value."""

    day: int
    before_per_day: float
    after_per_day: float
    p_value: float


def weekly_totals(counts: np.ndarray) -> tuple[int, np.ndarray]:
    """Day offset of the first full week counted back from the end, and the weekly totals
    from it (the leading partial week is left out)."""
    counts = np.asarray(counts, dtype=float)
    weeks = len(counts) // 7
    offset = len(counts) - 7 * weeks
    return offset, counts[offset:].reshape(weeks, 7).sum(axis=1)


def _rss(y: np.ndarray) -> float:
    """Residual sum of squares of a least-squares line through *y* (at 0, 1, 2, ...)."""
    x = np.arange(len(y), dtype=float)
    x -= x.mean()
    slope = float(np.dot(x, y - y.mean()) / np.dot(x, x))
    return float(np.sum((y - y.mean() - slope * x) ** 2))


def _best_split(y: np.ndarray) -> tuple[int, float] | None:
    """The split of *y* with the largest Chow F statistic and its Bonferroni-adjusted
    p-value, or ``None`` when *y* is too short to split."""
    m = len(y)
    splits = range(MIN_WEEKS, m - MIN_WEEKS + 1)
    if len(splits) == 0 or m - 4 < 1:
        return None
    whole = _rss(y)
    best_k, best_f = 0, -1.0
    for k in splits:
        parts = _rss(y[:k]) + _rss(y[k:])
        f = (whole - parts) / 2 / max(parts / (m - 4), 1e-12)
        if f > best_f:
            best_k, best_f = k, f
    p = float(stats.f.sf(best_f, 2, m - 4)) * len(splits)
    return best_k, min(p, 1.0)


def last_break(counts: np.ndarray) -> Break | None:
    """The most recent significant break in the weekly totals of daily *counts*, or
    ``None`` when the counts hold one regime (see the module docstring)."""
    offset, y = weekly_totals(counts)
    start, found = 0, None
    while True:
        split = _best_split(y[start:])
        if split is None or split[1] >= ALPHA:
            break
        k = start + split[0]
        found = Break(
            day=offset + 7 * k,
            before_per_day=float(y[k - MIN_WEEKS : k].mean() / 7),
            after_per_day=float(y[k : k + MIN_WEEKS].mean() / 7),
            p_value=split[1],
        )
        start = k
    return found
