"""Scenario files: the world a policy is tested in, validated by pydantic.

A scenario gives the start datetime and horizon, the working calendars, the team
(:mod:`sim.world.team_spec`), the lead arrival process, the distributions of lead
attributes and the odds that a touched lead qualifies.  Unknown keys are errors.  Files
are read by :func:`sim.world.loading.load_scenario`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from sim.world.distributions import Distribution, Exponential
from sim.world.lead_attributes import LEAD_ATTRIBUTES, SEGMENTS
from sim.world.process_spec import ProcessSpec
from sim.world.response_curve import ExponentialDecay, ResponseDecay
from sim.world.team_spec import Team

__all__ = [
    "ArrivalProcess",
    "CalendarSpec",
    "LeadAttributes",
    "Qualification",
    "ReplayArrivals",
    "ReportSettings",
    "Scenario",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_STRICT = ConfigDict(extra="forbid", frozen=True)
HOURS_PER_MONTH = 365.25 / 12 * 24


class HolidaySpec(BaseModel):
    """Public holidays from the ``holidays`` package, plus local additions."""

    model_config = _STRICT
    country: str | None = "CN"
    subdiv: str | None = None
    extra: list[dt.date] = Field(default_factory=list)
    extra_working_dates: list[dt.date] = Field(default_factory=list)

    @model_validator(mode="after")
    def _known_country(self) -> HolidaySpec:
        if self.country is None:
            return self
        import holidays  # slow import: only when a calendar names a country
        from holidays.registry import EntityLoader

        # The codes holidays.list_supported_countries() gives, without importing every
        # country's module (it does, which costs a start-up of ~0.3 s); the one named
        # is imported to read its subdivisions.
        if self.country not in set(EntityLoader.get_country_codes()):
            raise ValueError(f"unknown holiday country {self.country!r} (ISO code, e.g. CN, US)")
        if self.subdiv is None:
            return self
        if self.subdiv not in getattr(holidays, self.country).subdivisions:
            raise ValueError(f"unknown subdivision {self.subdiv!r} of {self.country}")
        return self


class CalendarSpec(BaseModel):
    """A working calendar: ``kind: always`` (24/7) or weekly shifts with holidays."""

    model_config = _STRICT
    kind: Literal["shifts", "always"] = "shifts"
    weekdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"], min_length=1
    )
    hours: tuple[dt.time, dt.time] = (dt.time(9), dt.time(18))
    holidays: HolidaySpec = HolidaySpec()

    @model_validator(mode="after")
    def _hours_ordered(self) -> CalendarSpec:
        if self.hours[1] <= self.hours[0]:
            raise ValueError(
                f"hours end {self.hours[1]:%H:%M} must be after start {self.hours[0]:%H:%M}"
            )
        return self


class WeeklyProfile(BaseModel):
    """Relative arrival intensity by weekday (7, Monday first) times by hour (24)."""

    model_config = _STRICT
    weekday: list[float] = Field(default_factory=lambda: [1.0] * 7, min_length=7, max_length=7)
    hour: list[float] = Field(default_factory=lambda: [1.0] * 24, min_length=24, max_length=24)

    @model_validator(mode="after")
    def _non_negative(self) -> WeeklyProfile:
        for name, values in (("weekday", self.weekday), ("hour", self.hour)):
            if any(v < 0 or not math.isfinite(v) for v in values):
                raise ValueError(f"{name} weights must be finite and >= 0")
            if sum(values) <= 0:
                raise ValueError(f"{name} weights must not all be zero")
        return self

    def hour_of_week(self) -> list[float]:
        """168 relative weights, Monday 00:00 first."""
        return [d * h for d in self.weekday for h in self.hour]


class PoissonArrivals(BaseModel):
    """Poisson arrivals: a constant rate, optionally shaped by an hour-of-week profile.

    Give exactly one of ``rate_per_hour`` or ``leads_per_month``; with a profile the rate
    is the long-run *mean*, distributed over the week by the profile's weights.
    """

    model_config = _STRICT
    process: Literal["poisson"] = "poisson"
    rate_per_hour: float | None = Field(None, gt=0)
    leads_per_month: float | None = Field(None, gt=0)
    profile: WeeklyProfile | None = None
    hour_of_week: list[float] | None = Field(None, min_length=168, max_length=168)

    @model_validator(mode="after")
    def _one_rate(self) -> PoissonArrivals:
        if (self.rate_per_hour is None) == (self.leads_per_month is None):
            raise ValueError("give exactly one of rate_per_hour or leads_per_month")
        if self.profile is not None and self.hour_of_week is not None:
            raise ValueError("give at most one of profile or hour_of_week")
        if self.hour_of_week is not None and (
            any(v < 0 or not math.isfinite(v) for v in self.hour_of_week)
            or sum(self.hour_of_week) <= 0
        ):
            raise ValueError("hour_of_week weights must be finite, >= 0 and not all zero")
        return self

    @property
    def mean_rate(self) -> float:
        """Long-run mean arrivals per hour."""
        if self.rate_per_hour is not None:
            return self.rate_per_hour
        return self.leads_per_month / HOURS_PER_MONTH  # type: ignore[operator]

    def hourly_rates(self) -> list[float] | None:
        """168 rates per hour (Monday 00:00 first) or None when constant."""
        weights = self.hour_of_week or (self.profile.hour_of_week() if self.profile else None)
        if weights is None:
            return None
        scale = self.mean_rate * 168 / sum(weights)
        return [w * scale for w in weights]


class ScheduledArrivals(BaseModel):
    """Leads arrive at the listed times (hours since the start): hand-built cases."""

    model_config = _STRICT
    process: Literal["schedule"] = "schedule"
    at_hours: list[float] = Field(min_length=1)

    @model_validator(mode="after")
    def _sorted(self) -> ScheduledArrivals:
        times = self.at_hours
        if any(t < 0 or not math.isfinite(t) for t in times):
            raise ValueError("at_hours must be finite and >= 0")
        if any(b < a for a, b in itertools.pairwise(times)):
            raise ValueError("at_hours must be in non-decreasing order")
        return self


class ReplayArrivals(BaseModel):
    """Leads replayed from imported data (``python -m sim import``): their real arrival
    times and attributes (see :mod:`sim.history.replay`).  ``replay`` is a canonical
    ``leads.parquet``; in a scenario file it is relative to that file."""

    model_config = _STRICT
    process: Literal["replay"] = "replay"
    replay: Path

    @field_validator("replay")
    @classmethod
    def _exists(cls, value: Path) -> Path:
        if not value.is_file():
            raise ValueError(f"no such file {str(value)!r} (write it with 'python -m sim import')")
        return value


ArrivalProcess = Annotated[
    PoissonArrivals | ScheduledArrivals | ReplayArrivals, Field(discriminator="process")
]
"""Any arrival process, selected by its ``process`` key (default ``poisson``; a mapping
with a ``replay`` key defaults to ``replay``)."""


def _mix(default: Mapping[str, float]) -> Any:
    return Field(default_factory=lambda: dict(default))


class LeadAttributes(BaseModel):
    """How the attributes of an arriving lead are distributed.

    Mixes are relative weights (normalised); probabilities are in [0, 1].
    """

    model_config = _STRICT
    channels: dict[str, float] = _mix({"web_form": 1.0})
    regions: dict[str, float] = _mix({"default": 1.0})
    industries: dict[str, float] = _mix({"general": 1.0})
    budget_bands: dict[str, float] = _mix({"small": 0.5, "medium": 0.35, "large": 0.15})
    need: dict[Literal["high", "medium", "low"], float] = _mix(
        {"high": 0.3, "medium": 0.45, "low": 0.25}
    )
    budget_confirmed: float = Field(0.4, ge=0, le=1)
    authority: float = Field(0.4, ge=0, le=1)
    timeline_known: float = Field(0.8, ge=0, le=1)
    timeline_days: Distribution = Exponential(mean=90)
    dwell_seconds: Distribution = Exponential(mean=150)
    whitepaper: float = Field(0.3, ge=0, le=1)
    trial: float = Field(0.15, ge=0, le=1)
    customer_pool: int | None = Field(None, ge=1)
    """Number of distinct customers the leads come from: each lead's ``customer_id`` is
    drawn uniformly from ``0..customer_pool-1`` (its own stream, so the other attributes
    keep their draws).  None: every lead is a new customer (``customer_id`` missing)."""
    by_channel: dict[
        str,
        dict[
            Literal["budget_confirmed", "authority", "timeline_known", "whitepaper", "trial"],
            Annotated[float, Field(ge=0, le=1)],
        ],
    ] = Field(default_factory=dict)
    """Per-channel overrides of the probabilities above, e.g.
    ``{douyin: {timeline_known: 0.0}}``; a channel listed here must be in ``channels``."""

    def probability(self, name: str, channel: str) -> float:
        """Probability *name* (e.g. ``timeline_known``) for a lead of *channel*."""
        return self.by_channel.get(channel, {}).get(name, getattr(self, name))

    @model_validator(mode="after")
    def _mixes_valid(self) -> LeadAttributes:
        for name in (attr.mix for attr in LEAD_ATTRIBUTES if attr.mix):
            mix = getattr(self, name)
            if not mix:
                raise ValueError(f"{name} must list at least one value")
            if any(w < 0 or not math.isfinite(w) for w in mix.values()) or sum(mix.values()) <= 0:
                raise ValueError(f"{name} weights must be finite, >= 0 and not all zero")
        for channel in self.by_channel:
            if channel not in self.channels:
                known = ", ".join(sorted(self.channels))
                raise ValueError(
                    f"by_channel names channel {channel!r}, which is not in channels "
                    f"(known: {known})"
                )
        return self


QUALIFYING_ATTRIBUTES = SEGMENTS
"""Lead attributes whose values may carry a qualification multiplier (the segments)."""


class Qualification(BaseModel):
    """Odds that a touched lead qualifies: base probability by grade x response decay,
    times optional multipliers by attribute value (capped at 1).

    ``multipliers`` is value the score does not see, e.g. ``{industry: {lab: 1.5}}``:
    what experienced reps know and claim for in a marketplace (see
    :mod:`sim.outcomes.claim_feedback`).  Values not listed keep x1.
    """

    model_config = _STRICT
    base: dict[Literal["A", "B", "C"], float] = _mix({"A": 0.6, "B": 0.35, "C": 0.12})
    decay: ResponseDecay = ExponentialDecay()
    multipliers: dict[Literal["channel", "region", "industry", "budget_band"], dict[str, float]] = (
        Field(default_factory=dict)
    )

    @model_validator(mode="after")
    def _probabilities(self) -> Qualification:
        missing = {"A", "B", "C"} - set(self.base)
        if missing:
            raise ValueError(f"base is missing grade(s) {sorted(missing)}")
        if any(not 0 <= p <= 1 for p in self.base.values()):
            raise ValueError("base probabilities must be in [0, 1]")
        for attribute, table in self.multipliers.items():
            for value, factor in table.items():
                if not 0 <= factor < math.inf:
                    raise ValueError(f"multipliers.{attribute}.{value} must be >= 0, got {factor}")
        return self


class ReportSettings(BaseModel):
    """How reports on this scenario read: ``lang`` (``en`` or ``zh``; ``report --lang``
    overrides it) and ``currency`` (ISO 4217 code of the money shown, default CNY)."""

    model_config = _STRICT
    lang: Literal["en", "zh"] = "en"
    currency: str = "CNY"

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        from babel.numbers import list_currencies  # slow import: only when a file sets one

        if value not in list_currencies():
            raise ValueError(f"unknown currency {value!r} (ISO 4217 code, e.g. CNY, USD)")
        return value


class Scenario(BaseModel):
    """The world: team, calendars, arrivals, lead attributes, qualification odds and,
    optionally, the sales process that qualified leads go through (``process:``)."""

    model_config = _STRICT
    name: str = "scenario"
    description: str = ""
    start: dt.datetime
    horizon_days: float = Field(gt=0, le=3660)
    warmup_days: float = Field(0, ge=0)
    calendars: dict[str, CalendarSpec] = Field(
        default_factory=lambda: {"standard": CalendarSpec(), "always": CalendarSpec(kind="always")}
    )
    team: Team
    arrivals: ArrivalProcess

    @field_validator("arrivals", mode="before")
    @classmethod
    def _default_process(cls, value: Any) -> Any:
        if isinstance(value, dict) and "process" not in value:
            return {**value, "process": "replay" if "replay" in value else "poisson"}
        return value

    leads: LeadAttributes = LeadAttributes()
    qualification: Qualification = Qualification()
    process: ProcessSpec | None = None  # opportunity stage model (sim.process.pipeline); None: none
    report: ReportSettings = ReportSettings()

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        if self.warmup_days >= self.horizon_days:
            raise ValueError(
                f"warmup_days ({self.warmup_days}) must be less than horizon_days "
                f"({self.horizon_days})"
            )
        for rep in self.team.members():
            if rep.calendar not in self.calendars:
                known = ", ".join(sorted(self.calendars))
                raise ValueError(
                    f"rep {rep.id!r} uses calendar {rep.calendar!r}, which is not defined "
                    f"(known: {known})"
                )
        return self

    @property
    def horizon_hours(self) -> float:
        """Length of the run in hours."""
        return self.horizon_days * 24.0

    @property
    def warmup_hours(self) -> float:
        """Leads arriving before this time are left out of KPIs."""
        return self.warmup_days * 24.0
