"""The workbench's exception hierarchy.

Every error a user can cause by bad input derives from :class:`WorkbenchError`; the CLI
turns any of them into one line on stderr and exit code 2.
"""

from __future__ import annotations

__all__ = ["ConfigError", "DataError", "RuleError", "WorkbenchError"]


class WorkbenchError(Exception):
    """Root of all errors caused by the user's input (files, values, expressions)."""


class ConfigError(WorkbenchError):
    """A scenario, policy or CLI value is malformed; the message names file and field."""


class DataError(WorkbenchError):
    """Imported or generated data is inconsistent; the message names file, row and column."""


class RuleError(WorkbenchError):
    """A rule expression cannot be parsed or is refused by the sandbox."""
