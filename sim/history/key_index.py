"""The ids an import has seen, in little memory, for duplicate and cross-table checks.

A streamed import keeps no table in memory, only its keys: :class:`KeyIndex` stores
each id as a 64-bit hash (``pandas.util.hash_array``, fixed key) in a sorted NumPy
array, with an optional integer per id (a lead's arrival day).  A million ids take 8 MB
(16 MB with values).  Two different ids share a hash with probability about
n^2 / 2^65 (3e-8 for a million ids), which the import accepts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["KeyIndex", "hash_keys"]


def hash_keys(frame: pd.DataFrame | pd.Series) -> np.ndarray:
    """64-bit hashes of the rows of *frame* (one or several key columns); missing values
    hash alike, as ``DataFrame.duplicated`` treats them."""
    columns = [frame] if isinstance(frame, pd.Series) else [frame[c] for c in frame.columns]
    hashes = np.zeros(len(frame), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for n, column in enumerate(columns):
            values = column.to_numpy(dtype=object, na_value=None)
            h = pd.util.hash_array(values, categorize=False)
            hashes = h if n == 0 else (hashes * np.uint64(1_000_003)) ^ h
    return hashes


class KeyIndex:
    """A growing set of hashed ids, each with an optional int64 value."""

    def __init__(self) -> None:
        self._keys = np.empty(0, dtype=np.uint64)
        self._values = np.empty(0, dtype=np.int64)
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []

    def __len__(self) -> int:
        self._settle()
        return len(self._keys)

    def add(self, hashes: np.ndarray, values: np.ndarray | None = None) -> None:
        """Add *hashes* (with *values*; the first value of an id already present wins)."""
        if values is None:
            values = np.zeros(len(hashes), dtype=np.int64)
        self._pending.append((np.asarray(hashes, np.uint64), np.asarray(values, np.int64)))

    def _settle(self) -> None:
        if not self._pending:
            return
        keys = np.concatenate([self._keys, *(k for k, _ in self._pending)])
        values = np.concatenate([self._values, *(v for _, v in self._pending)])
        self._pending = []
        order = np.argsort(keys, kind="stable")
        keys, values = keys[order], values[order]
        first = np.ones(len(keys), dtype=bool)
        first[1:] = keys[1:] != keys[:-1]
        self._keys, self._values = keys[first], values[first]

    def lookup(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each hash: whether it is in the index, and its value (0 when absent)."""
        self._settle()
        hashes = np.asarray(hashes, np.uint64)
        if not len(self._keys):
            return np.zeros(len(hashes), dtype=bool), np.zeros(len(hashes), dtype=np.int64)
        pos = np.minimum(np.searchsorted(self._keys, hashes), len(self._keys) - 1)
        found = self._keys[pos] == hashes
        return found, np.where(found, self._values[pos], 0)

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        """Whether each hash is in the index."""
        return self.lookup(hashes)[0]
