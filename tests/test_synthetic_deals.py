"""The deal-only synthetic export (Maven CRM layout): layout, defects and known truth."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from sim.cli.main import main
from sim.errors import ConfigError
from sim.history.synthetic_deal_files import PRODUCTS, make_deal_export
from sim.history.synthetic_deals import DEAL_PRESETS, deal_preset, draw_world

PIPELINE = [
    "opportunity_id",
    "sales_agent",
    "product",
    "account",
    "deal_stage",
    "engage_date",
    "close_date",
    "close_value",
]


def _read(folder, name="sales_pipeline.csv") -> pd.DataFrame:
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def ramp(tmp_path_factory):
    """A small ramp-up export (with stage history) and its training snapshot 60 days
    earlier, from one seed."""
    root = tmp_path_factory.mktemp("deals")
    truth = deal_preset("ramp", plateau_per_day=8.0, prospecting=40, stage_history=True)
    full = make_deal_export(root / "full", seed=3, truth=truth)
    early = deal_preset(
        "ramp", plateau_per_day=8.0, prospecting=40, stage_history=True, snapshot_day=377
    )
    train = make_deal_export(root / "train", seed=3, truth=early)
    return root, full, train


def test_maven_layout_stages_and_dates(ramp):
    root, manifest, _ = ramp
    pipe = _read(root / "full")
    assert list(pipe.columns) == PIPELINE
    assert list(_read(root / "full", "sales_teams.csv").columns) == [
        "sales_agent",
        "manager",
        "regional_office",
    ]
    products = _read(root / "full", "products.csv")
    assert list(products.columns) == ["product", "series", "sales_price"]
    assert set(pipe["deal_stage"]) == {"Prospecting", "Engaging", "Won", "Lost"}
    assert pipe["opportunity_id"].is_unique and pipe["opportunity_id"].str.len().eq(8).all()
    prospecting = pipe["deal_stage"].eq("Prospecting")
    open_ = pipe["deal_stage"].eq("Engaging")
    assert prospecting.sum() == manifest["deals"]["prospecting"] == 40
    assert (pipe.loc[prospecting, ["engage_date", "close_date", "close_value"]] == "").all().all()
    engaged = pipe[~prospecting]
    assert engaged["engage_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()  # date only
    assert (pipe.loc[open_, ["close_date", "close_value"]] == "").all().all()
    closed = pipe[pipe["deal_stage"].isin(["Won", "Lost"])]
    assert (closed["close_date"] >= closed["engage_date"]).all()
    assert closed["close_date"].max() <= manifest["derived"]["snapshot"] == "2017-12-30"
    assert (pipe.loc[pipe["deal_stage"].eq("Lost"), "close_value"] == "0").all()
    # blank accounts only on open (and prospecting) deals
    assert (pipe.loc[open_, "account"] == "").any()
    assert (closed["account"] != "").all()
    counts = manifest["deals"]
    assert counts["won"] + counts["lost"] + counts["open"] == counts["engaged"] == len(engaged)


def test_product_spelled_two_ways(ramp):
    root, manifest, _ = ramp
    pipe, products = _read(root / "full"), _read(root / "full", "products.csv")
    assert manifest["product_alias"] == {"GTXPro": "GTX Pro"}
    assert "GTXPro" in set(pipe["product"]) and "GTX Pro" not in set(pipe["product"])
    assert "GTX Pro" in set(products["product"]) and "GTXPro" not in set(products["product"])
    assert set(pipe["product"]) - set(products["product"]) == {"GTXPro"}


def test_missing_reps_and_the_top_seller(ramp):
    root, manifest, _ = ramp
    pipe, teams = _read(root / "full"), _read(root / "full", "sales_teams.csv")
    missing = set(pipe["sales_agent"]) - set(teams["sales_agent"])
    assert missing == set(manifest["missing_reps"]) and len(missing) == 2
    assert pipe["sales_agent"].value_counts().index[0] == manifest["top_seller"]
    assert teams["manager"].nunique() == 6 and set(teams["regional_office"]) == {
        "Central",
        "East",
        "West",
    }


def test_amounts_are_exact_decimals(ramp):
    root, manifest, _ = ramp
    pipe = _read(root / "full")
    won = pipe.loc[pipe["deal_stage"].eq("Won"), "close_value"]
    assert won.str.fullmatch(r"\d+\.\d{2}").all()
    total = sum((Decimal(v) for v in won), Decimal(0))
    assert str(total) == manifest["deals"]["won_amount_total"]["USD"]
    assert manifest["reporting_currency"] == "USD"
    assert "currency" not in pipe.columns and not (root / "full" / "currency_rates.csv").exists()


def test_ramp_up_then_plateau_and_quiet_weekends(ramp):
    _, manifest, _ = ramp
    per_day = np.asarray(manifest["deals"]["engaged_per_day"], dtype=float)
    truth = deal_preset("ramp", plateau_per_day=8.0)
    assert len(per_day) == truth.days
    assert per_day[:28].mean() < 0.45 * per_day[120:].mean()  # ramp starts at 15%
    first_half, second_half = per_day[120:280].mean(), per_day[280:].mean()
    assert first_half == pytest.approx(second_half, rel=0.1)  # plateau
    days = pd.date_range(truth.start, periods=truth.days)
    weekend = per_day[days.day_of_week >= 5].mean() / per_day[days.day_of_week < 5].mean()
    assert weekend < 0.1
    assert per_day.sum() == pytest.approx(truth.expected_leads(0, truth.days), rel=0.05)


def test_snapshot_censors_the_same_world(ramp):
    """The training snapshot sees the same deals, engaged before it; a deal closed by
    then has the same close; one closed later is open in it."""
    root, full_manifest, train_manifest = ramp
    full, train = _read(root / "full"), _read(root / "train")
    assert train_manifest["derived"]["snapshot"] == "2017-10-31"
    engaged = train[train["deal_stage"] != "Prospecting"]
    assert engaged["engage_date"].max() <= "2017-10-31"
    both = engaged.merge(full, on="opportunity_id", suffixes=("", "_full"))
    assert len(both) == len(engaged)
    assert (both["engage_date"] == both["engage_date_full"]).all()
    closed = both[both["deal_stage"] != "Engaging"]
    assert (
        closed[["deal_stage", "close_date", "close_value"]].to_numpy()
        == closed[["deal_stage_full", "close_date_full", "close_value_full"]].to_numpy()
    ).all()
    reopened = both[both["deal_stage"] == "Engaging"]
    later = reopened["close_date_full"]
    assert ((later == "") | (later > "2017-10-31")).all() and len(reopened)
    assert train_manifest["deals"]["engaged_per_day"] == full_manifest["deals"]["engaged_per_day"]


def test_stage_history_follows_the_pipeline(ramp):
    root, manifest, _ = ramp
    history = _read(root / "full", "stage_history.csv")
    assert list(history.columns) == ["opportunity_id", "stage", "entered_at"]
    pipe = _read(root / "full").set_index("opportunity_id")
    first = history.groupby("opportunity_id").first()
    assert (first["stage"] == "Engaging").all()
    assert (first["entered_at"] == pipe.loc[first.index, "engage_date"]).all()
    ends = history[history["stage"].isin(["Won", "Lost"])].set_index("opportunity_id")
    assert (ends["entered_at"] == pipe.loc[ends.index, "close_date"]).all()
    assert (ends["stage"] == pipe.loc[ends.index, "deal_stage"]).all()
    assert history["entered_at"].max() <= manifest["derived"]["snapshot"]
    # deals won passed every stage: Engaging .. Negotiation, then Won
    won = history[history["opportunity_id"].isin(ends.index[ends["stage"] == "Won"])]
    assert (won.groupby("opportunity_id").size() == 6).all()


def test_truth_is_what_the_world_shows():
    """Deals engaged early enough to be closed: the share won and the mean won cycle (close
    date - engage date) match the stated truth; the naive closed win rate of the censored
    preset does not (that is what a censoring-aware fit must correct)."""
    truth = deal_preset("flat", plateau_per_day=60.0)
    world = draw_world(truth, seed=1)
    early = world[world["engage_day"] < truth.days - 150]  # every cycle has ended
    assert early["won"].mean() == pytest.approx(truth.win_probability, rel=0.02)
    won = early[early["won"]]
    recorded = won["close_day"] - won["engage_day"]
    assert recorded.mean() == pytest.approx(truth.won_cycle_mean_days, rel=0.02)
    assert truth.win_probability == pytest.approx(0.85 * 0.90 * 0.85 * 0.95 * 0.97)
    assert truth.won_cycle_mean_days == 40.0
    censored = DEAL_PRESETS["censored"]
    summary = json.loads(json.dumps(censored.summary()))
    assert summary["win_probability"] == pytest.approx(censored.win_probability, abs=1e-6)
    world = draw_world(censored, seed=2)
    seen = world[world["engage_day"] < censored.snapshot]
    closed = seen[seen["close_day"] < censored.snapshot]
    assert len(closed) < 0.72 * len(seen)  # over a quarter still open
    assert closed["won"].mean() < 0.92 * censored.win_probability


def test_expected_won_share_matches_the_world():
    truth = deal_preset("flat", plateau_per_day=60.0)
    world = draw_world(truth, seed=4)
    start, end = truth.days - 60, truth.days
    held = world[(world["engage_day"] >= start) & (world["engage_day"] < end)]
    real = (held["won"] & (held["close_day"] < end)).mean()
    assert real == pytest.approx(truth.expected_won_share(start, end), rel=0.1)
    assert len(held) == pytest.approx(truth.expected_leads(start, end), rel=0.05)


def test_mixed_currencies_write_a_rate_table(tmp_path):
    truth = deal_preset(
        "flat",
        plateau_per_day=5.0,
        currencies={"USD": 0.7, "EUR": 0.3},
        currency_rates={"USD": "1", "EUR": "1.0842"},
    )
    manifest = make_deal_export(tmp_path, seed=5, truth=truth)
    pipe = _read(tmp_path)
    assert list(pipe.columns) == [*PIPELINE, "currency"]
    assert set(pipe["currency"]) == {"USD", "EUR"}
    rates = _read(tmp_path, "currency_rates.csv")
    assert rates.to_dict("list") == {"currency": ["USD", "EUR"], "rate": ["1", "1.0842"]}
    for code in ("USD", "EUR"):
        values = pipe.loc[pipe["deal_stage"].eq("Won") & pipe["currency"].eq(code), "close_value"]
        total = sum((Decimal(v) for v in values), Decimal(0))
        assert str(total) == manifest["deals"]["won_amount_total"][code]


def test_same_seed_same_bytes_and_bad_truths(tmp_path):
    truth = deal_preset("censored", plateau_per_day=4.0, prospecting=5)
    make_deal_export(tmp_path / "a", seed=9, truth=truth)
    make_deal_export(tmp_path / "b", seed=9, truth=truth)
    for name in ("sales_pipeline.csv", "sales_teams.csv", "accounts.csv", "manifest.json"):
        a, b = ((tmp_path / d / name).read_bytes() for d in "ab")
        assert hashlib.sha256(a).digest() == hashlib.sha256(b).digest()
    make_deal_export(tmp_path / "c", seed=10, truth=truth)
    assert (tmp_path / "c/sales_pipeline.csv").read_bytes() != (
        tmp_path / "a/sales_pipeline.csv"
    ).read_bytes()
    with pytest.raises(ConfigError, match="unknown 'nope'"):
        deal_preset("nope")
    with pytest.raises(ConfigError, match="snapshot_day"):
        deal_preset("flat", snapshot_day=400)
    with pytest.raises(ConfigError, match="rate"):
        deal_preset("flat", currencies={"USD": 0.5, "EUR": 0.5})
    assert [p[0] for p in PRODUCTS].count("GTX Pro") == 1


def test_cli_writes_a_deal_only_sample(tmp_path, capsys):
    assert main(["import", "--make-sample", str(tmp_path / "s"), "--deal-only", "flat"]) == 0
    out = capsys.readouterr().out
    assert "sales_pipeline.csv:" in out and "sales_teams.csv: 33 rows" in out
    manifest = json.loads((tmp_path / "s/manifest.json").read_text(encoding="utf-8"))
    assert manifest["truth"]["name"] == "flat" and manifest["seed"] == 7
    assert main(["import", "--deal-only", "flat"]) == 2
    assert "--make-sample" in capsys.readouterr().err
    assert dt.date.fromisoformat(manifest["derived"]["snapshot"]) == dt.date(2023, 12, 31)
