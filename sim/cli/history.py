"""Commands for historical data: ``import``, ``calibrate``, ``backtest``.

::

    python -m sim import --make-sample exports/sample            # a synthetic CRM export
    python -m sim import exports/sample --mapping scenarios/mappings/sample.yaml --out data/sample
    python -m sim import exports/sample --mapping MAP.yaml --check   # report only
    python -m sim calibrate data/sample --out scenarios/sample_fitted.yaml [--replay]
    python -m sim backtest data/sample --scenario scenarios/sample_fitted.yaml

Registered through :data:`sim.cli.main.COMMAND_FAMILIES`.  Bad input raises a
:class:`~sim.errors.WorkbenchError`, which the CLI prints as one line with exit code 2.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from sim.cli.argtypes import non_negative_int, positive_int
from sim.errors import ConfigError

__all__ = ["add_commands"]


def add_commands(sub) -> dict:
    """Add ``import``, ``calibrate`` and ``backtest`` to the subparsers *sub*."""
    imp = sub.add_parser("import", help="import a CRM export through a mapping file")
    imp.add_argument("export", nargs="?", help="folder holding the export's CSV/Parquet files")
    imp.add_argument("--mapping", help="mapping YAML (e.g. scenarios/mappings/sample.yaml)")
    imp.add_argument("--out", help="folder for the canonical tables and quarantine file")
    imp.add_argument("--check", action="store_true", help="validate and report; write nothing")
    imp.add_argument(
        "--make-sample",
        metavar="DIR",
        help="write a small synthetic CRM export (with deliberate defects) into DIR",
    )
    imp.add_argument("--seed", type=int, default=7, help="seed of --make-sample (default 7)")

    cal = sub.add_parser("calibrate", help="fit a scenario to imported data")
    cal.add_argument("data", help="folder written by 'import'")
    cal.add_argument("--out", required=True, help="scenario YAML to write")
    cal.add_argument("--name", help="scenario name (default: the file's stem)")
    cal.add_argument(
        "--replay", action="store_true", help="arrivals replay the imported leads (not Poisson)"
    )

    bt = sub.add_parser("backtest", help="replay a held-out period under two policies")
    bt.add_argument("data", help="folder written by 'import'")
    bt.add_argument("--scenario", required=True, help="scenario YAML (team, calendars)")
    bt.add_argument(
        "--historical",
        default="scenarios/policies/no_sla.yaml",
        help="historical-like policy (default: round robin, no SLA breaker)",
    )
    bt.add_argument(
        "--candidate",
        default="scenarios/policies/source_defaults.yaml",
        help="candidate policy (default: the source's 2 h / 4 h breaker)",
    )
    bt.add_argument("--holdout-days", type=positive_int, help="held-out days (default 1/4)")
    bt.add_argument("--replications", type=positive_int, default=3)
    bt.add_argument("--seed", type=non_negative_int, default=0)
    bt.add_argument("--out", help="folder for the backtest tables")
    return {"import": _cmd_import, "calibrate": _cmd_calibrate, "backtest": _cmd_backtest}


def _cmd_import(args: argparse.Namespace) -> int:
    if args.make_sample:
        from sim.history.synthetic_export import make_sample

        if args.seed < 0:
            raise ConfigError(f"--seed: must be >= 0, got {args.seed}")
        manifest = make_sample(args.make_sample, seed=args.seed)
        for name, rows in manifest["rows"].items():
            print(f"{name}: {rows} rows")
        print(f"wrote {args.make_sample}")
        return 0
    from sim.history.importer import import_export, summary_lines, write_import
    from sim.history.mapping import load_mapping_spec

    if not args.export or not args.mapping:
        raise ConfigError("import: give EXPORT_DIR and --mapping (or --make-sample DIR)")
    if not args.check and not args.out:
        raise ConfigError("import: give --out DATA_DIR (or --check to only report)")
    result = import_export(args.export, load_mapping_spec(args.mapping))
    for line in summary_lines(result):
        print(line)
    if not args.check:
        write_import(result, args.out)
        print(f"wrote {args.out}")
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from sim.history.calibrate import fit
    from sim.history.deal_stage_fit import write_calibrated_scenario
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
    process = write_calibrated_scenario(cal, target, args.name or out.stem, replay)
    print(cal.goodness().to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if process is not None:
        print(
            f"deal-stage model: win rate {process.simulated_win_rate:.4f} simulated vs "
            f"{process.target_win_rate:.4f} observed; mean cycle {process.simulated_cycle_mean:.2f}"
            f" vs {process.target_cycle_mean:.2f} days; cycle KS {process.cycle_ks:.3f}"
        )
    print(f"wrote {args.out}")
    return 0


def _cmd_backtest(args: argparse.Namespace) -> int:
    from sim.history.backtest import backtest, write_backtest
    from sim.io.output import safe_name
    from sim.io.paths import resolve
    from sim.reports.comparison_narrative import HEADLINE_KPIS
    from sim.world.loading import load_policy, load_scenario

    scenario = load_scenario(args.scenario)
    historical = load_policy(resolve(args.historical))
    candidate = load_policy(resolve(args.candidate))
    result = backtest(
        args.data,
        scenario,
        historical,
        candidate,
        holdout_days=args.holdout_days,
        replications=args.replications,
        seed=args.seed,
    )
    s = result.summary()
    print(
        f"held out {s['holdout_days']} days from {s['split']}: {s['replayed_leads']} leads "
        f"replayed; arrivals fitted on {s['training_leads']} earlier leads"
    )
    print(
        f"historical: {historical.name} ({args.historical}); "
        f"candidate: {candidate.name} ({args.candidate})"
    )
    diff = result.differences.rename(columns={"baseline_mean": "historical_mean"})
    headline = diff[diff["kpi"].isin(HEADLINE_KPIS) & (diff["n"] > 0)]
    cols = ["kpi", "historical_mean", "candidate_mean", "difference", "verdict"]
    print(headline[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(
        f"calibration check: {s['within']} of {s['measures']} held-out measures within the "
        "95% prediction interval of the fitted model"
    )
    print(result.check.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    out = args.out or Path("runs") / safe_name(f"backtest__{Path(args.data).name}")
    write_backtest(result, out)
    print(f"wrote {out} (comparison.csv has every KPI)")
    return 0
