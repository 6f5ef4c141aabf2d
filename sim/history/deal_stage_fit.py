"""Fitting the deal-stage model (``process:``) to imported deals: converge or say so.

An export gives the eventual win rate per lead and the mean won cycle (lead arrival ->
won, days), censoring-aware (:mod:`sim.history.deal_outcomes`); usually not the five
checkpoints.  :func:`fit_process` keeps the default stage model's shape (the relative
length and pass odds of the five checkpoints) and searches, by simulating the calibrated
scenario itself on common random numbers (:mod:`sim.history.stage_search`):

- the **pass odds**: one logit shift of the five checkpoints' odds, so that a deal is won
  with the export's eventual win probability per deal;
- the **qualification odds** of the scenario (the share of leads that become deals: the
  workbench default caps the win rate per lead near 0.2): one logit shift of the base
  probabilities by grade and of the response decay's floor, so that qualification x
  checkpoints reproduce the win rate per lead;
- the **stage durations**: their total length (so the mean won cycle, first-touch delay
  included, is the export's) and their gamma shape (so the won cycles have the observed
  spread).

With a ``stage_history`` table the durations and pass odds come from it directly
(:mod:`sim.history.stage_history_fit`); only the qualification is searched, then the
targets are checked.

Process behaviours the export does not record (visit slips, proof failures, requirement
changes, custom development, POC revisions, missing fields) are off
(:func:`neutral_frictions`); grade, budget band and rep skill are neutral.  The fit
**converges** when both the win rate and the mean cycle are within :data:`TOLERANCE`
(5%) of the targets; otherwise :attr:`ProcessFit.miss` says by how much, and
``python -m sim calibrate`` exits 3 with that line (the scenario is still written, with
the miss in its comments and in the ``<name>.fit.json`` sidecar reports read).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from policies.checkpoints import CHECKPOINTS
from sim.history.calibrate import Calibration
from sim.history.stage_search import (
    SHAPE_BOUNDS,
    StageParams,
    pass_probability,
    qualification_at,
    search,
    shift_for_pass_probability,
)
from sim.world.process_spec import ProcessSpec, _default_stages, _default_values
from sim.world.scenario import Scenario

__all__ = [
    "NEUTRAL_ODDS",
    "TOLERANCE",
    "ProcessFit",
    "fit_process",
    "fit_report_path",
    "neutral_frictions",
    "process_block",
    "read_fit_report",
    "write_calibrated_scenario",
]

TOLERANCE = 0.05
"""Largest relative error on the win rate and on the mean cycle of a converged fit."""

NEUTRAL_ODDS = {
    "grade": {"A": 1.0, "B": 1.0, "C": 1.0},
    "budget_band": {},
    "skill_exponent": 0.0,
    "skill_duration_exponent": 0.0,
    "duration_by_grade": {"A": 1.0, "B": 1.0, "C": 1.0},
    "duration_by_band": {},
}
"""Grade, budget band and rep skill change nothing (the export does not tell)."""

SOFT_QUALIFICATION = 0.9
"""Without the export's win probability per deal: the default pass odds are kept unless
the qualification share would have to exceed this."""


@dataclass
class ProcessFit:
    """The fitted ``process:`` (and ``qualification:``) blocks and how close the
    simulation comes to the export."""

    process: dict  # the block, as plain data (validates as ProcessSpec)
    target_win_rate: float
    simulated_win_rate: float
    target_cycle_mean: float
    simulated_cycle_mean: float
    cycle_ks: float  # two-sample KS distance, simulated vs observed cycles
    won_simulated: int
    runs: int  # simulated runs the search used
    qualification: dict | None = None  # the fitted qualification block (None: kept)
    method: str = "search"  # or "stage_history"
    realised_win_rate: float = math.nan  # won deals / leads of the checking run
    open_at_end: int = 0  # deals still open at the end of the checking run
    leads_simulated: int = 0
    target_pass_probability: float = math.nan
    notes: list[str] = field(default_factory=list)

    @property
    def win_error(self) -> float:
        """Relative error of the simulated win rate (simulated / target - 1)."""
        return self.simulated_win_rate / self.target_win_rate - 1

    @property
    def cycle_error(self) -> float:
        """Relative error of the simulated mean won cycle."""
        return self.simulated_cycle_mean / self.target_cycle_mean - 1

    @property
    def converged(self) -> bool:
        """Both measures within :data:`TOLERANCE` of their targets."""
        errors = (self.win_error, self.cycle_error)
        return all(math.isfinite(e) and abs(e) <= TOLERANCE for e in errors)

    @property
    def miss(self) -> str | None:
        """One line giving the miss, or None when converged."""
        if self.converged:
            return None
        return f"deal-stage fit missed: {self.measures_line()}"

    def measures_line(self) -> str:
        """Both measures, simulated vs target, with their relative errors."""

        def pct(e: float) -> str:
            return f"{e:+.1%}" if math.isfinite(e) else "n/a"

        def days(v: float) -> str:
            return f"{v:.2f}" if abs(v) < 1 else f"{v:.1f}"

        return (
            f"win rate {self.simulated_win_rate:.3f} simulated vs {self.target_win_rate:.3f} "
            f"target ({pct(self.win_error)}), mean cycle {days(self.simulated_cycle_mean)} vs "
            f"{days(self.target_cycle_mean)} days ({pct(self.cycle_error)})"
        )

    def report(self) -> dict:
        """The ``.fit.json`` sidecar: targets, simulated, relative errors, convergence."""

        def r(v: float) -> float | None:
            return round(float(v), 6) if math.isfinite(v) else None

        return {
            "method": self.method,
            "tolerance": TOLERANCE,
            "targets": {
                "win_rate": r(self.target_win_rate),
                "cycle_mean_days": r(self.target_cycle_mean),
            },
            "simulated": {
                "win_rate": r(self.simulated_win_rate),
                "cycle_mean_days": r(self.simulated_cycle_mean),
                "realised_win_rate": r(self.realised_win_rate),
                "won": self.won_simulated,
                "leads": self.leads_simulated,
                "open_at_end": self.open_at_end,
                "cycle_ks": r(self.cycle_ks),
            },
            "relative_error": {
                "win_rate": r(self.win_error),
                "cycle_mean_days": r(self.cycle_error),
            },
            "converged": self.converged,
            "miss": self.miss,
            "runs": self.runs,
            "pass_probability": r(pass_probability(_advance(self.process))),
            "notes": list(self.notes),
        }


def _advance(block: dict) -> list[float]:
    return [block["stages"][name]["advance"] for name in CHECKPOINTS]


def neutral_frictions() -> dict:
    """Process behaviours an export does not record, switched off: no visit slip, proof
    failure, requirement change, custom development, POC revision or missing field.  A
    strategist turns them on (or a proof rule) to see what they would cost."""
    failures = ProcessSpec().proof_failure
    return {
        "visits": {"slip_days": {"dist": "constant", "value": 0.0}},
        "requirement_changes": {"rate_per_30_days": {"dist": "constant", "value": 0.0}},
        "custom_development": {"probability": 0.0},
        "poc_revisions_mean": 0.0,
        "data_entry": {"fill_probability": 1.0},
        "proof_failure": {kind: dict.fromkeys(sites, 0.0) for kind, sites in failures.items()},
    }


def _contract_values(scenario: Scenario) -> dict:
    """Default contract values by budget band; a band the defaults lack takes medium's."""
    defaults = {k: v.model_dump(by_alias=True) for k, v in _default_values().items()}
    return {band: defaults.get(band, defaults["medium"]) for band in scenario.leads.budget_bands}


def _block_maker(values: dict):
    def make(params: StageParams) -> dict:
        shapes = params.shape if isinstance(params.shape, tuple) else (params.shape,) * 5
        stages = {
            name: {
                "duration_days": {"dist": "gamma", "mean": round(float(m), 4), "shape": k},
                "advance": round(float(a), 6),
            }
            for name, m, a, k in zip(CHECKPOINTS, params.means, params.advance, shapes, strict=True)
        }
        return {
            "odds": NEUTRAL_ODDS,
            "stages": stages,
            "contract_value": values,
            **neutral_frictions(),
        }

    return make


def _targets(cal: Calibration) -> tuple[float, float, float] | None:
    """Win rate per lead, mean won cycle and the won cycles' variance the fit must reach
    (None when the export has no deals to fit)."""
    if cal.win_rate is None or cal.cycle is None or not len(cal.cycle.sample):
        return None
    sample = np.asarray(cal.cycle.sample, dtype=float)
    cycle = getattr(cal, "cycle_target_days", None)
    cycle = float(cycle) if cycle is not None and math.isfinite(cycle) else float(sample.mean())
    if not (cal.win_rate > 0 and cycle > 0):
        return None
    cv2 = float(np.var(sample, ddof=1)) / float(sample.mean()) ** 2 if len(sample) > 1 else 0.0
    return float(cal.win_rate), cycle, cv2 * cycle**2


def _target_pass_probability(cal: Calibration, win: float, default: float) -> float:
    """The probability that a deal is won: the export's (censoring-aware), else the
    default model's unless the qualification share would have to exceed
    :data:`SOFT_QUALIFICATION`."""
    deals = getattr(cal, "deals", None)
    p = getattr(deals, "win_probability", None)
    if p is not None and math.isfinite(p) and p > 0:
        return float(p)
    return max(default, min(win / SOFT_QUALIFICATION, 1.0))


def fit_process(
    scenario: Scenario,
    cal: Calibration,
    seed: int = 0,
    budget: int = 6,
    stage_history: pd.DataFrame | None = None,
    opportunities: pd.DataFrame | None = None,
    fit_qualification: bool = True,
) -> ProcessFit | None:
    """Fit the stage model of *scenario* (as written from *cal*) to *cal*'s deals with at
    most *budget* simulated runs; None when the export has no deals or won cycles.  With
    a *stage_history* table (and the *opportunities* it refers to) the stages come from
    it (:func:`sim.history.stage_history_fit.stage_model`).  *fit_qualification* False
    keeps the scenario's qualification odds."""
    targets = _targets(cal)
    if targets is None:
        return None
    win, cycle, var = targets
    make = _block_maker(_contract_values(scenario))
    notes: list[str] = []
    fitted_stages = None
    if stage_history is not None and len(stage_history):
        from sim.history.stage_history_fit import stage_model

        fitted_stages = stage_model(stage_history, opportunities)
        notes += fitted_stages.notes
        if not fitted_stages.usable:
            notes.append(
                f"stage history too thin ({fitted_stages.resolved} resolved deal(s)): "
                "the default stage model is searched instead"
            )
    if fitted_stages is not None and fitted_stages.usable:
        start = StageParams(
            means=fitted_stages.means, advance=fitted_stages.advance, shape=fitted_stages.shapes
        )
        p_target, method = pass_probability(start.advance), "stage_history"
    else:
        base = _default_stages()
        advance0 = np.array([base[name].advance for name in CHECKPOINTS])
        means = np.array([base[name].duration_days.mean for name in CHECKPOINTS], dtype=float)
        means *= cycle / means.sum()
        p_target = _target_pass_probability(cal, win, pass_probability(advance0))
        _, advance = shift_for_pass_probability(advance0, p_target)
        shape = float(np.sum(means**2)) / var if var > 0 else SHAPE_BOUNDS[1]
        start = StageParams(
            means=tuple(float(m) for m in means),
            advance=tuple(float(a) for a in advance),
            shape=round(float(np.clip(shape, *SHAPE_BOUNDS)), 4),
        )
        method = "search"
    result = search(
        scenario,
        start,
        make,
        win_rate=win,
        cycle_mean=cycle,
        cycle_var=var,
        fit_stages=method == "search",
        fit_qualification=fit_qualification,
        budget=budget,
        seed=seed,
    )
    run = result.run
    sample = np.asarray(cal.cycle.sample, dtype=float)
    ks = float(stats.ks_2samp(run.cycles, sample).statistic) if len(run.cycles) else math.nan
    shift = result.params.qualification_shift
    qual = qualification_at(scenario.qualification, shift).model_dump(mode="json")
    if run.open_at_end:
        notes.append(f"{run.open_at_end} simulated deal(s) still open at the end of the check")
    return ProcessFit(
        process=make(result.params),
        qualification=qual if shift != 0 else None,
        target_win_rate=win,
        simulated_win_rate=run.win_rate,
        target_cycle_mean=cycle,
        simulated_cycle_mean=run.cycle_mean,
        cycle_ks=ks,
        won_simulated=run.won,
        runs=result.runs,
        method=method,
        realised_win_rate=run.realised_win_rate,
        open_at_end=run.open_at_end,
        leads_simulated=run.leads,
        target_pass_probability=p_target,
        notes=notes,
    )


def process_block(fit: ProcessFit) -> list[str]:
    """YAML lines of the fitted ``process:`` (and ``qualification:``) blocks, with
    comments on the fit."""

    def j(value) -> str:
        return json.dumps(value, ensure_ascii=False)

    p = fit.process
    how = (
        "# stage durations and pass odds read off the export's stage history, the\n"
        "# qualification odds searched"
        if fit.method == "stage_history"
        else "# the default checkpoints' relative lengths and pass odds, searched (pass odds,\n"
        "# qualification odds, stage length and gamma shape)"
    )
    verdict = "converged" if fit.converged else f"MISSED (tolerance {TOLERANCE:.0%})"
    lines = [
        "# Deal-stage model (sim.history.deal_stage_fit):",
        *how.split("\n"),
        f"# by {fit.runs} simulated run(s) of this scenario on common random numbers",
        f"# ({fit.leads_simulated} leads, then no arrivals until the deals closed): {verdict}:",
        f"# {fit.measures_line()};",
        f"# cycle KS distance {fit.cycle_ks:.3f}, {fit.won_simulated} simulated wins.",
        "# Grade, budget band and skill are neutral; contract values are workbench defaults;",
        "# visit slips, proof failures, requirement changes, custom development, POC revisions",
        "# and missing fields are off (the export does not record them).",
        *(f"# note: {note}" for note in fit.notes),
    ]
    if fit.qualification is not None:
        lines += [
            "# Qualification at first touch (the share of leads that become deals), fitted:",
            f"qualification: {j(fit.qualification)}",
        ]
    lines += [
        "process:",
        f"  odds: {j(p['odds'])}",
        *(f"  {key}: {j(p[key])}" for key in neutral_frictions()),
        "  stages:",
    ]
    lines += [f"    {name}: {j(stage)}" for name, stage in p["stages"].items()]
    lines.append("  contract_value:")
    lines += [f"    {band}: {j(value)}" for band, value in p["contract_value"].items()]
    return lines


def fit_report_path(scenario_path: str | Path) -> Path:
    """The sidecar of a calibrated scenario: ``fitted.yaml`` -> ``fitted.fit.json``."""
    return Path(scenario_path).with_suffix(".fit.json")


def read_fit_report(scenario_path: str | Path) -> dict | None:
    """The deal-stage fit's sidecar of *scenario_path* (None when there is none)."""
    path = fit_report_path(scenario_path)
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def write_calibrated_scenario(
    cal: Calibration,
    target: Path,
    name: str,
    replay: str | None = None,
    stage_history: pd.DataFrame | None = None,
    opportunities: pd.DataFrame | None = None,
    budget: int = 6,
) -> ProcessFit | None:
    """Write the scenario ``python -m sim calibrate`` writes to *target*: the fitted
    lead side (:func:`sim.history.scenario_writer.scenario_yaml`) and, when the export
    has deals, the fitted ``process:`` block, then the fit's sidecar
    (:func:`fit_report_path`; removed when there is no fit).  The file appears only once
    complete and loadable, converged or not.  The backtest report uses it too, so both
    check the same measures."""
    from sim.history.scenario_writer import scenario_yaml
    from sim.io.atomic import atomic_path, atomic_write_text
    from sim.world.loading import load_scenario

    text = scenario_yaml(cal, name, replay)
    sidecar = fit_report_path(target)
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
        process = fit_process(
            load_scenario(tmp),  # what we write must load
            cal,
            budget=budget,
            stage_history=stage_history,
            opportunities=opportunities,
            fit_qualification="\nqualification:" not in "\n" + text,  # else the lead side's
        )
        if process is not None:
            tmp.write_text(text + "\n".join(process_block(process)) + "\n", encoding="utf-8")
            load_scenario(tmp)
    if process is not None:
        atomic_write_text(sidecar, json.dumps(process.report(), indent=2) + "\n")
    elif sidecar.exists():
        sidecar.unlink()
    return process
