"""The policy-search report: reading an optimize folder and saying what it found, in
English and Chinese (recommendation with intervals and units, PRIM boxes in words,
regret table), and rendering it with ``python -m sim report policy_search``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from conftest import ROOT
from sim.cli.main import main
from sim.errors import ConfigError
from sim.reports.i18n import tr
from sim.reports.policy_search_data import read_search_folder
from sim.reports.policy_search_narrative import (
    box_sentences,
    candidate_text,
    factor_value,
    recommendation,
    recommendation_cards,
    regret_frame,
)

DEMO = ROOT / "tests" / "fixtures" / "policy_search_demo"


def write_search(folder: Path, *, discover: bool = True, sobol: bool = True) -> Path:
    """A small optimize output folder, by the issue-16 contract."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {
        "scenario": "scenarios/baseline.yaml",
        "policy": "scenarios/policies/source_defaults.yaml",
        "set": ["horizon_days=7"],
        "levers": [
            {"path": "sla.reclaim_hours", "kind": "int", "low": 3, "high": 8, "choices": None},
            {"path": "routing.name", "kind": "choice", "low": None, "high": None,
             "choices": ["round_robin", "least_loaded"]},
        ],
        "objectives": [
            {"kpi": "qualification_rate", "sense": "max"},
            {"kpi": "first_touch_hours_p90", "sense": "min"},
        ],
        "constraints": [{"kpi": "dropped_share", "op": "<=", "value": 0.01}],
        "uncertainties": [
            {"path": "arrivals.leads_per_month", "kind": "int", "low": 2400, "high": 4800},
            {"path": "team.groups.0.count", "kind": "int", "low": 10, "high": 14},
        ],
        "budget": 6, "replications": 5, "seed": 1, "futures": 4,
        "discover": {"kpi": "first_touch_hours_p90", "op": ">", "value": 8.0} if discover else None,
        "sobol": 8 if sobol else None,
        "design_hash": "0123456789abcdef0123", "recommended": 1,
        "recommended_reason": "candidate 1 has the least maximum regret", "complete": True,
        "trials": 6,
    }  # fmt: skip
    (folder / "search.json").write_text(json.dumps(manifest), "utf-8")
    pd.DataFrame(
        {
            "candidate": [0, 1, 2],
            "sla.reclaim_hours": [4, 6, 8],
            "routing.name": ["round_robin", "least_loaded", "round_robin"],
            "qualification_rate_mean": [0.30, 0.32, 0.29],
            "qualification_rate_low": [0.28, 0.305, 0.27],
            "qualification_rate_high": [0.32, 0.335, 0.31],
            "first_touch_hours_p90_mean": [6.0, 5.5, 7.5],
            "first_touch_hours_p90_low": [5.6, 5.1, 7.0],
            "first_touch_hours_p90_high": [6.4, 5.9, 8.0],
            "feasible": [True, True, True],
            "pareto": [True, True, False],
            "dominated_by": [None, None, 1],
        }
    ).to_csv(folder / "candidates.csv", index=False)
    pd.DataFrame(
        {"future": range(4), "arrivals.leads_per_month": [2500, 3300, 4200, 4700],
         "team.groups.0.count": [14, 12, 11, 10]}
    ).to_csv(folder / "futures.csv", index=False)  # fmt: skip
    pd.DataFrame(
        {"candidate": [0] * 4 + [1] * 4, "future": list(range(4)) * 2,
         "qualification_rate": [0.31, 0.30, 0.29, 0.28, 0.33, 0.32, 0.31, 0.30],
         "first_touch_hours_p90": [5.0, 6.0, 8.5, 9.0, 4.5, 5.5, 7.5, 8.6]}
    ).to_csv(folder / "future_results.csv", index=False)  # fmt: skip
    pd.DataFrame(
        {"candidate": [0, 0, 1, 1],
         "objective": ["qualification_rate", "first_touch_hours_p90"] * 2,
         "mean": [0.295, 7.1, 0.315, 6.5], "p10": [0.283, 8.9, 0.303, 8.3],
         "max_regret": [0.02, 1.0, 0.0, 0.0], "mean_regret": [0.02, 0.6, 0.0, 0.0],
         "recommended": [False, False, True, True]}
    ).to_csv(folder / "robustness.csv", index=False)  # fmt: skip
    if discover:
        pd.DataFrame(
            {"box": [0, 0], "coverage": [0.85, 0.85], "density": [0.92, 0.92],
             "mass": [0.25, 0.25],
             "dimension": ["arrivals.leads_per_month", "team.groups.0.count"],
             "low": [4100.0, -math.inf], "high": [math.inf, 11.0], "categories": [None, None]}
        ).to_csv(folder / "prim.csv", index=False)  # fmt: skip
    if sobol:
        pd.DataFrame(
            {"factor": ["sla.reclaim_hours", "arrivals.leads_per_month"] * 2,
             "kpi": ["qualification_rate"] * 2 + ["first_touch_hours_p90"] * 2,
             "S1": [0.05, 0.7, 0.1, 0.6], "S1_conf": [0.03, 0.1, 0.05, 0.1],
             "ST": [0.06, 0.9, 0.2, 0.7], "ST_conf": [0.02, 0.08, 0.06, 0.1]}
        ).to_csv(folder / "sobol.csv", index=False)  # fmt: skip
    return folder


@pytest.fixture
def search(tmp_path):
    return read_search_folder(write_search(tmp_path / "search"))


def test_recommendation_in_plain_words_with_intervals_and_units(search):
    text = recommendation(search, "en")
    first, robust, last = text.split("\n\n")
    assert first.startswith(
        "Recommended: SLA reclaim after 6 h · Routing rule least loaded (candidate 1 of 3)."
    )
    assert "5 replications" in first
    assert "qualification rate 32.0% (30.5–33.5)" in first
    assert "5.5 h (5.1–5.9)" in first
    assert (
        "Across 4 futures (leads per month 2,400–4,800; reps in the first group 10–14 reps)"
        in robust
    )
    assert "never more than 0.0 pp behind the best candidate on qualification rate" in robust
    assert "its qualification rate is 30.3% or better" in robust
    assert "fails (first touch, slowest 10% above 8.0 h) in 1 of 4 futures" in robust
    assert (
        "mostly when leads per month 4,100 or more and reps in the first group 11 reps or less"
        in robust
    )
    assert (
        "leads per month moves qualification rate the most (total Sobol index 0.90 ± 0.08)" in last
    )
    assert "3 settings were evaluated; 2 are on the Pareto front" in last


def test_recommendation_in_chinese(search):
    text = recommendation(search, "zh")
    assert text.startswith(
        "推荐设置：熔断回收时限 6 小时 · 分配规则 最少负载优先（候选 1，共 3 个）。"
    )
    assert "线索合格率 32.0% (30.5–33.5)" in text
    assert "每月线索量不低于 4,100且第一组销售人数不高于 11 人" in text
    assert "Recommended" not in text and "futures" not in text


def test_prim_boxes_in_words(search):
    (line,) = box_sentences(search, "en")
    assert line == (
        "fails when leads per month 4,100 or more and reps in the first group 11 reps or less: "
        "coverage 85%, density 92% (25% of the futures)"
    )
    assert box_sentences(search, "zh")[0].startswith("当每月线索量不低于 4,100且")


def test_cards_and_regret_table(search):
    cards = recommendation_cards(search, "en")
    assert [c.label for c in cards] == [
        "Qualification rate",
        "First touch, slowest 10%",
        "Futures where it fails",
    ]
    assert cards[0].value == "32.0% (30.5–33.5)" and "higher is sought" in cards[0].detail
    assert cards[2].value == "1 of 4" and cards[2].tone == "worse"
    regret = regret_frame(search, "en")
    assert list(regret["candidate"]) == ["1 ★", "1 ★", "0", "0"]  # the recommendation first
    assert regret.iloc[2]["max"] == "2.0 pp" and regret.iloc[3]["max"] == "1.0 h"
    assert regret.iloc[0]["settings"] == "SLA reclaim after 6 h · Routing rule least loaded"


def test_without_discovery_sobol_or_futures(tmp_path):
    folder = write_search(tmp_path / "plain", discover=False, sobol=False)
    search = read_search_folder(folder)
    text = recommendation(search, "en")
    assert "fails" not in text and "Sobol" not in text
    assert len(recommendation_cards(search, "en")) == 2
    assert search.prim.empty and list(search.sobol.columns)[:2] == ["factor", "kpi"]


def test_values_and_lever_names():
    assert factor_value("sla.reclaim_hours", 4.0, "en") == "4 h"
    assert factor_value("routing.name", "least_loaded", "zh") == "最少负载优先"
    assert factor_value("arrivals.leads_per_month", 4100, "en") == "4,100"
    row = {"sla.reclaim_hours": 3, "custom.path": "x"}
    assert candidate_text(row, ["sla.reclaim_hours", "custom.path"], "en") == (
        "SLA reclaim after 3 h · custom.path x"
    )


def test_incomplete_and_unreadable_folders(tmp_path, search):
    manifest = json.loads((search.folder / "search.json").read_text())
    manifest["complete"] = False
    (search.folder / "search.json").write_text(json.dumps(manifest))
    text = recommendation(read_search_folder(search.folder), "en")
    assert text.endswith(tr("ps.verdict.incomplete", "en"))
    (search.folder / "candidates.csv").unlink()
    with pytest.raises(ConfigError, match=r"candidates\.csv: not found"):
        read_search_folder(search.folder)
    with pytest.raises(ConfigError, match=r"search\.json not found"):
        read_search_folder(tmp_path / "nothing")


def test_the_committed_demo_folder_reads():
    search = read_search_folder(DEMO)
    assert search.recommended in set(search.candidates["candidate"])
    assert search.complete
    assert recommendation(search, "en").startswith("Recommended: ")
    assert box_sentences(search, "en")[0].startswith(
        "fails when leads per month 6,833 or more and reps in the first group between 11 and "
        "13 reps: coverage 78%, density 88%"
    )


@pytest.mark.slow
def test_report_command_renders_a_search_folder(tmp_path, capsys):
    folder = write_search(tmp_path / "my_search")
    argv = ["report", "policy_search", "-p", "search_dir", str(folder), "--out", str(tmp_path)]
    assert main(argv) == 0
    html = tmp_path / "policy_search" / "my_search.html"
    assert capsys.readouterr().out.strip() == str(html)
    text = html.read_text("utf-8")
    assert "<title>Policy search — baseline</title>" in text
    assert "Recommended: SLA reclaim after 6 h · Routing rule least loaded" in text
    assert "leads per month 4,100 or more and reps in the first group 11 reps or less" in text
    assert text.count("<img ") == 3  # the front, parallel coordinates, Sobol bars


def test_report_command_names_a_missing_folder(tmp_path, capsys):
    argv = ["report", "policy_search", "-p", "search_dir", str(tmp_path / "none")]
    assert main([*argv, "--out", str(tmp_path)]) == 1
    assert "search.json not found" in capsys.readouterr().err


def test_categorical_and_two_sided_limits_in_words(search):
    prim = pd.DataFrame(
        {
            "box": [0, 0],
            "coverage": [0.5, 0.5],
            "density": [0.8, 0.8],
            "mass": [0.1, 0.1],
            "dimension": ["routing.name", "arrivals.leads_per_month"],
            "low": [None, 3000.0],
            "high": [None, 4000.0],
            "categories": ["least_loaded,round_robin", None],
        }
    )
    prim.to_csv(search.folder / "prim.csv", index=False)
    (line,) = box_sentences(read_search_folder(search.folder), "en")
    assert line.startswith(
        "fails when routing rule is least loaded or round robin and leads per month between "
        "3,000 and 4,000: coverage 50%, density 80%"
    )
