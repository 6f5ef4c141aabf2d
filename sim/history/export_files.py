"""Reading the files of a CRM export as text, for :mod:`sim.history.importer`.

Every cell is read as text ('' when empty), so ids keep their leading zeros and nothing
is converted before the mapping says how.  CSV is read with the ``csv`` module, so a
row number is the line a record *starts* on (the header is line 1; a quoted line break
does not shift later rows), and a record whose number of fields differs from the
header's is kept (padded or cut) and flagged, for the importer to quarantine.  A UTF-8
byte-order mark is ignored.  Parquet rows are numbered from 1.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import ConfigError, DataError
from sim.history.mapping import TableSpec

__all__ = ["read_table"]


def _read_csv(path: Path, spec: TableSpec, label: str) -> pd.DataFrame:
    """Records of a CSV file as text, with ``source_row`` (the line a record starts on;
    the header is line 1) and ``source_fields`` (its number of fields).  Blank lines are
    not records.  A record with too few fields is padded, one with too many cut: the
    importer quarantines both (``bad_field_count``)."""
    encoding = "utf-8-sig" if spec.encoding.lower().replace("_", "-") == "utf-8" else spec.encoding
    with path.open(newline="", encoding=encoding) as handle:
        reader = csv.reader(handle, delimiter=spec.delimiter)
        header = next(reader, None)
        if header is None:
            raise DataError(f"{label}: file is empty (no header row)")
        doubled = sorted({h for h in header if header.count(h) > 1})
        if doubled:
            raise DataError(f"{label}: column(s) {', '.join(map(repr, doubled))} appear twice")
        width, records, lines, fields = len(header), [], [], []
        start = reader.line_num + 1
        for record in reader:
            if record:
                lines.append(start)
                fields.append(len(record))
                records.append((record + [""] * width)[:width])
            start = reader.line_num + 1
    frame = pd.DataFrame(records, columns=header, dtype=object)
    frame["source_row"] = np.asarray(lines, dtype=np.int64)
    frame["source_fields"] = np.asarray(fields, dtype=np.int64)
    frame.attrs["width"] = width
    return frame


def _read_file(path: Path, spec: TableSpec, label: str) -> pd.DataFrame:
    """Every cell as text ('' when empty), with ``source_row`` and ``source_fields``."""
    kind = spec.format if spec.format != "auto" else path.suffix.lower().lstrip(".")
    try:
        if kind == "parquet":
            frame = pd.read_parquet(path).astype("string").fillna("").astype(object)
            frame["source_row"] = np.arange(1, len(frame) + 1, dtype=np.int64)
            frame["source_fields"] = np.int64(frame.shape[1] - 1)
            frame.attrs["width"] = frame.shape[1] - 2
            return frame
        if kind in ("csv", "txt", "tsv"):
            return _read_csv(path, spec, label)
    except (ValueError, OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{label}: cannot read ({exc.__class__.__name__}: {exc})") from None
    raise ConfigError(f"{label}: unknown file type {path.suffix!r} (csv or parquet; see format)")


def _source_files(export_dir: Path, table: str, spec: TableSpec) -> list[Path]:
    files = sorted(p for p in export_dir.glob(spec.files) if p.is_file())
    if not files:
        raise ConfigError(f"tables.{table}.files: {spec.files!r} matches no file in {export_dir}")
    return files


def read_table(export_dir: Path, table: str, spec: TableSpec) -> pd.DataFrame:
    """Raw text of every file of *table*, stacked, with ``source_file``, ``source_row``,
    ``source_fields`` and ``source_width`` (fields of the record and of the header)."""
    parts = []
    for path in _source_files(export_dir, table, spec):
        label = path.relative_to(export_dir).as_posix()
        raw = _read_file(path, spec, label)
        columns = [c for c in raw.columns if c not in ("source_row", "source_fields")]
        for name, fspec in spec.columns.items():
            if fspec.column is not None and fspec.column not in columns:
                raise ConfigError(
                    f"tables.{table}.columns.{name}: column {fspec.column!r} is not in "
                    f"{label} (columns: {', '.join(map(str, columns))})"
                )
        raw["source_width"] = np.int64(raw.attrs.get("width", len(columns)))
        raw.insert(0, "source_file", label)
        parts.append(raw.reset_index(drop=True))
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
