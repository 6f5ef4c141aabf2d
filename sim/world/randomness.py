"""Named random streams spawned from one seed.

There is no global random state anywhere in the workbench.  A run owns a
:class:`Streams` object; each source of randomness (arrivals, lead attributes, one per
rep for touch times, ...) asks it for a generator by *name*.  The name, not the order of
the requests, decides the stream, so adding a new source never shifts the numbers an
existing source draws, and the same seed gives the same leads under every policy
(common random numbers).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

__all__ = ["Streams", "replication_seeds"]


def _name_key(name: str) -> int:
    """Stable 32-bit key of a stream name (crc32 is fixed across Python versions)."""
    return zlib.crc32(name.encode("utf-8"))


class Streams:
    """Factory of independent, reproducible generators keyed by name.

    ``Streams(seed).get("arrivals")`` always yields the same generator state for the
    same seed; different names give statistically independent streams
    (``SeedSequence`` spawn keys).
    """

    def __init__(self, seed: int | Sequence[int]) -> None:
        entropy = [int(seed)] if isinstance(seed, int | np.integer) else [int(s) for s in seed]
        if any(s < 0 for s in entropy):
            raise ValueError(f"seed must be non-negative, got {seed!r}")
        self.seed = tuple(entropy)
        self._cache: dict[str, np.random.Generator] = {}

    def get(self, name: str) -> np.random.Generator:
        """The generator for source *name* (created once, then shared)."""
        gen = self._cache.get(name)
        if gen is None:
            seq = np.random.SeedSequence(list(self.seed), spawn_key=(_name_key(name),))
            gen = self._cache[name] = np.random.Generator(np.random.PCG64(seq))
        return gen


def replication_seeds(base_seed: int, n: int) -> list[tuple[int, int]]:
    """Seeds of *n* replications: ``(base_seed, i)``; run *i* is the same in any batch."""
    if n < 1:
        raise ValueError(f"replications must be >= 1, got {n}")
    return [(int(base_seed), i) for i in range(n)]
