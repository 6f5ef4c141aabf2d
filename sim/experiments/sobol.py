"""Global sensitivity: Sobol indices of a KPI over levers and uncertain factors (SALib).

How much of a KPI's variation does each factor explain?  The *first-order* index ``S1``
is the share of the variance a factor explains alone; the *total* index ``ST`` adds its
interactions with every other factor, so ``ST ≈ 0`` means the factor does not matter.
Both come with a bootstrap confidence half-width (``S1_conf``, ``ST_conf``).

The design is Saltelli's (``SALib.sample.sobol`` with ``calc_second_order=False``):
``n * (d + 2)`` points for ``d`` factors, ``n`` a power of two.  SALib samples the unit
cube; each factor maps its coordinate ``u`` in ``[0, 1)`` to a value deterministically:
``low + u (high - low)`` for a float, the ``floor`` of ``low + u (high - low + 1)`` for an
int (every integer equally likely) and ``choices[floor(u k)]`` for a choice of ``k``.
Evaluate the KPI at every row of :func:`sample` (in order) and pass the values to
:func:`indices`::

    factors = [Factor("sla.reclaim_hours", 1, 8), Factor("routing.name", 0, 1, "choice",
               ("round_robin", "least_loaded"))]
    design = sample(factors, n=64, seed=1)
    table = indices(factors, y, seed=1)  # factor, S1, S1_conf, ST, ST_conf
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from sim.errors import ConfigError

__all__ = ["INDEX_COLUMNS", "Factor", "design_size", "indices", "sample"]

INDEX_COLUMNS = ("factor", "S1", "S1_conf", "ST", "ST_conf")
"""Columns of :func:`indices`, in order."""


@dataclass(frozen=True)
class Factor:
    """One input of the sensitivity analysis: a dotted path (or any name) and its range.

    ``kind`` is ``float`` (values in ``[low, high)``), ``int`` (integers ``low..high``) or
    ``choice`` (one of ``choices``; ``low`` and ``high`` are then unused).
    """

    name: str
    low: float
    high: float
    kind: Literal["float", "int", "choice"] = "float"
    choices: Sequence[Any] | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("float", "int", "choice"):
            raise ConfigError(f"sobol factor {self.name}: unknown kind {self.kind!r}")
        if self.kind == "choice":
            if not self.choices:
                raise ConfigError(f"sobol factor {self.name}: a choice needs its choices")
        elif not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ConfigError(
                f"sobol factor {self.name}: needs low < high, got {self.low}..{self.high}"
            )

    def value(self, u: np.ndarray) -> np.ndarray:
        """The factor's values at unit-cube coordinates *u*."""
        if self.kind == "float":
            return self.low + u * (self.high - self.low)
        if self.kind == "int":
            low, high = math.ceil(self.low), math.floor(self.high)
            return np.minimum(np.floor(low + u * (high - low + 1)), high).astype(np.int64)
        choices = list(self.choices or ())
        index = np.minimum(np.floor(u * len(choices)).astype(np.int64), len(choices) - 1)
        return np.array(choices, dtype=object)[index]


def _problem(factors: Sequence[Factor]) -> dict[str, Any]:
    names = [f.name for f in factors]
    if not names:
        raise ConfigError("sobol: no factors")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"sobol: factor {duplicates[0]} given twice")
    return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}


def design_size(factors: Sequence[Factor], n: int) -> int:
    """Rows of the design of :func:`sample`: ``n * (d + 2)``."""
    return n * (len(factors) + 2)


def sample(factors: Sequence[Factor], n: int, seed: int) -> pd.DataFrame:
    """The Saltelli design: ``n * (len(factors) + 2)`` rows, one column per factor (its
    name), in the order :func:`indices` expects.  *n* must be a power of two."""
    from SALib.sample import sobol as saltelli

    if n < 2 or n & (n - 1):
        raise ConfigError(f"sobol: the base sample must be a power of two >= 2, got {n}")
    problem = _problem(factors)
    unit = saltelli.sample(problem, n, calc_second_order=False, scramble=True, seed=seed)
    return pd.DataFrame({f.name: f.value(unit[:, i]) for i, f in enumerate(factors)})


def indices(
    factors: Sequence[Factor], y: np.ndarray, seed: int, confidence: float = 0.95
) -> pd.DataFrame:
    """First-order and total Sobol indices of *y* (one value per row of :func:`sample`).

    Columns :data:`INDEX_COLUMNS`; ``*_conf`` is the half-width of the bootstrap
    *confidence* interval.  A KPI that never varies has indices 0 (nothing to explain).
    """
    from SALib.analyze import sobol as analyze

    problem = _problem(factors)
    y = np.asarray(y, dtype=float)
    d = len(factors)
    if y.ndim != 1 or len(y) % (d + 2) or len(y) == 0:
        raise ConfigError(
            f"sobol: {len(y)} values do not fit a design of {d} factors (n * {d + 2} rows)"
        )
    if not np.isfinite(y).all():
        raise ConfigError("sobol: the KPI has missing values in some evaluations")
    names = [f.name for f in factors]
    if np.ptp(y) == 0:
        zeros = np.zeros(d)
        return pd.DataFrame(
            {"factor": names, "S1": zeros, "S1_conf": zeros, "ST": zeros, "ST_conf": zeros}
        )
    result = analyze.analyze(problem, y, calc_second_order=False, conf_level=confidence, seed=seed)
    return pd.DataFrame(
        {
            "factor": names,
            "S1": result["S1"],
            "S1_conf": result["S1_conf"],
            "ST": result["ST"],
            "ST_conf": result["ST_conf"],
        }
    )[list(INDEX_COLUMNS)]
