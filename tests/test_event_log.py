"""The one event-log mechanism (sim.events): kinds registries and the columnar buffer."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.engine.event_log import KINDS, LEAD_EVENTS, VALUE_MEANING, Kind
from sim.events import EventKinds, EventLog
from sim.process.process_events import PROCESS_EVENTS, PROCESS_KINDS, ProcessKind


def test_both_logs_are_kinds_of_the_one_mechanism():
    assert isinstance(LEAD_EVENTS, EventKinds) and isinstance(PROCESS_EVENTS, EventKinds)
    assert (LEAD_EVENTS.names, PROCESS_EVENTS.names) == (KINDS, PROCESS_KINDS)
    assert all(getattr(Kind, name) == code for code, name in enumerate(KINDS))
    assert all(getattr(ProcessKind, name) == code for code, name in enumerate(PROCESS_KINDS))
    assert set(VALUE_MEANING) <= set(KINDS)
    assert (LEAD_EVENTS.subject, LEAD_EVENTS.detail) == ("lead", "rep")
    assert (PROCESS_EVENTS.subject, PROCESS_EVENTS.detail) == ("opportunity", "checkpoint")


def test_kinds_need_consecutive_codes_and_known_meanings():
    class Gap:
        first = 0
        third = 2

    class Two:
        first = 0
        second = 1

    with pytest.raises(ValueError, match=r"codes must be 0\.\.n-1"):
        EventKinds(Gap, {}, subject="lead", detail="rep")
    with pytest.raises(ValueError, match="unknown kind"):
        EventKinds(Two, {"third": "?"}, subject="lead", detail="rep")
    kinds = EventKinds(Two, {"second": "hours"}, subject="lead", detail="rep")
    codes = kinds.categorical(np.asarray([1.0, 0.0, 1.0]))
    assert list(codes) == ["second", "first", "second"] and codes.ordered


def test_rows_keep_the_order_recorded_across_packed_batches(monkeypatch):
    monkeypatch.setattr(EventLog, "BATCH", 3)
    log = EventLog(LEAD_EVENTS)
    for i in range(7):
        if i % 2:
            log.record((float(i), Kind.lead_assigned, i, 2, 0.5))
        else:
            log.add(float(i), Kind.lead_arrived, i)
        log.settle()
    assert len(log) == 7
    rows = log.rows()
    assert rows.shape == (7, 5)
    assert rows[:, 0].tolist() == [float(i) for i in range(7)]
    assert rows[1].tolist() == [1.0, Kind.lead_assigned, 1.0, 2.0, 0.5]
    assert rows[0, 3] == -1 and math.isnan(rows[0, 4])  # add's defaults: no detail, no value
