"""Lead dispatch: eligibility, routing, the unassigned pool, SLA reminders and reclaims.

Mechanism only: *which* eligible rep gets a lead is the router's decision.  A rep is
eligible for a lead when hired, not opted out, on a working day of their calendar,
below their open-lead cap, and not one who already lost that lead to a reclaim; the
policy's allocation rules (:mod:`policies.allocation`) then narrow and weight them.  A lead with no
eligible rep waits in the pool, which is drained whenever capacity appears (a rep's
shift starts or an open lead is closed or reclaimed).

Customer ownership (``allocation.keep_owner``): when the lead's customer has an owner who
is among the lead's candidates, the owner gets it without asking the router (whose
rotation and period counts then skip that assignment); the assignment is still recorded
with the allocation rules.  Otherwise, including a pooled lead drained while its owner is
unavailable, the router picks as usual.  A marketplace claim is never redirected, but a
customer's first assignment makes its rep the owner whether it was routed or claimed.
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import math
from collections.abc import Sequence
from operator import attrgetter

import simpy

from policies.allocation import Allocation
from policies.marketplace import MarketplaceParams
from policies.routing import Router
from policies.sla import SlaLadder, SlaStep
from sim.engine.entities import Lead, Rep
from sim.engine.event_log import Kind
from sim.engine.marketplace import Market
from sim.engine.sla import SlaBreaker
from sim.events import EventLog
from sim.world.calendars import AlwaysOpen
from sim.world.clock import SimClock

__all__ = ["Dispatcher"]

_INDEX = attrgetter("index")


class Dispatcher:
    """Assigns leads to reps and owns the pool of unassigned leads."""

    def __init__(
        self,
        env: simpy.Environment,
        reps: Sequence[Rep],
        router: Router,
        log: EventLog,
        ladder: SlaLadder,
        fifo_pool: bool,
        allocation: Allocation,
    ) -> None:
        self._env, self._reps, self._router, self._log = env, list(reps), router, log
        self._allocation = allocation
        self._keep_owner = allocation.params.keep_owner
        self._filtering = allocation.active  # False: every eligible rep is a candidate
        # Cache of _available(): valid before _cache_until while no cap was crossed.
        start = self._reps[0].calendar.start if self._reps else dt.datetime(2000, 1, 1)
        self._day0 = SimClock(start).day0  # clock value of day 0
        self._hires = sorted(rep.hire_t for rep in self._reps if rep.hire_t > -math.inf)
        self._cap_changes = 0
        self._all_open = all(isinstance(rep.calendar, AlwaysOpen) for rep in self._reps)
        # Allocation.record only matters to rules and to keep_owner; skip it otherwise.
        self._recording = allocation.active or self._keep_owner
        # No allocation rules and no customer owners: route() asks the router directly.
        self._plain = not (self._filtering or self._keep_owner or self._recording)
        self._weight = allocation.weight  # bound once
        self._cached: tuple[Rep, ...] = ()
        self._cache_until = -math.inf
        self._cache_version = -1
        self.market: Market | None = None  # set by the engine when the policy has one
        self._publish: frozenset[str] = frozenset()
        self._reclaim_to_market = False
        self._fifo_pool = fifo_pool
        self._pool: list[tuple[int, float, int, Lead]] = []
        self._breaker = (
            SlaBreaker(env, ladder, self._remind, self._reclaim) if ladder.enabled else None
        )
        if self._breaker is not None:
            self._breaker.watch_leave(self._reps, self._reclaim_for_leave)

    def attach_market(self, market: Market, params: MarketplaceParams) -> None:
        """Post leads of the published grades (and reclaimed ones) to *market*."""
        self.market = market
        self._publish = frozenset(params.publish_grades)
        self._reclaim_to_market = params.reclaimed_to_market
        if self._allocation.guards_claims:  # newbie protection: claims count too
            market.guard = self._allocation.claim_allowed

    def assign(self, lead: Lead, rep: Rep) -> None:
        """Give *lead* to *rep* now (a marketplace claim; routing goes through route()).

        A claim is not counted against caps, but it counts toward a new rep's newbie
        protection share (the market does not offer a new rep an A-lead beyond it), and
        the first assignment of a customer's lead, claimed or routed, makes its rep the
        owner.
        """
        now = self._env.now
        self._allocation.note_claim(lead, rep, now)
        self._assign(lead, rep, now)

    # -- eligibility -------------------------------------------------------------------
    def _available(self, now: float) -> tuple[Rep, ...]:
        """Reps that could take a lead at *now*, ignoring lead-specific exclusions.

        Cached: the answer can only change at a calendar midnight (working days, leave),
        at a hire, or when a rep reaches or leaves its open-lead cap (``_cap_changes``).
        A tuple, so that a router may index the same object once for many leads.
        """
        if now >= self._cache_until:  # a midnight or a hire has passed: recompute
            day = (now - self._day0) // 24
            i = bisect.bisect_right(self._hires, now)
            next_hire = self._hires[i] if i < len(self._hires) else math.inf
            self._cache_until = min(self._day0 + (day + 1) * 24, next_hire)
            self._cache_version = -1
        if self._cache_version != self._cap_changes:
            self._cached = self._compute_available(now)
            self._cache_version = self._cap_changes
        return self._cached

    def _compute_available(self, now: float) -> tuple[Rep, ...]:
        if self._all_open:  # 24/7 calendars: no working-day question to ask
            return tuple(
                [
                    r
                    for r in self._reps
                    if r.open_leads < r.max_open and r.hire_t <= now and not r.opt_out
                ]
            )
        working_day: dict[str, bool] = {}  # calendars are shared: ask each one once
        available = []
        for rep in self._reps:
            if rep.open_leads >= rep.max_open or rep.hire_t > now or rep.opt_out:
                continue
            ok = working_day.get(rep.calendar_key)
            if ok is None:
                ok = working_day[rep.calendar_key] = rep.calendar.is_working_day(now)
            if ok:
                available.append(rep)
        return tuple(available)

    # -- routing -----------------------------------------------------------------------
    def _candidates(self, lead: Lead, available: Sequence[Rep], now: float) -> Sequence[Rep]:
        """Eligible reps the allocation rules allow for *lead* (never a rep who lost it).

        May return *available* itself: callers never mutate the lists.
        """
        if lead.lost_by is not None:
            lost = lead.lost_by
            available = [rep for rep in available if rep.index not in lost]
        if self._filtering:
            return self._allocation.filter(lead, available, now)
        return available

    def _choose(self, lead: Lead, candidates: Sequence[Rep], now: float) -> Rep:
        """The customer's owner if ``keep_owner`` and it is a candidate, else the router's
        pick; the assignment is recorded for the allocation rules and ownership (when
        either is on)."""
        allocation = self._allocation
        rep = allocation.owner_among(lead, candidates) if self._keep_owner else None
        if rep is None:
            rep = self._router.choose(lead, candidates, now, allocation.weight)
        if self._recording:
            allocation.record(lead, rep, now)
        return rep

    def route(self, lead: Lead) -> None:
        """Post *lead* to the marketplace, or assign it to an eligible rep now, or put it
        in the pool."""
        if self.market is not None and lead.grade in self._publish and not lead.reclaims:
            self.market.post(lead)
            return
        now = self._env.now
        available = self._available(now)
        if self._plain and lead.lost_by is None:  # no rules, no owners, never reclaimed
            if available:
                self._assign(lead, self._router.choose(lead, available, now, self._weight), now)
            else:
                self._to_pool(lead, now)
            return
        candidates = self._candidates(lead, available, now)
        if candidates:
            self._assign(lead, self._choose(lead, candidates, now), now)
        else:
            self._to_pool(lead, now)

    def _to_pool(self, lead: Lead, now: float) -> None:
        rank = 0 if self._fifo_pool else lead.grade_rank
        heapq.heappush(self._pool, (rank, lead.arrived, lead.lead_id, lead))
        excluded = len(lead.lost_by) if lead.lost_by else 0
        self._log.record((now, Kind.lead_pooled, lead.lead_id, -1, excluded))

    def drain(self) -> None:
        """Offer pooled leads, best first, to the reps that have capacity now."""
        if not self._pool:
            return
        now = self._env.now
        available = self._available(now)
        skipped = []
        while self._pool and available:
            entry = heapq.heappop(self._pool)
            lead = entry[3]
            candidates = self._candidates(lead, available, now)
            if not candidates:
                skipped.append(entry)
                continue
            rep = self._choose(lead, candidates, now)
            self._assign(lead, rep, now)
            if rep.open_leads >= rep.max_open:
                available = [r for r in available if r is not rep]
        for entry in skipped:
            heapq.heappush(self._pool, entry)

    def _assign(self, lead: Lead, rep: Rep, now: float) -> None:
        lead.rep = rep.index
        lead.assignment += 1
        lead.assignments += 1
        lead.assigned = now
        if lead.first_rep < 0:
            lead.first_rep, lead.first_assigned = rep.index, now
        rep.open_leads += 1
        if rep.open_leads == rep.max_open:  # the rep leaves the available list
            if self._all_open and self._cache_version == self._cap_changes:
                # 24/7 calendars (caps crossed at every touch, as in M/M/c): the cache stays
                # valid without the rep; elsewhere it is recomputed when next asked.
                self._cached = tuple([r for r in self._cached if r is not rep])
                self._cache_version += 1
            self._cap_changes += 1
        rep.leads_assigned += 1
        rep.a_leads_assigned += lead.grade_rank == 0
        rep.enqueue(lead)
        self._log.record((now, Kind.lead_assigned, lead.lead_id, rep.index, lead.assignment))
        if self._breaker is not None:
            self._breaker.arm(lead, rep)
        if rep.wake is not None:
            rep.wake.succeed()
            rep.wake = None

    def release(self, rep: Rep) -> None:
        """One of *rep*'s open leads is closed (touched to the end) or taken away."""
        rep.open_leads -= 1
        if rep.open_leads == rep.max_open - 1:  # back below the cap: available again
            if self._all_open and self._cache_version == self._cap_changes:
                # 24/7 calendars: the cache stays valid with the rep put back in team
                # order (it was at its cap when the cache was computed, so not in it).
                if rep.hire_t <= self._env.now and not rep.opt_out:
                    cached = self._cached
                    i = bisect.bisect(cached, rep.index, key=_INDEX)
                    self._cached = (*cached[:i], rep, *cached[i:])
                self._cache_version += 1
            self._cap_changes += 1

    # -- SLA actions -------------------------------------------------------------------
    def _remind(self, lead: Lead, step: SlaStep) -> None:
        rep = self._reps[lead.rep]
        lead.reminders += 1
        rep.reminders += 1
        self._log.add(self._env.now, Kind.sla_reminder, lead.lead_id, rep.index, step.after_hours)
        if step.prioritise and not lead.urgent:
            lead.urgent = True
            rep.enqueue(lead)

    def _reclaim(self, lead: Lead, step: SlaStep) -> None:
        self._take_back(lead, self._reps[lead.rep], step.after_hours)
        self.drain()  # the rep who lost the lead has room for a pooled one

    def _reclaim_for_leave(self, rep: Rep) -> None:
        """*rep*'s leave begins: take back every untouched lead they hold (logged with
        value 0, which no SLA step has) and route each again, never to *rep*."""
        held = rep.held_untouched()
        for lead in held:
            self._take_back(lead, rep, 0.0)
        if held:
            self.drain()

    def _take_back(self, lead: Lead, rep: Rep, value: float) -> None:
        """Reclaim *lead* from *rep* (logged with *value*) and post or route it again."""
        self.release(rep)
        rep.leads_lost += 1
        lead.reclaims += 1
        lead.urgent = False
        lead.rep = -1
        if lead.lost_by is None:
            lead.lost_by = set()
        lead.lost_by.add(rep.index)  # never routed back to a rep who lost it
        self._log.add(self._env.now, Kind.lead_reclaimed, lead.lead_id, rep.index, value)
        if self.market is not None and self._reclaim_to_market:
            self.market.post(lead)
        else:
            self.route(lead)

    def pool_size(self) -> int:
        """Leads waiting for an eligible rep."""
        return len(self._pool)

    def pooled_leads(self) -> list[Lead]:
        """The leads still in the pool (for end-of-run tables)."""
        return [entry[3] for entry in self._pool]
