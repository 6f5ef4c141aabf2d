"""Allocation rules stacked on top of a router: who may receive a lead, with what weight.

A policy's ``allocation:`` block composes independent rules, each off unless given:

``newbie_protection``
    During a rep's first ``days`` (default 7) at most ``a_share_max`` (default 15%) of the
    leads they receive are grade A.  Enforced as a hard bound at every assignment: a new
    rep may take an A-lead only if, counting it, A-leads stay within the share.  Leads a
    new rep claims from the marketplace count too, and a claim that would break the bound
    is refused (:meth:`Allocation.claim_allowed`, :meth:`Allocation.note_claim`).
``capability_match``
    Reps whose median close cycle is under ``cycle_days_below`` (default 14) get A-leads
    with weight ``a_weight`` (default x1.3).  The cycle is the rep's ``close_cycle_days``
    attribute, or (``cycle_from: history``) the median of the deals the rep won in the
    run, once it has ``min_deals`` of them.
``rep_weights``
    A base weight per rep id (default 1); weight 0 means "never receives".

Weights (``rep_weights`` other than 0 or 1, and ``capability_match``) need a router that
balances by weight (``weighted_round_robin``, which keeps one balance per grade); a
policy that sets them with ``round_robin`` or ``least_loaded`` is refused when loaded.
``caps``
    At most ``per_day`` / ``per_month`` new assignments per rep (calendar day / month).
``region_match``
    ``strict``: only reps of the lead's region; ``prefer``: those if any is eligible, else
    anyone; ``off``: region is ignored.  Cross-region assignments are a KPI either way.
``grade_pools``
    Per grade, the reps (ids) allowed to receive it, e.g. an A-lead priority pool.
``keep_owner``
    A lead of a customer who already has an owner goes to that owner when the owner is
    among the candidates the engine and the rules above allow for it; otherwise it is
    routed as usual.  The owner of a customer is the rep who received the customer's
    first assigned lead (routed or claimed from the marketplace) and stays the owner for
    the whole run: a reclaim does not move ownership, it only keeps that one lead away
    from the rep who lost it.  Ownership is tracked whether or not the rule is on.

Pure code: the engine passes eligible candidates and the clock; :class:`Allocation`
keeps the per-rep counters and the customer owners it needs (:meth:`record`).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "Allocation",
    "AllocationParams",
    "CapabilityMatch",
    "Caps",
    "NewbieProtection",
    "RepProfile",
]

_STRICT = ConfigDict(extra="forbid", frozen=True)


class RepProfile(Protocol):
    """What allocation rules read about a rep."""

    index: int
    rep_id: str
    region: str
    hire_t: float  # hours since the scenario start; -inf when hired long before
    close_cycle_days: float | None


class RoutedLead(Protocol):
    """What allocation rules read about a lead."""

    grade: str
    region: str


class NewbieProtection(BaseModel):
    """A share bound on A-leads for reps in their first days."""

    model_config = _STRICT
    days: float = Field(7, gt=0)
    a_share_max: float = Field(0.15, ge=0, le=1)


class CapabilityMatch(BaseModel):
    """A-lead weight for fast closers.

    ``cycle_from``: ``attribute`` uses the rep's ``close_cycle_days`` (historical median
    from the scenario); ``history`` uses the median close cycle of the deals the rep has
    won in this run once there are ``min_deals`` of them (the attribute until then).
    """

    model_config = _STRICT
    cycle_days_below: float = Field(14, gt=0)
    a_weight: float = Field(1.3, ge=0)
    cycle_from: Literal["attribute", "history"] = "attribute"
    min_deals: int = Field(3, ge=1)


class Caps(BaseModel):
    """New assignments per rep per calendar day and month (None: no cap)."""

    model_config = _STRICT
    per_day: int | None = Field(None, ge=1)
    per_month: int | None = Field(None, ge=1)


class AllocationParams(BaseModel):
    """The ``allocation:`` block of a policy; every rule is off by default."""

    model_config = _STRICT
    newbie_protection: NewbieProtection | None = None
    capability_match: CapabilityMatch | None = None
    rep_weights: dict[str, float] = Field(default_factory=dict)
    caps: Caps = Caps()
    region_match: Literal["off", "prefer", "strict"] = "off"
    grade_pools: dict[Literal["A", "B", "C"], list[str]] = Field(default_factory=dict)
    keep_owner: bool = False  # a known customer's lead goes to its owner when allowed

    @model_validator(mode="after")
    def _weights(self) -> AllocationParams:
        bad = {rep: w for rep, w in self.rep_weights.items() if not w >= 0}
        if bad:
            raise ValueError(f"rep_weights must be >= 0, got {bad}")
        return self


class Allocation:
    """Applies :class:`AllocationParams` for one run over one team."""

    def __init__(self, params: AllocationParams, team: Sequence[RepProfile], start: dt.datetime):
        self.params = params
        ids = {rep.rep_id for rep in team}
        unknown = sorted(
            (set(params.rep_weights) | {r for reps in params.grade_pools.values() for r in reps})
            - ids
        )
        if unknown:
            raise ValueError(f"allocation names rep(s) not in the team: {', '.join(unknown)}")
        self._base = [params.rep_weights.get(rep.rep_id, 1.0) for rep in team]
        if not any(w > 0 for w in self._base):
            raise ValueError("all rep_weights are zero: no rep could ever receive a lead")
        self._fast = [
            params.capability_match is not None
            and rep.close_cycle_days is not None
            and rep.close_cycle_days < params.capability_match.cycle_days_below
            for rep in team
        ]
        self._cycles: list[list[float]] = [[] for _ in team]  # won deals' cycles, in days
        self._pools = {grade: {r for r in reps} for grade, reps in params.grade_pools.items()}
        self._capped = params.caps.per_day is not None or params.caps.per_month is not None
        self._weighted = bool(params.rep_weights) or params.capability_match is not None
        # With no rule on, filtering is the identity (the engine's hot path).
        self._active = bool(
            self._capped
            or self._weighted
            or self._pools
            or params.newbie_protection is not None
            or params.region_match != "off"
        )
        self._team = list(team)
        rule = params.newbie_protection
        self._newbie_hours = None if rule is None else rule.days * 24  # window, in hours
        midnight = dt.datetime.combine(start.date(), dt.time())
        self._day0 = (midnight - start).total_seconds() / 3600  # clock value of day 0
        self._start_date = start.date()
        n = len(team)
        self.received = [0] * n  # all assignments so far
        self.newbie_received = [0] * n  # assignments while the rep was new
        self.newbie_a = [0] * n  # A-lead assignments while the rep was new
        self._day = [(-1, 0)] * n  # (day index, assignments that day)
        self._month = [((0, 0), 0)] * n  # ((year, month), assignments that month)
        self.owners: dict[int, int] = {}  # customer id -> rep index of its first lead

    @property
    def active(self) -> bool:
        """False when no rule is on: :meth:`filter` then allows every candidate."""
        return self._active

    @property
    def learns_cycles(self) -> bool:
        """Whether capability match reads close cycles from the run's own won deals."""
        rule = self.params.capability_match
        return rule is not None and rule.cycle_from == "history"

    def note_won_deal(self, rep_index: int, cycle_days: float) -> None:
        """A deal of the rep was won after *cycle_days*: with ``cycle_from: history``,
        the rep's capability is its median cycle once it has ``min_deals`` won deals."""
        if not self.learns_cycles:
            return
        rule = self.params.capability_match
        cycles = self._cycles[rep_index]
        cycles.append(cycle_days)
        if len(cycles) >= rule.min_deals:  # type: ignore[union-attr]
            median = statistics.median(cycles)
            self._fast[rep_index] = median < rule.cycle_days_below  # type: ignore[union-attr]

    def close_cycle(self, rep_index: int) -> float | None:
        """Median close cycle (days) of the rep's won deals in this run (None: none yet)."""
        cycles = self._cycles[rep_index]
        return statistics.median(cycles) if cycles else None

    # -- customer ownership --------------------------------------------------------------
    def owner(self, lead: RoutedLead) -> int | None:
        """Index of the rep owning *lead*'s customer (None: no customer or no owner yet)."""
        customer = getattr(lead, "customer_id", None)
        return None if customer is None else self.owners.get(customer)

    def owner_among(self, lead: RoutedLead, candidates: Sequence[RepProfile]):
        """The owner of *lead*'s customer if it is one of *candidates* (else None).

        The ``keep_owner`` choice: the engine calls it on the candidates that eligibility
        and the other rules allowed, so an owner who is off, at its cap, beyond a cap or
        pool, outside a strict (or, when a local rep is eligible, preferred) region, or
        who lost this lead to a reclaim is bypassed and the lead is routed as usual.
        """
        owner = self.owner(lead)
        if owner is None:
            return None
        for rep in candidates:
            if rep.index == owner:
                return rep
        return None

    def note_owner(self, lead: RoutedLead, rep: RepProfile) -> None:
        """Make *rep* the owner of *lead*'s customer unless it already has one.

        :meth:`record` calls it for routed leads, :meth:`note_claim` for marketplace claims.
        """
        customer = getattr(lead, "customer_id", None)
        if customer is not None and customer not in self.owners:
            self.owners[customer] = rep.index

    # -- marketplace claims ---------------------------------------------------------------
    @property
    def guards_claims(self) -> bool:
        """Whether :meth:`claim_allowed` can ever refuse a claim (newbie protection is on)."""
        return self._newbie_hours is not None

    def claim_allowed(self, lead: RoutedLead, rep: RepProfile, now: float) -> bool:
        """Whether *rep* may claim *lead* from the marketplace at *now*.

        Newbie protection counts every lead a new rep receives, routed or claimed, so a
        new rep may not claim an A-lead that would take its A share above the bound.
        Caps, weights, pools and region match are routing rules and do not apply to claims
        (the marketplace has its own daily claim limit).
        """
        return self._newbie_allows(lead, rep, now)

    def note_claim(self, lead: RoutedLead, rep: RepProfile, now: float) -> None:
        """Count a marketplace claim: customer owner and the newbie-protection shares
        (not caps, which count routed assignments only)."""
        self.note_owner(lead, rep)
        if self._newbie_hours is not None and now - rep.hire_t < self._newbie_hours:
            i = rep.index
            self.newbie_received[i] += 1
            self.newbie_a[i] += lead.grade == "A"

    # -- clock helpers -------------------------------------------------------------------
    def day_index(self, now: float) -> int:
        """Calendar day number of *now* (0 = the scenario's start date)."""
        return int((now - self._day0) // 24)

    def month_of(self, now: float) -> tuple[int, int]:
        """(year, month) of *now*."""
        day = self._start_date + dt.timedelta(days=self.day_index(now))
        return day.year, day.month

    def is_newbie(self, rep: RepProfile, now: float) -> bool:
        """Whether *rep* is inside the newbie-protection window at *now*."""
        return self._newbie_hours is not None and now - rep.hire_t < self._newbie_hours

    # -- rules ---------------------------------------------------------------------------
    def weight(self, lead: RoutedLead, rep: RepProfile) -> float:
        """Routing weight of *rep* for *lead* (base weight x capability factor)."""
        w = self._base[rep.index]
        if lead.grade == "A" and self._fast[rep.index]:
            w *= self.params.capability_match.a_weight  # type: ignore[union-attr]
        return w

    def _within_caps(self, rep: RepProfile, day: int, month: tuple[int, int]) -> bool:
        caps = self.params.caps
        if caps.per_day is not None:
            d, count = self._day[rep.index]
            if d == day and count >= caps.per_day:
                return False
        if caps.per_month is not None:
            m, count = self._month[rep.index]
            if m == month and count >= caps.per_month:
                return False
        return True

    def _newbie_allows(self, lead: RoutedLead, rep: RepProfile, now: float) -> bool:
        if lead.grade != "A" or not self.is_newbie(rep, now):
            return True
        share = self.params.newbie_protection.a_share_max  # type: ignore[union-attr]
        # Taking this A-lead must keep A / received within the share (invariant).
        i = rep.index
        return self.newbie_a[i] + 1 <= share * (self.newbie_received[i] + 1) + 1e-9

    def filter(self, lead: RoutedLead, candidates: Sequence[RepProfile], now: float) -> list:
        """The candidates the rules allow for *lead* at *now* (possibly none)."""
        if not self._active:
            return list(candidates)
        p = self.params
        capped = self._capped
        day, month = (self.day_index(now), self.month_of(now)) if capped else (0, (0, 0))
        pool = self._pools.get(lead.grade)  # type: ignore[call-overload]
        allowed = [
            rep
            for rep in candidates
            if (not self._weighted or self.weight(lead, rep) > 0)
            and (pool is None or rep.rep_id in pool)
            and (not capped or self._within_caps(rep, day, month))
            and self._newbie_allows(lead, rep, now)
        ]
        if p.region_match != "off":
            local = [rep for rep in allowed if rep.region == lead.region]
            if local or p.region_match == "strict":
                return local
        return allowed

    def record(self, lead: RoutedLead, rep: RepProfile, now: float) -> None:
        """Count the assignment of *lead* to *rep* at *now* (and note the customer owner)."""
        i = rep.index
        customer = getattr(lead, "customer_id", None)
        if customer is not None and customer not in self.owners:
            self.owners[customer] = i  # as note_owner(), inlined: once per assignment
        self.received[i] += 1
        if self._newbie_hours is not None and now - rep.hire_t < self._newbie_hours:
            self.newbie_received[i] += 1
            self.newbie_a[i] += lead.grade == "A"
        if not self._capped:
            return
        day, month = self.day_index(now), self.month_of(now)
        d, count = self._day[i]
        self._day[i] = (day, count + 1 if d == day else 1)
        m, count = self._month[i]
        self._month[i] = (month, count + 1 if m == month else 1)
