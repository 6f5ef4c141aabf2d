"""Running a sweep: every point of a design, resumably, one Parquet file per point.

Each point runs ``replications`` runs on the seeds ``(seed, 0..n-1)`` (the same seeds at
every point: common random numbers across the design) and is keyed by a hash of its
full validated configuration and seeds (:mod:`sim.experiments.sweep_design`).  Its KPIs
go to one Parquet file per point (:mod:`sim.experiments.store`); a rerun skips finished
points, so a killed sweep resumes and ends with the same combined table as an
uninterrupted one::

    spec = SweepSpec(scenario="scenarios/baseline.yaml", grid={"sla.reclaim_hours": [4, 8]})
    outcome = run_sweep(build_design(spec), "runs/sweeps/demo", SequentialEvaluator())
    table = outcome.table  # one row per (point, replication)

What to sweep is a :class:`~sim.experiments.sweep_spec.SweepSpec`; its points are built
and validated by :func:`~sim.experiments.sweep_design.build_design`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from policies.policy import policy_model
from sim.experiments.fanout import Evaluator
from sim.experiments.replications import kpi_frame, run_replications
from sim.experiments.store import (
    FAILURES,
    RESULTS,
    check_design,
    combined_table,
    confined,
    finished_keys,
    point_path,
    write_failures,
    write_manifest,
)
from sim.experiments.sweep_design import Design, PointTask
from sim.io.atomic import write_frame
from sim.io.locks import folder_lock
from sim.world.scenario import Scenario

__all__ = ["SweepOutcome", "evaluate_point", "run_sweep"]


def evaluate_point(task: PointTask) -> pd.DataFrame:
    """Run one point's replications; one row per replication: ``replication`` and KPIs.

    Runs where it is called (a Dask worker or this process); the configuration is
    validated again from its JSON form, which is exactly what the key was hashed from.
    """
    scenario = Scenario.model_validate(task.scenario)
    policy = policy_model().model_validate(task.policy)
    results = run_replications(scenario, policy, task.replications, task.base_seed)
    return kpi_frame(results).drop(columns=["seed"])


@dataclass
class SweepOutcome:
    """What a call of :func:`run_sweep` did, and the combined table when complete."""

    out: Path
    points: int
    reused: int
    finished: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    table: pd.DataFrame | None = None

    @property
    def complete(self) -> bool:
        """True when every point has its result file."""
        return not self.failed and self.table is not None

    @property
    def results_path(self) -> Path:
        """``OUT/results.parquet`` (written only when complete)."""
        return self.out / RESULTS


def run_sweep(
    design: Design,
    out: str | Path,
    evaluator: Evaluator,
    on_point: Callable[[PointTask], None] | None = None,
    evaluate: Callable[[PointTask], pd.DataFrame] = evaluate_point,
    lock: bool = True,
) -> SweepOutcome:
    """Run the design's unfinished points with *evaluator*; write each as it finishes.

    *evaluate* computes one point (default :func:`evaluate_point`; it must be picklable
    for Dask); *on_point* is called with each task once its file is written.

    Points whose file exists in *out* are skipped (a configuration is run once per key
    even if several points share it).  When every point has finished, the combined
    table is written to ``OUT/results.parquet`` and returned; failed points are kept in
    ``OUT/failures.json`` and left for the next call.  A ``KeyboardInterrupt`` leaves
    every point finished so far on disk and propagates.

    The folder belongs to one design and one writer: ConfigError (one line) when *out*
    holds another design's sweep or another sweep is writing it (:mod:`sim.io.locks`).
    ``lock=False``: the caller already holds the folder's lock.
    """
    out = Path(out)
    if not lock:
        return _run_locked(design, out, evaluator, on_point, evaluate)
    with folder_lock(out, "sweep"):
        return _run_locked(design, out, evaluator, on_point, evaluate)


def _run_locked(design, out, evaluator, on_point, evaluate) -> SweepOutcome:
    manifest = design.manifest()
    if not check_design(out, manifest):
        # A folder with no sweep.json keeps no combined table of another design.
        for name in (RESULTS, FAILURES):
            confined(out, name).unlink(missing_ok=True)
    write_manifest(out, manifest)
    done = finished_keys(out, [task.key for task in design.tasks])
    unique = {task.key: task for task in design.tasks if task.key not in done}
    outcome = SweepOutcome(out, len(design.tasks), sum(t.key in done for t in design.tasks))
    results = confined(out, RESULTS)

    def finished(task: PointTask, frame: pd.DataFrame) -> None:
        write_frame(frame, point_path(out, task.key))
        outcome.finished += 1
        if on_point is not None:
            on_point(task)

    def failed(task: PointTask, message: str) -> None:
        values = design.values[task.point]
        outcome.failed.append(
            {"point": task.point, "key": task.key, "values": values, "error": message}
        )

    evaluator.map(evaluate, list(unique.values()), finished, failed, label="points")
    write_failures(out, outcome.failed)
    if outcome.failed:
        results.unlink(missing_ok=True)
        return outcome
    outcome.table = combined_table(out, manifest)
    write_frame(outcome.table, results)
    return outcome
