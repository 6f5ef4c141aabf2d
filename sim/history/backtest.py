"""Backtests: policies on a replayed historical period, and held-out calibration checks.

:func:`backtest` splits the imported leads (:mod:`sim.history.backtest_splits`): one
split (the last ``holdout_days``, default 60 when the export is long enough, or from
``split_date``) or ``splits`` rolling origins.  Then:

1. **Calibration check, every split** (:mod:`sim.history.backtest_check`): arrivals
   fitted on the leads before the origin only are simulated over the held-out period and
   compared with what the export recorded there (leads, leads per week, weekend share,
   channel shares and, with a deal-stage model, the won shares of the held-out leads,
   within the period and by the export's snapshot): relative error and within the 95%
   prediction band.  :func:`split_errors` sums it up per split, with the mean absolute
   relative error over the splits.
2. **Replay, last split**: the held-out period's real leads (times and attributes,
   :mod:`sim.history.replay`) run through the scenario's team under the *historical*
   policy and the *candidate*, on the same replication seeds, and
   :func:`sim.experiments.replications.paired_differences` compares every KPI.

Days at the end of the export that the arrival fit finds incomplete (a truncated
snapshot) are left out of every held-out period (:attr:`Backtest.incomplete_tail`).  With
   the ``historical_assignment`` router (``scenarios/policies/historical_assignment.yaml``,
   the default baseline when the export says who got each lead), each replayed lead goes
   to its real rep; :attr:`Backtest.assignment` counts the leads that did, and those that
   went by the fallback rule because their rep is unknown, not in the team or not eligible.

:func:`write_backtest` writes the tables; the check table ``calibration_check.csv`` is the
one list of checks that the CLI prints and the report shows (:func:`read_check`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from policies.policy import PolicyBase
from sim.errors import ConfigError, DataError
from sim.experiments.replications import compare_runs, comparison_frame, paired_differences
from sim.history.backtest_check import (
    CHECK_COLUMNS,
    WON_SHARE,
    calibration_check,
    expected_rate,
    is_share,
    observed_measures,
    read_table,
    real_won_at,
    snapshot_day,
    won_within_share,
)
from sim.history.backtest_splits import Split, split_errors
from sim.history.backtest_splits import splits as choose_splits
from sim.history.calibrate import ArrivalFit, fit_arrivals
from sim.io.output import confined
from sim.io.safe_text import write_csv
from sim.world.scenario import ReplayArrivals, Scenario

__all__ = [
    "CHECK_COLUMNS",
    "WON_SHARE",
    "Backtest",
    "backtest",
    "has_historical_reps",
    "is_share",
    "observed_measures",
    "read_check",
    "split_day",
    "split_errors",
    "won_within_share",
    "write_backtest",
]

FILES = {
    "comparison": "comparison.csv",
    "replications": "replications.csv",
    "check": "calibration_check.csv",
    "errors": "split_errors.csv",
    "summary": "backtest.json",
}
"""What :func:`write_backtest` writes, by key."""


@dataclass
class Backtest:
    """The result of :func:`backtest`; the replay is of the last split."""

    splits: list[Split]
    labels: tuple[str, str]
    policies: dict  # label -> {"name": policy name, "file": policy file or None}
    fitted: ArrivalFit  # arrivals fitted before the last split
    fits: list[dict]  # per split: training leads, arrival model, leads per month
    replay_frame: pd.DataFrame  # one row per (policy, replication): KPIs
    differences: pd.DataFrame  # paired_differences(historical, candidate)
    check: pd.DataFrame  # CHECK_COLUMNS, every split
    replayed_leads: int
    runs: dict  # label -> replayed RunResults (plots, warnings)
    assignment: dict | None = field(default=None)  # historical assignment counts
    incomplete_tail: dict | None = field(default=None)  # days left out at the end

    @property
    def split(self) -> pd.Timestamp:
        """The origin of the last split (the replayed period's first day)."""
        return self.splits[-1].origin

    @property
    def holdout_days(self) -> int:
        """Held-out days of each split."""
        return self.splits[-1].days

    @property
    def errors(self) -> pd.DataFrame:
        """Relative errors per split and their summary row (:func:`split_errors`)."""
        return split_errors(self.check)

    def summary(self) -> dict:
        """Headline numbers (JSON-ready)."""
        last = self.check[self.check["split"] == self.splits[-1].label]
        errors = self.errors
        overall = errors["mean_abs_error"].iloc[-1] if len(errors) else math.nan
        trend = self.fitted.trend_per_month
        return {
            "split": str(self.split.date()),
            "holdout_days": self.holdout_days,
            "splits": [s.label for s in self.splits],
            "labels": list(self.labels),
            "policies": [{"label": k, **v} for k, v in self.policies.items()],
            "replayed_leads": self.replayed_leads,
            "training_leads": self.fitted.leads,
            "fitted_leads_per_month": round(self.fitted.leads_per_month, 3),
            "trend_per_month": None if math.isnan(trend) else round(trend, 4),
            "fits": self.fits,
            "within": int(last["within"].sum()),
            "measures": len(last),
            "within_all_splits": int(self.check["within"].sum()),
            "checks_all_splits": len(self.check),
            "mean_abs_relative_error": None if math.isnan(overall) else round(overall, 4),
            "assignment": self.assignment,
            "incomplete_tail": self.incomplete_tail,
        }


def split_day(leads: pd.DataFrame, holdout_days: int | None) -> tuple[pd.Timestamp, int]:
    """The first held-out day and the held-out length of a single split."""
    last = choose_splits(leads, holdout_days)[-1]
    return last.origin, last.days


def has_historical_reps(data_dir: str | Path) -> bool:
    """Whether the import says who got at least one lead (the historical-assignment
    baseline can then replay it)."""
    from sim.history.import_folder import require_imported
    from sim.history.replay import historical_reps

    require_imported(Path(data_dir))  # one line for a folder an import did not finish
    path = Path(data_dir) / "leads.parquet"
    return path.is_file() and len(historical_reps(path)) > 0


def _assignment(runs: list, table: pd.DataFrame, team: set[str], fallback: str) -> dict:
    """How the replayed leads of *runs* were routed by the historical assignment."""
    owner = table["historical_rep"]
    known = owner.notna()
    missing = known & ~owner.isin(team)
    wanted = owner.fillna("").astype(str).to_numpy(dtype=object)
    reached = []
    for result in runs:
        first = result.leads.set_index("lead_id")["first_rep"].astype("string")
        got = first.reindex(range(len(table))).fillna("").to_numpy(dtype=object)
        reached.append(int((known.to_numpy() & (got == wanted)).sum()))
    to_rep = float(np.mean(reached)) if reached else 0.0
    return {
        "leads": len(table),
        "with_historical_rep": int(known.sum()),
        "to_historical_rep": round(to_rep, 1),
        "rep_not_in_team": int(missing.sum()),
        "reps_not_in_team": sorted(set(owner[missing])),
        "rep_not_eligible": round(int((known & ~missing).sum()) - to_rep, 1),
        "no_historical_rep": int((~known).sum()),
        "fallback": fallback,
    }


def _complete(leads: pd.DataFrame) -> tuple[pd.DataFrame, dict | None]:
    """*leads* without the incomplete days at the end of the export that the arrival fit
    detects (``ArrivalFit.incomplete_tail_days``): the export has not recorded them in
    full, so no held-out period includes them.  Also what was left out (None: nothing)."""
    fitted = fit_arrivals(leads)
    days = int(getattr(fitted, "incomplete_tail_days", 0) or 0)
    if days <= 0:
        return leads, None
    cut = fitted.first_day + pd.Timedelta(days=fitted.days - days)
    kept = leads[leads["arrived"] < cut]
    return kept, {"days": days, "from": str(cut.date()), "leads": len(leads) - len(kept)}


def backtest(
    data_dir: str | Path,
    scenario: Scenario,
    historical: PolicyBase,
    candidate: PolicyBase,
    *,
    holdout_days: int | None = None,
    splits: int = 1,
    split_date=None,
    replications: int = 3,
    seed: int = 0,
    labels: tuple[str, str] = ("historical", "candidate"),
    policy_files: tuple[str | None, str | None] = (None, None),
) -> Backtest:
    """Check the calibration on every split and replay the last one under both policies."""
    from sim.history.import_folder import require_imported
    from sim.history.replay import replay_table

    data_dir = Path(data_dir)
    require_imported(data_dir)  # one line for a folder an import did not finish
    path = data_dir / "leads.parquet"
    if not path.is_file():
        raise ConfigError(f"{data_dir}: no leads.parquet (run 'python -m sim import' first)")
    if labels[0] == labels[1]:
        raise ConfigError(f"labels: both are {labels[0]!r}")
    leads = read_table(path)
    if "arrived" not in leads.columns:
        raise DataError(f"{path}: column 'arrived' missing (not a canonical leads table)")
    real_won = real_won_at(data_dir) if scenario.process is not None else None
    snapshot = snapshot_day(data_dir, leads, real_won)
    leads, tail = _complete(leads)
    chosen = choose_splits(leads, holdout_days, count=splits, split_date=split_date)
    checks, fits = [], []
    for split in chosen:
        fitted = fit_arrivals(leads[leads["arrived"] < split.origin])
        rate, model = expected_rate(fitted, split)
        fits.append(
            {"split": split.label, "training_leads": fitted.leads, "arrival_model": model}
            | {"leads_per_month": round(rate, 3)}
        )
        checks.append(
            calibration_check(
                leads,
                scenario,
                historical,
                split,
                fitted,
                replications=replications,
                seed=seed,
                real_won=real_won,
                snapshot=snapshot,
            )
        )
    last = chosen[-1]
    replay = scenario.model_copy(
        update={
            "start": last.origin.to_pydatetime(),
            "horizon_days": float(last.days),
            "warmup_days": 0.0,
            "arrivals": ReplayArrivals(replay=path.resolve()),
        }
    )
    policies = dict(zip(labels, (historical, candidate), strict=True))
    runs = compare_runs(replay, policies, replications, seed)
    frame = comparison_frame(runs)
    table = replay_table(path.resolve(), last.origin.to_pydatetime())
    table = table[table["arrived"] < last.end]
    assignment = None
    routing = getattr(historical, "routing", None)
    if routing is not None and routing.name == "historical_assignment":
        team = {rep.id for rep in scenario.team.members()}
        assignment = _assignment(runs[labels[0]], table, team, routing.fallback)
    named = {
        label: {"name": policy.name, "file": None if file is None else str(file)}
        for label, policy, file in zip(labels, (historical, candidate), policy_files, strict=True)
    }
    return Backtest(
        splits=chosen,
        labels=labels,
        policies=named,
        fitted=fitted,
        fits=fits,
        replay_frame=frame,
        differences=paired_differences(frame, labels[0], labels[1]),
        check=pd.concat(checks, ignore_index=True),
        replayed_leads=len(table),
        runs=runs,
        assignment=assignment,
        incomplete_tail=tail,
    )


def write_backtest(result: Backtest, out: str | Path) -> dict[str, Path]:
    """Write ``comparison.csv``, ``replications.csv``, ``calibration_check.csv`` (every
    check of every split), ``split_errors.csv`` and ``backtest.json`` into *out*."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{out}: cannot create output folder ({exc.strerror})") from None
    paths = {key: confined(out, name) for key, name in FILES.items()}
    write_csv(result.differences, paths["comparison"])  # text cells neutralised
    write_csv(
        result.replay_frame.assign(seed=result.replay_frame["seed"].map(str)), paths["replications"]
    )
    write_csv(result.check, paths["check"])
    write_csv(result.errors, paths["errors"])
    paths["summary"].write_text(json.dumps(result.summary(), indent=2) + "\n", encoding="utf-8")
    return paths


def read_check(out: str | Path) -> pd.DataFrame:
    """The check table a backtest wrote into *out* (``calibration_check.csv``): the one
    list of checks the CLI prints and the report shows."""
    path = Path(out) / FILES["check"]
    try:
        frame = pd.read_csv(path, dtype={"split": str, "measure": str}, keep_default_na=False)
    except OSError as exc:
        raise DataError(f"{path}: cannot read the check table ({exc.strerror})") from None
    for column in CHECK_COLUMNS[3:-1]:
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    frame["within"] = frame["within"].astype(str).eq("True")
    return frame[list(CHECK_COLUMNS)]
