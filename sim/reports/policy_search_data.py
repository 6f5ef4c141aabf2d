"""The output folder of ``python -m sim optimize``, read for the policy-search report.

:func:`read_search_folder` reads ``search.json`` and the tables next to it (see
:mod:`sim.experiments.search_store` for the layout): ``candidates.csv`` is required (the
search's first stage); ``futures.csv``, ``future_results.csv`` and ``robustness.csv``
come with ``--uncertainty``/``--futures`` (or the scenario as given), ``prim.csv`` only
with ``--discover`` and ``sobol.csv`` only with ``--sobol``.  A missing optional table is
an empty frame with its columns, so the report can say "not run" instead of failing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import ConfigError
from sim.experiments.search_store import read_search
from sim.io.safe_text import FORMULA_PREFIXES

__all__ = ["TABLE_COLUMNS", "SearchFolder", "holds", "read_search_folder"]

GUARDED = frozenset(p for p in FORMULA_PREFIXES if p)

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "futures.csv": ("future",),
    "future_results.csv": ("candidate", "future"),
    "robustness.csv": (
        "candidate",
        "objective",
        "mean",
        "p10",
        "max_regret",
        "mean_regret",
        "recommended",
    ),
    "prim.csv": ("box", "coverage", "density", "mass", "dimension", "low", "high", "categories"),
    "sobol.csv": ("factor", "kpi", "S1", "S1_conf", "ST", "ST_conf"),
}
"""The columns each optional table has at least (the contract of issue 16)."""


@dataclass(frozen=True)
class SearchFolder:
    """A search's description (``search.json``) and its tables."""

    folder: Path
    manifest: dict[str, Any]
    candidates: pd.DataFrame
    futures: pd.DataFrame
    future_results: pd.DataFrame
    robustness: pd.DataFrame
    prim: pd.DataFrame
    sobol: pd.DataFrame

    @property
    def levers(self) -> list[str]:
        """The searched paths, as ``candidates.csv`` columns."""
        return [lever["path"] for lever in self.manifest.get("levers", [])]

    @property
    def uncertainties(self) -> list[dict[str, Any]]:
        """The uncertain paths with their ranges (``path``, ``low``, ``high``, ``kind``)."""
        return list(self.manifest.get("uncertainties") or [])

    @property
    def objectives(self) -> list[tuple[str, str]]:
        """``(kpi, sense)`` per objective, the primary (first) one first."""
        return [(o["kpi"], o["sense"]) for o in self.manifest.get("objectives", [])]

    @property
    def recommended(self) -> int | None:
        """The recommended candidate's id (None when nothing was recommended)."""
        value = self.manifest.get("recommended")
        return None if value is None else int(value)

    @property
    def complete(self) -> bool:
        """Whether every stage of the search finished."""
        return bool(self.manifest.get("complete"))

    def candidate(self, candidate: int) -> pd.Series:
        """One row of ``candidates.csv``."""
        rows = self.candidates[self.candidates["candidate"] == candidate]
        if rows.empty:
            raise ConfigError(f"{self.folder}: candidates.csv has no candidate {candidate}")
        return rows.iloc[0]

    def failures(self) -> tuple[int, int] | None:
        """``(futures where the recommended candidate fails, futures)`` by the
        ``--discover`` threshold, or None without a threshold or results."""
        rule = self.manifest.get("discover")
        mine = self.future_results
        if not rule or self.recommended is None or rule["kpi"] not in mine.columns:
            return None
        values = mine.loc[mine["candidate"] == self.recommended, rule["kpi"]].astype(float)
        if values.empty:
            return None
        failed = values.map(lambda v: holds(rule["op"], float(v), float(rule["value"])))
        return int(failed.sum()), len(values)


def holds(op: str, x: float, value: float) -> bool:
    """``x op value`` for a threshold ``op`` of ``<= >= < >`` (NaN never holds)."""
    if math.isnan(x):
        return False
    return {"<=": x <= value, ">=": x >= value, "<": x < value, ">": x > value}[op]


def _strip_guard(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells as written by :func:`sim.io.safe_text.write_csv` read back (its leading
    ``'`` before a cell a spreadsheet would run as a formula is dropped)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(
                lambda v: v[1:] if isinstance(v, str) and v[:1] == "'" and v[1:2] in GUARDED else v
            )
    return out


def _table(folder: Path, name: str, required: bool = False) -> pd.DataFrame:
    path = folder / name
    if not path.is_file():
        if required:
            raise ConfigError(f"{path}: not found (the search has not finished its first stage)")
        return pd.DataFrame(columns=list(TABLE_COLUMNS.get(name, ())))
    try:
        frame = pd.read_csv(path, keep_default_na=True)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable table ({exc})") from None
    missing = [c for c in TABLE_COLUMNS.get(name, ()) if c not in frame.columns]
    if missing:
        raise ConfigError(f"{path}: missing column(s) {', '.join(missing)}")
    return _strip_guard(frame)


def read_search_folder(folder: str | Path) -> SearchFolder:
    """The search in *folder*; ConfigError (one line naming the file) when its
    ``search.json`` or ``candidates.csv`` is missing or a table lacks a column."""
    folder = Path(folder)
    manifest = read_search(folder)
    candidates = _table(folder, "candidates.csv", required=True)
    for lever in manifest.get("levers", []):
        if lever["path"] not in candidates.columns:
            raise ConfigError(f"{folder / 'candidates.csv'}: no column for lever {lever['path']}")
    for kpi, _sense in ((o["kpi"], o["sense"]) for o in manifest.get("objectives", [])):
        missing = [c for c in (f"{kpi}_mean", f"{kpi}_low", f"{kpi}_high") if c not in candidates]
        if missing:
            raise ConfigError(f"{folder / 'candidates.csv'}: missing column(s) {missing[0]}")
    return SearchFolder(
        folder=folder,
        manifest=manifest,
        candidates=candidates,
        futures=_table(folder, "futures.csv"),
        future_results=_table(folder, "future_results.csv"),
        robustness=_table(folder, "robustness.csv"),
        prim=_table(folder, "prim.csv"),
        sobol=_table(folder, "sobol.csv"),
    )
