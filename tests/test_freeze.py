"""The freeze ladder's dated steps, at each boundary (days from the due date)."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from policies.freeze import FreezeLadder, installment_steps

DUE = dt.date(2026, 1, 10)
LADDER = FreezeLadder()


def day(n: int) -> dt.date:
    return DUE + dt.timedelta(days=n)


def actions(paid: int | None, as_of: int = 400, ladder: FreezeLadder = LADDER, approvals=None):
    steps = installment_steps(
        DUE, None if paid is None else day(paid), day(as_of), ladder, approvals
    )
    return [((s.on - DUE).days, s.action) for s in steps]


def test_paid_by_day_60_never_freezes():
    assert actions(60) == []
    assert actions(None, as_of=60) == []


def test_more_than_60_days_overdue_freezes_on_day_61():
    assert actions(61) == [(61, "freeze"), (61, "release")]
    assert actions(None, as_of=61) == [(61, "freeze")]


@pytest.mark.parametrize("paid", [89, 90])
def test_paid_within_90_days_releases_on_payment(paid):
    assert actions(paid) == [(61, "freeze"), (paid, "release")]


def test_paid_on_day_100_releases_after_approval():
    assert actions(100, as_of=101) == [(61, "freeze"), (100, "await_approval")]
    assert actions(100) == [(61, "freeze"), (100, "await_approval"), (103, "release")]
    recorded = {"release": day(105)}
    assert actions(100, approvals=recorded)[-1] == (105, "release")
    no_approval = LADDER.model_copy(update={"approve_late_release": False})
    assert actions(100, ladder=no_approval) == [(61, "freeze"), (100, "release")]


def test_unpaid_at_120_days_written_off_after_approval():
    assert actions(None, as_of=120) == [(61, "freeze"), (120, "await_write_off")]
    assert actions(None)[-1] == (123, "write_off")
    assert actions(None, approvals={"write_off": day(120)})[-1] == (120, "write_off")
    manual = LADDER.model_copy(update={"auto_approve": False})
    assert actions(None, ladder=manual) == [(61, "freeze"), (120, "await_write_off")]
    # paid on day 120 is paid: release after approval, no write-off
    assert actions(120)[1:] == [(120, "await_approval"), (123, "release")]


def test_disabled_ladder_and_ordering():
    assert actions(None, ladder=FreezeLadder(enabled=False)) == []
    with pytest.raises(ValidationError, match="days must increase"):
        FreezeLadder(freeze_after_days=90, release_within_days=90)
