"""Reading the files of a CRM export as text, for :mod:`sim.history.importer`.

Every cell is read as text ('' when empty), so ids keep their leading zeros and nothing
is converted before the mapping says how.  CSV is read with the ``csv`` module, so a
row number is the line a record *starts* on (the header is line 1; a quoted line break
does not shift later rows), and a record whose number of fields differs from the
header's is kept (padded or cut) and flagged, for the importer to quarantine.  A UTF-8
byte-order mark is ignored.  Parquet rows are numbered from 1.  Files are read in
batches (:func:`table_batches`), so an export of any length is read in bounded memory.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import ConfigError, DataError
from sim.history.mapping import TableSpec

__all__ = ["read_table", "source_files", "table_batches"]


def _encoding(spec: TableSpec) -> str:
    return "utf-8-sig" if spec.encoding.lower().replace("_", "-") == "utf-8" else spec.encoding


def _csv_frame(records: list, lines: list, fields: list, header: list, width: int) -> pd.DataFrame:
    frame = pd.DataFrame(records, columns=header, dtype=object)
    if not records:
        frame = pd.DataFrame({h: pd.Series([], dtype=object) for h in header})
    frame["source_row"] = np.asarray(lines, dtype=np.int64)
    frame["source_fields"] = np.asarray(fields, dtype=np.int64)
    frame.attrs["width"] = width
    return frame


def _csv_batches(path: Path, spec: TableSpec, label: str, batch_rows: int) -> Iterator:
    """Records of a CSV file as text, *batch_rows* at a time, with ``source_row`` (the
    line a record starts on; the header is line 1) and ``source_fields`` (its number of
    fields).  Blank lines are not records.  A record with too few fields is padded, one
    with too many cut: the importer quarantines both (``bad_field_count``).  The first
    frame yielded is the header alone (no rows), so columns are checked before any row."""
    with path.open(newline="", encoding=_encoding(spec)) as handle:
        reader = csv.reader(handle, delimiter=spec.delimiter)
        header = next(reader, None)
        if header is None:
            raise DataError(f"{label}: file is empty (no header row)")
        doubled = sorted({h for h in header if header.count(h) > 1})
        if doubled:
            raise DataError(f"{label}: column(s) {', '.join(map(repr, doubled))} appear twice")
        width = len(header)
        yield _csv_frame([], [], [], header, width)
        records, lines, fields = [], [], []
        start = reader.line_num + 1
        for record in reader:
            if record:
                lines.append(start)
                fields.append(len(record))
                records.append((record + [""] * width)[:width])
                if len(records) >= batch_rows:
                    yield _csv_frame(records, lines, fields, header, width)
                    records, lines, fields = [], [], []
            start = reader.line_num + 1
        if records:
            yield _csv_frame(records, lines, fields, header, width)


def _parquet_batches(path: Path, batch_rows: int) -> Iterator:
    import pyarrow.parquet as pq

    source = pq.ParquetFile(path)
    width = len(source.schema_arrow.names)
    empty = source.schema_arrow.empty_table().to_pandas()
    first = 1
    for batch in (empty, *(b.to_pandas() for b in source.iter_batches(batch_rows))):
        frame = batch.astype("string").fillna("").astype(object)
        frame["source_row"] = np.arange(first, first + len(frame), dtype=np.int64)
        frame["source_fields"] = np.int64(width)
        frame.attrs["width"] = width
        first += len(frame)
        yield frame


def _file_batches(path: Path, spec: TableSpec, label: str, batch_rows: int) -> Iterator:
    """Every cell as text ('' when empty), with ``source_row`` and ``source_fields``; the
    header alone first."""
    kind = spec.format if spec.format != "auto" else path.suffix.lower().lstrip(".")
    if kind == "parquet":
        reader = _parquet_batches(path, batch_rows)
    elif kind in ("csv", "txt", "tsv"):
        reader = _csv_batches(path, spec, label, batch_rows)
    else:
        raise ConfigError(
            f"{label}: unknown file type {path.suffix!r} (csv or parquet; see format)"
        )
    try:
        yield from reader
    except (ValueError, OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{label}: cannot read ({exc.__class__.__name__}: {exc})") from None


def source_files(export_dir: Path, table: str, spec: TableSpec) -> list[Path]:
    """The files of *table* (its glob, in name order); ConfigError when there is none."""
    files = sorted(p for p in export_dir.glob(spec.files) if p.is_file())
    if not files:
        raise ConfigError(f"tables.{table}.files: {spec.files!r} matches no file in {export_dir}")
    return files


def table_batches(
    export_dir: Path, table: str, spec: TableSpec, batch_rows: int = 50_000
) -> Iterator[pd.DataFrame]:
    """Raw text of every file of *table* (files in name order), at most *batch_rows*
    records at a time, with ``source_file``, ``source_row``, ``source_fields`` and
    ``source_width`` (fields of the record and of the header).  Each file's first batch
    has no rows (its header: a mapped column missing from a file is a ConfigError before
    any of its rows is read, and an empty file still gives the table its columns)."""
    for path in source_files(export_dir, table, spec):
        label = path.relative_to(export_dir).as_posix()
        for n, raw in enumerate(_file_batches(path, spec, label, batch_rows)):
            columns = [c for c in raw.columns if c not in ("source_row", "source_fields")]
            if n == 0:  # the header alone: columns are checked before any row is read
                _check_columns(table, spec, label, columns)
            raw["source_width"] = np.int64(raw.attrs.get("width", len(columns)))
            raw.insert(0, "source_file", label)
            yield raw.reset_index(drop=True)


def _check_columns(table: str, spec: TableSpec, label: str, columns: list) -> None:
    for name, fspec in spec.columns.items():
        if fspec.column is not None and fspec.column not in columns:
            raise ConfigError(
                f"tables.{table}.columns.{name}: column {fspec.column!r} is not in "
                f"{label} (columns: {', '.join(map(str, columns))})"
            )


def read_table(export_dir: Path, table: str, spec: TableSpec) -> pd.DataFrame:
    """Raw text of every file of *table*, stacked (all in memory: for small exports and
    tests; the importer streams with :func:`table_batches`)."""
    parts = list(table_batches(export_dir, table, spec, batch_rows=1 << 62))
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
