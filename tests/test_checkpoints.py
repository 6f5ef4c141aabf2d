"""The pure checkpoint policy: proof rules, the checkpoint ledger, RAG thresholds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from policies.checkpoints import (
    CHECKPOINTS,
    CheckpointError,
    CheckpointLedger,
    CheckpointPolicy,
    Evidence,
    ProofRule,
    Threshold,
    attempt_proof,
)

PHOTOS = ProofRule(mode="all", types=["photo"], count=3, offline_cache=False)
ANY_OFFLINE = ProofRule()  # the default: any one of four, offline cache
ANY_ONLINE = ProofRule(offline_cache=False)
FACTORY = {"photo": 0.35, "check_in": 0.3, "audio": 0.25, "e_signature": 0.3, "screenshot": 0.3}
ALL_FIELDS = frozenset(f for fields in CheckpointPolicy().required_fields.values() for f in fields)


def test_three_photos_need_every_upload():
    assert attempt_proof(PHOTOS, FACTORY, [0.9, 0.5, 0.4] + [0.0] * 7).passed
    failed = attempt_proof(PHOTOS, FACTORY, [0.9, 0.34, 0.9] + [0.9] * 7)
    assert (failed.passed, failed.uploads, failed.cached) == (False, 3, False)


def test_any_one_proof_tries_types_in_order():
    # check-in fails (0.1 < 0.3), audio succeeds (0.5 >= 0.25): two uploads
    outcome = attempt_proof(ANY_ONLINE, FACTORY, [0.1, 0.5, 0.0, 0.0])
    assert (outcome.passed, outcome.uploads, outcome.cached) == (True, 2, False)
    assert not attempt_proof(ANY_ONLINE, FACTORY, [0.0] * 4).passed
    cached = attempt_proof(ANY_OFFLINE, FACTORY, [0.0] * 4)  # no signal: kept offline
    assert (cached.passed, cached.uploads, cached.cached) == (True, 1, True)


def test_photo_rule_fails_73_percent_in_factories():
    """The source's figure: 1 - 0.65^3 = 0.725, checked by simulation of the pure rule."""
    rng = np.random.default_rng(5)
    draws = rng.random((20_000, 10))
    failed = np.mean([not attempt_proof(PHOTOS, FACTORY, row).passed for row in draws])
    assert failed == pytest.approx(1 - 0.65**3, abs=0.01)
    offline = ProofRule(mode="all", types=["photo"], count=3, offline_cache=True)
    assert all(attempt_proof(offline, FACTORY, row).passed for row in draws[:500])


def test_too_few_uniforms_is_an_error():
    with pytest.raises(ValueError, match="need 3 uniforms"):
        attempt_proof(PHOTOS, FACTORY, [0.5, 0.5])


def test_rule_validation():
    with pytest.raises(ValidationError, match="twice"):
        ProofRule(types=["audio", "audio"])
    with pytest.raises(ValidationError, match="mode 'all' only"):
        ProofRule(mode="any", count=3)
    with pytest.raises(ValidationError, match="unknown checkpoint"):
        CheckpointPolicy(required_fields={"signing": ["x"]})
    with pytest.raises(ValidationError, match="beyond amber"):
        Threshold(direction="above", amber=3, red=2)


def test_ledger_passes_in_order_only():
    ledger = CheckpointLedger(CheckpointPolicy(), expected_amount=1e6)
    ok = Evidence(proof=True, fields=ALL_FIELDS)
    with pytest.raises(CheckpointError, match="out of order: next is need_diagnosis"):
        ledger.pass_next("poc_proposal", ok)
    for name in CHECKPOINTS:
        assert not ledger.won
        ledger.pass_next(name, ok)
    assert ledger.won and ledger.next_checkpoint is None
    with pytest.raises(CheckpointError, match="out of order"):
        ledger.pass_next("kickoff", ok)


def test_blockers_name_proof_fields_and_risk_review():
    ledger = CheckpointLedger(CheckpointPolicy(), expected_amount=12e6)
    assert ledger.blockers("need_diagnosis", Evidence(proof=False)) == [
        "proof",
        "field:pain_points",
        "field:decision_chain",
        "field:budget_owner",
    ]
    ok = Evidence(proof=True, fields=ALL_FIELDS)
    ledger.pass_next("need_diagnosis", ok)
    ledger.pass_next("poc_proposal", ok)
    assert ledger.blockers("commercial_terms", ok) == ["risk_review"]  # 12 M > 10 M
    approved = Evidence(proof=True, fields=ALL_FIELDS, risk_approved=True)
    ledger.pass_next("commercial_terms", approved)
    small = CheckpointLedger(CheckpointPolicy(), expected_amount=10e6)  # not above 10 M
    assert not small.needs_risk_review("commercial_terms")
    lax = CheckpointLedger(CheckpointPolicy(enforce_fields=False), expected_amount=1.0)
    assert lax.blockers("need_diagnosis", Evidence(proof=True)) == []


def test_forecast_weight_after_passed_checkpoints():
    policy = CheckpointPolicy()
    assert policy.weight_after(0) == 0.05
    assert [policy.weight_after(k) for k in range(1, 6)] == [0.1, 0.25, 0.45, 0.7, 0.9]


@pytest.mark.parametrize(
    ("direction", "value", "expected"),
    [
        ("above", 2, "green"),
        ("above", 3, "amber"),
        ("above", 4, "amber"),
        ("above", 5, "red"),
        ("below", 0.85, "green"),
        ("below", 0.7, "amber"),
        ("below", 0.5, "red"),
        ("below", float("nan"), "n/a"),
    ],
)
def test_rag(direction, value, expected):
    limits = {"above": (2, 4), "below": (0.8, 0.6)}[direction]
    assert Threshold(direction=direction, amber=limits[0], red=limits[1]).rag(value) == expected


def test_default_requirement_change_threshold_is_amber_above_two():
    rule = CheckpointPolicy().health.requirement_changes_30d
    assert (rule.rag(2), rule.rag(3)) == ("green", "amber")


attempts = st.lists(
    st.tuples(
        st.sampled_from(CHECKPOINTS),
        st.booleans(),  # proof
        st.sets(st.sampled_from(sorted(ALL_FIELDS))),  # fields shown
        st.booleans(),  # risk approved
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(
    events=attempts,
    amount=st.sampled_from([1e6, 10e6, 10e6 + 1, 5e7]),
    enforce=st.booleans(),
)
def test_checkpoints_cannot_be_skipped(events, amount, enforce):
    """Whatever is attempted, in whatever order, the passed checkpoints are a prefix of
    the five in order, and each was passed with proof, its required fields (when
    enforced) and, for a large deal's commercial terms, an approved risk form."""
    policy = CheckpointPolicy(enforce_fields=enforce)
    ledger = CheckpointLedger(policy, expected_amount=amount)
    for name, proof, fields, approved in events:
        evidence = Evidence(proof=proof, fields=frozenset(fields), risk_approved=approved)
        before = list(ledger.passed)
        expected_ok = (
            name == ledger.next_checkpoint
            and proof
            and (not enforce or set(policy.required_fields[name]) <= fields)
            and (name != "commercial_terms" or amount <= 10e6 or approved)
        )
        try:
            ledger.pass_next(name, evidence)
        except CheckpointError:
            assert not expected_ok
            assert ledger.passed == before
        else:
            assert expected_ok
            assert ledger.passed == [*before, name]
        assert tuple(ledger.passed) == CHECKPOINTS[: len(ledger.passed)]
    assert ledger.won == (len(ledger.passed) == len(CHECKPOINTS))
