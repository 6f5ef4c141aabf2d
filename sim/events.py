"""The one event-log mechanism of a run: a registry of event kinds and a columnar buffer.

A run keeps two logs built from these two classes: lead events
(:mod:`sim.engine.event_log`: arrivals, assignments, SLA steps, touches, ...) and
process events (:mod:`sim.process.process_events`: visits, proofs, checkpoints, ...).
Every event is five numbers ``(t, kind, subject, detail, value)``: the time in hours
since the scenario start, the kind's integer code, the id of what the event is about
(a lead, an opportunity), an index that details it (a rep, a checkpoint; -1 for none)
and a number whose meaning depends on the kind (NaN for none).  Each log's
:class:`EventKinds` names its kinds, its ``subject`` and ``detail`` and what ``value``
holds per kind; the owner of the log turns :meth:`EventLog.rows` into its table.

This module sits below the engine and the process model (both use it) and imports
nothing from ``sim``.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Mapping
from itertools import chain

import numpy as np
import pandas as pd

__all__ = ["EventKinds", "EventLog"]

WIDTH = 5
"""Numbers per event: ``t``, ``kind``, ``subject``, ``detail``, ``value``."""


class EventKinds:
    """The kinds of one event log: names in the order of their integer codes, and the
    meaning of ``value`` for each.

    *codes* is a plain class with one integer attribute per kind (``Kind.lead_arrived``
    is what hot loops read); the codes must be 0, 1, 2, ... (new kinds go at the end).
    *subject* and *detail* name the log's third and fourth fields.
    """

    __slots__ = ("codes", "detail", "dtype", "names", "subject", "value_meaning")

    def __init__(
        self, codes: type, value_meaning: Mapping[str, str], *, subject: str, detail: str
    ) -> None:
        numbered = sorted(
            (code, name) for name, code in vars(codes).items() if not name.startswith("_")
        )
        if [code for code, _ in numbered] != list(range(len(numbered))):
            raise ValueError(f"{codes.__name__}: codes must be 0..n-1, got {numbered}")
        self.codes = codes
        self.names: tuple[str, ...] = tuple(name for _, name in numbered)
        unknown = sorted(set(value_meaning) - set(self.names))
        if unknown:
            raise ValueError(f"{codes.__name__}: value meaning of unknown kind(s) {unknown}")
        self.value_meaning = dict(value_meaning)
        self.subject, self.detail = subject, detail
        self.dtype = pd.CategoricalDtype(list(self.names), ordered=True)

    def __len__(self) -> int:
        return len(self.names)

    def categorical(self, codes: np.ndarray) -> pd.Categorical:
        """The ordered categorical of kind *codes* (any numeric array)."""
        return pd.Categorical.from_codes(codes.astype(np.int8), dtype=self.dtype)


class EventLog:
    """Append-only log of ``(t, kind, subject, detail, value)`` events of one
    :class:`EventKinds`.

    Hot loops call :attr:`record` with a 5-tuple: it is a list's own ``append`` (no
    Python frame per event, and the cheapest append CPython has); :meth:`add` takes the
    fields as arguments.  Tuples are moved in batches into one typed ``array('d')`` of
    five doubles per event (ids and kind codes are small integers, exact in a double),
    so memory stays at 40 bytes an event: a producer of many events calls :meth:`settle`
    now and then, which moves the batch when it is large.  Order is preserved: the
    array holds the older events, the batch the newer ones.
    """

    __slots__ = ("_batch", "_data", "kinds", "record")

    BATCH = 8192  # events kept as tuples before settle() packs them into the array

    def __init__(self, kinds: EventKinds) -> None:
        self.kinds = kinds
        self._data = array("d")
        self._batch: list[tuple] = []
        self.record = self._batch.append

    def add(
        self, t: float, kind: int, subject: int, detail: int = -1, value: float = math.nan
    ) -> None:
        """Record one event (detail -1 means none)."""
        self._batch.append((t, kind, subject, detail, value))

    def settle(self) -> None:
        """Pack the batch into the array if it has grown large (cheap to call often)."""
        if len(self._batch) >= self.BATCH:
            self._pack()

    def _pack(self) -> None:
        self._data.fromlist(list(chain.from_iterable(self._batch)))
        self._batch.clear()  # in place: ``record`` is bound to this list

    def __len__(self) -> int:
        return len(self._data) // WIDTH + len(self._batch)

    def rows(self) -> np.ndarray:
        """All events so far as an ``(n, 5)`` float array, in the order recorded."""
        self._pack()
        return np.frombuffer(self._data, dtype=np.float64).reshape(-1, WIDTH)
