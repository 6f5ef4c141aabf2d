"""The streamed import: any batch size gives the same import, and counts reconcile exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import SCENARIOS
from sim.history.importer import import_export, write_import
from sim.history.key_index import KeyIndex, hash_keys
from sim.history.mapping import MappingSpec, load_mapping_spec
from sim.history.synthetic_export import make_sample

SAMPLE_MAPPING = SCENARIOS / "mappings" / "sample.yaml"

MAPPING = {
    "tables": {
        "reps": {"files": "reps.csv", "columns": {"rep_id": "rep"}, "required": ["rep_id"]},
        "leads": {
            "files": "leads*.csv",
            "columns": {
                "lead_id": "id",
                "arrived": {"column": "when", "formats": ["%Y-%m-%d %H:%M", "%Y-%m-%d"]},
                "channel": {"column": "src", "values": {"W": "web_form", "R": "referral"}},
            },
            "required": ["lead_id", "arrived", "channel"],
        },
        "opportunities": {
            "files": "deals.csv",
            "columns": {
                "opportunity_id": "deal",
                "lead_id": "id",
                "rep_id": "rep",
                "outcome": {"column": "stage", "values": {"W": "won", "L": "lost"}},
                "closed": {"column": "closed", "formats": ["%Y-%m-%d"]},
                "amount": "amount",
            },
            "required": ["opportunity_id", "lead_id", "outcome"],
        },
    }
}


def _generate(folder, seed: int, n_leads: int = 2400, n_deals: int = 900) -> None:
    """Leads in two files and deals, with duplicates, bad dates, date-only values on
    shared days, blank and unknown channels, unknown leads and reps, early closes."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"L{i:05d}" for i in rng.integers(0, int(n_leads * 0.9), n_leads)])
    day = pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 20, n_leads), "D")
    when = (day + pd.to_timedelta(rng.integers(0, 1440, n_leads), "min")).strftime("%Y-%m-%d %H:%M")
    when = np.asarray(when, dtype=object)
    date_only = rng.random(n_leads) < 0.3
    when[date_only] = day[date_only].strftime("%Y-%m-%d")
    when[rng.random(n_leads) < 0.03] = "2024-02-31"
    src = rng.choice(np.array(["W", "R", "", "Fax"]), n_leads, p=[0.6, 0.3, 0.05, 0.05])
    leads = pd.DataFrame({"id": ids, "when": when, "src": src})
    half = n_leads // 2
    leads.iloc[:half].to_csv(folder / "leads_a.csv", index=False)
    leads.iloc[half:].to_csv(folder / "leads_b.csv", index=False)
    pd.DataFrame({"rep": ["r1", "r2", "r3", "r3"]}).to_csv(folder / "reps.csv", index=False)
    lead = rng.choice(np.append(ids, ["NOPE1", "NOPE2"]), n_deals)
    closed = pd.Timestamp("2024-03-10") + pd.to_timedelta(rng.integers(0, 30, n_deals), "D")
    amount = np.round(rng.uniform(0, 5000, n_deals), 2).astype(str).astype(object)
    amount[rng.random(n_deals) < 0.02] = "12.345"
    deals = pd.DataFrame(
        {
            "deal": [f"D{i:05d}" for i in rng.integers(0, int(n_deals * 0.95), n_deals)],
            "id": lead,
            "rep": rng.choice(np.array(["r1", "r2", "r3", "ghost"]), n_deals),
            "stage": rng.choice(np.array(["W", "L"]), n_deals),
            "closed": closed.strftime("%Y-%m-%d"),
            "amount": amount,
        }
    )
    deals.to_csv(folder / "deals.csv", index=False)


def _same(a, b) -> None:
    assert list(a.tables) == list(b.tables)
    for table in a.tables:
        pd.testing.assert_frame_equal(a.tables[table], b.tables[table])
    pd.testing.assert_frame_equal(a.quarantine, b.quarantine)
    pd.testing.assert_frame_equal(a.counts, b.counts)
    pd.testing.assert_frame_equal(a.notes, b.notes)
    pd.testing.assert_frame_equal(a.unmapped, b.unmapped)
    assert a.reasons == b.reasons
    assert a.snapshot == b.snapshot


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batches_change_nothing_and_counts_reconcile(tmp_path, seed):
    _generate(tmp_path, seed)
    spec = MappingSpec.model_validate(MAPPING)
    whole = import_export(tmp_path, spec, batch_rows=10**7)
    small = import_export(tmp_path, spec, batch_rows=300)  # 4 batches per leads file, 3 of deals
    _same(whole, small)
    # an independent count: every data line of every file is read exactly once
    for file in ("leads_a.csv", "leads_b.csv", "deals.csv", "reps.csv"):
        lines = len(pd.read_csv(tmp_path / file, dtype=str))
        row = small.counts.set_index("file").loc[file]
        assert row["read"] == lines == row["accepted"] + row["quarantined"]
    q = small.quarantine
    per_file = q.groupby("file").size()
    assert (per_file == small.counts.set_index("file")["quarantined"][per_file.index]).all()
    # every defect kind was met, so each path ran across batch boundaries
    reasons = {r for (_, _, r) in small.reasons}
    assert {"duplicate", "bad_date", "missing", "unknown_lead", "lead_quarantined"} <= reasons
    assert {"unknown_rep", "too_many_decimals"} <= reasons
    # first row of a repeated id is kept: accepted lead ids are unique
    assert small.tables["leads"]["lead_id"].is_unique


def test_duplicates_match_an_independent_count(tmp_path):
    _generate(tmp_path, 4)
    result = import_export(tmp_path, MappingSpec.model_validate(MAPPING), batch_rows=300)
    leads = pd.concat(
        [
            pd.read_csv(tmp_path / f, dtype=str, keep_default_na=False)
            for f in ("leads_a.csv", "leads_b.csv")
        ],
        ignore_index=True,
    )
    parsed = pd.to_datetime(leads["when"], format="mixed", errors="coerce")
    fine = parsed.notna() & (leads["src"] != "")
    duplicates = int((leads["id"].where(fine).duplicated() & fine).sum())
    assert result.reasons[("leads", "id", "duplicate")] == duplicates > 0


def test_date_only_values_are_spread_over_the_whole_day_across_batches(tmp_path):
    _generate(tmp_path, 5)
    result = import_export(tmp_path, MappingSpec.model_validate(MAPPING), batch_rows=250)
    leads = result.tables["leads"]
    placed = leads[leads["arrived_date_only"]]
    for _, times in placed.groupby(placed["arrived"].dt.normalize())["arrived"]:
        n = len(times)
        offsets = (times - times.dt.normalize()).dt.total_seconds().sort_values().to_numpy()
        expected = 9 * 3600 + (np.arange(n) + 0.5) / n * 9 * 3600
        assert np.allclose(offsets, expected, atol=1.0)


def test_the_sample_import_is_the_same_in_small_batches(tmp_path):
    make_sample(tmp_path / "export")
    spec = load_mapping_spec(SAMPLE_MAPPING)
    whole = import_export(tmp_path / "export", spec)
    small = import_export(tmp_path / "export", spec, batch_rows=400)
    _same(whole, small)
    write_import(whole, tmp_path / "a")
    write_import(small, tmp_path / "b")
    for name in ("quarantine.csv", "leads.parquet", "opportunities.parquet"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_parquet_input_is_read_in_batches(tmp_path):
    make_sample(tmp_path / "export")
    export = tmp_path / "export"
    pd.read_csv(export / "leads.csv", dtype=str, keep_default_na=False).to_parquet(
        export / "leads.parquet"
    )
    data = MappingSpec.model_validate(
        {**load_mapping_spec(SAMPLE_MAPPING).model_dump(), "name": "p"}
    ).model_dump()
    data["tables"]["leads"]["files"] = "leads.parquet"
    spec = MappingSpec.model_validate(data)
    whole = import_export(export, spec)
    small = import_export(export, spec, batch_rows=500)
    _same(whole, small)
    assert whole.counts.set_index("file").loc["leads.parquet", "read"] == 1794


def test_key_index_finds_ids_and_keeps_the_first_value():
    index = KeyIndex()
    first = pd.Series(["a", "b", None], dtype="string")
    index.add(hash_keys(first), np.array([1, 2, 3]))
    index.add(hash_keys(pd.Series(["b", "c"], dtype="string")), np.array([9, 4]))
    found, values = index.lookup(hash_keys(pd.Series(["b", "c", "zz", None], dtype="string")))
    assert found.tolist() == [True, True, False, True]
    assert values.tolist() == [2, 4, 0, 3]
    assert len(index) == 4
    pair = pd.DataFrame({"x": ["1", "1"], "y": ["2", "3"]})
    assert len(set(hash_keys(pair))) == 2


def test_batch_rows_must_be_positive(tmp_path):
    from sim.errors import ConfigError

    with pytest.raises(ConfigError, match="batch rows"):
        import_export(tmp_path, MappingSpec.model_validate(MAPPING), batch_rows=0)


def test_cli_batch_rows_prints_the_same_report(tmp_path, capsys):
    from sim.cli.main import main

    _generate(tmp_path, 6, n_leads=600, n_deals=200)
    mapping = tmp_path / "m.yaml"
    import yaml

    mapping.write_text(yaml.safe_dump(MAPPING))
    argv = ["import", str(tmp_path), "--mapping", str(mapping), "--check"]
    assert main(argv) == 0
    whole = capsys.readouterr().out
    assert main([*argv, "--batch-rows", "70"]) == 0
    assert capsys.readouterr().out == whole
    assert "total: read 804 = accepted" in whole  # 600 leads, 200 deals, 4 reps
    assert main([*argv, "--batch-rows", "0"]) == 2
