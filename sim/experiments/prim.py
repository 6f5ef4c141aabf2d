"""Scenario discovery: PRIM boxes describing where a policy fails.

The Patient Rule Induction Method (Friedman and Fisher, 1999) looks for boxes in the space
of uncertain factors (lead volume, team size, ...) inside which a case of interest, here
"the policy failed", is dense.  One box is found in three steps:

* **peeling**: starting from every point, repeatedly cut off a slice of the box, the
  ``peel_alpha`` share of its points at the low or the high end of one numeric factor, or
  every point of one category of a categorical factor, choosing the cut that leaves the
  densest box, as long as the box keeps at least ``min_mass`` of all points.  The boxes
  after each cut form the *peeling trajectory*;
* **choosing**: the first box on the trajectory whose density reaches ``threshold`` (the
  largest such box, so the one covering most failures), else the densest one;
* **pasting**: widening the chosen box again, a ``paste_alpha`` share of its points at a
  time on one side of one factor (or one category back), while that raises its density.

**Covering** then looks for the next box among the points no earlier box holds, up to
``max_boxes``.  A later box is kept only when it reaches ``threshold``; the search stops
when no failure is left.

For a box, *coverage* is the share of all failures it holds, *density* the share of its
points that failed and *mass* its share of all points; a later box counts only points no
earlier box holds, so coverages add up.  Numeric limits are closed intervals,
``-inf``/``inf`` on a side that was never cut; only restricted factors are listed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.errors import ConfigError

__all__ = ["PrimBox", "discover"]

Limit = tuple[float, float] | frozenset


@dataclass(frozen=True)
class PrimBox:
    """One box: its statistics and the limits of its restricted factors.

    ``limits`` maps a numeric column to ``(low, high)`` (closed; ``-inf``/``inf`` for a
    side never cut) and a categorical column to the frozenset of categories kept.
    """

    coverage: float
    density: float
    mass: float
    limits: dict[str, Limit] = field(default_factory=dict)

    def contains(self, X: pd.DataFrame) -> np.ndarray:
        """Which rows of *X* lie inside the box."""
        return _inside(X, self.limits)


def _is_categorical(column: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def _inside(X: pd.DataFrame, limits: Mapping[str, Limit]) -> np.ndarray:
    keep = np.ones(len(X), dtype=bool)
    for column, limit in limits.items():
        values = X[column]
        if isinstance(limit, frozenset):
            keep &= values.isin(limit).to_numpy()
        else:
            low, high = limit
            array = values.to_numpy(dtype=float)
            keep &= (array >= low) & (array <= high)
    return keep


class _Search:
    """The state of one box search over the points still uncovered."""

    def __init__(self, X: pd.DataFrame, failed: np.ndarray, alive: np.ndarray, min_count: int):
        self.X = X
        self.failed = failed
        self.alive = alive
        self.min_count = min_count
        self.numeric = {
            c: X[c].to_numpy(dtype=float) for c in X.columns if not _is_categorical(X[c])
        }
        self.categorical = {
            c: X[c].to_numpy(dtype=object) for c in X.columns if c not in self.numeric
        }

    def mask(self, limits: Mapping[str, Limit]) -> np.ndarray:
        keep = self.alive.copy()
        for column, limit in limits.items():
            if isinstance(limit, frozenset):
                keep &= np.isin(self.categorical[column], list(limit))
            else:
                values = self.numeric[column]
                keep &= (values >= limit[0]) & (values <= limit[1])
        return keep

    def density(self, mask: np.ndarray) -> float:
        count = int(mask.sum())
        return float(self.failed[mask].sum()) / count if count else 0.0

    # -- peeling ------------------------------------------------------------------------
    def peels(self, limits: dict[str, Limit], mask: np.ndarray, alpha: float):
        """Every candidate cut of the box: ``(new limits, new mask)``."""
        count = int(mask.sum())
        for column, values in self.numeric.items():
            inside = values[mask]
            low, high = limits.get(column, (-math.inf, math.inf))
            lower_cut = np.quantile(inside, alpha, method="higher")
            if lower_cut <= inside.min():  # ties: cut the lowest value instead
                above = inside[inside > inside.min()]
                lower_cut = above.min() if above.size else None
            if lower_cut is not None:
                yield {**limits, column: (float(lower_cut), high)}, mask & (values >= lower_cut)
            upper_cut = np.quantile(inside, 1 - alpha, method="lower")
            if upper_cut >= inside.max():
                below = inside[inside < inside.max()]
                upper_cut = below.max() if below.size else None
            if upper_cut is not None:
                yield {**limits, column: (low, float(upper_cut))}, mask & (values <= upper_cut)
        for column, values in self.categorical.items():
            kept = set(values[mask])
            if len(kept) < 2 or count == 0:
                continue
            for category in sorted(kept, key=str):
                rest = frozenset(kept - {category})
                yield {**limits, column: rest}, mask & (values != category)

    def trajectory(self, alpha: float) -> list[tuple[dict[str, Limit], np.ndarray]]:
        """The peeling trajectory: the whole space first, then each cut's box."""
        limits: dict[str, Limit] = {}
        mask = self.alive.copy()
        boxes = [(limits, mask)]
        while True:
            best = None
            for new_limits, new_mask in self.peels(limits, mask, alpha):
                count = int(new_mask.sum())
                if count < self.min_count or count == int(mask.sum()):
                    continue
                score = (self.density(new_mask), count)  # densest; ties: the larger box
                if best is None or score > best[0]:
                    best = (score, new_limits, new_mask)
            if best is None:
                return boxes
            _, limits, mask = best
            boxes.append((limits, mask))

    # -- pasting ------------------------------------------------------------------------
    def pastes(self, limits: dict[str, Limit], mask: np.ndarray, alpha: float):
        """Every candidate widening of the box by about *alpha* of its points."""
        step = max(1, math.ceil(alpha * int(mask.sum())))
        for column, limit in limits.items():
            others = {c: lim for c, lim in limits.items() if c != column}
            outside = self.mask(others) & ~mask
            if isinstance(limit, frozenset):
                values = self.categorical[column]
                for category in sorted(set(values[outside]) - limit, key=str):
                    yield (
                        {**limits, column: limit | {category}},
                        mask | (outside & (values == category)),
                    )
                continue
            values = self.numeric[column]
            low, high = limit
            below = np.sort(values[outside & (values < low)])
            if below.size:
                new_low = below[-min(step, below.size)]
                widened = {**limits, column: (float(new_low), high)}
                yield widened, mask | (outside & (values >= new_low) & (values < low))
            above = np.sort(values[outside & (values > high)])
            if above.size:
                new_high = above[min(step, above.size) - 1]
                widened = {**limits, column: (low, float(new_high))}
                yield widened, mask | (outside & (values <= new_high) & (values > high))

    def paste(self, limits: dict[str, Limit], mask: np.ndarray, alpha: float):
        """Widen the box while a widening raises its density."""
        while True:
            current = self.density(mask)
            best = None
            for new_limits, new_mask in self.pastes(limits, mask, alpha):
                density = self.density(new_mask)
                if density > current and (best is None or density > best[0]):
                    best = (density, new_limits, new_mask)
            if best is None:
                return limits, mask
            _, limits, mask = best


def _choose(search: _Search, boxes, threshold: float):
    """The first trajectory box reaching *threshold*, else the densest (``None`` if no
    box reaches it and *strict*)."""
    for limits, mask in boxes:
        if search.density(mask) >= threshold:
            return limits, mask, True
    densest = max(boxes, key=lambda box: (search.density(box[1]), int(box[1].sum())))
    return densest[0], densest[1], False


def _restricted(limits: Mapping[str, Limit], X: pd.DataFrame) -> dict[str, Limit]:
    """Only the factors a box actually restricts (a category set smaller than all)."""
    kept: dict[str, Limit] = {}
    for column in X.columns:  # in the data's column order
        limit = limits.get(column)
        if limit is None:
            continue
        if isinstance(limit, frozenset):
            if limit < frozenset(X[column].unique()):
                kept[column] = limit
        elif limit != (-math.inf, math.inf):
            kept[column] = limit
    return kept


def _check(X: pd.DataFrame, failed: np.ndarray, alphas: Mapping[str, float], min_mass: float):
    if len(X) != len(failed):
        raise ConfigError(f"PRIM: {len(X)} points but {len(failed)} failure flags")
    if len(X) == 0 or X.shape[1] == 0:
        raise ConfigError("PRIM: no points or no factors to describe")
    for name, value in alphas.items():
        if not 0 < value < 0.5:
            raise ConfigError(f"PRIM: {name} must be in (0, 0.5), got {value}")
    if not 0 < min_mass < 1:
        raise ConfigError(f"PRIM: min_mass must be in (0, 1), got {min_mass}")
    numeric = [c for c in X.columns if not _is_categorical(X[c])]
    if X[numeric].isna().any().any():
        raise ConfigError("PRIM: a numeric factor has missing values")


def discover(
    X: pd.DataFrame,
    failed: np.ndarray,
    *,
    peel_alpha: float = 0.05,
    paste_alpha: float = 0.05,
    min_mass: float = 0.05,
    threshold: float = 0.8,
    max_boxes: int = 3,
) -> list[PrimBox]:
    """PRIM boxes for the rows of *X* (one column per factor) where *failed* is true.

    Numeric columns are cut at data values; object, category and bool columns by
    category.  Returns at most *max_boxes* boxes, most important first: the first box
    always (the densest one when none reaches *threshold*), later ones only when they
    reach *threshold*; an empty list when nothing failed or every point failed.
    """
    failed = np.asarray(failed, dtype=bool)
    _check(X, failed, {"peel_alpha": peel_alpha, "paste_alpha": paste_alpha}, min_mass)
    X = X.reset_index(drop=True)
    total, total_failed = len(X), int(failed.sum())
    if total_failed in (0, total):
        return []
    alive = np.ones(total, dtype=bool)
    min_count = max(1, math.ceil(min_mass * total))
    boxes: list[PrimBox] = []
    while len(boxes) < max_boxes and failed[alive].any():
        search = _Search(X, failed, alive, min_count)
        if int(alive.sum()) < min_count:
            break
        limits, mask, reached = _choose(search, search.trajectory(peel_alpha), threshold)
        limits, mask = search.paste(limits, mask, paste_alpha)
        restricted = _restricted(limits, X)
        if boxes and (not reached or not restricted):
            break
        in_box = int(mask.sum())
        hits = int(failed[mask].sum())
        boxes.append(PrimBox(hits / total_failed, hits / in_box, in_box / total, restricted))
        if not restricted:
            break
        alive &= ~mask
    return boxes
