"""Importing a CRM export: mapping files, row-by-row validation, quarantine, reconciliation."""

from __future__ import annotations

import csv
import json

import pandas as pd
import pytest

from conftest import SCENARIOS
from sim.cli.main import main
from sim.errors import ConfigError
from sim.history.importer import QUARANTINE_COLUMNS, import_export, write_import
from sim.history.mapping import MappingSpec, load_mapping_spec
from sim.history.synthetic_export import make_sample
from sim.io.safe_yaml import load_mapping

SAMPLE_MAPPING = SCENARIOS / "mappings" / "sample.yaml"


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The synthetic export, its manifest and its import."""
    folder = tmp_path_factory.mktemp("export")
    manifest = make_sample(folder)
    result = import_export(folder, load_mapping_spec(SAMPLE_MAPPING))
    return folder, manifest, result


def _reasons(result) -> dict[tuple[str, str], int]:
    return result.quarantine.groupby(["table", "reason"]).size().to_dict()


def _mapping(**changes) -> MappingSpec:
    data = load_mapping(SAMPLE_MAPPING)
    for dotted, value in changes.items():
        node = data
        *path, last = dotted.split("__")
        for key in path:
            node = node[key]
        node[last] = value
    return MappingSpec.model_validate(data)


def test_every_planted_defect_has_its_counted_outcome(sample):
    folder, manifest, result = sample
    defects = manifest["truth"]["defects"]
    raw_leads = pd.read_csv(folder / "leads.csv", dtype=str, keep_default_na=False)
    raw_deals = pd.read_csv(folder / "deals.csv", dtype=str, keep_default_na=False)
    # leads that are quarantined for their own defects (not the appended duplicates)
    bad_created = ~raw_leads["Created"].str.match(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?$")
    bad_created |= raw_leads["Created"].str.startswith("2025-02-30")
    bad_ids = set(raw_leads.loc[(raw_leads["Source"] == "") | bad_created, "Lead ID"])
    deals_of_bad_leads = int(raw_deals["Lead ID"].isin(bad_ids).sum())
    assert _reasons(result) == {
        ("leads", "bad_date"): defects["bad_date"],
        ("leads", "duplicate"): defects["duplicate_id"],
        ("leads", "missing"): defects["blank_channel"],
        ("opportunities", "bad_number"): defects["bad_amount"],
        ("opportunities", "closed_before_arrival"): defects["won_before_contact"],
        ("opportunities", "lead_quarantined"): deals_of_bad_leads,
        ("opportunities", "unknown_lead"): defects["unknown_lead"],
    }
    assert deals_of_bad_leads > 0
    unmapped = result.unmapped.set_index("value")["count"].to_dict()
    assert unmapped == {"TikTok Ads": defects["unknown_channel"]}
    assert result.channels_without_defaults == ["TikTok Ads"]
    notes = result.notes.set_index(["table", "field", "note"])["count"]
    assert notes[("leads", "arrived", "date only -> placed by rule spread")] == defects["date_only"]


def test_counts_reconcile_per_file_and_in_total(sample):
    _, manifest, result = sample
    counts = result.counts.set_index("file")
    for name, rows in manifest["rows"].items():
        assert counts.loc[name, "read"] == rows
        assert counts.loc[name, "accepted"] + counts.loc[name, "quarantined"] == rows
        table = counts.loc[name, "table"]
        assert len(result.tables[table]) == counts.loc[name, "accepted"]
    totals = result.totals()
    assert totals["read"] == sum(manifest["rows"].values())
    assert totals["read"] == totals["accepted"] + totals["quarantined"]
    assert totals["quarantined"] == len(result.quarantine)


def test_quarantine_rows_point_at_the_file_line(sample):
    folder, _, result = sample
    assert tuple(result.quarantine.columns) == QUARANTINE_COLUMNS
    with (folder / "leads.csv").open(newline="", encoding="utf-8") as handle:
        lines = list(csv.reader(handle))
    header = lines[0]
    for row in result.quarantine[result.quarantine["table"] == "leads"].itertuples():
        record = lines[row.row - 1]  # row 1 is the header
        assert record[header.index(row.column)] == row.value


def test_ids_keep_leading_zeros_and_types_are_canonical(sample):
    _, _, result = sample
    leads = result.tables["leads"]
    assert leads["lead_id"].iloc[0] == "000001"
    assert str(leads["lead_id"].dtype) == "string"
    assert str(leads["arrived"].dtype) == "datetime64[ns]"
    assert set(result.tables["reps"]["rep_id"]) == {f"{i:03d}" for i in range(1, 9)}
    assert set(leads["channel"]) == {
        "web_form",
        "douyin",
        "trade_show",
        "referral",
        "webinar",
        "TikTok Ads",
    }
    opps = result.tables["opportunities"]
    assert set(opps["outcome"]) == {"won", "lost"}
    assert opps["amount"].dtype == float


def test_date_only_values_are_spread_over_the_window(sample):
    _, _, result = sample
    leads = result.tables["leads"]
    placed = leads[leads["arrived_date_only"]]
    for _, group in placed.groupby(placed["arrived"].dt.normalize()):
        n = len(group)
        hours = (group["arrived"] - group["arrived"].dt.normalize()) / pd.Timedelta(hours=1)
        expected = [9 + 9 * (k + 0.5) / n for k in range(n)]
        assert hours.round(3).tolist() == pytest.approx(expected, abs=1e-3)


def test_fixed_date_only_rule(sample):
    folder, _, _ = sample
    result = import_export(folder, _mapping(date_only={"rule": "fixed", "time": "12:00"}))
    placed = result.tables["leads"].query("arrived_date_only")["arrived"]
    assert len(placed) == 40
    assert set(placed.dt.strftime("%H:%M:%S")) == {"12:00:00"}


def test_channel_defaults_fill_only_missing_values(sample):
    folder, _, result = sample
    raw = pd.read_csv(folder / "leads.csv", dtype=str, keep_default_na=False)
    leads = result.tables["leads"].set_index("lead_id")
    blank = raw[(raw["Timeline (days)"] == "") & (raw["Source"] == "Douyin")]["Lead ID"]
    kept = [i for i in blank if i in leads.index]
    assert kept and (leads.loc[kept, "timeline_days"] == 30).all()
    notes = result.notes.set_index(["field", "note"])["count"]
    assert notes[("timeline_days", "channel default for douyin")] == len(set(kept))


def test_unmapped_values_can_be_quarantined(sample):
    folder, manifest, _ = sample
    result = import_export(folder, _mapping(tables__leads__columns__channel__unmapped="quarantine"))
    reasons = _reasons(result)
    assert reasons[("leads", "unmapped_value")] == manifest["truth"]["defects"]["unknown_channel"]
    assert result.unmapped.empty


def test_parquet_input_reads_like_csv(sample, tmp_path):
    folder, _, csv_result = sample
    raw = pd.read_csv(folder / "leads.csv", dtype=str, keep_default_na=False)
    raw.to_parquet(tmp_path / "leads.parquet", index=False)
    data = load_mapping(SAMPLE_MAPPING)
    data["tables"] = {"leads": {**data["tables"]["leads"], "files": "leads.parquet"}}
    result = import_export(tmp_path, MappingSpec.model_validate(data))
    assert len(result.tables["leads"]) == len(csv_result.tables["leads"])
    csv_rows = csv_result.quarantine.query("table == 'leads'")["row"]
    assert result.quarantine["row"].tolist() == (csv_rows - 1).tolist()


def test_import_is_byte_identical(sample, tmp_path):
    folder, _, result = sample
    again = import_export(folder, load_mapping_spec(SAMPLE_MAPPING))
    a = write_import(result, tmp_path / "a")
    b = write_import(again, tmp_path / "b")
    for key in a:
        assert a[key].read_bytes() == b[key].read_bytes(), key
    make_sample(tmp_path / "s1", seed=3)
    make_sample(tmp_path / "s2", seed=3)
    for name in ("leads.csv", "deals.csv", "invoices.csv"):
        assert (tmp_path / "s1" / name).read_bytes() == (tmp_path / "s2" / name).read_bytes()


def test_cli_import_writes_tables_and_reconciles(sample, tmp_path, capsys):
    folder, _, result = sample
    out = tmp_path / "data"
    assert main(["import", str(folder), "--mapping", str(SAMPLE_MAPPING), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    t = result.totals()
    total = f"total: read {t['read']} = accepted {t['accepted']} + quarantined {t['quarantined']}"
    assert total in printed
    assert "warning: leads.channel: value 'TikTok Ads'" in printed
    assert {p.name for p in out.iterdir()} == {
        "leads.parquet",
        "reps.parquet",
        "opportunities.parquet",
        "payments.parquet",
        "quarantine.csv",
        "import_report.json",
        ".lock",  # one writer at a time
        ".complete.json",  # written last: the folder is complete
    }
    report = json.loads((out / "import_report.json").read_text())
    assert report["totals"] == t
    assert len(pd.read_csv(out / "quarantine.csv")) == t["quarantined"]


def test_cli_check_writes_nothing(sample, tmp_path, capsys):
    folder, _, _ = sample
    out = tmp_path / "never"
    argv = ["import", str(folder), "--mapping", str(SAMPLE_MAPPING), "--check", "--out", str(out)]
    assert main(argv) == 0
    assert "total: read" in capsys.readouterr().out
    assert not out.exists()


def test_cli_make_sample(tmp_path, capsys):
    assert main(["import", "--make-sample", str(tmp_path / "x")]) == 0
    assert (tmp_path / "x" / "leads.csv").is_file()
    assert "leads.csv:" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("tables: {leads: {files: a.csv, columns: {lead_id: id}}}", "field 'arrived' must be"),
        (
            "tables: {leads: {files: a.csv, columns: {lead_id: id, arrived: t, colour: c}}}",
            "unknown field 'colour'",
        ),
        ("tables: {leads: {files: ../a.csv, columns: {lead_id: id, arrived: t}}}", "relative"),
        (
            "tables: {leads: {files: a.csv, columns: {lead_id: id, arrived: t}}}\n"
            "channel_defaults: {douyin: {timeline: 30}}",
            "unknown attribute 'timeline'",
        ),
    ],
)
def test_bad_mapping_is_one_line_exit_2(tmp_path, capsys, yaml_text, expected):
    path = tmp_path / "map.yaml"
    path.write_text(yaml_text + "\n")
    assert main(["import", str(tmp_path), "--mapping", str(path), "--check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: ")
    assert expected in err
    assert err.count("\n") == 1


def test_missing_column_names_table_field_and_file(sample, tmp_path, capsys):
    folder, _, _ = sample
    data = load_mapping(SAMPLE_MAPPING)
    data["tables"]["leads"]["columns"]["channel"]["column"] = "Origin"
    path = tmp_path / "map.yaml"
    import yaml

    path.write_text(yaml.safe_dump(data))
    assert main(["import", str(folder), "--mapping", str(path), "--check"]) == 2
    err = capsys.readouterr().err
    assert "tables.leads.columns.channel: column 'Origin' is not in leads.csv" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["import"],
        ["import", "somewhere"],
        ["import", "somewhere", "--mapping", str(SAMPLE_MAPPING)],
        ["import", "no-such-dir", "--mapping", str(SAMPLE_MAPPING), "--check"],
    ],
)
def test_bad_cli_arguments_exit_2(argv, capsys):
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_glob_without_files_is_a_config_error(tmp_path):
    spec = _mapping(tables__leads__files="nothing*.csv")
    with pytest.raises(ConfigError, match=r"tables.leads.files: 'nothing\*.csv' matches no file"):
        import_export(tmp_path, spec)


def test_ragged_records_and_a_byte_order_mark(tmp_path):
    text = (
        "\ufeffLead ID,Created,Source\n"
        "0001,2025-01-06 10:00:00,Web Form\n"
        "0002,2025-01-06 11:00:00\n"  # a field short
        '0003,2025-01-06 12:00:00,"Web\nForm"\n'  # a quoted line break: one record, 2 lines
        "0004,2025-01-06 13:00:00,Web Form,extra\n"  # a field too many
        "\n"
        "0005,2025-01-06 14:00:00,Referral\n"
    )
    (tmp_path / "leads.csv").write_text(text, encoding="utf-8")
    spec = MappingSpec.model_validate(
        {
            "tables": {
                "leads": {
                    "files": "leads.csv",
                    "columns": {"lead_id": "Lead ID", "arrived": "Created", "channel": "Source"},
                }
            }
        }
    )
    result = import_export(tmp_path, spec)
    q = result.quarantine
    assert q[["row", "column", "reason"]].values.tolist() == [
        [3, "(record)", "bad_field_count"],
        [6, "(record)", "bad_field_count"],
    ]
    leads = result.tables["leads"]
    assert leads["lead_id"].tolist() == ["0001", "0003", "0005"]
    assert leads["source_row"].tolist() == [2, 4, 8]
    assert result.totals() == {"read": 5, "accepted": 3, "quarantined": 2}


def test_flags_numbers_and_constants(tmp_path):
    (tmp_path / "leads.csv").write_text(
        "id,at,budget ok,dwell\n"
        "1,2025-01-06 10:00:00,Yes,12.5\n"
        "2,2025-01-06 11:00:00,no,\n"
        "3,2025-01-06 12:00:00,maybe,3\n"
        "4,2025-01-06 13:00:00,Y,lots\n"
        "5,2025-01-06 14:00:00,,inf\n",
        encoding="utf-8",
    )
    spec = MappingSpec.model_validate(
        {
            "tables": {
                "leads": {
                    "files": "*.csv",
                    "columns": {
                        "lead_id": "id",
                        "arrived": "at",
                        "channel": {"value": "web_form"},
                        "budget_confirmed": {"column": "budget ok", "true_values": ["YES", "y"]},
                        "dwell_seconds": "dwell",
                    },
                }
            }
        }
    )
    result = import_export(tmp_path, spec)
    assert result.quarantine[["row", "column", "reason"]].values.tolist() == [
        [4, "budget ok", "bad_flag"],
        [5, "dwell", "bad_number"],
        [6, "dwell", "bad_number"],
    ]
    leads = result.tables["leads"]
    assert leads["budget_confirmed"].tolist() == [True, False]
    assert leads["dwell_seconds"].isna().tolist() == [False, True]
    assert set(leads["channel"]) == {"web_form"}


def test_contracts_and_payments_reference_checks(tmp_path):
    (tmp_path / "leads.csv").write_text("id,at\n01,2025-01-06\n02,2025-01-07\n")
    (tmp_path / "contracts.csv").write_text(
        "contract,lead,signed,amount\nC1,01,2025-02-01,100\nC2,02,2025-01-01,50\nC3,09,2025-02-01,70\n"
    )
    (tmp_path / "payments.csv").write_text(
        "inv,contract,due,paid\nP1,C1,2025-03-01,2025-03-05\nP2,C2,2025-03-01,\nP3,C7,2025-03-01,\n"
    )
    spec = MappingSpec.model_validate(
        {
            "tables": {
                "leads": {"files": "leads.csv", "columns": {"lead_id": "id", "arrived": "at"}},
                "contracts": {
                    "files": "contracts.csv",
                    "columns": {
                        "contract_id": "contract",
                        "lead_id": "lead",
                        "signed": "signed",
                        "amount": "amount",
                    },
                },
                "payments": {
                    "files": "payments.csv",
                    "columns": {
                        "payment_id": "inv",
                        "contract_id": "contract",
                        "due": "due",
                        "paid": "paid",
                    },
                },
            }
        }
    )
    result = import_export(tmp_path, spec)
    q = result.quarantine[["table", "row", "reason"]].values.tolist()
    assert q == [
        ["contracts", 3, "signed_before_arrival"],
        ["contracts", 4, "unknown_lead"],
        ["payments", 3, "contract_quarantined"],
        ["payments", 4, "unknown_contract"],
    ]
    assert result.tables["leads"]["lead_id"].tolist() == ["01", "02"]
    assert result.tables["payments"]["paid"].isna().tolist() == [False]
