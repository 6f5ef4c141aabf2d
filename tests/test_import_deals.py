"""Deal-only exports: derived leads, reps missing from the reps table, snapshot, stages."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from maven_fixture import MISSING_AGENT, write_pipeline_export

from conftest import SCENARIOS
from sim.cli.main import main
from sim.errors import ConfigError
from sim.history.importer import import_export, summary_lines, write_import
from sim.history.mapping import MappingSpec, load_mapping_spec
from sim.io.safe_yaml import load_mapping

CRM_MAPPING = SCENARIOS / "mappings" / "crm_pipeline.yaml"


def _spec(**changes) -> MappingSpec:
    """The shipped crm_pipeline mapping with dotted (``a__b``) changes; None deletes."""
    data = load_mapping(CRM_MAPPING)
    for dotted, value in changes.items():
        node = data
        *path, last = dotted.split("__")
        for key in path:
            node = node[key]
        if value is None:
            node.pop(last)
        else:
            node[last] = value
    return MappingSpec.model_validate(data)


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    folder = tmp_path_factory.mktemp("maven")
    return folder, write_pipeline_export(folder)


@pytest.fixture(scope="module")
def imported(export):
    folder, truth = export
    return import_export(folder, load_mapping_spec(CRM_MAPPING)), truth


def test_deal_only_export_derives_one_lead_per_accepted_deal(imported):
    result, truth = imported
    deals, leads = result.tables["opportunities"], result.tables["leads"]
    assert result.derived_leads
    assert len(deals) == len(leads) == truth["accepted"]
    assert list(leads["lead_id"]) == list(deals["opportunity_id"])
    assert list(deals["lead_id"]) == list(deals["opportunity_id"])
    assert (leads["arrived"] == deals["created"]).all()
    assert leads["arrived_date_only"].all()
    assert set(leads["channel"]) == {"unknown"}
    assert leads["arrived"].dt.hour.between(9, 17).all()  # placed by the date-only rule
    # the derived leads are not read rows: the counts hold the files only
    assert result.totals()["read"] == truth["rows"] + 3
    assert "leads" not in set(result.counts["table"])


def test_deal_only_quarantine_reasons_match_an_independent_count(imported):
    result, truth = imported
    assert dict(result.reasons) == {
        ("opportunities", "engage_date", "missing"): truth["prospecting"],
        ("opportunities", "sales_agent", "unknown_rep"): truth["ghost_engaged"],
    }
    assert truth["ghost_engaged"] > 0
    q = result.quarantine
    assert set(q.loc[q["reason"] == "unknown_rep", "value"]) == {MISSING_AGENT}


def test_the_console_names_the_missing_reps_and_their_rows(imported):
    """Quarantined deals of a rep missing from the reps table are never silent: the
    console line names the rep and how many of its rows were set aside."""
    result, truth = imported
    assert dict(result.missing_reps) == {MISSING_AGENT: truth["ghost_engaged"]}
    line = next(x for x in summary_lines(result) if "unknown_rep" in x)
    assert f"not in the reps table: {MISSING_AGENT} ({truth['ghost_engaged']} rows)" in line


def test_deal_stages_products_amounts_and_snapshot(imported, export):
    result, truth = imported
    deals = result.tables["opportunities"]
    assert (deals["outcome"] == "open").sum() == truth["open"]
    assert (deals["outcome"] == "won").sum() == truth["won"]
    assert "GTXPro" not in set(deals["product"])
    assert "GTX Pro" in set(deals["product"])
    assert result.unmapped.empty
    won = deals[deals["outcome"] == "won"]
    # close_value "1035" is 103500 cents, exactly
    raw = pd.read_csv(export[0] / "sales_pipeline.csv", dtype=str)
    values = raw.set_index("opportunity_id")["close_value"]
    expected = [int(values[i]) * 100 for i in won["opportunity_id"]]
    assert won["amount_minor"].astype(int).tolist() == expected
    assert set(deals["currency"]) == {"USD"}
    assert result.snapshot.isoformat() == truth["latest"]
    reps = result.tables["reps"]
    assert {"manager", "team", "region"} <= set(reps.columns)


def test_unknown_rep_create_keeps_the_deals_and_notes_the_rep(export):
    folder, truth = export
    result = import_export(folder, _spec(checks__unknown_rep="create"))
    reps = result.tables["reps"]
    created = reps[reps["created_from"].notna()]
    assert created["rep_id"].tolist() == [MISSING_AGENT]
    assert created["created_from"].tolist() == ["opportunities"]
    assert reps["created_from"].isna().sum() == 3
    assert len(result.tables["opportunities"]) == truth["accepted"] + truth["ghost_engaged"]
    assert result.created_reps == [MISSING_AGENT]
    lines = summary_lines(result)
    assert any(MISSING_AGENT in line and line.startswith("note: reps.rep_id") for line in lines)
    result.check()  # created rows are not read rows: counts still reconcile


def test_without_a_reps_table_every_rep_is_created_with_a_note(export):
    folder, _ = export
    data = load_mapping(CRM_MAPPING)
    del data["tables"]["reps"]
    result = import_export(folder, MappingSpec.model_validate(data))
    reps = result.tables["reps"]
    assert set(reps["rep_id"]) == {"Anna Snelling", "Cecily Lampkin", "Darcel Schlecht"} | {
        MISSING_AGENT
    }
    assert (reps["created_from"] == "opportunities").all()
    notes = result.notes.set_index(["table", "note"])["count"]
    assert notes[("reps", "created from the deals (not in the reps table)")] == 4


def test_snapshot_from_the_mapping_is_recorded(export, tmp_path):
    folder, _ = export
    result = import_export(folder, _spec(snapshot="2017-05-31"))
    write_import(result, tmp_path / "data")
    report = json.loads((tmp_path / "data" / "import_report.json").read_text())
    assert report["snapshot"] == "2017-05-31"
    assert report["derived_leads"] is True
    assert "snapshot: 2017-05-31 (mapping)" in summary_lines(result)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tables__opportunities__columns__created": None}, "'created' must be mapped"),
        ({"tables__opportunities__columns__lead_id": "opportunity_id"}, "there is no leads"),
    ],
)
def test_deal_only_mapping_mistakes_are_caught_statically(change, message):
    if "tables__opportunities__columns__created" in change:
        change = {**change, "tables__opportunities__required": ["opportunity_id"]}
    with pytest.raises(ValueError, match=message):
        _spec(**change)


def test_blank_outcome_without_close_date_is_open(tmp_path):
    rows = [
        ["O1", "Anna Snelling", "GTX Pro", "A", "", "2017-03-01", "", ""],
        ["O2", "Anna Snelling", "GTX Pro", "A", "", "2017-03-01", "2017-03-09", ""],
        ["O3", "Anna Snelling", "GTX Pro", "A", "Won", "2017-03-01", "2017-03-09", "5"],
    ]
    write_pipeline_export(tmp_path, rows)
    spec = _spec(tables__opportunities__required=["opportunity_id", "created"])
    result = import_export(tmp_path, spec)
    deals = result.tables["opportunities"].set_index("opportunity_id")
    assert deals.loc["O1", "outcome"] == "open"
    assert pd.isna(deals.loc["O2", "outcome"])  # closed but no outcome: not guessed
    notes = result.notes.set_index(["table", "note"])["count"]
    assert notes[("opportunities", "blank outcome, no close date -> open")] == 1


def test_stage_history_table_references_accepted_deals(export, tmp_path):
    folder, _ = export
    deals = pd.read_csv(folder / "sales_pipeline.csv", dtype=str, keep_default_na=False)
    engaged = deals[deals["engage_date"] != ""]
    ok = engaged[engaged["sales_agent"] != MISSING_AGENT]["opportunity_id"].iloc[0]
    ghost = engaged[engaged["sales_agent"] == MISSING_AGENT]["opportunity_id"].iloc[0]
    history = pd.DataFrame(
        {
            "opportunity_id": [ok, ok, ghost, "NOPE"],
            "stage": ["Prospecting", "Engaging", "Engaging", "Won"],
            "entered_at": ["2017-02-20", "2017-03-01", "2017-03-02", "2017-03-03"],
        }
    )
    history.to_csv(folder / "stage_history.csv", index=False)
    try:
        spec = _spec(
            tables__stage_history={
                "files": "stage_history.csv",
                "columns": {
                    "opportunity_id": "opportunity_id",
                    "stage": "stage",
                    "entered": {"column": "entered_at", "formats": ["%Y-%m-%d"]},
                },
            }
        )
        result = import_export(folder, spec)
    finally:
        (folder / "stage_history.csv").unlink()
    stages = result.tables["stage_history"]
    assert stages["opportunity_id"].tolist() == [ok, ok]
    assert str(stages["entered"].dtype) == "datetime64[ns]"
    reasons = {k[2]: v for k, v in result.reasons.items() if k[0] == "stage_history"}
    assert reasons == {"opportunity_quarantined": 1, "unknown_opportunity": 1}


def test_cli_imports_a_deal_only_export(export, tmp_path, capsys):
    folder, truth = export
    out = tmp_path / "data"
    code = main(["import", str(folder), "--mapping", str(CRM_MAPPING), "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    derived = "note: leads.lead_id: derived from the deals: one lead per accepted deal"
    assert f"{derived}: {truth['accepted']}" in printed
    assert len(pd.read_parquet(out / "leads.parquet")) == truth["accepted"]


def test_validate_accepts_the_shipped_crm_mapping(capsys):
    assert main(["validate", str(CRM_MAPPING)]) == 0
    assert "ok" in capsys.readouterr().out


def test_deal_only_needs_opportunities():
    with pytest.raises(ValueError, match="tables must include leads, or opportunities"):
        MappingSpec.model_validate(
            {"tables": {"reps": {"files": "r.csv", "columns": {"rep_id": "x"}}}}
        )


def test_config_error_for_a_deal_only_mapping_file(tmp_path):
    data = load_mapping(CRM_MAPPING)
    del data["tables"]["opportunities"]["columns"]["created"]
    data["tables"]["opportunities"]["required"] = ["opportunity_id"]
    path = tmp_path / "m.yaml"
    import yaml

    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="created"):
        load_mapping_spec(path)


def test_the_readme_deal_only_example_is_a_valid_mapping(export):
    import re

    import yaml

    readme = (SCENARIOS.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("A full deal-only mapping") :]
    block = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    spec = MappingSpec.model_validate(yaml.safe_load(block))
    assert spec.deal_only
    folder, truth = export
    assert len(import_export(folder, spec).tables["leads"]) == truth["accepted"]


def test_the_generated_deal_only_export_fits_the_shipped_mapping(tmp_path):
    """The deal-only generator writes the same layout: the shipped mapping imports it and
    quarantines exactly the deals of the reps the generator left out of the teams file."""
    from sim.history.synthetic_deal_files import make_deal_export

    manifest = make_deal_export(tmp_path, seed=5, truth="censored")
    result = import_export(tmp_path, load_mapping_spec(CRM_MAPPING))
    q = result.quarantine
    assert set(q.loc[q["reason"] == "unknown_rep", "value"]) == set(manifest["missing_reps"])
    assert set(q["reason"]) <= {"unknown_rep", "missing"}
    assert (q.loc[q["reason"] == "missing", "column"] == "engage_date").all()
    assert int((q["reason"] == "missing").sum()) == manifest["deals"]["prospecting"]
    assert result.unmapped.empty  # every product spelling is mapped
    assert len(result.tables["leads"]) == len(result.tables["opportunities"])
