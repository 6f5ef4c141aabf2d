"""Writing a calibrated scenario: YAML whose comments say what each number was fitted from.

:func:`scenario_yaml` turns a :class:`sim.history.calibrate.Calibration` into scenario text that
:func:`sim.world.loading.load_scenario` accepts: the team from the export's reps (each with its
median won cycle as ``close_cycle_days``), calendars with the mapping's holiday country,
Poisson arrivals with the fitted rate and weekday x hour profile (or a ``replay`` of the
imported leads), the lead mixes.  The arrival comments name the chosen arrival model,
why it was chosen and every candidate's cross-validation errors; ``leads_per_month`` is the
model's rate at the end of the fitted window.  Calibration notes (e.g. reps with deals
missing from the reps table) are ``# NOTE:`` lines.  The deal outcomes (censoring-aware),
the cycle time to won and the win rates are comments here, with every candidate's KS
distance; ``python -m sim calibrate`` then appends a
``process:`` block fitted to them by simulation (:mod:`sim.history.deal_stage_fit`).  Payment
delays stay comments (the incentive ledger's payment behaviour takes them).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from sim.history.calibrate import MIN_FOR_FIT, ArrivalFit, Calibration, DurationFit

__all__ = ["scenario_yaml"]


def _j(value) -> str:
    """A value in YAML flow syntax (JSON is valid YAML)."""
    return json.dumps(value, ensure_ascii=False)


def _dist_comment(d: DurationFit | None, unit: str) -> list[str]:
    if d is None or d.chosen is None:
        n = 0 if d is None else len(d.sample)
        return [f"#   not fitted: {n} observation(s) (need {MIN_FOR_FIT})"]
    q = np.quantile(d.sample, [0.5, 0.9])
    lines = [
        f"#   observed: n={len(d.sample)}, mean {d.sample.mean():.2f}, median {q[0]:.2f}, "
        f"p90 {q[1]:.2f} {unit}"
    ]
    for name, cand in d.candidates.items():
        mark = "  <- chosen (smallest KS distance)" if name == d.chosen else ""
        lines.append(f"#   {_j(cand['spec'])}  KS {cand['ks']:.3f}{mark}")
    return lines


def _team_lines(cal: Calibration) -> list[str]:
    reps = cal.reps
    notes = [f"# NOTE: {note}" for note in cal.notes]
    if reps.empty:
        return [
            *notes,
            "team:  # no rep data in the export: 10 reps assumed",
            '  groups: [{count: 10, id_prefix: "rep-"}]',
        ]
    lines = [
        *notes,
        f"team:  # {len(reps)} reps from the export; close_cycle_days = median won cycle",
    ]
    lines.append("  reps:")
    for rep in reps.itertuples(index=False):
        item = {"id": str(rep.rep_id)}
        region = getattr(rep, "region", None)
        if isinstance(region, str):
            item["region"] = region
        hire = getattr(rep, "hire_date", None)
        if hire is not None and not pd.isna(hire):
            item["hire_date"] = str(pd.Timestamp(hire).date())
        if not math.isnan(rep.close_cycle_days) and rep.close_cycle_days > 0:
            item["close_cycle_days"] = round(float(rep.close_cycle_days), 2)
        missing = "; not in the reps table" if not getattr(rep, "in_reps_table", True) else ""
        lines.append(f"    - {_j(item)}  # {rep.won} won deal(s){missing}")
    return lines


def _cv_lines(a: ArrivalFit) -> list[str]:
    table = a.cv_summary()
    if table.empty:
        return []
    horizon = int(a.cv["horizon_days"].iloc[0])
    lines = [
        f"# Cross-validation ({horizon}-day forecasts from {int(table['origins'].max())} "
        "origins; RMSE and MAE of daily counts, MAPE of the period's total):"
    ]
    for row in table.itertuples(index=False):
        mark = "  <- chosen" if row.model == a.model else ""
        lines.append(
            f"#   {row.model:<24} RMSE {row.rmse:6.2f}  MAE {row.mae:6.2f}  "
            f"MAPE {row.mape:6.1%}{mark}"
        )
    return lines


def _arrival_lines(cal: Calibration, replay: str | None) -> list[str]:
    a = cal.arrivals
    trend = (
        f"{a.trend_per_month:+.1%} per month (least squares over {a.trend_weeks} full weeks)"
        if not math.isnan(a.trend_per_month)
        else "not fitted (fewer than 3 full weeks)"
    )
    end = a.first_day + pd.Timedelta(days=a.fitted_days - 1)
    lines = [
        f"# Arrivals: {a.leads} leads over {a.days} days from {a.first_day.date()} (mean "
        f"{a.leads_per_month:.1f} leads/month); weekly counts change {trend}.",
        f"# Arrival model: {a.model_reason}",
        *_cv_lines(a),
    ]
    if a.incomplete_tail_days:
        lines.append(
            f"# The last {a.incomplete_tail_days} day(s) of the export are incomplete and left "
            "out of the fit."
        )
    if a.curve is not None and a.curve.trend != "none":
        per_month = a.curve.slope_per_day() * 30.44 / max(a.curve.level(a.fitted_days - 1), 1e-9)
        lines.append(
            f"# Trend of the chosen model: {per_month:+.1%} of the rate per month at {end.date()} "
            "(the Poisson rate below is constant: the backtest's expected_leads applies the trend)."
        )
    lines += [
        "# leads_per_month below: the model's rate at the end of the fitted window "
        f"({end.date()}).",
        "# Weekday profile: leads per weekday / days of that weekday, scaled to mean 1; daily "
        f"counts vs this Poisson model: chi-square / df = {a.dispersion:.2f} (1 = Poisson).",
    ]
    if a.exact_share < 0.5:
        lines.append(
            f"# Hour profile: only {a.exact_share:.0%} of arrivals have a time of day; the "
            "profile follows the import's date-only rule (placed times), not observed hours."
        )
    else:
        lines.append(
            f"# Hour profile: from the {a.exact_share:.0%} of arrivals with a time of day "
            f"(hour-of-week KS distance {a.hour_ks:.3f})."
        )
    if replay is not None:
        lines.append("# Replay: the imported leads themselves, real times and attributes.")
        lines.append("arrivals:")
        lines.append(f"  replay: {_j(replay)}")
        return lines
    lines += [
        "arrivals:",
        "  process: poisson",
        f"  leads_per_month: {round(max(a.rate_at_end, 0.01), 2)}",
        "  profile:",
        f"    weekday: {_j(a.weekday)}",
        f"    hour: {_j(a.hour)}",
    ]
    return lines


def _lead_lines(cal: Calibration) -> list[str]:
    lines = ["leads:  # mixes: share of accepted leads with each value"]
    for key, mix in cal.mixes.items():
        lines.append(f"  {key}: {_j(mix)}")
    if cal.timeline_days_mean is not None and cal.timeline_days_mean > 0:
        lines.append(
            f"  timeline_days: {{dist: exponential, mean: {cal.timeline_days_mean:.1f}}}"
            "  # mean of timeline_days (after channel defaults)"
        )
        lines.append(f"  timeline_known: {cal.timeline_known:.4f}  # share with a timeline")
    return lines


def _deal_lines(cal: Calibration) -> list[str]:
    d = cal.deals
    if d is None:
        return []
    lines = [
        f"# Deals at the snapshot {d.snapshot.date()}: {d.n} ({d.n_won} won, {d.n_lost} lost, "
        f"{d.n_open} open; open deals are right-censored at their age).",
        f"# Win rate among closed deals: {d.win_rate_closed:.4f}; eventual win probability per "
        f"deal (Aalen-Johansen, lost as a competing risk): {d.win_probability:.4f}; per lead: "
        f"{d.lead_win_probability:.4f}.",
        f"# Won cycle, censoring-aware: mean {d.cycle_mean_days:.2f}, median "
        f"{d.cycle_median_days:.2f} days (the mean is the deal-stage fit's target).",
    ]
    if d.unit == "lead":
        lines.insert(
            1,
            f"# Won deals only: a lead without a win is censored at its age; mixture cure "
            f"model ({d.cure.dist} cycle, chosen by AIC) for the eventual win probability.",
        )
    return lines


def _process_comments(cal: Calibration) -> list[str]:
    lines = [
        "# Fitted from the deals (the process: block below is fitted to the cycle and win rate",
        "# by simulation; payment delays feed the ledger):",
        *_deal_lines(cal),
        "# Cycle time, first contact -> won (days; from the arrival day when it was date-only;",
        "# fitted by maximum likelihood with censored deals when there are open ones):",
        *_dist_comment(cal.cycle, "days"),
    ]
    if cal.win_rate is not None:
        lines.append(f"# Win rate per lead (eventual, censoring-aware): {cal.win_rate:.4f}; share")
        lines.append(f"# of leads with a won deal by channel: {_j(cal.win_rate_by_channel)}")
    if cal.late_share is not None:
        lines.append(f"# Payments: share paid after the due date {cal.late_share:.4f}; days late:")
        lines += _dist_comment(cal.payment_delay, "days")
    return lines


def scenario_yaml(
    cal: Calibration,
    name: str,
    replay: str | None = None,
    horizon_days: float | None = None,
) -> str:
    """Scenario YAML text for *cal*; *replay*: a leads.parquet path relative to the file."""
    a = cal.arrivals
    horizon = float(horizon_days or min(a.days, 3660))
    country = _j(cal.country) if cal.country else "CN"
    lines = [
        f"# Calibrated from imported data (mapping {cal.source!r}) by 'python -m sim calibrate'.",
        "# Every number below says what it was fitted from; edit freely, then re-run.",
        f"name: {_j(name)}",
        f"description: {_j(f'fitted to {a.leads} imported leads from {a.first_day.date()}')}",
        f'start: "{a.first_day.isoformat()}"  # first arrival day',
        f"horizon_days: {horizon:g}  # the observed period",
        "calendars:  # not in the export: Mon-Fri 09:00-18:00 with the country's holidays",
        f'  standard: {{weekdays: [mon, tue, wed, thu, fri], hours: ["09:00", "18:00"], '
        f"holidays: {{country: {country}}}}}",
        *_team_lines(cal),
        *_arrival_lines(cal, replay),
        *_lead_lines(cal),
        "# Qualification at first touch: not in the export (deals are). When the export has deals,",
        "# the qualification: block below is fitted with the deal-stage model; otherwise defaults.",
        *_process_comments(cal),
    ]
    return "\n".join(lines) + "\n"
