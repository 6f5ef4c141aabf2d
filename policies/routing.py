"""Routing: which eligible rep receives a lead.

The engine decides who is *eligible* (hired, on a working day, below the open-lead cap,
has not lost this lead before) and passes those reps as ``candidates``; a router only
picks one of them.  A router instance lives for one run and keeps its own state (the
rotation pointer), so it is a plain object that tests drive without SimPy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from policies.registry import Registry

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "ROUTERS",
    "LeastLoaded",
    "LeastLoadedParams",
    "RepSlot",
    "RoundRobin",
    "RoundRobinParams",
    "Router",
    "WeightedRoundRobin",
    "WeightedRoundRobinParams",
]

_SCAN_LIMIT = 16  # candidate lists up to this size are scanned, longer ones indexed
_INDEX = attrgetter("index")

ROUTERS: Registry = Registry("router")

Weight = Callable[[object, "RepSlot"], float] | None


class RepSlot(Protocol):
    """What a router may read about a candidate rep."""

    index: int  # position in the team, 0..n-1
    rep_id: str
    region: str
    open_leads: int


class Router(Protocol):
    """A routing policy instance for one run.

    Built by ``ROUTERS.build(params, team, rng, start=...)``: *team* is the whole team in
    index order, *rng* the run's routing stream (the only randomness a router may use),
    *start* the datetime of clock 0 (for routers that count per calendar period).
    """

    def choose(
        self, lead: object, candidates: Sequence[RepSlot], now: float, weight: Weight = None
    ) -> RepSlot:
        """Pick one of the non-empty *candidates* for *lead* at time *now* (hours).

        *weight(lead, rep)*, when given, is the allocation rules' weight of each candidate
        (always > 0 for candidates); routers that balance by weight use it.
        """
        ...


class RoundRobinParams(BaseModel):
    """Plain round robin: no parameters beyond its name."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Literal["round_robin"] = "round_robin"


@ROUTERS.register("round_robin", RoundRobinParams)
class RoundRobin:
    """Turn order over a rotation of the whole team; ineligible reps are skipped.

    The rotation is a seeded permutation of the team, not the team file's order, so no
    rep (typically the longest-serving one listed first) wins every tie.  The turn moves
    past the rep who received the lead; a skipped rep keeps its place in the rotation.

    ``uses_weights`` tells the policy model whether a router balances by the allocation
    weights; a policy giving weights to one that does not is refused (a plug-in router
    without the attribute is assumed to use them).
    """

    uses_weights = False

    def __init__(
        self,
        params: BaseModel,
        team: Sequence[RepSlot],
        rng: np.random.Generator,
        start: dt.datetime | None = None,
    ) -> None:
        import numpy as np  # here, not at module level: validating a policy needs none

        team_size = len(team)
        if team_size < 1:
            raise ValueError("round robin needs a team of at least one rep")
        self.params = params
        order = rng.permutation(team_size)
        self._order: list[int] = order.tolist()  # rep index at each rotation position
        self._position = np.empty(team_size, dtype=np.int64)
        self._position[order] = np.arange(team_size)
        self._position_of: list[int] = self._position.tolist()  # fast scalar access
        self._n = team_size
        self._last = team_size - 1  # position of the rep who received the previous lead
        # The index of the last *tuple* of candidates: a caller that passes the same tuple
        # again (the engine's cached list of available reps) is not indexed again.
        self._indexed_for: tuple | None = None
        self._indexed: dict[int, RepSlot] = {}

    def choose(
        self, lead: object, candidates: Sequence[RepSlot], now: float, weight: Weight = None
    ) -> RepSlot:
        """The first candidate after the last recipient in rotation order (weights unused)."""
        if not candidates:
            raise ValueError("choose() needs at least one candidate")
        position, last, n = self._position_of, self._last, self._n
        if len(candidates) > _SCAN_LIMIT:
            # Many candidates: index them (in C), then walk the rotation from the turn;
            # the walk usually stops after a step or two.  A tuple cannot change, so the
            # index of the same tuple object is reused (it is held, so its id stays its own).
            if candidates is self._indexed_for:
                by_index = self._indexed
            else:
                by_index = dict(zip(map(_INDEX, candidates), candidates, strict=True))
                if type(candidates) is tuple:
                    self._indexed_for, self._indexed = candidates, by_index
            order = self._order
            for step in range(1, n + 1):
                rep = by_index.get(order[(last + step) % n])
                if rep is not None:
                    self._last = (last + step) % n
                    return rep
            raise ValueError("candidates are not members of the team")
        # Few candidates: the one nearest after the turn in rotation order.
        best, best_distance = None, n
        try:
            for rep in candidates:
                distance = (position[rep.index] - last - 1) % n
                if distance < best_distance:
                    best, best_distance = rep, distance
        except IndexError:
            best = None
        if best is None:
            raise ValueError("candidates are not members of the team")
        self._last = position[best.index]
        return best

    def _turn(self, rep: RepSlot) -> int:
        """Distance of *rep* from the turn: 0 for the next rep in rotation."""
        return (self._position_of[rep.index] - self._last - 1) % self._n


class LeastLoadedParams(BaseModel):
    """Least loaded: no parameters beyond its name."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Literal["least_loaded"] = "least_loaded"


@ROUTERS.register("least_loaded", LeastLoadedParams)
class LeastLoaded(RoundRobin):
    """The candidate with the fewest open leads; ties go by round-robin turn."""

    def choose(
        self, lead: object, candidates: Sequence[RepSlot], now: float, weight: Weight = None
    ) -> RepSlot:
        """Fewest open leads first, then the rotation's turn order (weights unused)."""
        if not candidates:
            raise ValueError("choose() needs at least one candidate")
        best = min(candidates, key=lambda rep: (rep.open_leads, self._turn(rep)))
        self._last = self._position_of[best.index]
        return best


class WeightedRoundRobinParams(BaseModel):
    """Weighted round robin in either balance mode that routing products offer."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Literal["weighted_round_robin"] = "weighted_round_robin"
    balance: Literal["turn_order", "lowest_count"] = "turn_order"
    period: Literal["day", "week", "month"] = "month"


class _Pool:
    """The balance state of one grade pool: credits (turn order) or tags (lowest count)."""

    __slots__ = ("credit", "ref", "seen", "start_tag", "tag")

    def __init__(self, team_size: int) -> None:
        self.credit = [0.0] * team_size  # smooth weighted round robin
        self.tag = [0.0] * team_size  # lowest count: assignments / weight, carried over
        self.start_tag = [0.0] * team_size  # tag when first seen in the current period
        self.seen: list[object] = [None] * team_size  # period the rep was last a candidate
        self.ref = [0.0] * team_size  # lowest tag of the last pick the rep was a candidate in


@ROUTERS.register("weighted_round_robin", WeightedRoundRobinParams)
class WeightedRoundRobin(RoundRobin):
    """Round robin where each rep's share follows its weight.

    Each lead grade is its own pool with its own balance (DOMAIN.md 1.3): a rep's weight
    for A-leads (capability match) moves its share of the A-leads only, and the B- and
    C-leads are split by the base weights whatever order the grades arrive in.

    ``turn_order``: smooth weighted round robin (as in nginx): every pick adds each
    candidate's weight to its credit, the highest credit wins and pays the total back;
    over any run of picks each rep's share tracks its weight, without bursts.
    ``lowest_count``: the candidate with the fewest assignments relative to weight,
    counted per calendar ``period``: a rep away for part of the period (leave, a cap, a
    hire) catches up on that period when back, and a deficit from earlier periods is
    forgiven.  The fraction of a lead that the period boundary falls on is carried over
    rather than reset, so long-run shares equal the weights (a reset would hand the
    ties at each period's start to the rotation and short the heaviest rep).
    Ties go by the seeded rotation, never by team order.
    """

    uses_weights = True

    def __init__(self, params: WeightedRoundRobinParams, team, rng, start=None) -> None:
        super().__init__(params, team, rng, start)
        self._pools: dict[object, _Pool] = {}
        self._count: list[tuple[object, int]] = [(None, 0)] * len(team)
        self._lowest = params.balance == "lowest_count"
        origin = start or dt.datetime(2000, 1, 3)
        self._origin = dt.datetime.combine(origin.date(), dt.time())
        self._offset = (origin - self._origin).total_seconds() / 3600

    def _period(self, now: float) -> object:
        day = int((now + self._offset) // 24)
        if self.params.period == "day":
            return day
        date = self._origin.date() + dt.timedelta(days=day)
        if self.params.period == "week":
            return date.isocalendar()[:2]
        return date.year, date.month

    def period_count(self, rep: RepSlot, now: float) -> int:
        """Assignments *rep* received in the period containing *now* (all grades)."""
        period, count = self._count[rep.index]
        return count if period == self._period(now) else 0

    def _pool(self, lead: object) -> _Pool:
        grade = getattr(lead, "grade", None)
        pool = self._pools.get(grade)
        if pool is None:
            pool = self._pools[grade] = _Pool(self._n)
        return pool

    def choose(
        self, lead: object, candidates: Sequence[RepSlot], now: float, weight: Weight = None
    ) -> RepSlot:
        """The candidate the balance mode picks in the lead's grade pool."""
        if not candidates:
            raise ValueError("choose() needs at least one candidate")
        weights = [weight(lead, rep) if weight else 1.0 for rep in candidates]
        pool = self._pool(lead)
        period = self._period(now)
        if self._lowest:
            best = self._lowest_count(pool, candidates, weights, period)
        else:
            best = self._smooth(pool, candidates, weights)
        old, count = self._count[best.index]
        self._count[best.index] = (period, count + 1 if old == period else 1)
        self._last = self._position_of[best.index]
        return best

    def _smooth(self, pool: _Pool, candidates: Sequence[RepSlot], weights: list[float]) -> RepSlot:
        credit = pool.credit
        for rep, w in zip(candidates, weights, strict=True):
            credit[rep.index] += w
        best = max(candidates, key=lambda rep: (credit[rep.index], -self._turn(rep)))
        credit[best.index] -= sum(weights)
        return best

    def _lowest_count(
        self, pool: _Pool, candidates: Sequence[RepSlot], weights: list[float], period: object
    ) -> RepSlot:
        tag, seen, start_tag, ref = pool.tag, pool.seen, pool.start_tag, pool.ref
        fresh = [rep for rep in candidates if seen[rep.index] != period]
        if fresh:
            start = min(
                (start_tag[rep.index] for rep in candidates if seen[rep.index] == period),
                default=None,
            )
            if start is None:
                # The period's first pick among these reps: each keeps the fraction of a
                # lead it was ahead of its competitors when last among them, and any
                # deficit from earlier periods (away, capped) is forgiven.
                base = max(ref[rep.index] for rep in fresh)
                for rep in fresh:
                    i = rep.index
                    tag[i] += base - ref[i]
            for rep in fresh:
                i = rep.index
                if start is not None and tag[i] < start:
                    # First seen after the others this period (back from leave, hired):
                    # level with where they stood when the period began, so it catches
                    # up on this period only.
                    tag[i] = start
                seen[i], start_tag[i] = period, tag[i]
        # The lowest count relative to weight, counting the lead being given as half a
        # lead (Sainte-Lague): of reps level on count / weight the heavier goes first,
        # so no rep drifts more than about a lead from its share.
        best, w = min(
            zip(candidates, weights, strict=True),
            key=lambda cw: (round(tag[cw[0].index] + 0.5 / cw[1], 9), self._turn(cw[0])),
        )
        level = tag[best.index]  # where this competition stands
        for rep in candidates:
            ref[rep.index] = level
        tag[best.index] += 1.0 / w
        return best
