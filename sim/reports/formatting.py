"""Formatting for people: values (re-exported from :mod:`sim.reports.value_format`) and
the HTML blocks a report is built from.

Every block returns an HTML string in which each user string is escaped, and relies on
:data:`REPORT_CSS`, which the page includes once: :func:`verdict` (the first-screen
sentence), :func:`kpi_cards` (three to five headline numbers), :func:`people_table`
(human labels and formatted cells, scrolling in its own box when wide) and
:func:`rag_badge` (red / amber / green with its word, so colour is never the only sign).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sim.reports.i18n import has_key, kpi_label, tr
from sim.reports.value_format import (
    COUNT_UNITS,
    MISSING,
    fmt_change,
    fmt_date,
    fmt_datetime,
    fmt_days,
    fmt_hours,
    fmt_interval,
    fmt_kpi,
    fmt_money,
    fmt_number,
    fmt_p,
    fmt_percent,
    fmt_relative,
    fmt_value,
    fmt_yes_no,
    is_missing,
)

__all__ = [
    "COUNT_UNITS",
    "MISSING",
    "REPORT_CSS",
    "KpiCard",
    "Tone",
    "fmt_change",
    "fmt_date",
    "fmt_datetime",
    "fmt_days",
    "fmt_hours",
    "fmt_interval",
    "fmt_kpi",
    "fmt_money",
    "fmt_number",
    "fmt_p",
    "fmt_percent",
    "fmt_relative",
    "fmt_value",
    "fmt_yes_no",
    "is_missing",
    "kpi_cards",
    "people_table",
    "rag_badge",
    "verdict",
]

Tone = Literal["better", "worse", "changed", "neutral"]
"""How a number reads against its KPI's direction: the colour of a card or a verdict."""

TONES = ("better", "worse", "changed", "neutral")
RAG_LEVELS = ("red", "amber", "green")
_RAG_SHAPES = {"red": "■", "amber": "▲", "green": "●"}  # a second sign besides colour
_TONE_MARKS = {"better": "✔ ", "worse": "✖ ", "changed": "", "neutral": ""}

# Okabe-Ito colours (safe for the common colour-vision deficiencies), on light fills
# with dark text for contrast; every coloured thing also carries a word or a shape.
REPORT_CSS = """
.verdict{font-size:1.15em;line-height:1.55;margin:.4em 0 1em;padding:.7em 1em;
  border-left:.35em solid #0072B2;background:#eef5fb;color:#1b1b1b}
.verdict p{margin:.2em 0}
.verdict.tone-better{border-left-color:#009E73;background:#e8f6f0}
.verdict.tone-worse{border-left-color:#D55E00;background:#fcede4}
.kpi-cards{display:flex;flex-wrap:wrap;gap:.75em;margin:.5em 0 1.2em}
.kpi-card{flex:1 1 11em;max-width:18em;min-width:9em;padding:.6em .85em;background:#fff;
  border:1px solid #d0d7de;border-top:.3em solid #6b7280;border-radius:.35em}
.kpi-card .kpi-label{font-size:.85em;color:#3d3d3d;line-height:1.3}
.kpi-card .kpi-value{font-size:1.55em;font-weight:600;color:#111;margin:.15em 0;
  font-variant-numeric:tabular-nums;white-space:nowrap}
.kpi-card .kpi-detail{font-size:.85em;color:#333;line-height:1.3}
.kpi-card.tone-better{border-top-color:#009E73}
.kpi-card.tone-worse{border-top-color:#D55E00}
.kpi-card.tone-changed{border-top-color:#0072B2}
.kpi-card.tone-better .kpi-detail{color:#00664a}
.kpi-card.tone-worse .kpi-detail{color:#9a3b00}
.table-scroll{overflow-x:auto;max-width:100%;margin:.4em 0 1.2em}
.table-scroll table.people{border-collapse:collapse;table-layout:auto;margin:0;
  font-variant-numeric:tabular-nums;font-size:.92em}
.table-scroll table.people caption{text-align:left;font-weight:600;padding:.3em 0}
.table-scroll table.people th{text-align:left;vertical-align:bottom;padding:.35em .7em;
  border-bottom:2px solid #555;background:#f6f8fa;min-width:4em}
.table-scroll table.people td{text-align:left;vertical-align:top;padding:.3em .7em;
  border-bottom:1px solid #e1e4e8;min-width:4em}
.table-scroll table.people th.num,.table-scroll table.people td.num{text-align:right;
  white-space:nowrap}
.rag{display:inline-block;padding:.05em .55em;border:1px solid;border-radius:.8em;
  font-size:.88em;font-weight:600;white-space:nowrap}
.rag-red{background:#fbe3d6;color:#7f2800;border-color:#D55E00}
.rag-amber{background:#fdf0cc;color:#5c4100;border-color:#E69F00}
.rag-green{background:#d9f2e8;color:#00573f;border-color:#009E73}
"""
"""The one style sheet of the blocks below (include it once per page)."""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _check_tone(tone: str) -> str:
    if tone not in TONES:
        raise ValueError(f"unknown tone {tone!r} (known: {', '.join(TONES)})")
    return tone


def verdict(text: str, tone: Tone = "neutral") -> str:
    """The first-screen verdict: one or two sentences (paragraphs split at blank lines)."""
    paragraphs = [p.strip() for p in str(text).split("\n\n") if p.strip()]
    body = "".join(f"<p>{_e(p)}</p>" for p in paragraphs)
    return f'<div class="verdict tone-{_check_tone(tone)}">{body}</div>'


@dataclass(frozen=True)
class KpiCard:
    """One headline number: its label, value, a detail line (interval or change) and
    the tone that colours it."""

    label: str
    value: str
    detail: str = ""
    tone: Tone = "neutral"


def kpi_cards(cards: Sequence[KpiCard | Mapping[str, Any]]) -> str:
    """Headline cards (one to five; three to five read best), in the given order."""
    items = [c if isinstance(c, KpiCard) else KpiCard(**c) for c in cards]
    if not 1 <= len(items) <= 5:
        raise ValueError(f"kpi_cards takes 1 to 5 cards, got {len(items)}")
    out = []
    for card in items:
        tone = _check_tone(card.tone)
        detail = (
            f'<div class="kpi-detail">{_e(_TONE_MARKS[tone] + card.detail)}</div>'
            if card.detail
            else ""
        )
        out.append(
            f'<div class="kpi-card tone-{tone}"><div class="kpi-label">{_e(card.label)}</div>'
            f'<div class="kpi-value">{_e(card.value)}</div>{detail}</div>'
        )
    return '<div class="kpi-cards">' + "".join(out) + "</div>"


def rag_badge(level: Any, lang: str) -> str:
    """A red / amber / green badge with its shape and word ("■ Red" / "■ 红灯")."""
    if is_missing(level):
        return MISSING
    key = str(level).strip().lower()
    if key not in RAG_LEVELS:
        raise ValueError(f"unknown traffic-light level {level!r} (known: red, amber, green)")
    word = tr(f"rag.{key}", lang)
    return f'<span class="rag rag-{key}">{_RAG_SHAPES[key]} {_e(word)}</span>'


# -- tables ------------------------------------------------------------------------
Formatter = Callable[[Any], str]
_NUMERIC_KINDS = frozenset(
    {"number", "count", "percent", "hours", "days", "money", "p", "relative", "kpi"}
)
_KINDS = _NUMERIC_KINDS | {"text", "value", "date", "datetime", "yesno", "rag", "kpi_name"}


def _is_kpi(name: Any) -> bool:
    return isinstance(name, str) and has_key(f"kpi.{name}.label")


def _column_label(column: Any, lang: str) -> str:
    """A KPI's label (its cells carry the unit), a common column's word, else the name
    as given."""
    if _is_kpi(column):
        return kpi_label(column, lang)
    if isinstance(column, str) and has_key(f"col.{column}"):
        return tr(f"col.{column}", lang)
    return str(column)


def _cell(kind: str | Formatter, value: Any, lang: str, currency: str, kpi: Any) -> str:
    """The HTML of one cell (escaped, except a badge, which escapes itself)."""
    if callable(kind):
        return MISSING if is_missing(value) else _e(kind(value))
    if kind == "rag":
        return rag_badge(value, lang)
    simple: dict[str, Callable[[], str]] = {
        "text": lambda: MISSING if is_missing(value) else str(value),
        "value": lambda: fmt_value(value, lang),
        "number": lambda: fmt_number(value, lang),
        "count": lambda: fmt_number(value, lang, 0),
        "percent": lambda: fmt_percent(value, lang),
        "hours": lambda: fmt_hours(value, lang),
        "days": lambda: fmt_days(value, lang),
        "money": lambda: fmt_money(value, currency, lang),
        "p": lambda: fmt_p(value, lang),
        "relative": lambda: fmt_relative(value, lang),
        "date": lambda: fmt_date(value, lang),
        "datetime": lambda: fmt_datetime(value, lang),
        "yesno": lambda: fmt_yes_no(value, lang),
        "kpi": lambda: fmt_kpi(kpi, value, lang) if _is_kpi(kpi) else fmt_value(value, lang),
        "kpi_name": lambda: kpi_label(value, lang) if _is_kpi(value) else fmt_value(value, lang),
    }
    return _e(simple[kind]())


def _default_kind(column: Any, kpi_column: str | None, series: Any) -> str:
    """The kind of an unlisted column (see :func:`people_table`)."""
    kind = getattr(getattr(series, "dtype", None), "kind", "O")
    if _is_kpi(column):
        return "kpi"
    if kpi_column is not None:
        if column == kpi_column:
            return "kpi_name"
        if kind in "iuf":
            return "kpi"
    return {"b": "yesno", "i": "count", "u": "count", "f": "number", "M": "date"}.get(kind, "value")


def people_table(
    frame: Any,
    lang: str,
    formats: Mapping[Any, str | Formatter] | None = None,
    labels: Mapping[Any, str] | None = None,
    *,
    currency: str = "CNY",
    kpi_column: str | None = None,
    caption: str | None = None,
    index: bool = False,
) -> str:
    """*frame* (a DataFrame) as an HTML table for people, inside a scrolling box.

    *formats* maps a column to a kind (``text number count percent hours days money p
    relative date datetime yesno rag kpi kpi_name``) or to a function ``value -> str``.
    Unlisted columns: a column named after a KPI is formatted in its unit; the
    *kpi_column* (naming each row's KPI) shows KPI labels and a ``kpi`` column formats
    each row's value in that row's KPI's unit; else by dtype (flags yes / no, integers
    as counts, floats by size, the rest as text).  Headers are *labels*, else a KPI's
    label, a common column word (``col.*`` in the catalogue), else the
    column name.  Missing cells read "–".  *index*: show the index as a first column.
    """
    if index:
        frame = frame.reset_index()
    formats = dict(formats or {})
    labels = dict(labels or {})
    unknown = sorted(str(k) for k, v in formats.items() if not callable(v) and v not in _KINDS)
    if unknown:
        raise ValueError(f"people_table: unknown format kind(s) for {', '.join(unknown)}")
    columns = list(frame.columns)
    kinds = [formats.get(c) or _default_kind(c, kpi_column, frame[c]) for c in columns]
    opens = [
        '<td class="num">' if isinstance(k, str) and k in _NUMERIC_KINDS else "<td>" for k in kinds
    ]
    head = "".join(
        f"{o.replace('td', 'th')}{_e(labels.get(c, _column_label(c, lang)))}</th>"
        for c, o in zip(columns, opens, strict=True)
    )
    rows = []
    kpis = frame[kpi_column].tolist() if kpi_column is not None else [None] * len(frame)
    for kpi, values in zip(kpis, frame.itertuples(index=False, name=None), strict=True):
        cells = "".join(
            f"{o}{_cell(k, v, lang, currency, c if _is_kpi(c) else kpi)}</td>"
            for c, k, v, o in zip(columns, kinds, values, opens, strict=True)
        )
        rows.append(f"<tr>{cells}</tr>")
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    return (
        f'<div class="table-scroll"><table class="people">{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )
