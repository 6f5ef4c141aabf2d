"""Monthly statements: the source's line, per-customer grouping, ladder movements, the
HTML, and the PDF checked by rendering it to an image and reading its text back."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html

import numpy as np
import pytest

from conftest import POLICIES, SCENARIOS
from sim.errors import ConfigError
from sim.incentives.ledger_import import read_ledger
from sim.incentives.payments import ledger_runs
from sim.incentives.report import ledger_accounts
from sim.incentives.statements import (
    build_statements,
    statement_document,
    write_html,
    write_pdf,
    write_statements,
)
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
    assert "CN¥93,792.00" in html and "Customer K-01" in html and "-&gt; rebate 2.3%" in html
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


# -- Chinese names, two languages, one content ---------------------------------------------
CHINESE = {"rep-li": "李明", "rep-wang": "王芳", "rep-zhao": "赵强"}


def chinese_statements(period_end: dt.date):
    """The sample's statements with the reps and customers named in Chinese."""
    _, statements = statements_for(period_end)
    for statement in statements:
        statement.rep_id = CHINESE[statement.rep_id]
        statement.lines = [
            dataclasses.replace(line, customer_id=f"华东医疗{line.customer_id}")
            for line in statement.lines
        ]
    return statements


def pdf_text(path) -> str:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(path)
    return "".join(page.get_textpage().get_text_range() for page in document)


def squeezed(text: str) -> str:
    return "".join(text.split())


def test_chinese_names_print_in_the_pdf_with_the_font_embedded(tmp_path):
    pytest.importorskip("pypdfium2")
    li = chinese_statements(dt.date(2026, 4, 30))[0]
    assert li.rep_id == "李明"
    path = write_pdf(li, tmp_path, lang="zh")
    assert path.name == "2026-04__李明.pdf"
    text = pdf_text(path)
    assert "李明" in text and "华东医疗K-02" in text and "提成结算单" in text
    assert "冻结" in text and "¥16,800.00" in text
    raw = path.read_bytes()
    assert b"/FontFile2" in raw and b"WenQuanYiMicroHei" in raw  # embedded TrueType subset
    assert b"/Helvetica" not in raw  # no text left to a font the reader may not have


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_html_and_pdf_show_the_same_content(tmp_path, lang):
    pytest.importorskip("pypdfium2")
    li = chinese_statements(dt.date(2026, 4, 30))[0]
    doc = statement_document(li, lang)
    texts = [doc.title, doc.subtitle, *doc.columns, doc.totals_heading]
    for customer, lines in doc.sections:
        texts += [customer, *(cell for line in lines for cell in line)]
    texts += [cell for row in doc.totals for cell in row]
    page = squeezed(html.unescape(write_html(li, tmp_path, lang=lang).read_text("utf-8")))
    pdf = squeezed(pdf_text(write_pdf(li, tmp_path, lang=lang)))
    for text in texts:
        assert squeezed(text) in page, text
        assert squeezed(text) in pdf, text
    assert len(doc.sections[0][1]) == 2 and len(doc.totals) == 4
    assert "@font-face" in page and "data:font/ttf;base64," in page  # CJK without a system font
    assert "http" not in page  # nothing from the network


def test_chinese_statement_reads_in_the_source_terms():
    li = chinese_statements(dt.date(2026, 4, 30))[0]
    doc = statement_document(li, "zh")
    assert doc.title == "提成结算单：李明，2026年4月"
    assert doc.subtitle == "发放截止：2026年5月11日；出具日期：2026年5月11日。"
    ((customer, (earning, freeze)),) = doc.sections
    assert customer == "客户 华东医疗K-02"
    assert earning == (
        "2026年4月1日",
        "合同 C-1002 回款 P-02：300,000.00 → 返点 0% → 直销 → 坏账 0.00 → "
        "应发 = 300,000.00 × 8% = 24,000.00",
        "¥24,000.00",
    )
    assert freeze[1].startswith("合同 C-1002：冻结 16,800.00（逾期超过 60 天：冻结未付提成的 70%")
    assert freeze[2] == "-¥16,800.00"
    assert dict(doc.totals) == {
        "本月新增提成": "¥24,000.00",
        "本月冻结": "¥16,800.00",
        "本次发放": "¥7,200.00",
        "当前冻结余额": "¥16,800.00",
    }
    usd = statement_document(li, "en", currency="USD")
    assert dict(usd.totals)["Paid in this run"] == "$7,200.00"


def test_every_rep_gets_its_own_file(tmp_path):
    statements = chinese_statements(dt.date(2026, 2, 28))
    written = write_statements(statements, tmp_path, lang="zh")
    names = sorted(p.name for _, html_path, pdf_path in written for p in (html_path, pdf_path))
    assert names == sorted(
        f"2026-02__{rep}.{ext}" for rep in CHINESE.values() for ext in ("html", "pdf")
    )
    # ids that clean to the same name, or differ only in case, never share a file
    for statement, rep in zip(statements, ["rep li", "rep-li", "Rep-Li"], strict=True):
        statement.rep_id = rep
    written = write_statements(statements, tmp_path / "clash")
    stems = [html_path.stem for _, html_path, _ in written]
    assert len({stem.casefold() for stem in stems}) == 3
    assert all(stem.startswith("2026-02__") for stem in stems)
