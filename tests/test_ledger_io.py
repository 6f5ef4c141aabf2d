"""Ledger import: every row accepted or quarantined with file, line, field and reason;
the channel feed matched to reps, unmatched rows reported; the IBM accounts-receivable
sample: payment delays fitted and the freeze ladder run over its real dates."""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter
from decimal import Decimal as D

import numpy as np
import pytest

from conftest import POLICIES, SCENARIOS, SHARED_DATA
from sim.errors import DataError
from sim.incentives.earnings import channel_pools
from sim.incentives.ledger_import import ibm_ledger, read_ibm_receivables, read_ledger
from sim.incentives.payments import fit_payment_delays
from sim.incentives.report import commission_cost, ledger_accounts
from sim.world.loading import load_policy

SAMPLE = SCENARIOS / "ledgers" / "sample"
IBM = SHARED_DATA / "ibm_accounts_receivable" / "WA_Fn-UseC_-Accounts-Receivable.csv"


def test_sample_ledger_reads_clean():
    ledger, report = read_ledger(SAMPLE)
    assert report.problems == [] and report.balanced()
    assert report.read == report.accepted
    assert report.read["contracts.csv"] == 5 and report.read["payments.csv"] == 4
    assert ledger.contract("C-1002").installments[1].due_on == dt.date(2026, 3, 6)


def test_channel_feed_matched_to_rep_and_month_unmatched_reported():
    ledger, _ = read_ledger(SAMPLE)
    pools, totals, unmatched = channel_pools(ledger, dt.date(2026, 12, 31))
    assert pools[("rep-wang", "Z", "2026-03")] == D("5000000.00")
    assert totals[("Z", "2026-03")] == D("5150000.00")
    assert [(row.invoice_id, reason) for row, reason in unmatched] == [
        ("Z-0003", "no contract for this end customer")
    ]


@pytest.fixture
def ledger_copy(tmp_path):
    folder = tmp_path / "ledger"
    shutil.copytree(SAMPLE, folder)
    return folder


def append(path, *lines):
    with path.open("a", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in lines))


def test_bad_rows_are_quarantined_never_dropped(ledger_copy):
    append(
        ledger_copy / "payments.csv",
        "P-90,C-1001,12x,2026-02-03,,1",  # line 6: bad amount
        "P-91,C-9999,10.00,2026-02-03,,",  # line 7: unknown contract
        "P-92,C-1001,10.00,03/02/2026,,",  # line 8: US date
        "P-01,C-1001,10.00,2026-02-03,,",  # line 9: duplicate id
        "P-93,C-1001,10.001,2026-02-03,,",  # line 10: sub-cent amount
        "P-94,C-1001,10.00,2026-02-03,2026-02-01,",  # line 11: proof before receipt
    )
    append(ledger_copy / "contracts.csv", "C-2000,rep-li,K-20,500.00,2026-01-01,,")
    append(ledger_copy / "approvals.csv", "C-1004,1,maybe,2026-05-26")
    ledger, report = read_ledger(ledger_copy)
    assert report.balanced()
    assert report.read["payments.csv"] == 10 and report.accepted["payments.csv"] == 4
    lines = {(p.file, p.row, p.column) for p in report.problems}
    assert {
        ("payments.csv", 6, "amount"),
        ("payments.csv", 7, "contract_id"),
        ("payments.csv", 8, "received_on"),
        ("payments.csv", 9, "payment_id"),
        ("payments.csv", 10, "amount"),
        ("payments.csv", 11, "proof_uploaded_on"),
        ("contracts.csv", 7, "value"),
        ("approvals.csv", 4, "kind"),
    } == lines
    assert "C-2000" not in ledger.contracts
    text = {str(p) for p in report.problems}
    assert "payments.csv: line 8: received_on: not an ISO date (YYYY-MM-DD): '03/02/2026'" in text
    assert "contracts.csv: line 7: value: has no installment in installments.csv" in text


def test_missing_file_or_column_is_one_line(ledger_copy):
    (ledger_copy / "installments.csv").unlink()
    with pytest.raises(DataError, match=r"installments\.csv: file not found"):
        read_ledger(ledger_copy)
    (ledger_copy / "installments.csv").write_text("contract_id,installment,due_on,amount\n")
    with pytest.raises(DataError, match=r"missing column.*invoiced_on"):
        read_ledger(ledger_copy)


ibm_missing = pytest.mark.skipif(
    not IBM.is_file(), reason=f"IBM accounts-receivable sample not found at {IBM}"
)


@ibm_missing
def test_ibm_payment_delays_fit():
    frame = read_ibm_receivables(IBM)
    assert len(frame) == 2466 and frame["invoiceNumber"].str.startswith("0").any()
    # DaysLate agrees with the real dates (settled - due, early payments count 0)
    assert (frame["days_overdue"].clip(lower=0) == frame["DaysLate"]).all()
    fit = fit_payment_delays(frame["DaysLate"].to_numpy())
    assert fit.on_time == pytest.approx(1589 / 2466)  # 64.4% settled by the due date
    late = frame.loc[frame["DaysLate"] > 0, "DaysLate"].to_numpy(dtype=float)
    # the lognormal's median matches the data's within 15%; its mean within 10%
    mu = np.log(fit.late_days.mean) - np.log1p((fit.late_days.sd / fit.late_days.mean) ** 2) / 2
    assert np.exp(mu) == pytest.approx(np.median(late), rel=0.15)
    assert fit.late_days.mean == pytest.approx(late.mean(), rel=0.10)


@ibm_missing
def test_freeze_ladder_over_ibm_receivables():
    frame = read_ibm_receivables(IBM)
    ledger = ibm_ledger(frame)
    policy = load_policy(POLICIES / "commission_source.yaml")
    as_of = dt.date(2014, 3, 31)
    # With the source's 60-day ladder nothing in this book (at most 45 days late) freezes.
    accounts = ledger_accounts(ledger, policy, [], as_of)
    assert not any(r.action == "freeze" for a in accounts for r in a.audit)
    # A stressed ladder (20/30/40 days) on the same real dates: one freeze per invoice
    # more than 20 days late, released at once up to day 30, after approval to day 40,
    # the rest to write-off.
    from policies.freeze import FreezeLadder

    stressed = policy.model_copy(
        update={
            "freeze": FreezeLadder(
                freeze_after_days=20, release_within_days=30, write_off_at_days=40
            )
        }
    )
    accounts = ledger_accounts(ledger, stressed, [], as_of)
    late = frame["days_overdue"]
    per_contract = [Counter(r.action for r in a.audit) for a in accounts]
    assert sum(c["await_approval"] for c in per_contract) == ((late > 30) & (late <= 40)).sum()
    assert sum(c["await_write_off"] for c in per_contract) == (late > 40).sum() == 1
    ladder_freezes = sum(
        1 for a in accounts for r in a.audit if r.action == "freeze" and r.rule.startswith(">")
    )
    assert ladder_freezes == (late > 20).sum() == 81
    for account in accounts:
        assert account.balanced()
        assert all(
            s.earned == s.paid_out + s.payable + s.frozen + s.written_off for s in account.snapshots
        )
    total = commission_cost(accounts)
    # cash basis, 8% flat: every settled invoice earns one line, 8% of it to the cent
    from sim.incentives.earnings import cent

    expected = sum(cent(D(str(a)).quantize(D("0.01")) * D("0.08")) for a in frame["InvoiceAmount"])
    assert total["earned"] == expected
    assert total["earned"] == total["payable"] + total["frozen"] + total["written_off"]
