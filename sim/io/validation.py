"""Pydantic validation turned into the workbench's one-line errors.

Every file the workbench reads (scenario, policy, sweep, batch, import mapping) is
validated by a pydantic model; :func:`validate` is the one place a ``ValidationError``
becomes a :class:`~sim.errors.ConfigError` (or another
:class:`~sim.errors.WorkbenchError`) with one line per problem naming the source and
the dotted field: ``scenarios/x.yaml: team.groups.0.count: ... (got 0)``.
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from sim.errors import ConfigError, WorkbenchError

__all__ = ["format_validation_error", "short_repr", "validate"]

M = TypeVar("M", bound=BaseModel)
TOP_LEVEL = "(top level)"
GOT_LIMIT = 60

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 2, 40, 40
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxdict = 4


def short_repr(value: Any, limit: int = GOT_LIMIT) -> str:
    """``repr(value)`` cut to *limit* characters, never walking the whole of a big value."""
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def format_validation_error(source: str, exc: ValidationError) -> list[str]:
    """One line per problem: ``source: dotted.field: message (got value)``."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(part) for part in err["loc"]) or TOP_LEVEL
        msg = err["msg"].removeprefix("Value error, ")
        shown = err["type"] not in {"missing", "model_type"} and "input" in err
        if shown and not isinstance(err["input"], dict):
            msg = f"{msg} (got {short_repr(err['input'])})"
        lines.append(f"{source}: {loc}: {msg}")
    return lines


def validate(
    model: type[M],
    data: Mapping[str, Any] | Any,
    source: str,
    *,
    error: type[WorkbenchError] = ConfigError,
    one_line: bool = False,
    name_top_level: bool = True,
) -> M:
    """``model.model_validate(data)``; a failure raises *error* naming *source* and fields.

    The message has one line per problem, or with *one_line* the first problem and a
    count of the others.  ``name_top_level=False`` leaves out ``(top level)`` for a
    problem of the whole mapping (small files where that reads better).
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = format_validation_error(source, exc)
        if not name_top_level:
            lines = [line.replace(f": {TOP_LEVEL}: ", ": ") for line in lines]
        if one_line and len(lines) > 1:
            lines = [f"{lines[0]} (+{len(lines) - 1} more)"]
        raise error("\n".join(lines)) from None
