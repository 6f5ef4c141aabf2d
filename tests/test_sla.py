"""The SLA breaker on hand-built cases: reminder at 2 h, reclaim at 4 h, reassignment to
a different rep, and the business-hours vs calendar-hours clocks."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest
import simpy

from conftest import tiny_scenario_dict
from policies import policy_model
from sim.engine.entities import Lead, Rep
from sim.engine.simulation import run
from sim.engine.sla import DeadlineMonitor
from sim.world.calendars import AlwaysOpen
from sim.world.scenario import Scenario

# Two reps whose touches take longer than the ladder: the third lead is assigned (round
# robin) to a rep who is still busy with the first one.
LONG_TOUCH = {"dist": "constant", "value": 10.0}


def two_rep_world(arrivals: list[float], calendar: str = "always", touch=LONG_TOUCH) -> Scenario:
    data = tiny_scenario_dict(
        arrivals={"process": "schedule", "at_hours": arrivals},
        calendars={
            "always": {"kind": "always"},
            "office": {
                "weekdays": ["mon", "tue", "wed", "thu", "fri"],
                "hours": ["09:00", "18:00"],
                "holidays": {"country": None},
            },
        },
        horizon_days=3,
    )
    data["team"]["groups"][0].update(count=2, calendar=calendar, touch_time=touch)
    return Scenario.model_validate(data)


def policy(clock: str = "calendar", prioritise: bool = True):
    return policy_model().model_validate(
        {
            "sla": {
                "clock": clock,
                "steps": [
                    {"after_hours": 2, "action": "remind", "prioritise": prioritise},
                    {"after_hours": 4, "action": "reclaim"},
                ],
            }
        }
    )


def lead_events(result, lead_id: int) -> list[tuple[str, float, str | None]]:
    ev = result.events[result.events["lead_id"] == lead_id]
    return [
        (k, round(t, 6), None if pd.isna(r) else r)
        for k, t, r in zip(ev["kind"], ev["t"], ev["rep_id"], strict=True)
    ]


def test_busy_rep_gets_reminder_at_2h_and_loses_lead_at_4h():
    result = run(two_rep_world([0.0, 0.1, 0.2]), policy("calendar"), seed=7)
    first = lead_events(result, 0)[1][2]  # rep of lead 0's assignment
    other = lead_events(result, 1)[1][2]
    assert first != other
    # Lead 2 goes to `first` (round robin) who is busy until t = 10.
    assert lead_events(result, 2) == [
        ("lead_arrived", 0.2, None),
        ("lead_assigned", 0.2, first),
        ("sla_reminder", 2.2, first),
        ("lead_reclaimed", 4.2, first),
        ("lead_assigned", 4.2, other),  # a different rep
        ("sla_reminder", 6.2, other),
        ("lead_reclaimed", 8.2, other),
        # Both reps have lost it: it is never routed back to either, so it waits.
        ("lead_pooled", 8.2, None),
    ]
    lead = result.leads.set_index("lead_id").loc[2]
    assert (lead["reminders"], lead["reclaims"], lead["assignments"]) == (2, 2, 2)
    assert pd.isna(lead["first_touch_t"])
    assert any("reclaimed from every rep" in w for w in result.warnings)


def test_reassigned_lead_is_touched_by_the_new_rep():
    # Three reps: the reclaimed lead has someone free to go to.
    scenario = two_rep_world([0.0, 0.1, 0.2])
    data = scenario.model_dump(mode="json", by_alias=True)
    data["team"]["groups"][0]["count"] = 3
    data["arrivals"]["at_hours"] = [0.0, 0.1, 0.15, 0.2, 0.25]
    data["team"]["groups"][0]["touch_time"] = {"dist": "constant", "value": 1.0}
    result = run(Scenario.model_validate(data), policy("calendar"), seed=3)
    leads = result.leads.set_index("lead_id")
    # With 1 h touches nobody waits 2 h: the breaker never fires.
    assert leads["reminders"].sum() == 0 and leads["reclaims"].sum() == 0
    assert (leads["first_touch_hours"] < 2).all()


def test_lead_touched_before_deadline_is_not_reclaimed():
    result = run(
        two_rep_world([0.0, 0.1, 0.2], touch={"dist": "constant", "value": 3.0}),
        policy("calendar"),
        seed=1,
    )
    kinds = [k for k, _, _ in lead_events(result, 2)]
    # The reminder at 2.2 fires; the rep is free at 3.0, before the reclaim at 4.2.
    assert kinds[:4] == ["lead_arrived", "lead_assigned", "sla_reminder", "touch_started"]
    assert "lead_reclaimed" not in kinds
    assert result.leads.set_index("lead_id").loc[2, "first_touch_t"] == pytest.approx(3.0)


def test_business_hours_clock_pauses_overnight():
    # Monday 16:00; two reps on 09:00-18:00 busy 20 h with the first two leads.
    long = {"dist": "constant", "value": 20.0}
    result = run(two_rep_world([16.0, 16.1, 16.2], "office", long), policy("business"), 1)
    first = lead_events(result, 0)[1][2]
    other = lead_events(result, 1)[1][2]
    # 1.8 business hours remain on Monday; 2 h are reached Tuesday 09:12, 4 h at 11:12.
    assert lead_events(result, 2)[:5] == [
        ("lead_arrived", 16.2, None),
        ("lead_assigned", 16.2, first),
        ("sla_reminder", 24 + 9.2, first),
        ("lead_reclaimed", 24 + 11.2, first),
        ("lead_assigned", 24 + 11.2, other),
    ]
    # `other` is free at 16.1 + 20 = 36.1 (Tuesday 12:06) and touches it then.
    assert lead_events(result, 2)[5] == ("touch_started", 36.1, other)
    lead = result.leads.set_index("lead_id").loc[2]
    assert lead["first_touch_business_hours"] == pytest.approx(1.8 + 3.1)


def test_calendar_hours_clock_runs_overnight():
    long = {"dist": "constant", "value": 20.0}
    result = run(two_rep_world([16.0, 16.1, 16.2], "office", long), policy("calendar"), 1)
    events = lead_events(result, 2)
    assert [(k, t) for k, t, _ in events[:5]] == [
        ("lead_arrived", 16.2),
        ("lead_assigned", 16.2),
        ("sla_reminder", 18.2),
        ("lead_reclaimed", 20.2),
        ("lead_assigned", 20.2),
    ]
    # Reclaimed again at 00:12 Tuesday by the second rep: no rep left, it waits unrouted.
    assert [(k, t) for k, t, _ in events[5:]] == [
        ("sla_reminder", 22.2),
        ("lead_reclaimed", 24.2),
        ("lead_pooled", 24.2),
    ]


def _lead(lead_id: int, arrived: float, grade_rank: int) -> Lead:
    lead = Lead(
        lead_id,
        arrived,
        "web",
        "r",
        "i",
        "small",
        False,
        False,
        "low",
        None,
        0.0,
        False,
        False,
        0.5,
    )
    lead.grade_rank = grade_rank
    return lead


def test_reminder_moves_lead_ahead_of_better_grades():
    rep = Rep(0, "r1", "r", 0.0, AlwaysOpen(datetime(2026, 1, 5)), "always", 10, fifo=False)
    old_c, new_a, newer_a = _lead(0, 0.0, 2), _lead(1, 1.0, 0), _lead(2, 2.0, 0)
    for lead in (old_c, new_a, newer_a):
        lead.rep = 0
        rep.enqueue(lead)
    old_c.urgent = True  # the SLA reminder for the old C-lead fired
    rep.enqueue(old_c)
    assert [rep.next_lead().lead_id for _ in range(3)] == [0, 1, 2]
    assert rep.next_lead() is None  # the stale pre-reminder entry is discarded


def test_without_reminder_grade_then_age():
    rep = Rep(0, "r1", "r", 0.0, AlwaysOpen(datetime(2026, 1, 5)), "always", 10, fifo=False)
    for lead in (_lead(0, 0.0, 2), _lead(1, 1.0, 0), _lead(2, 2.0, 1)):
        lead.rep = 0
        rep.enqueue(lead)
    assert [rep.next_lead().lead_id for _ in range(3)] == [1, 2, 0]


def test_deadline_monitor_keeps_event_heap_constant():
    env = simpy.Environment()
    fired: list[float] = []
    monitor = DeadlineMonitor(env, lambda lead, a, r: fired.append(env.now))

    def feeder(env):
        for i in range(5000):
            monitor.add(env.now + 4.0, object(), i, 0)  # type: ignore[arg-type]
            yield env.timeout(0.01)

    env.process(feeder(env))
    peak = 0
    while env.peek() < float("inf"):
        env.step()
        peak = max(peak, len(env._queue))
    assert len(fired) == 5000
    assert fired == sorted(fired) and fired[0] == pytest.approx(4.0)
    # Feeder + monitor: a handful of pending events, not one per waiting deadline.
    assert peak <= 4


def test_deadline_monitor_rejects_out_of_order_deadlines():
    env = simpy.Environment()
    monitor = DeadlineMonitor(env, lambda *a: None)
    monitor.add(5.0, object(), 1, 0)  # type: ignore[arg-type]
    with pytest.raises(AssertionError):
        monitor.add(4.0, object(), 2, 0)  # type: ignore[arg-type]
