"""Commands ``python -m sim compare`` and ``python -m sim sweep``.

``compare`` runs two or more policies on the same replication seeds (common random
numbers) and prints, per KPI, both means, the paired difference and its 95% interval.
``sweep`` runs a grid or Latin-hypercube design of scenario/policy levers on Dask (or in
this process with ``--workers 0``), one Parquet file per finished point, resumable.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sim.cli.argtypes import (
    add_evaluator_options,
    non_negative_float,
    non_negative_int,
    positive_int,
)
from sim.errors import ConfigError

if TYPE_CHECKING:  # pandas is imported by the handlers that need it, not at start-up
    import pandas as pd

__all__ = ["add_commands", "compare_files", "policy_labels"]

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
TABLE_COLUMNS = ("difference", "ci_low", "ci_high", "verdict", "unit")


def _add_sets(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="fixed override of a scenario or policy field (dotted path; 'scenario.' or "
        "'policy.' in front picks the file when a field is in both)",
    )


def add_commands(sub) -> dict:
    """Add ``compare`` and ``sweep`` to the CLI's subparsers; return their handlers."""
    cmp = sub.add_parser(
        "compare", help="policies on the same seeds: paired differences with 95%% intervals"
    )
    cmp.add_argument("scenario", help="scenario YAML file")
    cmp.add_argument(
        "--policy",
        action="append",
        default=[],
        required=True,
        help="policy YAML file; at least twice: the first is the baseline",
    )
    cmp.add_argument("-n", "--replications", type=positive_int, default=10, help="default 10")
    cmp.add_argument("--seed", type=non_negative_int, default=0, help="base seed (default 0)")
    cmp.add_argument(
        "--warmup-days",
        type=non_negative_float,
        help="leave leads arriving in the first D days out of the KPIs (scenario warmup_days)",
    )
    cmp.add_argument("--out", help="write the per-run table (.csv or .parquet)")
    _add_sets(cmp)

    swp = sub.add_parser("sweep", help="run a grid or Latin-hypercube sweep of levers, resumably")
    swp.add_argument("scenario", nargs="?", help="scenario YAML file (or give --spec)")
    swp.add_argument("--spec", help="sweep YAML file (scenario, policy, grid/ranges, ...)")
    swp.add_argument("--policy", help="policy YAML file (default: the source's defaults)")
    swp.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="PATH=V1,V2",
        help="sweep a dotted scenario/policy path over listed values (repeatable: full grid)",
    )
    swp.add_argument(
        "--range",
        dest="ranges",
        action="append",
        default=[],
        metavar="PATH=LO:HI",
        help="sample a path between LO and HI (Latin hypercube; integers if both are)",
    )
    swp.add_argument("--design", choices=("grid", "lhs"), help="default: lhs when --range given")
    swp.add_argument("--samples", type=positive_int, help="Latin-hypercube samples")
    swp.add_argument("-n", "--replications", type=positive_int, help="per point (default 10)")
    swp.add_argument(
        "--seed",
        type=non_negative_int,
        help="base seed of every point's replications and of the Latin hypercube (default 0)",
    )
    _add_sets(swp)
    swp.add_argument("--out", help="output folder (default runs/sweeps/<name>)")
    add_evaluator_options(swp)
    return {"compare": _cmd_compare, "sweep": _cmd_sweep}


def policy_labels(paths: list[str]) -> list[str]:
    """A label per policy file: its stem, numbered when two files share one."""
    stems = [Path(p).stem for p in paths]
    labels = []
    for i, stem in enumerate(stems):
        repeats = stems[:i].count(stem)
        labels.append(stem if repeats == 0 and stems.count(stem) == 1 else f"{stem}#{repeats + 1}")
    return labels


def compare_files(
    scenario: str,
    policies: list[str],
    n: int,
    base_seed: int = 0,
    warmup_days: float | None = None,
    overrides: list[str] = (),  # type: ignore[assignment]
) -> pd.DataFrame:
    """Every policy file on the same *n* replication seeds: the tidy per-run frame.

    :func:`sim.experiments.replications.compare` after loading the files (labels: file stems), with
    ``warmup_days`` set on the scenario when given.  One row per (policy, replication).
    """
    from sim.experiments.replications import compare
    from sim.io.paths import resolve
    from sim.world.loading import load_policy, load_scenario
    from sim.world.override_paths import split_overrides

    if len(policies) < 2:
        raise ConfigError(
            f"compare: --policy given {len(policies)} time(s); give it at least twice"
        )
    scenario_sets, policy_sets = split_overrides(overrides)
    if warmup_days is not None:
        scenario_sets.append(f"warmup_days={warmup_days!r}")
    spec = load_scenario(resolve(scenario), scenario_sets)
    loaded = {
        label: load_policy(resolve(path), policy_sets)
        for label, path in zip(policy_labels(policies), policies, strict=True)
    }
    return compare(spec, loaded, n, base_seed)


def _write_table(frame: pd.DataFrame, out: str) -> Path:
    from sim.io.atomic import atomic_path
    from sim.io.output import confined

    path = Path(out)
    if path.suffix not in (".csv", ".parquet"):
        raise ConfigError(f"--out {out}: expected a .csv or .parquet file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot create its folder ({exc.strerror})") from None
    target = confined(path.parent, path.name)
    table = frame.assign(seed=frame["seed"].map(lambda s: "-".join(map(str, s))))
    with atomic_path(target) as tmp:  # the file appears whole, or not at all
        if path.suffix == ".csv":
            from sim.io.safe_text import write_csv

            write_csv(table, tmp, lineterminator=None)
        else:
            table.to_parquet(tmp, index=False)
    return target


def _format_number(value: float) -> str:
    import pandas as pd

    return "" if pd.isna(value) else f"{value:,.3f}"


def _cmd_compare(args: argparse.Namespace) -> int:
    import pandas as pd

    from sim.experiments.replications import paired_differences

    if args.out and Path(args.out).suffix not in (".csv", ".parquet"):
        raise ConfigError(f"--out {args.out}: expected a .csv or .parquet file name")
    frame = compare_files(
        args.scenario,
        args.policy,
        args.replications,
        args.seed,
        args.warmup_days,
        args.overrides,
    )
    labels = list(dict.fromkeys(frame["policy"]))
    baseline = labels[0]
    for candidate in labels[1:]:
        diff = paired_differences(frame, baseline, candidate)
        diff = diff[diff["n"] > 0]
        table = pd.DataFrame({"kpi": diff["kpi"]})
        table[baseline] = diff["baseline_mean"].map(_format_number)
        table[candidate] = diff["candidate_mean"].map(_format_number)
        for column in ("difference", "ci_low", "ci_high"):
            table[column] = diff[column].map(_format_number)
        table["verdict"] = diff["verdict"]
        table["unit"] = diff["unit"]
        print(
            f"{candidate} vs {baseline}: {args.replications} paired replication(s), seeds "
            f"({args.seed}, 0..{args.replications - 1}); difference = {candidate} - {baseline}, "
            "95% paired t-interval"
        )
        print(table.to_string(index=False))
        print()
    if args.out:
        print(f"wrote {_write_table(frame, args.out)}")
    return 0


def _sweep_spec(args: argparse.Namespace):
    from sim.experiments.sweep_spec import load_sweep_spec, spec_from_options
    from sim.io.paths import resolve

    if args.spec is not None:
        given = [
            name
            for name, value in (
                ("SCENARIO", args.scenario),
                ("--policy", args.policy),
                ("--grid", args.grid),
                ("--range", args.ranges),
                ("--design", args.design),
                ("--samples", args.samples),
                ("-n", args.replications),
                ("--seed", args.seed),
                ("--set", args.overrides),
            )
            if value not in (None, [])
        ]
        if given:
            raise ConfigError(f"sweep: --spec already defines the sweep; drop {', '.join(given)}")
        spec = load_sweep_spec(resolve(args.spec))
        return spec if spec.name else spec.model_copy(update={"name": Path(args.spec).stem})
    if args.scenario is None:
        raise ConfigError("sweep: give a SCENARIO file or --spec FILE")
    fields = {"set": args.overrides, "design": args.design, "samples": args.samples}
    if args.replications is not None:
        fields["replications"] = args.replications
    if args.seed is not None:
        fields["seed"] = args.seed
    policy_stem = Path(args.policy).stem if args.policy else "default"
    fields["name"] = f"{Path(args.scenario).stem}__{policy_stem}"
    return spec_from_options(args.scenario, args.policy, args.grid, args.ranges, **fields)


def _cmd_sweep(args: argparse.Namespace) -> int:
    from sim.experiments.fanout import make_evaluator
    from sim.experiments.store import check_design
    from sim.experiments.sweep import run_sweep
    from sim.experiments.sweep_design import build_design
    from sim.io.locks import folder_lock
    from sim.io.output import safe_name
    from sim.io.paths import project_root

    spec = _sweep_spec(args)
    design = build_design(spec)  # every point validated before anything runs
    out = Path(args.out) if args.out else project_root() / "runs" / "sweeps" / safe_name(spec.name)
    check_design(out, design.manifest())  # another design's folder: refused before any work
    evaluator = make_evaluator(args.workers, args.scheduler, progress=not args.no_progress)
    finished: list[object] = []
    try:
        with folder_lock(out, "sweep"):  # a second sweep into the folder: one line, exit 2
            print(
                f"sweep {spec.name}: {len(design.tasks)} point(s) x {spec.replications} "
                f"replication(s), {spec.design_kind} design, output {out}",
                file=sys.stderr,
            )
            with evaluator:
                outcome = run_sweep(design, out, evaluator, finished.append, lock=False)
    except KeyboardInterrupt:
        print(
            f"interrupted: {len(finished)} point(s) finished in this call and kept in {out}; "
            "run the same command again to resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    print(
        f"{outcome.points} point(s): {outcome.reused} already finished, {outcome.finished} run "
        f"now, {len(outcome.failed)} failed",
        file=sys.stderr,
    )
    for failure in outcome.failed:
        values = ", ".join(f"{k}={v}" for k, v in failure["values"].items())
        print(f"failed point {failure['point']} ({values}): {failure['error']}", file=sys.stderr)
    if not outcome.complete:
        print(f"see {out / 'failures.json'}; rerun to retry the failed points", file=sys.stderr)
        return EXIT_FAILED
    print(outcome.results_path)
    return 0
