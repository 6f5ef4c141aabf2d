"""Calibration: fit a scenario's numbers to imported data, and say how well they fit.

:func:`fit` reads canonical tables (``python -m sim import``) and estimates:

- **arrivals** (:mod:`sim.history.arrival_fit`): the mean rate, weekday and hour profiles
  (no hour profile when most arrivals were date-only) and the arrival model chosen by
  rolling-origin cross-validation (constant, linear or log-linear level, with or without
  a weekday profile, on the whole or the recent window), after leaving out the
  incomplete tail of a truncated export;
- **channel mix** and the other lead attribute mixes the export carries;
- **deal outcomes** (:mod:`sim.history.deal_outcomes`): open deals are right-censored at
  the snapshot date; the eventual win probability (Aalen-Johansen, lost as a competing
  risk), the win rate among closed deals, the censoring-aware mean and median won cycle
  (lead arrival -> won; from the arrival *day* when it was date-only); exports of won
  deals only: a mixture cure model per lead (:mod:`sim.history.cure_fit`);
- **cycle times** with log-normal, gamma and exponential fits by maximum likelihood,
  open deals counted as censored observations (:mod:`sim.history.censored`), each with
  its Kolmogorov-Smirnov distance; the closest is chosen;
- **win rates**: ``win_rate`` is the eventual win probability per lead (what the
  deal-stage model must reproduce); per channel, the share of leads with a won deal;
- **reps**: every rep of the reps table and every rep named by a deal (never dropped; the
  ones missing from the reps table are listed in ``notes``), each with its won deals and
  median won cycle (``close_cycle_days``, used by capability-match routing);
- **payment delays** (paid - due, days) when payments are present: share paid late and
  a fit of the days late.

:func:`sim.history.scenario_writer.scenario_yaml` writes the scenario, with comments stating what
each number was fitted from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import DataError
from sim.history.arrival_fit import ArrivalFit, fit_arrivals
from sim.history.censored import MIN_FOR_FIT, DurationFit, fit_duration
from sim.history.deal_outcomes import DealOutcomes, arrival_reference, deal_outcomes
from sim.world.lead_attributes import LEAD_ATTRIBUTES
from sim.world.scenario import WEEKDAYS

__all__ = [
    "MIN_FOR_FIT",
    "ArrivalFit",
    "Calibration",
    "DealOutcomes",
    "DurationFit",
    "fit",
    "fit_arrivals",
    "fit_duration",
    "weekday_table",
]

CYCLE_WHAT = "cycle time (first contact -> won, days)"


@dataclass
class Calibration:
    """Everything fitted from one imported data folder."""

    source: str
    country: str | None
    arrivals: ArrivalFit
    mixes: dict[str, dict[str, float]]
    timeline_days_mean: float | None
    timeline_known: float | None
    cycle: DurationFit | None
    win_rate: float | None
    win_rate_by_channel: dict[str, float]
    reps: pd.DataFrame  # rep_id, region, hire_date, deals, won, close_cycle_days, in_reps_table
    payment_delay: DurationFit | None
    late_share: float | None
    deals: DealOutcomes | None = None
    cycle_target_days: float | None = None  # censoring-aware mean won cycle
    notes: list[str] = field(default_factory=list)  # warnings a user must see

    def goodness(self) -> pd.DataFrame:
        """One row per fit: what, n, statistic (``ks``: Kolmogorov-Smirnov distance, lower
        is closer; ``chi2/df``: Poisson dispersion of daily counts, 1 is Poisson; ``mape``:
        the chosen arrival model's cross-validated error of the forecast period's total,
        n = origins), value (NaN when not measurable, e.g. hour of week on date-only
        arrivals)."""
        a = self.arrivals
        rows = [
            ("arrivals: daily counts vs Poisson", a.days, "chi2/df", a.dispersion),
            ("arrivals: hour of week", a.leads, "ks", a.hour_ks),
        ]
        if not a.cv.empty:
            chosen = a.cv[a.cv["model"] == a.model]
            what = f"arrivals: {a.model}, {int(chosen['horizon_days'].iloc[0])}-day total (CV)"
            rows.append((what, len(chosen), "mape", float(chosen["mape"].mean())))
        for d in (self.cycle, self.payment_delay):
            if d is not None:
                for name, cand in d.candidates.items():
                    mark = " (chosen)" if name == d.chosen else ""
                    rows.append((f"{d.what}: {name}{mark}", len(d.sample), "ks", cand["ks"]))
        return pd.DataFrame(rows, columns=["fit", "n", "statistic", "value"])


def _won(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    opps = tables.get("opportunities")
    if opps is None or "outcome" not in opps:
        return pd.DataFrame(columns=["lead_id", "rep_id", "closed", "cycle_days"])
    won = opps[(opps["outcome"] == "won") & opps["lead_id"].notna()].copy()
    if "closed" in won:
        ref = won["lead_id"].map(arrival_reference(tables["leads"]))
        won["cycle_days"] = (won["closed"] - ref) / pd.Timedelta(days=1)
    else:
        won["cycle_days"] = np.nan
    return won


def _mix(values: pd.Series) -> dict[str, float]:
    shares = values.dropna().value_counts(normalize=True).sort_index()
    return {str(k): round(float(v), 4) for k, v in shares.items() if v > 0}


def _reps(tables: dict[str, pd.DataFrame], won: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Every rep of the reps table and every rep named by a deal, and notes on the ones
    the reps table lacks (or that the import created from the deals)."""
    reps = tables.get("reps")
    opps = tables.get("opportunities")
    named = (
        opps["rep_id"].dropna().astype(str)
        if opps is not None and "rep_id" in opps
        else pd.Series(dtype=str)
    )
    if reps is not None:
        cols = [c for c in ("rep_id", "region", "hire_date") if c in reps]
        frame = reps.drop_duplicates("rep_id")[cols].assign(
            rep_id=lambda f: f["rep_id"].astype(str)
        )
    else:
        frame = pd.DataFrame({"rep_id": pd.Series(dtype=str)})
    deals = named.value_counts()
    missing = sorted(set(deals.index) - set(frame["rep_id"]))
    notes = []
    if missing and reps is not None:
        listed = ", ".join(f"{rep} ({deals[rep]} deals)" for rep in missing[:20])
        more = f" and {len(missing) - 20} more" if len(missing) > 20 else ""
        notes.append(
            f"{len(missing)} rep(s) with deals are missing from the reps table and were added "
            f"to the team without region or hire date: {listed}{more}"
        )
    if reps is not None and "created_from" in reps:
        created = sorted(reps.loc[reps["created_from"].notna(), "rep_id"].astype(str))
        if created:
            notes.append(
                f"{len(created)} rep(s) were created by the import from the deals (not in the "
                f"reps file): {', '.join(created[:20])}" + (" ..." if len(created) > 20 else "")
            )
    frame = pd.concat([frame, pd.DataFrame({"rep_id": missing})], ignore_index=True)
    frame = frame.sort_values("rep_id").reset_index(drop=True)
    frame["deals"] = frame["rep_id"].map(deals).fillna(0).astype(int)
    frame["in_reps_table"] = ~frame["rep_id"].isin(missing) if reps is not None else False
    if "rep_id" in won and len(won):
        by_rep = won.assign(rep_id=won["rep_id"].astype(str)).groupby("rep_id")["cycle_days"]
        frame["won"] = frame["rep_id"].map(by_rep.size()).fillna(0).astype(int)
        medians = by_rep.median().where(by_rep.size() >= 3)
        frame["close_cycle_days"] = frame["rep_id"].map(medians).astype(float)
    else:
        frame["won"] = 0
        frame["close_cycle_days"] = np.nan
    return frame, notes


def _cycle_fit(outcomes: DealOutcomes | None, won: pd.DataFrame) -> DurationFit | None:
    """Won cycles fitted with the censored units (each weighted by its chance of still
    ending won) when the export has deal outcomes; the plain sample otherwise."""
    if outcomes is not None and len(outcomes.won_cycles):
        return fit_duration(
            CYCLE_WHAT,
            outcomes.won_cycles,
            censored=outcomes.censored_days,
            weights=outcomes.censored_win_chance,
            reference=outcomes.table,
        )
    if len(won) and won["cycle_days"].notna().any():
        return fit_duration(CYCLE_WHAT, won["cycle_days"])
    return None


def fit(data_dir: str | Path) -> Calibration:
    """Fit everything the imported tables in *data_dir* support."""
    from sim.history.importer import read_imported

    tables, report = read_imported(data_dir)
    if "leads" not in tables:
        raise DataError(f"{data_dir}: no leads.parquet")
    leads = tables["leads"]
    arrivals = fit_arrivals(leads)
    mixes = {
        attr.mix: _mix(leads[attr.name])
        for attr in LEAD_ATTRIBUTES
        if attr.segment and attr.name in leads and leads[attr.name].notna().any()
    }
    won = _won(tables)
    outcomes = deal_outcomes(tables, report)
    cycle = _cycle_fit(outcomes, won)
    team, notes = _reps(tables, won)
    if outcomes is not None:
        notes += outcomes.notes
    win_rate = None
    if outcomes is not None and math.isfinite(outcomes.lead_win_probability):
        win_rate = outcomes.lead_win_probability
    target = None
    if outcomes is not None and math.isfinite(outcomes.cycle_mean_days):
        target = outcomes.cycle_mean_days
    elif cycle is not None and len(cycle.sample):
        target = float(np.mean(cycle.sample))
    won_leads = set(won["lead_id"])
    is_won = leads["lead_id"].isin(won_leads)
    by_channel = {}
    if "channel" in leads and "opportunities" in tables:
        rates = is_won.groupby(leads["channel"]).mean().sort_index()
        by_channel = {str(k): round(float(v), 4) for k, v in rates.items()}
    delay, late = None, None
    payments = tables.get("payments")
    if payments is not None and {"due", "paid"} <= set(payments):
        days = ((payments["paid"] - payments["due"]) / pd.Timedelta(days=1)).dropna()
        if len(days):
            late = round(float((days > 0).mean()), 4)
            delay = fit_duration("days paid late (late payments)", days[days > 0])
    timeline = leads.get("timeline_days")
    return Calibration(
        source=str(report.get("mapping", "")),
        country=report.get("country"),
        arrivals=arrivals,
        mixes=mixes,
        timeline_days_mean=None if timeline is None else float(timeline.mean()),
        timeline_known=None if timeline is None else float(timeline.notna().mean()),
        cycle=cycle,
        win_rate=win_rate,
        win_rate_by_channel=by_channel,
        reps=team,
        payment_delay=delay,
        late_share=late,
        deals=outcomes,
        cycle_target_days=target,
        notes=notes,
    )


def weekday_table(cal: Calibration, leads: pd.DataFrame) -> pd.DataFrame:
    """Observed vs fitted share of leads per weekday (for reports)."""
    observed = np.bincount(leads["arrived"].dropna().dt.day_of_week, minlength=7)
    return pd.DataFrame(
        {
            "weekday": list(WEEKDAYS),
            "observed": observed / observed.sum(),
            "fitted": cal.arrivals.expected_weekday_share(),
        }
    )
