"""Historical assignment: each lead goes to the rep who really got it, when that is known.

The baseline of a backtest is "what really happened": a replayed lead (real time and
attributes, :mod:`sim.history.replay`) carries ``historical_rep``, the ``rep_id`` the
export says got it (a lead's owner, or the rep of its deal).  This router gives the lead
to that rep.  When it cannot, it falls back to a named rule (``fallback``: round robin or
least loaded) and counts why:

- ``unknown``: the lead has no historical rep (the export does not say; Olist, for one,
  records the rep of won deals only);
- ``missing``: the historical rep is not in the scenario's team (the rep ids are listed in
  ``missing_reps``);
- ``unavailable``: the rep is in the team but not among the eligible candidates at that
  moment (not working that day, at the open-lead cap, lost the lead to a reclaim);
  a lead that no rep can take waits in the pool and is routed again when a rep is free,
  so it still reaches its rep if that rep is the one freed.

Pure: no SimPy, no ``sim``; the router sees duck-typed reps (``index``, ``rep_id``) and a
lead with an optional ``historical_rep`` attribute.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from policies.routing import ROUTERS, RepSlot, Weight

if TYPE_CHECKING:
    import numpy as np

__all__ = ["HISTORICAL_REP", "OUTCOMES", "HistoricalAssignment", "HistoricalAssignmentParams"]

HISTORICAL_REP = "historical_rep"
"""The lead attribute naming the rep who really got the lead (``None``: not known)."""

OUTCOMES = ("historical", "unknown", "missing", "unavailable")
"""How a lead was routed: to its historical rep, or by the fallback and why."""


class HistoricalAssignmentParams(BaseModel):
    """The historical assignment router and the rule used when the real rep cannot be."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Literal["historical_assignment"] = "historical_assignment"
    fallback: Literal["round_robin", "least_loaded"] = "round_robin"


@ROUTERS.register("historical_assignment", HistoricalAssignmentParams)
class HistoricalAssignment:
    """Give each lead to its ``historical_rep`` when eligible; else the ``fallback`` rule.

    ``counts`` holds, per outcome of :data:`OUTCOMES`, the number of routing decisions
    (a lead routed twice, after a reclaim, counts twice); ``missing_reps`` the historical
    rep ids that are not in the team.
    """

    uses_weights = False

    def __init__(
        self,
        params: HistoricalAssignmentParams,
        team: Sequence[RepSlot],
        rng: np.random.Generator,
        start: dt.datetime | None = None,
    ) -> None:
        self.params = params
        self._index = {rep.rep_id: rep.index for rep in team}
        fallback = ROUTERS.params_model(params.fallback)()
        self.fallback = ROUTERS.build(fallback, team, rng, start=start)
        self.counts: Counter[str] = Counter({outcome: 0 for outcome in OUTCOMES})
        self.missing_reps: set[str] = set()

    def choose(
        self, lead: object, candidates: Sequence[RepSlot], now: float, weight: Weight = None
    ) -> RepSlot:
        """The lead's historical rep if it is a candidate, else the fallback's pick."""
        if not candidates:
            raise ValueError("choose() needs at least one candidate")
        rep_id = getattr(lead, HISTORICAL_REP, None)
        if rep_id is None:
            outcome = "unknown"
        elif rep_id not in self._index:
            outcome = "missing"
            self.missing_reps.add(rep_id)
        else:
            index = self._index[rep_id]
            for rep in candidates:
                if rep.index == index:
                    self.counts["historical"] += 1
                    return rep
            outcome = "unavailable"
        self.counts[outcome] += 1
        return self.fallback.choose(lead, candidates, now, weight)
