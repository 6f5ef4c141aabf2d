"""One run: a scenario under a policy with a seed, simulated with SimPy.

The processes are event callbacks rather than generators: the arrivals, one per rep,
and the SLA monitors owned by the dispatcher.  Each schedules the same SimPy events a
generator would (its start is still a process start), and calls its next step directly
when one fires, without a generator to resume per event.  The environment owns the
clock (hours since the scenario start); everything else is an entity the processes
mutate and an event log they append to.
"""

from __future__ import annotations

import gc
import math
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


class _Arrivals:
    """Leads arrive at *times*, pass intake, are graded, then routed (or dropped, never
    routed).

    Event callbacks rather than a generator process: each arrival's timeout calls
    :meth:`_arrive`, which handles the lead and schedules the next arrival.  The same
    timeouts, created at the same moments, as the generator this replaced (its start is
    still a process start), without a generator to resume per lead.
    """

    def __init__(
        self,
        env,
        horizon: float,
        times: Iterable[float],
        factory: LeadFactory,
        leads: list[Lead],
        dispatcher,
        log: EventLog,
        gate: IntakeGate,
    ) -> None:
        self._env, self._horizon, self._times = env, horizon, iter(times)
        self._timeout, self._draw, self._grade = env.timeout, factory.draw, factory.grade
        self._keep = leads.append
        self._admit = gate.admit if gate.active else None
        self._record, self._settle, self._route = log.record, log.settle, dispatcher.route
        self._arrive = self._arrive  # bound once: appended to a timeout per lead
        env.process(self._start())

    def _start(self):
        """Schedule the first arrival (a process start, as the generator's was)."""
        self._next()
        return
        yield  # a generator, for env.process

    def _next(self) -> None:
        """Schedule the next arrival, unless it falls at or after the horizon."""
        for t in self._times:
            if t < self._horizon:
                self._timeout(t - self._env.now).callbacks.append(self._arrive)
            return

    def _arrive(self, _event) -> None:
        t = self._env.now  # the clock's value, so a touch at this instant waits exactly 0
        lead = self._draw(t)
        self._keep(lead)
        # Intake fills channel defaults before grading: the defaults earn their points.
        admit = self._admit
        dropped = admit(lead) if admit is not None else None
        self._grade(lead)
        self._settle()
        record = self._record
        record((t, _ARRIVED, lead.lead_id, -1, lead.score))
        if dropped is not None:
            record((t, _DROPPED, lead.lead_id, -1, dropped))
        else:
            self._route(lead)
        self._next()


_ARRIVED, _DROPPED = Kind.lead_arrived, Kind.lead_dropped


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


class _RepWork:
    """A rep's day: work the queue during working time, idle otherwise; a lead that
    qualifies opens an opportunity when the scenario has a process model.

    Event callbacks rather than a generator process (like the SLA monitors): the same
    events at the same moments as the generator this replaced (its start is still a
    process start), each calling the next step of the rep's loop directly.
    """

    def __init__(
        self,
        env,
        rep: Rep,
        odds: Callable[[Lead], float],
        dispatcher: Dispatcher,
        log: EventLog,
        pipeline: Pipeline | None = None,
    ) -> None:
        calendar = rep.calendar
        self._env, self._rep, self._odds, self._pipeline = env, rep, odds, pipeline
        self._dispatcher, self._record, self._timeout = dispatcher, log.record, env.timeout
        self._worked_between = calendar.working_hours_between
        self._working_interval = calendar.working_interval
        self._next_lead, self._draw_touch = rep.next_lead, rep.touch
        self._drain, self._release = dispatcher.drain, dispatcher.release
        self._always_open = isinstance(calendar, AlwaysOpen)  # skip calendar calls
        self._hoards = rep.claim_ahead > 0 and dispatcher.market is not None
        # The shift [shift_from, shift_to) that contains the clock or comes next: the
        # clock never goes back, so it stays the answer until shift_to, without asking
        # the calendar.
        if self._always_open:
            self._shift_from, self._shift_to = 0.0, math.inf
        else:
            self._shift_from, self._shift_to = math.inf, -math.inf
        self._lead: Lead | None = None  # the lead in hand during a touch
        self._touch = 0.0  # that touch's duration
        # Bound once: each is appended to an event per lead or per shift.
        self._resume, self._after_touch = self._resume, self._after_touch
        self._shift_starts = self._shift_starts
        env.process(self._start())

    def _start(self):
        """Sleep until the hire date, or look at the queue (a process start, as the
        generator's was)."""
        env, rep = self._env, self._rep
        if rep.hire_t > env.now:
            self._timeout(rep.hire_t - env.now).callbacks.append(self._resume)
        else:
            self._resume()
        return
        yield  # a generator, for env.process

    def _shift_starts(self, _event) -> None:
        self._drain()  # a shift starts: capacity appears
        self._resume()

    def _resume(self, _event=None) -> None:
        """Take the next lead and start touching it; else wait for a shift or a lead."""
        env, rep = self._env, self._rep
        while True:
            now = env.now
            if now >= self._shift_to:
                self._shift_from, self._shift_to = self._working_interval(now)
            if now < self._shift_from:  # off shift: sleep until it starts
                self._timeout(self._shift_from - now).callbacks.append(self._shift_starts)
                return
            if self._hoards:
                self._dispatcher.market.top_up(rep)  # a hoarder restocks before its next lead
            lead = self._next_lead()
            if lead is not None:
                break
            market = self._dispatcher.market
            if market is not None and market.claim(rep):
                continue  # claimed from the marketplace: now in the queue
            rep.wake = wake = env.event()
            wake.callbacks.append(self._resume)
            return
        arrived, index = lead.arrived, rep.index
        lead.first_touch, lead.touch_rep = now, index
        if self._always_open:
            lead.first_touch_business = now - arrived
        else:
            lead.first_touch_business = self._worked_between(arrived, now)
        self._record((now, _STARTED, lead.lead_id, index, now - arrived))
        # A touch that starts in working time runs to completion (it may overrun the shift).
        duration = self._draw_touch()
        self._lead, self._touch = lead, duration
        self._timeout(duration).callbacks.append(self._after_touch)

    def _after_touch(self, _event) -> None:
        rep, lead, duration = self._rep, self._lead, self._touch
        self._lead = None
        rep.busy_hours += duration
        rep.touches += 1
        end, lead_id, index, record = self._env.now, lead.lead_id, rep.index, self._record
        record((end, _COMPLETED, lead_id, index, duration))
        p = lead.qualify_probability = self._odds(lead)
        lead.qualified = won = int(lead.u_qualify < p)
        record((end, _QUALIFIED if won else _DISQUALIFIED, lead_id, index, p))
        if won and self._pipeline is not None:
            self._pipeline.open(lead, rep)
        self._release(rep)
        self._drain()
        self._resume()


_STARTED, _COMPLETED = Kind.touch_started, Kind.touch_completed
_QUALIFIED, _DISQUALIFIED = Kind.lead_qualified, Kind.lead_disqualified


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
    _Arrivals(env, horizon, times, factory, leads, dispatcher, log, gate)
    odds = _qualification_odds(scenario)
    pipeline = Pipeline.for_run(env, scenario, policy, streams)  # None without `process:`
    if pipeline is not None and allocation.learns_cycles:
        pipeline.on_won = allocation.note_won_deal  # capability match from won deals
    for rep in reps:
        _RepWork(env, rep, odds, dispatcher, log, pipeline)
    with _cyclic_gc_paused():  # the result tables only add objects too
        env.run(until=scenario.horizon_hours)
        # The attribute columns as drawn, unless replay or intake changed some leads'.
        drawn = None
        if type(factory) is LeadFactory and not gate.defaulted:
            drawn = factory.drawn_columns(len(leads))
        return build_result(
            scenario,
            policy,
            streams.seed,
            log,
            leads,
            reps,
            dispatcher,
            gate,
            market,
            pipeline,
            drawn,
        )
