"""One quarantine model: the CRM import and the ledger import share its records,
counts, reconciliation check and quarantine file."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from conftest import SCENARIOS
from sim.errors import DataError
from sim.history.importer import import_export
from sim.history.mapping import load_mapping_spec
from sim.history.synthetic_export import make_sample
from sim.incentives.ledger_import import read_ledger
from sim.io.quarantine import (
    QUARANTINE_COLUMNS,
    FileCount,
    QuarantinedRow,
    check_counts,
    quarantine_frame,
    quarantined_rows,
    write_quarantine,
)


@pytest.fixture(scope="module")
def crm(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    make_sample(folder)
    return import_export(folder, load_mapping_spec(SCENARIOS / "mappings" / "sample.yaml"))


@pytest.fixture
def ledger_report(tmp_path):
    folder = tmp_path / "ledger"
    shutil.copytree(SCENARIOS / "ledgers" / "sample", folder)
    with (folder / "payments.csv").open("a", encoding="utf-8") as handle:
        handle.write("P-90,C-1001,12x,2026-02-03,,1\n")  # line 6: bad amount
    return read_ledger(folder)[1]


def test_both_imports_quarantine_the_same_record_type(crm, ledger_report):
    crm_rows, ledger_rows = crm.quarantined_rows(), ledger_report.problems
    assert crm_rows and ledger_rows
    assert {type(r) for r in crm_rows} == {type(r) for r in ledger_rows} == {QuarantinedRow}
    assert ledger_rows == [
        QuarantinedRow(
            "payments",
            "payments.csv",
            6,
            "amount",
            "not a plain decimal amount: '12x' (bad_number)",
        )
    ]
    assert str(ledger_rows[0]).startswith("payments.csv: line 6: amount: ")


def test_both_imports_count_files_alike(crm, ledger_report):
    for counts in (crm.file_counts(), ledger_report.counts()):
        assert counts and all(isinstance(c, FileCount) and c.reconciles() for c in counts)
    payments = next(c for c in ledger_report.counts() if c.file == "payments.csv")
    assert (payments.read, payments.accepted, payments.quarantined) == (5, 4, 1)
    assert sum(c.quarantined for c in crm.file_counts()) == len(crm.quarantine)


def test_both_imports_give_the_same_quarantine_table(crm, ledger_report):
    ledger_frame = ledger_report.quarantine()
    assert tuple(crm.quarantine.columns) == tuple(ledger_frame.columns) == QUARANTINE_COLUMNS
    assert crm.quarantine["row"].dtype == ledger_frame["row"].dtype == "int64"
    again = quarantine_frame(quarantined_rows(crm.quarantine))
    pd.testing.assert_frame_equal(again, crm.quarantine)


def test_check_counts_names_the_file_that_does_not_reconcile():
    good = FileCount("leads", "a.csv", 10, 8, 2)
    check_counts([good], quarantined=2)
    with pytest.raises(DataError, match=r"b\.csv: counts do not reconcile"):
        check_counts([good, FileCount("leads", "b.csv", 10, 8, 1)])
    with pytest.raises(DataError, match="quarantine file and counts disagree"):
        check_counts([good], quarantined=3)


def test_quarantine_file_round_trips(tmp_path):
    rows = [QuarantinedRow("leads", "leads.csv", 7, "Source", "unmapped_value", "Fax", "")]
    path = write_quarantine(rows, tmp_path / "quarantine.csv")
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(QUARANTINE_COLUMNS)
    back = pd.read_csv(path, keep_default_na=False)
    assert quarantined_rows(back) == rows
