"""Paired before/after comparisons: every policy on the same seeds (common random
numbers), paired Student-t intervals checked against numbers worked out by hand, CRN
against independent seeds, the managers' comparison narrative, and the rendered report."""

from __future__ import annotations

import math
import re
from html import escape as html_escape
from pathlib import Path

import pandas as pd
import pytest

from conftest import POLICIES, ROOT, SCENARIOS
from sim import KPIS, load_policy, load_scenario
from sim.cli.main import main
from sim.errors import ConfigError
from sim.experiments.replications import (
    DIFFERENCE_COLUMNS,
    compare,
    compare_runs,
    comparison_frame,
    kpi_frame,
    paired_differences,
    run_replications,
)
from sim.reports.comparison_narrative import (
    HEADLINE_KPIS,
    comparison_narrative,
    format_change,
    format_level,
    sensitivity_table,
    tuning_table,
)
from sim.reports.i18n import kpi_label

# t quantiles from tables: t(0.975; 2), t(0.95; 2), t(0.975; 7)
T975_DF2 = 4.302652729749464
T95_DF2 = 2.919985580355516


# --- paired_differences on a hand-made frame -------------------------------------------


def hand_frame(before: dict[str, list[float]], after: dict[str, list[float]]) -> pd.DataFrame:
    """A compare()-like frame: policies 'before' and 'after', replications 0..n-1, with
    the rows shuffled (pairs must be matched by replication, not by row order)."""
    rows = []
    for label, columns in (("before", before), ("after", after)):
        n = len(next(iter(columns.values())))
        for i in range(n):
            rows.append(
                {
                    "policy": label,
                    "replication": i,
                    "seed": (0, i),
                    **{k: v[i] for k, v in columns.items()},
                }
            )
    order = [4, 0, 2, 5, 1, 3] if len(rows) == 6 else list(range(len(rows)))[::-1]
    return pd.DataFrame([rows[i] for i in order])


BEFORE = {
    "leads_arrived": [100.0, 110.0, 120.0],
    "first_touch_hours_mean": [4.0, 6.0, 8.0],
    "first_touch_business_hours_mean": [1.0, math.nan, 3.0],
    "sla_reminders": [0.0, 0.0, 0.0],
    "rep_utilisation_mean": [0.5, 0.6, 0.7],
    "qualification_rate": [0.20, 0.25, 0.30],
    "new_rep_days_to_valid_lead": [math.nan] * 3,
}
AFTER = {
    "leads_arrived": [100.0, 110.0, 120.0],  # same leads: no difference at all
    "first_touch_hours_mean": [2.0, 5.0, 5.0],  # d = -2, -1, -3
    "first_touch_business_hours_mean": [0.5, 2.0, 2.5],  # pairs 0 and 2 only: d = -0.5
    "sla_reminders": [10.0, 12.0, 14.0],  # d = 10, 12, 14
    "rep_utilisation_mean": [0.6, 0.7, 0.8],  # d = 0.1 each (no better direction)
    "qualification_rate": [0.25, 0.31, 0.34],  # d = 0.05, 0.06, 0.04
    "new_rep_days_to_valid_lead": [math.nan] * 3,
}


@pytest.fixture
def differences() -> pd.DataFrame:
    return paired_differences(hand_frame(BEFORE, AFTER), "before", "after")


def row(table: pd.DataFrame, kpi: str) -> pd.Series:
    return table.set_index("kpi").loc[kpi]


def test_paired_differences_columns_and_registry_order(differences):
    assert tuple(differences.columns) == DIFFERENCE_COLUMNS
    assert list(differences["kpi"]) == [k for k in KPIS if k in BEFORE]
    assert set(differences["verdict"]) <= {"better", "worse", "changed", "no clear difference"}


def test_paired_t_interval_by_hand_includes_zero(differences):
    # d = -2, -1, -3: mean -2, s = 1, s/sqrt(3); t(0.975; 2) = 4.3027
    got = row(differences, "first_touch_hours_mean")
    half = T975_DF2 / math.sqrt(3)
    assert half == pytest.approx(2.4841, abs=1e-4)
    assert (got["baseline_mean"], got["candidate_mean"]) == (6.0, 4.0)
    assert got["difference"] == pytest.approx(-2.0)
    assert got["ci_low"] == pytest.approx(-2.0 - half)  # -4.484
    assert got["ci_high"] == pytest.approx(-2.0 + half)  # +0.484: includes 0
    assert got["relative_change"] == pytest.approx(-2.0 / 6.0)
    assert (got["unit"], got["better"], got["n"]) == ("h", "lower", 3)
    assert got["verdict"] == "no clear difference"


def test_interval_excluding_zero_is_judged_by_direction(differences):
    # higher is better, d = 0.05, 0.06, 0.04: mean 0.05, s = 0.01
    qual = row(differences, "qualification_rate")
    half = T975_DF2 * 0.01 / math.sqrt(3)  # 0.02484
    assert qual["difference"] == pytest.approx(0.05)
    assert qual["ci_low"] == pytest.approx(0.05 - half)
    assert qual["ci_high"] == pytest.approx(0.05 + half)
    assert qual["relative_change"] == pytest.approx(0.05 / 0.25)
    assert qual["verdict"] == "better"
    # lower is better, d = 10, 12, 14: s = 2; the baseline mean is 0: no relative change
    rem = row(differences, "sla_reminders")
    assert rem["difference"] == pytest.approx(12.0)
    assert rem["ci_low"] == pytest.approx(12.0 - T975_DF2 * 2 / math.sqrt(3))  # 7.03
    assert math.isnan(rem["relative_change"])
    assert rem["verdict"] == "worse"
    # no better direction: a clear change is "changed"
    util = row(differences, "rep_utilisation_mean")
    assert util["difference"] == pytest.approx(0.1)
    assert util["ci_low"] == pytest.approx(0.1) and util["ci_high"] == pytest.approx(0.1)
    assert util["verdict"] == "changed"
    # identical values: a zero-width interval at 0 is no difference
    same = row(differences, "leads_arrived")
    assert (same["difference"], same["ci_low"], same["ci_high"]) == (0.0, 0.0, 0.0)
    assert same["relative_change"] == 0.0 and same["verdict"] == "no clear difference"


def test_pairs_with_a_missing_value_are_left_out(differences):
    got = row(differences, "first_touch_business_hours_mean")
    assert got["n"] == 2  # replication 1 has no baseline value
    assert (got["baseline_mean"], got["candidate_mean"]) == (2.0, 1.5)  # over the pairs
    assert (got["difference"], got["ci_low"], got["ci_high"]) == (-0.5, -0.5, -0.5)
    assert got["verdict"] == "better"
    none = row(differences, "new_rep_days_to_valid_lead")
    assert none["n"] == 0 and none["verdict"] == "no clear difference"
    assert all(math.isnan(none[c]) for c in ("baseline_mean", "difference", "ci_low"))


def test_confidence_level_single_pair_and_bad_arguments():
    frame = hand_frame(BEFORE, AFTER)
    got = row(paired_differences(frame, "before", "after", confidence=0.90), "qualification_rate")
    assert got["ci_high"] - got["difference"] == pytest.approx(T95_DF2 * 0.01 / math.sqrt(3))
    one = hand_frame({"qualification_rate": [0.2]}, {"qualification_rate": [0.3]})
    single = row(paired_differences(one, "before", "after"), "qualification_rate")
    assert single["difference"] == pytest.approx(0.1) and single["n"] == 1
    assert math.isnan(single["ci_low"]) and single["verdict"] == "no clear difference"
    with pytest.raises(
        ValueError, match=r"'later' is not in the frame \(policies: after, before\)"
    ):
        paired_differences(frame, "before", "later")
    with pytest.raises(ValueError, match="confidence"):
        paired_differences(frame, "before", "after", confidence=95)
    with pytest.raises(ValueError, match="more than once"):
        paired_differences(pd.concat([frame, frame]), "before", "after")


# --- compare on simulated runs ----------------------------------------------------------


def test_compare_runs_every_policy_on_the_same_seeds(tiny_scenario):
    no_sla = load_policy(POLICIES / "no_sla.yaml")
    policies = {"default": None, "no_sla": no_sla}
    frame = compare(tiny_scenario, policies, n=3, base_seed=5)
    assert list(frame.columns) == ["policy", "replication", "seed", *KPIS]
    assert list(frame["policy"]) == ["default"] * 3 + ["no_sla"] * 3
    assert list(frame["replication"]) == [0, 1, 2] * 2
    assert list(frame["seed"]) == [(5, 0), (5, 1), (5, 2)] * 2
    # each policy's rows are its own replications, as run_replications gives them
    alone = kpi_frame(run_replications(tiny_scenario, no_sla, 3, base_seed=5))
    got = frame[frame["policy"] == "no_sla"].drop(columns="policy").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, alone)
    # common random numbers: the same leads arrive under both policies
    runs = compare_runs(tiny_scenario, policies, n=2, base_seed=5)
    for before, after in zip(runs["default"], runs["no_sla"], strict=True):
        pd.testing.assert_frame_equal(before.arrivals, after.arrivals)
    with pytest.raises(ValueError, match="at least one policy"):
        compare(tiny_scenario, {}, n=2)
    with pytest.raises(ValueError, match="replications"):
        compare(tiny_scenario, policies, n=0)
    assert list(comparison_frame({}).columns) == ["policy", "replication", "seed", *KPIS]


def half_width(table: pd.DataFrame, kpi: str) -> float:
    got = row(table, kpi)
    return float(got["ci_high"] - got["ci_low"]) / 2


def test_common_random_numbers_narrow_the_interval_of_a_difference():
    """least_loaded vs no_sla, first-touch mean, one week, 8 replications: pairing runs
    that share their leads cancels most run-to-run noise; the same comparison with the
    candidate on independent seeds (base_seed + 1000) gives a much wider interval."""
    scenario = load_scenario(SCENARIOS / "baseline.yaml", ["horizon_days=7"])
    baseline = load_policy(POLICIES / "no_sla.yaml")
    candidate = load_policy(POLICIES / "least_loaded.yaml")
    n, base_seed = 8, 0
    crn = compare(scenario, {"before": baseline, "after": candidate}, n, base_seed)
    independent = pd.concat(
        [
            crn[crn["policy"] == "before"],
            kpi_frame(run_replications(scenario, candidate, n, base_seed + 1000)).assign(
                policy="after"
            ),
        ],
        ignore_index=True,
    )
    paired = paired_differences(crn, "before", "after")
    unpaired = paired_differences(independent, "before", "after")
    kpi = "first_touch_hours_mean"
    crn_half, independent_half = half_width(paired, kpi), half_width(unpaired, kpi)
    print(f"{kpi}: CRN half-width {crn_half:.4f} h, independent {independent_half:.4f} h")
    assert row(paired, kpi)["n"] == row(unpaired, kpi)["n"] == n
    assert crn_half < independent_half / 2
    # ... narrow enough to see that least-loaded routing touches leads sooner
    assert row(paired, kpi)["verdict"] == "better"
    # and the same holds for the qualification rate, which barely moves
    assert half_width(paired, "qualification_rate") < half_width(unpaired, "qualification_rate")


# --- the managers' narrative ------------------------------------------------------------


def diff_row(kpi: str, base: float, cand: float, low: float, high: float, verdict: str, n=5):
    spec = KPIS[kpi]
    difference = cand - base
    return {
        "kpi": kpi,
        "unit": spec.unit,
        "better": spec.better,
        "baseline_mean": base,
        "candidate_mean": cand,
        "difference": difference,
        "ci_low": low,
        "ci_high": high,
        "relative_change": difference / base if base else math.nan,
        "n": n,
        "verdict": verdict,
    }


def hand_differences() -> pd.DataFrame:
    rows = [
        diff_row("leads_arrived", 2900.0, 2900.0, 0.0, 0.0, "no clear difference"),
        diff_row("qualification_rate", 0.25, 0.28, 0.01, 0.05, "better"),
        diff_row("first_touch_hours_mean", 6.3, 1.8, -5.0, -4.0, "better"),
        diff_row("first_touch_business_hours_mean", 0.5, 0.4, -0.15, 0.02, "no clear difference"),
        diff_row("sla_reminders", 0.0, 180.0, 140.0, 220.0, "worse"),
        diff_row("rep_utilisation_mean", 0.5, 0.6, 0.08, 0.12, "changed"),
        diff_row("a_leads_gini", 0.15, 0.137, -0.027, -0.0002, "better"),
        diff_row("new_rep_days_to_valid_lead", math.nan, math.nan, math.nan, math.nan, "x"),
        diff_row("cross_region_share", 0.43, math.nan, math.nan, math.nan, "x"),
    ]
    return pd.DataFrame(rows, columns=list(DIFFERENCE_COLUMNS))


def narrative_bullets(text: str) -> list[str]:
    lines = text.strip().splitlines()
    assert all(line.startswith("- **") for line in lines), text
    return lines


def test_narrative_reads_headline_kpis_in_order_and_skips_missing_values():
    table = hand_differences()
    before = table.copy()
    text = comparison_narrative(table, "no_sla", "source_defaults")
    pd.testing.assert_frame_equal(table, before)  # not modified
    assert text == comparison_narrative(table, "no_sla", "source_defaults")  # deterministic
    lines = narrative_bullets(text)
    names = [re.match(r"- \*\*(.+?)\.\*\*", line).group(1) for line in lines]
    assert names == [
        "Overall",
        HEADLINE_KPIS["first_touch_hours_mean"],
        HEADLINE_KPIS["first_touch_business_hours_mean"],
        HEADLINE_KPIS["sla_reminders"],
        HEADLINE_KPIS["qualification_rate"],
        HEADLINE_KPIS["rep_utilisation_mean"],
        HEADLINE_KPIS["a_leads_gini"],
    ]  # leads_arrived is no headline; NaN new-rep wait and cross-region share are skipped
    assert lines[0] == (
        "- **Overall.** Over 5 paired replications (the same leads under both policies), "
        "compared with the no_sla policy, the source_defaults policy is clearly better on "
        "first touch (calendar), qualification rate, A-lead Gini; clearly worse on reminders; "
        "clearly different on utilisation; with no clear difference on 1 other headline "
        "measure."
    )
    assert lines[1] == (
        "- **Mean time to first touch (calendar hours).** 6.3 hours no_sla → 1.8 hours "
        "source_defaults: a change of -4.5 hours (95% interval -5.0 hours to -4.0 hours; "
        "-71% relative). ✅ A clear improvement."
    )
    assert lines[2] == (
        "- **Mean time to first touch (business hours).** 30 business minutes no_sla → "
        "24 business minutes source_defaults: a change of -6.0 business minutes (95% "
        "interval -9.0 business minutes to +1.2 business minutes; -20% relative). No clear "
        "difference: the interval includes zero."
    )
    assert lines[3].startswith(
        "- **SLA reminders per replication.** 0 no_sla → 180 source_defaults: a change of "
        "+180 (95% interval +140 to +220). ⚠️ Clearly worse. None under the no_sla policy"
    )
    assert lines[4] == (
        "- **Qualification rate (qualified / touched leads).** 25% no_sla → 28% "
        "source_defaults: a change of +3.0 percentage points (95% interval +1.0 percentage "
        "points to +5.0 percentage points; +12% relative). ✅ A clear improvement."
    )
    assert "A clear change (neither direction is better in itself)." in lines[5]
    assert "0.150 no_sla → 0.137 source_defaults" in lines[6]
    assert "95% interval -0.027 to -0.0002" in lines[6]  # small but clear: still visible


def test_narrative_with_one_replication_and_with_nothing_to_say():
    table = pd.DataFrame(
        [diff_row("qualification_rate", 0.25, 0.28, math.nan, math.nan, "no clear difference", 1)]
    )
    lines = narrative_bullets(comparison_narrative(table))
    assert "Over 1 paired replication " in lines[0]
    assert lines[0].endswith("not clearly different on any headline measure (1 compared).")
    assert "25% before → 28% after" in lines[1]
    assert "no interval from a single replication" in lines[1]
    assert lines[1].endswith("Too few replications to judge.")
    empty = hand_differences().iloc[-2:]  # only NaN values
    assert comparison_narrative(empty) == "- No headline measure has values for both policies.\n"


def test_narrative_names_every_clearly_worse_kpi_even_outside_the_headline_list():
    # The pool wait is no headline KPI; clearly worse, it still gets its own line in its
    # registered words, and the overall line counts it.  A non-headline KPI that is not
    # worse (leads_waiting_at_end, better here) stays out.
    table = pd.DataFrame(
        [
            *hand_differences().to_dict("records"),
            diff_row("pool_wait_hours_mean", 0.0, 45.0, 40.0, 50.0, "worse"),
            diff_row("leads_waiting_at_end", 70.0, 40.0, -35.0, -25.0, "better"),
        ]
    )
    lines = narrative_bullets(comparison_narrative(table))
    assert (
        "clearly worse on reminders; clearly different on utilisation; clearly worse on 1 "
        "measure outside the headline list (named below); with no clear difference"
    ) in lines[0]
    assert lines[-1] == (
        f"- **Also clearly worse: {KPIS['pool_wait_hours_mean'].description}.** 0 minutes "
        "before → 45 hours after: a change of +45 hours (95% interval +40 hours to "
        "+50 hours). ⚠️ A cost of the after policy, to weigh against its gains."
    )
    assert not any("waiting for an eligible rep at the end" in line for line in lines)
    # Only a worse non-headline KPI: still said, not "nothing to say".
    alone = pd.DataFrame([diff_row("pool_wait_hours_mean", 0.0, 45.0, 40.0, 50.0, "worse")])
    lines = narrative_bullets(comparison_narrative(alone))
    assert "Over 5 paired replications" in lines[0] and len(lines) == 2


def test_narrative_reads_new_rep_waits_as_censored():
    table = pd.DataFrame(
        [diff_row("new_rep_days_to_valid_lead", 31.6, 1.2, -34.0, -29.0, "better")]
    )
    waits = {
        # 3 of 4 censored; the share still waiting is 3/4 after day 10, never below 1/2
        "before": pd.DataFrame(
            {
                "days_to_first_valid_lead": [10.0, 49.0, 42.0, 21.0],
                "censored": [False, True, True, True],
            }
        ),
        # nothing censored: the median of 0.5, 1.0, 2.0 is 1.0
        "after": pd.DataFrame(
            {"days_to_first_valid_lead": [2.0, 0.5, 1.0], "censored": [False] * 3}
        ),
    }
    text = narrative_bullets(comparison_narrative(table, new_rep_waits=waits))[1]
    assert text == (
        f"- **{HEADLINE_KPIS['new_rep_days_to_valid_lead']}.** before: 3 of 4 new reps (75%) "
        "still had none when the run ended; Kaplan-Meier median not reached (longer than "
        "49.0 days; an estimated 75% still waiting then). after: all 3 new reps got one; "
        "Kaplan-Meier median 1.0 days. The mean (31.6 days before → 1.2 days after) counts "
        "a wait cut off by the end of the run as if it ended there, so it understates the "
        "wait. ✅ A clear improvement."
    )
    # Without the waits, the mean is read as before.
    plain = narrative_bullets(comparison_narrative(table))[1]
    assert "31.6 days before → 1.2 days after: a change of" in plain


def test_tuning_table_reads_the_scenario_and_the_comparison():
    raw = {
        "team": {"groups": [{"touch_time": {"mean": 1.25}}, {"touch_time": {"mean": 1.25}}]},
        "qualification": {"decay": {"kind": "exponential", "half_life_hours": 6}},
    }
    tuned = [
        {
            "name": "touch time",
            "set": ["team.groups.0.touch_time.mean", "team.groups.1.touch_time.mean"],
            "kpi": "first_touch_hours_mean",
            "policy": "before",
            "source": "11.6 h",
        },
        {
            "name": "decay curve",
            "set": "qualification.decay",
            "kpi": "qualification_rate",
            "policy": "change",
            "source": "+15-25%",
        },
    ]
    table = tuning_table(raw, tuned, hand_differences())
    assert table.to_dict("records") == [
        {
            "assumption": "touch time",
            "scenario value": "1.25 (2 places)",
            "tuned to": "first touch (calendar), before: source 11.6 h",
            "this report": "6.3 hours",
        },
        {
            "assumption": "decay curve",
            "scenario value": '{"kind": "exponential", "half_life_hours": 6}',
            "tuned to": "qualification rate, before → after: source +15-25%",
            "this report": "+12%",
        },
    ]
    for bad in (
        {**tuned[0], "set": "team.groups.5.touch_time.mean"},
        {**tuned[0], "kpi": "no_such_kpi"},
        {**tuned[0], "policy": "sideways"},
        {**tuned[0], "typo": 1},
    ):
        with pytest.raises(ConfigError):
            tuning_table(raw, [bad], hand_differences())


def test_sensitivity_table_one_row_per_variant():
    low = pd.DataFrame([diff_row("first_touch_hours_mean", 8.5, 5.4, -3.5, -2.7, "better")])
    high = pd.DataFrame([diff_row("first_touch_hours_mean", 25.4, 5.5, -21.0, -19.0, "better")])
    waits = {
        "before": pd.DataFrame({"days_to_first_valid_lead": [49.0], "censored": [True]}),
        "after": pd.DataFrame({"days_to_first_valid_lead": [1.5], "censored": [False]}),
    }
    table = sensitivity_table(
        [("touch", "1.0", low), ("touch", "1.5", high)],
        ["first_touch_hours_mean", "qualification_rate"],  # absent KPIs are left out
        new_rep_waits=[waits, waits],
    )
    assert list(table.index) == [("touch", "1.0"), ("touch", "1.5")]
    row = table.loc[("touch", "1.5")]
    assert row[("first touch (calendar)", "before")] == "25 hours"
    assert row[("first touch (calendar)", "after")] == "5.5 hours"
    assert row[("first touch (calendar)", "change")] == "-20 hours (-78%)"
    assert row[("new reps", "before")] == "1/1 still waiting; median > 49.0 days"
    assert row[("new reps", "after")] == "0/1 still waiting; median 1.5 days"
    assert ("qualification rate", "before") not in table.columns


@pytest.mark.parametrize(
    ("value", "unit", "kpi", "level", "change"),
    [
        (2.5, "h", "first_touch_hours_mean", "2.5 hours", "+2.5 hours"),
        (-0.25, "h", "first_touch_business_hours_mean", "n/a", "-15 business minutes"),
        (-0.0005, "h", "first_touch_hours_mean", "n/a", "-0.03 minutes"),
        (0.0, "h", "first_touch_hours_mean", "0 minutes", "±0.0 minutes"),
        (0.034, "share", "", "3.4%", "+3.4 percentage points"),
        (12.0, "leads", "", "12", "+12"),
        (2.34, "events", "", "2.3", "+2.3"),
        (1234.4, "leads", "", "1,234", "+1,234"),
        (3.26, "days", "", "3.3 days", "+3.3 days"),
        (0.0002, "index", "", "0.000", "+0.0002"),
        (math.nan, "share", "", "n/a", "n/a"),
    ],
)
def test_format_level_and_change(value, unit, kpi, level, change):
    if value >= 0 or math.isnan(value):
        assert format_level(value, unit, kpi) == level
    assert format_change(value, unit, kpi) == change


# --- the rendered report ----------------------------------------------------------------


@pytest.mark.slow
def test_policy_comparison_report_renders_html_without_code(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "out"
    code = main(
        [
            *("report", "policy_comparison", "--scenario", "scenarios/baseline.yaml"),
            *("--policy", "scenarios/policies/no_sla.yaml"),
            *("--policy", "scenarios/policies/least_loaded.yaml"),
            *("-p", "replications", "2", "-p", "seed", "4", "--out", str(out)),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    html = Path(captured.out.strip())
    assert (
        html
        == (out / "policy_comparison" / "baseline__no_sla_vs_least_loaded__seed4.html").resolve()
    )
    text = html.read_text(encoding="utf-8")
    for source in ("compare_runs(", "from sim.", "paired_differences(", "replications = 2"):
        assert source not in text
    assert str(ROOT) not in text and str(tmp_path) not in text  # no machine paths
    # verdict first, headline cards, then tables for people with human KPI labels
    assert text.index('class="verdict') < text.index('class="kpi-cards"')
    assert 'class="dataframe"' not in text  # no raw DataFrame dumps
    tables = "".join(re.findall(r'<table class="people">.*?</table>', text, re.S))
    for kpi in ("first_touch_hours_mean", "qualification_rate", "a_leads_gini"):
        assert html_escape(kpi_label(kpi, "en")) in tables
    assert "nan" not in tables.lower().split() and "None" not in tables
    assert re.search(r"<img[^>]+src=\"data:image/", text)  # charts, embedded


def test_report_policy_count_must_fit_the_notebook(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    policy = "scenarios/policies/no_sla.yaml"
    for notebook, policies in (("policy_comparison", [policy]), ("scenario_report", [policy] * 2)):
        code = main(
            [
                *("report", notebook, "--scenario", "scenarios/baseline.yaml"),
                *[arg for p in policies for arg in ("--policy", p)],
                *("--out", str(tmp_path / "out")),
            ]
        )
        assert code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"error: {notebook}: --policy given")
    assert not (tmp_path / "out").exists()
