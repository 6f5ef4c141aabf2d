"""Importing a CRM export: read, validate row by row, write canonical tables.

:func:`import_export` reads every file a mapping names (CSV or Parquet, every cell as
text so ids keep leading zeros; :mod:`sim.history.export_files`), in batches, turns each
mapped column into its canonical type (:mod:`sim.history.field_parsing`), and sorts each
row into *accepted* or *quarantined*, never dropping one silently
(:mod:`sim.history.import_stream`).  A record whose fields do not line up with the
header is quarantined as a whole (``bad_field_count``); any other row is quarantined
for its first problem, in field order: a required field missing (``missing``), text that
is no date / number / flag (``bad_date``, ``bad_number``, ``bad_flag``), an amount with
more decimals than its currency (``too_many_decimals``), a currency that is no code or
has no rate (``bad_currency``, ``no_rate``), a value outside the map when the field
quarantines those (``unmapped_value``), an outcome other than won / lost / open
(``bad_outcome``), a repeated key (``duplicate``: the first row is kept); then, across
tables, a reference to a row that is not in the accepted table (``unknown_lead``,
``unknown_contract``, ``unknown_rep``, ``unknown_opportunity``, or ``<x>_quarantined``
when that row was rejected) and a deal closed on a day before its lead's first contact
(``closed_before_arrival``).  Accepted rows may carry *notes* (a blank mapped to a value,
a channel default applied, a date placed by the date-only rule), counted by reason.
The counts always reconcile: rows read = accepted + quarantined, per file and in total
(:meth:`ImportResult.check`).  Quarantined rows and counts are the shared records of
:mod:`sim.io.quarantine`.

The accepted tables live as Parquet files in a work folder (never all in memory);
``result.tables[name]`` reads one when asked, and :func:`write_import` copies them.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterator, MutableMapping
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from sim.errors import ConfigError, DataError
from sim.history.derived_leads import CREATED_NOTE
from sim.history.import_folder import (
    QUARANTINE_FILE,
    REPORT_FILE,
    read_imported,
    require_imported,
    write_import,
)
from sim.history.import_stream import StreamOutcome, stream_import
from sim.history.mapping import MappingSpec
from sim.io.quarantine import (
    COUNT_COLUMNS,
    QUARANTINE_COLUMNS,
    FileCount,
    QuarantinedRow,
    check_counts,
    quarantine_frame,
    quarantined_rows,
)

__all__ = [
    "QUARANTINE_COLUMNS",
    "QUARANTINE_FILE",
    "REPORT_FILE",
    "ImportResult",
    "TableFiles",
    "import_export",
    "read_imported",
    "require_imported",
    "summary_lines",
    "useless_error",
    "write_import",
]


class TableFiles(MutableMapping):
    """The accepted tables of an import, by name: each read from its Parquet file when
    asked (``paths`` gives the files; ``rows`` counts without reading).  Setting a table
    writes the DataFrame to the work folder; deleting one drops it from the import."""

    def __init__(self, paths: dict[str, Path], work: Path, keep: object = None) -> None:
        self.paths = dict(paths)
        self.work = work
        self._keep = keep  # the work folder lives as long as its tables are reachable

    def __getitem__(self, table: str) -> pd.DataFrame:
        return pd.read_parquet(self.paths[table])

    def __setitem__(self, table: str, frame: pd.DataFrame) -> None:
        path = self.work / f"{table}.set.parquet"
        frame.to_parquet(path, index=False)
        self.paths[table] = path

    def __delitem__(self, table: str) -> None:
        del self.paths[table]

    def __iter__(self) -> Iterator[str]:
        return iter(self.paths)

    def __len__(self) -> int:
        return len(self.paths)

    def rows(self, table: str) -> int:
        """Rows of *table*, from the file's metadata."""
        return pq.ParquetFile(self.paths[table]).metadata.num_rows


class ImportResult:
    """Accepted canonical tables, quarantined rows, counts and notes of one import.

    ``tables``: :class:`TableFiles`; ``quarantine``: QUARANTINE_COLUMNS, one row per
    QuarantinedRow (read from the spill when asked); ``counts``: COUNT_COLUMNS per file;
    ``notes``: table, field, note, count; ``unmapped``: table, field, value, count
    (accepted rows whose source value is outside the map); ``reasons``: quarantined rows
    per (table, source column, reason); ``snapshot``: the export's date; ``derived_leads``:
    leads made from deals; ``created_reps``: reps made from deals; ``missing_reps``: rows
    quarantined per rep named by a deal but missing from the reps table.
    """

    def __init__(self, mapping: MappingSpec, outcome: StreamOutcome, work: object) -> None:
        self.mapping = mapping
        self._work = work  # keeps the work folder alive as long as the result
        self.tables = TableFiles(outcome.tables, Path(work.name), work)
        self._quarantine_files = [outcome.quarantine[t] for t in sorted(outcome.quarantine)]
        self.counts = pd.DataFrame(outcome.counts, columns=list(COUNT_COLUMNS))
        self.notes = _counter_frame(outcome.notes, ["table", "field", "note", "count"])
        self.unmapped = _counter_frame(outcome.unmapped, ["table", "field", "value", "count"])
        self.reasons = Counter(outcome.reasons)
        self.derived = dict(outcome.derived)
        self.derived_leads = "leads" in outcome.derived
        self.created_reps = list(outcome.created_reps)
        self.missing_reps = Counter(outcome.missing_reps)
        self.converted = outcome.converted
        snapshot = mapping.snapshot or (outcome.latest.date() if outcome.latest else None)
        self.snapshot = snapshot
        defaults = mapping.channel_defaults
        self.channels_without_defaults = (
            sorted(outcome.channels - set(defaults)) if defaults else []
        )

    @property
    def quarantine(self) -> pd.DataFrame:
        """Every quarantined row (QUARANTINE_COLUMNS), sorted by table, file and row."""
        parts = [pd.read_parquet(path) for path in self._quarantine_files]
        if not parts:
            return quarantine_frame([])
        frame = pd.concat(parts, ignore_index=True).loc[:, list(QUARANTINE_COLUMNS)]
        return frame.astype({"row": "int64"}).reset_index(drop=True)

    def quarantine_chunks(self) -> Iterator[pd.DataFrame]:
        """The quarantined rows in bounded chunks, in the order of :attr:`quarantine`."""
        from sim.history.import_spill import read_batches

        for path in self._quarantine_files:
            for chunk in read_batches(path):
                yield chunk.loc[:, list(QUARANTINE_COLUMNS)].astype({"row": "int64"})

    def check(self) -> None:
        """Raise DataError unless rows read = accepted + quarantined, per file and table."""
        c = self.counts
        check_counts(self.file_counts(), sum(self.reasons.values()))
        for table in self.tables:
            accepted = int(c.loc[c["table"] == table, "accepted"].sum())
            rows = self.tables.rows(table) - self.derived.get(table, 0)
            if accepted != rows:
                raise DataError(f"{table}: {rows} rows accepted, counts say {accepted}")

    def file_counts(self) -> list[FileCount]:
        """The per-file counts as :class:`~sim.io.quarantine.FileCount` records."""
        return [FileCount(*row) for row in self.counts.itertuples(index=False)]

    def quarantined_rows(self) -> list[QuarantinedRow]:
        """The quarantined rows as :class:`~sim.io.quarantine.QuarantinedRow` records."""
        return quarantined_rows(self.quarantine)

    def totals(self) -> dict[str, int]:
        """Rows read, accepted and quarantined over all files."""
        return {k: int(self.counts[k].sum()) for k in ("read", "accepted", "quarantined")}

    def useless_tables(self) -> list[str]:
        """Tables that read rows and accepted none (the import is of no use then)."""
        per_table = self.counts.groupby("table", sort=False)[["read", "accepted"]].sum()
        return [t for t, row in per_table.iterrows() if row["read"] > 0 and row["accepted"] == 0]


def import_export(
    export_dir: str | Path, mapping: MappingSpec, batch_rows: int = 50_000
) -> ImportResult:
    """Read and validate every table *mapping* names under *export_dir*, *batch_rows*
    records at a time (memory is bounded by the batch, not by the export)."""
    export_dir = Path(export_dir)
    if not export_dir.is_dir():
        raise ConfigError(f"{export_dir}: export folder not found")
    if batch_rows < 1:
        raise ConfigError(f"batch rows: must be >= 1, got {batch_rows}")
    work = tempfile.TemporaryDirectory(prefix="sim-import-")
    outcome = stream_import(export_dir, mapping, Path(work.name), batch_rows)
    result = ImportResult(mapping, outcome, work)
    result.check()
    return result


def _counter_frame(counter: Counter, columns: list[str]) -> pd.DataFrame:
    rows = [(*k, int(v)) for k, v in sorted(counter.items(), key=lambda kv: tuple(map(str, kv[0])))]
    return pd.DataFrame(rows, columns=columns)


# --- output --------------------------------------------------------------------------


def _rep_counts(reps: Counter, most: int = 10) -> str:
    """``rep (N rows), ...``: the reps with the most rows first, at most *most* named."""
    top = sorted(reps.items(), key=lambda item: (-item[1], item[0]))
    named = ", ".join(f"{rep} ({n} rows)" for rep, n in top[:most])
    return named + (f", and {len(top) - most} more" if len(top) > most else "")


def summary_lines(result: ImportResult) -> list[str]:
    """The printed import report: counts per file, reasons, notes, warnings, totals.

    ``warning: ... (N rows kept as is)`` counts accepted rows only; ``warning: <table>:
    all N rows quarantined`` flags a table the import is useless for (the CLI then exits
    2)."""
    lines = []
    for row in result.counts.itertuples(index=False):
        lines.append(
            f"{row.table}: {row.file}: read {row.read}, accepted {row.accepted}, "
            f"quarantined {row.quarantined}"
        )
    for (table, column, reason), n in sorted(result.reasons.items()):
        line = f"quarantined: {table}.{column}: {reason}: {n}"
        if reason == "unknown_rep" and result.missing_reps:
            line += " (not in the reps table: " + _rep_counts(result.missing_reps) + ")"
        lines.append(line)
    for row in result.notes.itertuples(index=False):
        line = f"note: {row.table}.{row.field}: {row.note}: {row.count}"
        if row.note == CREATED_NOTE and result.created_reps:
            more = ", ..." if len(result.created_reps) > 10 else ""
            line += f" ({', '.join(result.created_reps[:10])}{more})"
        lines.append(line)
    if result.converted:
        lines.append(
            f"note: amounts converted to {result.mapping.currency}: {result.converted} rows"
        )
    for row in result.unmapped.itertuples(index=False):
        lines.append(
            f"warning: {row.table}.{row.field}: value {row.value!r} is not in the mapping's "
            f"values ({row.count} accepted rows kept as is)"
        )
    if result.channels_without_defaults:
        lines.append(
            "warning: channels without channel_defaults: "
            + ", ".join(result.channels_without_defaults)
        )
    for table in result.useless_tables():
        lines.append(f"warning: {table}: {_useless(result, table)}")
    if result.snapshot is not None:
        source = "mapping" if result.mapping.snapshot else "latest date in the export"
        lines.append(f"snapshot: {result.snapshot.isoformat()} ({source})")
    t = result.totals()
    lines.append(
        f"total: read {t['read']} = accepted {t['accepted']} + quarantined {t['quarantined']}"
    )
    return lines


def _useless(result: ImportResult, table: str) -> str:
    """'all N rows quarantined (top reasons)' for a table that accepted nothing."""
    read = int(result.counts.loc[result.counts["table"] == table, "read"].sum())
    reasons = Counter()
    for (t, column, reason), n in result.reasons.items():
        if t == table:
            reasons[f"{column}: {reason}"] += n
    top = ", ".join(f"{k} {n}" for k, n in reasons.most_common(3))
    return f"all {read} rows quarantined ({top}); nothing of it can be used"


def useless_error(result: ImportResult) -> DataError | None:
    """The one-line error of an import with a table that accepted no row (None if none)."""
    tables = result.useless_tables()
    if not tables:
        return None
    table = tables[0]
    example = ""
    for chunk in result.quarantine_chunks():
        rows = chunk[chunk["table"] == table]
        if len(rows):
            r = rows.iloc[0]
            example = f"; e.g. {r['file']} row {r['row']}: {r['column']} = {r['value']!r}"
            break
    return DataError(
        f"{table}: {_useless(result, table)}{example}: check the mapping's formats and "
        "values against the file; nothing was written"
    )
