"""Replay: a scenario whose arrivals are imported leads, with their times and attributes."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from conftest import POLICIES, SCENARIOS, tiny_scenario_dict
from sim.engine.simulation import run
from sim.errors import ConfigError
from sim.history.importer import import_export, write_import
from sim.history.mapping import load_mapping_spec
from sim.history.synthetic_export import make_sample
from sim.world.loading import load_policy, load_scenario
from sim.world.scenario import Scenario


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """The synthetic export, imported."""
    root = tmp_path_factory.mktemp("replay")
    make_sample(root / "export")
    result = import_export(root / "export", load_mapping_spec(SCENARIOS / "mappings/sample.yaml"))
    write_import(result, root / "data")
    return root / "data"


def _scenario(data_dir, **changes) -> Scenario:
    data = tiny_scenario_dict(
        start="2025-01-13T00:00:00",
        horizon_days=7,
        arrivals={"replay": str(data_dir / "leads.parquet")},
        leads={"channels": {"web_form": 1, "douyin": 1, "referral": 1}},
    )
    data.update(changes)
    return Scenario.model_validate(data)


def test_replayed_leads_are_the_imported_ones(data_dir):
    imported = pd.read_parquet(data_dir / "leads.parquet")
    window = imported[
        (imported["arrived"] >= "2025-01-13") & (imported["arrived"] < "2025-01-20")
    ].sort_values("arrived", kind="stable")
    leads = run(_scenario(data_dir), None, 0).leads
    assert len(leads) == len(window) > 50
    assert (leads["arrived"].dt.round("s").to_numpy() == window["arrived"].to_numpy()).all()
    for column in ("channel", "region", "industry", "budget_band"):
        assert leads[column].tolist() == window[column].tolist(), column
    assert leads["timeline_days"].tolist() == window["timeline_days"].tolist()


def test_same_leads_under_every_policy_and_same_bytes_per_seed(data_dir):
    scenario = _scenario(data_dir)
    a = run(scenario, load_policy(POLICIES / "no_sla.yaml"), 3)
    b = run(scenario, load_policy(POLICIES / "least_loaded.yaml"), 3)
    pd.testing.assert_frame_equal(a.arrivals, b.arrivals)
    again = run(scenario, load_policy(POLICIES / "no_sla.yaml"), 3)
    pd.testing.assert_frame_equal(a.events, again.events)


def test_drawn_attributes_fill_what_the_export_lacks(data_dir):
    scenario = _scenario(data_dir)
    a, b = run(scenario, None, 1).leads, run(scenario, None, 2).leads
    assert a["region"].tolist() == b["region"].tolist()  # imported
    assert a["need"].tolist() != b["need"].tolist()  # not in the export: drawn per seed


def test_missing_timeline_stays_missing_for_intake(tmp_path):
    frame = pd.DataFrame(
        {
            "lead_id": pd.array(["01", "02"], dtype="string"),
            "arrived": pd.to_datetime(["2025-01-13 10:00", "2025-01-13 11:00"]),
            "channel": pd.array(["douyin", "web_form"], dtype="string"),
            "timeline_days": [None, 20.0],
        }
    )
    frame.to_parquet(tmp_path / "leads.parquet", index=False)
    scenario = _scenario(tmp_path, leads={"channels": {"douyin": 1, "web_form": 1}})
    leads = run(scenario, None, 0).leads
    assert leads["timeline_days"].isna().tolist() == [True, False]
    assert leads["channel"].tolist() == ["douyin", "web_form"]


def test_replay_path_is_relative_to_the_scenario_file(data_dir, tmp_path):
    folder = tmp_path / "scen"
    folder.mkdir()
    data = tiny_scenario_dict(start="2025-01-13T00:00:00", horizon_days=1)
    data["arrivals"] = {"replay": str((data_dir / "leads.parquet").relative_to(tmp_path.parent))}
    # express the path from the scenario's folder
    import os

    data["arrivals"]["replay"] = os.path.relpath(data_dir / "leads.parquet", folder)
    (folder / "s.yaml").write_text(yaml.safe_dump(data))
    scenario = load_scenario(folder / "s.yaml")
    assert scenario.arrivals.replay.resolve() == (data_dir / "leads.parquet").resolve()


def test_missing_replay_file_is_one_line_naming_the_field(tmp_path):
    data = tiny_scenario_dict(arrivals={"replay": "nowhere/leads.parquet"})
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as info:
        load_scenario(tmp_path / "s.yaml")
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 's.yaml'}: arrivals.replay")
    assert "no such file" in message and "\n" not in message


def test_the_engine_reaches_replay_through_its_arrival_source_registry(data_dir, monkeypatch):
    from sim.engine.arrivals import ARRIVAL_SOURCES
    from sim.history.replay import ReplaySource

    assert ARRIVAL_SOURCES["replay"] is ReplaySource  # registered by the sim package
    monkeypatch.delitem(ARRIVAL_SOURCES, "replay")
    with pytest.raises(ConfigError, match="no source registered for process 'replay'"):
        run(_scenario(data_dir), None, 0)
