"""Command ``python -m sim optimize``: a multi-objective, robust lever search.

NSGA-II (optuna) over ``--lever`` paths, each candidate ``-n`` replications on common
random numbers, on the sweep's evaluators (Dask LocalCluster with ``--workers``, an
existing cluster with ``--scheduler``, this process with ``--workers 0``); then the
Pareto front by paired intervals, the front's regret across ``--futures`` (a Latin
hypercube over ``--uncertainty`` ranges), a recommendation, and optionally PRIM boxes
(``--discover``) and Sobol indices (``--sobol``).  Resumable: finished evaluations are
read back from ``OUT/evaluations/``.  See :mod:`sim.experiments.search`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.cli.argtypes import add_evaluator_options, non_negative_int, positive_int

__all__ = ["add_commands"]

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


def add_commands(sub) -> dict:
    """Add ``optimize`` to the CLI's subparsers; return its handler."""
    opt = sub.add_parser(
        "optimize", help="search levers for the best robust trade-off (NSGA-II, resumable)"
    )
    opt.add_argument("scenario", help="scenario YAML file")
    opt.add_argument("--policy", help="policy YAML file (default: the source's defaults)")
    opt.add_argument(
        "--lever",
        action="append",
        default=[],
        metavar="PATH=LO:HI|A,B",
        help="searched dotted path: a range (integers if both bounds are) or choices",
    )
    opt.add_argument(
        "--objective",
        action="append",
        default=[],
        metavar="max:KPI|min:KPI",
        help="KPI to maximise or minimise (repeatable; the first is the primary)",
    )
    opt.add_argument(
        "--constraint",
        action="append",
        default=[],
        metavar="KPI<=V",
        help="constraint on a KPI's mean (<=, >=, <, >; repeatable)",
    )
    opt.add_argument("--budget", type=positive_int, default=50, help="trials (default 50)")
    opt.add_argument(
        "--population",
        type=positive_int,
        help="NSGA-II population: trials per batch (default min(20, budget), at least 2)",
    )
    opt.add_argument("-n", "--replications", type=positive_int, default=10, help="default 10")
    opt.add_argument("--seed", type=non_negative_int, default=0, help="base seed (default 0)")
    opt.add_argument(
        "--uncertainty",
        action="append",
        default=[],
        metavar="PATH=LO:HI",
        help="uncertain dotted path, sampled over the futures (repeatable)",
    )
    opt.add_argument(
        "--futures",
        type=positive_int,
        help="Latin-hypercube futures (default 50 with --uncertainty)",
    )
    opt.add_argument(
        "--robust-max",
        type=positive_int,
        default=10,
        help="Pareto candidates run in every future, at most (by crowding; default 10)",
    )
    opt.add_argument(
        "--discover", metavar="KPI>V", help="failure threshold: PRIM boxes of failing futures"
    )
    opt.add_argument(
        "--sobol", type=positive_int, metavar="N", help="Sobol indices from N base samples"
    )
    opt.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="fixed override of a scenario or policy field (as for sweep)",
    )
    opt.add_argument("--out", help="output folder (default runs/optimize/<scenario>__<hash>)")
    add_evaluator_options(opt)
    return {"optimize": _cmd_optimize}


def _spec(args: argparse.Namespace):
    from sim.experiments.search_spec import SearchSpec

    population = args.population or min(20, args.budget)
    return SearchSpec.from_options(
        args.scenario,
        args.policy,
        args.lever,
        args.objective,
        args.constraint,
        args.uncertainty,
        discover=args.discover,
        futures=args.futures,
        overrides=tuple(args.overrides),
        budget=args.budget,
        replications=args.replications,
        seed=args.seed,
        population=max(2, population),
        sobol=args.sobol,
        max_robust=args.robust_max,
    )


def _cmd_optimize(args: argparse.Namespace) -> int:
    from sim.experiments.fanout import make_evaluator
    from sim.experiments.search import prepare, run_search
    from sim.experiments.search_store import COMMAND, check_search
    from sim.io.locks import folder_lock
    from sim.io.output import safe_name
    from sim.io.paths import project_root

    spec = _spec(args)
    prepared = prepare(spec)  # a lever with no valid value: refused before any run
    design_hash = prepared[1]
    stem = safe_name(f"{Path(args.scenario).stem}__{design_hash[:10]}")
    out = Path(args.out) if args.out else project_root() / "runs" / "optimize" / stem
    check_search(out, design_hash)  # another search's folder: refused before any work
    evaluator = make_evaluator(args.workers, args.scheduler, progress=False)
    try:
        with folder_lock(out, COMMAND):
            print(
                f"optimize: {spec.budget} trial(s) in batches of {spec.population} x "
                f"{spec.replications} replication(s); {spec.futures or 1} future(s); output {out}",
                file=sys.stderr,
            )
            with evaluator:
                outcome = run_search(
                    spec,
                    out,
                    evaluator,
                    progress=not args.no_progress,
                    lock=False,
                    prepared=prepared,
                )
    except KeyboardInterrupt:
        print(
            f"interrupted: finished evaluations are kept in {out / 'evaluations'}; "
            "run the same command again to resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    front = outcome.candidates[outcome.candidates["pareto"]] if len(outcome.candidates) else []
    print(
        f"{len(outcome.candidates)} candidate(s), {len(front)} on the front ({outcome.note}); "
        f"evaluations: {outcome.reused} read back, {outcome.ran} run now, "
        f"{len(outcome.failed)} failed",
        file=sys.stderr,
    )
    groups = outcome.manifest.get("invalid") or []
    if groups:
        count = sum(g["trials"] for g in groups)
        print(
            f"{count} of {outcome.manifest['trials']} trial(s) had lever values that give no "
            "valid configuration: recorded as infeasible (candidates.csv reason), never run",
            file=sys.stderr,
        )
        for g in groups:
            print(f"  {g['trials']} trial(s), e.g. {g['reason']}", file=sys.stderr)
    skipped = outcome.manifest.get("invalid_futures") or []
    if skipped:
        print(
            f"{len(skipped)} candidate-future pair(s) give no valid configuration (no value "
            f"there), e.g. {skipped[0]['reason']}",
            file=sys.stderr,
        )
    for key, error in sorted(outcome.failed.items()):
        print(f"failed evaluation {key}: {error}", file=sys.stderr)
    print(f"recommended: {outcome.manifest['recommended_reason']}", file=sys.stderr)
    if not outcome.complete:
        print("rerun the same command to retry the failed evaluations", file=sys.stderr)
        return EXIT_FAILED
    print(out)
    return 0
