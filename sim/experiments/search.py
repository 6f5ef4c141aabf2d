"""A policy search from end to end: levers, Pareto front, robustness, discovery, Sobol.

:func:`run_search` runs the stages in order, every evaluation through one
:class:`~sim.experiments.optimize.Evaluations` store (``OUT/evaluations/<key>.parquet``,
shared by all stages: a configuration met twice runs once)::

    spec = SearchSpec.from_options("scenarios/baseline.yaml", None,
                                   ["sla.reclaim_hours=1:8"], ["max:qualification_rate"])
    with SequentialEvaluator() as evaluator:
        outcome = run_search(spec, "runs/optimize/demo", evaluator)

1. **search** (:mod:`~sim.experiments.optimize`): NSGA-II over the levers, ``budget``
   trials, each distinct configuration ``n`` replications on common random numbers;
2. **front** (:mod:`~sim.experiments.pareto`): ``candidates.csv`` with intervals and the
   front by paired-interval dominance, and a one-line ``reason`` for every infeasible
   candidate (an invalid configuration, never run; a failed evaluation; a constraint not
   met); ``search.json`` ``invalid`` groups the invalid trials by reason;
3. **robustness** (:mod:`~sim.experiments.robustness`): the front (at most
   ``max_robust`` candidates, by crowding) in every future of the Latin hypercube;
   ``futures.csv``, ``future_results.csv``, ``robustness.csv`` and the recommendation;
4. **discovery** (``--discover``): PRIM boxes (:mod:`sim.experiments.prim`) of the futures
   in which the recommended candidate fails the threshold, ``prim.csv``;
5. **sensitivity** (``--sobol N``): Sobol indices (:mod:`sim.experiments.sobol`) of each
   objective over levers and uncertainties, ``sobol.csv``.

The folder's ``search.json`` says ``complete: true`` and its ``.complete.json`` marker is
written only when every stage finished without a failed evaluation.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from sim.experiments.fanout import Evaluator
from sim.experiments.optimize import Evaluations, search_levers
from sim.experiments.pareto import front_table, robust_set
from sim.experiments.robustness import lhs_futures, recommend, regret_table
from sim.experiments.search_points import Configurations, InvalidConfiguration, rounded
from sim.experiments.search_spec import SearchSpec
from sim.experiments.search_store import COMMAND, check_search, write_search, write_table
from sim.experiments.sweep import evaluate_point
from sim.io.atomic import begin_folder, mark_complete
from sim.io.locks import folder_lock

__all__ = ["SearchOutcome", "prepare", "run_search"]


@dataclass
class SearchOutcome:
    """What :func:`run_search` did."""

    out: Path
    manifest: dict[str, Any]
    candidates: pd.DataFrame
    robustness: pd.DataFrame
    reused: int = 0
    ran: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    note: str = ""

    @property
    def complete(self) -> bool:
        """True when no evaluation failed."""
        return not self.failed


def prepare(spec: SearchSpec) -> tuple[Configurations, str]:
    """The validated base configuration and the search's design hash (no run yet)."""
    configs = Configurations(spec)
    return configs, spec.design_hash(configs.base.key)


def _bar(total: int, label: str, enabled: bool) -> tqdm:
    return tqdm(
        total=total, desc=label, unit="ev", file=sys.stderr, disable=not enabled, dynamic_ncols=True
    )


def run_search(
    spec: SearchSpec,
    out: str | Path,
    evaluator: Evaluator,
    evaluate: Callable = evaluate_point,
    progress: bool = False,
    lock: bool = True,
    prepared: tuple[Configurations, str] | None = None,
) -> SearchOutcome:
    """Run every stage of *spec* into *out*; see the module docstring.

    ConfigError (one line) before any run for a bad lever, objective or constraint, or
    when *out* holds another search.  A ``KeyboardInterrupt`` keeps every finished
    evaluation; the same call again resumes.  ``lock=False``: the caller holds the lock.
    """
    out = Path(out)
    configs, design_hash = prepared or prepare(spec)
    check_search(out, design_hash)
    if not lock:
        return _run(spec, out, evaluator, evaluate, progress, configs, design_hash)
    with folder_lock(out, COMMAND):
        return _run(spec, out, evaluator, evaluate, progress, configs, design_hash)


def _run(spec, out, evaluator, evaluate, progress, configs, design_hash) -> SearchOutcome:
    manifest = {**spec.describe(), "design_hash": design_hash}
    manifest |= {"recommended": None, "recommended_reason": None, "complete": False}
    begin_folder(out)
    write_search(out, manifest)
    evaluations = Evaluations(out, evaluator, evaluate)

    bar = _bar(spec.budget, "trials", progress)
    with bar:
        found = search_levers(spec, configs, evaluations, lambda told: bar.update(1))
    columns = {lever.column: lever.path for lever in spec.levers}
    frames = [evaluations.frames.get(c.key) for c in found.candidates]
    values = [{columns[k]: v for k, v in c.values.items()} for c in found.candidates]
    table, note = front_table(frames, values, spec.objectives, spec.constraints)
    if len(table):
        reasons = [
            _reason(spec, c, row, evaluations)
            for c, row in zip(found.candidates, table.to_dict("records"), strict=True)
        ]
        table.insert(table.columns.get_loc("feasible") + 1, "reason", reasons)
    table["key"] = [c.key or "" for c in found.candidates]
    table["trials"] = [len(c.trials) for c in found.candidates]

    chosen = robust_set(table, spec.objectives, spec.max_robust) if len(table) else []
    futures = lhs_futures(spec.uncertainties, spec.futures, spec.seed)
    kpis = [o.kpi for o in spec.objectives]
    if spec.discover is not None and spec.discover.kpi not in kpis:
        kpis.append(spec.discover.kpi)
    keys, tasks, invalid_futures = {}, [], []
    for candidate in chosen:
        for future in futures.to_dict("records"):
            setting = {u.column: rounded(u, future[u.path]) for u in spec.uncertainties}
            try:
                task = configs.task({**found.candidates[candidate].values, **setting})
            except InvalidConfiguration as exc:  # no value there: NaN, said in search.json
                keys[(candidate, int(future["future"]))] = None
                invalid_futures.append(
                    {"candidate": candidate, "future": int(future["future"]), "reason": exc.reason}
                )
                continue
            keys[(candidate, int(future["future"]))] = task.key
            tasks.append(task)
    with _bar(len({t.key for t in tasks}), "futures", progress) as fbar:
        evaluations.get(tasks, label="futures", tick=fbar.update)
    rows = [
        {"candidate": c, "future": f, **evaluations.means(key, kpis)}
        for (c, f), key in keys.items()
    ]
    results = pd.DataFrame(rows, columns=["candidate", "future", *kpis])
    robustness = regret_table(results, spec.objectives)
    recommended, reason = (None, "no candidate was evaluated")
    if len(robustness):
        recommended, reason = recommend(robustness, results, spec.objectives)
    robustness["recommended"] = robustness["candidate"] == recommended

    written = {
        "candidates.csv": table,
        "futures.csv": futures,
        "future_results.csv": results,
        "robustness.csv": robustness,
    }
    if spec.discover is not None and recommended is not None:
        written["prim.csv"] = _discover(spec, futures, results, recommended)
    if spec.sobol:
        written["sobol.csv"] = _sobol(spec, configs, evaluations, progress)
    for name, frame in written.items():
        write_table(out, name, frame)
    failed = dict(evaluations.failed)
    manifest |= {
        "recommended": recommended,
        "recommended_reason": reason,
        "front_note": note,
        "candidates": len(table),
        "trials": found.trials,
        "invalid": found.invalid_groups(),
        "invalid_futures": invalid_futures,
        "failed": [{"key": k, "error": e} for k, e in sorted(failed.items())],
        "complete": not failed,
    }
    write_search(out, manifest)
    if not failed:
        mark_complete(out, ["search.json", *written], COMMAND)
    return SearchOutcome(
        out, manifest, table, robustness, evaluations.reused, evaluations.ran, failed, note
    )


def _reason(spec: SearchSpec, candidate, row: dict, evaluations: Evaluations) -> str:
    """Why a candidate is not feasible, in one line ("" when it is)."""
    if candidate.key is None:
        return f"invalid configuration, not run: {candidate.reason}"
    if candidate.key in evaluations.failed:
        return f"evaluation failed: {evaluations.failed[candidate.key]}"
    if row["feasible"]:
        return ""
    for c in spec.constraints:
        mean = row.get(f"{c.kpi}_mean")
        if not c.holds(mean):
            return f"constraint {c.kpi}{c.op}{c.value:g} not met (mean {mean:.4g})"
    return "no finite value of an objective"


def _discover(spec, futures: pd.DataFrame, results: pd.DataFrame, recommended: int):
    """PRIM boxes of the futures in which the recommended candidate fails."""
    from sim.experiments import prim

    mine = results[results["candidate"] == recommended].set_index("future")
    X = futures.set_index("future").loc[mine.index]
    failed = mine[spec.discover.kpi].map(spec.discover.holds).to_numpy(bool)
    rows = []
    if failed.any():
        for b, box in enumerate(prim.discover(X.reset_index(drop=True), failed)):
            for dimension, limit in box.limits.items():
                numeric = isinstance(limit, tuple)
                rows.append(
                    {
                        "box": b,
                        "coverage": box.coverage,
                        "density": box.density,
                        "mass": box.mass,
                        "dimension": dimension,
                        "low": limit[0] if numeric else None,
                        "high": limit[1] if numeric else None,
                        "categories": "" if numeric else ",".join(sorted(map(str, limit))),
                    }
                )
    columns = ["box", "coverage", "density", "mass", "dimension", "low", "high", "categories"]
    return pd.DataFrame(rows, columns=columns)


def _sobol(spec, configs: Configurations, evaluations: Evaluations, progress: bool):
    """Sobol indices of each objective over levers and uncertainties (Saltelli sample)."""
    from sim.experiments import sobol

    levers = [*spec.levers, *spec.uncertainties]
    factors = [
        sobol.Factor(
            lever.path,
            float(lever.low) if lever.kind != "choice" else 0.0,
            float(lever.high) if lever.kind != "choice" else 1.0,
            lever.kind,
            list(lever.choices) if lever.kind == "choice" else None,
        )
        for lever in levers
    ]
    sample = sobol.sample(factors, spec.sobol, spec.seed)
    keys = []
    for _, row in sample.iterrows():
        try:
            values = {lever.column: rounded(lever, row[lever.path]) for lever in levers}
            keys.append(configs.task(values))
        except InvalidConfiguration:  # an invalid sample point: NaN (never run)
            keys.append(None)
    tasks = [t for t in keys if t is not None]
    with _bar(len({t.key for t in tasks}), "sobol", progress) as bar:
        evaluations.get(tasks, label="sobol", tick=bar.update)
    frames = []
    for o in spec.objectives:
        y = [evaluations.means(t.key if t else None, [o.kpi])[o.kpi] for t in keys]
        y = pd.Series(y).to_numpy(float)
        frames.append(sobol.indices(factors, y, spec.seed).assign(kpi=o.kpi))
    table = pd.concat(frames, ignore_index=True)
    return table[["factor", "kpi", "S1", "S1_conf", "ST", "ST_conf"]]
