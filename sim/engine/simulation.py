"""One run: a scenario under a policy with a seed, simulated with SimPy.

Processes are plain generator functions: one for arrivals, one per rep, and the SLA
monitors owned by the dispatcher.  The environment owns the clock (hours since the
scenario start); everything else is an entity the processes mutate and an event log
they append to.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager

import simpy

from policies.allocation import Allocation
from policies.policy import PolicyBase, default_policy
from policies.routing import ROUTERS
from policies.scoring import SCORERS
from sim.engine.arrivals import arrival_source, arrival_times
from sim.engine.dispatch import Dispatcher
from sim.engine.entities import Lead, Rep
from sim.engine.event_log import LEAD_EVENTS, Kind
from sim.engine.intake import IntakeGate
from sim.engine.lead_factory import LeadFactory
from sim.engine.marketplace import Market
from sim.engine.result import RunResult, build_result
from sim.engine.team import build_team
from sim.errors import ConfigError
from sim.events import EventLog
from sim.process.pipeline import Pipeline
from sim.world.calendars import AlwaysOpen
from sim.world.randomness import Streams
from sim.world.scenario import Scenario

__all__ = ["run"]


@contextmanager
def _cyclic_gc_paused():
    """Pause Python's cyclic garbage collector while the event loop runs.

    The run allocates many long-lived objects (leads, events) that the collector would
    rescan again and again; none of them is garbage before the run ends. Reference
    counting still frees everything else at once; the previous state is restored.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _arrivals(
    env,
    horizon: float,
    times: Iterable[float],
    factory: LeadFactory,
    leads: list[Lead],
    dispatcher,
    log: EventLog,
    gate: IntakeGate,
):
    """Leads arrive at *times*, pass intake, are graded, then routed (or dropped, never
    routed)."""
    timeout, draw, grade, keep = env.timeout, factory.draw, factory.grade, leads.append
    admit = gate.admit if gate.active else None
    record, settle, route = log.record, log.settle, dispatcher.route
    arrived, dropped_kind = Kind.lead_arrived, Kind.lead_dropped
    for t in times:
        if t >= horizon:
            return
        yield timeout(t - env.now)
        t = env.now  # the clock's value, so a touch at this instant waits exactly 0
        lead = draw(t)
        keep(lead)
        # Intake fills channel defaults before grading: the defaults earn their points.
        dropped = admit(lead) if admit is not None else None
        grade(lead)
        settle()
        record((t, arrived, lead.lead_id, -1, lead.score))
        if dropped is not None:
            record((t, dropped_kind, lead.lead_id, -1, dropped))
            continue
        route(lead)


def _qualification_odds(scenario: Scenario) -> Callable[[Lead], float]:
    """Qualification probability of a lead at its first touch: base[grade] x decay(delay)
    (x the attribute multipliers, capped at 1, when the scenario has any)."""
    base, decay = dict(scenario.qualification.base), scenario.qualification.decay
    if decay.clock == "business":

        def plain(lead: Lead) -> float:
            return base[lead.grade] * decay(lead.first_touch_business)
    else:

        def plain(lead: Lead) -> float:
            return base[lead.grade] * decay(lead.first_touch - lead.arrived)

    tables = [(attr, table) for attr, table in scenario.qualification.multipliers.items() if table]
    if not tables:
        return plain

    def with_multipliers(lead: Lead) -> float:
        factor = 1.0
        for attr, table in tables:
            factor *= table.get(getattr(lead, attr), 1.0)
        return min(1.0, plain(lead) * factor)

    return with_multipliers


def _rep_work(
    env,
    rep: Rep,
    odds: Callable[[Lead], float],
    dispatcher: Dispatcher,
    log: EventLog,
    pipeline: Pipeline | None = None,
):
    """A rep's day: work the queue during working time, idle otherwise; a lead that
    qualifies opens an opportunity when the scenario has a process model."""
    calendar, record, timeout = rep.calendar, log.record, env.timeout
    is_working, worked_between = calendar.is_working, calendar.working_hours_between
    next_lead, draw_touch, drain, index = rep.next_lead, rep.touch, dispatcher.drain, rep.index
    release = dispatcher.release
    started, completed = Kind.touch_started, Kind.touch_completed
    qualified, disqualified = Kind.lead_qualified, Kind.lead_disqualified
    always_open = isinstance(calendar, AlwaysOpen)  # skip calendar calls in the loop
    hoards = rep.claim_ahead > 0 and dispatcher.market is not None
    if rep.hire_t > env.now:
        yield timeout(rep.hire_t - env.now)
    while True:
        now = env.now
        if not always_open and not is_working(now):
            yield timeout(calendar.next_working(now) - now)
            drain()  # a shift starts: capacity appears
            continue
        if hoards:
            dispatcher.market.top_up(rep)  # a hoarder restocks before its next lead
        lead = next_lead()
        if lead is None:
            market = dispatcher.market
            if market is not None and market.claim(rep):
                continue  # claimed from the marketplace: now in the queue
            rep.wake = env.event()
            yield rep.wake
            continue
        lead_id, arrived = lead.lead_id, lead.arrived
        lead.first_touch, lead.touch_rep = now, index
        lead.first_touch_business = now - arrived if always_open else worked_between(arrived, now)
        record((now, started, lead_id, index, now - arrived))
        # A touch that starts in working time runs to completion (it may overrun the shift).
        duration = draw_touch()
        yield timeout(duration)
        rep.busy_hours += duration
        rep.touches += 1
        end = env.now
        record((end, completed, lead_id, index, duration))
        p = lead.qualify_probability = odds(lead)
        lead.qualified = won = int(lead.u_qualify < p)
        record((end, qualified if won else disqualified, lead_id, index, p))
        if won and pipeline is not None:
            pipeline.open(lead, rep)
        release(rep)
        drain()


def run(
    scenario: Scenario, policy: PolicyBase | None = None, seed: int | Sequence[int] = 0
) -> RunResult:
    """Simulate *scenario* under *policy* (default: the source's defaults) with *seed*."""
    policy = policy if policy is not None else default_policy()
    gate = IntakeGate(scenario, policy)  # with intake.strict_channels: ConfigError, no run
    streams = Streams(seed)
    env = simpy.Environment()
    reps = build_team(scenario, streams)
    scorer = SCORERS.build(policy.scoring)
    router = ROUTERS.build(policy.routing, reps, streams.get("routing"), start=scenario.start)
    try:
        allocation = Allocation(policy.allocation, reps, scenario.start)
    except ValueError as exc:
        raise ConfigError(f"policy {policy.name}: allocation: {exc}") from None
    log = EventLog(LEAD_EVENTS)
    fifo = scenario.team.queue_discipline == "fifo"
    dispatcher = Dispatcher(env, reps, router, log, policy.sla, fifo, allocation)
    market = None
    if policy.marketplace.enabled:
        market = Market(
            env,
            reps,
            policy.marketplace,
            scenario.team.cherry_picking,
            streams.get("marketplace"),
            log,
            dispatcher.assign,
        )
        dispatcher.attach_market(market, policy.marketplace)
    factory = LeadFactory(scenario.leads, scorer, streams)
    source = arrival_source(scenario.arrivals, scenario.start)  # e.g. a replay of imports
    if source is None:
        times = arrival_times(scenario.arrivals, scenario.start, streams.get("arrivals"))
    else:
        times, factory = source.times(), source.lead_factory(factory)
    leads: list[Lead] = []
    horizon = scenario.horizon_hours
    env.process(_arrivals(env, horizon, times, factory, leads, dispatcher, log, gate))
    odds = _qualification_odds(scenario)
    pipeline = Pipeline.for_run(env, scenario, policy, streams)  # None without `process:`
    if pipeline is not None and allocation.learns_cycles:
        pipeline.on_won = allocation.note_won_deal  # capability match from won deals
    for rep in reps:
        env.process(_rep_work(env, rep, odds, dispatcher, log, pipeline))
    with _cyclic_gc_paused():  # the result tables only add objects too
        env.run(until=scenario.horizon_hours)
        return build_result(
            scenario, policy, streams.seed, log, leads, reps, dispatcher, gate, market, pipeline
        )
