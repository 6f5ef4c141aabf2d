"""An import's output folder: written atomically, read only when complete.

``python -m sim import ... --out DATA`` writes ``<table>.parquet`` per canonical table,
``quarantine.csv`` and ``import_report.json`` the way every output folder is written
(:mod:`sim.io.atomic`): under the folder's lock (:mod:`sim.io.locks`), each file by
rename, the completion marker last, listing the files of this import.  A table an
earlier import left there and this one does not write is removed.  Readers
(``calibrate``, ``backtest``, a scenario replaying ``DATA/leads.parquet``) refuse a
folder without the marker in one line: ``DATA: was not completely written: rerun import``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import ConfigError, DataError
from sim.history.mapping import SCHEMA
from sim.io.atomic import (
    atomic_path,
    atomic_write_text,
    begin_folder,
    managed,
    mark_complete,
    require_complete,
)
from sim.io.atomic import write_frame as write_dataframe
from sim.io.locks import folder_lock
from sim.io.output import confined
from sim.io.quarantine import quarantine_frame, write_quarantine
from sim.io.safe_text import write_csv

__all__ = [
    "IMPORT_COMMAND",
    "QUARANTINE_FILE",
    "REPORT_FILE",
    "read_imported",
    "require_imported",
    "write_import",
]

IMPORT_COMMAND = "import"
REPORT_FILE = "import_report.json"
QUARANTINE_FILE = "quarantine.csv"


def write_frame(table: pd.DataFrame | Path, path: Path) -> None:
    """Put one canonical table at *path*, atomically: a DataFrame written as Parquet, or
    the Parquet file a streamed import spilled, copied (never loaded whole)."""
    if isinstance(table, pd.DataFrame):
        write_dataframe(table, path)
        return
    with atomic_path(path) as tmp:
        shutil.copyfile(table, tmp)


def _report(result: Any) -> dict:
    snapshot = getattr(result, "snapshot", None)
    return {
        "mapping": result.mapping.name,
        "country": result.mapping.country,
        "snapshot": snapshot.isoformat() if snapshot is not None else None,
        "derived_leads": bool(getattr(result, "derived_leads", False)),
        "created_reps": list(getattr(result, "created_reps", [])),
        "missing_reps": dict(sorted(getattr(result, "missing_reps", {}).items())),
        "currency": result.mapping.currency,
        "totals": result.totals(),
        "counts": result.counts.to_dict(orient="records"),
        "notes": result.notes.to_dict(orient="records"),
        "unmapped": result.unmapped.to_dict(orient="records"),
        "channels_without_defaults": result.channels_without_defaults,
    }


def write_import(result: Any, out: str | Path) -> dict[str, Path]:
    """Write the :class:`~sim.history.importer.ImportResult` *result* into *out*:
    ``<table>.parquet``, ``quarantine.csv`` and ``import_report.json``, then the marker."""
    out = Path(out)
    with folder_lock(out, IMPORT_COMMAND):
        begin_folder(out)
        paths = {}
        files = getattr(result.tables, "paths", {})
        for table in SCHEMA:
            path = confined(out, f"{table}.parquet")
            if table in files:  # a streamed import: copy its file, never load it whole
                write_frame(files[table], path)
                paths[table] = path
            elif table in result.tables:
                write_frame(result.tables[table], path)
                paths[table] = path
            else:
                path.unlink(missing_ok=True)
        paths["quarantine"] = confined(out, QUARANTINE_FILE)
        with atomic_path(paths["quarantine"]) as tmp:
            if hasattr(result, "quarantine_chunks"):
                write_quarantine_chunks(result.quarantine_chunks(), tmp)
            else:
                write_quarantine(result.quarantine, tmp)
        paths["report"] = confined(out, REPORT_FILE)
        text = json.dumps(_report(result), indent=2, default=str) + "\n"
        atomic_write_text(paths["report"], text)
        mark_complete(out, [path.name for path in paths.values()], IMPORT_COMMAND)
    return paths


def write_quarantine_chunks(chunks: Any, path: Path) -> None:
    """``quarantine.csv`` from chunks of quarantined rows, byte for byte as
    :func:`~sim.io.quarantine.write_quarantine` writes them all at once."""
    first = True
    for chunk in chunks:
        write_csv(chunk, path, mode="w" if first else "a", header=first)
        first = False
    if first:
        write_quarantine(quarantine_frame([]), path)


def require_imported(data_dir: str | Path) -> list[str]:
    """The files of the import folder *data_dir*; ConfigError (one line) when an import
    began writing it and did not finish.  A folder no import of this version wrote (made
    by hand, or older) is taken as it is."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise ConfigError(f"{data_dir}: no such folder (run 'python -m sim import' first)")
    if managed(data_dir):
        return require_complete(data_dir, IMPORT_COMMAND)
    return sorted(path.name for path in data_dir.iterdir() if path.is_file())


def read_imported(data_dir: str | Path) -> tuple[dict[str, pd.DataFrame], dict]:
    """The canonical tables and the import report written by :func:`write_import`;
    ConfigError (one line) for a folder that was not completely written."""
    data_dir = Path(data_dir)
    files = require_imported(data_dir)
    if REPORT_FILE not in files:
        raise ConfigError(f"{data_dir}: no {REPORT_FILE} here (run 'python -m sim import' first)")
    try:
        report = json.loads((data_dir / REPORT_FILE).read_text(encoding="utf-8"))
        tables = {
            table: pd.read_parquet(data_dir / f"{table}.parquet")
            for table in SCHEMA
            if f"{table}.parquet" in files
        }
    except (OSError, ValueError) as exc:
        raise DataError(
            f"{data_dir}: unreadable import ({type(exc).__name__}): rerun import"
        ) from None
    return tables, report
