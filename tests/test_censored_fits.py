"""Censoring-aware deal outcomes: estimators against hand-computed values and recovery of
a known win probability and mean cycle when many deals are still open."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.history.censored import (
    aalen_johansen,
    censored_ml,
    conditional_mean_median,
    fit_duration,
)
from sim.history.deal_outcomes import deal_outcomes

DAY = pd.Timedelta(days=1)
START = pd.Timestamp("2024-01-01")
SIGMA = 1.1  # won-only exports: log-normal sigma of the cycle (a long tail of late wins)


def test_aalen_johansen_matches_the_hand_computed_table():
    # times 1 won, 2 lost, 2 censored, 3 won, 4 censored, 5 won
    table = aalen_johansen(np.array([1, 2, 2, 3, 4, 5]), np.array([1, 2, 0, 1, 0, 1]))
    assert table["time"].tolist() == [1, 2, 3, 4, 5]
    assert table["at_risk"].tolist() == [6, 5, 3, 2, 1]
    # S: 5/6, then x 4/5 = 4/6, x 2/3 = 4/9, (censoring) 4/9, x 0 = 0
    assert table["survival"].tolist() == pytest.approx([5 / 6, 4 / 6, 4 / 9, 4 / 9, 0])
    # won: 1/6, +0, + 4/6 x 1/3, +0, + 4/9 x 1 = 5/6; lost: 5/6 x 1/5 = 1/6
    assert table["cif_won"].tolist() == pytest.approx([1 / 6, 1 / 6, 7 / 18, 7 / 18, 5 / 6])
    assert table["cif_lost"].iloc[-1] == pytest.approx(1 / 6)
    # among deals that end won: F = 0.2 at 1, 7/15 at 3, 1 at 5
    mean, median = conditional_mean_median(table)
    assert mean == pytest.approx(1 * 1 + 2 * 0.8 + 2 * (8 / 15))
    assert median == 5


def test_one_outcome_is_kaplan_meier():
    table = aalen_johansen(np.array([1, 2, 3, 4]), np.array([1, 0, 1, 1]))
    km = np.array([3 / 4, 3 / 4, 3 / 8, 0])
    assert table["survival"].tolist() == pytest.approx(km.tolist())
    assert (table["cif_won"] + table["survival"]).tolist() == pytest.approx([1, 1, 1, 1])


def test_unit_weights_give_scipys_censored_likelihood():
    rng = np.random.Generator(np.random.PCG64(3))
    t = rng.lognormal(np.log(20), 0.7, 400)
    c = rng.uniform(5, 60, 400)
    exact, cens = t[t <= c], c[t > c]
    s, scale = censored_ml(stats.lognorm, exact, cens, np.ones(len(cens)))
    data = stats.CensoredData(uncensored=exact, right=cens)
    s_ref, _, scale_ref = stats.lognorm.fit(data, floc=0)
    assert s == pytest.approx(s_ref, rel=1e-3)
    assert scale == pytest.approx(scale_ref, rel=1e-3)
    naive = stats.lognorm.fit(exact, floc=0)[2]
    assert naive < 0.9 * scale  # dropping the censored ones is biased short


def _deal_export(rng, n=3000, p_win=0.3, days=120, snapshot_day=120):
    """Deals created uniformly over *days*; won after a log-normal cycle (median 25, mean
    28.3 days), lost after an exponential 80 days; open when still running at the end of
    the snapshot day."""
    created = START + DAY * rng.uniform(0, days, n)
    won = rng.random(n) < p_win
    duration = np.where(won, rng.lognormal(np.log(25), 0.5, n), rng.exponential(80, n))
    end = START + DAY * (snapshot_day + 1)
    closed = created + DAY * duration
    open_ = closed >= end
    outcome = np.where(open_, "open", np.where(won, "won", "lost"))
    ids = [f"d{i}" for i in range(n)]
    leads = pd.DataFrame({"lead_id": ids, "arrived": created, "arrived_date_only": False})
    opps = pd.DataFrame(
        {
            "opportunity_id": ids,
            "lead_id": ids,
            "rep_id": "r1",
            "outcome": outcome,
            "closed": pd.Series(closed).where(~open_),
            "created": created,
        }
    )
    snapshot = str((START + DAY * snapshot_day).date())
    return {"leads": leads, "opportunities": opps}, {"snapshot": snapshot}


def test_recovers_win_probability_and_mean_cycle_under_heavy_censoring():
    rng = np.random.Generator(np.random.PCG64(14))
    tables, report = _deal_export(rng)
    d = deal_outcomes(tables, report)
    assert d.unit == "deal" and d.n == 3000
    assert 0.35 < d.n_open / d.n < 0.5  # heavy censoring
    true_mean = 25 * np.exp(0.5**2 / 2)
    assert d.win_probability == pytest.approx(0.3, rel=0.05)
    assert d.lead_win_probability == pytest.approx(d.win_probability)  # one lead per deal
    assert d.cycle_mean_days == pytest.approx(true_mean, rel=0.05)
    assert d.cycle_median_days == pytest.approx(25, rel=0.08)
    # the naive numbers the censoring-aware ones replace are far off
    assert d.n_won / d.n < 0.8 * 0.3  # open deals counted as not won
    assert d.win_rate_closed > 1.15 * 0.3  # quick wins close before slow losses
    assert np.mean(d.won_cycles) < 0.96 * true_mean  # only the quick wins are seen
    # the parametric fit counts each open deal with its chance of still being won
    fit = fit_duration("cycle", d.won_cycles, d.censored_days, d.censored_win_chance, d.table)
    assert fit.chosen == "lognormal"
    assert fit.spec["mean"] == pytest.approx(true_mean, rel=0.08)
    # a young open deal may well still be won, one older than every won cycle not
    young = d.censored_win_chance[d.censored_days < 5]
    old = d.censored_win_chance[d.censored_days > 100]
    assert young.min() > 0.2 and old.max() < 0.05 and d.censored_win_chance.max() <= 1


def _won_only_export(rng, n=6000, days=240, p_win=0.2, record_from=0.0):
    """Olist-like: leads arrive uniformly over *days*, a share *p_win* is won after a
    log-normal cycle (median 15 days, sigma :data:`SIGMA`) and only those wins are
    recorded (from day *record_from* on).  Snapshot at the last day: many recent leads
    are young."""
    arrived = START + DAY * rng.uniform(0, days, n)
    will_win = rng.random(n) < p_win
    won_at = arrived + DAY * rng.lognormal(np.log(15), SIGMA, n)
    snapshot = START + DAY * days
    won = will_win & (won_at < snapshot + DAY) & (won_at >= START + DAY * record_from)
    ids = np.array([f"L{i}" for i in range(n)])
    leads = pd.DataFrame({"lead_id": ids, "arrived": arrived})
    opps = pd.DataFrame(
        {"opportunity_id": ids[won], "lead_id": ids[won], "outcome": "won", "closed": won_at[won]}
    )
    tables = {"leads": leads, "opportunities": opps}
    return tables, {"snapshot": str(snapshot.date())}, won, won_at - arrived


def _naive_rule(won_cycles: np.ndarray, ages: np.ndarray, won: np.ndarray) -> float:
    """The rule the cure model replaced: a lead older than the 90th percentile of the won
    cycles without a win is not won, a younger one censored (Kaplan-Meier)."""
    horizon = np.quantile(won_cycles, 0.9)
    time = np.where(won, np.nan, ages)
    event = np.where(won, 1, np.where(ages >= horizon, 2, 0))
    time[won] = won_cycles
    return float(aalen_johansen(time, event)["cif_won"].iloc[-1])


def test_won_only_export_cut_early_recovers_the_win_probability():
    """Won deals only, cut after 90 days when many leads are younger than the typical
    cycle: the cure model recovers P(won) within 10% and the mean cycle; the share of
    leads won and the old rule (old unwon leads not won, young ones censored) miss."""
    rng = np.random.Generator(np.random.PCG64(5))
    tables, report, won, cycle = _won_only_export(rng, days=90)
    d = deal_outcomes(tables, report)
    assert d.unit == "lead" and d.win_probability == 1.0 and d.cure is not None
    assert not np.isfinite(d.cure.record_start_day)  # wins recorded from the start
    assert d.lead_win_probability == pytest.approx(0.2, rel=0.10)
    assert won.mean() < 0.8 * 0.2  # the share of leads won misses the young leads' wins
    ages = ((START + DAY * 91 - tables["leads"]["arrived"]) / DAY).to_numpy()
    naive = _naive_rule(np.asarray(cycle[won] / DAY, dtype=float), ages, won)
    assert abs(naive / 0.2 - 1) > 0.10  # the old rule misses
    # the mean cycle up to the longest follow-up (91 days; the tail is not extrapolated)
    truth = stats.lognorm(SIGMA, 0, 15)
    grid = np.linspace(0, 91, 2001)
    true_mean = np.trapezoid(1 - truth.cdf(grid) / truth.cdf(91), grid)
    assert d.cycle_mean_days == pytest.approx(true_mean, rel=0.08)
    assert d.cure.dist == "lognormal"
    # a young lead may well still be won, an old one hardly
    young = d.censored_win_chance[d.censored_days < 3]
    old = d.censored_win_chance[d.censored_days > 80]
    assert young.min() > 0.15 and 0 < old.max() < 0.03


def test_wins_recorded_from_a_later_date_truncate_the_older_leads():
    """No win before day 120 although leads arrived from day 0: the older leads enter at
    their age on day 120 instead of counting as not won for the months before."""
    rng = np.random.Generator(np.random.PCG64(8))
    tables, report, won, _ = _won_only_export(rng, days=240, record_from=120)
    d = deal_outcomes(tables, report)
    assert d.cure.record_start_day == pytest.approx(120, abs=2)
    assert d.cure.truncated > 2000 and any("left truncation" in n for n in d.notes)
    assert d.lead_win_probability == pytest.approx(0.2, rel=0.10)
    assert won.mean() < 0.7 * 0.2


def test_without_lost_or_open_deals_and_old_leads_it_is_the_share_won():
    leads = pd.DataFrame(
        {"lead_id": [f"L{i}" for i in range(10)], "arrived": [START + DAY * i for i in range(10)]}
    )
    opps = pd.DataFrame(
        {
            "opportunity_id": ["a", "b", "c"],
            "lead_id": ["L0", "L1", "L2"],
            "outcome": "won",
            "closed": [START + DAY * 3, START + DAY * 5, START + DAY * 4],
        }
    )
    d = deal_outcomes({"leads": leads, "opportunities": opps}, {"snapshot": "2024-06-01"})
    assert d.lead_win_probability == pytest.approx(0.3)
    assert d.cycle_mean_days == pytest.approx(3.0)  # cycles 3, 4, 2 days
    assert d.cure is None and "too few wins" in d.notes[0]
