"""A sweep's output folder: one Parquet file per finished point, written atomically.

Layout of ``OUT/``::

    sweep.json           the design: levers, points (index, key, values), seeds, and
                         design_hash (the folder belongs to this design only)
    .lock                held by the sweep writing the folder (sim.io.locks)
    points/<key>.parquet one finished point: its replications' KPIs
    failures.json        points that raised, with the error (only while some fail)
    results.parquet      the combined table, once every point has finished

A point file is named by the point's key, a hash of its full configuration and seeds, and
holds only what that configuration determines (replication and KPIs), so any sweep whose
design contains the same configuration reuses it.  Files appear by rename
(:mod:`sim.io.atomic`): a sweep killed at any instant leaves finished files or none,
never a half-written one, and ``results.parquet`` is written only once every point has
finished.  A folder belongs to one design: a sweep of another design into it is refused
(:func:`check_design`) before anything is written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import ConfigError
from sim.io.atomic import atomic_write_bytes
from sim.io.output import confined

__all__ = [
    "FAILURES",
    "MANIFEST",
    "RESULTS",
    "check_design",
    "combined_table",
    "design_hash",
    "finished_keys",
    "keyed_file",
    "point_path",
    "read_manifest",
    "write_failures",
    "write_manifest",
]

MANIFEST = "sweep.json"
RESULTS = "results.parquet"
FAILURES = "failures.json"
POINTS = "points"


def keyed_file(out: Path, folder: str, key: str) -> Path:
    """``OUT/<folder>/<key>.parquet``, confined to *out* (the folder is created): where a
    store keeps the result of one configuration, named by its key."""
    inner = confined(out, folder)
    inner.mkdir(parents=True, exist_ok=True)
    return confined(inner, f"{key}.parquet")


def point_path(out: Path, key: str) -> Path:
    """``OUT/points/<key>.parquet`` (the folder is created)."""
    return keyed_file(out, POINTS, key)


def finished_keys(out: Path, keys: Sequence[str]) -> set[str]:
    """The *keys* whose point file exists in *out*."""
    return {key for key in keys if point_path(out, key).is_file()}


def design_hash(manifest: Mapping[str, Any]) -> str:
    """Hash (sha256, 20 hex digits) of what a design computes: its levers, its points
    (index, key, values), replications and base seed; not its name or file names."""
    payload = {
        "levers": [lever["column"] for lever in manifest["levers"]],
        "points": [[p["point"], p["key"], p["values"]] for p in manifest["points"]],
        "replications": manifest["replications"],
        "base_seed": manifest["base_seed"],
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def check_design(out: Path, manifest: Mapping[str, Any]) -> bool:
    """Whether *out* already holds this design's sweep; False for a folder with no sweep.

    ConfigError (one line) when *out* holds another design's ``sweep.json``.
    """
    if not (out / MANIFEST).is_file():
        return False
    stored = read_manifest(out)
    try:
        stored_hash = stored.get("design_hash") or design_hash(stored)
        name = stored.get("name")
    except (AttributeError, KeyError, TypeError):
        raise ConfigError(f"{out / MANIFEST}: unreadable sweep manifest") from None
    wanted = design_hash(manifest)
    if stored_hash != wanted:
        raise ConfigError(
            f"--out {out}: holds a different sweep ({name or 'unnamed'}, design "
            f"{stored_hash[:12]}) from this one (design {wanted[:12]}); choose another --out "
            "or remove the folder"
        )
    return True


def write_manifest(out: Path, manifest: Mapping[str, Any]) -> Path:
    """Write the design as ``OUT/sweep.json`` (atomically)."""
    path = confined(out, MANIFEST)
    manifest = {**manifest, "design_hash": design_hash(manifest)}
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
