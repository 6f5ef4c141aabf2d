"""Deal outcomes with open deals as right-censored observations (:func:`deal_outcomes`).

A CRM export is a snapshot: the import report's ``snapshot`` date, else the latest date in
the tables.  Every deal's clock starts at its lead's arrival (the arrival *day* when it was
date-only; for deal-only exports the derived lead arrives at the deal's created date):

- a won deal is an observed cycle (lead arrival -> won);
- a lost deal ends the competing outcome at its close date (at the snapshot when it has
  none: it was lost by then);
- an open deal is *censored* at its age at the end of the snapshot day: it may still end
  either way.

The Aalen-Johansen estimator (:func:`sim.history.censored.aalen_johansen`) then gives the
cumulative incidence of won with lost as a competing risk, so the eventual win probability
counts the open deals' future wins without counting them as lost, and the mean and median
won cycle come from the incidence curve, not from the quick wins alone.

Exports that hold **won deals only** (no lost or open deals, e.g. Olist): the unit is
then the lead.  A lead without a win at the snapshot is censored at its age, and a mixture
cure model (:mod:`sim.history.cure_fit`: eventual win probability x a log-normal, gamma or
Weibull cycle, maximum likelihood, chosen by AIC) gives the plateau the Kaplan-Meier curve
tends to, instead of the Kaplan-Meier value at the largest observed age, which a few very
late wins of the oldest leads inflate (Olist: 0.116 with a 76-day mean cycle).  When the
first recorded win comes long after the first leads, the leads that arrived before it
enter at their age on that day (left truncation).  The mean and median won cycle are the
fitted cycle's, restricted to the longest follow-up in the export.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.history.censored import (
    CENSORED,
    LOST,
    MIN_FOR_FIT,
    WON,
    aalen_johansen,
    conditional_mean_median,
)
from sim.history.cure_fit import CureFit, fit_cure

__all__ = ["DealOutcomes", "arrival_reference", "deal_outcomes", "snapshot_day"]


@dataclass
class DealOutcomes:
    """Outcome counts and censoring-aware estimates of one export's deals."""

    n: int  # deals
    n_won: int
    n_lost: int
    n_open: int
    snapshot: pd.Timestamp  # the snapshot day (open deals are censored at its end)
    unit: str  # "deal", or "lead" for won-only exports (leads without a win censored)
    win_rate_closed: float  # won / (won + lost); NaN without closed deals
    win_probability: float  # eventual P(won) per deal (Aalen-Johansen)
    lead_win_probability: float  # eventual P(won) per lead
    cycle_mean_days: float  # censoring-aware mean won cycle (lead arrival -> won)
    cycle_median_days: float
    table: pd.DataFrame  # aalen_johansen table (time in days)
    won_cycles: np.ndarray  # observed won cycles (days)
    censored_days: np.ndarray  # ages of the censored units at the snapshot
    censored_win_chance: np.ndarray  # each one's chance of still ending won
    cure: CureFit | None = None  # unit "lead": the mixture cure model
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        """Headline numbers (JSON-ready)."""
        r = lambda v: None if not math.isfinite(v) else round(float(v), 4)  # noqa: E731
        return {
            "deals": self.n, "won": self.n_won, "lost": self.n_lost, "open": self.n_open,
            "snapshot": str(self.snapshot.date()), "unit": self.unit,
            "win_rate_closed": r(self.win_rate_closed),
            "win_probability": r(self.win_probability),
            "lead_win_probability": r(self.lead_win_probability),
            "cycle_mean_days": r(self.cycle_mean_days),
            "cycle_median_days": r(self.cycle_median_days),
        }  # fmt: skip

    def line(self, leads: int) -> str:
        """One console line: counts, the plain share of leads won so far, the win rate
        among closed deals, and the censoring-aware figures the deal-stage model is
        fitted to."""
        parts = [f"{self.n_won} won, {self.n_lost} lost, {self.n_open} open at the snapshot "
                 f"{self.snapshot.date()}"]  # fmt: skip
        if leads:
            parts.append(f"share of leads won so far {self.n_won / leads:.3f}")
        if math.isfinite(self.win_rate_closed) and self.n_lost:
            parts.append(f"win rate among closed deals {self.win_rate_closed:.3f}")
        parts.append(
            f"eventual win probability per lead {self.lead_win_probability:.3f} and mean "
            f"won cycle {self.cycle_mean_days:.1f} days (censoring-aware: the deal-stage "
            "model's targets)"
        )
        return "deals: " + "; ".join(parts)


def arrival_reference(leads: pd.DataFrame) -> pd.Series:
    """Arrival used for cycle times, by lead_id: the arrival, or its day's midnight when
    the arrival was date-only."""
    ref = leads["arrived"]
    if "arrived_date_only" in leads:
        ref = ref.where(~leads["arrived_date_only"].astype(bool), ref.dt.normalize())
    return pd.Series(ref.to_numpy(), index=leads["lead_id"].to_numpy())


def snapshot_day(tables: dict[str, pd.DataFrame], report: dict) -> pd.Timestamp:
    """The import report's ``snapshot`` day, else the latest date in the tables."""
    if report.get("snapshot"):
        return pd.Timestamp(report["snapshot"]).normalize()
    latest = [tables["leads"]["arrived"].max()]
    opps = tables.get("opportunities")
    for column in ("closed", "created"):
        if opps is not None and column in opps:
            latest.append(opps[column].max())
    return max(t for t in latest if not pd.isna(t)).normalize()


def _win_chance(table: pd.DataFrame, ages: np.ndarray) -> np.ndarray:
    """P(ends won | no outcome by age) = (P(won) - CIF_won(age)) / S(age)."""
    if not len(ages):
        return np.empty(0)
    i = np.searchsorted(table["time"].to_numpy(), ages, side="right") - 1
    cif = np.where(i >= 0, table["cif_won"].to_numpy()[np.maximum(i, 0)], 0.0)
    surv = np.where(i >= 0, table["survival"].to_numpy()[np.maximum(i, 0)], 1.0)
    final = float(table["cif_won"].iloc[-1])
    return np.clip(np.where(surv > 0, (final - cif) / np.maximum(surv, 1e-12), 0.0), 0, 1)


def _record_notes(cure: CureFit, origin: pd.Timestamp) -> list[str]:
    """The note a user must see when the win record was taken to start late."""
    if not math.isfinite(cure.record_start_day):
        return []
    day = (origin + pd.Timedelta(days=cure.record_start_day)).date()
    return [
        f"won deals only: the first win ({day}) comes long after the first leads (the model "
        f"expects {cure.expected_before_record:.0f} wins before it): {cure.truncated} lead(s) "
        "that arrived earlier count from that day on (left truncation)"
    ]


def deal_outcomes(tables: dict[str, pd.DataFrame], report: dict) -> DealOutcomes | None:
    """Censoring-aware outcomes of the ``opportunities`` table (None without one)."""
    opps = tables.get("opportunities")
    if opps is None or "outcome" not in opps or opps.empty:
        return None
    leads = tables["leads"]
    snapshot = snapshot_day(tables, report)
    end = snapshot + pd.Timedelta(days=1)
    ref = opps["lead_id"].map(arrival_reference(leads)) if "lead_id" in opps else None
    if ref is None or ref.isna().all():
        ref = opps["created"] if "created" in opps else pd.Series(pd.NaT, index=opps.index)
    elif "created" in opps:
        ref = ref.fillna(opps["created"])
    outcome = opps["outcome"].astype(str)
    closed = opps["closed"] if "closed" in opps else pd.Series(pd.NaT, index=opps.index)
    n_won, n_lost = int((outcome == "won").sum()), int((outcome == "lost").sum())
    n_open = int((outcome == "open").sum())
    notes: list[str] = []
    if ref.isna().any():
        notes.append(f"{int(ref.isna().sum())} deal(s) without a lead arrival or created date "
                     "are left out of the cycle and outcome estimates")  # fmt: skip
    known = ref.notna()
    stop = closed.where(outcome != "open")
    undated = (outcome != "open") & stop.isna() & known
    if undated.any():
        notes.append(f"{int(undated.sum())} closed deal(s) without a close date count as closed "
                     "at the snapshot")  # fmt: skip
    stop = stop.fillna(end)
    days = ((stop - ref) / pd.Timedelta(days=1)).clip(lower=0)
    won_only = n_lost == 0 and n_open == 0
    share_with_deal = (
        float(leads["lead_id"].isin(set(opps["lead_id"].dropna())).mean())
        if "lead_id" in opps
        else 1.0
    )
    cure = None
    if won_only and share_with_deal < 1 and known.any():
        unit = "lead"
        first_win = days[known].groupby(opps.loc[known, "lead_id"]).min()
        lead_ref = arrival_reference(leads)
        age = ((end - lead_ref) / pd.Timedelta(days=1)).clip(lower=0)
        won_at = first_win.reindex(lead_ref.index)
        time = won_at.fillna(age).to_numpy(dtype=float)
        if won_at.notna().sum() >= MIN_FOR_FIT:
            event = np.where(won_at.notna(), WON, CENSORED)
            arrival_day = ((lead_ref - lead_ref.min()) / pd.Timedelta(days=1)).to_numpy(float)
            cure = fit_cure(arrival_day, time, event == WON)
            notes += _record_notes(cure, lead_ref.min())
        else:  # too few wins to fit a cycle: the share of leads won
            event = np.where(won_at.notna(), WON, LOST)
            n_leads_won = int(won_at.notna().sum())
            notes.append(
                f"won deals only, {n_leads_won} won lead(s): the win probability is the "
                "share of leads won (too few wins for a model)"
            )
    else:
        unit = "deal"
        time = days[known].to_numpy(dtype=float)
        code = {"won": WON, "lost": LOST, "open": CENSORED}
        event = outcome[known].map(code).fillna(CENSORED).to_numpy(dtype=int)
    table = aalen_johansen(time, event)
    if cure is None:
        p = float(table["cif_won"].iloc[-1]) if len(table) else math.nan
        mean, median = conditional_mean_median(table)
    else:
        p = cure.p
        mean, median = cure.cycle_mean_median(float(time.max()))
    censored_days = time[event == CENSORED]
    closed_n = n_won + n_lost
    return DealOutcomes(
        n=len(opps),
        n_won=n_won,
        n_lost=n_lost,
        n_open=n_open,
        snapshot=snapshot,
        unit=unit,
        win_rate_closed=n_won / closed_n if closed_n else math.nan,
        win_probability=1.0 if unit == "lead" else p,
        lead_win_probability=p if unit == "lead" else share_with_deal * p,
        cycle_mean_days=mean,
        cycle_median_days=median,
        table=table,
        won_cycles=time[event == WON],
        censored_days=censored_days,
        censored_win_chance=(
            _win_chance(table, censored_days) if cure is None else cure.win_chance(censored_days)
        ),
        cure=cure,
        notes=notes,
    )
