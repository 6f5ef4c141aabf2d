"""Batch reports: one notebook rendered once per variant, in parallel, with an index page.

``python -m sim report NOTEBOOK --batch FILE`` reads a batch file::

    name: sla_variants        # batch folder: reports/batches/<name>/ (default: file stem)
    parallel: 2               # reports rendered at once (default: cores, at most variants)
    parameters:               # notebook parameters shared by every variant
      scenario: scenarios/baseline.yaml
      replications: 3
    variants:                 # named variants, each with its own parameters ...
      - name: no_sla
        parameters: {policy: scenarios/policies/no_sla.yaml}
      - name: source_defaults
        parameters: {policy: scenarios/policies/source_defaults.yaml}
    grid:                     # ... and/or one variant per combination of values
      seed: [1, 2]
      sla.reclaim_hours: [4, 8]   # a dotted key: an override path, as for run --set

Variants are the named ones crossed with the grid's combinations (either alone is fine);
a variant's parameters are the shared ones, then its own, then its grid values.  Each
is rendered by :func:`sim.reports.rendering.run_report` to
``reports/batches/<name>/<notebook>/<variant>.html`` and ``index.html`` beside them links
them all.  Everything is checked before a kernel starts: unknown keys and parameters,
duplicate variant names, and the scenario and policy files named by parameters.

A key with a dot (in ``parameters``, a variant's parameters or ``grid``) is an override
path routed and set exactly like ``run --set`` and sweep levers; the overridden
scenario and policy files are written under ``<notebook>/inputs/`` and given to the
notebook in place of the originals (:mod:`sim.reports.notebook_inputs`).
"""

from __future__ import annotations

import html
import itertools
import json
import os
import sys
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.errors import ConfigError
from sim.io.output import confined, safe_name
from sim.io.overrides import parse_override
from sim.io.paths import project_root, resolve
from sim.io.safe_yaml import load_mapping, parse_scalar
from sim.io.validation import validate
from sim.reports.notebook_inputs import (
    POLICY_PARAMETERS,
    overridden_inputs,
    split_parameters,
    write_inputs,
)
from sim.reports.rendering import ReportError, find_notebook, notebook_parameters, run_report
from sim.world.loading import load_policy, load_scenario

__all__ = [
    "BatchSpec",
    "BatchVariant",
    "CheckedVariant",
    "RenderedVariant",
    "check_variants",
    "load_batch",
    "run_batch",
    "variants",
]


class BatchVariant(BaseModel):
    """One named variant: its notebook parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)
    parameters: dict[str, Any] = Field(default_factory=dict)


class BatchSpec(BaseModel):
    """A batch file (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str | None = None
    parallel: int | None = Field(None, ge=1)
    parameters: dict[str, Any] = Field(default_factory=dict)
    variants: list[BatchVariant] = Field(default_factory=list)
    grid: dict[str, list[Any]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _something_to_render(self) -> BatchSpec:
        if not self.variants and not self.grid:
            raise ValueError("no variants: give 'variants', 'grid' or both")
        for key, values in self.grid.items():
            if not values:
                raise ValueError(f"grid {key}: no values")
        return self


def load_batch(path: str | Path) -> BatchSpec:
    """A :class:`BatchSpec` from a YAML file; errors name the file and the field."""
    return validate(BatchSpec, load_mapping(path), str(path))


def _label(value: Any) -> str:
    return Path(value).stem if isinstance(value, str) and value.endswith(".yaml") else str(value)


def variants(spec: BatchSpec, source: str = "batch") -> list[tuple[str, dict[str, Any]]]:
    """``(file-safe name, parameters)`` of every variant, in file order."""
    named = spec.variants or [BatchVariant(name="_", parameters={})]
    combos = [
        dict(zip(spec.grid, values, strict=True))
        for values in itertools.product(*spec.grid.values())
    ]
    out: list[tuple[str, dict[str, Any]]] = []
    seen: dict[str, str] = {}
    for variant in named:
        for combo in combos:
            parts = [variant.name] if spec.variants else []
            parts += [f"{key}-{_label(value)}" for key, value in combo.items()]
            name = safe_name("__".join(parts))
            if name in seen:
                raise ConfigError(f"{source}: two variants are both named {name!r}")
            seen[name] = name
            out.append((name, {**spec.parameters, **variant.parameters, **combo}))
    return out


@dataclass(frozen=True)
class CheckedVariant:
    """A variant ready to render: parameters as given (files absolute) and the content of
    the scenario/policy files its override paths produce."""

    name: str
    parameters: dict[str, Any]
    inputs: dict[str, dict[str, Any]]


def _checked(notebook: Path, name: str, params: dict[str, Any], source: str) -> CheckedVariant:
    """*params* with scenario/policy files loaded (fail fast) and made absolute, and the
    files their override paths produce."""
    known = notebook_parameters(notebook)
    params, overrides = split_parameters(params)
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ConfigError(
            f"{source}: variant {name!r}: unknown parameter(s) {', '.join(unknown)} of "
            f"{notebook.name}; parameters: {', '.join(known)}"
        )
    checked = dict(params)
    if isinstance(params.get("scenario"), str):
        checked["scenario"] = str(resolve(params["scenario"]))
        load_scenario(checked["scenario"])
    for key in POLICY_PARAMETERS:
        if isinstance(params.get(key), str):
            checked[key] = str(resolve(params[key]))
            load_policy(checked[key])
    inputs = overridden_inputs(known, checked, overrides, f"{source}: variant {name!r}")
    return CheckedVariant(name, {**checked, **overrides}, inputs)


def check_variants(notebook: Path, spec: BatchSpec, source: str = "batch") -> list[CheckedVariant]:
    """Every variant of *spec* checked against *notebook*, before anything is written."""
    return [_checked(notebook, n, p, source) for n, p in variants(spec, source)]


@dataclass(frozen=True)
class RenderedVariant:
    """One variant's outcome: the HTML report, or the error that stopped it."""

    name: str
    parameters: dict[str, Any]
    html: Path | None
    error: str | None


def _render(notebook: str, name: str, params: dict[str, Any], folder: str) -> tuple[str, str]:
    """Render one variant (runs in a pool process): ``('ok', html)`` or ``('error', text)``."""
    try:
        return "ok", str(run_report(notebook, params, report_name=name, out_dir=folder))
    except (ReportError, ConfigError) as exc:
        return "error", str(exc).splitlines()[0]


def _index_page(title: str, folder: Path, rendered: list[RenderedVariant]) -> str:
    rows = []
    for variant in rendered:
        shown = ", ".join(f"{k}={_label(v)}" for k, v in variant.parameters.items())
        if variant.html is not None:
            link = variant.html.relative_to(folder).as_posix()
            cell = f'<a href="{html.escape(link)}">{html.escape(variant.name)}</a>'
            status = "rendered"
        else:
            cell = html.escape(variant.name)
            status = f"failed: {html.escape(variant.error or '')}"
        rows.append(f"<tr><td>{cell}</td><td>{html.escape(shown)}</td><td>{status}</td></tr>")
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:.3em .8em;"
        "border-bottom:1px solid #ddd;text-align:left}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><table><tr><th>report</th><th>parameters</th>"
        "<th>status</th></tr>\n" + "\n".join(rows) + "\n</table></body></html>\n"
    )


def run_batch(
    notebook: str,
    spec: BatchSpec,
    *,
    name: str,
    extra: Mapping[str, Any] | None = None,
    out_dir: str | Path | None = None,
    source: str = "batch",
) -> tuple[Path, list[RenderedVariant]]:
    """Render every variant of *spec* (parameters: *extra* override the shared ones).

    Returns the index page and the outcome per variant, in file order.  Input problems
    raise ConfigError before any kernel starts; a variant whose notebook fails is
    reported in its :class:`RenderedVariant` (and on the index page), not raised.
    """
    path = find_notebook(notebook)
    if extra:
        spec = spec.model_copy(update={"parameters": {**spec.parameters, **extra}})
    todo = check_variants(path, spec, source)
    base = Path(out_dir) if out_dir is not None else project_root() / "reports"
    folder = confined(confined(base, "batches"), safe_name(name))
    folder.mkdir(parents=True, exist_ok=True)
    inputs = confined(folder, safe_name(path.stem)) / "inputs"
    render = [
        {k: v for k, v in c.parameters.items() if "." not in k}
        | write_inputs(inputs, c.name, c.inputs)
        for c in todo
    ]
    workers = spec.parallel or min(len(todo), os.cpu_count() or 1)
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = [
            pool.submit(_render, str(path), c.name, p, str(folder))
            for c, p in zip(todo, render, strict=True)
        ]
        outcomes = [future.result() for future in futures]
    rendered = [
        RenderedVariant(
            c.name,
            c.parameters,
            Path(value) if status == "ok" else None,
            value if status == "error" else None,
        )
        for c, (status, value) in zip(todo, outcomes, strict=True)
    ]
    index = confined(folder, "index.html")
    index.write_text(_index_page(f"{path.stem}: {name}", folder, rendered), encoding="utf-8")
    manifest = [{"name": r.name, "parameters": r.parameters, "error": r.error} for r in rendered]
    confined(folder, "batch.json").write_text(
        json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8"
    )
    return index, rendered


def cmd_report_batch(args: Any) -> int:
    """``python -m sim report NOTEBOOK --batch FILE [-p NAME VALUE] [--set K=V] [--out DIR]``.

    Prints the index page; exit 0 when every variant rendered, else 1 (the failures are
    listed on stderr and on the index page).
    """
    given = [
        flag
        for flag, value in (
            ("--scenario", args.scenario),
            ("--name", args.name),
            ("--policy", args.policy),
        )
        if value
    ]
    if given:
        raise ConfigError(
            f"report --batch: {', '.join(given)} cannot be combined with --batch; "
            "put them in the batch file's parameters"
        )
    batch_path = resolve(args.batch)
    spec = load_batch(batch_path)
    extra = {name: parse_scalar(value) for name, value in args.parameter}
    extra.update(parse_override(item) for item in args.overrides)  # dotted: override paths
    name = spec.name or Path(args.batch).stem
    index, rendered = run_batch(
        args.notebook, spec, name=name, extra=extra, out_dir=args.out, source=str(args.batch)
    )
    failed = [r for r in rendered if r.error is not None]
    for variant in failed:
        print(f"error: {variant.name}: {variant.error}", file=sys.stderr)
    print(index)
    return 1 if failed else 0
