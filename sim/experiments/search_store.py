"""A policy search's output folder: the design, one Parquet file per evaluation, tables.

Layout of ``OUT/``::

    search.json                the search (levers, objectives, ...), design_hash,
                               recommended, recommended_reason, complete
    .lock                      held by the search writing the folder (sim.io.locks)
    evaluations/<key>.parquet  one evaluated configuration: its replications' KPIs
    evaluations/<key>.json     what was evaluated: the validated scenario and policy (JSON
                               dumps, lever values set), base seed and replications
    candidates.csv futures.csv robustness.csv future_results.csv [prim.csv] [sobol.csv]
    .complete.json             written last, listing the tables (sim.io.atomic)

An evaluation file is named by the configuration's key (:func:`sweep_design.point_key`:
a hash of the full validated scenario, policy and seeds), exactly like a sweep point,
so a rerun of the same search reads back what a killed one finished.  Every file
appears by rename.  A folder belongs to one design: another search into it is refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import ConfigError
from sim.experiments.store import keyed_file
from sim.io.atomic import atomic_write_text, write_frame
from sim.io.output import confined
from sim.io.safe_text import write_csv

__all__ = [
    "COMMAND",
    "MANIFEST",
    "check_search",
    "configuration_path",
    "evaluation_path",
    "read_configuration",
    "read_evaluation",
    "read_search",
    "write_configuration",
    "write_evaluation",
    "write_search",
    "write_table",
]

COMMAND = "optimize"
MANIFEST = "search.json"
EVALUATIONS = "evaluations"


def evaluation_path(out: Path, key: str) -> Path:
    """``OUT/evaluations/<key>.parquet`` (the folder is created)."""
    return keyed_file(out, EVALUATIONS, key)


def read_evaluation(out: Path, key: str) -> pd.DataFrame | None:
    """The stored evaluation of *key*, or None when it has not finished."""
    path = evaluation_path(out, key)
    return pd.read_parquet(path) if path.is_file() else None


def write_evaluation(out: Path, key: str, frame: pd.DataFrame) -> None:
    """Store one evaluation (atomically)."""
    write_frame(frame, evaluation_path(out, key))


def configuration_path(out: Path, key: str) -> Path:
    """``OUT/evaluations/<key>.json`` (the folder is created)."""
    return evaluation_path(out, key).with_suffix(".json")


def write_configuration(out: Path, key: str, configuration: Mapping[str, Any]) -> None:
    """Store what evaluation *key* ran (scenario, policy, seeds), atomically, for audit."""
    text = json.dumps(configuration, indent=1, sort_keys=True, default=str) + "\n"
    atomic_write_text(configuration_path(out, key), text)


def read_configuration(out: Path, key: str) -> dict[str, Any] | None:
    """What evaluation *key* ran, or None when not stored."""
    path = configuration_path(out, key)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def read_search(out: str | Path) -> dict[str, Any]:
    """``OUT/search.json``; ConfigError when missing or unreadable."""
    path = Path(out) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no search here (search.json not found)") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable search manifest ({exc})") from None


def check_search(out: Path, design_hash: str) -> bool:
    """Whether *out* holds this search already (False: no search there).

    ConfigError (one line) when it holds another design's search.
    """
    if not (out / MANIFEST).is_file():
        return False
    stored = read_search(out).get("design_hash")
    if stored != design_hash:
        raise ConfigError(
            f"--out {out}: holds a different search (design {str(stored)[:12]}) from this "
            f"one (design {design_hash[:12]}); choose another --out or remove the folder"
        )
    return True


def write_search(out: Path, manifest: Mapping[str, Any]) -> Path:
    """Write ``OUT/search.json`` (atomically)."""
    path = confined(out, MANIFEST)
    atomic_write_text(path, json.dumps(manifest, indent=2, default=str) + "\n")
    return path


def write_table(out: Path, name: str, frame: pd.DataFrame) -> Path:
    """Write ``OUT/<name>`` as CSV (atomically, cells a spreadsheet would run made safe)."""
    from sim.io.atomic import atomic_path

    path = confined(out, name)
    with atomic_path(path) as tmp:
        write_csv(frame, tmp)
    return path
