"""``python -m sim incentive calc | statements``: the calculator's answer on the sample
ledger, appeals as tickets, and one line + exit 2 for bad input."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT, SCENARIOS
from sim.cli.main import main

SAMPLE = str(SCENARIOS / "ledgers" / "sample")


def calc(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["incentive", "calc", "--ledger", SAMPLE, *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_calc_frozen_contract_says_why_and_when(capsys):
    code, out, _ = calc(capsys, "--contract", "C-1002", "--as-of", "2026-04-30")
    assert code == 0
    assert "  payable now         7,200.00" in out
    assert "  frozen             16,800.00" in out
    assert "installment 1 due 2026-02-04, unpaid for 61 days" in out
    assert "released on payment if paid by 2026-05-05" in out
    assert "written off if unpaid on 2026-06-04" in out
    assert "next incentive run 2026-05-11 (period 2026-04) pays 7,200.00" in out
    assert "2026-04-06  freeze               16,800.00" in out


def test_calc_names_the_blocking_condition(capsys):
    code, out, _ = calc(capsys, "--contract", "C-1003", "--as-of", "2026-03-05")
    assert code == 0
    assert "payment P-03 not counted yet: (c) quality dispute open since 2026-02-25" in out
    # counted when the dispute closes; the March pool so far is 2 M (no rebate yet) ...
    code, out, _ = calc(capsys, "--contract", "C-1003", "--as-of", "2026-03-10")
    assert "earned            160,000.00" in out
    assert "provisional: the payment P-03 line uses channel Z's 2026-03 pool so far" in out
    # ... and reaches exactly 5 M by the month's end: 2,000,000 x 8% x (1 - 2%)
    code, out, _ = calc(capsys, "--contract", "C-1003", "--as-of", "2026-04-01")
    assert "earned            156,800.00" in out and "provisional" not in out


def test_calc_approval_pending_then_released(capsys):
    _, out, _ = calc(capsys, "--contract", "C-1004", "--as-of", "2026-05-24")
    assert "installment 1: release approval expected 2026-05-26; released then" in out
    _, out, _ = calc(capsys, "--contract", "C-1005", "--as-of", "2026-06-08")
    assert (
        "write-off approval expected 2026-06-09; then the frozen incentive on amounts still "
        "unpaid is written off, the rest released"
    ) in out
    _, out, _ = calc(capsys, "--contract", "C-1004", "--as-of", "2026-05-26")
    assert "2026-05-26  release              22,400.00" in out and "nothing frozen" in out


def test_appeal_records_a_ticket(capsys, tmp_path):
    out_dir = str(tmp_path / "out")
    args = ["--contract", "C-1002", "--as-of", "2026-04-30", "--out", out_dir]
    code, out, _ = calc(capsys, *args, "--appeal", "customer paid, proof delayed")
    assert code == 0 and "appeal recorded: ticket APL-00001" in out
    calc(capsys, *args, "--appeal", "second")
    rows = (tmp_path / "out" / "appeals.csv").read_text(encoding="utf-8").splitlines()
    assert rows == [
        "ticket,contract_id,as_of,reason,status",
        'APL-00001,C-1002,2026-04-30,"customer paid, proof delayed",open',
        "APL-00002,C-1002,2026-04-30,second,open",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--contract", "C-9", "--as-of", "2026-04-30"], "contract 'C-9' is not in the ledger"),
        (["--contract", "C-1001", "--as-of", "30/04/2026"], "expected a date YYYY-MM-DD"),
        (["--contract", "C-1001"], "the following arguments are required: --as-of"),
        (["--contract", "C-1001", "--as-of", "2026-04-30", "--appeal", " "], "--appeal"),
        (["--contract", "C-1001", "--as-of", "2026-04-30", "--holidays", "XX"], "--holidays"),
        (["--contract", "C-1001", "--as-of", "2026-04-30", "--policy", "nope.yaml"], "nope.yaml"),
    ],
)
def test_bad_input_is_one_line_exit_2(capsys, args, message):
    code, _, err = calc(capsys, *args)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err


def test_bad_csv_row_is_reported_not_fatal(capsys, tmp_path):
    import shutil

    folder = tmp_path / "ledger"
    shutil.copytree(SAMPLE, folder)
    with (folder / "payments.csv").open("a") as handle:
        handle.write("P-99,C-1001,abc,2026-02-03,,\n")
    code = main(
        [
            "incentive",
            "calc",
            "--ledger",
            str(folder),
            "--contract",
            "C-1001",
            "--as-of",
            "2026-03-31",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "note: ledger import: accepted" in out
    assert "payments.csv: line 6: amount: not a plain decimal amount: 'abc'" in out


def test_statements_command_writes_html_and_pdf(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim",
            "incentive",
            "statements",
            "--period",
            "2026-03",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "3 statement(s) for 2026-03, issued 2026-04-08" in result.stdout
    assert (
        "unmatched channel invoice Z-0003 (Z, end customer K-99, 150,000.00 on 2026-03-21): "
        "no contract for this end customer"
    ) in result.stdout
    names = sorted(p.name for p in (tmp_path / "statements").iterdir())
    assert names == [
        f"2026-03__{rep}.{ext}"
        for rep in ("rep-li", "rep-wang", "rep-zhao")
        for ext in ("html", "pdf")
    ]
    bad = subprocess.run(
        [sys.executable, "-m", "sim", "incentive", "statements", "--period", "March"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "expected a month YYYY-MM" in bad.stderr


def test_rule_that_fails_at_evaluation_is_one_line(capsys, tmp_path):
    policy = tmp_path / "bad_rate.yaml"
    policy.write_text('commission:\n  rebate:\n    channels: {Y: "received / 1000000"}\n')
    code, _, err = calc(
        capsys, "--contract", "C-1001", "--as-of", "2026-03-31", "--policy", str(policy)
    )
    assert code == 2
    assert err == (
        "error: commission.rebate, contract C-1001: rebate clause 'received / 1000000' "
        "gave 1.20, outside 0..1\n"
    )
    policy.write_text("commission:\n  basis: cash\n  basis: signed\n")
    code, _, err = calc(
        capsys, "--contract", "C-1001", "--as-of", "2026-03-31", "--policy", str(policy)
    )
    assert code == 2 and "bad_rate.yaml: line 3" in err and "duplicate key 'basis'" in err


def test_statements_command_in_chinese_with_a_currency(tmp_path, capsys):
    from sim.cli.main import main

    args = ["incentive", "statements", "--period", "2026-02", "--out", str(tmp_path)]
    assert main([*args, "--lang", "zh", "--currency", "USD"]) == 0
    page = (tmp_path / "statements" / "2026-02__rep-li.html").read_text(encoding="utf-8")
    assert "提成结算单：rep-li，2026年2月" in page and '<html lang="zh-CN">' in page
    assert "US$93,792.00" in page and "本次发放" in page
    assert main([*args, "--currency", "XYZ"]) == 2
    assert "unknown currency 'XYZ'" in capsys.readouterr().err
