"""Multi-objective lever search: optuna's NSGA-II, evaluated in batches on the sweep's
evaluators, every evaluation stored by configuration key (resumable).

The search asks a generation's worth of trials (``population`` at a time, the last batch
smaller), evaluates the batch's new configurations in parallel with an
:class:`~sim.experiments.fanout.Evaluator` (each one ``n`` replications on the seeds
``(seed, 0..n-1)``, the same at every candidate: common random numbers), then tells the
trials their objective means in trial order.  The sampler is seeded, trials are told in
a fixed order and stored evaluations are read back exactly, so a rerun asks the very same
trials: an interrupted search resumes from ``evaluations/`` and ends with the same
candidates as an uninterrupted one.  Constraints go to optuna with ``Trial.set_constraint``
(the violation of each ``KPI op value`` by the mean; <= 0 is feasible), which NSGA-II's
constrained domination uses.  A trial whose lever values do not give a valid
configuration (:class:`~sim.experiments.search_points.InvalidConfiguration`: reclaim
below the reminder, two levers that do not fit) is never run: it becomes an infeasible
candidate with its one-line ``reason``, told to optuna as infeasible through the same
mechanism (constraint ``valid`` = inf, objectives at their worst), and the search goes on::

    configs = Configurations(spec)
    with SequentialEvaluator() as evaluator:
        found = search_levers(spec, configs, Evaluations(out, evaluator))
    found.candidates   # unique configurations in order of first trial
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.fanout import Evaluator
from sim.experiments.search_points import Configurations, InvalidConfiguration, rounded
from sim.experiments.search_spec import SearchSpec
from sim.experiments.search_store import (
    read_evaluation,
    write_configuration,
    write_evaluation,
)
from sim.experiments.sweep import evaluate_point
from sim.experiments.sweep_design import PointTask

__all__ = ["Candidate", "Evaluations", "SearchResult", "make_study", "search_levers"]


class Evaluations:
    """Evaluated configurations by key: read from ``OUT/evaluations/`` or run and stored.

    *evaluate* computes one task (default :func:`sim.experiments.sweep.evaluate_point`, the
    sweep's own; picklable for Dask).  A ``KeyboardInterrupt`` leaves every evaluation
    finished so far on disk and propagates.
    """

    def __init__(
        self,
        out: Path,
        evaluator: Evaluator,
        evaluate: Callable[[PointTask], pd.DataFrame] = evaluate_point,
    ) -> None:
        self.out = Path(out)
        self.evaluator = evaluator
        self.evaluate = evaluate
        self.frames: dict[str, pd.DataFrame] = {}
        self.failed: dict[str, str] = {}
        self.reused = 0
        self.ran = 0

    def get(
        self,
        tasks: Sequence[PointTask],
        label: str = "evaluations",
        tick: Callable[[int], None] | None = None,
    ) -> None:
        """Make sure every task's key is in :attr:`frames` (or :attr:`failed`).

        *tick* is called with 1 per task settled (read back, run or failed).
        """
        tick = tick or (lambda _: None)
        todo: dict[str, PointTask] = {}
        settled, seen = 0, set()
        for task in tasks:
            if task.key in seen:
                continue
            seen.add(task.key)
            if task.key not in self.frames and task.key not in self.failed:
                stored = read_evaluation(self.out, task.key)
                if stored is None:
                    todo[task.key] = task
                    continue
                self.frames[task.key] = stored
                self.reused += 1
            settled += 1
        tick(settled)
        if not todo:
            return

        def done(task: PointTask, frame: pd.DataFrame) -> None:
            configuration = {
                "scenario": task.scenario,
                "policy": task.policy,
                "base_seed": task.base_seed,
                "replications": task.replications,
            }
            write_configuration(self.out, task.key, configuration)
            write_evaluation(self.out, task.key, frame)
            self.frames[task.key] = frame
            self.ran += 1
            tick(1)

        def failed(task: PointTask, message: str) -> None:
            self.failed[task.key] = message
            tick(1)

        self.evaluator.map(self.evaluate, list(todo.values()), done, failed, label=label)

    def means(self, key: str, kpis: Sequence[str]) -> dict[str, float]:
        """Mean over replications of each KPI (NaN runs left out; NaN when none)."""
        frame = self.frames.get(key)
        out = {}
        for kpi in kpis:
            if frame is None or kpi not in frame:
                out[kpi] = math.nan
                continue
            values = frame[kpi].to_numpy(dtype=float)
            values = values[np.isfinite(values)]
            out[kpi] = float(values.mean()) if len(values) else math.nan
        return out


@dataclass
class Candidate:
    """One distinct configuration the search tried (several trials may share it)."""

    candidate: int
    key: str | None  # None: the values give no valid configuration (see reason)
    values: dict[str, Any]  # lever column -> value
    trials: list[int] = field(default_factory=list)
    reason: str = ""  # why the configuration is invalid (never evaluated)


@dataclass
class SearchResult:
    """The trials' candidates, in order of first trial, and the failed evaluations."""

    candidates: list[Candidate]
    trials: int
    failed: dict[str, str]

    @property
    def invalid(self) -> list[Candidate]:
        """Candidates whose values give no valid configuration (never evaluated)."""
        return [c for c in self.candidates if c.key is None]

    def invalid_groups(self) -> list[dict[str, Any]]:
        """The invalid trials grouped by reason (numbers aside), most trials first:
        ``{"trials": n, "candidates": m, "reason": the first such reason}``."""
        groups: dict[str, dict[str, Any]] = {}
        for c in self.invalid:
            shape = re.sub(r"\d+(?:\.\d+)?(?:e[-+]?\d+)?", "#", c.reason)
            group = groups.setdefault(shape, {"trials": 0, "candidates": 0, "reason": c.reason})
            group["trials"] += len(c.trials)
            group["candidates"] += 1
        return sorted(groups.values(), key=lambda g: -g["trials"])


def _distributions(spec: SearchSpec) -> dict[str, Any]:
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    out: dict[str, Any] = {}
    for lever in spec.levers:
        if lever.kind == "int":
            out[lever.column] = IntDistribution(int(lever.low), int(lever.high))
        elif lever.kind == "float":
            out[lever.column] = FloatDistribution(float(lever.low), float(lever.high))
        else:
            out[lever.column] = CategoricalDistribution(list(lever.choices or ()))
    return out


def make_study(spec: SearchSpec):
    """A seeded NSGA-II study: one direction per objective, constraints if any."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.NSGAIISampler(population_size=spec.population, seed=spec.seed)
    directions = ["maximize" if o.sense == "max" else "minimize" for o in spec.objectives]
    return optuna.create_study(directions=directions, sampler=sampler)


def search_levers(
    spec: SearchSpec,
    configs: Configurations,
    evaluations: Evaluations,
    on_trial: Callable[[int], None] | None = None,
) -> SearchResult:
    """Run ``spec.budget`` trials in batches of ``spec.population``; see the module doc.

    *on_trial* is called with the number of trials told so far (progress bars).
    """
    from optuna.trial import TrialState

    study = make_study(spec)
    distributions = _distributions(spec)
    levers = {lever.column: lever for lever in spec.levers}
    kpis = [o.kpi for o in spec.objectives]
    checked = [c.kpi for c in spec.constraints]
    by_key: dict[str, Candidate] = {}
    told = 0
    while told < spec.budget:
        size = min(spec.population, spec.budget - told)
        batch = [study.ask(distributions) for _ in range(size)]
        tasks: list[PointTask | None] = []
        for trial in batch:
            values = {c: rounded(levers[c], trial.params[c]) for c in distributions}
            try:
                task = configs.task(values, index=trial.number)
            except InvalidConfiguration as exc:
                task, identity, reason = None, "invalid:" + json.dumps(values, default=str), exc
            else:
                identity, reason = task.key, None
            tasks.append(task)
            if identity not in by_key:
                key = task.key if task is not None else None
                by_key[identity] = Candidate(len(by_key), key, values)
                by_key[identity].reason = reason.reason if reason is not None else ""
            by_key[identity].trials.append(trial.number)
        evaluations.get([t for t in tasks if t is not None], label="trials")
        for trial, task in zip(batch, tasks, strict=True):
            if task is None:
                trial.set_constraint("valid", math.inf)
                study.tell(
                    trial, [-math.inf if o.sense == "max" else math.inf for o in spec.objectives]
                )
                told += 1
                if on_trial is not None:
                    on_trial(told)
                continue
            means = evaluations.means(task.key, [*kpis, *checked])
            objective = [means[k] for k in kpis]
            if task.key in evaluations.failed or not all(map(math.isfinite, objective)):
                study.tell(trial, state=TrialState.FAIL)
            else:
                for i, condition in enumerate(spec.constraints):
                    trial.set_constraint(f"c{i}", condition.violation(means[condition.kpi]))
                study.tell(trial, objective)
            told += 1
            if on_trial is not None:
                on_trial(told)
    return SearchResult(list(by_key.values()), told, dict(evaluations.failed))
