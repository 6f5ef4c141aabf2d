"""The first-screen verdicts of the incentive and sweep reports, from hand-made tables."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sim.incentives.report import paired_cost_difference
from sim.reports.incentive_narrative import cost_cards, cost_verdict, month_label, signed_money
from sim.reports.sweep_narrative import best_cards, lever_value, point_text, sweep_verdict


def costs(diffs, base=1_000_000.0, written_off=0.0):
    """Two plans over len(diffs) replications; plan B costs diffs[i] more in replication i."""
    rows = []
    for i, d in enumerate(diffs):
        rows.append(
            {
                "policy": "A",
                "replication": i,
                "cost": base + i * 1000,
                "frozen": 10.0,
                "written_off": 0.0,
            }
        )
        rows.append(
            {
                "policy": "B",
                "replication": i,
                "cost": base + i * 1000 + d,
                "frozen": 20.0,
                "written_off": written_off,
            }
        )
    return pd.DataFrame(rows)


def test_paired_difference_is_the_t_interval_of_the_differences():
    d = paired_cost_difference(costs([100.0, 200.0, 300.0]), "A", "B")
    # mean 200, sd 100, t(0.975, 2) = 4.302653: half-width 248.41
    assert d["diff"] == pytest.approx(200.0)
    assert d["low"] == pytest.approx(200 - 4.302653 * 100 / math.sqrt(3), abs=1e-3)
    assert d["relative"] == pytest.approx(200 / 1_001_000)
    assert d["n"] == 3
    with pytest.raises(ValueError, match="no costs"):
        paired_cost_difference(costs([1.0, 2.0]), "A", "C")


def test_cost_verdict_says_which_plan_costs_more_in_currency():
    text, tone = cost_verdict(costs([100.0, 110.0, 120.0]), ["A", "B"], 9, "CNY", "en")
    assert tone == "worse"
    assert text.startswith("B costs CN¥110.00 more in commission than A over 9 months")
    assert "95% interval +\u2060CN¥85.16 to +\u2060CN¥134.84" in text
    zh, _ = cost_verdict(costs([-100.0, -110.0, -120.0]), ["A", "B"], 9, "CNY", "zh")
    assert zh.startswith("9 个月内，B 的提成成本比 A 少 ¥110.00")
    unclear, tone = cost_verdict(costs([-100.0, 50.0, 120.0]), ["A", "B"], 9, "CNY", "en")
    assert tone == "neutral" and unclear.startswith("No clear difference in commission cost")
    single, _ = cost_verdict(costs([5.0]), ["A", "B"], 3, "USD", "en")
    assert "single replication" in single and "$5.00" in single
    for said in (text, zh, unclear, single):
        assert "nan" not in said.lower()


def test_cost_cards_and_signed_money():
    cards = cost_cards(costs([100.0, 110.0, 120.0]), ["A", "B"], "CNY", "en")
    assert [c.tone for c in cards] == ["neutral", "neutral", "worse"]
    assert cards[2].value == "+\u2060CN¥110.00"
    assert signed_money(-0.001, "CNY", "en") == "\u2060CN¥0.00"
    assert (
        month_label("2026-02", "en") == "Feb 2026" and month_label("2026-02", "zh") == "2026年2月"
    )


LEVERS = ["policy.sla.steps.1.after_hours", "policy.routing.name"]


def best_table(clear: bool) -> pd.DataFrame:
    gap = (-0.5, -0.1) if clear else (-0.5, 0.2)
    return pd.DataFrame(
        [
            {
                "kpi": "first_touch_hours_mean",
                "better": "lower",
                "point": 1,
                LEVERS[0]: 3,
                LEVERS[1]: "least_loaded",
                "mean": 2.0,
                "ci_low": 1.8,
                "ci_high": 2.2,
                "unit": "h",
                "runner_up": 2.3,
                "gap_low": gap[0],
                "gap_high": gap[1],
                "clear": clear,
            },
            {
                "kpi": "sla_reclaims",
                "better": "lower",
                "point": 5,
                LEVERS[0]: 8,
                LEVERS[1]: "least_loaded",
                "mean": 0.0,
                "ci_low": 0.0,
                "ci_high": 0.0,
                "unit": "events",
                "runner_up": 0.0,
                "gap_low": 0.0,
                "gap_high": 0.0,
                "clear": False,
            },
        ]
    )


EFFECTS = {
    "first_touch_hours_mean": pd.DataFrame(
        [
            {
                "lever": LEVERS[1],
                "low": 2.0,
                "high": 2.6,
                "swing": 0.6,
                "at_low": "least_loaded",
                "at_high": "round_robin",
                "levels": 2,
            }
        ]
    ),
    "sla_reclaims": pd.DataFrame(
        [
            {
                "lever": LEVERS[0],
                "low": 0.0,
                "high": 2.0,
                "swing": 2.0,
                "at_low": "8",
                "at_high": "3",
                "levels": 4,
            }
        ]
    ),
}


def test_sweep_verdict_names_the_lever_and_the_clear_best_point():
    text = sweep_verdict(best_table(True), EFFECTS, LEVERS, 3, "en")
    lever_part, best_part = text.split("\n\n")
    assert lever_part == (
        "Routing rule matters most for first touch, mean (2.0 h at least loaded vs 2.6 h at "
        "round robin). SLA reclaim after matters most for leads reclaimed by the SLA breaker "
        "(0 at 8 h vs 2 at 3 h)."
    )
    assert best_part.startswith(
        "Clearly best: First touch, mean at SLA reclaim after 3 h · Routing rule least loaded, "
        "2.0 h, ahead of the runner-up by 18 min (95% interval 6 min to 30 min)."
    )
    assert best_part.endswith("Tied between several points: Leads reclaimed by the SLA breaker.")
    zh = sweep_verdict(best_table(False), EFFECTS, LEVERS, 3, "zh")
    assert zh.startswith(
        "分配规则对平均首次触达时长（最少负载优先为 2.0 小时，轮询为 2.6 小时）影响最大。"
    )
    assert "没有任何参数组合在关键指标上明显最优：每个组合模拟 3 次" in zh


def test_sweep_cards_and_lever_values():
    cards = best_cards(best_table(True), LEVERS, "en")
    assert cards[0].value == "2.0 h (1.8–2.2)" and cards[0].tone == "better"
    assert cards[1].detail.endswith("tied with others")
    assert lever_value(LEVERS[0], 4, "zh") == "4 小时"
    assert lever_value("policy.other.knob", "x_y", "en") == "x_y"
    assert point_text({LEVERS[0]: 3, LEVERS[1]: "round_robin"}, LEVERS, "zh") == (
        "熔断回收时限 3 小时 · 分配规则 轮询"
    )
