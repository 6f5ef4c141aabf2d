"""Replications and their summary: seeds, the tidy KPI frame, and Student-t intervals
checked against numbers worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim import KPIS, kpis, run
from sim.experiments.replications import SUMMARY_COLUMNS, kpi_frame, run_replications, summarise

# t quantiles from tables: t(0.975; 3) and t(0.975; 1), t(0.95; 3)
T975_DF3 = 3.182446305284263
T975_DF1 = 12.706204736174705
T975_DF2 = 4.302652729749464
T95_DF3 = 2.353363434801823


def hand_frame(**columns: list[float]) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    return pd.DataFrame({"replication": range(n), "seed": [(0, i) for i in range(n)], **columns})


def row(summary: pd.DataFrame, kpi: str) -> pd.Series:
    return summary.set_index("kpi").loc[kpi]


def test_summarise_gives_mean_and_student_t_interval():
    # 1, 2, 3, 4: mean 2.5, s = sqrt(5/3), s/sqrt(4) = 0.6454972...
    summary = summarise(hand_frame(leads_arrived=[1.0, 2.0, 3.0, 4.0]))
    assert tuple(summary.columns) == SUMMARY_COLUMNS
    got = row(summary, "leads_arrived")
    half = T975_DF3 * math.sqrt(5 / 3) / 2
    assert half == pytest.approx(2.0542, abs=1e-4)
    assert got["mean"] == pytest.approx(2.5)
    assert got["ci_low"] == pytest.approx(2.5 - half, rel=1e-9)  # 0.4458
    assert got["ci_high"] == pytest.approx(2.5 + half, rel=1e-9)  # 4.5542
    assert (got["unit"], got["better"], got["n"]) == ("leads", "none", 4)


def test_summarise_confidence_level_and_constant_values():
    frame = hand_frame(leads_arrived=[1.0, 2.0, 3.0, 4.0], sla_reminders=[7.0] * 4)
    got = row(summarise(frame, confidence=0.90), "leads_arrived")
    assert got["ci_high"] - got["mean"] == pytest.approx(T95_DF3 * math.sqrt(5 / 3) / 2)
    constant = row(summarise(frame), "sla_reminders")
    assert (constant["mean"], constant["ci_low"], constant["ci_high"]) == (7.0, 7.0, 7.0)
    with pytest.raises(ValueError, match="confidence"):
        summarise(frame, confidence=95)


def test_summarise_leaves_out_missing_values_and_needs_two_for_an_interval():
    frame = hand_frame(
        first_touch_hours_mean=[2.0, math.nan, 4.0],  # n = 2: s = sqrt(2), s/sqrt(2) = 1
        qualification_rate=[0.25, math.nan, math.nan],  # n = 1: no interval
        a_leads_top20_share=[math.nan] * 3,  # n = 0: nothing at all
    )
    summary = summarise(frame)
    ft = row(summary, "first_touch_hours_mean")
    assert (ft["mean"], ft["n"]) == (3.0, 2)
    assert ft["ci_high"] == pytest.approx(3.0 + T975_DF1)
    assert ft["ci_low"] == 0.0  # 3.0 - 12.7 cut at the bound: a wait is never negative
    one = row(summary, "qualification_rate")
    assert one["mean"] == 0.25 and one["n"] == 1
    assert math.isnan(one["ci_low"]) and math.isnan(one["ci_high"])
    none = row(summary, "a_leads_top20_share")
    assert none["n"] == 0 and math.isnan(none["mean"])


def test_summarise_cuts_share_intervals_at_zero_and_one():
    frame = hand_frame(qualification_rate=[0.98, 0.999, 0.9], leads_arrived=[10.0, 11.0, 12.0])
    share = row(summarise(frame), "qualification_rate")
    assert share["ci_high"] == 1.0 and share["ci_low"] < share["mean"]
    count = row(summarise(frame), "leads_arrived")
    assert count["ci_low"] == pytest.approx(11.0 - T975_DF2 * 1 / math.sqrt(3))


def test_summarise_lists_kpis_in_registry_order_and_ignores_other_columns():
    frame = hand_frame(qualification_rate=[0.2, 0.3], leads_arrived=[5.0, 6.0], extra=[1, 2])
    assert list(summarise(frame)["kpi"]) == ["leads_arrived", "qualification_rate"]


def test_run_replications_uses_replication_seeds(tiny_scenario):
    results = run_replications(tiny_scenario, None, 3, base_seed=7)
    assert [r.seed for r in results] == [(7, 0), (7, 1), (7, 2)]
    # Replication i is the same run in any batch, and the same as run() with its seed.
    again = run_replications(tiny_scenario, None, 2, base_seed=7)
    pd.testing.assert_frame_equal(results[1].events, again[1].events)
    pd.testing.assert_frame_equal(results[2].leads, run(tiny_scenario, None, (7, 2)).leads)
    assert not results[0].events.equals(results[1].events)
    with pytest.raises(ValueError, match="replications"):
        run_replications(tiny_scenario, None, 0)


def test_kpi_frame_is_tidy_one_row_per_run(tiny_scenario):
    results = run_replications(tiny_scenario, None, 3, base_seed=2)
    frame = kpi_frame(results)
    assert list(frame.columns) == ["replication", "seed", *KPIS]
    assert list(frame["replication"]) == [0, 1, 2]
    assert list(frame["seed"]) == [(2, 0), (2, 1), (2, 2)]
    for i, result in enumerate(results):
        expected = kpis(result)
        got = frame.loc[i, list(KPIS)].to_dict()
        assert got == pytest.approx(expected, nan_ok=True)
    # ... and the summary's mean is the mean over those rows.
    summary = summarise(frame).set_index("kpi")
    assert summary.loc["leads_arrived", "mean"] == pytest.approx(frame["leads_arrived"].mean())
    assert summary.loc["leads_arrived", "n"] == 3
    assert np.all(summary["ci_low"].dropna() <= summary.loc[summary["ci_low"].notna(), "mean"])


def test_kpi_frame_of_no_runs_is_empty_with_all_columns():
    frame = kpi_frame([])
    assert frame.empty and list(frame.columns) == ["replication", "seed", *KPIS]
    assert summarise(frame)["n"].eq(0).all()
