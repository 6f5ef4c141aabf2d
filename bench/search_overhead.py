"""Search benchmark (a script, not a test): optimize's per-evaluation overhead against the
sweep's, and optimize's 2-worker speed-up.

Run from the repository root::

    PYTHONPATH=. .venv/bin/python bench/search_overhead.py [--days 7] [--budget 32]

One search (``sla.reclaim_hours`` x ``allocation.newbie_protection.a_share_max`` x
``routing.name`` on ``scenarios/baseline.yaml``, one objective, ``--budget`` trials in
batches of ``--population``, one replication each, no futures), timed against
``run_sweep`` on exactly the configurations the search evaluated (the same point tasks,
keys and seeds), both in this process:

(a) ``run_search`` (NSGA-II ask/tell, store, front, tables) per evaluation;
(b) the sweep over the same configurations per evaluation: each validated and keyed (what
    ``build_design`` does; the search validates each trial too), then ``run_sweep``;
    the ratio (a)/(b) is the search's overhead against the sweep's (target <= 1.10);
    both also print their time outside the runs (the point function is clocked);
(c) the same two with every evaluation replayed from KPI frames computed beforehand: the
    machinery alone, as a share of (b)'s run time (least disturbed by other load: both
    sides run the very same simulations, so (a)/(b) differs from 1 by the machinery and
    by noise; the ratio rebuilt from (c) leaves the noise out);
(d) ``run_search`` on a Dask LocalCluster of 1 worker and (e) of 2 workers, clusters
    started and warmed before the clock: the speed-up (d)/(e) (target >= 1.7).

Variants are interleaved, best of ``--repeat``.  Always exits 0: it reports, it does not
gate.  See bench/README.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

try:
    import sim  # noqa: F401
except ImportError:  # not installed: run from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.experiments.fanout import DaskEvaluator, SequentialEvaluator
from sim.experiments.search import prepare, run_search
from sim.experiments.search_points import Configurations, rounded
from sim.experiments.search_spec import SearchSpec
from sim.experiments.sweep import evaluate_point, run_sweep
from sim.experiments.sweep_design import Design, Lever
from sim.experiments.sweep_spec import SweepSpec

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "baseline.yaml"
POLICY = ROOT / "scenarios" / "policies" / "source_defaults.yaml"
LEVERS = [
    "sla.reclaim_hours=3:8",
    "allocation.newbie_protection.a_share_max=0.05:0.3",
    "routing.name=round_robin,least_loaded",
]
TARGET_RATIO = 1.10
TARGET_SPEEDUP = 1.7


def search_spec(days: float, budget: int, population: int) -> SearchSpec:
    return SearchSpec.from_options(
        str(SCENARIO),
        str(POLICY),
        LEVERS,
        ["max:qualification_rate", "min:first_touch_hours_p90"],
        overrides=(f"horizon_days={days}",),
        budget=budget,
        population=population,
        replications=1,
        seed=1,
    )


def sweep_design(tasks) -> Design:
    """A sweep design made of the search's evaluated configurations (same keys)."""
    spec = SweepSpec(
        name="bench",
        scenario=str(SCENARIO),
        policy=str(POLICY),
        grid={"point": [0]},
        replications=1,
        seed=1,
    )
    values = tuple({"point": task.point} for task in tasks)
    return Design(spec, (Lever("point", "scenario", ("point",), "grid"),), values, tuple(tasks))


class Clocked:
    """The sweep's point function, adding up the seconds spent inside it."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, task):
        start = time.perf_counter()
        frame = evaluate_point(task)
        self.seconds += time.perf_counter() - start
        return frame


class Replay:
    """An evaluation function returning KPI frames computed earlier."""

    def __init__(self, frames: dict) -> None:
        self.frames = frames

    def __call__(self, task):
        return self.frames[task.key]


def _warm(_: int) -> int:
    import sim.experiments.sweep  # noqa: F401

    return os.getpid()


def started(workers: int) -> DaskEvaluator:
    evaluator = DaskEvaluator(workers=workers, progress=False).__enter__()
    evaluator.client.wait_for_workers(workers)
    evaluator.client.gather(evaluator.client.map(_warm, range(4 * workers)))
    return evaluator


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def main(argv: list[str] | None = None) -> int:
    logging.getLogger("distributed").setLevel(logging.ERROR)  # no INFO lines at close
    parser = argparse.ArgumentParser(description="optimize overhead vs sweep, and speed-up.")
    parser.add_argument("--days", type=float, default=7.0, help="horizon per run (default 7)")
    parser.add_argument("--budget", type=int, default=32, help="trials (default 32)")
    parser.add_argument("--population", type=int, default=16, help="batch (default 16)")
    parser.add_argument("--repeat", type=int, default=2, help="best of (default 2)")
    parser.add_argument("--no-dask", action="store_true", help="skip the speed-up (d)/(e)")
    args = parser.parse_args(argv)

    spec = search_spec(args.days, args.budget, args.population)
    prepared = prepare(spec)
    seq = SequentialEvaluator(progress=False)
    times: dict[str, list[float]] = {k: [] for k in ("search", "sweep", "one", "two")}
    with tempfile.TemporaryDirectory() as tmp:
        first = run_search(spec, Path(tmp) / "probe", seq, prepared=prepared)
        points = [
            {lever.column: rounded(lever, row[lever.path]) for lever in spec.levers}
            for row in first.candidates.to_dict("records")
        ]
        tasks = [prepared[0].task(values, i) for i, values in enumerate(points)]
        evaluations = len(tasks)

        def swept(out: Path, evaluate=evaluate_point):
            """Validate and key every configuration (as build_design does), then run_sweep."""
            fresh = Configurations(spec)  # no memory of earlier validations
            design = sweep_design([fresh.task(values, i) for i, values in enumerate(points)])
            return run_sweep(design, out, seq, evaluate=evaluate)

        print(
            f"search overhead  {spec.budget} trials -> {evaluations} distinct configurations x 1 "
            f"replication of {SCENARIO.name} ({args.days:g} days); {os.cpu_count()} cores; "
            f"best of {args.repeat}, interleaved"
        )
        outside: dict[str, list[float]] = {"search": [], "sweep": []}
        for i in range(args.repeat):
            clock = Clocked()
            out = Path(tmp) / f"s{i}"
            t, _ = timed(lambda o=out, c=clock: run_search(spec, o, seq, c, prepared=prepared))
            times["search"].append(t)
            outside["search"].append(t - clock.seconds)
            clock = Clocked()
            t, _ = timed(lambda i=i, c=clock: swept(Path(tmp) / f"w{i}", c))
            times["sweep"].append(t)
            outside["sweep"].append(t - clock.seconds)
        frames = {t.key: evaluate_point(t) for t in tasks}
        replay = Replay(frames)
        machinery = {"search": [], "sweep": []}
        for i in range(3):
            out = Path(tmp) / f"rs{i}"
            t, _ = timed(lambda o=out: run_search(spec, o, seq, replay, prepared=prepared))
            machinery["search"].append(t)
            out = Path(tmp) / f"rw{i}"
            t, _ = timed(lambda o=out: swept(o, replay))
            machinery["sweep"].append(t)
        if not args.no_dask:
            one, two = started(1), started(2)
            try:
                for i in range(args.repeat):
                    for name, evaluator in (("one", one), ("two", two)):
                        out = Path(tmp) / f"{name}{i}"
                        t, _ = timed(
                            lambda o=out, e=evaluator: run_search(spec, o, e, prepared=prepared)
                        )
                        times[name].append(t)
            finally:
                one.__exit__(None, None, None)
                two.__exit__(None, None, None)
    best = {k: min(v) for k, v in times.items() if v}
    per = {k: 1000 * v / evaluations for k, v in best.items()}
    ratio = best["search"] / best["sweep"]
    print(f"(a) run_search, this process    {best['search']:7.2f} s  {per['search']:7.1f} ms/eval")
    print(f"(b) run_sweep, same configs     {best['sweep']:7.2f} s  {per['sweep']:7.1f} ms/eval")
    verdict = "PASS" if ratio <= TARGET_RATIO else "ABOVE TARGET"
    print(
        f"    per-evaluation ratio (a)/(b)        {ratio:6.3f}  target <= {TARGET_RATIO}: {verdict}"
    )
    out_a, out_b = min(outside["search"]), min(outside["sweep"])
    print(
        f"    outside the runs: (a) {1000 * out_a / evaluations:.1f} ms/eval, "
        f"(b) {1000 * out_b / evaluations:.1f} ms/eval"
    )
    search_m, sweep_m = min(machinery["search"]), min(machinery["sweep"])
    print(
        f"(c) machinery alone (replayed KPIs): search {1000 * search_m / evaluations:.1f} ms/eval, "
        f"sweep {1000 * sweep_m / evaluations:.1f} ms/eval; search machinery = "
        f"{(search_m - sweep_m) / best['sweep']:+.1%} of (b) beyond the sweep's"
    )
    steady = (best["sweep"] + search_m - sweep_m) / best["sweep"]
    print(f"    ratio from (c): ((b) + search - sweep machinery)/(b)  {steady:6.3f}  (steadier)")
    if "two" in best:
        speedup = best["one"] / best["two"]
        verdict = "PASS" if speedup >= TARGET_SPEEDUP else "BELOW TARGET"
        print(f"(d) run_search, Dask 1 worker   {best['one']:7.2f} s  {per['one']:7.1f} ms/eval")
        print(f"(e) run_search, Dask 2 workers  {best['two']:7.2f} s  {per['two']:7.1f} ms/eval")
        target = f"target >= {TARGET_SPEEDUP}: {verdict}"
        print(f"    speed-up 2 vs 1 worker (d)/(e)      {speedup:6.2f}x  {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
