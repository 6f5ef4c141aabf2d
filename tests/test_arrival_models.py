"""Arrival-model selection by rolling-origin cross-validation, on counts with a known truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import SCENARIOS, SHARED_DATA
from sim.history.arrival_breaks import last_break
from sim.history.arrival_fit import fit_arrivals
from sim.history.arrival_models import fit_curve, incomplete_tail, select_model

WEEK = np.array([1.2, 1.2, 1.2, 1.1, 1.0, 0.2, 0.1])
WEEK = WEEK / WEEK.mean()
N, TRAIN = 360, 300


def _counts(level: np.ndarray, seed: int) -> np.ndarray:
    """Poisson daily counts with *level* x a Monday-first weekday profile."""
    rng = np.random.Generator(np.random.PCG64(seed))
    return rng.poisson(level * WEEK[np.arange(len(level)) % 7]).astype(float)


def _held_out_error(level: np.ndarray, seed: int):
    curve, reason, cv = select_model(_counts(level, seed)[:TRAIN], 0)
    truth = float(np.sum(level[TRAIN:] * WEEK[np.arange(TRAIN, N) % 7]))
    return curve, reason, cv, curve.expected(TRAIN, N) / truth - 1


def test_flat_counts_choose_no_trend():
    for seed in range(3):
        curve, reason, cv, err = _held_out_error(np.full(N, 20.0), seed)
        assert curve.trend == "none" and curve.weekly, reason
        assert abs(err) < 0.05
    assert set(cv.columns) >= {"model", "origin", "horizon_days", "mae", "mape"}
    assert cv["horizon_days"].iloc[0] == 60 and cv["origin"].nunique() == 4
    # 3 trends x weekday or not x whole or recent third, + a constant on the last 13 / 8 weeks
    assert len(cv["model"].unique()) == 16
    assert {"none:13w", "none+weekly:8w"} <= set(cv["model"]) and "linear:8w" not in set(
        cv["model"]
    )


def test_a_steady_trend_chooses_linear():
    curve, reason, _, err = _held_out_error(np.linspace(10, 30, N), 0)
    assert curve.name == "linear+weekly", reason
    assert "lowest 60-day forecast error over 4 origins" in reason
    assert abs(err) < 0.05
    assert curve.slope_per_day() == pytest.approx(20 / N, rel=0.25)


def test_a_ramp_then_plateau_is_not_extrapolated():
    level = np.minimum(5 + np.arange(N) * 25 / 180, 30.0)  # ramp to day 180, then flat
    for seed in range(3):
        curve, reason, _, err = _held_out_error(level, seed)
        assert abs(err) < 0.10, reason
        assert curve.slope_per_day() < 0.02  # the ramp's slope was 0.14 leads/day per day
    # a linear trend on the whole window would have overshot the plateau
    linear = fit_curve(_counts(level, 0)[:TRAIN], 0, "linear", True)
    assert linear.expected(TRAIN, N) > 1.15 * np.sum(level[TRAIN:] * WEEK[np.arange(TRAIN, N) % 7])


def test_a_level_shift_then_a_slow_rise_is_fitted_after_the_break():
    """Counts jump from 8 to 20 leads/day 60 days before the split, then rise 0.1% a
    day: the model is fitted on the days since the break and forecasts the held-out 60
    days within 15%; one fitted on the whole history misses by half."""
    t = np.arange(N)
    level = np.where(t < 240, 8.0, 20.0 * (1 + 0.001 * (t - 240)))
    truth = float(np.sum(level[TRAIN:] * WEEK[np.arange(TRAIN, N) % 7]))
    for seed in range(4):
        counts = _counts(level, seed)[:TRAIN]
        brk = last_break(counts)
        assert brk is not None and abs(brk.day - 240) <= 6
        assert brk.before_per_day == pytest.approx(8, rel=0.2)
        assert brk.after_per_day == pytest.approx(20, rel=0.2)
        curve, reason, cv = select_model(counts, 0, pd.Timestamp("2024-01-01"))
        assert curve.regime_start == brk.day and curve.name.endswith(":break"), reason
        assert reason.startswith("The weekly counts break on 2024-")
        assert cv["origin"].min() >= brk.day + 28 and cv["origin"].nunique() >= 3
        assert abs(curve.expected(TRAIN, N) / truth - 1) < 0.15, reason
        whole = fit_curve(counts, 0, "none", True)
        assert whole.expected(TRAIN, N) < 0.6 * truth


def test_no_break_is_found_in_steady_counts():
    for seed in range(5):
        assert last_break(_counts(np.full(N, 20.0), seed)) is None
        assert last_break(_counts(np.linspace(10, 30, N), seed)) is None


def test_incomplete_tail_is_found_and_a_complete_one_is_not():
    for seed in range(10):
        assert incomplete_tail(_counts(np.full(200, 20.0), seed), 0) == 0
    y = _counts(np.full(200, 20.0), 1)
    y[-3:] = np.round(y[-3:] * 0.2)
    assert incomplete_tail(y, 0) == 3


def test_expected_leads_counts_part_days_and_the_weekday_profile():
    curve = fit_curve(np.tile([10.0, 10, 10, 10, 10, 0, 0], 8), 0, "none", True)
    assert curve.expected(0, 7) == pytest.approx(50)
    assert curve.expected(0.5, 1.5) == pytest.approx(10)
    assert curve.expected(5, 7) == pytest.approx(0)
    assert curve.level(100) == pytest.approx(50 / 7)


def _leads(level: np.ndarray, seed: int, start="2024-01-01") -> pd.DataFrame:
    counts = _counts(level, seed).astype(int)
    rng = np.random.Generator(np.random.PCG64(seed + 100))
    day = np.repeat(np.arange(len(counts)), counts)
    arrived = pd.Timestamp(start) + pd.to_timedelta(day + rng.uniform(0.375, 0.75, len(day)), "D")
    return pd.DataFrame({"lead_id": np.arange(len(day)).astype(str), "arrived": arrived})


def test_fit_arrivals_drops_a_truncated_tail_and_forecasts_the_held_out_volume():
    level = np.minimum(3 + np.arange(N) * 12 / 150, 15.0)  # ramp-up, then a plateau
    leads = _leads(level, 3)
    first = leads["arrived"].min().normalize()
    train = leads[leads["arrived"] < first + pd.Timedelta(days=TRAIN)]
    # the export was taken at 11:00 on a Friday (day 298): that day is nearly empty
    cut = first + pd.Timedelta(days=TRAIN - 2, hours=11)
    truncated = train[train["arrived"] < cut]
    a = fit_arrivals(truncated)
    assert a.incomplete_tail_days == 1 and "left out" in a.model_reason
    assert a.days == TRAIN - 1 and a.fitted_days == TRAIN - 2
    real = int((leads["arrived"] >= first + pd.Timedelta(days=TRAIN)).sum())
    assert a.expected_leads(TRAIN, N) == pytest.approx(real, rel=0.15)
    assert a.model in set(a.cv["model"]) and a.model_reason.endswith(".")
    assert a.leads_per_month_at(TRAIN) == pytest.approx(15 * 30.44, rel=0.15)


OLIST = SHARED_DATA / "olist_marketing_funnel"


@pytest.mark.skipif(not OLIST.is_dir(), reason=f"Olist data not found at {OLIST}")
def test_olist_held_out_60_days_within_15_percent(tmp_path):
    from sim.history.importer import import_export, write_import
    from sim.history.mapping import load_mapping_spec

    write_import(
        import_export(OLIST, load_mapping_spec(SCENARIOS / "mappings/olist.yaml")), tmp_path
    )
    leads = pd.read_parquet(tmp_path / "leads.parquet")
    first, last = leads["arrived"].min().normalize(), leads["arrived"].max().normalize()
    split = last + pd.Timedelta(days=1) - pd.Timedelta(days=60)
    a = fit_arrivals(leads[leads["arrived"] < split])
    start = (split - first).days
    real = int((leads["arrived"] >= split).sum())
    assert real == 2636
    assert a.expected_leads(start, start + 60) == pytest.approx(real, rel=0.15)
    assert a.curve.trend == "none"  # 13 weeks since the break: too few for a trend
    assert first + pd.Timedelta(days=a.break_day) == pd.Timestamp("2018-01-01")
    assert a.model == "none+weekly:break" and "break on 2018-01-01" in a.model_reason
