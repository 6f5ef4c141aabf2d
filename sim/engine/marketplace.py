"""The marketplace mechanism: posted leads wait until a rep claims one.

A rep claims in working time, below the open-lead cap and the daily claim limit, when
idle (empty queue) or, if it hoards (``claim_ahead`` > 0), while it holds at most
``claim_ahead`` open leads: a hoarder keeps that many claimed leads waiting in its queue.
A newly posted lead is offered to the reps who want one at once - strongest first when
the team cherry-picks, else in a seeded random order - and a rep who falls idle, or a
hoarder about to pick its next lead, looks at the market.  The choice of lead is pure policy
code (:func:`policies.marketplace.pick`); with probability ``cherry_picking`` a claim
takes the best-scored match instead of the oldest.  Leads the policy forbids the rep to
claim (an A-lead beyond a new rep's newbie-protection share) are not offered to it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import simpy

from policies.marketplace import MarketplaceParams, claim_reason, pick
from sim.engine.entities import Lead, Rep
from sim.engine.event_log import Kind
from sim.events import EventLog

__all__ = ["Market"]


class Market:
    """Posted leads and the claims made on them during one run."""

    def __init__(
        self,
        env: simpy.Environment,
        reps: Sequence[Rep],
        params: MarketplaceParams,
        cherry_picking: float,
        rng: np.random.Generator,
        log: EventLog,
        assign: Callable[[Lead, Rep], None],
    ) -> None:
        self._env, self._reps, self._params, self._log = env, list(reps), params, log
        self._cherry, self._rng, self._assign = cherry_picking, rng, assign
        self._posted: list[Lead] = []
        self._claims: dict[int, tuple[int, int]] = {}  # rep index -> (day, claims that day)
        self.reasons: dict[int, str] = {}  # lead id -> claim reason
        self._by_strength = sorted(self._reps, key=lambda rep: (-rep.strength, rep.index))
        # The policy's say on claims (newbie protection): guard(lead, rep, now) is False
        # for a lead *rep* may not claim now.  None: every lead may be claimed.
        self.guard: Callable[[Lead, Rep, float], bool] | None = None

    def __len__(self) -> int:
        return len(self._posted)

    def posted_leads(self) -> list[Lead]:
        """Leads still waiting in the market."""
        return list(self._posted)

    def post(self, lead: Lead) -> None:
        """Put *lead* in the market and offer it to the idle reps."""
        self._posted.append(lead)
        self._log.record((self._env.now, Kind.lead_posted, lead.lead_id, -1, lead.score))
        for rep in self._claim_order():
            if not self._posted:
                return
            if rep.wake is not None or self._hoards(rep):  # idle, or keeping a stock
                self.claim(rep)

    @staticmethod
    def _hoards(rep: Rep) -> bool:
        """Whether *rep* wants another lead in stock (it holds <= claim_ahead open leads)."""
        return rep.claim_ahead > 0 and rep.open_leads <= rep.claim_ahead

    def top_up(self, rep: Rep) -> None:
        """Let a hoarding *rep* claim until it holds ``claim_ahead`` + 1 open leads, the
        market has nothing it wants, or a limit stops it."""
        while self._hoards(rep) and self.claim(rep):
            pass

    def _claim_order(self) -> list[Rep]:
        if self._cherry > 0:  # the strong claim first
            return self._by_strength
        return [self._reps[i] for i in self._rng.permutation(len(self._reps))]

    def _may_claim(self, rep: Rep) -> bool:
        now, limit = self._env.now, self._params.claim_limit_per_day
        if rep.open_leads >= rep.max_open or rep.hire_t > now or rep.opt_out:
            return False
        if not rep.calendar.is_working(now):
            return False
        if limit is not None:
            day, count = self._claims.get(rep.index, (-1, 0))
            if day == int(now // 24) and count >= limit:
                return False
        return True

    def claim(self, rep: Rep) -> bool:
        """Let *rep* claim one lead if allowed and one matches; True when it did."""
        if not self._posted or not self._may_claim(rep):
            return False
        eligible = [
            lead for lead in self._posted if not lead.lost_by or rep.index not in lead.lost_by
        ]
        if self.guard is not None:
            guard, now = self.guard, self._env.now
            eligible = [lead for lead in eligible if guard(lead, rep, now)]
        cherry = bool(self._cherry > 0 and self._rng.random() < self._cherry)
        lead = pick(eligible, rep.claim_filters, cherry)
        if lead is None:
            return False
        self._posted.remove(lead)
        now = self._env.now
        day, count = self._claims.get(rep.index, (-1, 0))
        self._claims[rep.index] = (int(now // 24), count + 1 if day == int(now // 24) else 1)
        self.reasons[lead.lead_id] = claim_reason(lead, rep.claim_filters, cherry)
        self._log.record((now, Kind.lead_claimed, lead.lead_id, rep.index, float(cherry)))
        self._assign(lead, rep)
        return True
