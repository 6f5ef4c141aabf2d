"""What ``python -m sim backtest`` prints: plain lines made from the written tables.

The check lines are made from the check table as written (``calibration_check.csv``,
read back by :func:`sim.history.backtest.read_check`), the table the report shows too,
so the console and the report list the same checks.
"""

from __future__ import annotations

import math

import pandas as pd

from sim.history.backtest_check import is_share
from sim.history.backtest_splits import SUMMARY_LABEL

__all__ = ["assignment_lines", "check_lines", "error_lines", "policy_lines", "tail_lines"]


def policy_lines(summary: dict) -> list[str]:
    """One line per compared policy: its role, its ``name`` and its file."""
    return [f"{p['label']}: {p['name']} ({p['file'] or 'built in'})" for p in summary["policies"]]


def tail_lines(tail: dict | None) -> list[str]:
    """The incomplete days left out at the end of the export (none when complete)."""
    if not tail:
        return []
    return [
        f"note: the last {tail['days']} day(s) of the export, from {tail['from']} "
        f"({tail['leads']} leads), look incomplete and are left out of the held-out period"
    ]


def assignment_lines(assignment: dict | None) -> list[str]:
    """How the historical assignment routed the replayed leads (none without it)."""
    if not assignment:
        return []
    a = assignment
    lines = [
        f"historical assignment: {a['to_historical_rep']:g} of {a['leads']} replayed leads went "
        f"to the rep who really got them ({a['with_historical_rep']} have a known rep); "
        f"fallback rule {a['fallback']}: {a['no_historical_rep']} with no known rep, "
        f"{a['rep_not_in_team']} whose rep is not in the team, "
        f"{a['rep_not_eligible']:g} whose rep was not eligible then (mean per replication)"
    ]
    if a["reps_not_in_team"]:
        shown = ", ".join(a["reps_not_in_team"][:10])
        more = len(a["reps_not_in_team"]) - 10
        lines.append(
            f"warning: reps not in the scenario's team: {shown}"
            + (f" (+{more})" if more > 0 else "")
        )
    return lines


def _value(measure: str, value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.1%}" if is_share(measure) else f"{value:,.1f}"


def check_lines(check: pd.DataFrame) -> list[str]:
    """Every check of every split: a heading per split, then one line per measure."""
    lines = []
    for label, part in check.groupby("split", sort=True):
        days = int(part["days"].iloc[0])
        lines.append(
            f"split {label} ({days} days held out): {int(part['within'].sum())} of "
            f"{len(part)} checks within the 95% prediction band"
        )
        width = max(len(m) for m in part["measure"])
        for row in part.itertuples(index=False):
            error = "n/a" if math.isnan(row.relative_error) else f"{row.relative_error:+.1%}"
            lines.append(
                f"  {row.measure:<{width}}  real {_value(row.measure, row.real):>9}  "
                f"model {_value(row.measure, row.simulated_mean):>9}  band "
                f"{_value(row.measure, row.band_low)}-{_value(row.measure, row.band_high)}  "
                f"error {error:>7}  {'within' if row.within else 'OUTSIDE'}"
            )
    return lines


def error_lines(errors: pd.DataFrame) -> list[str]:
    """The per-split error table: lead volume and won share errors, checks within, mean
    absolute relative error; the summary row last."""
    if errors.empty:
        return []
    cols = ["split", "days", "within", "checks", "mean_abs_error"]
    cols += [c for c in ("leads", "won_share", "won_within_period_share") if c in errors.columns]
    table = errors[cols].copy()
    for c in cols[4:]:
        table[c] = table[c].map(lambda v: "n/a" if pd.isna(v) else f"{v:+.1%}")
    table["mean_abs_error"] = table["mean_abs_error"].str.lstrip("+")
    summary = table["split"] == SUMMARY_LABEL  # mean absolute errors: no sign
    for c in cols[5:]:
        table.loc[summary, c] = table.loc[summary, c].str.lstrip("+")
    heading = "relative error (model - real) / real per split:"
    return [heading, *table.to_string(index=False).splitlines()]
