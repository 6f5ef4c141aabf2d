"""A sweep's output folder: one Parquet file per finished point, written atomically.

Layout of ``OUT/``::

    sweep.json           the design: levers, points (index, key, values), seeds
    points/<key>.parquet one finished point: its replications' KPIs
    failures.json        points that raised, with the error (only while some fail)
    results.parquet      the combined table, once every point has finished

A point file is named by the point's key, a hash of its full configuration and seeds, and
holds only what that configuration determines (replication and KPIs), so any sweep whose
design contains the same configuration reuses it.  Files appear by rename: a sweep
killed at any instant leaves finished files or none, never a half-written one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import ConfigError
from sim.io.output import confined

__all__ = [
    "MANIFEST",
    "RESULTS",
    "atomic_write_bytes",
    "combined_table",
    "finished_keys",
    "point_path",
    "read_manifest",
    "write_failures",
    "write_frame",
    "write_manifest",
]

MANIFEST = "sweep.json"
RESULTS = "results.parquet"
FAILURES = "failures.json"
POINTS = "points"


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write *data* to *path* by writing a temporary file beside it, then renaming."""
    tmp = _temporary(path)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """Write *frame* as Parquet (no index) to *path*, atomically."""
    tmp = _temporary(path)
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def point_path(out: Path, key: str) -> Path:
    """``OUT/points/<key>.parquet`` (the folder is created)."""
    folder = confined(out, POINTS)
    folder.mkdir(parents=True, exist_ok=True)
    return confined(folder, f"{key}.parquet")


def finished_keys(out: Path, keys: Sequence[str]) -> set[str]:
    """The *keys* whose point file exists in *out*."""
    return {key for key in keys if point_path(out, key).is_file()}


def write_manifest(out: Path, manifest: Mapping[str, Any]) -> Path:
    """Write the design as ``OUT/sweep.json`` (atomically)."""
    path = confined(out, MANIFEST)
    text = json.dumps(manifest, indent=2, sort_keys=False) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"))
    return path


def read_manifest(out: str | Path) -> dict[str, Any]:
    """The design stored in ``OUT/sweep.json``; ConfigError when missing or unreadable."""
    path = Path(out) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no sweep here (sweep.json not found)") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable sweep manifest ({exc})") from None


def write_failures(out: Path, failures: Sequence[Mapping[str, Any]]) -> Path | None:
    """Record failed points in ``OUT/failures.json``, or remove the file when none failed."""
    path = confined(out, FAILURES)
    if not failures:
        path.unlink(missing_ok=True)
        return None
    ordered = sorted(failures, key=lambda f: f["point"])
    atomic_write_bytes(path, (json.dumps(ordered, indent=2) + "\n").encode("utf-8"))
    return path


def _lever_column(values: list[Any]) -> pd.Series:
    """A lever's values as one Parquet-friendly column (mixed types become text)."""
    column = pd.Series(values)
    if column.dtype == object and not all(isinstance(v, str) for v in values):
        column = column.map(lambda v: v if isinstance(v, str) else json.dumps(v))
    return column


def combined_table(out: str | Path, manifest: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Every finished point of the sweep in *out*, one row per run, in design order.

    Columns: ``point`` (index in the design), ``key``, one column per lever (its path),
    ``base_seed``, ``replication``, then the KPIs.  Rows are sorted by point, then
    replication, and built from the design (not from the folder listing), so the table
    is the same whatever the number of workers or the order points finished in.
    """
    out = Path(out)
    manifest = manifest if manifest is not None else read_manifest(out)
    columns = [lever["column"] for lever in manifest["levers"]]
    frames = []
    for point in manifest["points"]:
        path = point_path(out, point["key"])
        if not path.is_file():
            continue
        runs = pd.read_parquet(path)
        head = pd.DataFrame(
            {
                "point": [point["point"]] * len(runs),
                "key": [point["key"]] * len(runs),
                **{c: [point["values"][c]] * len(runs) for c in columns},
                "base_seed": [manifest["base_seed"]] * len(runs),
            }
        )
        frames.append(pd.concat([head, runs.reset_index(drop=True)], axis=1))
    if not frames:
        return pd.DataFrame(columns=["point", "key", *columns, "base_seed", "replication"])
    table = pd.concat(frames, ignore_index=True)
    for column in columns:
        table[column] = _lever_column(table[column].tolist())
    table["point"] = table["point"].astype("int64")
    table["base_seed"] = table["base_seed"].astype("int64")
    return table.sort_values(["point", "replication"], kind="stable").reset_index(drop=True)
