"""Command line: ``python -m sim run | validate | report``.

Any :class:`~sim.errors.WorkbenchError` (bad file, field, value or argument) becomes one
line on stderr and exit code 2; a report notebook that fails exits 1; never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from sim.cli import experiments, history, incentives, search
from sim.cli.argtypes import non_negative_int
from sim.errors import ConfigError, WorkbenchError

__all__ = ["main"]

COMMAND_FAMILIES = (experiments, search, incentives, history)
"""Modules that add subcommands, one per command family.  Each exposes
``add_commands(sub) -> dict[name, handler]`` where ``sub`` is the subparsers object and a
handler takes the parsed args and returns the exit code; a family imports what its
handlers need inside them, so building the parser stays cheap."""

EXIT_INPUT = 2
EXIT_FAILED = 1


class _StoreOnce(argparse.Action):
    """``store`` that refuses a second value: ``--seed 1 --seed 2`` is an error."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        given = namespace.__dict__.setdefault("_given_once", set())
        if self.dest in given:
            raise argparse.ArgumentError(self, f"given twice; give {option_string} once")
        given.add(self.dest)
        setattr(namespace, self.dest, values)


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line and exit code 2, and whose single-value
    options may be given once (repeatable ones say ``action="append"``)."""

    def add_argument(self, *args, **kwargs):  # type: ignore[override]
        optional = bool(args) and str(args[0]).startswith("-")
        if optional and kwargs.get("action", "store") == "store":
            kwargs["action"] = _StoreOnce
        return super().add_argument(*args, **kwargs)

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
        "--allow-notebook",
        action="append",
        default=[],
        metavar="PATH",
        help="allow running this notebook file from outside notebooks/ (a notebook runs code)",
    )
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
        "--lang",
        choices=("en", "zh"),
        help="report language (default: the scenario's report.lang, else en)",
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
    import mapping, else policy.  Only the loader returned is imported (start-up time)."""
    keys = set(data)
    if {"start", "team", "arrivals", "horizon_days"} & keys:
        from sim.world.loading import load_scenario

        return load_scenario
    if "variants" in keys:
        from sim.reports.batch import load_batch

        return load_batch
    if "scenario" in keys:  # a sweep names its scenario; policies and batches do not
        from sim.experiments.sweep_spec import load_sweep_spec

        return load_sweep_spec
    if "tables" in keys:
        from sim.history.mapping import load_mapping_spec

        return load_mapping_spec
    from sim.world.loading import load_policy

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
    from sim.io.output import distinct_name, safe_name

    def stem(key: str) -> str:
        value = params.get(key, known.get(key))
        return distinct_name(Path(str(value)).stem) if value else "default"

    policy = (
        f"{stem('baseline')}_vs_{stem('candidate')}" if _is_comparison(known) else stem("policy")
    )
    seed = params.get("seed", known.get("seed"))
    suffix = f"__seed{seed}" if seed is not None else ""  # a notebook without a seed
    return safe_name(f"{distinct_name(Path(scenario).stem)}__{policy}{suffix}")


def _refuse_repeated_report_options(args: argparse.Namespace) -> None:
    """``-p NAME`` and ``--set PATH`` may each be given once per name or path."""
    from sim.io.overrides import parse_override
    from sim.world.override_paths import refuse_repeats

    names = [name for name, _ in args.parameter]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"-p {name}: given twice; give each parameter once")
    refuse_repeats(("--set", parse_override(item)[0]) for item in args.overrides)


def _cmd_report(args: argparse.Namespace) -> int:
    from sim.io.paths import resolve
    from sim.io.safe_yaml import parse_scalar
    from sim.reports.rendering import find_notebook, notebook_parameters, run_report
    from sim.world.loading import load_scenario

    _refuse_repeated_report_options(args)
    if args.batch is not None:
        from sim.reports.batch import cmd_report_batch

        return cmd_report_batch(args)
    allowed = tuple(args.allow_notebook)
    known = notebook_parameters(find_notebook(args.notebook, allowed))
    params = {name: parse_scalar(value) for name, value in args.parameter}
    if args.lang is not None:
        if "lang" not in known:
            raise ConfigError(f"{args.notebook}: --lang: this report has no 'lang' parameter")
        params["lang"] = args.lang
    if args.scenario is not None:
        scenario_path = resolve(args.scenario)
        load_scenario(scenario_path)  # fail fast, with the file's own error line
        params["scenario"] = str(scenario_path)
    if args.policy or {"policy", "baseline", "candidate"} & set(known):
        params.update(_policy_parameters(args.notebook, known, args.policy))
    sweep_name = None
    for folder in ("sweep_dir", "search_dir"):  # sweep_report, policy_search: the folder's name
        if args.name is None and folder in known:
            sweep_name = Path(str(params.get(folder, known[folder])).strip("\"'")).name
    name = args.name or sweep_name or _report_name(args.scenario or args.notebook, known, params)
    if args.name is None and params.get("lang") is not None:  # en and zh: two files
        name = f"{name}__{params['lang']}"
    if args.overrides:
        from sim.io.output import confined, safe_name
        from sim.io.paths import project_root
        from sim.reports.notebook_inputs import with_overrides

        base = Path(args.out) if args.out else project_root() / "reports"
        inputs = confined(base, safe_name(find_notebook(args.notebook, allowed).stem)) / "inputs"
        params = with_overrides(known, params, args.overrides, inputs, name)
    html = run_report(
        args.notebook, params, report_name=name, out_dir=args.out, allowed_notebooks=allowed
    )
    print(html)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    try:
        parser, handlers = _build_parser()
        args = parser.parse_args(argv)
        return handlers[args.command](args)
    except WorkbenchError as exc:
        from sim.reports.rendering import ReportError  # not at start-up: only on an error

        if isinstance(exc, ReportError):
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_FAILED
        lines = str(exc).splitlines() or [exc.__class__.__name__]
        more = f" (+{len(lines) - 1} more; see 'python -m sim validate')" if len(lines) > 1 else ""
        print(f"error: {lines[0]}{more}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
