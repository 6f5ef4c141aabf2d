"""User text made safe for the files and pages it lands in: spreadsheets, Markdown, HTML.

Names, descriptions, channels, regions and reasons come from files people write or
export, so they may hold markup or spreadsheet formulas.

- **CSV for spreadsheets** (formula injection): a text cell that starts with ``=``,
  ``+``, ``-``, ``@``, a tab or a carriage return is written with a leading single quote
  (``=1+1`` -> ``'=1+1``), the usual export practice, so a spreadsheet shows it as text
  instead of evaluating it.  A plain number (``-12.50``) is left as it is: a spreadsheet
  reads it as a number, never as a formula.  :func:`neutralise_cell` does one cell,
  :func:`neutralise_frame` every text cell of a table (numeric columns are untouched);
  :func:`write_csv` writes a table through it.  Every CSV the workbench writes from user
  text goes through these.
- **Markdown** (reports render it to HTML, raw HTML included): :func:`escape_markdown`
  escapes HTML (``<`` -> ``&lt;``) and backslash-escapes Markdown's control characters,
  so a description shows as the text it is.  :func:`escape_html` is :func:`html.escape`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "FORMULA_PREFIXES",
    "escape_html",
    "escape_markdown",
    "markdown_bullets",
    "neutralise_cell",
    "neutralise_frame",
    "write_csv",
]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula."""

_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_MARKDOWN = re.compile(r"([\\`*\[\]|~$]|(?<![^\W_])_|_(?![^\W_]))")


def neutralise_cell(value: Any) -> Any:
    """*value* with a leading ``'`` when it is text a spreadsheet would run as a formula;
    anything else (numbers, None, other text, plain numbers as text) unchanged."""
    if not isinstance(value, str) or not value.startswith(FORMULA_PREFIXES):
        return value
    if _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of *frame* whose text cells are neutralised (numeric columns untouched)."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            out[column] = series.map(neutralise_cell, na_action="ignore")
    return out


def write_csv(frame: pd.DataFrame, path: str | Path, **options: Any) -> Path:
    """Write *frame* as CSV (no index, ``\\n`` line ends) with its text cells neutralised."""
    options = {"index": False, "lineterminator": "\n", **options}
    neutralise_frame(frame).to_csv(path, **options)
    return Path(path)


def escape_html(text: Any) -> str:
    """``html.escape(str(text))``: ``<``, ``>``, ``&`` and quotes as entities."""
    return html.escape(str(text))


def escape_markdown(text: Any) -> str:
    """*text* as literal inline Markdown: HTML escaped (``<script>`` -> ``&lt;script&gt;``,
    so no raw HTML, autolink or entity gets through), the characters of emphasis, code,
    links, tables, strike-through and maths backslash-escaped (an ``_`` inside a word,
    as in ``no_sla``, cannot start emphasis and is kept), line breaks as spaces (so a
    value cannot start a heading, list or block).  Plain words come out unchanged."""
    flat = " ".join(str(text).splitlines())
    return html.escape(_MARKDOWN.sub(r"\\\1", flat), quote=False)


def markdown_bullets(items: Iterable[Any], empty: str = "") -> str:
    """One escaped ``- item`` line per item (*empty* when there is none)."""
    lines = [f"- {escape_markdown(item)}" for item in items]
    return "\n".join(lines) if lines else empty
