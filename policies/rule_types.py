"""Type check of a rule expression (see :mod:`policies.rules`), before any evaluation.

Every part of an expression is a number or a yes/no value.  Comparisons, ``and``,
``or`` and ``not`` give yes/no; everything else gives a number.  A yes/no value is
never a number (``(1 < 2) + 1``, ``ROUND(x, 1 < 2)``), a number is never a condition
(``IF(x, 1, 2)``), and each function gets the number of arguments it takes.  The
expression has already passed the sandbox's node check and its depth bound.
"""

from __future__ import annotations

import ast

__all__ = ["NUMBER", "YES_NO", "RuleRefused", "check_types"]

NUMBER = "number"
YES_NO = "yes/no"
MAX_PLACES = 10


class RuleRefused(ValueError):
    """The expression is not in the language, or cannot be evaluated (message says why)."""


def _segment(node: ast.AST, text: str) -> str:
    segment = ast.get_source_segment(text, node) or type(node).__name__
    return segment if len(segment) <= 40 else segment[:37] + "..."


def _number(node: ast.AST, text: str, where: str) -> None:
    if check_types(node, text) != NUMBER:
        raise RuleRefused(f"{where}: '{_segment(node, text)}' is a yes/no value, not a number")


def _condition(node: ast.AST, text: str) -> None:
    if check_types(node, text) != YES_NO:
        raise RuleRefused(
            f"a condition must be a comparison (yes/no), got the number '{_segment(node, text)}'"
        )


def _same(nodes: list[ast.AST], text: str, where: str) -> str:
    kinds = {check_types(node, text) for node in nodes}
    if len(kinds) > 1:
        raise RuleRefused(f"{where}: the values mix numbers and yes/no answers")
    return kinds.pop()


def _places(node: ast.AST) -> None:
    value = node
    sign = 1
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub | ast.UAdd):
        sign = -1 if isinstance(value.op, ast.USub) else 1
        value = value.operand
    if isinstance(value, ast.Constant) and isinstance(value.value, int | float):
        places = sign * value.value
        if places != int(places) or not 0 <= places <= MAX_PLACES:
            raise RuleRefused(f"ROUND places must be a whole number 0..{MAX_PLACES}, got {places}")


def _call(node: ast.Call, text: str) -> str:
    name = node.func.id  # type: ignore[attr-defined]  # the sandbox allows only names
    args = node.args
    if name == "IF":
        if len(args) != 3:
            raise RuleRefused(f"IF takes 3 arguments (condition, then, else), got {len(args)}")
        _condition(args[0], text)
        return _same(args[1:], text, "IF")
    if name == "IFS":
        if len(args) < 3 or len(args) % 2 == 0:
            raise RuleRefused(
                "IFS takes condition/value pairs and a final default: IFS(c1, v1, ..., default)"
            )
        for condition in args[:-1:2]:
            _condition(condition, text)
        return _same([*args[1:-1:2], args[-1]], text, "IFS")
    if name in ("MIN", "MAX") and len(args) < 2:
        raise RuleRefused(f"{name} takes at least 2 numbers, got {len(args)}")
    if name == "ABS" and len(args) != 1:
        raise RuleRefused(f"ABS takes 1 number, got {len(args)}")
    if name == "ROUND":
        if len(args) not in (1, 2):
            raise RuleRefused(f"ROUND takes a number and its places, got {len(args)} arguments")
        if len(args) == 2:
            _places(args[1])
    for arg in args:
        _number(arg, text, name)
    return NUMBER


def check_types(node: ast.AST, text: str) -> str:
    """:data:`NUMBER` or :data:`YES_NO` for the expression *node*; RuleRefused if mixed."""
    if isinstance(node, ast.Compare):
        for operand in (node.left, *node.comparators):
            _number(operand, text, "a comparison")
        return YES_NO
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            _condition(value, text)
        return YES_NO
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.Not):
            _condition(node.operand, text)
            return YES_NO
        _number(node.operand, text, "a sign")
        return NUMBER
    if isinstance(node, ast.BinOp):
        _number(node.left, text, "arithmetic")
        _number(node.right, text, "arithmetic")
        return NUMBER
    if isinstance(node, ast.IfExp):
        _condition(node.test, text)
        return _same([node.body, node.orelse], text, "'a if condition else b'")
    if isinstance(node, ast.Call):
        return _call(node, text)
    return NUMBER  # names and numeric constants (the sandbox refused everything else)
