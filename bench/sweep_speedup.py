"""Sweep benchmark (a script, not a test): Dask speed-up and the sweep machinery's overhead.

Run from the repository root::

    PYTHONPATH=. .venv/bin/python bench/sweep_speedup.py [--days 14] [--replications 1]

One design of 32 points (``policy.sla.steps.1.after_hours`` x ``arrivals.leads_per_month``
on ``scenarios/baseline.yaml``), timed four ways in one run of the script:

(a) direct: ``run_replications`` + ``kpi_frame`` per point in this process, no sweep code;
(b) ``run_sweep`` in this process (``SequentialEvaluator``): validation already done,
    Parquet file per point, combined table;
(c) ``run_sweep`` on a Dask LocalCluster of 1 worker, (d) of 2 workers;
(e) ``run_sweep`` in this process replaying KPI frames computed beforehand: the sweep
    machinery alone, the figure least disturbed by other load on the machine.

Clusters are started (and their workers warmed up with one import of the engine) before
the clock starts: start-up is a fixed cost per sweep, printed separately.  (a)-(d) are
interleaved, best of ``--repeat``.  Prints the speed-up (c)/(d) (target >= 1.7 on a 2-core
machine) and the per-run overhead of (b), (c) over (a), and of (e) as a share of (a)
(target < 10%).  Checks that (b), (c), (d) produced the same table.
Always exits 0: it reports, it does not gate.  See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

try:
    import sim  # noqa: F401
except ImportError:  # not installed: run from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from policies.policy import policy_model
from sim.experiments.fanout import DaskEvaluator, SequentialEvaluator
from sim.experiments.replications import kpi_frame, run_replications
from sim.experiments.sweep import evaluate_point, run_sweep
from sim.experiments.sweep_design import build_design
from sim.experiments.sweep_spec import SweepSpec

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "baseline.yaml"
POLICY = ROOT / "scenarios" / "policies" / "source_defaults.yaml"
RECLAIM = [3, 4, 6, 8]
LEADS_PER_MONTH = [2400, 2700, 3000, 3200, 3400, 3600, 3900, 4200]
TARGET_SPEEDUP = 1.7
TARGET_OVERHEAD = 0.10


def _warm(_: int) -> int:
    """Import the engine in a worker (its first task would otherwise pay for it)."""
    import sim.experiments.sweep  # noqa: F401

    return os.getpid()


def design_for(days: float, replications: int):
    spec = SweepSpec(
        name="bench",
        scenario=str(SCENARIO),
        policy=str(POLICY),
        set=[f"horizon_days={days}"],
        grid={
            "policy.sla.steps.1.after_hours": RECLAIM,
            "arrivals.leads_per_month": LEADS_PER_MONTH,
        },
        replications=replications,
        seed=1,
    )
    return build_design(spec)


class Replay:
    """A point function returning KPI frames computed earlier: ``run_sweep`` with it costs
    the sweep machinery alone (validation, files, combined table), not the runs."""

    def __init__(self, frames: dict) -> None:
        self.frames = frames

    def __call__(self, task):
        return self.frames[task.key]


def direct(design) -> float:
    """Seconds to run every point by hand: validated models in, KPI frame out."""
    from sim.world.scenario import Scenario

    inputs = [
        (Scenario.model_validate(t.scenario), policy_model().model_validate(t.policy), t)
        for t in design.tasks
    ]
    start = time.perf_counter()
    for scenario, policy, task in inputs:
        kpi_frame(run_replications(scenario, policy, task.replications, task.base_seed))
    return time.perf_counter() - start


def swept(design, evaluator, out: Path, evaluate: bool = False) -> tuple[float, object]:
    """Seconds of one full ``run_sweep`` into the empty folder *out*, and its table.

    With *evaluate*, *evaluator* is a point function run in this process instead.
    """
    start = time.perf_counter()
    if evaluate:
        outcome = run_sweep(design, out, SequentialEvaluator(progress=False), evaluate=evaluator)
    else:
        outcome = run_sweep(design, out, evaluator)
    return time.perf_counter() - start, outcome.table


def started(workers: int) -> tuple[DaskEvaluator, float]:
    """A LocalCluster of *workers*, every worker warmed up; and its start-up seconds."""
    start = time.perf_counter()
    evaluator = DaskEvaluator(workers=workers, progress=False).__enter__()
    evaluator.client.wait_for_workers(workers)
    evaluator.client.gather(evaluator.client.map(_warm, range(4 * workers)))
    return evaluator, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Sweep speed-up (2 vs 1 worker) and overhead.")
    parser.add_argument("--days", type=float, default=14.0, help="horizon per run (default 14)")
    parser.add_argument("--replications", type=int, default=1, help="per point (default 1)")
    parser.add_argument(
        "--repeat", type=int, default=2, help="timed passes of each; the best is kept (default 2)"
    )
    args = parser.parse_args(argv)

    design = design_for(args.days, args.replications)
    runs = len(design.tasks) * args.replications
    print(
        f"sweep speed-up  {len(design.tasks)} points x {args.replications} replication(s) "
        f"= {runs} runs of {SCENARIO.name} ({args.days:g} days) + {POLICY.name}; "
        f"{os.cpu_count()} cores; best of {args.repeat}, interleaved"
    )
    one, startup_one = started(1)
    two, startup_two = started(2)
    print(
        f"    cluster start-up incl. worker warm-up: 1 worker {startup_one:.1f} s, "
        f"2 workers {startup_two:.1f} s (not in the times below)"
    )
    times: dict[str, list[float]] = {"direct": [], "seq": [], "one": [], "two": []}
    tables = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(args.repeat):
                # Interleaved, so a burst of load on a shared machine hits every variant.
                times["direct"].append(direct(design))
                for name, evaluator in (
                    ("seq", SequentialEvaluator(progress=False)),
                    ("one", one),
                    ("two", two),
                ):
                    seconds, tables[name] = swept(design, evaluator, Path(tmp) / f"{name}{i}")
                    times[name].append(seconds)
    finally:
        one.__exit__(None, None, None)
        two.__exit__(None, None, None)
    frames = {t.key: evaluate_point(t) for t in design.tasks}
    with tempfile.TemporaryDirectory() as tmp:
        times["machinery"] = [
            swept(design, Replay(frames), Path(tmp) / f"m{i}", evaluate=True)[0] for i in range(3)
        ]
    best = {name: min(values) for name, values in times.items()}
    same = tables["seq"].equals(tables["one"]) and tables["seq"].equals(tables["two"])

    speedup = best["one"] / best["two"]
    verdict = "PASS" if speedup >= TARGET_SPEEDUP else "BELOW TARGET"
    labels = {
        "direct": "(a) direct, this process",
        "seq": "(b) run_sweep, this process",
        "one": "(c) run_sweep, Dask 1 worker",
        "two": "(d) run_sweep, Dask 2 workers",
    }
    for name, label in labels.items():
        print(f"{label:<30} {best[name]:8.2f} s  {1000 * best[name] / runs:8.1f} ms/run")
    print(
        f"    speed-up 2 vs 1 worker (c)/(d)     {speedup:6.2f}x  "
        f"target >= {TARGET_SPEEDUP}: {verdict}"
    )
    print(
        f"(e) sweep machinery alone      {best['machinery']:8.2f} s  "
        f"{1000 * best['machinery'] / runs:8.1f} ms/run  (run_sweep replaying (a)'s KPIs)"
    )
    overheads = {
        "seq": (best["seq"] - best["direct"]) / best["direct"],
        "one": (best["one"] - best["direct"]) / best["direct"],
        "machinery": best["machinery"] / best["direct"],
    }
    labels["machinery"] = "(e)"
    for name, overhead in overheads.items():
        verdict = "PASS" if overhead < TARGET_OVERHEAD else "ABOVE TARGET"
        print(
            f"    per-run overhead {labels[name][:3]} vs (a)         {overhead:+7.1%}  "
            f"target < {TARGET_OVERHEAD:.0%}: {verdict}"
        )
    print(f"    same combined table in (b), (c), (d): {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
