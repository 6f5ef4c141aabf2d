"""Payments in the simulation: from won contracts to a ledger, and the monthly runs.

:func:`simulate_ledger` takes a contracts table (one row per won deal: ``contract_id,
lead_id, customer_id, rep_id, region, budget_band, signed_at`` in hours since the run
start, ``value``; the engine's contracts table, or :func:`synthetic_contracts`) and draws,
per contract: an installment schedule with invoice and due dates, whether each
installment is paid on time, late (by a delay distribution) or never, by customer
segment (``budget_band``); the bank-proof upload lag; the fulfilment date; quality
disputes that open and close; and a channel (with its ERP invoice feed).  Every draw
comes from a named stream (:mod:`sim.world.randomness`), so a seed gives the same ledger.

:func:`monthly_runs` places the monthly incentive runs on the working-day calendar
(:class:`sim.world.calendars.WorkingDays`: weekends, public holidays, adjusted workdays).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.errors import DataError
from sim.incentives.ledger import (
    ChannelInvoice,
    Contract,
    Dispute,
    IncentiveRun,
    Installment,
    Ledger,
    Payment,
)
from sim.world.calendars import WorkingDays
from sim.world.clock import SimClock
from sim.world.distributions import Distribution, Exponential, LogNormal, Uniform
from sim.world.randomness import Streams

__all__ = [
    "CONTRACT_COLUMNS",
    "PaymentBehaviour",
    "SegmentPayment",
    "fit_payment_delays",
    "ledger_runs",
    "monthly_runs",
    "simulate_ledger",
    "synthetic_contracts",
]

CONTRACT_COLUMNS = (
    "contract_id",
    "lead_id",
    "customer_id",
    "rep_id",
    "region",
    "budget_band",
    "signed_at",
    "value",
)
_STRICT = ConfigDict(extra="forbid", frozen=True)


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)


def monthly_runs(
    first: dt.date, last: dt.date, days: WorkingDays, nth_working_day: int = 5
) -> list[IncentiveRun]:
    """One run per month from *first*'s month to *last*'s: on the *nth* working day of the
    next month, paying what was payable by the month's end."""
    runs = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        nxt = (year + month // 12, month % 12 + 1)
        runs.append(
            IncentiveRun(
                f"{year:04d}-{month:02d}",
                _month_end(year, month),
                days.nth_of_month(*nxt, nth_working_day),
            )
        )
        year, month = nxt
    return runs


def ledger_runs(
    ledger, last: dt.date, nth_working_day: int, country: str | None
) -> tuple[list[IncentiveRun], WorkingDays]:
    """Monthly runs from *ledger*'s first signing to the month of *last*, and the
    working-day calendar (public holidays of *country*) they were dated with."""
    first = min((c.signed_on for c in ledger.contracts.values()), default=last)
    first = min(first, last)
    days = WorkingDays(first, last + dt.timedelta(days=62), country)
    return monthly_runs(first, last, days, nth_working_day), days


class SegmentPayment(BaseModel):
    """How one customer segment pays an installment: on time, late or never."""

    model_config = _STRICT
    on_time: float = Field(0.64, ge=0, le=1)
    never: float = Field(0.0, ge=0, le=1)
    late_days: Distribution = LogNormal(mean=20.0, sd=25.0)
    early_days: Distribution = Uniform(low=0.0, high=10.0)

    @model_validator(mode="after")
    def _shares(self) -> SegmentPayment:
        if self.on_time + self.never > 1:
            raise ValueError(f"on_time + never must be <= 1, got {self.on_time + self.never}")
        return self


class PaymentBehaviour(BaseModel):
    """Installment schedule and customer behaviour (Decision: defaults where the source is
    silent; the late-day tail is heavier than the IBM sample so freezes occur)."""

    model_config = _STRICT
    installments: int = Field(3, ge=1, le=24)
    interval_days: int = Field(30, ge=1)
    terms_days: int = Field(30, ge=0)
    segments: dict[str, SegmentPayment] = Field(
        default_factory=lambda: {
            "small": SegmentPayment(on_time=0.6, never=0.03),
            "medium": SegmentPayment(on_time=0.65, never=0.02),
            "large": SegmentPayment(on_time=0.7, never=0.01),
        }
    )
    default_segment: SegmentPayment = SegmentPayment(never=0.02)
    proof_lag_days: Distribution = Exponential(mean=3.0)
    proof_missing: float = Field(0.02, ge=0, le=1)
    fulfilment_days: Distribution = Exponential(mean=20.0)
    dispute_probability: float = Field(0.1, ge=0, le=1)
    dispute_days: Distribution = Exponential(mean=15.0)
    channel_share: float = Field(0.4, ge=0, le=1)
    channels: dict[str, float] = Field(default_factory=lambda: {"Y": 1.0, "Z": 1.0})


def synthetic_contracts(
    n: int, seed: int = 0, *, reps: int = 6, horizon_days: float = 180.0
) -> pd.DataFrame:
    """A small contracts table in the engine's shape, for demos and tests.

    *n* contracts signed uniformly over the horizon by *reps* reps (``rep01``...), one
    customer each; budget band small/medium/large (50/35/15%) with values lognormal
    around 200 k / 800 k / 3 M, rounded to 1,000.
    """
    if n < 0 or reps < 1:
        raise ValueError(f"need n >= 0 and reps >= 1, got n={n}, reps={reps}")
    rng = Streams(seed).get("synthetic.contracts")
    bands = rng.choice(["small", "medium", "large"], size=n, p=[0.5, 0.35, 0.15])
    centre = pd.Series(bands).map({"small": 2e5, "medium": 8e5, "large": 3e6}).to_numpy()
    values = np.round(centre * rng.lognormal(0.0, 0.4, size=n), -3).clip(min=1000)
    signed = np.sort(rng.uniform(0, horizon_days * 24, size=n))
    width = len(str(reps))
    return pd.DataFrame(
        {
            "contract_id": [f"C{i + 1:05d}" for i in range(n)],
            "lead_id": np.arange(n),
            "customer_id": [f"K{i + 1:05d}" for i in range(n)],
            "rep_id": [f"rep{int(k) + 1:0{width}d}" for k in rng.integers(0, reps, size=n)],
            "region": rng.choice(["east", "north", "south"], size=n),
            "budget_band": bands,
            "signed_at": signed,
            "value": values,
        }
    )


def _exact_value(row) -> Decimal:
    """The contract value as exact cents: ``value_cents`` when the table has it (the
    engine's), else ``value`` as text (a decimal string) or a float rounded to the cent."""
    cents = getattr(row, "value_cents", None)
    if cents is not None and not pd.isna(cents):
        return Decimal(int(cents)) / 100
    if isinstance(row.value, str):
        return Decimal(row.value).quantize(Decimal("0.01"))
    return Decimal(str(round(float(row.value), 2)))


def _customer(row) -> str:
    """Customer id as text; a lead without one is its own customer (``lead-<id>``)."""
    if row.customer_id is None or pd.isna(row.customer_id):
        return f"lead-{row.lead_id}"
    return str(row.customer_id)


def _days(value: float) -> dt.timedelta:
    return dt.timedelta(days=int(np.rint(value)))


def _split(value: Decimal, parts: int) -> list[Decimal]:
    """*value* in *parts* whole-cent installments; the last takes the remainder."""
    share = (value / parts).quantize(Decimal("0.01"))
    return [share] * (parts - 1) + [value - share * (parts - 1)]


def simulate_ledger(
    contracts: pd.DataFrame, start: dt.datetime, behaviour: PaymentBehaviour, seed: int = 0
) -> Ledger:
    """Draw installments, payments, proofs, fulfilment, disputes and channel feed rows.

    Each contract draws from streams named after its id, so adding a contract never
    changes another's payments (common random numbers across policies and tables).
    """
    missing = [c for c in CONTRACT_COLUMNS if c not in contracts.columns]
    if missing:
        raise DataError(f"contracts table lacks column(s) {', '.join(missing)}")
    streams, clock = Streams(seed), SimClock(start)
    ledger = Ledger(contracts={})
    channel_names = sorted(behaviour.channels)
    weights = np.array([behaviour.channels[c] for c in channel_names], dtype=float)
    for row in contracts.itertuples(index=False):
        contract_id = str(row.contract_id)
        rng = streams.get(f"payments.{contract_id}")
        signed_on = clock.date_at(float(row.signed_at))
        value = _exact_value(row)
        customer = _customer(row)
        segment = behaviour.segments.get(str(row.budget_band), behaviour.default_segment)
        channel = None
        if channel_names and rng.random() < behaviour.channel_share:
            channel = str(rng.choice(channel_names, p=weights / weights.sum()))
        fulfilled_on = signed_on + _days(behaviour.fulfilment_days.sample(rng, 1)[0])
        installments = []
        for k, amount in enumerate(_split(value, behaviour.installments), start=1):
            invoiced = signed_on + dt.timedelta(days=(k - 1) * behaviour.interval_days)
            due = invoiced + dt.timedelta(days=behaviour.terms_days)
            installments.append(Installment(k, invoiced, due, amount))
            ledger.payments += _installment_payment(
                contract_id, k, due, amount, segment, behaviour, rng
            )
            if channel is not None:
                ledger.channel_invoices.append(
                    ChannelInvoice(f"{contract_id}-{k}", channel, customer, amount, invoiced)
                )
        if rng.random() < behaviour.dispute_probability:
            opened = signed_on + _days(
                rng.uniform(0, behaviour.interval_days * behaviour.installments)
            )
            closed = opened + dt.timedelta(days=1) + _days(behaviour.dispute_days.sample(rng, 1)[0])
            ledger.disputes.append(Dispute(contract_id, opened, closed))
        ledger.contracts[contract_id] = Contract(
            contract_id=contract_id,
            rep_id=str(row.rep_id),
            customer_id=customer,
            value=value,
            signed_on=signed_on,
            installments=tuple(installments),
            channel=channel,
            fulfilled_on=fulfilled_on,
        )
    return ledger


def _installment_payment(contract_id, number, due, amount, segment, behaviour, rng):
    """The payment of one installment (none when the customer never pays)."""
    u = rng.random()
    early = segment.early_days.sample(rng, 1)[0]
    late = segment.late_days.sample(rng, 1)[0]
    proof_lag = behaviour.proof_lag_days.sample(rng, 1)[0]
    proof_missing = rng.random() < behaviour.proof_missing
    if u < segment.never:
        return []
    received = (
        due - _days(early) if u < segment.never + segment.on_time else due + _days(max(late, 1.0))
    )
    proof = None if proof_missing else received + _days(proof_lag)
    return [Payment(f"{contract_id}-{number}", contract_id, amount, received, proof, number)]


def fit_payment_delays(days_late: np.ndarray, never_share: float = 0.0) -> SegmentPayment:
    """A :class:`SegmentPayment` fitted to observed days late (0 = on time).

    The on-time share is the share of zeros; the late days (> 0) get a lognormal fitted by
    maximum likelihood (``scipy.stats.lognorm``, location 0), stated by its mean and sd.
    """
    from scipy import stats

    days = np.asarray(days_late, dtype=float)
    if days.size == 0 or np.any(days < 0) or not np.all(np.isfinite(days)):
        raise ValueError("days_late must be a non-empty array of finite values >= 0")
    late = days[days > 0]
    on_time = float(np.mean(days == 0)) * (1 - never_share)
    if late.size < 2:
        return SegmentPayment(on_time=on_time, never=never_share)
    shape, _, scale = stats.lognorm.fit(late, floc=0)
    mu, sigma = float(np.log(scale)), float(shape)
    mean = float(np.exp(mu + sigma**2 / 2))
    sd = float(np.sqrt((np.exp(sigma**2) - 1) * np.exp(2 * mu + sigma**2)))
    return SegmentPayment(on_time=on_time, never=never_share, late_days=LogNormal(mean=mean, sd=sd))
