"""Monthly statements: the source's line, per-customer grouping, ladder movements, the
HTML, and the PDF checked by rendering it to an image and reading its text back."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from conftest import POLICIES, SCENARIOS
from sim.errors import ConfigError
from sim.incentives.ledger_import import read_ledger
from sim.incentives.payments import ledger_runs
from sim.incentives.report import ledger_accounts
from sim.incentives.statements import build_statements, write_html, write_pdf
from sim.world.loading import load_policy

SOURCE_LINE = (
    "contract C-1001 payment P-01: 1,200,000.00 -> rebate 2.3% -> channel Y confirmed -> "
    "bad debt 0.00 -> payable = 1,200,000.00 x 8% x (1 - 2.3%) = 93,792.00"
)


def statements_for(period_end: dt.date):
    ledger, _ = read_ledger(SCENARIOS / "ledgers" / "sample")
    policy = load_policy(POLICIES / "commission_source.yaml")
    runs, _ = ledger_runs(ledger, period_end, 5, "CN")
    run = runs[-1]
    accounts = ledger_accounts(ledger, policy, runs, run.run_on)
    return run, build_statements(accounts, run, due_on=run.run_on)


def test_february_statement_prints_the_source_example():
    run, statements = statements_for(dt.date(2026, 2, 28))
    # due by the 5th working day of March 2026 (Mon 2 .. Fri 6)
    assert run.run_on == dt.date(2026, 3, 6)
    li = next(s for s in statements if s.rep_id == "rep-li")
    assert [line.text for line in li.lines] == [SOURCE_LINE]
    assert li.totals["earned"] == li.totals["paid_in_run"] == 93792


def test_april_statement_shows_the_freeze_step():
    run, statements = statements_for(dt.date(2026, 4, 30))
    assert run.run_on == dt.date(2026, 5, 11)  # 1-5 May are holidays in China in 2026
    li = next(s for s in statements if s.rep_id == "rep-li")
    texts = [line.text for line in li.by_customer()["K-02"]]
    assert texts[0].endswith("payable = 300,000.00 x 8% = 24,000.00")
    assert texts[1].startswith("contract C-1002: freeze 16,800.00 (> 60 days overdue")
    assert [line.amount for line in li.by_customer()["K-02"]] == [24000, -16800]
    assert li.totals["frozen_now"] == 16800 and li.totals["paid_in_run"] == 7200


def test_html_and_pdf(tmp_path):
    pdfium = pytest.importorskip("pypdfium2", reason="pypdfium2 renders the PDF to an image")
    _, statements = statements_for(dt.date(2026, 2, 28))
    li = next(s for s in statements if s.rep_id == "rep-li")
    html = write_html(li, tmp_path).read_text(encoding="utf-8")
    assert "93,792.00" in html and "customer K-01" in html and "-&gt; rebate 2.3%" in html
    pdf_path = write_pdf(li, tmp_path)
    assert pdf_path.name == "2026-02__rep-li.pdf"
    document = pdfium.PdfDocument(pdf_path)
    page = document[0]
    text = page.get_textpage().get_text_range()
    assert "Incentive statement: rep-li, 2026-02" in text
    assert "93,792.00" in text and "(1 - 2.3%)" in text
    image = page.render(scale=1).to_pil().convert("L")
    pixels = np.asarray(image)
    assert image.width > image.height  # landscape A4
    assert 0.002 < (pixels < 128).mean() < 0.2  # printed, not blank


def test_output_stays_in_its_folder(tmp_path):
    _, statements = statements_for(dt.date(2026, 2, 28))
    statement = statements[0]
    statement.rep_id = "../../escape"
    path = write_html(statement, tmp_path)
    assert path.parent == tmp_path.resolve()
    blocked = tmp_path / "file"
    blocked.write_text("")
    with pytest.raises(ConfigError, match="cannot create output folder"):
        write_html(statement, blocked / "sub")
