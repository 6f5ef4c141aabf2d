"""The quarantine model shared by every import: rejected rows and reconciled counts.

An import never drops a row silently: each row it reads is either *accepted* or
*quarantined* as a :class:`QuarantinedRow` naming the file, the row, the column and the
reason.  :class:`FileCount` holds one file's counts and :func:`check_counts` holds the
invariant ``read == accepted + quarantined`` per file and in total.  The CRM import
(:mod:`sim.history.importer`) and the ledger import (:mod:`sim.incentives.ledger_import`)
both use these records, and :func:`write_quarantine` writes them as ``quarantine.csv``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import astuple, dataclass
from pathlib import Path

import pandas as pd

from sim.errors import DataError
from sim.io.safe_text import write_csv

__all__ = [
    "COUNT_COLUMNS",
    "QUARANTINE_COLUMNS",
    "FileCount",
    "QuarantinedRow",
    "check_counts",
    "quarantine_frame",
    "quarantined_rows",
    "write_quarantine",
]

QUARANTINE_COLUMNS = ("table", "file", "row", "column", "reason", "value", "problems")
"""Columns of the quarantine file: ``row`` is the row number in the file (CSV: the
header is row 1, so the first record is row 2; Parquet: the first record is row 1)."""

COUNT_COLUMNS = ("table", "file", "read", "accepted", "quarantined")
"""Columns of the per-file reconciliation counts."""


@dataclass(frozen=True)
class QuarantinedRow:
    """One rejected row: where it is (file, row, column) and why (reason).

    ``value`` is the offending cell as text and ``problems`` every problem of the row
    (``column: reason; ...``) when the import knows more than the first one.
    """

    table: str
    file: str
    row: int
    column: str
    reason: str
    value: str = ""
    problems: str = ""

    def __str__(self) -> str:
        return f"{self.file}: line {self.row}: {self.column}: {self.reason}"


@dataclass(frozen=True)
class FileCount:
    """Rows of one file of one table: read, accepted and quarantined."""

    table: str
    file: str
    read: int
    accepted: int
    quarantined: int

    def reconciles(self) -> bool:
        """Whether ``read == accepted + quarantined``."""
        return self.read == self.accepted + self.quarantined


def check_counts(counts: Iterable[FileCount], quarantined: int | None = None) -> None:
    """Raise DataError unless every file reconciles and, given *quarantined* (the number
    of quarantined rows on record), the files' quarantined counts sum to it."""
    counts = list(counts)
    for count in counts:
        if not count.reconciles():
            fields = dict(zip(COUNT_COLUMNS, astuple(count), strict=True))
            raise DataError(f"{count.file}: counts do not reconcile ({fields})")
    if quarantined is not None and sum(c.quarantined for c in counts) != quarantined:
        raise DataError("quarantine file and counts disagree")


def quarantine_frame(rows: Iterable[QuarantinedRow]) -> pd.DataFrame:
    """The rows as a table with :data:`QUARANTINE_COLUMNS` (``row`` as int64)."""
    frame = pd.DataFrame([astuple(r) for r in rows], columns=list(QUARANTINE_COLUMNS))
    return frame.astype({"row": "int64"})


def quarantined_rows(frame: pd.DataFrame) -> list[QuarantinedRow]:
    """The records of a table written by :func:`quarantine_frame` (the inverse)."""
    columns = frame.loc[:, list(QUARANTINE_COLUMNS)]
    return [
        QuarantinedRow(t, f, int(r), c, reason, v, p)
        for t, f, r, c, reason, v, p in columns.itertuples(index=False)
    ]


def write_quarantine(rows: pd.DataFrame | Iterable[QuarantinedRow], path: str | Path) -> Path:
    """Write ``quarantine.csv`` (UTF-8, ``\\n`` line ends, :data:`QUARANTINE_COLUMNS`); text
    cells a spreadsheet would run as formulas (``=1+1``) get a leading ``'``
    (:func:`sim.io.safe_text.neutralise_cell`)."""
    frame = rows if isinstance(rows, pd.DataFrame) else quarantine_frame(rows)
    return write_csv(frame.loc[:, list(QUARANTINE_COLUMNS)], Path(path))
