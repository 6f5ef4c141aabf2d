"""Rules are type-checked when compiled: yes/no values are never numbers, numbers are
finite, depth is bounded; ``validate`` and ``incentive calc`` refuse such a policy with
one line and exit 2 instead of crashing on the first contract."""

from __future__ import annotations

from decimal import Decimal

import pytest

from conftest import POLICIES, SCENARIOS
from policies.rules import MAX_DEPTH, RuleRefused, compile_rule
from sim.cli.main import main

SAMPLE = str(SCENARIOS / "ledgers" / "sample")

HOSTILE = [
    ("ROUND(0.01, 1<2)", "ROUND: '1<2' is a yes/no value, not a number"),
    ("ROUND(1<2, 2)", "ROUND: '1<2' is a yes/no value, not a number"),
    ("(1<2)+1", "arithmetic: '1<2' is a yes/no value, not a number"),
    ("-(1<2)", "a sign: '1<2' is a yes/no value, not a number"),
    ("MIN(1<2, 1)", "MIN: '1<2' is a yes/no value"),
    ("(1<2) < 3", "a comparison: '1<2' is a yes/no value"),
    ("IF(1<2, 1<2, 3)", "IF: the values mix numbers and yes/no answers"),
    ("IFS(1<2, 1, 0<1)", "IFS: the values mix numbers and yes/no answers"),
    ("1 if 1<2 else 1<2", "the values mix numbers and yes/no answers"),
    ("not 1", "a condition must be a comparison (yes/no), got the number '1'"),
    ("1<2 and 1", "a condition must be a comparison (yes/no), got the number '1'"),
    ("IF(1<2, 1, 0) > 0", "yes/no answer, not a number"),
    ("1e999", "number '1e999' is too large (not finite)"),
    ("-1e999", "number '1e999' is too large (not finite)"),
    ("True + 1", "constant 'True' is not allowed"),
    ("-" * 499 + "0", f"nested more than {MAX_DEPTH} levels deep"),
    ("1" + "+1" * 100, f"nested more than {MAX_DEPTH} levels deep"),
    ("MIN(1)", "MIN takes at least 2 numbers"),
    ("ABS(1, 2)", "ABS takes 1 number"),
    ("IF(1<2, 1)", "IF takes 3 arguments"),
    ("ROUND(1, 2, 3)", "ROUND takes a number and its places"),
    ("ROUND(2/3, 11)", "ROUND places must be a whole number 0..10"),
]


@pytest.mark.parametrize(("text", "message"), HOSTILE)
def test_refused_when_compiled(text, message):
    with pytest.raises(RuleRefused) as info:
        compile_rule(text, ["x"])
    assert message in str(info.value)


def test_limits_still_allow_ordinary_rules():
    assert compile_rule("1" + "+1" * 99, []).evaluate({}) == 100
    assert compile_rule("ROUND(2/3, 2)", []).evaluate({}) == Decimal("0.67")
    assert compile_rule("IF(x > 1 and not x > 5, x, 0)", ["x"]).evaluate({"x": 3}) == 3


@pytest.mark.parametrize("value", ["Infinity", "-inf", "NaN", float("inf")])
def test_non_finite_values_are_refused(value):
    with pytest.raises(RuleRefused, match="finite"):
        compile_rule("x + 1", ["x"]).evaluate({"x": value})


def _policy(tmp_path, rule: str):
    text = (POLICIES / "commission_source.yaml").read_text(encoding="utf-8")
    old = 'default: "IFS(received > 8000000, 0.025, received >= 5000000, 0.02, 0)"'
    assert old in text
    path = tmp_path / "hostile.yaml"
    path.write_text(text.replace(old, f"default: {rule!r}"), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "rule", ["ROUND(0.01, 1<2)", "ROUND(1<2, 2)", "(1<2)+1", "1e999", "-1e999", "-" * 499 + "0"]
)
def test_validate_and_calc_refuse_with_one_line(tmp_path, capsys, rule):
    policy = _policy(tmp_path, rule)
    assert main(["validate", str(policy)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "hostile.yaml: commission.rebate.default" in err[0]
    args = ["incentive", "calc", "--ledger", SAMPLE, "--policy", str(policy)]
    code = main([*args, "--contract", "C-1003", "--as-of", "2026-04-01"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "commission.rebate.default" in err[0]
    assert "Traceback" not in err[0]


@pytest.mark.parametrize("text", ["0**-1", "x ** -1", "1 / (x - x)"])
def test_not_finite_at_evaluation_is_refused(text):
    rule = compile_rule(text, ["x"])  # type-correct: only the values tell
    with pytest.raises(RuleRefused, match="division by zero"):
        rule.evaluate({"x": 0})


def test_calc_with_a_rule_failing_on_a_contract_is_one_line(tmp_path, capsys):
    policy = _policy(tmp_path, "received / (received - received)")
    assert main(["validate", str(policy)]) == 0
    capsys.readouterr()
    args = ["incentive", "calc", "--ledger", SAMPLE, "--policy", str(policy)]
    code = main([*args, "--contract", "C-1003", "--as-of", "2026-04-01"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "division by zero" in err[0], err
