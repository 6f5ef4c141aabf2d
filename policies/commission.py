"""The commission plan: what counts (basis), at what rate (tables), minus channel rebates.

DOMAIN.md 3: commission = basis x tiered rate x (1 - channel rebate rate) - bad-debt
deductions.  This module holds the levers and their pure arithmetic:

- :class:`CommissionPlan.basis`: ``signed`` (the contract value when signed),
  ``invoiced`` (each installment when invoiced) or ``cash`` (each payment, counted only
  when all three conditions of the source hold; :func:`basis_blockers` names those that
  do not);
- :class:`RateTable`: ``marginal`` brackets (each rate on its slice) or ``whole``-amount
  tiers (the rate of the highest tier reached applies to the whole base); plus
  :class:`Accelerator` multipliers above a threshold and a ``cap``;
- :class:`RebateClauses`: the channel rebate rate as a rule expression
  (:mod:`policies.rules`), per channel or a default.

Amounts are exact Decimals; nothing here rounds (rounding is once per statement line, in
``sim.incentives.accounts``).  Bad-debt deductions come from the freeze ladder
(:mod:`policies.freeze`).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections.abc import Iterable
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from policies.rules import Rule, compile_rule, to_decimal

__all__ = [
    "REBATE_NAMES",
    "Accelerator",
    "Bracket",
    "CommissionPlan",
    "RateTable",
    "RebateClauses",
    "basis_blockers",
    "cash_counted_on",
]

_STRICT = ConfigDict(extra="forbid", frozen=True)
Money = Annotated[Decimal, BeforeValidator(to_decimal), Field(ge=0)]
"""A non-negative exact amount or rate (YAML floats are read from their text)."""

REBATE_NAMES = ("received", "total", "channel_total", "contract_value")
"""Names a rebate clause may use: the rep's channel pool in the period (``received``, alias
``total``), the channel's pool over all reps in the period, the contract's value."""


class Bracket(BaseModel):
    """A rate that applies from ``from`` (inclusive: a base that reaches it)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    start: Money = Field(alias="from")
    rate: Money


class RateTable(BaseModel):
    """Rates by base amount: ``marginal`` brackets or ``whole``-amount tiers.

    Brackets are listed in increasing ``from`` order, the first from 0.  Marginal: each
    rate applies to the part of the base inside its bracket.  Whole: the rate of the
    highest bracket the base *reaches* (``base >= from``) applies to the whole base.
    """

    model_config = _STRICT
    kind: Literal["marginal", "whole"] = "marginal"
    brackets: list[Bracket] = Field(
        default_factory=lambda: [Bracket(start=Decimal(0), rate=Decimal("0.08"))], min_length=1
    )

    @field_validator("brackets")
    @classmethod
    def _ordered(cls, brackets: list[Bracket]) -> list[Bracket]:
        if brackets[0].start != 0:
            raise ValueError(f"the first bracket must start from 0, got {brackets[0].start}")
        for a, b in itertools.pairwise(brackets):
            if b.start <= a.start:
                raise ValueError(f"brackets must increase: {b.start} follows {a.start}")
        return brackets

    def commission(self, base: Decimal) -> Decimal:
        """Exact commission on *base* (no rounding)."""
        if base < 0:
            raise ValueError(f"base must be >= 0, got {base}")
        if self.kind == "whole":
            reached = [b for b in self.brackets if base >= b.start]
            return base * reached[-1].rate
        total = Decimal(0)
        ends = [b.start for b in self.brackets[1:]] + [None]
        for bracket, end in zip(self.brackets, ends, strict=True):
            if base <= bracket.start:
                break
            top = base if end is None else min(base, end)
            total += (top - bracket.start) * bracket.rate
        return total


class Accelerator(BaseModel):
    """Above ``above`` (strictly), the rate table's rate is multiplied by ``multiplier``."""

    model_config = _STRICT
    above: Money
    multiplier: Annotated[Decimal, BeforeValidator(to_decimal), Field(ge=1)]


@functools.lru_cache(maxsize=256)
def _rebate_rule(text: str) -> Rule:
    return compile_rule(text, REBATE_NAMES)


class RebateClauses(BaseModel):
    """Channel rebate rate as rule expressions: per channel code, else ``default``.

    A direct sale (no channel) has no rebate.  Example, the source's tiered clause:
    ``IFS(received > 8000000, 0.025, received >= 5000000, 0.02, 0)``.
    """

    model_config = _STRICT
    default: str = "0"
    channels: dict[str, str] = Field(default_factory=dict)

    @field_validator("default", "channels", mode="before")
    @classmethod
    def _as_text(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: str(v) if isinstance(v, int | float) else v for k, v in value.items()}
        return str(value) if isinstance(value, int | float) else value

    @field_validator("default")
    @classmethod
    def _default_compiles(cls, text: str) -> str:
        compile_rule(text, REBATE_NAMES)  # RuleRefused is a ValueError: names the field
        return text

    @field_validator("channels")
    @classmethod
    def _channels_compile(cls, clauses: dict[str, str]) -> dict[str, str]:
        for channel, text in clauses.items():
            try:
                compile_rule(text, REBATE_NAMES)
            except ValueError as exc:
                raise ValueError(f"channel {channel!r}: {exc}") from None
        return clauses

    def rule_for(self, channel: str | None) -> Rule | None:
        """The clause of *channel* (None: a direct sale, no rebate)."""
        if channel is None:
            return None
        return _rebate_rule(self.channels.get(channel, self.default))

    def rate(
        self,
        channel: str | None,
        *,
        received: Decimal,
        channel_total: Decimal,
        contract_value: Decimal,
    ) -> Decimal:
        """Rebate rate for a line of *channel*; a rate outside [0, 1] is refused."""
        rule = self.rule_for(channel)
        if rule is None:
            return Decimal(0)
        values = {
            "received": received,
            "total": received,
            "channel_total": channel_total,
            "contract_value": contract_value,
        }
        rate = rule.evaluate(values)
        if not 0 <= rate <= 1:
            raise ValueError(f"rebate clause {rule.text!r} gave {rate}, outside 0..1")
        return rate


class CommissionPlan(BaseModel):
    """The commission levers (DOMAIN.md 3.1-3.4); defaults are the source's."""

    model_config = _STRICT
    basis: Literal["signed", "invoiced", "cash"] = "cash"
    accumulate: Literal["contract", "rep_month", "rep_year"] = "rep_month"
    """What the rate table's base accumulates over: one contract, or a rep's month/year."""
    rates: RateTable = RateTable()
    accelerators: list[Accelerator] = Field(default_factory=list)
    cap: Money | None = None
    """Most gross commission per accumulation base (per contract, rep-month or rep-year)."""
    rebate: RebateClauses = RebateClauses()
    statement_working_day: int = Field(5, ge=1, le=20)
    """Statements for a month are due by this working day of the next month (the 5th)."""

    def gross(self, base: Decimal) -> Decimal:
        """Exact gross commission on an accumulated *base*: rates, accelerators, cap."""
        amount = self.rates.commission(base)
        for accelerator in self.accelerators:
            if base > accelerator.above:
                extra = self.rates.commission(base) - self.rates.commission(accelerator.above)
                amount += extra * (accelerator.multiplier - 1)
        return amount if self.cap is None else min(amount, self.cap)

    def increment(self, before: Decimal, amount: Decimal) -> Decimal:
        """Gross commission earned by adding *amount* to a base of *before*.

        Summing increments over a base's history gives ``gross(final base)`` exactly,
        whatever the order (a whole-amount tier reached late pays its true-up then).
        """
        return self.gross(before + amount) - self.gross(before)


def _dispute_free_from(
    day: dt.date, disputes: Iterable[tuple[dt.date, dt.date | None]]
) -> dt.date | None:
    """First date >= *day* on which no dispute ``[opened, closed)`` is open; None: never."""
    spans = sorted(disputes)
    moved = True
    while moved:
        moved = False
        for opened, closed in spans:
            if opened <= day and (closed is None or day < closed):
                if closed is None:
                    return None
                day, moved = closed, True
    return day


def cash_counted_on(
    received_on: dt.date,
    proof_uploaded_on: dt.date | None,
    fulfilled_on: dt.date | None,
    disputes: Iterable[tuple[dt.date, dt.date | None]] = (),
) -> dt.date | None:
    """Date a cash payment becomes commissionable: received, bank proof uploaded, contract
    fulfilled and no quality dispute open, all on that date; None while one never holds."""
    if proof_uploaded_on is None or fulfilled_on is None:
        return None
    return _dispute_free_from(max(received_on, proof_uploaded_on, fulfilled_on), disputes)


def basis_blockers(
    on: dt.date,
    received_on: dt.date,
    proof_uploaded_on: dt.date | None,
    fulfilled_on: dt.date | None,
    disputes: Iterable[tuple[dt.date, dt.date | None]] = (),
) -> list[str]:
    """The source's conditions that keep a cash payment from counting on *on* (empty: it
    counts), each named: (a) bank proof, (b) fulfilment, (c) quality dispute."""
    blockers = []
    if received_on > on:
        blockers.append(f"cash not yet received (received {received_on})")
    if proof_uploaded_on is None or proof_uploaded_on > on:
        blockers.append("(a) bank-transfer proof not uploaded")
    if fulfilled_on is None or fulfilled_on > on:
        blockers.append('(b) contract status is not "fulfilled"')
    blockers += [
        f"(c) quality dispute open since {opened}"
        for opened, closed in disputes
        if opened <= on and (closed is None or on < closed)
    ]
    return blockers
