"""The rule language: exact decimal arithmetic, exact boundaries, and the sandbox's
refusal table (attribute access, imports, huge powers, unknown names, ...)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from policies.commission import RebateClauses
from policies.rules import RuleRefused, compile_rule

TIERED = "IFS(received > 8000000, 0.025, received >= 5000000, 0.02, 0)"
SOURCE_FIX = "IF(total > 8000000, 0.025, 0.02)"  # the source's own, incomplete, expression


def rate(text: str, received: str) -> Decimal:
    return compile_rule(text, ["received", "total"]).evaluate(
        {"received": Decimal(received), "total": Decimal(received)}
    )


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        ("0", "0"),
        ("4999999.99", "0"),
        ("5000000", "0.02"),  # "reaches" is >=
        ("5000000.01", "0.02"),
        ("8000000", "0.02"),  # "above" is >
        ("8000000.01", "0.025"),
    ],
)
def test_tiered_rebate_boundaries_are_exact(received, expected):
    assert rate(TIERED, received) == Decimal(expected)


def test_source_expression_gets_the_under_5m_tier_wrong():
    # Below 5 M the clause says no rebate; the source's IF gives 2%, so a rep whose pool is
    # 4.9 M loses 2% of the line: on 1,200,000 at 8% that is 1,920.00.
    assert rate(SOURCE_FIX, "4900000") == Decimal("0.02")
    assert rate(TIERED, "4900000") == Decimal("0")
    line = Decimal("1200000") * Decimal("0.08")
    assert line * (1 - rate(TIERED, "4900000")) - line * (1 - rate(SOURCE_FIX, "4900000")) == (
        Decimal("1920.00")
    )
    # From 5 M on, both agree: the missing tier is the only difference.
    for received in ("5000000", "8000000", "8000000.01", "12000000"):
        assert rate(SOURCE_FIX, received) == rate(TIERED, received)


def test_decimal_arithmetic_is_exact():
    rule = compile_rule("IF(0.1 + 0.2 == 0.3, 1200000 * 0.08 * (1 - 0.023), 0)", [])
    assert rule.evaluate({}) == Decimal("93792.000")
    assert compile_rule("ROUND(2 / 3, 2)", []).evaluate({}) == Decimal("0.67")
    assert compile_rule("MAX(x, 5) + MIN(x, 5) + ABS(-x) + 2 ** 3", ["x"]).evaluate({"x": 7}) == 27
    assert compile_rule("IF(5000000 <= x < 8000000 and not x == 6, x, 0)", ["x"]).names == {"x"}


REFUSALS = [
    ("x.__class__", "attribute access"),
    ("(1).real", "attribute access"),
    ("__import__('os')", "unknown function '__import__'"),
    ("import os", "imports are not allowed"),
    ("from os import path", "imports are not allowed"),
    ("9 ** 99999999", "exponent must be a whole number of at most 12"),
    ("2 ** x", "exponent must be a whole number"),
    ("y + 1", "unknown name 'y'"),
    ("open('f')", "unknown function 'open'"),
    ("eval('1')", "unknown function 'eval'"),
    ("'text'", "text"),
    ("[1, 2]", "lists not allowed"),
    ("x[0]", "subscripts not allowed"),
    ("lambda: 1", "lambda functions not allowed"),
    ("x = 1", "one expression"),
    ("(y := 1)", "assignment not allowed"),
    ("1 +", "syntax error"),
    ("", "non-empty"),
    ("x" + " + 1" * 300, "at most 500"),
    ("IF(x, 1, 2)", "a condition must be a comparison"),
    ("IFS(x > 1, 1)", "IFS takes condition/value pairs"),
    ("x > 1", "yes/no answer, not a number"),
    ("1 / (x - x)", "division by zero"),
    ("MIN", "must be called"),
    ("ROUND(x, 0.5)", "ROUND places"),
    ("ROUND(0.01, 1<2)", "is a yes/no value, not a number"),
    ("ROUND(1<2, 2)", "is a yes/no value, not a number"),
    ("(1<2)+1", "is a yes/no value, not a number"),
    ("1e999", "not finite"),
    ("-1e999", "not finite"),
    ("0**-1", "division by zero"),
    ("-" * 499 + "0", "nested more than"),
]


@pytest.mark.parametrize(("text", "message"), REFUSALS)
def test_sandbox_refusal_table(text, message):
    with pytest.raises(RuleRefused, match=None) as info:
        compile_rule(text, ["x"]).evaluate({"x": Decimal(3)})
    assert message in str(info.value)
    assert "Traceback" not in str(info.value)


def test_evaluation_needs_every_name():
    with pytest.raises(RuleRefused, match="no value given for x"):
        compile_rule("x + 1", ["x"]).evaluate({})


def test_rebate_clause_in_a_policy_names_the_field():
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as info:
        RebateClauses(channels={"Y": "received.__class__"})
    assert "channel 'Y'" in str(info.value) and "attribute access" in str(info.value)


def test_policy_file_with_bad_rule_is_one_line_exit_2(tmp_path, capsys):
    from sim.cli.main import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("commission:\n  rebate:\n    default: \"__import__('os')\"\n")
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml: commission.rebate.default" in err and "__import__" in err
