"""The backtest report read for managers, in English or Chinese.

Everything here reads the tables a backtest wrote (:func:`sim.history.backtest.read_check`
gives ``calibration_check.csv``, the one list of checks the console prints too), so the
report shows every check, the won share included.  :func:`check_rows` is the check table
for people, :func:`error_rows` the per-split errors, :func:`check_verdict` the first
sentence (does the model reproduce the held-out period?), :func:`assignment_text` how the
historical assignment went and :func:`fit_miss_text` the deal-stage fit's miss from the
calibrated scenario's ``.fit.json`` sidecar.  Every word comes from
``locales/backtest.yaml``.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from sim.history.backtest_check import is_share
from sim.history.backtest_splits import SUMMARY_LABEL
from sim.reports.i18n import has_key, tr
from sim.reports.value_format import fmt_date, fmt_days, fmt_number, fmt_percent

__all__ = [
    "assignment_text",
    "check_rows",
    "check_verdict",
    "error_rows",
    "fit_miss_text",
    "measure_name",
    "measure_value",
]


def measure_name(measure: str, lang: str) -> str:
    """A held-out measure in words ("Share from douyin")."""
    if measure.startswith("share:"):
        return tr("bt.measure.share", lang, channel=measure.split(":", 1)[1])
    key = f"bt.measure.{measure}"
    return tr(key, lang) if has_key(key) else measure


def measure_value(measure: str, value: Any, lang: str) -> str:
    """A measure's value: a percentage for a share, a count or rate otherwise."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if is_share(measure):
        return fmt_percent(value, lang)
    return fmt_number(value, lang, 0 if measure == "leads" else 1)


def _error(value: Any, lang: str, sign: bool = True) -> str:
    if value is None or pd.isna(value):
        return "–"
    return fmt_percent(value, lang, 1, sign=sign)


def check_rows(check: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Every row of the check table, for :func:`sim.reports.formatting.people_table`:
    split, measure (words; ``measure_id`` keeps the table's name), real, model, band,
    relative error, within."""
    measures = check["measure"].tolist()

    def values(column: str) -> list[str]:
        return [measure_value(m, v, lang) for m, v in zip(measures, check[column], strict=True)]

    low, high = values("band_low"), values("band_high")
    return pd.DataFrame(
        {
            "split": [fmt_date(pd.Timestamp(s), lang) for s in check["split"]],
            "measure_id": measures,
            "measure": [measure_name(m, lang) for m in measures],
            "real": values("real"),
            "simulated_mean": values("simulated_mean"),
            "band": [f"{lo}–{hi}" for lo, hi in zip(low, high, strict=True)],
            "relative_error": [_error(e, lang) for e in check["relative_error"]],
            "within": check["within"].astype(bool).tolist(),
        }
    )


def error_rows(errors: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The per-split errors (:func:`sim.history.backtest_splits.split_errors`) for people:
    lead volume and won share errors, checks within, mean absolute error; summary last."""
    summary = errors["split"] == SUMMARY_LABEL
    rows = {
        "split": [
            tr("bt.errors.summary", lang) if s else fmt_date(pd.Timestamp(v), lang)
            for v, s in zip(errors["split"], summary, strict=True)
        ],
        "within": [
            tr("bt.errors.within", lang, within=int(w), checks=int(c))
            for w, c in zip(errors["within"], errors["checks"], strict=True)
        ],
    }
    for column in ("leads", "won_share", "won_within_period_share", "mean_abs_error"):
        if column in errors.columns:
            rows[column] = [
                _error(v, lang, sign=not s and column != "mean_abs_error")
                for v, s in zip(errors[column], summary, strict=True)
            ]
    return pd.DataFrame(rows)


def check_verdict(check: pd.DataFrame, replayed_leads: int, lang: str) -> str:
    """Does the model reproduce the held-out period?  The last split's checks, in words,
    naming each measure outside its band; then the lead-volume error over every split."""
    label = max(check["split"])
    last = check[check["split"] == label]
    days = fmt_days(int(last["days"].iloc[0]), lang)
    start = fmt_date(pd.Timestamp(label), lang)
    leads = fmt_number(replayed_leads, lang)
    outside = last[~last["within"].astype(bool)]
    if outside.empty:
        text = tr("bt.verdict.all_within", lang, n=len(last), days=days, start=start, leads=leads)
    else:
        misses = []
        for row in outside.itertuples(index=False):
            above = row.real > row.band_high
            edge = row.band_high if above else row.band_low
            by = abs(row.real - edge)
            misses.append(
                tr(
                    "bt.verdict.miss",
                    lang,
                    measure=measure_name(row.measure, lang),
                    real=measure_value(row.measure, row.real, lang),
                    mean=measure_value(row.measure, row.simulated_mean, lang),
                    low=measure_value(row.measure, row.band_low, lang),
                    high=measure_value(row.measure, row.band_high, lang),
                    by=fmt_number(by * 100, lang, 1) + " " + tr("unit.pp", lang)
                    if is_share(row.measure)
                    else measure_value(row.measure, by, lang),
                    side=tr("bt.side.above" if above else "bt.side.below", lang),
                )
            )
        text = tr(
            "bt.verdict.some_outside",
            lang,
            within=int(last["within"].sum()),
            n=len(last),
            days=days,
            start=start,
            leads=leads,
            misses=("; " if lang == "en" else "；").join(misses),
        )
    volume = check[check["measure"] == "leads"]["relative_error"].dropna()
    if check["split"].nunique() > 1 and len(volume):
        text += " " + tr(
            "bt.verdict.splits",
            lang,
            n=check["split"].nunique(),
            error=fmt_percent(float(volume.abs().mean()), lang, 1),
        )
    return text


def assignment_text(assignment: dict | None, lang: str) -> str | None:
    """How the historical assignment routed the replayed leads (None without it)."""
    if not assignment:
        return None
    a = assignment
    text = tr(
        "bt.assignment.text",
        lang,
        reached=fmt_number(a["to_historical_rep"], lang),
        leads=fmt_number(a["leads"], lang),
        known=fmt_number(a["with_historical_rep"], lang),
        fallback=a["fallback"],
        unknown=fmt_number(a["no_historical_rep"], lang),
        missing=fmt_number(a["rep_not_in_team"], lang),
        unavailable=fmt_number(a["rep_not_eligible"], lang),
    )
    if a["reps_not_in_team"]:
        text += " " + tr("bt.assignment.missing", lang, reps=", ".join(a["reps_not_in_team"]))
    return text


def fit_miss_text(report: dict | None, lang: str) -> str | None:
    """The deal-stage fit against its targets, from the ``.fit.json`` sidecar (None
    without one): converged, or the miss in numbers."""
    if not report:
        return None
    target, simulated = report.get("targets", {}), report.get("simulated", {})
    errors = report.get("relative_error", {})

    def share(v: Any) -> str:
        return "–" if v is None else fmt_percent(v, lang)

    def days(v: Any) -> str:
        return "–" if v is None else fmt_days(v, lang)

    return tr(
        "bt.fit_miss.converged" if report.get("converged") else "bt.fit_miss.missed",
        lang,
        win_sim=share(simulated.get("win_rate")),
        win_target=share(target.get("win_rate")),
        win_error=_error(errors.get("win_rate"), lang),
        cycle_sim=days(simulated.get("cycle_mean_days")),
        cycle_target=days(target.get("cycle_mean_days")),
        cycle_error=_error(errors.get("cycle_mean_days"), lang),
        tolerance=fmt_percent(report.get("tolerance", 0.05), lang, 0),
    )
