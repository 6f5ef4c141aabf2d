"""Files and their rows: what the ledger and CRM imports say about odd numbers, extra
columns, a file that is a folder, and rows of a quarantined contract (they follow it, and
the counts still reconcile); ``incentive statements`` lists its row problems."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SCENARIOS
from sim.cli.main import main
from sim.errors import DataError
from sim.history.field_parsing import parse_field
from sim.history.mapping import FieldSpec
from sim.incentives.ledger_import import read_ledger

SAMPLE = SCENARIOS / "ledgers" / "sample"


@pytest.fixture
def ledger(tmp_path):
    folder = tmp_path / "ledger"
    shutil.copytree(SAMPLE, folder)
    return folder


def append(path, *lines):
    with path.open("a", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in lines))


def reasons(report, file):
    return {p.row: (p.column, p.reason) for p in report.problems if p.file == file}


def test_amounts_that_are_not_plain_money_are_bad_numbers(ledger):
    append(
        ledger / "payments.csv",
        "P-90,C-1001,1_000.00,2026-02-03,,",  # line 6
        "P-91,C-1001,1E+3,2026-02-03,,",  # line 7
        "P-92,C-1001,-5.00,2026-02-03,,",  # line 8
        'P-93,C-1001,"1,000.00",2026-02-03,,',  # line 9
        "P-94,C-1001,Infinity,2026-02-03,,",  # line 10
        "P-95,C-1001,10.5,2026-02-03,,",  # line 11: fine
    )
    ledger_, report = read_ledger(ledger)
    found = reasons(report, "payments.csv")
    assert sorted(found) == [6, 7, 8, 9, 10]
    assert all(col == "amount" and "(bad_number)" in why for col, why in found.values())
    assert "'1_000.00'" in found[6][1] and "'1E+3'" in found[7][1]
    assert report.balanced() and report.accepted["payments.csv"] == len(ledger_.payments) == 5


def test_unknown_column_warns_or_is_an_error_when_strict(ledger):
    text = (ledger / "contracts.csv").read_text().splitlines()
    rows = [text[0] + ",notes"] + [line + ",x" for line in text[1:]]
    (ledger / "contracts.csv").write_text("\n".join(rows) + "\n")
    _, report = read_ledger(ledger)
    assert report.problems == [] and len(report.warnings) == 1
    assert "contracts.csv: unknown column 'notes'" in report.warnings[0]
    with pytest.raises(DataError, match=r"contracts\.csv: unknown column 'notes'"):
        read_ledger(ledger, strict=True)


def test_doubled_column_and_extra_fields(ledger):
    append(ledger / "disputes.csv", "C-1001,2026-02-25,2026-03-10,surplus")
    _, report = read_ledger(ledger)
    assert reasons(report, "disputes.csv") == {
        3: ("(record)", "4 fields, the header has 3 (bad_field_count)")
    }
    assert report.balanced()
    (ledger / "disputes.csv").write_text("contract_id,opened_on,opened_on\n")
    with pytest.raises(DataError, match=r"disputes\.csv: column\(s\) 'opened_on' appear twice"):
        read_ledger(ledger)


def test_a_folder_where_a_file_belongs_is_an_error(ledger, capsys):
    (ledger / "payments.csv").unlink()
    (ledger / "payments.csv").mkdir()
    with pytest.raises(DataError, match=r"payments\.csv: not a regular file"):
        read_ledger(ledger)
    code = main(["incentive", "statements", "--ledger", str(ledger), "--period", "2026-03"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().count("\n") == 0 and "payments.csv: not a regular file" in err


def test_rows_of_a_quarantined_contract_follow_it(ledger):
    # C-1002's installments no longer sum to its value: the contract is quarantined ...
    text = (ledger / "installments.csv").read_text()
    (ledger / "installments.csv").write_text(
        text.replace(
            "C-1002,2,2026-02-04,2026-03-06,300000.00", "C-1002,2,2026-02-04,2026-03-06,1.00"
        )
    )
    # ... and C-1004's row is bad (value), so its id is quarantined too
    text = (ledger / "contracts.csv").read_text()
    (ledger / "contracts.csv").write_text(text.replace("400000.00,2026-01-12", "4e5,2026-01-12"))
    append(
        ledger / "payments.csv", "P-90,C-1004,10.00,2026-02-03,,", "P-91,C-9999,1.00,2026-02-03,,"
    )
    ledger_, report = read_ledger(ledger)
    assert report.balanced()
    assert set(ledger_.contracts) == {"C-1001", "C-1003", "C-1005"}
    inst = reasons(report, "installments.csv")
    assert {row: why.split("(")[-1] for row, (_, why) in inst.items()} == {
        3: "contract_quarantined)",
        4: "contract_quarantined)",
        6: "contract_quarantined)",
    }
    assert "contract 'C-1002' is quarantined, see contracts.csv line 3" in inst[3][1]
    loaded = sum(len(c.installments) for c in ledger_.contracts.values())
    assert report.accepted["installments.csv"] == loaded == 3
    assert report.read["installments.csv"] == 6 and report.quarantined("installments.csv") == 3
    pay = reasons(report, "payments.csv")
    assert "contract_quarantined" in pay[3][1]  # P-02 on C-1002
    assert "contract 'C-1004' is quarantined, see contracts.csv line 5" in pay[6][1]
    assert pay[7] == ("contract_id", "unknown contract 'C-9999'")
    assert report.accepted["payments.csv"] == len(ledger_.payments)
    approvals = reasons(report, "approvals.csv")
    assert "contract_quarantined" in approvals[2][1]  # C-1004's release approval
    assert report.accepted["approvals.csv"] == len(ledger_.approvals) == 1


def test_statements_list_the_row_problems_and_write_them_all(ledger, tmp_path, capsys):
    append(
        ledger / "payments.csv",
        *[f"P-{90 + i},C-1001,=1+{i},2026-02-03,," for i in range(12)],
    )
    out = tmp_path / "out"
    code = main(
        [
            "incentive",
            "statements",
            "--ledger",
            str(ledger),
            "--period",
            "2026-03",
            "--out",
            str(out),
        ]
    )
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert any("12 row problem(s)" in line for line in lines)
    listed = [line for line in lines if line.startswith("  payments.csv: line ")]
    assert len(listed) == 10
    assert (
        listed[0]
        == "  payments.csv: line 6: amount: not a plain decimal amount: '=1+0' (bad_number)"
    )
    assert lines[-1] == f"  ... and 2 more; all 12 in {out / 'quarantine.csv'}"
    table = pd.read_csv(out / "quarantine.csv", dtype=str)
    assert len(table) == 12 and table["row"].tolist() == [str(6 + i) for i in range(12)]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1200.50", None),
        ("-0", None),
        ("7", None),
        ("1_000.00", "bad_number"),
        ("1E+3", "bad_number"),
        ("1,000", "bad_number"),
        ("inf", "bad_number"),
        ("nan", "bad_number"),
        ("-3", "negative_number"),
        ("", None),
    ],
)
def test_crm_numbers_are_plain_and_not_negative(text, problem):
    parsed = parse_field(pd.Series([text]), "timeline_days", "number", FieldSpec(column="t"))
    found = parsed.problem.iloc[0]
    assert (None if pd.isna(found) else found) == problem


CELLS = st.sampled_from(
    [
        "",
        "C-1001",
        "C-1002",
        "C-9999",
        "1",
        "2",
        "0",
        "-1",
        "1_000.00",
        "1E+3",
        "300000.00",
        "10.001",
        "NaN",
        "2026-02-03",
        "2026-13-01",
        "=1+1",
        '"a,b"',
        "release",
        "write_off",
        "\u674e",
    ]
)
ROWS = st.lists(st.lists(CELLS, min_size=0, max_size=8), max_size=6)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(contracts=ROWS, installments=ROWS, payments=ROWS, approvals=ROWS)
def test_random_rows_always_reconcile(ledger, contracts, installments, payments, approvals):
    for name, rows in (
        ("contracts.csv", contracts),
        ("installments.csv", installments),
        ("payments.csv", payments),
        ("approvals.csv", approvals),
    ):
        header = (ledger / name).read_text().splitlines()[0]
        original = SAMPLE / name
        body = original.read_text().splitlines()[1:]
        text = "\n".join([header, *body, *(",".join(r) for r in rows)]) + "\n"
        (ledger / name).write_text(text, encoding="utf-8")
    try:
        ledger_, report = read_ledger(ledger)
    except DataError as exc:  # only a malformed file as a whole, in one line
        assert "\n" not in str(exc)
        return
    assert report.balanced()
    assert report.accepted["contracts.csv"] == len(ledger_.contracts)
    loaded = sum(len(c.installments) for c in ledger_.contracts.values())
    assert report.accepted["installments.csv"] == loaded
    assert report.accepted["payments.csv"] == len(ledger_.payments)
    assert report.accepted["approvals.csv"] == len(ledger_.approvals)
    assert all(p.contract_id in ledger_.contracts for p in ledger_.payments)
