"""Formatting for people: single values in both languages on edge values, and the HTML
blocks (tables, badges, cards, verdict) with every user string escaped."""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from sim.outcomes.catalogue import CATALOGUE
from sim.reports.formatting import (
    MISSING,
    REPORT_CSS,
    KpiCard,
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
    kpi_cards,
    people_table,
    rag_badge,
    verdict,
)

LANGS = ("en", "zh")
MISSING_VALUES = (None, math.nan, float("inf"), np.nan, pd.NA, pd.NaT)
FORBIDDEN = re.compile(r"nan|None|True|False|inf|-0(\.0+)?(?![\d.,])|e[+-]\d", re.IGNORECASE)


def readable(text: str) -> str:
    """*text*, checked free of reprs, NaN, booleans, negative zero and 1e6 notation."""
    assert not FORBIDDEN.search(text), text
    return text


# -- numbers -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "en", "zh"),
    [
        (0, "0", "0"),
        (3200, "3,200", "3,200"),
        (1234567, "1,234,567", "1,234,567"),
        (-1234567, "-1,234,567", "-1,234,567"),
        (10**20, "100,000,000,000,000,000,000", "100,000,000,000,000,000,000"),
        (1.0, "1", "1"),
        (-0.0, "0", "0"),
        (-0.0001, "-0.0001", "-0.0001"),
        (5.456, "5.46", "5.46"),
        (12.34, "12.3", "12.3"),
        (1234.56, "1,235", "1,235"),
        (1e-9, "< 0.0001", "< 0.0001"),
        (np.int64(42), "42", "42"),
    ],
)
def test_fmt_number(value, en, zh):
    assert readable(fmt_number(value, "en")) == en
    assert readable(fmt_number(value, "zh")) == zh


def test_fmt_number_with_decimals_never_shows_negative_zero():
    assert fmt_number(-0.0004, "en", 2) == "0.00"
    assert fmt_number(2.5, "en", 0) == "2"  # half to even, as Python rounds
    assert fmt_number(1234.5, "en", 1) == "1,234.5"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("value", MISSING_VALUES)
def test_missing_values_read_as_a_dash(value, lang):
    for formatter in (fmt_number, fmt_percent, fmt_hours, fmt_days, fmt_relative, fmt_value):
        assert formatter(value, lang) == MISSING
    assert fmt_money(value, "CNY", lang) == MISSING
    assert fmt_interval(value, 1, 2, "h", lang) == MISSING
    assert fmt_change(value, 1, "h", lang) == MISSING
    assert fmt_p(value) == MISSING
    assert fmt_date(value, lang) == MISSING
    assert fmt_kpi("win_rate", value, lang) == MISSING


@pytest.mark.parametrize(
    ("share", "text"),
    [
        (0, "0.0%"),
        (0.1234, "12.3%"),
        (1.0, "100.0%"),
        (-0.0, "0.0%"),
        (-0.00001, "0.0%"),
        (0.99999, "100.0%"),
        (12.5, "1,250.0%"),
    ],
)
def test_fmt_percent(share, text):
    for lang in LANGS:
        assert readable(fmt_percent(share, lang)) == text
    assert fmt_percent(0.5, "en", 0) == "50%"


# -- durations -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("hours", "en", "zh"),
    [
        (0, "0 h", "0 小时"),
        (-0.0, "0 h", "0 小时"),
        (1e-6, "< 1 min", "不到 1 分钟"),
        (0.004, "< 1 min", "不到 1 分钟"),
        (0.4, "24 min", "24 分钟"),
        (1.0, "1.0 h", "1.0 小时"),
        (5.5, "5.5 h", "5.5 小时"),
        (11.63, "11.6 h", "11.6 小时"),
        (72, "72.0 h", "72.0 小时"),
        (100, "4.2 days", "4.2 天"),
        (-3, "-3.0 h", "-3.0 小时"),
        (1e7, "416,666.7 days", "416,666.7 天"),
    ],
)
def test_fmt_hours(hours, en, zh):
    assert readable(fmt_hours(hours, "en")) == en
    assert readable(fmt_hours(hours, "zh")) == zh


def test_a_positive_duration_never_reads_as_zero():
    for hours in (1e-12, 1e-3, 0.008, 0.5 / 60):
        for lang in LANGS:
            assert not re.match(r"^0 ", fmt_hours(hours, lang)), hours


@pytest.mark.parametrize(
    ("days", "en", "zh"),
    [
        (0, "0 days", "0 天"),
        (1, "1 day", "1 天"),
        (0.5, "12.0 h", "12.0 小时"),
        (47, "47 days", "47 天"),
        (21.83, "21.8 days", "21.8 天"),
        (1234.5, "1,234 days", "1,234 天"),
    ],
)
def test_fmt_days(days, en, zh):
    assert readable(fmt_days(days, "en")) == en
    assert readable(fmt_days(days, "zh")) == zh


# -- money ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("amount", "en", "zh"),
    [
        (Decimal("93792.00"), "CN¥93,792.00", "¥93,792.00"),
        (Decimal("0"), "CN¥0.00", "¥0.00"),
        (Decimal("-0.001"), "CN¥0.00", "¥0.00"),
        (Decimal("-37000"), "-CN¥37,000.00", "-¥37,000.00"),
        (Decimal("0.005"), "CN¥0.01", "¥0.01"),  # half up, as the ledger rounds
        (Decimal("2.675"), "CN¥2.68", "¥2.68"),  # exact: a float would give 2.67
        (Decimal("123456789012345.67"), "CN¥123,456,789,012,345.67", "¥123,456,789,012,345.67"),
        (1200000, "CN¥1,200,000.00", "¥1,200,000.00"),
    ],
)
def test_fmt_money_is_exact_to_the_cent(amount, en, zh):
    assert fmt_money(amount, "CNY", "en") == en
    assert fmt_money(amount, "CNY", "zh") == zh


def test_fmt_money_in_another_currency():
    assert fmt_money(Decimal("1234.5"), "USD", "en") == "$1,234.50"
    assert fmt_money(Decimal("1234.5"), "USD", "zh") == "US$1,234.50"
    with pytest.raises(ValueError, match="not an amount"):
        fmt_money("lots", "CNY", "en")


# -- changes, intervals, p-values ------------------------------------------------------
@pytest.mark.parametrize(
    ("r", "text"),
    [
        (0, "0.0%"),
        (0.21, "+21.0%"),
        (-0.5, "-50.0%"),
        (-1.0, "-100.0%"),
        (-1.7, "-100.0%"),
        (-0.0, "0.0%"),
        (-0.00001, "0.0%"),
        (3.0, "+300.0%"),
    ],
)
def test_fmt_relative_never_below_minus_100(r, text):
    assert readable(fmt_relative(r)) == text


@pytest.mark.parametrize(
    ("before", "after", "unit", "en", "zh"),
    [
        (11.6, 5.5, "h", "-6.1 h (-52.6%)", "-6.1 小时 (-52.6%)"),
        (0.20, 0.25, "share", "+5.0 pp (+25.0%)", "+5.0 个百分点 (+25.0%)"),
        (10, 0, "leads", "-10 (-100.0%)", "-10 (-100.0%)"),
        (0, 3, "leads", "+3", "+3"),
        (2, 2, "h", "0 h (0.0%)", "0 小时 (0.0%)"),
        (47, 40.5, "d", "-6.5 days (-13.8%)", "-6.5 天 (-13.8%)"),
        (-2, -4, "index", "-2.00 (-100.0%)", "-2.00 (-100.0%)"),
    ],
)
def test_fmt_change(before, after, unit, en, zh):
    assert readable(fmt_change(before, after, unit, "en")) == en
    assert readable(fmt_change(before, after, unit, "zh")) == zh


@pytest.mark.parametrize(
    ("args", "en", "zh"),
    [
        ((5.5, 4.9, 6.1, "h"), "5.5 h (4.9–6.1)", "5.5 小时 (4.9–6.1)"),
        ((0.5, 0.3, 0.7, "h"), "30 min (18–42)", "30 分钟 (18–42)"),
        ((100, 80, 130, "h"), "4.2 days (3.3–5.4)", "4.2 天 (3.3–5.4)"),
        ((0.21, 0.15, 0.27, "share"), "21.0% (15.0–27.0)", "21.0% (15.0–27.0)"),
        ((3200.4, 3100, 3300, "leads"), "3,200 (3,100–3,300)", "3,200 (3,100–3,300)"),
        ((0, -0.0, 0.0, "share"), "0.0% (0.0–0.0)", "0.0% (0.0–0.0)"),
        ((5.5, math.nan, math.nan, "h"), "5.5 h", "5.5 小时"),
    ],
)
def test_fmt_interval(args, en, zh):
    assert readable(fmt_interval(*args, "en")) == en
    assert readable(fmt_interval(*args, "zh")) == zh


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0, "p < 0.0001"),
        (1e-12, "p < 0.0001"),
        (0.00005, "p < 0.0001"),
        (0.0003, "p = 0.0003"),
        (0.0321, "p = 0.032"),
        (0.5, "p = 0.500"),
        (1.0, "p = 1.000"),
        (1.2, "p = 1.000"),
    ],
)
def test_fmt_p(p, text):
    assert fmt_p(p) == text
    assert fmt_p(p, "zh") == text


# -- KPIs, dates, any cell -----------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "value", "en", "zh"),
    [
        ("first_touch_hours_mean", 11.6, "11.6 h", "11.6 小时"),
        ("first_touch_hours_mean", 0.2, "12 min", "12 分钟"),
        ("win_rate", 0.131, "13.1%", "13.1%"),
        ("qualification_rate", 1.0, "100.0%", "100.0%"),
        ("leads_arrived", 3200.0, "3,200", "3,200"),
        ("sla_reclaims", 3.4, "3.4", "3.4"),
        ("sla_reclaims", 123.4, "123", "123"),
        ("a_leads_gini", 0.4234, "0.42", "0.42"),
        ("won_cycle_days_mean", 21.83, "21.8 days", "21.8 天"),
        ("contract_value_won", 12.345, "12.35 M CNY", "12.35 百万元"),
        ("reassignments_per_lead", -0.0, "0.00 per lead", "0.00 次/线索"),
    ],
)
def test_fmt_kpi_uses_the_kpi_unit(name, value, en, zh):
    assert fmt_kpi(name, value, "en") == en
    assert fmt_kpi(name, value, "zh") == zh


def test_every_kpi_formats_readably_in_both_languages():
    for name in CATALOGUE:
        for value in (0, -0.0, 0.5, 1.0, 1e7):
            for lang in LANGS:
                readable(fmt_kpi(name, value, lang))


def test_dates_and_cells():
    day = dt.date(2026, 2, 5)
    assert fmt_date(day, "en") == "Feb 5, 2026"
    assert fmt_date(day, "zh") == "2026年2月5日"
    assert fmt_date("2026-02-05", "zh") == "2026年2月5日"
    assert fmt_date(pd.Timestamp("2026-02-05 13:00"), "en") == "Feb 5, 2026"
    assert fmt_datetime(dt.datetime(2026, 2, 5, 14, 30), "zh") == "2026年2月5日 14:30"
    assert fmt_datetime(dt.datetime(2026, 2, 5, 14, 30), "en") == "Feb 5, 2026, 2:30 PM"
    assert [fmt_value(v, "zh") for v in (True, False, np.bool_(True))] == ["是", "否", "是"]
    assert [fmt_value(v, "en") for v in (True, 7, np.int64(12345), "李明")] == [
        "yes",
        "7",
        "12,345",
        "李明",
    ]


# -- HTML blocks -------------------------------------------------------------------------
SCRIPT = "<script>alert('x')</script>"


def test_people_table_labels_formats_and_scrolls():
    frame = pd.DataFrame(
        {
            "kpi": ["first_touch_hours_mean", "win_rate", "leads_arrived"],
            "before": [11.6, 0.12, 3200.0],
            "after": [5.5, 0.14, math.nan],
            "status": ["red", "amber", None],
        }
    )
    page = people_table(frame, "zh", formats={"status": "rag"}, kpi_column="kpi")
    assert page.startswith('<div class="table-scroll"><table class="people">')
    for text in (
        "指标",
        "调整前",
        "状态",
        "平均首次触达时长",
        "11.6 小时",
        "12.0%",
        "3,200",
        "红灯",
    ):
        assert text in page
    assert '<td class="num">–</td>' in page and "<td>–</td>" in page
    readable(re.sub(r"<[^>]+>", " ", page))


def test_people_table_by_dtype_money_labels_and_index():
    frame = pd.DataFrame(
        {
            "rep": ["李明", "王芳"],
            "paid": [Decimal("93792.00"), None],
            "late": [True, False],
            "leads": np.array([3, 12345], dtype="int64"),
            "share": [0.1, 0.25],
        }
    ).set_index("rep")
    page = people_table(
        frame,
        "en",
        formats={"paid": "money", "share": "percent"},
        labels={"leads": "Leads received"},
        currency="USD",
        index=True,
    )
    for text in ("Rep", "李明", "$93,792.00", "yes", "no", "12,345", "Leads received", "25.0%"):
        assert text in page
    with pytest.raises(ValueError, match="paid"):
        people_table(frame, "en", formats={"paid": "dollars"})


def test_every_user_string_is_escaped():
    frame = pd.DataFrame({SCRIPT: [SCRIPT], "n": [1]})
    page = people_table(frame, "en", labels={"n": SCRIPT}, caption=SCRIPT)
    page += people_table(frame, "en", formats={"n": lambda v: SCRIPT})
    page += kpi_cards([KpiCard(SCRIPT, SCRIPT, SCRIPT, "worse")])
    page += verdict(SCRIPT)
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_rag_badges_carry_a_word_and_a_shape():
    badges = [rag_badge(level, "en") for level in ("red", "Amber", "GREEN")]
    assert [re.sub(r"<[^>]+>", "", b) for b in badges] == ["■ Red", "▲ Amber", "● Green"]
    assert 'class="rag rag-red"' in badges[0]
    assert "红灯" in rag_badge("red", "zh")
    assert rag_badge(None, "en") == MISSING
    with pytest.raises(ValueError, match="purple"):
        rag_badge("purple", "en")


def test_kpi_cards_and_verdict():
    cards = kpi_cards(
        [
            KpiCard("首次触达", "5.5 小时", "-6.1 小时 (-52.6%)", "better"),
            {"label": "赢单率", "value": "13.1%", "detail": "无明显差异"},
            KpiCard("线索过滤率", "2.0%", "+1.0 个百分点", "worse"),
        ]
    )
    assert cards.count('class="kpi-card ') == 3
    assert "tone-better" in cards and "tone-worse" in cards and "tone-neutral" in cards
    with pytest.raises(ValueError, match="1 to 5"):
        kpi_cards([KpiCard("a", "1")] * 6)
    with pytest.raises(ValueError, match="tone"):
        kpi_cards([KpiCard("a", "1", tone="great")])  # type: ignore[arg-type]
    block = verdict("首次触达从 11.6 小时降到 5.5 小时。\n\n赢单率无明显差异。", "better")
    assert block.count("<p>") == 2 and 'class="verdict tone-better"' in block


def test_report_css_styles_every_block():
    for selector in (".verdict", ".kpi-card", ".table-scroll", "overflow-x:auto", ".rag-red"):
        assert selector in REPORT_CSS
