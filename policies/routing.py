"""Routing: which eligible rep receives a lead.

The engine decides who is *eligible* (hired, on a working day, below the open-lead cap,
has not lost this lead before) and passes those reps as ``candidates``; a router only
picks one of them.  A router instance lives for one run and keeps its own state (the
rotation pointer), so it is a plain object that tests drive without SimPy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict

from policies.registry import Registry

__all__ = [
    "ROUTERS",
    "LeastLoaded",
    "LeastLoadedParams",
    "RepSlot",
    "RoundRobin",
    "RoundRobinParams",
    "Router",
]

ROUTERS: Registry = Registry("router")


class RepSlot(Protocol):
    """What a router may read about a candidate rep."""

    index: int  # position in the team, 0..n-1
    rep_id: str
    region: str
    open_leads: int


class Router(Protocol):
    """A routing policy instance for one run.

    Built by ``ROUTERS.build(params, team, rng)``: *team* is the whole team in index
    order, *rng* the run's routing stream (the only randomness a router may use).
    """

    def choose(self, lead: object, candidates: Sequence[RepSlot], now: float) -> RepSlot:
        """Pick one of the non-empty *candidates* for *lead* at time *now* (hours)."""
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
    """

    def __init__(
        self, params: BaseModel, team: Sequence[RepSlot], rng: np.random.Generator
    ) -> None:
        team_size = len(team)
        if team_size < 1:
            raise ValueError("round robin needs a team of at least one rep")
        self.params = params
        order = rng.permutation(team_size)
        self._order: list[int] = order.tolist()  # rep index at each rotation position
        self._position = np.empty(team_size, dtype=np.int64)
        self._position[order] = np.arange(team_size)
        self._n = team_size
        self._last = team_size - 1  # position of the rep who received the previous lead

    def choose(self, lead: object, candidates: Sequence[RepSlot], now: float) -> RepSlot:
        """The first candidate after the last recipient in rotation order."""
        if not candidates:
            raise ValueError("choose() needs at least one candidate")
        by_index = {rep.index: rep for rep in candidates}
        order, n = self._order, self._n
        # Walk the rotation from the turn: the first candidate met is the one to pick.
        for step in range(1, n + 1):
            position = (self._last + step) % n
            rep = by_index.get(order[position])
            if rep is not None:
                self._last = position
                return rep
        raise ValueError("candidates are not members of the team")

    def _turn(self, rep: RepSlot) -> int:
        """Distance of *rep* from the turn: 0 for the next rep in rotation."""
        return int((self._position[rep.index] - self._last - 1) % self._n)


class LeastLoadedParams(BaseModel):
    """Least loaded: no parameters beyond its name."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Literal["least_loaded"] = "least_loaded"


@ROUTERS.register("least_loaded", LeastLoadedParams)
class LeastLoaded(RoundRobin):
    """The candidate with the fewest open leads; ties go by round-robin turn."""

    def choose(self, lead: object, candidates: Sequence[RepSlot], now: float) -> RepSlot:
        """Fewest open leads first, then the rotation's turn order."""
        if not candidates:
            raise ValueError("choose() needs at least one candidate")
        best = min(candidates, key=lambda rep: (rep.open_leads, self._turn(rep)))
        self._last = int(self._position[best.index])
        return best
