"""A small expression language for incentive clauses, evaluated in a sandbox.

Clauses such as the tiered channel rebate "2% once received reaches 5,000,000, 2.5% above
8,000,000" are written as one expression::

    IFS(received > 8000000, 0.025, received >= 5000000, 0.02, 0)

The language, in full:

- numbers (``5000000``, ``0.025``; read as exact decimals from their text, so
  ``0.1 + 0.2 == 0.3`` holds), and the names the clause is given (for a rebate clause:
  ``received``, ``total``, ``channel_total``, ``contract_value``);
- ``+ - * /``, ``**`` with a whole exponent of at most 12 in size, unary ``-``;
- comparisons ``< <= > >= == !=`` (chains allowed: ``5000000 <= x < 8000000``),
  ``and``, ``or``, ``not``, and ``a if condition else b``;
- the functions ``IF(cond, then, else)``, ``IFS(cond1, v1, cond2, v2, ..., default)``
  (the first true condition wins; the default is required, so every tier is stated),
  ``MIN``, ``MAX``, ``ABS`` and ``ROUND(x, places)`` (half up).

Boundaries are exact: "reaches" is ``>=``, "above" is ``>``; arithmetic is
:class:`decimal.Decimal` throughout.  Anything else is refused before evaluation, with a
message that names the offending part: attribute access (``x.__class__``), imports,
unknown names or functions, text, lists, subscripts, lambdas, huge powers, expressions
longer than :data:`MAX_LENGTH` characters or nested more than :data:`MAX_DEPTH`
levels deep.  Every rule is also type-checked when it is compiled (so ``validate``
refuses it, not the first contract that meets it): a yes/no value (a comparison,
``and``/``or``/``not``) is never a number (``(1 < 2) + 1``, ``ROUND(x, 1 < 2)``), a
condition is always yes/no, every function gets the number of arguments it takes, and
the whole rule gives a number.  Numbers are finite (``1e999`` is refused; a result that
is not finite, such as ``0 ** -1``, cannot be evaluated).  The evaluator is
``simpleeval`` restricted to the operators and functions above; Python's ``eval`` is never used.

This module is pure: it raises :class:`RuleRefused` (a ``ValueError``), which a pydantic
model turns into an error naming the file and field, and ``sim`` into a ``RuleError``.
"""

from __future__ import annotations

import ast
import decimal
import math
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from simpleeval import InvalidExpression, SimpleEval

from policies.rule_types import NUMBER, RuleRefused, check_types

__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "Rule",
    "RuleRefused",
    "compile_rule",
    "to_decimal",
]

MAX_LENGTH = 500
MAX_EXPONENT = 12
MAX_DEPTH = 100
"""Deepest nesting of an expression (``1 + 1 + ... + 1`` with 100 terms is 100 deep)."""
# Exact decimal context for clause arithmetic: 40 significant digits, so sums and
# products of money and rates never round inside an expression.
_CONTEXT = decimal.Context(
    prec=40,
    rounding=decimal.ROUND_HALF_UP,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)


def to_decimal(value: object) -> Decimal:
    """*value* as an exact Decimal (floats via their shortest text, so 0.1 -> 0.1)."""
    if isinstance(value, bool):
        raise RuleRefused(f"expected a number, got {value!r}")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.replace(",", "").replace("_", ""))
        except decimal.InvalidOperation:
            raise RuleRefused(f"expected a number, got {_shown(value)}") from None
    else:
        raise RuleRefused(f"expected a number, got {type(value).__name__}")
    if not number.is_finite():
        raise RuleRefused(f"expected a finite number, got {_shown(value)}")
    return number


def _shown(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _if(condition: object, then: Decimal, otherwise: Decimal) -> Decimal:
    return then if _truth(condition) else otherwise


def _ifs(*args: object) -> object:
    if len(args) < 3 or len(args) % 2 == 0:
        raise RuleRefused(
            "IFS takes condition/value pairs and a final default: IFS(c1, v1, ..., default)"
        )
    for condition, value in zip(args[:-1:2], args[1:-1:2], strict=True):
        if _truth(condition):
            return value
    return args[-1]


def _round(value: Decimal, places: Decimal = Decimal(0)) -> Decimal:
    if places != places.to_integral_value() or not 0 <= places <= 10:
        raise RuleRefused(f"ROUND places must be a whole number 0..10, got {places}")
    return value.quantize(Decimal(1).scaleb(-int(places)), rounding=decimal.ROUND_HALF_UP)


def _truth(value: object) -> bool:
    if isinstance(value, bool):
        return value
    raise RuleRefused(f"a condition must be a comparison (yes/no), got the number {value}")


FUNCTIONS = {"IF": _if, "IFS": _ifs, "MIN": min, "MAX": max, "ABS": abs, "ROUND": _round}
"""The whitelist: the only callables an expression can reach."""


def _power(base: Decimal, exponent: Decimal) -> Decimal:
    if exponent != exponent.to_integral_value() or abs(exponent) > MAX_EXPONENT:
        raise RuleRefused(f"power exponent must be a whole number of at most {MAX_EXPONENT}")
    if base == 0 and exponent < 0:
        raise RuleRefused("division by zero (zero to a negative power)")
    return base**exponent


def _divide(a: Decimal, b: Decimal) -> Decimal:
    if b == 0:
        raise RuleRefused("division by zero")
    return a / b


_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: _divide,
    ast.Pow: _power,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Not: lambda value: not _truth(value),
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}

# Node kinds that need no further check; everything not listed here or handled in
# _check_node is refused.
_PLAIN = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.And,
    ast.Or,
    ast.Load,
    *_OPERATORS,
)

_REFUSED = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts",
    ast.Lambda: "lambda functions",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Dict: "dictionaries",
    ast.Set: "sets",
    ast.ListComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.JoinedStr: "text",
    ast.NamedExpr: "assignment",
    ast.Starred: "star arguments",
}


def _describe(node: ast.AST, text: str) -> str:
    segment = ast.get_source_segment(text, node)
    return f"'{segment}'" if segment else type(node).__name__


def _check_node(node: ast.AST, text: str, names: frozenset[str], callees: set[int]) -> None:
    if isinstance(node, ast.Name):
        if id(node) in callees:
            return  # checked with its call
        if node.id in FUNCTIONS:
            raise RuleRefused(f"function {node.id} must be called, e.g. {node.id}(...)")
        if node.id not in names:
            known = ", ".join(sorted(names)) or "none"
            raise RuleRefused(f"unknown name '{node.id}' (known: {known})")
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise RuleRefused(
                f"unknown function {_describe(node.func, text)} (allowed: {', '.join(FUNCTIONS)})"
            )
        if node.keywords:
            raise RuleRefused(f"{node.func.id}: keyword arguments are not allowed")
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, str):
            raise RuleRefused(f"text {_describe(node, text)} is not allowed (numbers only)")
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise RuleRefused(f"constant {_describe(node, text)} is not allowed")
        if isinstance(node.value, float) and not math.isfinite(node.value):
            raise RuleRefused(f"number {_describe(node, text)} is too large (not finite)")
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        exponent = node.right
        if isinstance(exponent, ast.UnaryOp) and isinstance(exponent.op, ast.USub):
            exponent = exponent.operand
        if not (
            isinstance(exponent, ast.Constant)
            and isinstance(exponent.value, int)
            and not isinstance(exponent.value, bool)
            and exponent.value <= MAX_EXPONENT
        ):
            raise RuleRefused(
                f"power {_describe(node, text)} refused: the exponent must be a whole "
                f"number of at most {MAX_EXPONENT}"
            )
    elif type(node) in _REFUSED:
        what = _REFUSED[type(node)]
        raise RuleRefused(f"{what} not allowed: {_describe(node, text)}")
    elif not isinstance(node, _PLAIN):
        raise RuleRefused(f"{_describe(node, text)} is not allowed in a rule expression")


def _parse(text: str) -> ast.Expression:
    try:
        module = ast.parse(text, mode="exec")
    except SyntaxError as exc:
        raise RuleRefused(f"syntax error at column {exc.offset or 0}: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise RuleRefused("expression cannot be parsed (nested too deeply)") from None
    for node in ast.walk(module):
        if isinstance(node, ast.Import | ast.ImportFrom):
            raise RuleRefused("imports are not allowed")
    if len(module.body) != 1 or not isinstance(module.body[0], ast.Expr):
        raise RuleRefused("a rule is one expression (no statements or assignments)")
    return ast.Expression(body=module.body[0].value)


def _depth(tree: ast.AST) -> int:
    """Nesting depth of the expressions in *tree*, computed without recursion."""
    deepest = 0
    stack = [(tree, 0)]
    while stack:
        node, level = stack.pop()
        level += isinstance(node, ast.expr)
        deepest = max(deepest, level)
        stack.extend((child, level) for child in ast.iter_child_nodes(node))
    return deepest


class _DecimalEval(SimpleEval):
    """simpleeval with exact decimal constants and only the whitelisted operators."""

    def _eval_constant(self, node: ast.Constant) -> object:
        return to_decimal(node.value)

    # Conditions must be yes/no: a bare number is never silently "true".
    def _eval_ifexp(self, node: ast.IfExp) -> object:
        return self._eval(node.body if _truth(self._eval(node.test)) else node.orelse)

    def _eval_boolop(self, node: ast.BoolOp) -> bool:
        stop = isinstance(node.op, ast.Or)  # or: stop at the first True; and: first False
        for value in node.values:
            if _truth(self._eval(value)) is stop:
                return stop
        return not stop


@dataclass(frozen=True)
class Rule:
    """A checked expression; :meth:`evaluate` gives its value as a Decimal."""

    text: str
    names: frozenset[str]

    def evaluate(self, values: Mapping[str, object]) -> Decimal:
        """Value of the expression for *values* (every name must be given)."""
        missing = sorted(self.names - set(values))
        if missing:
            raise RuleRefused(f"no value given for {', '.join(missing)}")
        scope = {name: to_decimal(values[name]) for name in self.names}
        evaluator = _DecimalEval(operators=_OPERATORS, functions=FUNCTIONS, names=scope)
        try:
            with decimal.localcontext(_CONTEXT):
                result = evaluator.eval(self.text.strip())
        except RuleRefused:
            raise
        except (InvalidExpression, ArithmeticError, TypeError, AttributeError) as exc:
            raise RuleRefused(f"cannot evaluate: {_shown(str(exc), 80)}") from None
        except RecursionError:
            raise RuleRefused("cannot evaluate: the expression is nested too deeply") from None
        if isinstance(result, bool) or not isinstance(result, Decimal):
            raise RuleRefused("the expression gives a yes/no answer, not a number")
        if not result.is_finite():
            raise RuleRefused(f"cannot evaluate: the result is not a finite number ({result})")
        return result


def compile_rule(text: object, names: Iterable[str]) -> Rule:
    """Check *text* against the language with the given *names*; RuleRefused if not."""
    if isinstance(text, int | float | Decimal) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str) or not text.strip():
        raise RuleRefused(f"a rule must be a non-empty expression, got {text!r}")
    if len(text) > MAX_LENGTH:
        raise RuleRefused(f"expression is {len(text)} characters long (at most {MAX_LENGTH})")
    tree = _parse(text.strip())
    if _depth(tree) > MAX_DEPTH:
        raise RuleRefused(f"expression is nested more than {MAX_DEPTH} levels deep")
    allowed = frozenset(names)
    callees = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    for node in ast.walk(tree):
        _check_node(node, text.strip(), allowed, callees)
    if check_types(tree.body, text.strip()) != NUMBER:
        raise RuleRefused("the expression gives a yes/no answer, not a number")
    used = frozenset(
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in callees
    )
    return Rule(text=text.strip(), names=used)
