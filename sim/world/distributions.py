"""Probability distributions declared in YAML and sampled from named streams.

A distribution is written as a mapping with a ``dist`` key, e.g.
``{dist: exponential, mean: 0.5}``.  Each kind is a pydantic model (so a typo or a
negative mean is a validation error naming the field) with a ``sample(rng, size)``
method and an exact ``mean``.  Sampling is vectorised: the engine draws blocks and
hands values out one by one (see :class:`Sampler`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:  # numpy is imported where it is used: validating a file needs none
    import numpy as np

__all__ = [
    "Constant",
    "Distribution",
    "Empirical",
    "Exponential",
    "Gamma",
    "LogNormal",
    "Sampler",
    "Uniform",
]

_STRICT = ConfigDict(extra="forbid", frozen=True)


class Constant(BaseModel):
    """Always the same value."""

    model_config = _STRICT
    dist: Literal["constant"] = "constant"
    value: float = Field(ge=0)

    @property
    def mean(self) -> float:
        """Expected value."""
        return self.value

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """*size* draws."""
        import numpy as np

        return np.full(size, self.value)


class Exponential(BaseModel):
    """Exponential with the given mean (memoryless; M/M/c service)."""

    model_config = _STRICT
    dist: Literal["exponential"] = "exponential"
    mean_: float = Field(gt=0, alias="mean")

    @property
    def mean(self) -> float:
        """Expected value."""
        return self.mean_

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """*size* draws."""
        return rng.exponential(self.mean_, size)


class LogNormal(BaseModel):
    """Log-normal given by its own mean and standard deviation (not the log's)."""

    model_config = _STRICT
    dist: Literal["lognormal"] = "lognormal"
    mean_: float = Field(gt=0, alias="mean")
    sd: float = Field(gt=0)

    @property
    def mean(self) -> float:
        """Expected value."""
        return self.mean_

    def _log_params(self) -> tuple[float, float]:
        sigma2 = math.log1p((self.sd / self.mean_) ** 2)
        return math.log(self.mean_) - sigma2 / 2, math.sqrt(sigma2)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """*size* draws."""
        mu, sigma = self._log_params()
        return rng.lognormal(mu, sigma, size)


class Gamma(BaseModel):
    """Gamma given by mean and shape (shape 1 is exponential)."""

    model_config = _STRICT
    dist: Literal["gamma"] = "gamma"
    mean_: float = Field(gt=0, alias="mean")
    shape: float = Field(gt=0)

    @property
    def mean(self) -> float:
        """Expected value."""
        return self.mean_

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """*size* draws."""
        return rng.gamma(self.shape, self.mean_ / self.shape, size)


class Uniform(BaseModel):
    """Uniform on [low, high]."""

    model_config = _STRICT
    dist: Literal["uniform"] = "uniform"
    low: float = Field(ge=0)
    high: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be >= low ({self.low})")
        return self

    @property
    def mean(self) -> float:
        """Expected value."""
        return (self.low + self.high) / 2

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """*size* draws."""
        return rng.uniform(self.low, self.high, size)


class Empirical(BaseModel):
    """Resampling of observed values, optionally weighted."""

    model_config = _STRICT
    dist: Literal["empirical"] = "empirical"
    values: list[float] = Field(min_length=1)
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _check(self) -> Empirical:
        if any(v < 0 for v in self.values):
            raise ValueError("values must be >= 0")
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(
                    f"weights has {len(self.weights)} entries, values has {len(self.values)}"
                )
            if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
                raise ValueError("weights must be >= 0 and not all zero")
        return self

    def _p(self) -> np.ndarray | None:
        if self.weights is None:
            return None
        import numpy as np

        w = np.asarray(self.weights, dtype=float)
        return w / w.sum()

    @property
    def mean(self) -> float:
        """Expected value."""
        import numpy as np

        p = self._p()
        v = np.asarray(self.values, dtype=float)
        return float(v.mean() if p is None else (v * p).sum())

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """*size* draws."""
        import numpy as np

        return rng.choice(np.asarray(self.values, dtype=float), size=size, p=self._p())


Distribution = Annotated[
    Constant | Exponential | LogNormal | Gamma | Uniform | Empirical,
    Field(discriminator="dist"),
]
"""Any distribution kind, selected by its ``dist`` key."""


class Sampler:
    """Hands out draws of one distribution from one stream, drawn in blocks.

    Block drawing keeps the per-draw cost low; since a stream serves exactly one
    sampler, the sequence of values is the same whatever the block size.
    """

    __slots__ = ("_block", "_buf", "_dist", "_i", "_rng")

    def __init__(self, dist: Distribution, rng: np.random.Generator, block: int = 1024) -> None:
        self._dist, self._rng, self._block = dist, rng, block
        self._buf: list[float] = []
        self._i = 0

    def __call__(self) -> float:
        """The next draw."""
        if self._i >= len(self._buf):
            self._buf = self._dist.sample(self._rng, self._block).tolist()
            self._i = 0
        value = self._buf[self._i]
        self._i += 1
        return value
