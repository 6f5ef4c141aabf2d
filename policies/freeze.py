"""The bad-debt freeze ladder (DOMAIN.md 3.5), as pure date arithmetic.

For one installment with a due date, days count from the due date (day 0 = the due
date); a payment counts on the day the cash is received:

- paid by day ``freeze_after_days`` (60): no step;
- still unpaid when day 61 begins ("more than 60 days overdue"): freeze on day 61, of
  ``frozen_share`` (70%) of the contract's not-yet-paid incentive, line by line; a payment
  arriving on day 61 itself follows the freeze on the same day and releases it (events of
  one day apply in causal order: freeze, the day's cash, the day's earnings, end-of-day
  steps, the run);
- paid by day ``release_within_days`` (90) inclusive: released on the payment date and
  back-paid at the next incentive run;
- paid on days 91..``write_off_at_days`` (120) inclusive: released after approval when
  ``approve_late_release`` (the default), else on the payment date;
- still unpaid at the end of day 120: to (risk) write-off approval on day 120, written off
  on the approval date (recorded, else day 120 + ``approval_lag_days``).  The write-off
  takes only the frozen incentive on amounts still unpaid at the end of the approval day:
  commission on cash actually received (a cash-basis line, or the paid share of a signed
  or invoiced line) is never written off, so a payment after day 120 but before approval
  is kept, and what the write-off does not take is released.

While a contract is frozen, 70% of each *new* incentive line is held and the other 30% is
paid in its own period (``sim.incentives``).  An approval recorded before its request
takes effect on the request day.

:func:`installment_steps` returns the dated steps of one installment's ladder as seen on
an *as-of* date; ``sim.incentives.accounts`` applies them to money and records each one as an
audit record (date, amount, rule, reason).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from policies.rules import to_decimal

__all__ = ["FreezeLadder", "LadderStep", "installment_steps"]

Action = Literal["freeze", "release", "await_approval", "await_write_off", "write_off"]


class FreezeLadder(BaseModel):
    """Thresholds of the ladder; every default is the source's (approval lag: Decision)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = True
    freeze_after_days: int = Field(60, ge=0)
    frozen_share: Annotated[Decimal, BeforeValidator(to_decimal), Field(ge=0, le=1)] = Decimal(
        "0.7"
    )
    release_within_days: int = Field(90, ge=0)
    write_off_at_days: int = Field(120, ge=1)
    approve_late_release: bool = True
    """Payment between day 90 and day 120 releases only after approval."""
    approval_lag_days: int = Field(3, ge=0)
    """Days an approval takes when none is recorded (simulated approvals, expected dates)."""
    auto_approve: bool = True
    """Without a recorded approval, assume it comes after ``approval_lag_days``; when
    false, only recorded approvals release or write off."""

    @model_validator(mode="after")
    def _ordered(self) -> FreezeLadder:
        if not self.freeze_after_days < self.release_within_days < self.write_off_at_days:
            raise ValueError(
                "days must increase: freeze_after_days < release_within_days < "
                f"write_off_at_days, got {self.freeze_after_days}, "
                f"{self.release_within_days}, {self.write_off_at_days}"
            )
        return self

    def freeze_on(self, due_on: dt.date) -> dt.date:
        """First day the installment counts as more than ``freeze_after_days`` overdue."""
        return due_on + dt.timedelta(days=self.freeze_after_days + 1)

    def write_off_on(self, due_on: dt.date) -> dt.date:
        """Day on which an installment still unpaid goes to write-off approval."""
        return due_on + dt.timedelta(days=self.write_off_at_days)


@dataclass(frozen=True)
class LadderStep:
    """One dated step of an installment's ladder."""

    on: dt.date
    action: Action
    rule: str
    reason: str


def _approval(
    kind: str,
    requested: dt.date,
    ladder: FreezeLadder,
    approvals: Mapping[str, dt.date],
) -> dt.date | None:
    recorded = approvals.get(kind)
    if recorded is not None:
        return max(recorded, requested)  # an approval cannot precede its request
    if ladder.auto_approve:
        return requested + dt.timedelta(days=ladder.approval_lag_days)
    return None


def installment_steps(
    due_on: dt.date,
    paid_on: dt.date | None,
    as_of: dt.date,
    ladder: FreezeLadder,
    approvals: Mapping[str, dt.date] | None = None,
) -> list[LadderStep]:
    """Steps of one installment's ladder dated on or before *as_of*.

    *paid_on* is when the cash arrived (None: unpaid); a payment after *as_of* is not
    known yet.  *approvals* maps ``"release"`` / ``"write_off"`` to recorded approval dates.
    """
    approvals = approvals or {}
    if paid_on is not None and paid_on > as_of:
        paid_on = None
    frozen_on = ladder.freeze_on(due_on)
    if not ladder.enabled or (paid_on is not None and paid_on < frozen_on) or as_of < frozen_on:
        return []
    limit = ladder.freeze_after_days
    steps = [
        LadderStep(
            frozen_on,
            "freeze",
            f"> {limit} days overdue: freeze {ladder.frozen_share * 100:.0f}% of unpaid incentive",
            f"due {due_on}, unpaid for {limit + 1} days",
        )
    ]
    write_off_on = ladder.write_off_on(due_on)
    late = ladder.write_off_at_days
    if paid_on is not None and paid_on <= write_off_on:
        days = (paid_on - due_on).days
        if days <= ladder.release_within_days or not ladder.approve_late_release:
            within = ladder.release_within_days
            rule = (
                f"paid within {within} days: release and back-pay"
                if days <= within
                else (f"paid after {within} days: release (no approval required)")
            )
            steps.append(LadderStep(paid_on, "release", rule, f"paid on day {days}"))
            return [s for s in steps if s.on <= as_of]
        rule = f"paid between day {ladder.release_within_days} and {late}: release after approval"
        waiting = LadderStep(paid_on, "await_approval", rule, f"paid on day {days}")
        steps += _after_approval(waiting, "release", ladder, approvals)
        return [s for s in steps if s.on <= as_of]
    rule = f"unpaid at {late} days: write off incentive on the unpaid amount after risk approval"
    waiting = LadderStep(write_off_on, "await_write_off", rule, f"unpaid on day {late}")
    steps += _after_approval(waiting, "write_off", ladder, approvals)
    return [s for s in steps if s.on <= as_of]


def _after_approval(
    waiting: LadderStep, action: str, ladder: FreezeLadder, approvals: Mapping[str, dt.date]
) -> list[LadderStep]:
    """The *waiting* step, then *action* on the day it is approved (if it is)."""
    approved = _approval(action, waiting.on, ladder, approvals)
    if approved is None:
        return [waiting]
    return [waiting, LadderStep(approved, action, waiting.rule, f"approved on {approved}")]
