"""Commands for historical data: ``import``, ``calibrate``, ``backtest``.

::

    python -m sim import --make-sample exports/sample            # a synthetic CRM export
    python -m sim import --make-sample exports/deals --deal-only ramp   # Maven layout, no leads
    python -m sim import exports/sample --mapping scenarios/mappings/sample.yaml --out data/sample
    python -m sim import exports/sample --mapping MAP.yaml --check   # report only
    python -m sim import EXPORT --mapping MAP.yaml --out DATA --batch-rows 20000  # memory
    python -m sim calibrate data/sample --out scenarios/sample_fitted.yaml [--replay]
    python -m sim backtest data/sample --scenario scenarios/sample_fitted.yaml

Registered through :data:`sim.cli.main.COMMAND_FAMILIES`.  Bad input raises a
:class:`~sim.errors.WorkbenchError`, which the CLI prints as one line with exit code 2.
``calibrate`` exits 3 (:data:`EXIT_FIT_MISSED`) with one line when the deal-stage fit
misses the export's win rate or mean won cycle by more than 5%, after writing the
scenario and its ``.fit.json`` sidecar.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sim.cli.argtypes import non_negative_int, positive_int
from sim.errors import ConfigError

__all__ = ["EXIT_FIT_MISSED", "add_commands"]

EXIT_FIT_MISSED = 3
"""``calibrate``: the deal-stage fit missed the export's win rate or mean cycle by > 5%."""


def add_commands(sub) -> dict:
    """Add ``import``, ``calibrate`` and ``backtest`` to the subparsers *sub*."""
    imp = sub.add_parser("import", help="import a CRM export through a mapping file")
    imp.add_argument("export", nargs="?", help="folder holding the export's CSV/Parquet files")
    imp.add_argument("--mapping", help="mapping YAML (e.g. scenarios/mappings/sample.yaml)")
    imp.add_argument("--out", help="folder for the canonical tables and quarantine file")
    imp.add_argument("--check", action="store_true", help="validate and report; write nothing")
    imp.add_argument(
        "--batch-rows",
        type=positive_int,
        default=50_000,
        help="records read and checked at a time (memory; default 50000)",
    )
    imp.add_argument(
        "--make-sample",
        metavar="DIR",
        help="write a small synthetic CRM export (with deliberate defects) into DIR",
    )
    imp.add_argument("--seed", type=int, default=7, help="seed of --make-sample (default 7)")
    imp.add_argument(
        "--deal-only",
        metavar="PRESET",
        choices=("ramp", "flat", "censored"),
        help="with --make-sample: a deal-only export in the Maven CRM layout "
        "(sales_pipeline.csv, sales_teams.csv, ...) drawn from PRESET: ramp, flat or censored",
    )

    cal = sub.add_parser(
        "calibrate",
        help="fit a scenario to imported data",
        epilog="Exit codes: 0 fitted; 2 bad input (one line); 3 the deal-stage fit missed "
        "the export's win rate or mean won cycle by more than 5% (one line gives the "
        "miss; the scenario and OUT's .fit.json sidecar are still written).",
    )
    cal.add_argument("data", help="folder written by 'import'")
    cal.add_argument("--out", required=True, help="scenario YAML to write")
    cal.add_argument("--name", help="scenario name (default: the file's stem)")
    cal.add_argument(
        "--replay", action="store_true", help="arrivals replay the imported leads (not Poisson)"
    )
    cal.add_argument(
        "--fit-runs",
        type=positive_int,
        default=6,
        help="most simulated runs of the deal-stage search (default 6)",
    )

    bt = sub.add_parser("backtest", help="replay a held-out period under two policies")
    bt.add_argument("data", help="folder written by 'import'")
    bt.add_argument("--scenario", required=True, help="scenario YAML (team, calendars)")
    bt.add_argument(
        "--historical",
        help="historical baseline policy (default: scenarios/policies/historical_assignment.yaml,"
        " each lead to the rep who really got it, when the export says; else no_sla.yaml)",
    )
    bt.add_argument(
        "--candidate",
        default="scenarios/policies/source_defaults.yaml",
        help="candidate policy (default: the source's 2 h / 4 h breaker)",
    )
    bt.add_argument(
        "--holdout-days",
        type=positive_int,
        help="held-out days of each split (default 60 when the export is long enough)",
    )
    bt.add_argument("--split-date", metavar="YYYY-MM-DD", help="first held-out day (last split)")
    bt.add_argument(
        "--splits", type=positive_int, default=1, help="rolling origins, one per held-out period"
    )
    bt.add_argument("--replications", type=positive_int, default=3)
    bt.add_argument("--seed", type=non_negative_int, default=0)
    bt.add_argument("--out", help="folder for the backtest tables")
    return {"import": _cmd_import, "calibrate": _cmd_calibrate, "backtest": _cmd_backtest}


def _cmd_import(args: argparse.Namespace) -> int:
    if args.deal_only and not args.make_sample:
        raise ConfigError("--deal-only: give it with --make-sample DIR")
    if args.make_sample:
        from sim.history.synthetic_export import make_sample

        if args.seed < 0:
            raise ConfigError(f"--seed: must be >= 0, got {args.seed}")
        if args.deal_only:
            from sim.history.synthetic_deal_files import make_deal_export

            manifest = make_deal_export(args.make_sample, seed=args.seed, truth=args.deal_only)
        else:
            manifest = make_sample(args.make_sample, seed=args.seed)
        for name, rows in manifest["rows"].items():
            print(f"{name}: {rows} rows")
        print(f"wrote {args.make_sample}")
        return 0
    from sim.history.importer import import_export, summary_lines, useless_error, write_import
    from sim.history.mapping import load_mapping_spec

    if not args.export or not args.mapping:
        raise ConfigError("import: give EXPORT_DIR and --mapping (or --make-sample DIR)")
    if not args.check and not args.out:
        raise ConfigError("import: give --out DATA_DIR (or --check to only report)")
    result = import_export(args.export, load_mapping_spec(args.mapping), args.batch_rows)
    for line in summary_lines(result):
        print(line)
    if (error := useless_error(result)) is not None:
        raise error  # a table with no accepted row: nothing written, exit 2
    if not args.check:
        write_import(result, args.out)
        print(f"wrote {args.out}")
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from sim.history.calibrate import fit
    from sim.history.deal_stage_fit import fit_report_path, write_calibrated_scenario
    from sim.io.output import confined

    out = Path(args.out)
    if out.suffix not in (".yaml", ".yml"):
        raise ConfigError(f"--out: {args.out}: expected a .yaml file")
    target = confined(out.parent, out.name)
    cal = fit(args.data)
    replay = None
    if args.replay:
        leads = (Path(args.data) / "leads.parquet").resolve()
        replay = Path(os.path.relpath(leads, target.parent)).as_posix()
    target.parent.mkdir(parents=True, exist_ok=True)
    history, opportunities = _stage_history(Path(args.data))
    process = write_calibrated_scenario(
        cal,
        target,
        args.name or out.stem,
        replay,
        stage_history=history,
        opportunities=opportunities,
        budget=args.fit_runs,
    )
    print(cal.goodness().to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if cal.deals is not None:
        print(cal.deals.line(cal.arrivals.leads))
    for note in getattr(cal, "notes", []):
        print(f"note: {note}")
    if process is not None:
        for note in process.notes:
            print(f"note: deal-stage fit: {note}")
        how = "stage history" if process.method == "stage_history" else "search"
        print(
            f"deal-stage model ({how}, {process.runs} simulated runs): "
            f"{process.measures_line()}; cycle KS {process.cycle_ks:.3f}"
        )
    print(f"wrote {args.out}")
    if process is not None:
        print(f"wrote {fit_report_path(target)}")
        if not process.converged:
            print(f"calibrate: {process.miss}", file=sys.stderr)
            return EXIT_FIT_MISSED
    return 0


def _stage_history(data: Path):
    """The imported ``stage_history`` and ``opportunities`` tables (None, None without a
    stage history): read only when the import has one."""
    if not (data / "stage_history.parquet").is_file():
        return None, None
    import pandas as pd

    from sim.errors import DataError

    try:
        return (
            pd.read_parquet(data / "stage_history.parquet"),
            pd.read_parquet(data / "opportunities.parquet"),
        )
    except (OSError, ValueError) as exc:
        problem = type(exc).__name__
        raise DataError(f"{data}: unreadable stage history ({problem}): rerun import") from None


def _cmd_backtest(args: argparse.Namespace) -> int:
    from sim.history.backtest import backtest, has_historical_reps, read_check, write_backtest
    from sim.history.backtest_splits import split_errors
    from sim.history.backtest_text import (
        assignment_lines,
        check_lines,
        error_lines,
        policy_lines,
        tail_lines,
    )
    from sim.io.output import safe_name
    from sim.io.paths import resolve
    from sim.reports.comparison_narrative import HEADLINE_KPIS
    from sim.world.loading import load_policy, load_scenario

    scenario = load_scenario(args.scenario)
    historical_file = args.historical
    if historical_file is None:
        historical_file = (
            "scenarios/policies/historical_assignment.yaml"
            if has_historical_reps(args.data)
            else "scenarios/policies/no_sla.yaml"
        )
    historical = load_policy(resolve(historical_file))
    candidate = load_policy(resolve(args.candidate))
    result = backtest(
        args.data,
        scenario,
        historical,
        candidate,
        holdout_days=args.holdout_days,
        splits=args.splits,
        split_date=args.split_date,
        replications=args.replications,
        seed=args.seed,
        policy_files=(historical_file, args.candidate),
    )
    out = args.out or Path("runs") / safe_name(f"backtest__{Path(args.data).name}")
    write_backtest(result, out)
    s = result.summary()
    print(
        f"held out {s['holdout_days']} days from {s['split']}: {s['replayed_leads']} leads "
        f"replayed; arrivals fitted on {s['training_leads']} earlier leads"
    )
    for line in (
        tail_lines(s["incomplete_tail"]) + policy_lines(s) + assignment_lines(s["assignment"])
    ):
        print(line)
    diff = result.differences.rename(columns={"baseline_mean": "historical_mean"})
    headline = diff[diff["kpi"].isin(HEADLINE_KPIS) & (diff["n"] > 0)]
    cols = ["kpi", "historical_mean", "candidate_mean", "difference", "verdict"]
    print(headline[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for fit in s["fits"]:
        print(
            f"split {fit['split']}: arrivals fitted on {fit['training_leads']} earlier leads, "
            f"{fit['leads_per_month']:.1f} leads/month expected ({fit['arrival_model']})"
        )
    check = read_check(out)  # the written table: the report shows the same checks
    for line in check_lines(check) + error_lines(split_errors(check)):
        print(line)
    print(f"wrote {out} (comparison.csv has every KPI, calibration_check.csv every check)")
    return 0
