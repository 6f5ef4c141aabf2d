"""A small deal-only export in the Maven "CRM Sales Opportunities" layout, for import tests.

:func:`write_pipeline_export` writes ``sales_pipeline.csv``, ``sales_teams.csv`` and
``products.csv`` with every quirk of the real file in a few dozen rows, and returns the
truth the tests compare against (counted independently of the importer).
"""

from __future__ import annotations

import csv
from pathlib import Path

PIPELINE_COLUMNS = [
    "opportunity_id",
    "sales_agent",
    "product",
    "account",
    "deal_stage",
    "engage_date",
    "close_date",
    "close_value",
]

AGENTS = ["Anna Snelling", "Cecily Lampkin", "Darcel Schlecht"]
MISSING_AGENT = "Ghost Seller"  # named by deals, absent from sales_teams.csv


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def pipeline_rows(n: int = 48) -> list[list[str]]:
    """*n* deals cycling through the stages; every 12th deal is the missing agent's."""
    rows = []
    stages = ["Won", "Lost", "Engaging", "Prospecting"]
    products = ["GTXPro", "GTX Basic", "MG Special", "GTX Pro"]
    for i in range(n):
        stage = stages[i % 4]
        day = 1 + i % 27
        engage = "" if stage == "Prospecting" else f"2017-03-{day:02d}"
        close = f"2017-04-{day:02d}" if stage in ("Won", "Lost") else ""
        value = f"{1000 + 7 * i}" if stage == "Won" else ("0" if stage == "Lost" else "")
        agent = MISSING_AGENT if i % 12 == 4 else AGENTS[i % 3]
        rows.append(
            [f"OPP{i:04d}", agent, products[i % 4], f"Acct {i % 5}", stage, engage, close, value]
        )
    return rows


def write_pipeline_export(folder: Path, rows: list[list[str]] | None = None) -> dict:
    """Write the three files into *folder*; the truth of the rows written."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = pipeline_rows() if rows is None else rows
    _write(folder / "sales_pipeline.csv", PIPELINE_COLUMNS, rows)
    teams = [[a, "Dustin Brinkmann", "Central"] for a in AGENTS]
    _write(folder / "sales_teams.csv", ["sales_agent", "manager", "regional_office"], teams)
    products = [["GTX Pro", "GTX", "4821"], ["GTX Basic", "GTX", "550"], ["MG Special", "MG", "55"]]
    _write(folder / "products.csv", ["product", "series", "sales_price"], products)
    ghost = [r for r in rows if r[1] == MISSING_AGENT]
    kept = [r for r in rows if r[1] != MISSING_AGENT]
    return {
        "rows": len(rows),
        "prospecting": sum(r[4] == "Prospecting" for r in rows),
        "ghost_deals": len(ghost),
        "ghost_engaged": sum(r[5] != "" for r in ghost),
        "accepted": sum(r[5] != "" for r in kept),
        "won": sum(r[4] == "Won" and r[5] != "" for r in kept),
        "open": sum(r[4] == "Engaging" for r in kept),
        "latest": max(max(r[5], r[6]) for r in rows),
    }
