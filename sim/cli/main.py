"""Command line: ``python -m sim run | validate | report``.

Any :class:`~sim.errors.WorkbenchError` (bad file, field, value or argument) becomes one
line on stderr and exit code 2; a report notebook that fails exits 1; never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from sim.cli import experiments, history, incentives
from sim.cli.argtypes import non_negative_int
from sim.errors import ConfigError, WorkbenchError

__all__ = ["main"]

COMMAND_FAMILIES = (experiments, incentives, history)
"""Modules that add subcommands, one per command family.  Each exposes
``add_commands(sub) -> dict[name, handler]`` where ``sub`` is the subparsers object and a
handler takes the parsed args and returns the exit code; a family imports what its
handlers need inside them, so building the parser stays cheap."""

EXIT_INPUT = 2
EXIT_FAILED = 1


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigError(f"{self.prog}: {message} (see --help)")


def _build_parser() -> tuple[argparse.ArgumentParser, dict]:
    parser = _Parser(
        prog="python -m sim",
        description="Sales-operations workbench: simulate scenarios under policies.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="simulate one scenario under one policy")
    run.add_argument("scenario", help="scenario YAML file")
    run.add_argument("--policy", help="policy YAML file (default: the source's defaults)")
    run.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default 0)")
    run.add_argument("--out", help="output folder (default runs/<scenario>__<policy>__seed<N>)")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario or policy field (dotted path; 'scenario.' or 'policy.' "
        "in front picks the file when a field is in both)",
    )

    val = sub.add_parser(
        "validate", help="check scenario, policy, sweep, batch and import-mapping files"
    )
    val.add_argument("files", nargs="+", help="YAML files (the kind is told by their keys)")

    rep = sub.add_parser("report", help="render a notebook report to HTML under reports/")
    rep.add_argument("notebook", help="notebook name in notebooks/ (e.g. scenario_report)")
    rep.add_argument(
        "--scenario",
        help="scenario YAML file (default: the notebook's own scenario parameter, if any)",
    )
    rep.add_argument(
        "--policy",
        action="append",
        default=[],
        help="policy YAML file; twice (baseline, then candidate) for policy_comparison",
    )
    rep.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="notebook parameter (value parsed as YAML)",
    )
    rep.add_argument(
        "--name", help="report file name (default from scenario, policy or policies, seed)"
    )
    rep.add_argument("--out", help="reports folder (default reports/)")
    rep.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a field of the scenario or policy files the notebook reads (as for run)",
    )
    rep.add_argument(
        "--batch",
        metavar="FILE",
        help="render one report per variant of a batch YAML file, in parallel",
    )
    handlers = {"run": _cmd_run, "validate": _cmd_validate, "report": _cmd_report}
    for family in COMMAND_FAMILIES:
        handlers.update(family.add_commands(sub))
    return parser, handlers


def _cmd_run(args: argparse.Namespace) -> int:
    from sim.engine.simulation import run
    from sim.io.output import safe_name
    from sim.outcomes.kpis import kpi_table
    from sim.outcomes.run_files import write_run
    from sim.world.override_paths import load_with_overrides

    scenario, policy = load_with_overrides(args.scenario, args.policy, args.overrides)
    result = run(scenario, policy, args.seed)
    policy_stem = Path(args.policy).stem if args.policy else "default"
    out = args.out or Path("runs") / safe_name(
        f"{Path(args.scenario).stem}__{policy_stem}__seed{args.seed}"
    )
    paths = write_run(result, out)
    table = kpi_table(result)
    with_units = table.assign(value=table["value"].map(lambda v: f"{v:,.3f}"))
    print(with_units[["kpi", "value", "unit"]].to_string(index=False))
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"wrote {Path(paths['kpis']).parent}")
    return 0


def _loader(data: dict):
    """The loader of a YAML file, told by its top-level keys: scenario, sweep, batch,
    import mapping, else policy."""
    from sim.experiments.sweep_spec import load_sweep_spec
    from sim.history.mapping import load_mapping_spec
    from sim.reports.batch import load_batch
    from sim.world.loading import load_policy, load_scenario

    keys = set(data)
    if {"start", "team", "arrivals", "horizon_days"} & keys:
        return load_scenario
    if "variants" in keys:
        return load_batch
    if "scenario" in keys:  # a sweep names its scenario; policies and batches do not
        return load_sweep_spec
    if "tables" in keys:
        return load_mapping_spec
    return load_policy


def _cmd_validate(args: argparse.Namespace) -> int:
    from sim.io.safe_yaml import load_mapping

    problems = 0
    for name in args.files:
        try:
            loader = _loader(load_mapping(name))
            loader(name)
            print(f"{name}: ok")
        except WorkbenchError as exc:
            problems += 1
            print(str(exc), file=sys.stderr)
    return EXIT_INPUT if problems else 0


def _is_comparison(known: dict) -> bool:
    return {"baseline", "candidate"} <= set(known)


def _policy_parameters(notebook: str, known: dict, policies: list[str]) -> dict[str, str | None]:
    """Notebook parameters for the ``--policy`` files.

    A notebook with ``baseline`` and ``candidate`` parameters (policy_comparison) takes
    none (its defaults) or two ``--policy`` (baseline, then candidate); any other takes
    at most one, as its ``policy`` parameter (None: the default policy).
    """
    from sim.io.paths import resolve
    from sim.world.loading import load_policy

    paths = [resolve(p) for p in policies]
    for path in paths:
        load_policy(path)  # fail fast, with the file's own error line
    if _is_comparison(known):
        if len(paths) not in (0, 2):
            raise ConfigError(
                f"{notebook}: --policy given {len(paths)} time(s); give it twice "
                "(baseline, then candidate) or not at all"
            )
        return {"baseline": str(paths[0]), "candidate": str(paths[1])} if paths else {}
    if len(paths) > 1:
        raise ConfigError(f"{notebook}: --policy given {len(paths)} times; this report takes one")
    return {"policy": str(paths[0]) if paths else None}  # None: the default policy


def _report_name(scenario: str, known: dict, params: dict) -> str:
    """``<scenario>__<policy>__seed<N>``, or ``<scenario>__<baseline>_vs_<candidate>__seed<N>``."""
    from sim.io.output import safe_name

    def stem(key: str) -> str:
        value = params.get(key, known.get(key))
        return Path(str(value)).stem if value else "default"

    policy = (
        f"{stem('baseline')}_vs_{stem('candidate')}" if _is_comparison(known) else stem("policy")
    )
    seed = params.get("seed", known.get("seed"))
    suffix = f"__seed{seed}" if seed is not None else ""  # a notebook without a seed
    return safe_name(f"{Path(scenario).stem}__{policy}{suffix}")


def _cmd_report(args: argparse.Namespace) -> int:
    from sim.io.paths import resolve
    from sim.io.safe_yaml import parse_scalar
    from sim.reports.rendering import find_notebook, notebook_parameters, run_report
    from sim.world.loading import load_scenario

    if args.batch is not None:
        from sim.reports.batch import cmd_report_batch

        return cmd_report_batch(args)
    known = notebook_parameters(find_notebook(args.notebook))
    params = {name: parse_scalar(value) for name, value in args.parameter}
    if args.scenario is not None:
        scenario_path = resolve(args.scenario)
        load_scenario(scenario_path)  # fail fast, with the file's own error line
        params["scenario"] = str(scenario_path)
    if args.policy or {"policy", "baseline", "candidate"} & set(known):
        params.update(_policy_parameters(args.notebook, known, args.policy))
    if args.name is None and "sweep_dir" in known:  # sweep_report: named after the sweep
        args.name = Path(str(params.get("sweep_dir", known["sweep_dir"])).strip("\"'")).name
    name = args.name or _report_name(args.scenario or args.notebook, known, params)
    if args.overrides:
        from sim.io.output import confined, safe_name
        from sim.io.paths import project_root
        from sim.reports.notebook_inputs import with_overrides

        base = Path(args.out) if args.out else project_root() / "reports"
        inputs = confined(base, safe_name(find_notebook(args.notebook).stem)) / "inputs"
        params = with_overrides(known, params, args.overrides, inputs, name)
    html = run_report(args.notebook, params, report_name=name, out_dir=args.out)
    print(html)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    from sim.reports.rendering import ReportError

    try:
        parser, handlers = _build_parser()
        args = parser.parse_args(argv)
        return handlers[args.command](args)
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except WorkbenchError as exc:
        lines = str(exc).splitlines() or [exc.__class__.__name__]
        more = f" (+{len(lines) - 1} more; see 'python -m sim validate')" if len(lines) > 1 else ""
        print(f"error: {lines[0]}{more}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
