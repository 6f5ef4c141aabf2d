"""The known truth of a synthetic deal-only CRM export, and the world drawn from it.

A deal-only export (no leads table: each opportunity is created on its engage date) is
drawn from a process whose every number is known, so tests and benchmarks can check
that the import, the calibration and the deal-stage fit recover it:

- **Arrivals**: engaged deals per day are Poisson with rate
  ``plateau_per_day x ramp(day) x weekday(day)``: the ramp rises linearly from
  ``ramp_start_share`` of the plateau to the plateau over ``ramp_days`` (0: flat), and the
  weekday factors (Monday first, mean 1 over a week) make weekends quiet.
- **Stages**: every engaged deal passes the stages of ``stages`` in order; stage *i*
  lasts a gamma duration (``mean_days``, ``shape``) and is passed with probability
  ``advance``.  A deal that fails a stage is lost at its end; one that passes the last
  is won.  So the eventual win probability is the product of the pass odds, and the mean
  won cycle the sum of the stage means.  Each deal is engaged at a uniform time of its
  engage day and closes on the day its last stage ends: the mean of the recorded day
  differences (close date - engage date) equals the mean of the continuous cycle.
- **Snapshot**: the world covers ``days`` days from ``start``; an export sees it at the
  end of ``snapshot_day`` (default: the last day): deals engaged later are not in it, and
  deals closing later are open (``Engaging``, blank close date and value), i.e. right-
  censored at the snapshot.  The same seed draws the same world at any snapshot, so a
  snapshot 60 days early is the training half of a held-out check.

:func:`draw_world` draws the deals; :mod:`sim.history.synthetic_deal_files` writes them
as an export.  Same seed, same world.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from sim.errors import ConfigError
from sim.world.randomness import Streams

__all__ = [
    "DEAL_PRESETS",
    "DealExportTruth",
    "DealStageTruth",
    "deal_preset",
    "draw_world",
]


@dataclass(frozen=True)
class DealStageTruth:
    """One stage of the true deal process: its name (as a stage-history file spells it),
    the probability of passing it, and its gamma duration."""

    name: str
    advance: float
    mean_days: float
    shape: float = 2.0


_STAGES = (
    DealStageTruth("Engaging", 0.85, 10.0),
    DealStageTruth("Discovery", 0.90, 12.0),
    DealStageTruth("Demo", 0.85, 14.0),
    DealStageTruth("Proposal", 0.95, 10.0),
    DealStageTruth("Negotiation", 0.97, 6.0),
)
_WEEKDAY = (1.2, 1.25, 1.2, 1.2, 1.05, 0.05, 0.05)  # Monday .. Sunday, before normalising
_MONTE_CARLO = 200_000  # cycles drawn (fixed seed) for quantiles and won-by-date shares


@dataclass(frozen=True)
class DealExportTruth:
    """The process a deal-only export is drawn from, and the defects planted in it.

    Defects: ``prospecting`` rows with a blank engage date (never engaged), agents named
    by deals but missing from the teams file (``missing_reps``; the first of them is
    the top seller), a product spelled ``product_alias[1]`` in the pipeline and
    ``product_alias[0]`` in the products file, a blank account on a share of open deals.
    Options: ``currencies`` (code -> share of deals; more than one writes a currency
    column and ``currency_rates.csv``) and ``stage_history`` (writes the stage
    history: one row per stage a deal entered, with its date).
    """

    name: str = "ramp"
    start: str = "2016-10-20"
    days: int = 437
    snapshot_day: int | None = None  # last observed day offset + 1 (None: days)
    plateau_per_day: float = 22.0
    ramp_days: int = 90
    ramp_start_share: float = 0.15
    weekday: tuple[float, ...] = _WEEKDAY
    stages: tuple[DealStageTruth, ...] = _STAGES
    reps: int = 35
    managers: int = 6
    offices: tuple[str, ...] = ("Central", "East", "West")
    missing_reps: int = 2
    top_seller_weight: float = 1.5  # the first missing rep's share, x the next best rep's
    prospecting: int = 500
    blank_account_open_share: float = 0.4
    product_alias: tuple[str, str] = ("GTX Pro", "GTXPro")
    currencies: dict[str, float] = field(default_factory=lambda: {"USD": 1.0})
    currency_rates: dict[str, str] = field(default_factory=lambda: {"USD": "1"})
    stage_history: bool = False

    def __post_init__(self) -> None:
        if self.days < 1 or not 0 < (self.snapshot_day or self.days) <= self.days:
            raise ConfigError(f"{self.name}: snapshot_day must be in 1..days ({self.days})")
        if len(self.weekday) != 7 or min(self.weekday) < 0 or sum(self.weekday) <= 0:
            raise ConfigError(f"{self.name}: weekday needs 7 non-negative factors")
        if not self.stages or not all(0 < s.advance <= 1 for s in self.stages):
            raise ConfigError(f"{self.name}: stages need pass odds in (0, 1]")
        if not 0 <= self.missing_reps < self.reps:
            raise ConfigError(f"{self.name}: missing_reps must be in 0..reps-1")
        if set(self.currencies) - set(self.currency_rates):
            raise ConfigError(f"{self.name}: every currency needs a rate in currency_rates")

    # --- derived truth -------------------------------------------------------------

    @property
    def snapshot(self) -> int:
        """Observed days: deals engaged on day offsets ``0 .. snapshot - 1``."""
        return self.snapshot_day or self.days

    @property
    def snapshot_date(self) -> dt.date:
        """The last observed day (the export's snapshot date)."""
        return dt.date.fromisoformat(self.start) + dt.timedelta(days=self.snapshot - 1)

    @property
    def win_probability(self) -> float:
        """Eventual probability that an engaged deal is won (product of the pass odds)."""
        return float(math.prod(s.advance for s in self.stages))

    @property
    def won_cycle_mean_days(self) -> float:
        """Mean won cycle, engage -> won, in days (sum of the stage means)."""
        return float(sum(s.mean_days for s in self.stages))

    def weekday_factors(self) -> np.ndarray:
        """The weekday factors, Monday first, scaled to mean 1."""
        w = np.asarray(self.weekday, dtype=float)
        return w / w.mean()

    def rate_per_day(self) -> np.ndarray:
        """Expected engaged deals on each day offset ``0 .. days - 1``."""
        day = np.arange(self.days)
        ramp = np.ones(self.days)
        if self.ramp_days > 0:
            ramp = self.ramp_start_share + (1 - self.ramp_start_share) * np.minimum(
                day / self.ramp_days, 1.0
            )
        start = dt.date.fromisoformat(self.start).weekday()
        return self.plateau_per_day * ramp * self.weekday_factors()[(day + start) % 7]

    def expected_leads(self, start_day: int, end_day: int) -> float:
        """Expected engaged deals (leads of a deal-only export) on day offsets
        ``start_day .. end_day - 1`` (offsets from ``start``)."""
        if not 0 <= start_day <= end_day <= self.days:
            raise ConfigError(f"{self.name}: days must be within 0..{self.days}")
        return float(self.rate_per_day()[start_day:end_day].sum())

    def won_cycles(self, n: int = _MONTE_CARLO) -> np.ndarray:
        """*n* continuous won cycles (days) drawn with a fixed seed (for quantiles)."""
        rng = np.random.default_rng(20260101)
        return sum(rng.gamma(s.shape, s.mean_days / s.shape, n) for s in self.stages)

    def expected_won_share(self, start_day: int, end_day: int) -> float:
        """Expected share of the deals engaged on ``start_day .. end_day - 1`` that are
        won on or before day ``end_day - 1`` (the held-out 'won within period' share)."""
        rate = self.rate_per_day()[start_day:end_day]
        cycles = self.won_cycles()
        u = np.random.default_rng(20260102).random(len(cycles))  # engage time of day
        recorded = np.sort(np.floor(u + cycles))  # close date - engage date, in days
        left = np.arange(end_day - start_day, 0, -1)  # days from each engage day to the end
        won_by_end = np.searchsorted(recorded, left, side="left") / len(recorded)
        return self.win_probability * float(np.dot(rate, won_by_end) / rate.sum())

    def summary(self) -> dict:
        """The derived truth, JSON-ready (recorded in the export's manifest)."""
        cycles = self.won_cycles()
        return {
            "win_probability": round(self.win_probability, 6),
            "won_cycle_mean_days": round(self.won_cycle_mean_days, 6),
            "won_cycle_median_days": round(float(np.median(cycles)), 3),
            "won_cycle_p95_days": round(float(np.quantile(cycles, 0.95)), 3),
            "snapshot": str(self.snapshot_date),
            "expected_leads": round(self.expected_leads(0, self.snapshot), 3),
            "rate_per_day": [round(float(r), 4) for r in self.rate_per_day()],
        }


DEAL_PRESETS: dict[str, DealExportTruth] = {
    # Maven-like: ~8,800 deals over 14 months, a 3-month ramp-up, then a plateau.
    "ramp": DealExportTruth(),
    # a flat year: no ramp, 40-day mean won cycles
    "flat": DealExportTruth(
        name="flat",
        start="2023-01-02",
        days=364,
        plateau_per_day=15.0,
        ramp_days=0,
        stages=tuple(
            replace(s, mean_days=m) for s, m in zip(_STAGES, (7, 9, 10, 8, 6), strict=True)
        ),
        prospecting=200,
    ),
    # heavy censoring: long cycles against a short window, about a third of deals open
    "censored": DealExportTruth(
        name="censored",
        start="2024-03-04",
        days=200,
        plateau_per_day=25.0,
        ramp_days=0,
        stages=tuple(
            replace(s, mean_days=m, shape=3.0)
            for s, m in zip(_STAGES, (14, 18, 20, 16, 12), strict=True)
        ),
        prospecting=300,
    ),
}
"""Named truths: ``ramp`` (ramp-up then plateau), ``flat`` and ``censored``."""


def deal_preset(name: str, **changes) -> DealExportTruth:
    """The preset *name* with *changes* applied (e.g. ``plateau_per_day=8``)."""
    if name not in DEAL_PRESETS:
        raise ConfigError(f"preset: unknown {name!r} (known: {', '.join(DEAL_PRESETS)})")
    return replace(DEAL_PRESETS[name], **changes)


def draw_world(truth: DealExportTruth, seed: int) -> pd.DataFrame:
    """Every deal engaged over the whole ``days`` of *truth*, one row each, in file order:
    ``engage_day`` (offset), ``engage_t`` (days, with the time of day), ``won``,
    ``close_t`` (days), ``close_day`` (offset), ``stages_entered`` (how many stages it
    reached) and ``stage_t`` (entry time of each stage, a tuple).  Independent of the
    snapshot, so every snapshot of one seed sees the same deals."""
    streams = Streams(seed)
    rng = streams.get("deals.arrivals")
    counts = rng.poisson(truth.rate_per_day())
    engage_day = np.repeat(np.arange(truth.days), counts)
    n = len(engage_day)
    engage_t = engage_day + rng.random(n)
    rng = streams.get("deals.stages")
    k = len(truth.stages)
    durations = np.column_stack(
        [rng.gamma(s.shape, s.mean_days / s.shape, n) for s in truth.stages]
    )
    passed = rng.random((n, k)) < np.asarray([s.advance for s in truth.stages])
    # index of the first failed stage (k when every stage was passed)
    failed_at = np.where(passed.all(axis=1), k, np.argmin(passed, axis=1))
    ends = engage_t[:, None] + np.cumsum(durations, axis=1)
    last = np.minimum(failed_at, k - 1)
    close_t = ends[np.arange(n), last]
    starts = np.column_stack([engage_t, ends[:, :-1]])
    order = streams.get("deals.order").permutation(n)
    world = pd.DataFrame(
        {
            "engage_day": engage_day,
            "engage_t": engage_t,
            "won": failed_at == k,
            "close_t": close_t,
            "close_day": np.floor(close_t).astype(int),
            "stages_entered": last + 1,
            "stage_t": list(map(tuple, starts)),
        }
    )
    return world.iloc[order].reset_index(drop=True)
