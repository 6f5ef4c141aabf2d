"""The intake stage of the lead flow: the policy's channel mapping applied during a run,
its run-start check, and counters over the finished run (DOMAIN.md 1.2).

The source's failure: a new channel had no mapping, its leads arrived without a
Timeline, Timeline was required, and every lead of that channel was filtered out with
no error anywhere.  Here that cannot pass unnoticed:

- before the run, :func:`intake_gaps` finds every channel of the scenario that can bring
  a lead without a required field while ``intake.channel_defaults`` has no default for
  it; with ``intake.strict_channels`` the run refuses to start (a one-line
  :class:`~sim.errors.ConfigError`, exit 2 in the CLI);
- during the run, :class:`IntakeGate` admits, defaults or drops each arriving lead and
  remembers why (a dropped lead gets a ``lead_dropped`` event and is never routed);
- after the run, the gate's warnings name each unmapped channel with the number of
  leads dropped, the leads table has ``dropped_reason`` / ``defaulted_fields``,
  :func:`intake_counts` counts them by channel and reason, and the KPIs
  ``leads_dropped``, ``leads_defaulted`` and ``dropped_share`` report them.

Defaulting is recorded in the ``defaulted_fields`` column only (no event): it happens
at the arrival instant and changes no lead's path, so an event would add a row per
defaulted lead with nothing the column does not already say.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from policies.intake import INTAKE_FIELDS, Intake, IntakeParams
from policies.policy import PolicyBase
from policies.scoring import SCORERS
from sim.engine.columns import null_string_array, string_array
from sim.engine.lead_factory import missing_probability
from sim.errors import ConfigError
from sim.world.scenario import Scenario

if TYPE_CHECKING:
    from sim.engine.entities import Lead
    from sim.engine.result import RunResult

__all__ = [
    "INTAKE_COUNT_COLUMNS",
    "IntakeGap",
    "IntakeGate",
    "intake_counts",
    "intake_gaps",
    "potential_grades",
]

_COLUMNS = (
    "dropped_reason",
    "defaulted_fields",
)  # = sim.engine.result.INTAKE_COLUMNS (no import cycle)

INTAKE_COUNT_COLUMNS = ("channel", "reason", "action", "leads", "a_leads_lost")
"""Columns of :func:`intake_counts`."""


@dataclass(frozen=True)
class IntakeGap:
    """A channel of the scenario that can bring a lead without *field*, unmapped by the
    policy: its leads keep the field missing, or are dropped when it is required."""

    channel: str
    field: str
    required: bool
    p_missing: float  # probability that a lead of the channel lacks the field


def intake_gaps(scenario: Scenario, params: IntakeParams) -> list[IntakeGap]:
    """Every (channel, field) of the scenario's channel mix (positive weight) where the
    field can be missing and ``params.channel_defaults`` has no default, mix order."""
    required = set(params.required_fields)
    gaps = []
    for channel, weight in scenario.leads.channels.items():
        if weight <= 0:
            continue
        for name in INTAKE_FIELDS:
            p = missing_probability(scenario.leads, name, channel)
            if p > 0 and params.default_for(channel, name) is None:
                gaps.append(IntakeGap(channel, name, name in required, p))
    return gaps


def _strict_error(policy: PolicyBase, gaps: Sequence[IntakeGap]) -> ConfigError:
    """One line naming the policy field and the unmapped channel(s)."""
    parts = [
        f"channel {g.channel!r} has no default for required {g.field} "
        f"(missing on {g.p_missing:.0%} of its leads)"
        for g in gaps
    ]
    return ConfigError(
        f"policy {policy.name!r}: intake.channel_defaults: {'; '.join(parts)}; "
        "intake.strict_channels refuses to run (add the mapping or turn the switch off)"
    )


class IntakeGate:
    """The run-time intake stage: applies the policy's :class:`~policies.intake.Intake`
    to each arriving lead, before it is scored, and records the outcome by lead id.

    Construction is the run-start check: with ``intake.strict_channels`` on, a required
    field that some channel can leave unmapped raises :class:`~sim.errors.ConfigError`.
    """

    def __init__(self, scenario: Scenario, policy: PolicyBase) -> None:
        params: IntakeParams = policy.intake
        self._intake = Intake(params)
        self.active = params.active  # False: admit() is a no-op (no policy intake)
        # Unrequired gaps matter only once the policy uses a mapping at all; without one
        # every lead keeps its missing fields, as before intake existed.
        self.gaps = [
            g for g in intake_gaps(scenario, params) if g.required or params.channel_defaults
        ]
        if params.strict_channels and any(g.required for g in self.gaps):
            raise _strict_error(policy, [g for g in self.gaps if g.required])
        self._channels = list(scenario.leads.channels)
        self._foreign = [c for c in params.channel_defaults if c not in self._channels]
        self.dropped: dict[int, str] = {}  # lead id -> reason, e.g. "missing:timeline_days"
        self.defaulted: dict[int, str] = {}  # lead id -> defaulted fields, comma-separated

    def admit(self, lead: Lead) -> int | None:
        """Fill *lead*'s missing fields from its channel's defaults, or drop it.

        Returns None when the lead is admitted, else the reason code logged as the
        ``lead_dropped`` event's value.
        """
        if not self.active:
            return None
        outcome = self._intake.admit(lead)
        if not outcome.admitted:
            self.dropped[lead.lead_id] = outcome.dropped_reason  # type: ignore[assignment]
            return outcome.reason_code
        if outcome.filled:
            for name, value in outcome.filled.items():
                setattr(lead, name, value)
            self.defaulted[lead.lead_id] = ",".join(outcome.defaulted)
        return None

    def columns(self, leads: Sequence[Lead]) -> dict[str, pd.api.extensions.ExtensionArray]:
        """``dropped_reason`` and ``defaulted_fields`` of *leads* (NA when none)."""
        if not (self.dropped or self.defaulted):  # the common case: intake changed nothing
            return {name: null_string_array(len(leads)) for name in _COLUMNS}
        ids = [lead.lead_id for lead in leads]
        return {
            "dropped_reason": string_array([self.dropped.get(i) for i in ids]),
            "defaulted_fields": string_array([self.defaulted.get(i) for i in ids]),
        }

    def warnings(self, leads: Sequence[Lead]) -> list[str]:
        """End-of-run warnings: every gap with its lead count over the whole run, and
        mapped channels the scenario does not have (a typo hides the real channel)."""
        if not (self.gaps or self._foreign):
            return []
        by_lead = {lead.lead_id: lead for lead in leads}
        dropped = Counter(
            (by_lead[i].channel, reason.removeprefix("missing:"))
            for i, reason in self.dropped.items()
        )
        out = []
        for gap in self.gaps:
            if gap.required:
                n = dropped[(gap.channel, gap.field)]
                out.append(
                    f"channel {gap.channel!r} has no mapping: {n} leads dropped "
                    f"(missing:{gap.field}); add it to intake.channel_defaults"
                )
            else:
                n = sum(
                    1
                    for lead in leads
                    if lead.channel == gap.channel
                    and getattr(lead, gap.field) is None
                    and lead.lead_id not in self.dropped
                )
                out.append(
                    f"channel {gap.channel!r} has no mapping for {gap.field}: {n} leads "
                    "kept without it (scored as missing)"
                )
        known = ", ".join(self._channels)
        out.extend(
            f"intake.channel_defaults maps channel {channel!r}, which the scenario does not "
            f"have (its channels: {known})"
            for channel in self._foreign
        )
        return out


# -- counters over a finished run -------------------------------------------------------


def _reference_values(leads: pd.DataFrame) -> dict[str, float]:
    """Per intake field: the median of its values as drawn (present and not defaulted)
    over the run's leads; fields never observed are left out."""
    out = {}
    defaulted = leads["defaulted_fields"].fillna("")
    for name in INTAKE_FIELDS:
        own = leads[name].notna() & ~defaulted.str.split(",").map(lambda f, n=name: n in f)
        if own.any():
            out[name] = float(leads.loc[own, name].median())
    return out


def potential_grades(result: RunResult, dropped: pd.DataFrame) -> pd.Series:
    """The grade each dropped lead would have had if admitted.

    Definition: the lead's missing fields get its channel's defaults (as intake would
    apply them); a *required* field still missing gets the reference value, the median
    of that field over the run's leads that had it (:func:`_reference_values`); a field
    never observed in the run stays missing.  The policy's own scorer then grades it.
    """
    policy = result.policy
    scorer = SCORERS.build(policy.scoring)
    reference = _reference_values(result.leads)
    required = policy.intake.required_fields
    grades = []
    for row in dropped.itertuples(index=False):
        lead = SimpleNamespace(**row._asdict())
        for name in INTAKE_FIELDS:
            value = getattr(lead, name)
            if value is None or value != value:  # missing (None or NaN)
                fill = policy.intake.default_for(lead.channel, name)
                if fill is None and name in required:
                    fill = reference.get(name)
                setattr(lead, name, fill)
        grades.append(scorer.grade(scorer.score(lead)))
    return pd.Series(grades, index=dropped.index, dtype=object)


def intake_counts(result: RunResult, whole_run: bool = False) -> pd.DataFrame:
    """What intake did, by channel and reason: one row per (channel, reason, action).

    ``action`` is ``dropped`` or ``defaulted``; ``reason`` is ``missing:<field>``; a lead
    defaulted on two fields counts in two rows.  ``leads`` counts the leads;
    ``a_leads_lost`` counts the dropped leads whose potential grade is A (see
    :func:`potential_grades`; 0 for defaulted rows, which were routed).  Like the KPIs it
    looks at the measurement window (leads arriving after the warm-up) unless
    *whole_run*.  Rows: dropped first, then by channel and reason.
    """
    leads = result.leads
    if not whole_run:
        leads = leads[leads["arrived_t"] >= result.scenario.warmup_hours]
    frames = []
    dropped = leads[leads["dropped_reason"].notna()]
    if len(dropped):
        frame = dropped[["channel", "dropped_reason"]].rename(columns={"dropped_reason": "reason"})
        frame = frame.assign(
            action="dropped", a_lost=(potential_grades(result, dropped) == "A").astype(int)
        )
        frames.append(frame)
    defaulted = leads[leads["defaulted_fields"].notna()]
    if len(defaulted):
        fields = defaulted["defaulted_fields"].str.split(",").explode()
        frames.append(
            pd.DataFrame(
                {
                    "channel": defaulted.loc[fields.index, "channel"].to_numpy(),
                    "reason": ("missing:" + fields.astype(str)).to_numpy(),
                    "action": "defaulted",
                    "a_lost": 0,
                }
            )
        )
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=_DTYPES[c]) for c in INTAKE_COUNT_COLUMNS})
    table = (
        pd.concat(frames, ignore_index=True)
        .astype({"channel": str, "reason": str})
        .groupby(["action", "channel", "reason"], sort=True)
        .agg(leads=("a_lost", "size"), a_leads_lost=("a_lost", "sum"))
        .reset_index()
    )
    table["order"] = np.where(table["action"] == "dropped", 0, 1)
    table = table.sort_values(["order", "channel", "reason"], kind="stable")
    return table.loc[:, list(INTAKE_COUNT_COLUMNS)].astype(_DTYPES).reset_index(drop=True)


_DTYPES = {
    "channel": object,
    "reason": object,
    "action": object,
    "leads": np.int64,
    "a_leads_lost": np.int64,
}
