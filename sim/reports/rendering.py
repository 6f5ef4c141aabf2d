"""Rendering reports: papermill executes a parameterised notebook, nbconvert makes HTML.

A report is ``notebooks/<name>.ipynb`` executed into
``reports/<name>/<report>.ipynb`` and rendered, without code cells, to
``reports/<name>/<report>.html`` for managers.  Parameters are checked against the
notebook's ``parameters`` cell before a kernel is started.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from sim.errors import ConfigError, WorkbenchError
from sim.io.output import confined, distinct_name, safe_name
from sim.io.paths import project_root

__all__ = ["ReportError", "find_notebook", "notebook_parameters", "render_html", "run_report"]


class ReportError(WorkbenchError):
    """A report notebook failed while executing; the message names the cell's error."""


def find_notebook(name: str, allowed: Iterable[str | Path] = ()) -> Path:
    """``notebooks/<name>.ipynb``, or a path to a notebook in ``notebooks/`` or in
    *allowed*; ConfigError if missing.

    A notebook runs code, so a path elsewhere (``../elsewhere/evil.ipynb``, or one named
    by a colleague's batch file) is refused unless the user allowed it explicitly
    (``report --allow-notebook PATH``).
    """
    candidate = Path(name)
    folder = project_root() / "notebooks"
    if candidate.suffix == ".ipynb" and candidate.is_file():
        path = candidate.resolve()
        if path.parent == folder.resolve() or path in {Path(a).resolve() for a in allowed}:
            return path
        raise ConfigError(
            f"{name}: not a notebook of notebooks/; a notebook runs code, so one from "
            f"elsewhere needs --allow-notebook {name}"
        )
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


def render_html(
    executed: Path,
    html: Path,
    *,
    values: Mapping[str, Any] | None = None,
    lang: str | None = None,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Render an executed notebook to HTML for people: no code, prompts or stderr, nothing
    loaded from the network, titled "<report> — <scenario>", with the render footer.

    *values* are the notebook's parameters (defaults filled in) the footer and the title
    describe; stderr outputs are passed to *log* (default: the console), one line each.
    """
    import nbformat
    from nbconvert import HTMLExporter

    from sim.reports import page

    values = dict(values or {})
    lang = lang or page.report_lang(values)
    nb = nbformat.read(executed, as_version=4)
    heading = page.report_heading(nb, executed.parent.name, lang)
    for line in page.strip_stderr(nb):
        (log or _console)(f"{executed.parent.name}: kernel stderr: {line}")
    nb.metadata["title"] = page.page_title(heading, page.subject_name(values))
    exporter = HTMLExporter(
        template_name="workbench",
        extra_template_basedirs=[str(page.TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        language_code="zh" if lang == "zh" else "en",
    )
    resources = {
        "report_css": page.page_css(),
        "report_footer": page.footer_html(page.render_facts(values, lang=lang)),
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    html.write_text(page.embed_cjk_font(body), encoding="utf-8")
    return html


def _console(line: str) -> None:
    print(line, file=sys.stderr)


def run_report(
    notebook: str,
    parameters: Mapping[str, Any],
    *,
    report_name: str,
    out_dir: str | Path | None = None,
    allowed_notebooks: Iterable[str | Path] = (),
) -> Path:
    """Execute *notebook* with *parameters*; return the rendered HTML path.

    *allowed_notebooks*: notebook files outside ``notebooks/`` the user allowed to run."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    source = find_notebook(notebook, allowed_notebooks)
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
    stem = distinct_name(report_name)  # 'rep li' and 'rep-li' never share a file
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
    from sim.reports.page import default_values

    values = {**default_values(known), **parameters}
    return render_html(executed, confined(folder, f"{stem}.html"), values=values)
