"""The SLA breaker on hand-built cases: reminder at 2 h, reclaim at 4 h, reassignment to
a different rep, and the business-hours vs calendar-hours clocks."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest
import simpy

from conftest import tiny_scenario_dict
from policies import policy_model
from sim.engine.entities import Lead, Rep
from sim.engine.simulation import run
from sim.engine.sla import DeadlineMonitor, SlaBreaker
from sim.engine.team import build_team, leave_starts
from sim.world.calendars import AlwaysOpen
from sim.world.randomness import Streams
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


# -- the team clock and rep leave --------------------------------------------------------
# 2026-01-02 is a Friday; the office calendar is 09:00-18:00 on weekdays, no public
# holidays.  Rep "b" is on leave Monday 5 to Friday 9 January; "a" is busy (30 h touches).
FRIDAY = datetime(2026, 1, 2)
OFFICE = {
    "weekdays": ["mon", "tue", "wed", "thu", "fri"],
    "hours": ["09:00", "18:00"],
    "holidays": {"country": None},
}


def leave_world(
    arrivals: list[float],
    reps: list[dict] | None = None,
    holidays: list[str] = (),
    horizon_days: float = 12,
) -> Scenario:
    office = {**OFFICE, "holidays": {"country": None, "extra": list(holidays)}}
    b = {
        "id": "b",
        "calendar": "office",
        "touch_time": {"dist": "constant", "value": 2.0},
        "leave": [["2026-01-05", "2026-01-09"]],
    }
    a = {"id": "a", "calendar": "office", "touch_time": {"dist": "constant", "value": 30.0}}
    data = tiny_scenario_dict(
        start=FRIDAY.isoformat(),
        horizon_days=horizon_days,
        arrivals={"process": "schedule", "at_hours": arrivals},
        calendars={"office": office},
        team={"reps": reps if reps is not None else [b, a]},
    )
    return Scenario.model_validate(data)


def sla_policy(**sla):
    return policy_model().model_validate({"sla": {"clock": "business", **sla}})


def reclaim_values(result, lead_id: int) -> list[float]:
    ev = result.events
    mask = (ev["lead_id"] == lead_id) & (ev["kind"] == "lead_reclaimed")
    return ev.loc[mask, "value"].tolist()


# Leads at Friday 16:30 (-> b, who touches it until 18:30), 16:45 (-> a, busy 30 h) and
# 17:00 (-> b, untouched: b's shift ends at 18:00 and b is on leave all next week).
FRIDAY_1700 = [16.5, 16.75, 17.0]


def test_team_clock_runs_while_the_rep_is_on_leave():
    # Team calendar: Friday 17:00-18:00 is 1 business hour; Saturday and Sunday count
    # nothing; Monday 09:00-10:00 is the 2nd hour -> reminder Monday 10:00 (t = 72 + 10 =
    # 82); 12:00 is the 4th -> reclaim Monday 12:00 (t = 84), to a (free since Sat 22:45).
    result = run(leave_world(FRIDAY_1700), sla_policy(reclaim_on_leave=False), seed=0)
    assert lead_events(result, 2)[:6] == [
        ("lead_arrived", 17.0, None),
        ("lead_assigned", 17.0, "b"),
        ("sla_reminder", 82.0, "b"),
        ("lead_reclaimed", 84.0, "b"),
        ("lead_assigned", 84.0, "a"),
        ("touch_started", 84.0, "a"),
    ]
    assert reclaim_values(result, 2) == [4.0]


def test_leave_start_reclaims_before_the_clock_comes_due():
    # Default policy (team clock, reclaim_on_leave): b's leave begins Monday 00:00 (t =
    # 72), before any business hour of the ladder has passed: reclaimed then (value 0,
    # not an SLA step), no reminder; a works it at Monday 09:00 (t = 81).
    result = run(leave_world(FRIDAY_1700), sla_policy(), seed=0)
    assert lead_events(result, 2)[:5] == [
        ("lead_arrived", 17.0, None),
        ("lead_assigned", 17.0, "b"),
        ("lead_reclaimed", 72.0, "b"),
        ("lead_assigned", 72.0, "a"),
        ("touch_started", 81.0, "a"),
    ]
    assert reclaim_values(result, 2) == [0.0]


def test_rep_clock_reproduces_the_old_behaviour():
    # clock_calendar: rep (leave reclaim off by default with it): b's own calendar has
    # the leave week off, so after Friday's 1 h the clock would resume Monday 12 January
    # 09:00 (t = 240 + 9; reminder due 10:00, reclaim 12:00), but b is back and touches
    # the lead at 09:00: never reminded nor reclaimed, first touch 232 h after arrival.
    result = run(leave_world(FRIDAY_1700), sla_policy(clock_calendar="rep"), seed=0)
    assert lead_events(result, 2)[:3] == [
        ("lead_arrived", 17.0, None),
        ("lead_assigned", 17.0, "b"),
        ("touch_started", 249.0, "b"),
    ]
    assert not (result.events["kind"].isin(["sla_reminder", "lead_reclaimed"])).any()
    explicit = sla_policy(clock_calendar="rep", reclaim_on_leave=False)
    again = run(leave_world(FRIDAY_1700), explicit, seed=0)
    pd.testing.assert_frame_equal(result.events, again.events)


def test_leave_with_three_untouched_leads_reclaims_all_three_at_leave_start():
    # Only b works before Monday: c is hired Monday 5 January.  b touches lead 0 from
    # 16:00 to 18:00; leads 1-3 (16:30, 16:45, 17:00) are untouched when the shift ends.
    # b's leave begins Monday 00:00 (t = 72): all three are reclaimed then and go to c.
    b = {
        "id": "b",
        "calendar": "office",
        "touch_time": {"dist": "constant", "value": 2.0},
        "leave": [["2026-01-05", "2026-01-09"]],
    }
    c = {"id": "c", "calendar": "office", "hire_date": "2026-01-05"}
    result = run(leave_world([16.0, 16.5, 16.75, 17.0], [b, c]), sla_policy(), seed=0)
    ev = result.events
    reclaimed = ev[ev["kind"] == "lead_reclaimed"]
    assert sorted(reclaimed["lead_id"]) == [1, 2, 3]
    assert (reclaimed["t"] == 72.0).all() and (reclaimed["value"] == 0.0).all()
    assert (reclaimed["rep_id"] == "b").all()
    again = ev[(ev["kind"] == "lead_assigned") & (ev["t"] == 72.0)]
    assert sorted(again["lead_id"]) == [1, 2, 3] and (again["rep_id"] == "c").all()
    assert not (ev["kind"] == "sla_reminder").any()
    reps = result.reps.set_index("rep_id")
    assert reps.loc["b", "leads_lost"] == 3


def test_team_holiday_pauses_the_clock():
    # Monday 5 January is a holiday of the whole team (no leave for anyone): Friday
    # 17:00-18:00 is 1 h, Monday counts nothing, Tuesday 09:00-10:00 is the 2nd hour ->
    # reminder Tuesday 10:00 (t = 96 + 10), reclaim Tuesday 12:00 (t = 108).  b is busy
    # with lead 0 (16:30 + 100 h = Tuesday 20:30).  Both clock calendars agree: the team
    # calendar and b's own are the same one.
    b = {"id": "b", "calendar": "office", "touch_time": {"dist": "constant", "value": 100.0}}
    a = {"id": "a", "calendar": "office", "touch_time": {"dist": "constant", "value": 30.0}}
    world = leave_world(FRIDAY_1700, [b, a], holidays=["2026-01-05"])
    for clock_calendar in ("team", "rep"):
        result = run(world, sla_policy(clock_calendar=clock_calendar), seed=0)
        assert lead_events(result, 2)[:5] == [
            ("lead_arrived", 17.0, None),
            ("lead_assigned", 17.0, "b"),
            ("sla_reminder", 106.0, "b"),
            ("lead_reclaimed", 108.0, "b"),
            ("lead_assigned", 108.0, "a"),
        ]


def test_without_leave_the_clock_calendars_give_identical_runs():
    scenario = two_rep_world([16.0, 16.1, 16.2], "office", {"dist": "constant", "value": 20.0})
    team = run(scenario, sla_policy(clock_calendar="team"), seed=1)
    rep = run(scenario, sla_policy(clock_calendar="rep"), seed=1)
    pd.testing.assert_frame_equal(team.events, rep.events)
    pd.testing.assert_frame_equal(team.leads, rep.leads)


def test_leave_starts_on_the_first_working_day_missed():
    world = leave_world([1.0])
    calendar = build_team(world, Streams(0))[0].team_calendar
    horizon = world.horizon_hours
    day = lambda d: [(d, d)]  # noqa: E731
    monday = (datetime(2026, 1, 5) - FRIDAY).total_seconds() / 3600
    # Saturday to Friday: begins Monday; a weekend only: begins nothing.
    assert leave_starts(calendar, [(date(2026, 1, 3), date(2026, 1, 9))], horizon) == (monday,)
    assert leave_starts(calendar, [(date(2026, 1, 3), date(2026, 1, 4))], horizon) == ()
    # Two ranges joined by a weekend are one leave; a gap with a working day makes two.
    both = [(date(2026, 1, 5), date(2026, 1, 9)), (date(2026, 1, 12), date(2026, 1, 13))]
    assert leave_starts(calendar, both, horizon) == (monday,)
    apart = [*day(date(2026, 1, 5)), *day(date(2026, 1, 7))]
    assert leave_starts(calendar, apart, horizon) == (monday, monday + 48)
    # Leave on the start date or past the horizon begins nothing inside the run.
    assert leave_starts(calendar, day(date(2026, 1, 2)), horizon) == ()
    assert leave_starts(calendar, day(date(2026, 2, 2)), horizon) == ()


def test_team_clock_shares_one_monitor_per_step_with_reps_on_leave():
    # FIFO per monitor holds because every rep of a named calendar feeds the same one.
    reps_spec = [
        {"id": f"r{i}", "calendar": "office", "leave": [["2026-01-07", "2026-01-07"]] * (i % 2)}
        for i in range(4)
    ]
    world = leave_world([9.0 + 0.1 * i for i in range(8)] + [80.0], reps_spec, horizon_days=4)
    for clock_calendar, keys in (("team", 1), ("rep", 3)):
        env = simpy.Environment()
        reps = build_team(world, Streams(0))
        breaker = SlaBreaker(env, sla_policy(clock_calendar=clock_calendar).sla, print, print)
        for i, rep in enumerate(reps * 2):
            env.run(until=9.0 + 0.1 * i)
            breaker.arm(_lead(i, env.now, 1), rep)
        assert len({key for _, key in breaker._monitors}) == keys
