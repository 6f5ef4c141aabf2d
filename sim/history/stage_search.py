"""The search behind the deal-stage fit: simulated runs on common random numbers.

:func:`search` finds the deal-stage parameters (:class:`StageParams`) whose simulated
leads reproduce a win rate per lead and a mean won cycle.  Every candidate is run on the
same seeds and the same arrival times (common random numbers), so the responses move
only with the parameters.  A run (:func:`measure`) is uncensored: leads arrive for a
while, then a drain period with no arrivals lets every deal close, and it measures

- the **win rate per lead** as the mean over the simulated leads of each lead's
  qualification probability (the engine's own, recorded in the leads table) times the
  probability of passing the five checkpoints (their pass odds multiplied: grade, band
  and skill are neutral and proof failures off in a fitted block, so nothing else
  decides a deal).  This is the expected eventual win rate of those very leads, free of
  the coin flips' noise, and smooth in the parameters;
- the **mean won cycle** (lead arrival -> won, days) over the deals the run won, and its
  variance.

Three things are searched, each by :func:`scipy.optimize.brentq` on a 1-D monotone
response, alternating with the runs:

- the pass odds: one shift of the five default checkpoints' odds in logit space, set so
  that the product of the pass odds is the export's win probability per deal (no run
  needed: it is exact);
- the qualification odds: one logit shift of the scenario's base probabilities by grade
  and of the response decay's floor, so that the share of leads becoming deals makes up
  the rest of the win rate.  The qualification share of the last run is recomputed for
  other shifts from its recorded first-touch delays, corrected to what the engine
  recorded, then a new run checks it;
- the stage durations: their total length (the relative lengths stay the default
  model's) such that the mean won cycle (first-touch delay + stages) is the target; the
  gamma shape of every stage such that the won cycles have the observed spread.

The search stops when both measures are within :data:`FIT_TOLERANCE` of the targets or
after ``budget`` runs; it returns the best run.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import optimize

from sim.world.scenario import Qualification, Scenario, ScheduledArrivals

__all__ = [
    "FIT_TOLERANCE",
    "MIN_STAGE_DAYS",
    "QUALIFICATION_SHIFT_BOUND",
    "SearchResult",
    "StageParams",
    "StageRun",
    "drain_days",
    "lead_count",
    "measure",
    "pass_probability",
    "qualification_at",
    "search",
    "shift_for_pass_probability",
]

FIT_TOLERANCE = 0.01
"""Relative error on both measures at which the search stops early."""
ADVANCE_BOUNDS = (0.02, 0.995)
"""Bounds of a checkpoint's pass probability."""
SHAPE_BOUNDS = (0.2, 50.0)
"""Bounds of the gamma shape of a stage's duration."""
PASS_SHIFT_BOUND = 8.0
QUALIFICATION_SHIFT_BOUND = 8.0
"""Largest logit shift of the pass odds / qualification odds either way."""
MIN_STAGE_DAYS = 0.01
"""Shortest total length of the five stages (days)."""
MIN_WINS, MIN_LEADS, MAX_LEADS = 1000, 1500, 12000
"""Simulated leads per run: enough for about MIN_WINS won deals, within these bounds."""
PILOT_SHARE, PILOT_MIN = 0.15, 400
"""The first run (the pilot) simulates this share of the leads (at least PILOT_MIN): it
places the qualification and stage lengths roughly; it is never the run returned."""
_STREAM = zlib.crc32(b"deal_stage_fit")


def _logit(p: np.ndarray | float) -> np.ndarray | float:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


def _sigmoid(z: np.ndarray | float) -> np.ndarray | float:
    return 1 / (1 + np.exp(-z))


@dataclass(frozen=True)
class StageParams:
    """One candidate: stage means (days), pass odds, gamma shape, qualification shift."""

    means: tuple[float, ...]
    advance: tuple[float, ...]
    shape: float | tuple[float, ...]
    qualification_shift: float = 0.0


@dataclass(frozen=True)
class StageRun:
    """What one uncensored run measured."""

    leads: int
    qualified_share: float  # mean qualification probability of the simulated leads
    win_rate: float  # expected eventual win rate per lead (see the module docstring)
    realised_win_rate: float  # won deals / leads in this run
    won: int
    cycle_mean: float  # lead arrival -> won, days (NaN without wins)
    cycle_var: float
    pre_stage_mean: float  # lead arrival -> deal opened, days, over the won deals
    open_at_end: int  # deals still open when the run ended (0: uncensored)
    cycles: np.ndarray = field(repr=False, compare=False, default_factory=lambda: np.empty(0))


@dataclass
class SearchResult:
    """The best run found and how the search went."""

    params: StageParams
    run: StageRun
    runs: int
    history: list[tuple[StageParams, StageRun]]


def pass_probability(advance) -> float:
    """Probability of passing all checkpoints with pass odds *advance* (neutral odds)."""
    return float(np.prod(np.asarray(advance, dtype=float)))


def _shifted_advance(base: np.ndarray, shift: float) -> np.ndarray:
    return np.clip(_sigmoid(_logit(base) + shift), *ADVANCE_BOUNDS)


def shift_for_pass_probability(base, target: float) -> tuple[float, np.ndarray]:
    """The common logit shift of the pass odds *base* whose product is *target* (clipped
    to what the bounds allow), and the shifted odds."""
    base = np.asarray(base, dtype=float)
    lo, hi = -PASS_SHIFT_BOUND, PASS_SHIFT_BOUND

    def gap(shift: float) -> float:
        return pass_probability(_shifted_advance(base, shift)) - target

    if gap(lo) >= 0:
        shift = lo
    elif gap(hi) <= 0:
        shift = hi
    else:
        shift = optimize.brentq(gap, lo, hi, xtol=1e-10)
    return shift, _shifted_advance(base, shift)


def qualification_at(base: Qualification, shift: float) -> Qualification:
    """*base* with its grade probabilities (and an exponential decay's floor) shifted by
    *shift* in logit space; 0 returns *base* itself."""
    if shift == 0:
        return base
    grades = {g: float(_sigmoid(_logit(p) + shift)) for g, p in base.base.items()}
    update: dict = {"base": {g: round(p, 6) for g, p in grades.items()}}
    if base.decay.kind == "exponential":
        floor = float(_sigmoid(_logit(max(base.decay.floor, 1e-3)) + shift))
        update["decay"] = base.decay.model_copy(update={"floor": round(floor, 6)})
    return base.model_copy(update=update)


def _qualification_share(leads, qual: Qualification) -> float:
    """Mean qualification probability of the run's *leads* under *qual* (touched leads
    at their recorded first-touch delay; an untouched lead does not qualify)."""
    delay = leads[
        "first_touch_business_hours" if qual.decay.clock == "business" else "first_touch_hours"
    ].to_numpy(dtype=float)
    touched = np.isfinite(delay)
    decay = np.array([qual.decay(d) for d in delay[touched]])
    grade = leads["grade"].to_numpy()[touched]
    p = np.array([qual.base[g] for g in grade]) * decay
    for attr, table in qual.multipliers.items():
        if table:
            values = leads[attr].to_numpy()[touched]
            p = np.minimum(1.0, p * np.array([table.get(v, 1.0) for v in values]))
    return float(p.sum() / len(leads)) if len(leads) else math.nan


def measure(
    scenario: Scenario,
    params: StageParams,
    make_block: Callable,
    seed: int,
    leads: int,
    drain_days: float,
) -> tuple[StageRun, object]:
    """Run *scenario* with the ``process:`` block ``make_block(params)`` and the
    qualification shifted by *params*, uncensored (*leads* arrivals, then *drain_days*
    with none); return the measures and the leads table."""
    from sim.engine.simulation import run
    from sim.world.process_spec import ProcessSpec

    spec = ProcessSpec.model_validate(make_block(params))
    qual = qualification_at(scenario.qualification, params.qualification_shift)
    result = run(
        _uncensored(scenario, leads, seed, drain_days).model_copy(
            update={"process": spec, "qualification": qual}
        ),
        None,
        seed,
    )
    table, opps = result.leads, result.opportunities
    qp = table["qualify_probability"].fillna(0.0).to_numpy(dtype=float)
    share = float(qp.mean()) if len(qp) else math.nan
    won = opps[opps["status"] == "won"]
    arrived = table.set_index("lead_id")["arrived_t"]
    start = arrived.loc[won["lead_id"]].to_numpy()
    cycles = (won["closed_t"].to_numpy() - start) / 24
    pre = (won["opened_t"].to_numpy() - start) / 24
    return StageRun(
        leads=len(table),
        qualified_share=share,
        win_rate=share * pass_probability(params.advance),
        realised_win_rate=len(won) / len(table) if len(table) else math.nan,
        won=len(won),
        cycle_mean=float(cycles.mean()) if len(cycles) else math.nan,
        cycle_var=float(cycles.var(ddof=1)) if len(cycles) > 1 else 0.0,
        pre_stage_mean=float(pre.mean()) if len(pre) else math.nan,
        open_at_end=int((opps["status"] == "open").sum()),
        cycles=cycles,
    ), table


def _uncensored(scenario: Scenario, leads: int, seed: int, drain: float) -> Scenario:
    """*scenario* with *leads* arrivals drawn on the fit's own stream (the same for every
    candidate), then *drain* days with no arrivals (within the horizon's bound).  A
    replay keeps its leads and gains the drain."""
    from sim.engine.arrivals import arrival_times

    if getattr(scenario.arrivals, "process", "") == "replay":
        horizon = min(scenario.horizon_days + drain, 3660.0)
        return scenario.model_copy(update={"horizon_days": horizon, "warmup_days": 0})
    rng = np.random.default_rng([seed, _STREAM])
    times = []
    for t in arrival_times(scenario.arrivals, scenario.start, rng):
        times.append(float(t))
        if len(times) >= leads:
            break
    arrivals = ScheduledArrivals(at_hours=times)
    horizon = min(times[-1] / 24 + drain, 3660.0)
    return scenario.model_copy(
        update={"arrivals": arrivals, "horizon_days": horizon, "warmup_days": 0}
    )


def lead_count(win_rate: float) -> int:
    """Simulated leads per run for a target *win_rate*."""
    n = MIN_WINS / win_rate if win_rate > 0 else MAX_LEADS
    return int(np.clip(round(n), MIN_LEADS, MAX_LEADS))


def drain_days(cycle_mean: float, cycle_var: float) -> float:
    """Days without arrivals after the last one: long enough for the slowest deals
    (the mean won cycle plus ten standard deviations, at least 60 days)."""
    return float(max(60.0, cycle_mean + 10 * math.sqrt(max(cycle_var, 0.0)) + 30))


def _error(run: StageRun, win: float, cycle: float) -> float:
    if not run.won or math.isnan(run.cycle_mean):
        return math.inf
    return max(abs(run.win_rate / win - 1), abs(run.cycle_mean / cycle - 1))


def search(
    scenario: Scenario,
    start: StageParams,
    make_block: Callable[[StageParams], dict],
    *,
    win_rate: float,
    cycle_mean: float,
    cycle_var: float,
    fit_stages: bool = True,
    fit_qualification: bool = True,
    budget: int = 6,
    seed: int = 0,
) -> SearchResult:
    """Alternate runs and 1-D root findings (module docstring) from *start* towards
    *win_rate* and *cycle_mean* (days; *cycle_var* for the gamma shape).  The pass odds
    of *start* are kept (set them beforehand); *fit_stages* False keeps the durations
    too, *fit_qualification* False the qualification.  At most *budget* runs, at least
    two when something is searched (a pilot on fewer leads, then a full run); a replay
    has no pilot (its leads are the export's)."""
    n_leads = lead_count(win_rate)
    replay = getattr(scenario.arrivals, "process", "") == "replay"  # its leads, no pilot
    pilot = (fit_qualification or fit_stages) and not replay
    drain = drain_days(cycle_mean, cycle_var)
    params, history = start, []
    for i in range(max(budget, 2 if pilot else 1)):
        n = max(PILOT_MIN, round(n_leads * PILOT_SHARE)) if pilot and i == 0 else n_leads
        run_, leads = measure(scenario, params, make_block, seed, n, drain)
        if not (pilot and i == 0):
            history.append((params, run_))
            if _error(run_, win_rate, cycle_mean) <= FIT_TOLERANCE:
                break
        new = params
        if fit_qualification:
            new = replace(
                new,
                qualification_shift=_qualification_step(scenario, params, run_, leads, win_rate),
            )
        if fit_stages and run_.won:
            new = _stage_step(new, run_, cycle_mean, cycle_var)
        if new == params and history:
            break  # at the bounds: nothing left to move
        params = new
    best = min(history, key=lambda item: _error(item[1], win_rate, cycle_mean))
    return SearchResult(params=best[0], run=best[1], runs=i + 1, history=history)


def _qualification_step(scenario, params: StageParams, run_: StageRun, leads, win_rate):
    """The qualification shift whose recomputed share makes the target win rate."""
    target = win_rate / pass_probability(params.advance)
    base = scenario.qualification
    here = _qualification_share(leads, qualification_at(base, params.qualification_shift))
    ratio = run_.qualified_share / here if here > 0 else 1.0  # what the engine recorded

    def gap(shift: float) -> float:
        return _qualification_share(leads, qualification_at(base, shift)) * ratio - target

    lo, hi = -QUALIFICATION_SHIFT_BOUND, QUALIFICATION_SHIFT_BOUND
    if gap(lo) >= 0:
        return lo
    if gap(hi) <= 0:
        return hi
    return round(float(optimize.brentq(gap, lo, hi, xtol=1e-6)), 6)


def _stage_step(params: StageParams, run_: StageRun, cycle: float, var: float) -> StageParams:
    """Stage lengths scaled so the in-pipeline part of the cycle makes up the target;
    gamma shape so the five stages add the variance the rest of the cycle lacks."""
    means = np.asarray(params.means, dtype=float)
    inside = run_.cycle_mean - run_.pre_stage_mean
    wanted = cycle - run_.pre_stage_mean
    total = means.sum()
    new_total = max(total * wanted / inside if inside > 0 else total, MIN_STAGE_DAYS)
    means = means * new_total / total
    shape = params.shape
    if not isinstance(shape, tuple):  # one shape for all stages: fitted to the spread
        stage_var_old = float(np.sum(np.asarray(params.means) ** 2)) / shape
        other = max(run_.cycle_var - stage_var_old, 0.0)
        spare = var - other
        shape = float(np.sum(means**2)) / spare if spare > 0 else SHAPE_BOUNDS[1]
        shape = round(float(np.clip(shape, *SHAPE_BOUNDS)), 4)
    return replace(params, means=tuple(round(float(m), 4) for m in means), shape=shape)
