"""A statement as PDF: the :class:`~sim.incentives.statement_text.StatementDocument` drawn
with reportlab, every text in the workbench's CJK font (embedded as a subset, so Chinese
names print and can be copied out of the file)."""

from __future__ import annotations

import html
from pathlib import Path

from sim.incentives.statement_text import StatementDocument
from sim.io.fonts import register_reportlab

__all__ = ["draw_pdf"]

_GREY = "#F2F2F2"


def _styles(font: str) -> dict:
    from reportlab.lib.styles import ParagraphStyle

    body = ParagraphStyle("body", fontName=font, fontSize=8.5, leading=11, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", fontName=font, fontSize=16, leading=20, spaceAfter=4),
        "heading": ParagraphStyle(
            "heading", fontName=font, fontSize=12, leading=15, spaceBefore=10, spaceAfter=4
        ),
        "normal": ParagraphStyle("normal", fontName=font, fontSize=10, leading=13),
        "body": body,
        "customer": ParagraphStyle("customer", parent=body, fontSize=9.5, leading=12),
        "amount": ParagraphStyle("amount", parent=body, alignment=2),
    }


def draw_pdf(doc: StatementDocument, path: Path) -> Path:
    """Write *doc* to *path* as a landscape A4 PDF; returns *path*."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = register_reportlab()
    s = _styles(font)

    def p(text: str, style: str = "body") -> Paragraph:
        return Paragraph(html.escape(text), s[style])

    rows: list[list] = [[p(doc.columns[0]), p(doc.columns[1]), p(doc.columns[2], "amount")]]
    style: list[tuple] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("FONTNAME", (0, 0), (-1, -1), font),  # empty cells too: no stray Helvetica
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
    ]
    for customer, lines in doc.sections:
        style += [
            ("SPAN", (0, len(rows)), (-1, len(rows))),
            ("BACKGROUND", (0, len(rows)), (-1, len(rows)), colors.HexColor(_GREY)),
        ]
        rows.append([p(customer, "customer"), "", ""])
        rows += [[p(on), p(text), p(amount, "amount")] for on, text, amount in lines]
    if doc.empty:
        style.append(("SPAN", (0, len(rows)), (-1, len(rows))))
        rows.append([p(doc.empty), "", ""])
    style.append(("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#DDDDDD")))
    table = Table(rows, colWidths=[80, 518, 100], repeatRows=1)  # frame: 698 pt
    table.setStyle(TableStyle(style))
    totals = Table(
        [[p(name), p(value, "amount")] for name, value in doc.totals],
        colWidths=[200, 120],
        hAlign="LEFT",
    )
    totals.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#DDDDDD")),
            ]
        )
    )
    story = [
        p(doc.title, "title"),
        p(doc.subtitle, "normal"),
        Spacer(1, 8),
        table,
        p(doc.totals_heading, "heading"),
        totals,
    ]
    SimpleDocTemplate(
        str(path),
        pagesize=landscape(A4),
        title=doc.title,
        lang="zh-CN" if doc.lang == "zh" else "en",
        invariant=True,
        initialFontName=font,  # not Helvetica: every page's font is the embedded one
    ).build(story)
    return path
