"""The simulation's mutable entities: leads and reps.

Plain slotted dataclasses: the engine mutates them, policies read them (duck-typed
through the protocols in :mod:`policies`), and :mod:`sim.engine.result` turns them into tables
at the end of a run.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import simpy

    from sim.world.calendars import WorkCalendar

__all__ = ["NAN", "Lead", "Rep"]

NAN = math.nan


@dataclass(slots=True, eq=False)
class Lead:
    """One inbound lead: attributes drawn at arrival, then its routing history."""

    lead_id: int
    arrived: float
    channel: str
    region: str
    industry: str
    budget_band: str
    budget_confirmed: bool
    authority: bool
    need: str
    timeline_days: float | None
    dwell_seconds: float
    whitepaper: bool
    trial: bool
    u_qualify: float  # drawn at arrival: the same lead qualifies alike under every policy
    customer_id: int | None = None  # drawn at arrival from leads.customer_pool; None: new
    score: int = 0
    grade: str = "C"
    grade_rank: int = 2  # 0 for A; the queue key
    rep: int = -1  # index of the rep holding the lead now, -1 when unassigned
    assignment: int = 0  # bumped on every assignment; SLA deadlines remember theirs
    queue_version: int = 0  # bumped on every (re)queueing; older queue entries are stale
    urgent: bool = False  # reminded by the SLA ladder: worked before the rest of the queue
    first_rep: int = -1
    first_assigned: float = NAN
    assigned: float = NAN
    first_touch: float = NAN
    first_touch_business: float = NAN
    touch_rep: int = -1
    reminders: int = 0
    reclaims: int = 0
    assignments: int = 0
    lost_by: set[int] | None = None  # reps that lost the lead to a reclaim
    qualify_probability: float = NAN
    qualified: int = -1  # -1 not yet decided, 0 no, 1 yes

    @property
    def touched(self) -> bool:
        """True once a rep has started working the lead."""
        return self.first_touch == self.first_touch  # not NaN


@dataclass(slots=True, eq=False)
class Rep:
    """A rep at run time: calendar, capacity, queue of assigned leads and counters."""

    index: int
    rep_id: str
    region: str
    hire_t: float  # hours since scenario start (<= 0 for reps hired before it)
    calendar: WorkCalendar
    calendar_key: str
    max_open: int  # open-lead cap (a very large number when uncapped)
    fifo: bool  # queue order: arrival only, or grade then arrival
    touch: Callable[[], float] | None = None  # draws the next touch duration (hours)
    close_cycle_days: float | None = None  # historical median close cycle (capability)
    opt_out: bool = False  # takes no new leads
    strength: float = 1.0  # relative skill (marketplace claim order)
    claim_filters: object = None  # policies.marketplace.ClaimFilters of the rep
    claim_ahead: int = 0  # claimed-but-unworked leads the rep hoards while busy
    open_leads: int = 0  # assigned and not yet completed, including the one in hand
    queue: list = field(default_factory=list)  # heap of (urgent, grade, arrived, id, ver, lead)
    wake: simpy.Event | None = None  # set while the rep idles waiting for a lead
    leads_assigned: int = 0
    a_leads_assigned: int = 0
    touches: int = 0
    busy_hours: float = 0.0
    leads_lost: int = 0
    reminders: int = 0
    # The shared (team) calendar the rep is given by name, without the rep's own leave,
    # and its key; the same as ``calendar`` / ``calendar_key`` unless the rep has leave.
    team_calendar: WorkCalendar | None = None
    team_calendar_key: str = ""
    # Clock values (midnights) at which a stretch of the rep's leave begins, ascending.
    leave_starts: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.team_calendar is None:
            self.team_calendar, self.team_calendar_key = self.calendar, self.calendar_key

    def held_untouched(self) -> list[Lead]:
        """The untouched leads assigned to the rep now, in the order it would work them."""
        index = self.index
        return [
            entry[5]
            for entry in sorted(self.queue, key=lambda e: e[:5])  # one live entry per lead
            if entry[5].rep == index and entry[5].queue_version == entry[4] and not entry[5].touched
        ]

    def enqueue(self, lead: Lead) -> None:
        """Put *lead* in the work queue (again, if it was already there: older entry is stale)."""
        lead.queue_version += 1
        grade = 0 if self.fifo else lead.grade_rank
        key = (0 if lead.urgent else 1, grade, lead.arrived, lead.lead_id, lead.queue_version)
        heapq.heappush(self.queue, (*key, lead))

    def next_lead(self) -> Lead | None:
        """Pop the most urgent live lead of the queue, discarding stale entries."""
        queue, index = self.queue, self.index
        while queue:
            entry = heapq.heappop(queue)
            lead = entry[5]
            if lead.rep == index and lead.queue_version == entry[4] and not lead.touched:
                return lead
        return None
