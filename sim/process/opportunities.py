"""Opportunities and contracts of a run, as entities and tables.

:class:`Opportunity` is the mutable record :mod:`sim.process.pipeline` keeps per qualified lead;
:func:`opportunity_tables` turns a run's opportunities and process event log
(:mod:`sim.process.process_events`) into the
``opportunities``, ``contracts`` and ``process_events`` frames of a
:class:`~sim.engine.result.RunResult`.  A scenario without a ``process:`` section gets the
empty frames below (same columns and dtypes), so every result has the three tables.

Money: ``expected_amount`` is the rep's float estimate (yuan); contract values are exact
**integer cents** (``value_cents``, int64) plus the same amount as a decimal string
(``value``, e.g. ``"1234567.89"``) that :class:`decimal.Decimal` reads exactly.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from policies.checkpoints import CHECKPOINTS
from sim.events import EventLog
from sim.process.process_events import PROCESS_EVENT_DTYPES, process_events_frame

__all__ = [
    "CONTRACT_COLUMNS",
    "Opportunity",
    "cents_to_text",
    "empty_contracts",
    "empty_opportunities",
    "empty_process_events",
    "opportunity_tables",
]

NAN = math.nan

STATUSES = ("open", "won", "lost")
CONTRACT_COLUMNS = (
    "contract_id",
    "opportunity_id",
    "lead_id",
    "customer_id",
    "rep_id",
    "region",
    "budget_band",
    "product_line",
    "signed_at",
    "value_cents",
    "value",
)
"""Columns of the contracts table: ``signed_at`` in hours since the scenario start,
``value_cents`` exact int64 cents, ``value`` the same as a decimal string."""


@dataclass(slots=True, eq=False)
class Opportunity:
    """A qualified lead on its way through the checkpoints (profile drawn when it opens)."""

    opportunity_id: int
    lead_id: int
    customer_id: int | None
    rep: int
    rep_region: str
    rep_strength: float
    lead_region: str
    grade: str
    budget_band: str
    industry: str
    product_line: str
    site_type: str
    opened: float
    demo_video_completion: float
    poc_revisions: int
    requirement_change_rate: float
    custom_development: bool
    visit_slip_days: float
    value_cents: int
    expected_amount: float
    status: str = "open"
    closed: float = NAN
    lost_at: int = -1
    lost_reason: str | None = None
    requirement_changes: int = 0
    pending_delay_days: float = 0.0
    legal_involved: float = NAN
    visits_planned: int = 0
    visits_held: int = 0
    visits_on_time: int = 0
    visits_overdue: int = 0
    awaited_visit: float = NAN  # planned time of the visit the rep is on the way to
    proof_attempts: int = 0
    proof_failures: int = 0
    proof_cached: int = 0
    fields_required: int = 0
    fields_filled_first: int = 0
    fields_recorded: int = 0
    diagnosis_fill_share: float = NAN  # need-diagnosis fields filled at first entry
    field_blocks: int = 0
    risk_reviews: int = 0
    passed: list | None = None  # pass time per checkpoint passed
    recorded: list | None = None  # CRM record time per checkpoint passed


def _opportunity_columns() -> dict[str, str]:
    cols = {
        "opportunity_id": "int64",
        "lead_id": "int64",
        "customer_id": "Int64",
        "rep_id": "string",
        "region": "string",
        "lead_region": "string",
        "grade": "string",
        "budget_band": "string",
        "industry": "string",
        "product_line": "string",
        "site_type": "string",
        "rep_strength": "float64",
        "opened_t": "float64",
        "closed_t": "float64",
        "status": "string",
        "lost_at": "string",
        "lost_reason": "string",
        "checkpoints_passed": "int64",
    }
    cols |= {f"passed_{c}_t": "float64" for c in CHECKPOINTS}
    cols |= {f"recorded_{c}_t": "float64" for c in CHECKPOINTS}
    cols |= {
        "cycle_days": "float64",
        "demo_video_completion": "float64",
        "poc_revisions": "int64",
        "requirement_change_rate": "float64",
        "requirement_changes": "int64",
        "custom_development": "bool",
        "legal_involved_t": "float64",
        "legal_days_before_signing": "float64",
        "visit_slip_days": "float64",
        "visits_planned": "int64",
        "visits_held": "int64",
        "visits_on_time": "int64",
        "visits_overdue": "int64",
        "proof_attempts": "int64",
        "proof_failures": "int64",
        "proof_cached": "int64",
        "fields_required": "int64",
        "fields_filled_first": "int64",
        "field_blocks": "int64",
        "fields_recorded": "int64",
        "diagnosis_fill_share": "float64",
        "data_completeness": "float64",
        "update_lag_days_mean": "float64",
        "risk_reviews": "int64",
        "expected_amount": "float64",
        "value_cents": "int64",
    }
    return cols


_CONTRACT_DTYPES = {
    "contract_id": "int64",
    "opportunity_id": "int64",
    "lead_id": "int64",
    "customer_id": "Int64",
    "rep_id": "string",
    "region": "string",
    "budget_band": "string",
    "product_line": "string",
    "signed_at": "float64",
    "value_cents": "int64",
    "value": "string",
}


def _empty(dtypes: dict) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series([], dtype=dtype) for name, dtype in dtypes.items()})


@functools.cache
def _empty_tables() -> dict[str, pd.DataFrame]:
    # Built once: constructing ~80 typed empty columns costs tens of ms, every run.
    return {
        "opportunities": _empty(_opportunity_columns()),
        "contracts": _empty(_CONTRACT_DTYPES),
        "process_events": _empty(PROCESS_EVENT_DTYPES),
    }


def empty_opportunities() -> pd.DataFrame:
    """The opportunities table of a run without a process model (no rows)."""
    return _empty_tables()["opportunities"].copy(deep=False)


def empty_contracts() -> pd.DataFrame:
    """The contracts table of a run without a process model (no rows)."""
    return _empty_tables()["contracts"].copy(deep=False)


def empty_process_events() -> pd.DataFrame:
    """The process event log of a run without a process model (no rows)."""
    return _empty_tables()["process_events"].copy(deep=False)


def cents_to_text(cents: int) -> str:
    """Exact decimal text of an amount in cents: ``123456789 -> '1234567.89'``."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(int(cents)), 100)
    return f"{sign}{whole}.{frac:02d}"


def _opportunities_frame(opps: Sequence[Opportunity], rep_ids: Sequence[str]) -> pd.DataFrame:
    def col(name: str) -> list:
        return [getattr(o, name) for o in opps]

    def padded(name: str) -> np.ndarray:
        out = np.full((len(opps), len(CHECKPOINTS)), NAN)
        for i, o in enumerate(opps):
            times = getattr(o, name) or []
            out[i, : len(times)] = times
        return out

    passed, recorded = padded("passed"), padded("recorded")
    n_passed = np.asarray([len(o.passed or []) for o in opps], dtype=np.int64)
    opened, closed = np.asarray(col("opened"), float), np.asarray(col("closed"), float)
    won = np.asarray([o.status == "won" for o in opps], dtype=bool)
    lag = (recorded - passed) / 24.0  # NaN where not passed, or not recorded by the horizon
    n_lag = (~np.isnan(lag)).sum(axis=1)
    lag_sum = np.where(np.isnan(lag), 0.0, lag).sum(axis=1)
    lag_mean = np.where(n_lag > 0, lag_sum / np.maximum(n_lag, 1), NAN)
    required = np.asarray(col("fields_required"), np.int64)
    filled = np.asarray(col("fields_filled_first"), np.int64)
    entered = np.asarray(col("fields_recorded"), np.int64)
    frame = pd.DataFrame(
        {
            "opportunity_id": np.asarray(col("opportunity_id"), np.int64),
            "lead_id": np.asarray(col("lead_id"), np.int64),
            "customer_id": pd.array(col("customer_id"), dtype="Int64"),
            "rep_id": pd.array([rep_ids[o.rep] for o in opps], dtype="string"),
            "region": pd.array(col("rep_region"), dtype="string"),
            "lead_region": pd.array(col("lead_region"), dtype="string"),
            "grade": pd.array(col("grade"), dtype="string"),
            "budget_band": pd.array(col("budget_band"), dtype="string"),
            "industry": pd.array(col("industry"), dtype="string"),
            "product_line": pd.array(col("product_line"), dtype="string"),
            "site_type": pd.array(col("site_type"), dtype="string"),
            "rep_strength": np.asarray(col("rep_strength"), float),
            "opened_t": opened,
            "closed_t": closed,
            "status": pd.array(col("status"), dtype="string"),
            "lost_at": pd.array(
                [CHECKPOINTS[o.lost_at] if o.lost_at >= 0 else None for o in opps], dtype="string"
            ),
            "lost_reason": pd.array(col("lost_reason"), dtype="string"),
            "checkpoints_passed": n_passed,
            **{f"passed_{c}_t": passed[:, i] for i, c in enumerate(CHECKPOINTS)},
            **{f"recorded_{c}_t": recorded[:, i] for i, c in enumerate(CHECKPOINTS)},
            "cycle_days": (closed - opened) / 24.0,
            "demo_video_completion": np.asarray(col("demo_video_completion"), float),
            "poc_revisions": np.asarray(col("poc_revisions"), np.int64),
            "requirement_change_rate": np.asarray(col("requirement_change_rate"), float),
            "requirement_changes": np.asarray(col("requirement_changes"), np.int64),
            "custom_development": np.asarray(col("custom_development"), bool),
            "legal_involved_t": np.asarray(col("legal_involved"), float),
            "legal_days_before_signing": np.where(
                won, (closed - np.asarray(col("legal_involved"), float)) / 24.0, NAN
            ),
            "visit_slip_days": np.asarray(col("visit_slip_days"), float),
            "visits_planned": np.asarray(col("visits_planned"), np.int64),
            "visits_held": np.asarray(col("visits_held"), np.int64),
            "visits_on_time": np.asarray(col("visits_on_time"), np.int64),
            "visits_overdue": np.asarray(col("visits_overdue"), np.int64),
            "proof_attempts": np.asarray(col("proof_attempts"), np.int64),
            "proof_failures": np.asarray(col("proof_failures"), np.int64),
            "proof_cached": np.asarray(col("proof_cached"), np.int64),
            "fields_required": required,
            "fields_filled_first": filled,
            "field_blocks": np.asarray(col("field_blocks"), np.int64),
            "fields_recorded": entered,
            "diagnosis_fill_share": np.asarray(col("diagnosis_fill_share"), float),
            "data_completeness": np.where(required > 0, entered / np.maximum(required, 1), NAN),
            "update_lag_days_mean": lag_mean,
            "risk_reviews": np.asarray(col("risk_reviews"), np.int64),
            "expected_amount": np.asarray(col("expected_amount"), float),
            "value_cents": np.asarray(col("value_cents"), np.int64),
        }
    )
    return frame.astype(_opportunity_columns())


def _contracts_frame(opportunities: pd.DataFrame) -> pd.DataFrame:
    won = opportunities[opportunities["status"] == "won"].sort_values(
        ["closed_t", "opportunity_id"], kind="mergesort"
    )
    frame = pd.DataFrame(
        {
            "contract_id": np.arange(1, len(won) + 1, dtype=np.int64),
            "opportunity_id": won["opportunity_id"].to_numpy(),
            "lead_id": won["lead_id"].to_numpy(),
            "customer_id": won["customer_id"].array,
            "rep_id": won["rep_id"].array,
            "region": won["region"].array,
            "budget_band": won["budget_band"].array,
            "product_line": won["product_line"].array,
            "signed_at": won["closed_t"].to_numpy(),
            "value_cents": won["value_cents"].to_numpy(),
            "value": [cents_to_text(c) for c in won["value_cents"]],
        }
    )
    return frame.astype(_CONTRACT_DTYPES)


def opportunity_tables(
    opps: Sequence[Opportunity],
    log: EventLog,
    rep_ids: Sequence[str],
    start: dt.datetime,
    horizon: float,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The opportunities, contracts and process-events tables of a finished run.

    Contracts are numbered 1, 2, ... in signing order (ties by opportunity id); events
    are in time order (ties in the order they were logged) up to the horizon.
    """
    opportunities = _opportunities_frame(opps, rep_ids) if opps else empty_opportunities()
    contracts = _contracts_frame(opportunities)
    events = process_events_frame(log, opportunities, start, horizon)
    return opportunities, contracts, events
