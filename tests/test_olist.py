"""The real Olist marketing-funnel data: import, quirks, calibration and replay.

Skipped, with the missing path as reason, when ``../shared/data/olist_marketing_funnel``
is not there (a user's clone has no shared data folder).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import SCENARIOS, SHARED_DATA, tiny_scenario_dict
from sim.engine.simulation import run
from sim.history.calibrate import fit
from sim.history.importer import import_export, write_import
from sim.history.mapping import load_mapping_spec
from sim.history.scenario_writer import scenario_yaml
from sim.world.loading import load_scenario
from sim.world.scenario import Scenario

OLIST = SHARED_DATA / "olist_marketing_funnel"
LEADS_CSV = "olist_marketing_qualified_leads_dataset.csv"
DEALS_CSV = "olist_closed_deals_dataset.csv"

pytestmark = pytest.mark.skipif(not OLIST.is_dir(), reason=f"Olist data not found at {OLIST}")


@pytest.fixture(scope="module")
def raw():
    """The two CSV files as text, read independently of the importer."""
    leads = pd.read_csv(OLIST / LEADS_CSV, dtype=str, keep_default_na=False)
    deals = pd.read_csv(OLIST / DEALS_CSV, dtype=str, keep_default_na=False)
    return leads, deals


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """Olist imported with the shipped mapping, and written to a data folder."""
    result = import_export(OLIST, load_mapping_spec(SCENARIOS / "mappings/olist.yaml"))
    out = tmp_path_factory.mktemp("olist")
    write_import(result, out)
    return result, out


def test_rows_reconcile(imported):
    result, _ = imported
    counts = result.counts.set_index("file")
    assert counts.loc[LEADS_CSV, ["read", "accepted", "quarantined"]].tolist() == [8000, 8000, 0]
    assert counts.loc[DEALS_CSV, "read"] == 842
    t = result.totals()
    assert t == {"read": 8842, "accepted": 8841, "quarantined": 1}


def test_blank_channels_become_unknown_and_are_counted(imported, raw):
    result, _ = imported
    blank = int((raw[0]["origin"] == "").sum())
    assert blank == 60
    notes = result.notes.set_index(["table", "field", "note"])["count"]
    assert notes[("leads", "channel", "blank -> 'unknown'")] == blank
    leads = result.tables["leads"]
    before = int((raw[0]["origin"] == "unknown").sum())
    assert int((leads["channel"] == "unknown").sum()) == before + blank
    assert result.unmapped.empty


def test_won_before_first_contact_is_quarantined_and_counted(imported, raw):
    result, _ = imported
    leads, deals = raw
    merged = deals.merge(leads, on="mql_id")
    won_day = pd.to_datetime(merged["won_date"]).dt.normalize()
    before = merged[won_day < pd.to_datetime(merged["first_contact_date"])]
    q = result.quarantine
    assert q["reason"].tolist() == ["closed_before_arrival"] * len(before)
    assert set(q["value"]) == set(before["won_date"])
    rows = [int(deals.index[deals["mql_id"] == i][0]) + 2 for i in before["mql_id"]]
    assert q["row"].tolist() == rows  # the CSV line (header = 1)
    same_day = int((won_day == pd.to_datetime(merged["first_contact_date"])).sum())
    notes = result.notes.set_index(["table", "field", "note"])["count"]
    assert notes[("opportunities", "closed", "kept: on the day of a date-only arrival")] == same_day


def test_date_only_arrivals_are_placed_by_the_rule(imported, raw):
    result, _ = imported
    leads = result.tables["leads"]
    assert leads["arrived_date_only"].all()
    notes = result.notes.set_index(["table", "field", "note"])["count"]
    assert notes[("leads", "arrived", "date only -> placed by rule spread")] == 8000
    hours = leads["arrived"].dt.hour
    assert hours.between(9, 17).all()
    same_day = leads["arrived"].dt.normalize().dt.strftime("%Y-%m-%d")
    assert (same_day.to_numpy() == raw[0]["first_contact_date"].to_numpy()).all()


def test_calibration_of_olist(imported, tmp_path):
    _, data = imported
    cal = fit(data)
    a = cal.arrivals
    assert a.leads == 8000 and a.days == 352
    assert np.isnan(a.hour_ks)  # no time of day in the data
    assert a.trend_per_month > 0  # Olist's lead flow grew over the year
    assert len(cal.mixes["channels"]) == 10
    # eventual P(won) of a lead once wins are recorded (the first win is 2017-12-05, six
    # months after the first lead: the 2017 leads enter then), above the share won
    assert 841 / 8000 < cal.win_rate < 0.15 and cal.deals.cure.truncated > 1500
    assert 45 < cal.cycle_target_days < 55
    assert len(cal.reps) == 22
    assert cal.cycle.chosen == "lognormal" and cal.cycle.ks < 0.1
    assert len(cal.cycle.sample) == 841
    path = tmp_path / "olist.yaml"
    path.write_text(scenario_yaml(cal, "olist"))
    scenario = load_scenario(path)
    assert scenario.calendars["standard"].holidays.country == "BR"
    assert "date-only" in path.read_text()


def test_replay_of_one_olist_month(imported):
    _, data = imported
    scenario = Scenario.model_validate(
        tiny_scenario_dict(
            start="2018-03-01T00:00:00",
            horizon_days=31,
            arrivals={"replay": str(data / "leads.parquet")},
        )
    )
    leads = run(scenario, None, 0).leads
    real = pd.read_parquet(data / "leads.parquet")
    march = real[real["arrived"].dt.strftime("%Y-%m") == "2018-03"]
    assert len(leads) == len(march) > 1000
    assert leads["channel"].value_counts().to_dict() == march["channel"].value_counts().to_dict()
