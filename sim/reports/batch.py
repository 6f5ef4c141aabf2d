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
    lang: zh                  # report language (en | zh) of every variant; a variant's
                              # own lang: wins, and a grid may list lang: [en, zh]

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
from sim.io.output import confined, safe_name, unique_names
from sim.io.overrides import parse_override
from sim.io.paths import project_root, resolve
from sim.io.safe_yaml import load_mapping, parse_scalar
from sim.io.validation import validate
from sim.reports.i18n import Lang
from sim.reports.notebook_inputs import (
    POLICY_PARAMETERS,
    overridden_inputs,
    split_parameters,
    write_inputs,
)
from sim.reports.page import embed_cjk_font
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
    """One named variant: its notebook parameters (``lang``: its report language)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)
    lang: Lang | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)


class BatchSpec(BaseModel):
    """A batch file (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str | None = None
    parallel: int | None = Field(None, ge=1)
    lang: Lang | None = None  # every variant's report language
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


def _lang(lang: str | None) -> dict[str, str]:
    """The ``lang`` notebook parameter a batch's or a variant's ``lang:`` gives."""
    return {} if lang is None else {"lang": lang}


def variants(spec: BatchSpec, source: str = "batch") -> list[tuple[str, dict[str, Any]]]:
    """``(file-safe name, parameters)`` of every variant, in file order."""
    named = spec.variants or [BatchVariant(name="_", parameters={})]
    combos = [
        dict(zip(spec.grid, values, strict=True))
        for values in itertools.product(*spec.grid.values())
    ]
    out: list[tuple[str, dict[str, Any]]] = []
    for variant in named:
        for combo in combos:
            parts = [variant.name] if spec.variants else []
            parts += [f"{key}-{_label(value)}" for key, value in combo.items()]
            name = "__".join(parts)
            if any(name == seen for seen, _ in out):
                raise ConfigError(f"{source}: two variants are both named {name!r}")
            out.append(
                (
                    name,
                    {**spec.parameters, **_lang(spec.lang)}
                    | {**variant.parameters, **_lang(variant.lang), **combo},
                )
            )
    stems = unique_names(name for name, _ in out)  # 华东/华北, 'rep li'/'rep-li' differ
    return [(stems[name], parameters) for name, parameters in out]


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


def _render(
    notebook: str, name: str, params: dict[str, Any], folder: str, allowed: tuple[str, ...] = ()
) -> tuple[str, str]:
    """Render one variant (runs in a pool process): ``('ok', html)`` or ``('error', text)``."""
    try:
        html_path = run_report(
            notebook, params, report_name=name, out_dir=folder, allowed_notebooks=allowed
        )
        return "ok", str(html_path)
    except (ReportError, ConfigError) as exc:
        return "error", str(exc).splitlines()[0]


def _index_page(notebook: Path, name: str, folder: Path, rendered: list[RenderedVariant]) -> str:
    """The batch's index: a title, the settings all variants share, one line per variant
    (its own parameters in words, a link, a status badge) and the render footer."""
    from sim.reports import page

    known = page.default_values(notebook_parameters(notebook))
    given = [dict(r.parameters) for r in rendered]
    shared = {k: v for k, v in given[0].items() if all(g.get(k) == v for g in given)}
    varying = {k for g in given for k in g} - set(shared)
    # the footer states what every variant shares; what varies is on each variant's line
    values = {k: v for k, v in {**known, **shared}.items() if k not in varying}
    lang = page.report_lang(values)
    heading = page.report_heading(_notebook(notebook), notebook.stem)
    subject = page.subject_name({**known, **shared}) if "scenario" not in varying else None
    title = page.page_title(heading, " · ".join(filter(None, (subject, name))))
    ok_word, failed_word = ("已生成", "失败") if lang == "zh" else ("rendered", "failed")
    rows = []
    for variant, params in zip(rendered, given, strict=True):
        own = {k: v for k, v in params.items() if k not in shared}
        words = html.escape(page.describe_parameters(own, lang) or "—")
        if variant.html is not None:
            link = variant.html.relative_to(folder).as_posix()
            cell = f'<a href="{html.escape(link)}">{html.escape(variant.name)}</a>'
            status = f'<span class="rag rag-green">{ok_word}</span>'
        else:
            cell = html.escape(variant.name)
            error = html.escape(variant.error or "")
            status = f'<span class="rag rag-red">{failed_word}</span> {error}'
        rows.append(f"<tr><td>{cell}</td><td>{words}</td><td>{status}</td></tr>")
    head = ("报告", "参数", "状态") if lang == "zh" else ("report", "parameters", "status")
    common = html.escape(page.describe_parameters(shared, lang))
    failed = sum(r.error is not None for r in rendered)
    if lang == "zh":
        summary = f"共 {len(rendered)} 个变体：{len(rendered) - failed} 个已生成，{failed} 个失败。"
        common = f"所有变体共用：{common}" if common else ""
    else:
        summary = f"{len(rendered)} variants: {len(rendered) - failed} rendered, {failed} failed."
        common = f"Shared by every variant: {common}" if common else ""
    footer = page.footer_html(page.render_facts(values, lang=lang))
    return (
        f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width, '
        f'initial-scale=1"><title>{html.escape(title)}</title>'
        "<style>body{font-family:system-ui,sans-serif;margin:2em 0;color:#222}"
        f"{page.page_css()}</style></head><body><main>"
        f"<h1>{html.escape(title)}</h1>"
        + f"<p>{summary}</p>"
        + (f'<p class="batch-shared">{common}</p>' if common else "")
        + '<div class="table-scroll"><table class="batch-index"><tr>'
        + "".join(f"<th>{h}</th>" for h in head)
        + "</tr>\n"
        + "\n".join(rows)
        + f"\n</table></div></main>{footer}</body></html>\n"
    )


def _notebook(path: Path) -> Any:
    """The notebook at *path* (for its title)."""
    import nbformat

    return nbformat.read(path, as_version=4)


def run_batch(
    notebook: str,
    spec: BatchSpec,
    *,
    name: str,
    extra: Mapping[str, Any] | None = None,
    out_dir: str | Path | None = None,
    source: str = "batch",
    allowed_notebooks: tuple[str, ...] = (),
) -> tuple[Path, list[RenderedVariant]]:
    """Render every variant of *spec* (parameters: *extra* override the shared ones).

    Returns the index page and the outcome per variant, in file order.  Input problems
    raise ConfigError before any kernel starts; a variant whose notebook fails is
    reported in its :class:`RenderedVariant` (and on the index page), not raised.
    """
    path = find_notebook(notebook, allowed_notebooks)
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
            pool.submit(_render, str(path), c.name, p, str(folder), allowed_notebooks)
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
    index_html = _index_page(path, name, folder, rendered)
    index.write_text(embed_cjk_font(index_html), encoding="utf-8")
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
    if getattr(args, "lang", None) is not None:  # --lang: the batch's language
        spec = spec.model_copy(update={"lang": args.lang})
    extra = {name: parse_scalar(value) for name, value in args.parameter}
    extra.update(parse_override(item) for item in args.overrides)  # dotted: override paths
    name = spec.name or Path(args.batch).stem
    index, rendered = run_batch(
        args.notebook,
        spec,
        name=name,
        extra=extra,
        out_dir=args.out,
        source=str(args.batch),
        allowed_notebooks=tuple(args.allow_notebook or ()),
    )
    failed = [r for r in rendered if r.error is not None]
    for variant in failed:
        print(f"error: {variant.name}: {variant.error}", file=sys.stderr)
    print(index)
    return 1 if failed else 0
