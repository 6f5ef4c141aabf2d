"""Argument types shared by the command-line modules: each parses one value or raises
``argparse.ArgumentTypeError`` with a one-line reason (argparse then names the option)."""

from __future__ import annotations

import argparse

__all__ = ["add_evaluator_options", "non_negative_float", "non_negative_int", "positive_int"]


def _whole_number(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
    return value


def positive_int(text: str) -> int:
    """A whole number >= 1."""
    return _whole_number(text, 1)


def non_negative_int(text: str) -> int:
    """A whole number >= 0."""
    return _whole_number(text, 0)


def non_negative_float(text: str) -> float:
    """A number >= 0 (not NaN)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def add_evaluator_options(parser) -> None:
    """``--workers``, ``--scheduler`` and ``--no-progress``: where a sweep's or a search's
    runs go (:func:`sim.experiments.fanout.make_evaluator`) and whether a bar shows."""
    parser.add_argument(
        "--workers",
        type=non_negative_int,
        help="local Dask worker processes (default: the machine's cores; 0: in this process)",
    )
    parser.add_argument("--scheduler", help="address of an existing Dask scheduler")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
