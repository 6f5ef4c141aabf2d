"""Opportunity stage progression: one SimPy process per qualified lead.

When a touched lead qualifies, :meth:`Pipeline.open` makes it an :class:`Opportunity`
and starts :func:`_progress`, which works the five checkpoints in order (DOMAIN.md 2):

1. the stage's work (duration by grade, rep skill and budget band; POC revisions; a
   custom-development request and late legal work; delays from requirement changes);
2. the planned visits, each held late by its slip, each needing proof of action under
   the policy's proof rule (a failed proof means a re-visit; too many and the deal stalls
   and is lost);
3. the structured fields (missing required ones block until fixed) and, above the
   risk threshold, the risk form and director approval;
4. the customer's decision: pass (odds by grade, skill, band and planted effects) or lost.

Passing goes through :class:`policies.checkpoints.CheckpointLedger`, which refuses a skip.
The deal is recorded in the CRM some days after each pass (update lag; none with the
policy's ``record_on_pass``).  After the last checkpoint the deal is won: a contract
(value by budget band, exact cents) and a hand-off to customer success.  Requirement
changes run as a second process per opportunity.

Randomness: every opportunity draws its whole profile and every uniform it may need
when it opens, from its own generator keyed by the lead id (``opportunity`` stream of
the run's seed), in a fixed order and amount.  The same lead therefore gets the same
deal under every policy (common random numbers), whatever the proof rule asks.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from policies.checkpoints import (
    CHECKPOINTS,
    CheckpointLedger,
    CheckpointPolicy,
    Evidence,
    attempt_proof,
)
from sim.errors import ConfigError
from sim.events import EventLog
from sim.process.opportunities import Opportunity, opportunity_tables
from sim.process.process_events import PROCESS_EVENTS, ProcessKind
from sim.world.process_spec import ProcessSpec

__all__ = ["MAX_CHANGES", "MAX_FIELDS", "MAX_REVISIONS", "MAX_UPLOADS", "Pipeline"]

DAY = 24.0
MAX_UPLOADS = 10  # uniforms drawn per proof attempt, whatever the rule uses
MAX_FIELDS = 10  # uniforms drawn per checkpoint for its structured fields
MAX_REVISIONS = 10  # POC revisions beyond this are not simulated
MAX_CHANGES = 32  # requirement changes beyond this per deal are not simulated
_STREAM = zlib.crc32(b"opportunity")
_N = len(CHECKPOINTS)
_POC, _TERMS, _LEGAL = (
    CHECKPOINTS.index(c) for c in ("poc_proposal", "commercial_terms", "legal_review")
)


def _pick(mix: dict[str, float], u: float) -> str:
    """The key of *mix* whose cumulative weight interval holds *u* in [0, 1)."""
    total, acc = sum(mix.values()), 0.0
    for key, weight in mix.items():
        acc += weight / total
        if u < acc:
            return key
    return next(reversed(mix))


@dataclass(slots=True)
class _Draws:
    """Everything one opportunity may need, drawn at once (fixed shapes)."""

    stage_u: np.ndarray  # (5,) customer decision per checkpoint
    duration: np.ndarray  # (5,) base stage durations, days
    slip: np.ndarray  # (5, visits, attempts) unit-mean exponentials
    proof_u: np.ndarray  # (5, visits, attempts, MAX_UPLOADS)
    revisit: np.ndarray  # (5, visits, attempts) days
    field_u: np.ndarray  # (5, MAX_FIELDS)
    fix: np.ndarray  # (5,) days
    lag: np.ndarray  # (5,) days
    approval: float  # days
    late_legal: float  # days
    revision_days: np.ndarray  # (MAX_REVISIONS,)
    change_gaps: np.ndarray  # (MAX_CHANGES,) unit-rate exponentials


class Pipeline:
    """The opportunities of one run: opens them, runs them, and tables them at the end."""

    def __init__(self, env, spec: ProcessSpec, policy: CheckpointPolicy, seed, scenario) -> None:
        bands = set(scenario.leads.budget_bands)
        missing = sorted(bands - set(spec.contract_value))
        if missing:
            raise ConfigError(
                f"scenario {scenario.name}: process.contract_value has no distribution for "
                f"budget band(s) {', '.join(missing)}"
            )
        self.env, self.spec, self.policy = env, spec, policy
        self.seed = tuple(seed)
        self.scenario = scenario
        self.log = EventLog(PROCESS_EVENTS)
        self.opportunities: list[Opportunity] = []
        self._record = self.log.add
        # Called as on_won(rep index, close cycle in days) when a deal is won; the engine
        # sets it when the policy's capability match learns cycles from the run.
        self.on_won: Callable[[int, float], None] | None = None

    @classmethod
    def for_run(cls, env, scenario, policy, streams) -> Pipeline | None:
        """The run's pipeline, or None when the scenario has no ``process:`` section."""
        if scenario.process is None:
            return None
        return cls(env, scenario.process, policy.checkpoints, streams.seed, scenario)

    def _rng(self, lead_id: int) -> np.random.Generator:
        seq = np.random.SeedSequence(list(self.seed), spawn_key=(_STREAM, int(lead_id)))
        return np.random.Generator(np.random.PCG64(seq))

    def open(self, lead, rep) -> None:
        """Make the qualified *lead*, touched by *rep*, an opportunity and start it."""
        spec, env = self.spec, self.env
        rng = self._rng(lead.lead_id)
        u = rng.random(4)
        demo = min(1.0, float(spec.demo_completion.sample(rng, 1)[0]))
        revisions = min(MAX_REVISIONS, int(rng.poisson(spec.poc_revisions_mean)))
        change_rate = float(spec.requirement_changes.rate_per_30_days.sample(rng, 1)[0])
        slip = float(spec.visits.slip_days.sample(rng, 1)[0])
        value = float(spec.contract_value[lead.budget_band].sample(rng, 1)[0])
        noise = float(rng.normal(0.0, 1.0))
        error = spec.data_entry.expected_amount_error
        opp = Opportunity(
            opportunity_id=len(self.opportunities),
            lead_id=lead.lead_id,
            customer_id=lead.customer_id,
            rep=rep.index,
            rep_region=rep.region,
            rep_strength=rep.strength,
            lead_region=lead.region,
            grade=lead.grade,
            budget_band=lead.budget_band,
            industry=lead.industry,
            product_line=_pick(spec.product_lines, u[0]),
            site_type=_pick(spec.site_types, u[1]),
            opened=env.now,
            demo_video_completion=demo,
            poc_revisions=revisions,
            requirement_change_rate=change_rate,
            custom_development=bool(u[2] < spec.custom_development.probability),
            visit_slip_days=slip,
            value_cents=round(value * 100),
            expected_amount=value * math.exp(error * noise - error * error / 2),
            passed=[],
            recorded=[],
        )
        draws = self._draw(rng)
        opp.diagnosis_fill_share = self._diagnosis_fill_share(opp, draws)
        self.opportunities.append(opp)
        self._record(env.now, ProcessKind.opportunity_opened, opp.opportunity_id)
        self.log.settle()  # keeps the log packed: once per opportunity, not per event
        env.process(_progress(self, opp, draws))
        if change_rate > 0:
            gaps = draws.change_gaps * 30.0 * DAY / change_rate
            env.process(_requirement_changes(self, opp, gaps))

    def _draw(self, rng: np.random.Generator) -> _Draws:
        spec = self.spec
        visits, attempts = spec.visits.per_stage, spec.visits.max_proof_attempts
        shape = (_N, visits, attempts)
        return _Draws(
            stage_u=rng.random(_N),
            duration=np.asarray([s.duration_days.sample(rng, 1)[0] for s in spec.stages.values()]),
            slip=rng.exponential(1.0, shape),
            proof_u=rng.random((*shape, MAX_UPLOADS)),
            revisit=spec.visits.revisit_days.sample(rng, _N * visits * attempts).reshape(shape),
            field_u=rng.random((_N, MAX_FIELDS)),
            fix=spec.data_entry.fix_days.sample(rng, _N),
            lag=spec.data_entry.update_lag_days.sample(rng, _N),
            approval=float(spec.data_entry.approval_days.sample(rng, 1)[0]),
            late_legal=float(spec.custom_development.late_legal_days.sample(rng, 1)[0]),
            revision_days=spec.poc_revision_days.sample(rng, MAX_REVISIONS),
            change_gaps=rng.exponential(1.0, MAX_CHANGES),
        )

    def _diagnosis_fill_share(self, opp: Opportunity, draws: _Draws) -> float:
        """Share of the need-diagnosis fields the rep fills at first entry: fixed by the
        draws when the deal opens (the fields stage uses the same draws), NaN if none."""
        names = self.policy.required_fields.get(CHECKPOINTS[0], [])[:MAX_FIELDS]
        if not names:
            return math.nan
        fill = min(1.0, self.spec.data_entry.fill_probability * opp.rep_strength)
        return float((draws.field_u[0, : len(names)] < fill).mean())

    def advance_probability(self, opp: Opportunity, stage: int) -> float:
        """Probability that *opp*'s customer lets it pass checkpoint *stage*."""
        spec = self.spec
        odds_spec, effects = spec.odds, spec.effects
        p = spec.stages[CHECKPOINTS[stage]].advance
        odds = p / (1 - p)
        odds *= odds_spec.grade.get(opp.grade, 1.0) * odds_spec.budget_band.get(
            opp.budget_band, 1.0
        )
        odds *= opp.rep_strength**odds_spec.skill_exponent
        if stage > 0:
            if opp.demo_video_completion < effects.demo_threshold:
                odds *= effects.demo_low_odds
            odds *= effects.per_poc_revision_odds**opp.poc_revisions
            odds *= effects.per_change_rate_odds**opp.requirement_change_rate
            if opp.custom_development:
                odds *= effects.custom_development_odds
        return odds / (1 + odds)

    def stage_hours(self, opp: Opportunity, base_days: float) -> float:
        """A stage's work in hours for *opp*, from its base duration in days."""
        odds = self.spec.odds
        scale = odds.duration_by_band.get(opp.budget_band, 1.0)
        scale *= odds.duration_by_grade.get(opp.grade, 1.0)
        return base_days * scale / opp.rep_strength**odds.skill_duration_exponent * DAY

    def tables(self, rep_ids):
        """Opportunities, contracts and process events at the end of the run."""
        horizon = self.scenario.horizon_hours
        grace = self.policy.health.visit_grace_days * DAY
        for opp in self.opportunities:
            if opp.status == "open" and horizon - opp.awaited_visit > grace:
                opp.visits_overdue += 1  # a visit still awaited at the horizon, overdue
            opp.recorded = [t if t <= horizon else math.nan for t in opp.recorded]
        return opportunity_tables(
            self.opportunities, self.log, rep_ids, self.scenario.start, horizon
        )


def _requirement_changes(pipe: Pipeline, opp: Opportunity, gaps_hours: np.ndarray):
    """The customer's requirement changes while the deal is open; each delays the stage."""
    env, delay = pipe.env, pipe.spec.requirement_changes.delay_days
    for gap in gaps_hours:
        yield env.timeout(float(gap))
        if opp.status != "open":
            return
        opp.requirement_changes += 1
        opp.pending_delay_days += delay
        pipe._record(
            env.now,
            ProcessKind.requirement_changed,
            opp.opportunity_id,
            -1,
            opp.requirement_changes,
        )


def _visits(
    pipe: Pipeline, opp: Opportunity, draws: _Draws, stage: int, start: float, hours: float
):
    """The stage's planned visits with their proofs; returns False if the deal stalls."""
    env, spec, rule = pipe.env, pipe.spec, pipe.policy.proof
    record, oid = pipe._record, opp.opportunity_id
    grace = pipe.policy.health.visit_grace_days * DAY
    failure = spec.failure_by_site(opp.site_type)
    visits = spec.visits.per_stage
    for v in range(visits):
        planned = target = start + hours * (v + 1) / visits
        opp.visits_planned += 1
        record(env.now, ProcessKind.visit_planned, oid, stage, planned)
        for a in range(spec.visits.max_proof_attempts):
            slip = opp.visit_slip_days * draws.slip[stage, v, a] * DAY
            opp.awaited_visit = target
            yield env.timeout(max(0.0, target + slip - env.now))
            opp.awaited_visit = math.nan
            if a == 0:
                opp.visits_held += 1
                late = env.now - planned
                if late <= grace:
                    opp.visits_on_time += 1
                else:
                    opp.visits_overdue += 1
                record(env.now, ProcessKind.visit_held, oid, stage, late / DAY)
            outcome = attempt_proof(rule, failure, draws.proof_u[stage, v, a])
            opp.proof_attempts += 1
            if outcome.passed:
                if outcome.cached:
                    opp.proof_cached += 1
                    record(env.now, ProcessKind.proof_cached, oid, stage, outcome.uploads)
                    yield env.timeout(spec.visits.sync_delay_hours)
                break
            opp.proof_failures += 1
            record(env.now, ProcessKind.proof_failed, oid, stage, outcome.uploads)
            target = env.now + draws.revisit[stage, v, a] * DAY  # the re-visit
        else:
            return False
    return True


def _stage_work(pipe: Pipeline, opp: Opportunity, draws: _Draws, stage: int):
    """Stage-specific work before the visits: demo, POC revisions, custom development."""
    env, record, oid = pipe.env, pipe._record, opp.opportunity_id
    extra = 0.0
    if stage == _POC:
        record(env.now, ProcessKind.demo_video_watched, oid, stage, opp.demo_video_completion)
        if opp.custom_development:
            record(env.now, ProcessKind.custom_dev_requested, oid, stage)
            if pipe.policy.legal_on_custom_development == "at_request":
                opp.legal_involved = env.now
                record(env.now, ProcessKind.legal_involved, oid, stage, 1.0)
        for i in range(opp.poc_revisions):
            extra += draws.revision_days[i] * DAY
            record(env.now + extra, ProcessKind.poc_revised, oid, stage, i + 1)
    if stage == _LEGAL and opp.custom_development and opp.legal_involved != opp.legal_involved:
        opp.legal_involved = env.now
        record(env.now, ProcessKind.legal_involved, oid, stage, 0.0)
        extra += draws.late_legal * DAY
    return extra


def _fields(pipe: Pipeline, opp: Opportunity, draws: _Draws, stage: int, ledger: CheckpointLedger):
    """Structured fields of the checkpoint: filled at first entry, fixed if required."""
    env, spec = pipe.env, pipe.spec
    names = pipe.policy.required_fields.get(CHECKPOINTS[stage], [])
    fill = min(1.0, spec.data_entry.fill_probability * opp.rep_strength)
    filled = frozenset(n for n, u in zip(names, draws.field_u[stage], strict=False) if u < fill)
    opp.fields_required += len(names)
    opp.fields_filled_first += len(filled)
    missing = ledger.missing_fields(CHECKPOINTS[stage], filled)
    if missing:
        opp.field_blocks += len(missing)
        pipe._record(env.now, ProcessKind.fields_missing, opp.opportunity_id, stage, len(missing))
        yield env.timeout(draws.fix[stage] * DAY)
        filled = filled | frozenset(missing)
    opp.fields_recorded += len(filled)
    return filled


def _close(pipe: Pipeline, opp: Opportunity, status: str) -> None:
    opp.status, opp.closed = status, pipe.env.now


def _progress(pipe: Pipeline, opp: Opportunity, draws: _Draws):
    """The opportunity's way through the five checkpoints (see the module docstring)."""
    env, record, oid = pipe.env, pipe._record, opp.opportunity_id
    ledger = CheckpointLedger(pipe.policy, opp.expected_amount)
    for stage, name in enumerate(CHECKPOINTS):
        start = env.now
        hours = pipe.stage_hours(opp, float(draws.duration[stage]))
        hours += _stage_work(pipe, opp, draws, stage)
        proven = yield from _visits(pipe, opp, draws, stage, start, hours)
        if not proven:
            opp.lost_at, opp.lost_reason = stage, "proof_stall"
            _close(pipe, opp, "lost")
            record(env.now, ProcessKind.opportunity_lost, oid, stage, 1.0)
            return
        while opp.pending_delay_days > 0:  # requirement changes during the stage
            delay, opp.pending_delay_days = opp.pending_delay_days, 0.0
            yield env.timeout(delay * DAY)
        fields = yield from _fields(pipe, opp, draws, stage, ledger)
        approved = False
        if ledger.needs_risk_review(name):
            opp.risk_reviews += 1
            record(env.now, ProcessKind.risk_review_requested, oid, stage, opp.expected_amount)
            yield env.timeout(draws.approval * DAY)
            record(env.now, ProcessKind.risk_approved, oid, stage)
            approved = True
        if draws.stage_u[stage] >= pipe.advance_probability(opp, stage):
            opp.lost_at, opp.lost_reason = stage, "customer"
            _close(pipe, opp, "lost")
            record(env.now, ProcessKind.opportunity_lost, oid, stage, 0.0)
            return
        ledger.pass_next(name, Evidence(proof=True, fields=fields, risk_approved=approved))
        opp.passed.append(env.now)
        lag = 0.0 if pipe.policy.record_on_pass else float(draws.lag[stage])
        opp.recorded.append(env.now + lag * DAY)
        record(env.now, ProcessKind.checkpoint_passed, oid, stage)
        record(env.now + lag * DAY, ProcessKind.checkpoint_recorded, oid, stage, lag)
    _close(pipe, opp, "won")
    record(env.now, ProcessKind.opportunity_won, oid, -1, opp.value_cents / 100)
    if pipe.on_won is not None:  # close cycle: opportunity opened -> won
        pipe.on_won(opp.rep, (env.now - opp.opened) / 24)
    completeness = opp.fields_recorded / opp.fields_required if opp.fields_required else 1.0
    record(env.now, ProcessKind.handed_off, oid, -1, completeness)
