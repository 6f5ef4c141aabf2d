"""One run: a scenario under a policy with a seed, simulated with SimPy.

Processes are plain generator functions: one for arrivals, one per rep, and the SLA
monitors owned by the dispatcher.  The environment owns the clock (hours since the
scenario start); everything else is an entity the processes mutate and an event log
they append to.
"""

from __future__ import annotations

from collections.abc import Sequence

import simpy

from policies.policy import PolicyBase, default_policy
from policies.routing import ROUTERS
from policies.scoring import SCORERS
from sim.arrivals import arrival_times
from sim.config import Scenario
from sim.dispatch import Dispatcher
from sim.entities import Lead, Rep
from sim.eventlog import EventLog, Kind
from sim.leadgen import LeadFactory
from sim.randomness import Streams
from sim.result import RunResult, build_result
from sim.team import build_team

__all__ = ["run"]


def _arrivals(
    env,
    scenario: Scenario,
    factory: LeadFactory,
    leads: list[Lead],
    dispatcher,
    log: EventLog,
    streams: Streams,
):
    horizon = scenario.horizon_hours
    for t in arrival_times(scenario.arrivals, scenario.start, streams.get("arrivals")):
        if t >= horizon:
            return
        yield env.timeout(t - env.now)
        lead = factory.new_lead(t)
        leads.append(lead)
        log.add(t, Kind.lead_arrived, lead.lead_id, -1, lead.score)
        dispatcher.route(lead)


def _qualifies(scenario: Scenario, lead: Lead) -> float:
    """Qualification probability of a lead at its first touch."""
    q = scenario.qualification
    delay = (
        lead.first_touch_business
        if q.decay.clock == "business"
        else (lead.first_touch - lead.arrived)
    )
    return q.base[lead.grade] * q.decay(delay)


def _rep_work(env, rep: Rep, scenario: Scenario, dispatcher: Dispatcher, log: EventLog):
    """A rep's day: work the queue during working time, idle otherwise."""
    calendar, add = rep.calendar, log.add
    if rep.hire_t > env.now:
        yield env.timeout(rep.hire_t - env.now)
    while True:
        now = env.now
        if not calendar.is_working(now):
            yield env.timeout(calendar.next_working(now) - now)
            dispatcher.drain()  # a shift starts: capacity appears
            continue
        lead = rep.next_lead()
        if lead is None:
            rep.wake = env.event()
            yield rep.wake
            continue
        lead.first_touch, lead.touch_rep = now, rep.index
        lead.first_touch_business = calendar.working_hours_between(lead.arrived, now)
        add(now, Kind.touch_started, lead.lead_id, rep.index, now - lead.arrived)
        # A touch that starts in working time runs to completion (it may overrun the shift).
        duration = rep.touch()
        yield env.timeout(duration)
        rep.busy_hours += duration
        rep.touches += 1
        end = env.now
        add(end, Kind.touch_completed, lead.lead_id, rep.index, duration)
        p = lead.qualify_probability = _qualifies(scenario, lead)
        lead.qualified = int(lead.u_qualify < p)
        add(
            end,
            Kind.lead_qualified if lead.qualified else Kind.lead_disqualified,
            lead.lead_id,
            rep.index,
            p,
        )
        rep.open_leads -= 1
        dispatcher.drain()


def run(
    scenario: Scenario, policy: PolicyBase | None = None, seed: int | Sequence[int] = 0
) -> RunResult:
    """Simulate *scenario* under *policy* (default: the source's defaults) with *seed*."""
    policy = policy if policy is not None else default_policy()
    streams = Streams(seed)
    env = simpy.Environment()
    reps = build_team(scenario, streams)
    scorer = SCORERS.build(policy.scoring)
    router = ROUTERS.build(policy.routing, reps, streams.get("routing"))
    log = EventLog()
    fifo = scenario.team.queue_discipline == "fifo"
    dispatcher = Dispatcher(env, reps, router, log, policy.sla, fifo_pool=fifo)
    factory = LeadFactory(scenario.leads, scorer, streams)
    leads: list[Lead] = []
    env.process(_arrivals(env, scenario, factory, leads, dispatcher, log, streams))
    for rep in reps:
        env.process(_rep_work(env, rep, scenario, dispatcher, log))
    env.run(until=scenario.horizon_hours)
    return build_result(scenario, policy, streams.seed, log, leads, reps, dispatcher)
