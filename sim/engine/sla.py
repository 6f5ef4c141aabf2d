"""SLA deadline monitors that keep the SimPy event heap constant.

SimPy cannot cancel a timeout, so one timeout per waiting lead and step would fill the
heap with stale events.  Instead every (ladder step, calendar) pair gets one monitor
(an event callback, not a generator) over a FIFO deque of deadlines.  For a fixed step
and calendar the deadline is a non-decreasing function of the assignment time
(``add_working_hours`` is monotone), so deadlines are appended in the order they fall
due: the head of the deque is always the earliest, and each monitor has at most one
pending timeout.  Entries whose lead has
since been touched or reassigned are simply discarded when they come due.

The business clock counts the team calendar (``clock_calendar: team``, the default): the
shared calendar a rep is given by name, so every rep of that calendar feeds one monitor
per step, leave or not.  With ``clock_calendar: rep`` a rep with leave has a calendar (and
key) of their own, hence monitors of their own; FIFO holds per calendar either way, and
the calendar clock needs one monitor per step for everyone.

With ``leave_reclaims`` (the team clock's default), a rep's leave reclaims the untouched
leads they hold at each time it begins: one process per rep with leave, sleeping from one
start to the next, so a handful of events per run and none for a team without leave.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

import simpy

from policies.sla import SlaLadder, SlaStep, due_action
from sim.engine.entities import Lead, Rep

__all__ = ["DeadlineMonitor", "SlaBreaker"]


class DeadlineMonitor:
    """Calls ``on_due(lead, assignment, rep_index)`` when each FIFO deadline passes.

    Not a SimPy process but a callback on the one event it waits for (a timeout until
    the head deadline, or a wake-up when the queue is empty): the same events at the same
    moments as the generator it replaced (its start is still a process start, which
    ends at once), without a generator to resume for each.
    """

    def __init__(self, env: simpy.Environment, on_due: Callable[[Lead, int, int], None]):
        self._env = env
        self._on_due = on_due
        self._queue: deque[tuple[float, Lead, int, int]] = deque()
        self._wake: simpy.Event | None = None
        self._check = self._check  # bound once: appended to an event per wait
        env.process(self._start())

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, deadline: float, lead: Lead, assignment: int, rep_index: int) -> None:
        """Watch *deadline* for this assignment of *lead*."""
        queue = self._queue
        # Invariant: deadlines are appended in non-decreasing order.
        if queue and deadline < queue[-1][0]:
            raise AssertionError(f"deadline {deadline} before queued {queue[-1][0]}")
        queue.append((deadline, lead, assignment, rep_index))
        if self._wake is not None:
            self._wake.succeed()
            self._wake = None

    def _start(self):
        """The first look at the queue, at creation time once the caller has added to it
        (a process start: the same urgent event as the monitor's scheduling always had)."""
        self._check()
        return
        yield  # a generator, for env.process

    def _check(self, _event: simpy.Event | None = None) -> None:
        """Act on every due deadline, then wait for the next one (or for an add)."""
        env, queue = self._env, self._queue
        now = env.now
        while queue:
            deadline, lead, assignment, rep_index = queue[0]
            if deadline > now:
                env.timeout(deadline - now).callbacks.append(self._check)
                return
            queue.popleft()
            self._on_due(lead, assignment, rep_index)
        self._wake = env.event()
        self._wake.callbacks.append(self._check)


class SlaBreaker:
    """Arms the ladder's deadlines at each assignment and applies due actions."""

    def __init__(
        self,
        env: simpy.Environment,
        ladder: SlaLadder,
        remind: Callable[[Lead, SlaStep], None],
        reclaim: Callable[[Lead, SlaStep], None],
    ) -> None:
        self._env = env
        self._ladder = ladder
        self._business = ladder.clock == "business"
        self._team_clock = ladder.clock_calendar == "team"
        self._actions = {"remind": remind, "reclaim": reclaim}
        self._monitors: dict[tuple[int, str], DeadlineMonitor] = {}
        # Per monitor key: (hours after assignment, the monitor's add) of every step.
        self._adders: dict[str, list[tuple[float, Callable[[float, Lead, int, int], None]]]] = {}

    def watch_leave(self, reps: Iterable[Rep], on_leave: Callable[[Rep], None]) -> None:
        """Call ``on_leave(rep)`` at each ``rep.leave_starts`` (if the ladder's
        ``leave_reclaims``)."""
        if not self._ladder.leave_reclaims:
            return
        for rep in reps:
            if rep.leave_starts:
                self._env.process(self._leave(rep, on_leave))

    def _leave(self, rep: Rep, on_leave: Callable[[Rep], None]):
        env = self._env
        for t in rep.leave_starts:
            yield env.timeout(t - env.now)
            on_leave(rep)

    def _monitor(self, step_index: int, calendar_key: str) -> DeadlineMonitor:
        key = (step_index, calendar_key if self._business else "")
        monitor = self._monitors.get(key)
        if monitor is None:
            step = self._ladder.steps[step_index]
            monitor = self._monitors[key] = DeadlineMonitor(
                self._env, lambda lead, a, r, step=step: self._due(step, lead, a, r)
            )
        return monitor

    def arm(self, lead: Lead, rep: Rep) -> None:
        """Start the ladder for the assignment of *lead* to *rep* made just now."""
        now = self._env.now
        if self._team_clock:
            calendar, key = rep.team_calendar, rep.team_calendar_key
        else:
            calendar, key = rep.calendar, rep.calendar_key
        adders = self._adders.get(key)
        if adders is None:
            adders = self._adders[key] = self._steps_of(key)
        assignment, index = lead.assignment, rep.index
        if self._business:
            add_hours = calendar.add_working_hours
            for hours, add in adders:
                add(add_hours(now, hours), lead, assignment, index)
        else:
            for hours, add in adders:
                add(now + hours, lead, assignment, index)

    def _steps_of(self, key: str) -> list[tuple[float, Callable[[float, Lead, int, int], None]]]:
        """(hours, monitor's add) of every step for deadlines on calendar *key*, in ladder
        order; the monitors are created (and start) in that order."""
        return [
            (step.after_hours, self._monitor(i, key).add)
            for i, step in enumerate(self._ladder.steps)
        ]

    def _due(self, step: SlaStep, lead: Lead, assignment: int, rep_index: int) -> None:
        still = lead.rep == rep_index and lead.assignment == assignment
        action = due_action(step, still_assigned=still, touched=lead.touched)
        if action is not None:
            self._actions[action](lead, step)

    def pending(self) -> int:
        """Deadlines still queued (live or stale), for diagnostics."""
        return sum(len(m) for m in self._monitors.values())
