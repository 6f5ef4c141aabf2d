"""The result of one run: the event log plus entity tables, as DataFrames.

Everything downstream (KPIs, reports, experiments) is a pure function of a
:class:`RunResult`; nothing needs the SimPy environment after the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import attrgetter

import numpy as np
import pandas as pd

from policies.policy import PolicyBase
from sim.engine.columns import (
    inferred_str_array,
    null_string_array,
    string_array,
    string_array_of_codes,
)
from sim.engine.entities import Lead, Rep
from sim.engine.event_log import lead_events_frame
from sim.events import EventLog
from sim.process.opportunities import empty_contracts, empty_opportunities, empty_process_events
from sim.world.clock import SimClock
from sim.world.lead_attributes import ATTRIBUTE_NAMES, CATEGORIES, FLAGS
from sim.world.scenario import Scenario

__all__ = ["INTAKE_COLUMNS", "LEAD_COLUMNS", "RunResult", "build_result"]

LEAD_COLUMNS = ("lead_id", "arrived_t", *ATTRIBUTE_NAMES, "score", "grade", "customer_id")
"""Columns fixed at arrival (the attributes: :mod:`sim.world.lead_attributes`);
identical for every policy under the same seed.  (A field
the policy's intake defaulted holds the default; ``defaulted_fields`` names it.)
``customer_id`` is nullable ``Int64``, all NA when the scenario has no ``customer_pool``."""

_TEXT_COLUMNS = frozenset({*CATEGORIES, "grade"})
_FLAG_COLUMNS = frozenset(FLAGS)

INTAKE_COLUMNS = ("dropped_reason", "defaulted_fields")
"""What intake did (strings, NA when nothing): ``missing:<field>`` for a dropped lead,
comma-separated field names for defaulted ones (see :mod:`sim.engine.intake`)."""


@dataclass
class RunResult:
    """Scenario, policy and seed of a run, its event log and its entity tables."""

    scenario: Scenario
    policy: PolicyBase
    seed: tuple[int, ...]
    events: pd.DataFrame
    leads: pd.DataFrame
    reps: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    # The process model (sim.process.pipeline, sim.process.opportunities); empty without `process:`.
    opportunities: pd.DataFrame = field(default_factory=empty_opportunities)
    contracts: pd.DataFrame = field(default_factory=empty_contracts)
    process_events: pd.DataFrame = field(default_factory=empty_process_events)

    @property
    def arrivals(self) -> pd.DataFrame:
        """The leads table restricted to what was drawn at arrival (CRN check)."""
        return self.leads.loc[:, list(LEAD_COLUMNS)]


def _rep_ids(reps: Sequence[Rep]) -> np.ndarray:
    return np.asarray([*(r.rep_id for r in reps), None], dtype=object)  # -1 -> None


def _leads_frame(
    leads: Sequence[Lead], reps: Sequence[Rep], scenario: Scenario, drawn: dict | None = None
) -> pd.DataFrame:
    ids = _rep_ids(reps)
    drawn = drawn or {}
    n = len(leads)

    def column(name: str):
        if name in drawn:  # as drawn (the lead factory's blocks): no lead is read
            return drawn[name]
        values = list(map(attrgetter(name), leads))
        if name in _TEXT_COLUMNS:
            return inferred_str_array(values)
        if name in _FLAG_COLUMNS:
            return np.fromiter(values, bool, n)
        return values

    def rep_col(attr: str) -> pd.api.extensions.ExtensionArray:
        idx = np.fromiter(map(attrgetter(attr), leads), np.int64, n)
        return string_array_of_codes(ids, idx)

    def num(attr: str, dtype=float) -> np.ndarray:
        return np.fromiter(map(attrgetter(attr), leads), dtype, n)

    # One constructor call over ready-made arrays (no column-by-column inserts), with
    # the masked columns built from their data and mask directly.
    data = {
        "lead_id": num("lead_id", np.int64),
        "arrived_t": num("arrived"),
        **{name: column(name) for name in LEAD_COLUMNS[2:]},
    }
    data["timeline_days"] = np.array(data["timeline_days"], dtype=float)  # None -> NaN
    data["score"] = np.array(data["score"], dtype=np.int64)
    customers = data["customer_id"]
    if any(c is not None for c in customers):
        data["customer_id"] = pd.array(customers, dtype="Int64")
    else:  # no customer pool: all NA
        data["customer_id"] = pd.arrays.IntegerArray(np.zeros(n, np.int64), np.ones(n, bool))
    data["arrived"] = SimClock(scenario.start).timestamps(data["arrived_t"])
    data["first_rep"] = rep_col("first_rep")
    data["rep"] = rep_col("rep")
    data["touch_rep"] = rep_col("touch_rep")
    data["first_assigned_t"] = num("first_assigned")
    data["assigned_t"] = num("assigned")
    data["first_touch_t"] = num("first_touch")
    data["first_touch_hours"] = data["first_touch_t"] - data["arrived_t"]
    data["first_touch_business_hours"] = num("first_touch_business")
    data["assignments"] = num("assignments", np.int64)
    data["reminders"] = num("reminders", np.int64)
    data["reclaims"] = num("reclaims", np.int64)
    data["qualify_probability"] = num("qualify_probability")
    qualified = num("qualified", np.int64)  # -1 not decided (NA), 0 no, 1 yes
    data["qualified"] = pd.arrays.BooleanArray(qualified == 1, qualified < 0)
    return pd.DataFrame(data)


def _reps_frame(reps: Sequence[Rep], scenario: Scenario) -> pd.DataFrame:
    horizon = scenario.horizon_hours
    rows = []
    for rep in reps:
        start = max(rep.hire_t, scenario.warmup_hours)  # KPIs look at the window only
        available = rep.calendar.working_hours_between(start, horizon) if start < horizon else 0.0
        rows.append(
            {
                "rep_id": rep.rep_id,
                "region": rep.region,
                "calendar": rep.calendar_key,
                "hire_t": rep.hire_t if np.isfinite(rep.hire_t) else np.nan,
                "max_open_leads": rep.max_open if rep.max_open < 2**62 else np.nan,
                "leads_assigned": rep.leads_assigned,
                "a_leads_assigned": rep.a_leads_assigned,
                "touches": rep.touches,
                "leads_lost": rep.leads_lost,
                "reminders": rep.reminders,
                "busy_hours": rep.busy_hours,
                "working_hours": available,  # in [max(hire, warm-up), horizon)
                "open_leads_at_end": rep.open_leads,
            }
        )
    return pd.DataFrame(rows)


def build_result(
    scenario: Scenario,
    policy: PolicyBase,
    seed: tuple[int, ...],
    log: EventLog,
    leads: Sequence[Lead],
    reps: Sequence[Rep],
    dispatcher,
    intake=None,
    market=None,
    pipeline=None,
    drawn: dict | None = None,
) -> RunResult:
    """Assemble the tables of a finished run and its end-of-run warnings.

    *intake* is the run's :class:`sim.engine.intake.IntakeGate` (None: no intake stage, the intake
    columns are all NA); its warnings come first.  *market* is the run's
    :class:`sim.engine.marketplace.Market`, if the policy has one: claim reasons become a column.
    *pipeline* is the run's :class:`sim.process.pipeline.Pipeline` (None: no process model, the
    opportunity tables are empty).  *drawn* holds attribute columns of *leads* taken
    from the lead factory's draws (:meth:`sim.engine.lead_factory.LeadFactory.drawn_columns`)
    when the leads still hold their drawn values; the others are read from the leads.
    """
    warnings = intake.warnings(leads) if intake is not None else []
    pooled = dispatcher.pool_size()
    if pooled:
        warnings.append(f"{pooled} lead(s) were still waiting for an eligible rep at the end")
    stranded = sum(
        1 for lead in dispatcher.pooled_leads() if lead.lost_by and len(lead.lost_by) >= len(reps)
    )
    if stranded:
        warnings.append(f"{stranded} lead(s) were reclaimed from every rep and cannot be routed")
    reasons = market.reasons if market is not None else {}
    if market is not None and len(market):
        warnings.append(f"{len(market)} lead(s) were still unclaimed in the marketplace at the end")
    if reasons:
        claim_reason = string_array([reasons.get(lead.lead_id) for lead in leads])
    else:
        claim_reason = null_string_array(len(leads))
    return RunResult(
        scenario=scenario,
        policy=policy,
        seed=tuple(seed),
        events=lead_events_frame(log, scenario.start, [r.rep_id for r in reps]),
        leads=_leads_frame(leads, reps, scenario, drawn).assign(
            **_intake_columns(leads, intake), claim_reason=claim_reason
        ),
        reps=_reps_frame(reps, scenario),
        warnings=warnings,
        **_process_tables(pipeline, reps),
    )


def _process_tables(pipeline, reps: Sequence[Rep]) -> dict[str, pd.DataFrame]:
    if pipeline is None:
        return {}
    opportunities, contracts, events = pipeline.tables([r.rep_id for r in reps])
    return {"opportunities": opportunities, "contracts": contracts, "process_events": events}


def _intake_columns(leads: Sequence[Lead], intake) -> dict[str, pd.api.extensions.ExtensionArray]:
    if intake is not None:
        return intake.columns(leads)
    return {name: null_string_array(len(leads)) for name in INTAKE_COLUMNS}
