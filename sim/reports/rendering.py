"""Rendering reports: papermill executes a parameterised notebook, nbconvert makes HTML.

A report is ``notebooks/<name>.ipynb`` executed into
``reports/<name>/<report>.ipynb`` and rendered, without code cells, to
``reports/<name>/<report>.html`` for managers.  Parameters are checked against the
notebook's ``parameters`` cell before a kernel is started.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.errors import ConfigError, WorkbenchError
from sim.io.output import confined, safe_name
from sim.io.paths import project_root

__all__ = ["ReportError", "find_notebook", "notebook_parameters", "render_html", "run_report"]


class ReportError(WorkbenchError):
    """A report notebook failed while executing; the message names the cell's error."""


def find_notebook(name: str) -> Path:
    """``notebooks/<name>.ipynb`` (or a path to a notebook); ConfigError if missing."""
    candidate = Path(name)
    if candidate.suffix == ".ipynb" and candidate.is_file():
        return candidate.resolve()
    folder = project_root() / "notebooks"
    path = folder / f"{candidate.stem}.ipynb"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in folder.glob("*.ipynb"))) or "none"
        raise ConfigError(f"{name}: no such notebook (known: {known})")
    return path


def notebook_parameters(path: Path) -> dict[str, Any]:
    """Names and defaults of the notebook's ``parameters`` cell."""
    import papermill

    params = papermill.inspect_notebook(str(path))
    if not params:
        raise ConfigError(f"{path.name}: notebook has no cell tagged 'parameters'")
    return {name: spec.get("default") for name, spec in params.items()}


def render_html(executed: Path, html: Path) -> Path:
    """Render an executed notebook to HTML with code cells and prompts hidden."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    body, _ = exporter.from_notebook_node(nbformat.read(executed, as_version=4))
    html.write_text(body, encoding="utf-8")
    return html


def run_report(
    notebook: str,
    parameters: Mapping[str, Any],
    *,
    report_name: str,
    out_dir: str | Path | None = None,
) -> Path:
    """Execute *notebook* with *parameters*; return the rendered HTML path."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    source = find_notebook(notebook)
    known = notebook_parameters(source)
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        raise ConfigError(
            f"{source.name}: unknown parameter(s) {', '.join(unknown)}; "
            f"parameters: {', '.join(known)}"
        )
    base = Path(out_dir) if out_dir is not None else project_root() / "reports"
    folder = confined(base, safe_name(source.stem))
    folder.mkdir(parents=True, exist_ok=True)
    stem = safe_name(report_name)
    executed = confined(folder, f"{stem}.ipynb")
    try:
        papermill.execute_notebook(
            str(source),
            str(executed),
            parameters=dict(parameters),
            kernel_name="python3",
            cwd=str(source.parent),
            progress_bar=False,
            # The kernel is local (loopback); its start-up warning about unencrypted TCP
            # is noise in a report run, errors still show.
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
    except PapermillExecutionError as exc:
        first_line = next((line for line in exc.source.splitlines() if line.strip()), "")
        raise ReportError(
            f"{source.name}: the cell starting {first_line.strip()[:60]!r} raised "
            f"{exc.ename}: {exc.evalue}"
        ) from None
    return render_html(executed, confined(folder, f"{stem}.html"))
