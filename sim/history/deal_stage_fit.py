"""Fitting the deal-stage model (``process:``) to imported deals, by simulation.

An export gives each won deal's cycle (first contact -> won) and the share of leads that
were won; it does not give the five checkpoints.  :func:`fit_process` keeps the shape of
the default stage model (the relative length and pass odds of the five checkpoints) and
fits two scales to the data, by running the calibrated scenario itself:

- the **pass odds** of every checkpoint are multiplied by ``(target / simulated) ** (1/5)``
  of the win rate per lead (leads with a won deal / leads), so that
  qualification x the five checkpoints x proof stalls reproduce it;
- the **stage durations** are multiplied by target / simulated mean cycle (lead arrival
  -> won, days), which absorbs the first-touch delay; their gamma shape is set so that
  the five stages together have the observed variance of the cycle.

Process behaviours the export does not record (visit slips, proof failures, requirement
changes, custom development, POC revisions, missing fields) are switched off
(:func:`neutral_frictions`).

A few iterations (``iterations``) of one run each converge to within a few percent.
Lead grade, budget band and rep skill are made neutral (multipliers 1): the export says
nothing about them.  Goodness of fit: the Kolmogorov-Smirnov distance between the
simulated and observed cycles, and both win rates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from policies.checkpoints import CHECKPOINTS
from sim.history.calibrate import Calibration
from sim.world.process_spec import ProcessSpec, _default_stages, _default_values
from sim.world.scenario import Scenario

__all__ = [
    "NEUTRAL_ODDS",
    "ProcessFit",
    "fit_process",
    "neutral_frictions",
    "process_block",
    "write_calibrated_scenario",
]

NEUTRAL_ODDS = {
    "grade": {"A": 1.0, "B": 1.0, "C": 1.0},
    "budget_band": {},
    "skill_exponent": 0.0,
    "skill_duration_exponent": 0.0,
    "duration_by_grade": {"A": 1.0, "B": 1.0, "C": 1.0},
    "duration_by_band": {},
}
"""Grade, budget band and rep skill change nothing (the export does not tell)."""

_SHAPE_BOUNDS = (0.2, 50.0)  # gamma shape of a stage's duration: fitted to the spread
_ADVANCE_BOUNDS = (0.02, 0.995)


@dataclass
class ProcessFit:
    """The fitted ``process:`` block and how close the simulation comes to the data."""

    process: dict  # the block, as plain data (validates as ProcessSpec)
    target_win_rate: float
    simulated_win_rate: float
    target_cycle_mean: float
    simulated_cycle_mean: float
    cycle_ks: float  # two-sample KS distance, simulated vs observed cycles
    won_simulated: int
    iterations: int


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


def _shape(means: np.ndarray, sample: np.ndarray) -> float:
    """Gamma shape k of every stage such that the sum of the five stages has the
    observed variance: var = sum(m_i^2) / k."""
    var = float(np.var(sample, ddof=1)) if len(sample) > 1 else 0.0
    k = float(np.sum(means**2)) / var if var > 0 else _SHAPE_BOUNDS[1]
    return round(float(np.clip(k, *_SHAPE_BOUNDS)), 4)


def _block(means: np.ndarray, advance: np.ndarray, values: dict, shape: float) -> dict:
    stages = {
        name: {
            "duration_days": {"dist": "gamma", "mean": round(float(m), 4), "shape": shape},
            "advance": round(float(a), 4),
        }
        for name, m, a in zip(CHECKPOINTS, means, advance, strict=True)
    }
    return {"odds": NEUTRAL_ODDS, "stages": stages, "contract_value": values, **neutral_frictions()}


def _contract_values(scenario: Scenario) -> dict:
    """Default contract values by budget band; a band the defaults lack takes medium's."""
    defaults = {k: v.model_dump(by_alias=True) for k, v in _default_values().items()}
    return {band: defaults.get(band, defaults["medium"]) for band in scenario.leads.budget_bands}


def _simulate(scenario: Scenario, block: dict, seed: int) -> tuple[float, np.ndarray]:
    from sim.engine.simulation import run

    spec = ProcessSpec.model_validate(block)
    result = run(scenario.model_copy(update={"process": spec}), None, seed)
    leads, opps = result.leads, result.opportunities
    won = opps[opps["status"] == "won"]
    arrived = leads.set_index("lead_id")["arrived_t"]
    cycles = (won["closed_t"].to_numpy() - arrived.loc[won["lead_id"]].to_numpy()) / 24
    return (len(won) / len(leads) if len(leads) else math.nan), cycles


def fit_process(
    scenario: Scenario, cal: Calibration, seed: int = 0, iterations: int = 4
) -> ProcessFit | None:
    """Fit the stage model of *scenario* (as written from *cal*) to *cal*'s won deals;
    None when the export has no deals or too few cycles to fit."""
    if cal.win_rate is None or cal.cycle is None or cal.cycle.chosen is None:
        return None
    if not 0 < cal.win_rate < 1:
        return None
    target_w = float(cal.win_rate)
    target_c = float(np.mean(cal.cycle.sample))
    base = _default_stages()
    advance = np.array([base[name].advance for name in CHECKPOINTS])
    means = np.array([base[name].duration_days.mean for name in CHECKPOINTS], dtype=float)
    means *= target_c / means.sum()
    values = _contract_values(scenario)
    for _ in range(iterations):
        shape = _shape(means, cal.cycle.sample)
        sim_w, cycles = _simulate(scenario, _block(means, advance, values, shape), seed)
        if not len(cycles) or not sim_w > 0:
            advance = np.clip(advance * 1.5, *_ADVANCE_BOUNDS)  # nothing won yet: open up
            continue
        advance = np.clip(advance * (target_w / sim_w) ** (1 / 5), *_ADVANCE_BOUNDS)
        means *= target_c / float(np.mean(cycles))
    shape = _shape(means, cal.cycle.sample)
    block = _block(means, advance, values, shape)
    sim_w, cycles = _simulate(scenario, block, seed)
    ks = float(stats.ks_2samp(cycles, cal.cycle.sample).statistic) if len(cycles) else math.nan
    return ProcessFit(
        process=block,
        target_win_rate=target_w,
        simulated_win_rate=sim_w,
        target_cycle_mean=target_c,
        simulated_cycle_mean=float(np.mean(cycles)) if len(cycles) else math.nan,
        cycle_ks=ks,
        won_simulated=len(cycles),
        iterations=iterations,
    )


def process_block(fit: ProcessFit) -> list[str]:
    """YAML lines of the fitted ``process:`` block, with comments on the fit."""
    import json

    def j(value) -> str:
        return json.dumps(value, ensure_ascii=False)

    p = fit.process
    lines = [
        "# Deal-stage model, fitted by simulation (sim.history.deal_stage_fit): the default",
        "# checkpoints' relative lengths and pass odds, scaled until this scenario's runs give",
        f"# the export's win rate {fit.target_win_rate:.4f} (simulated "
        f"{fit.simulated_win_rate:.4f}) and mean cycle arrival -> won",
        f"# {fit.target_cycle_mean:.2f} days (simulated {fit.simulated_cycle_mean:.2f}; "
        f"KS distance of the cycles {fit.cycle_ks:.3f}, {fit.won_simulated} simulated wins).",
        "# Grade, budget band and skill are neutral; contract values are workbench defaults;",
        "# visit slips, proof failures, requirement changes, custom development, POC revisions",
        "# and missing fields are off (the export does not record them).",
        "process:",
        f"  odds: {j(p['odds'])}",
        *(f"  {key}: {j(p[key])}" for key in neutral_frictions()),
        "  stages:",
    ]
    lines += [f"    {name}: {j(stage)}" for name, stage in p["stages"].items()]
    lines.append("  contract_value:")
    lines += [f"    {band}: {j(value)}" for band, value in p["contract_value"].items()]
    return lines


def write_calibrated_scenario(
    cal: Calibration, target: Path, name: str, replay: str | None = None
) -> ProcessFit | None:
    """Write the scenario ``python -m sim calibrate`` writes to *target*: the fitted
    lead side (:func:`sim.history.scenario_writer.scenario_yaml`) and, when the export
    has deals, the fitted ``process:`` block.  The file appears only once complete and
    loadable.  The backtest report uses it too, so both check the same measures."""
    from sim.history.scenario_writer import scenario_yaml
    from sim.io.atomic import atomic_path
    from sim.world.loading import load_scenario

    text = scenario_yaml(cal, name, replay)
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
        process = fit_process(load_scenario(tmp), cal)  # what we write must load
        if process is not None:
            tmp.write_text(text + "\n".join(process_block(process)) + "\n", encoding="utf-8")
            load_scenario(tmp)
    return process
