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
from sim.engine.columns import inferred_str_array, null_string_array, string_array
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


def _leads_frame(leads: Sequence[Lead], reps: Sequence[Rep], scenario: Scenario) -> pd.DataFrame:
    ids = _rep_ids(reps)
    n = len(leads)

    def column(name: str):
        values = list(map(attrgetter(name), leads))
        if name in _TEXT_COLUMNS:
            return inferred_str_array(values)
        if name in _FLAG_COLUMNS:
            return np.fromiter(values, bool, n)
        return values

    frame = pd.DataFrame(
        {
            "lead_id": np.fromiter(map(attrgetter("lead_id"), leads), np.int64, n),
            "arrived_t": np.fromiter(map(attrgetter("arrived"), leads), float, n),
            **{name: column(name) for name in LEAD_COLUMNS[2:]},
        }
    )
    frame["timeline_days"] = frame["timeline_days"].astype(float)
    frame["score"] = frame["score"].astype(np.int64)
    frame["customer_id"] = pd.array(frame["customer_id"].tolist(), dtype="Int64")
    frame["arrived"] = SimClock(scenario.start).timestamps(frame["arrived_t"].to_numpy())

    def rep_col(attr: str) -> pd.Series:
        idx = np.fromiter(map(attrgetter(attr), leads), np.int64, len(leads))
        return string_array(ids[idx])

    def num(attr: str, dtype=float) -> np.ndarray:
        return np.fromiter(map(attrgetter(attr), leads), dtype, len(leads))

    frame["first_rep"] = rep_col("first_rep")
    frame["rep"] = rep_col("rep")
    frame["touch_rep"] = rep_col("touch_rep")
    frame["first_assigned_t"] = num("first_assigned")
    frame["assigned_t"] = num("assigned")
    frame["first_touch_t"] = num("first_touch")
    frame["first_touch_hours"] = frame["first_touch_t"] - frame["arrived_t"]
    frame["first_touch_business_hours"] = num("first_touch_business")
    frame["assignments"] = num("assignments", np.int64)
    frame["reminders"] = num("reminders", np.int64)
    frame["reclaims"] = num("reclaims", np.int64)
    frame["qualify_probability"] = num("qualify_probability")
    qualified = num("qualified", np.int64)
    frame["qualified"] = pd.array(np.where(qualified < 0, None, qualified == 1), dtype="boolean")
    return frame


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
) -> RunResult:
    """Assemble the tables of a finished run and its end-of-run warnings.

    *intake* is the run's :class:`sim.engine.intake.IntakeGate` (None: no intake stage, the intake
    columns are all NA); its warnings come first.  *market* is the run's
    :class:`sim.engine.marketplace.Market`, if the policy has one: claim reasons become a column.
    *pipeline* is the run's :class:`sim.process.pipeline.Pipeline` (None: no process model, the
    opportunity tables are empty).
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
    claim_reason = string_array([reasons.get(lead.lead_id) for lead in leads])
    return RunResult(
        scenario=scenario,
        policy=policy,
        seed=tuple(seed),
        events=lead_events_frame(log, scenario.start, [r.rep_id for r in reps]),
        leads=_leads_frame(leads, reps, scenario).assign(
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
