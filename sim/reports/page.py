"""The page around every report: title, footer, style and the stderr a report never shows.

A rendered report is read by managers, offline and later: its ``<title>`` says which
report and which scenario, its footer says when and from what it was rendered (UTC
time, workbench version, git commit, a short SHA-256 of every input file, the seeds),
nothing is loaded from the network (the ``workbench`` nbconvert template in
``templates/`` drops require.js, MathJax, Mermaid and widget scripts), and what the
kernel wrote to stderr goes to the console instead of the page.
"""

from __future__ import annotations

import ast
import hashlib
import html
import json
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sim.io.paths import project_root, resolve

__all__ = [
    "PAGE_CSS",
    "TEMPLATES",
    "FileStamp",
    "RenderFacts",
    "default_values",
    "describe_parameters",
    "embed_cjk_font",
    "footer_html",
    "git_commit",
    "page_css",
    "page_title",
    "render_facts",
    "report_heading",
    "report_lang",
    "strip_stderr",
    "subject_name",
    "workbench_version",
]

TEMPLATES = Path(__file__).with_name("templates")
"""nbconvert template folder; ``workbench`` extends ``lab`` without remote scripts."""

PAGE_CSS = """
main { max-width: 76rem; margin: 0 auto; padding: 0 1rem; }
.jp-RenderedHTMLCommon { font-size: 15px; line-height: 1.55; }
.jp-OutputArea-output.jp-RenderedHTML, .table-scroll { overflow-x: auto; max-width: 100%; }
.jp-RenderedImage img, .jp-OutputArea-output img { max-width: 100%; height: auto; }
.report-footer { max-width: 76rem; margin: 2.5rem auto 1.5rem; padding: .8rem 1rem 0;
  border-top: 1px solid #d0d0d0; color: #555; font-size: 12.5px; line-height: 1.6;
  font-family: var(--jp-ui-font-family, system-ui, sans-serif); }
.report-footer ul { list-style: none; margin: 0; padding: 0; }
.report-footer li { display: inline; }
.report-footer li + li::before { content: " · "; color: #999; }
.report-footer code { font-size: 12px; background: none; padding: 0; }
.batch-index { border-collapse: collapse; }
.batch-index td, .batch-index th { padding: .35em .8em; border-bottom: 1px solid #ddd;
  text-align: left; vertical-align: top; }
@media print {
  main, .report-footer { max-width: none; padding: 0; }
  .jp-OutputArea-output.jp-RenderedHTML, .table-scroll { overflow: visible; }
  table, img { page-break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""
"""Layout of the page itself: readable width, tables that scroll in their own box, print."""

FILE_SUFFIXES = (".yaml", ".yml", ".csv", ".json", ".parquet")
NAMED = frozenset(
    [
        "scenario",
        "policy",
        "baseline",
        "candidate",
        "alternative",
        "historical_policy",
        "candidate_policy",
        "mapping",
        "spec",
    ]
)
"""Parameters with a translated name in :data:`LABELS`; others are shown as written."""

LABELS = {
    "en": {
        "rendered": "Rendered {time}",
        "version": "workbench {version}",
        "commit": "commit {commit}",
        "file": "{label} {name} (SHA-256 {digest})",
        "seed": "seed {seed}",
        "replications": "{n} replications",
        "replication": "1 replication",
        "scenario": "scenario",
        "policy": "policy",
        "baseline": "baseline policy",
        "candidate": "candidate policy",
        "alternative": "alternative policy",
        "historical_policy": "historical policy",
        "candidate_policy": "candidate policy",
        "mapping": "mapping",
        "spec": "sweep spec",
    },
    "zh": {
        "rendered": "生成于 {time}",
        "version": "工作台 {version}",
        "commit": "提交 {commit}",
        "file": "{label} {name}（SHA-256 {digest}）",
        "seed": "随机种子 {seed}",
        "replications": "重复 {n} 次",
        "replication": "重复 1 次",
        "scenario": "场景",
        "policy": "策略",
        "baseline": "基线策略",
        "candidate": "候选策略",
        "alternative": "备选策略",
        "historical_policy": "历史策略",
        "candidate_policy": "候选策略",
        "mapping": "字段映射",
        "spec": "扫描方案",
    },
}


@dataclass(frozen=True)
class FileStamp:
    """An input file named in the footer: its parameter, name and short SHA-256."""

    parameter: str
    name: str
    digest: str


@dataclass(frozen=True)
class RenderFacts:
    """What the footer states about one rendering."""

    time: str
    version: str
    commit: str | None
    files: tuple[FileStamp, ...] = ()
    seed: Any = None
    replications: Any = None
    lang: str = "en"
    extra: tuple[str, ...] = field(default_factory=tuple)


def default_values(defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Notebook parameter defaults (source text, as papermill reports them) as values."""
    out: dict[str, Any] = {}
    for name, text in defaults.items():
        try:
            out[name] = ast.literal_eval(text) if isinstance(text, str) else text
        except (ValueError, SyntaxError):
            out[name] = None
    return out


def workbench_version() -> str:
    """The installed package's version, or ``unknown``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("salesops-workbench")
    except PackageNotFoundError:
        return "unknown"


def git_commit(folder: Path | None = None) -> str | None:
    """Short commit hash of the checkout (``+changes`` when tracked files differ), or None
    when *folder* is not a git checkout or git is missing; never raises."""
    folder = folder or project_root()

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10
        )
        if done.returncode != 0:
            raise OSError(done.stderr)
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}+changes" if dirty else commit or None


def _stamp(parameter: str, value: Any) -> FileStamp | None:
    if not isinstance(value, str) or not value.lower().endswith(FILE_SUFFIXES):
        return None
    path = resolve(value)
    if not path.is_file():
        return None
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return FileStamp(parameter, path.name, digest)


def render_facts(
    values: Mapping[str, Any], *, lang: str = "en", now: datetime | None = None
) -> RenderFacts:
    """The footer's facts for a report run with parameter *values* (defaults filled in)."""
    now = now or datetime.now(UTC)
    stamps = (_stamp(name, value) for name, value in values.items())
    return RenderFacts(
        time=now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        version=workbench_version(),
        commit=git_commit(),
        files=tuple(s for s in stamps if s is not None),
        seed=values.get("seed"),
        replications=values.get("replications"),
        lang=lang if lang in LABELS else "en",
    )


def footer_html(facts: RenderFacts) -> str:
    """The ``<footer>`` placed after the report's content."""
    words = LABELS[facts.lang]
    items = [
        words["rendered"].format(time=facts.time),
        words["version"].format(version=facts.version),
    ]
    if facts.commit:
        items.append(words["commit"].format(commit=facts.commit))
    for stamp in facts.files:
        label = _name(stamp.parameter, words)
        items.append(words["file"].format(label=label, name=stamp.name, digest=stamp.digest))
    if facts.seed is not None:
        items.append(words["seed"].format(seed=facts.seed))
    if facts.replications is not None:
        n = facts.replications
        items.append(words["replication"] if n == 1 else words["replications"].format(n=n))
    items.extend(facts.extra)
    body = "".join(f"<li>{html.escape(str(item))}</li>" for item in items)
    return f'<footer class="report-footer"><ul>{body}</ul></footer>'


def describe_parameters(values: Mapping[str, Any], lang: str = "en") -> str:
    """Parameters in words: ``scenario baseline · policy no_sla · seed 2 · sla.reclaim_hours 4``
    (files by their stem, lists joined)."""
    words = LABELS.get(lang, LABELS["en"])
    parts = []
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, str) and value.lower().endswith(FILE_SUFFIXES):
            value = Path(value).stem
        elif isinstance(value, list | tuple):
            value = ", ".join(str(v) for v in value)
        if name == "replications" and isinstance(value, int):
            key = "replication" if value == 1 else "replications"
            parts.append(words[key].format(n=value))
        elif name == "seed":
            parts.append(words["seed"].format(seed=value))
        elif "." in name:  # an override path, as written in --set
            parts.append(f"{name} = {value}")
        else:
            parts.append(f"{_name(name, words)} {value}")
    return " · ".join(parts)


def _name(parameter: str, words: Mapping[str, str]) -> str:
    return words[parameter] if parameter in NAMED else parameter.replace("_", " ")


def report_heading(nb: Any, fallback: str, lang: str = "en") -> str:
    """The report's title: in a language other than English the first top-level heading a
    code cell displayed (reports print their title in the reader's language), else the
    notebook's ``title`` metadata, else its first Markdown heading (of a Markdown cell, or
    displayed by a code cell), else *fallback*."""
    if lang != "en":
        for cell in nb.cells:
            shown = [o.get("data", {}).get("text/markdown") for o in cell.get("outputs", [])]
            text = "\n".join(str(s) for s in shown if s)
            match = re.search(r"^\s*#\s+(.+?)\s*#*\s*$", text, re.MULTILINE)
            if match:
                return re.sub(r"[*_`]", "", match.group(1)).strip()
    title = nb.metadata.get("title")
    if title:
        return str(title)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            text = cell.source
        else:
            shown = [o.get("data", {}).get("text/markdown") for o in cell.get("outputs", [])]
            text = "\n".join(str(s) for s in shown if s)
        match = re.search(r"^\s*#{1,2}\s+(.+?)\s*#*\s*$", text, re.MULTILINE)
        if match:
            return re.sub(r"[*_`]", "", match.group(1)).strip()
    return fallback.replace("_", " ").capitalize()


def subject_name(values: Mapping[str, Any]) -> str | None:
    """What the report is about: the scenario's ``name`` (else its file stem); without a
    scenario the sweep spec, the mapping or the compared policies."""
    from sim.io.safe_yaml import load_mapping

    scenario = values.get("scenario")
    search = values.get("search_dir")  # a policy search: the scenario its search.json names
    if not scenario and isinstance(search, str) and search:
        try:
            scenario = json.loads((resolve(search) / "search.json").read_text("utf-8"))["scenario"]
        except Exception:  # the notebook reports a bad folder; the title never fails
            return Path(search).name
    if isinstance(scenario, str) and scenario:
        try:
            name = load_mapping(resolve(scenario)).get("name")
        except Exception:  # the notebook reports a bad file; the title never fails
            name = None
        return str(name) if name else Path(scenario).stem
    for key in ("spec", "mapping", "export_dir"):
        if isinstance(values.get(key), str) and values[key]:
            return Path(values[key]).stem
    pair = [values.get(k) for k in ("baseline", "candidate")]
    if all(isinstance(v, str) and v for v in pair):
        return " vs ".join(Path(v).stem for v in pair)
    return None


def report_lang(values: Mapping[str, Any]) -> str:
    """The report's language: the ``lang`` parameter (``report --lang``), else the
    scenario file's ``report.lang``, else English."""
    from sim.io.safe_yaml import load_mapping

    lang = values.get("lang")
    scenario = values.get("scenario")
    if not lang and isinstance(scenario, str) and scenario:
        try:
            settings = load_mapping(resolve(scenario)).get("report") or {}
            lang = settings.get("lang") if isinstance(settings, dict) else None
        except Exception:  # a bad file is the notebook's to report
            lang = None
    return lang if lang in LABELS else "en"


def page_title(heading: str, subject: str | None) -> str:
    """``<report title> — <scenario name>`` (the heading alone without a subject)."""
    return f"{heading} — {subject}" if subject else heading


def page_css() -> str:
    """The shared report CSS (verdict, KPI cards, tables, badges) and the page layout."""
    from sim.reports.formatting import REPORT_CSS

    return f"{REPORT_CSS}\n{PAGE_CSS}"


def embed_cjk_font(page_html: str) -> str:
    """*page_html* with the CJK font embedded when the page shows any CJK character.

    The font is cut down to the characters the page uses and put in a ``<style>`` before
    ``</head>`` (a data URI: nothing is loaded from the network), and listed first: the
    subset holds only the page's CJK characters, so every other character falls back to
    the system fonts, while CJK text never reaches a system font that claims a character
    it draws as an empty box (seen on a fresh machine in headings and KPI cards).  Pages
    without CJK text are returned unchanged.
    """
    from sim.io.fonts import CJK_FAMILY, font_face_css

    chars = "".join(sorted({c for c in page_html if ord(c) >= 0x2E80}))
    if not chars or "</head>" not in page_html:
        return page_html
    family = (
        "body, .jp-RenderedHTMLCommon, .report-footer, table, h1, h2, h3, p, li {font-family:"
        f' "{CJK_FAMILY}", system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;}}'
    )
    style = f"<style>{font_face_css(chars)}\n{family}</style>"
    return page_html.replace("</head>", style + "</head>", 1)


def strip_stderr(nb: Any) -> list[str]:
    """Remove stderr stream outputs from *nb* in place; return them, one line each."""
    removed: list[str] = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                text = " ".join(str(output.get("text", "")).split())
                if text:
                    removed.append(text if len(text) <= 300 else text[:297] + "...")
            else:
                kept.append(output)
        cell["outputs"] = kept
    return removed
