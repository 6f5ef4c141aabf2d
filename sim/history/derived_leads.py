"""Rows an import makes rather than reads: channel defaults, derived leads, created reps.

- **Channel defaults**: an accepted lead whose attribute is blank gets its channel's
  value from the mapping's ``channel_defaults`` (DOMAIN.md 1.2), with a note.
- **Deal-only exports** (a mapping without a leads table): one lead per accepted deal,
  ``lead_id`` = ``opportunity_id``, ``arrived`` = the deal's ``created`` date (placed by
  the date-only rule like any date; ``arrived_date_only`` marks it), ``channel`` = the
  deal's channel or ``unknown``; ``source_file``/``source_row`` point at the deal's row.
  ``leads.parquet`` then looks like any import's, so calibrate, backtest and replay
  work unchanged; the import report says ``derived_leads: true``.
- **Reps missing from the reps table** (``checks.unknown_rep: create``), or every rep
  named by a deal when no reps table is mapped: added to ``reps.parquet`` with
  ``created_from = "opportunities"``, and listed in a printed note.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from sim.history.import_spill import TableSpill, read_batches
from sim.history.mapping import SCHEMA, MappingSpec

__all__ = [
    "CREATED_NOTE",
    "DERIVED_NOTE",
    "add_created_reps",
    "apply_channel_defaults",
    "derive_leads",
]

DERIVED_NOTE = "derived from the deals: one lead per accepted deal"
CREATED_NOTE = "created from the deals (not in the reps table)"


def _dtype(name: str) -> str:
    return {"number": "float64", "flag": "boolean"}.get(SCHEMA["leads"][name], "string")


def apply_channel_defaults(leads: pd.DataFrame, mapping: MappingSpec) -> Counter:
    """Fill blank attributes of *leads* (in place) from ``channel_defaults``; notes."""
    notes: Counter = Counter()
    if "channel" not in leads:
        return notes
    for channel, defaults in mapping.channel_defaults.items():
        of_channel = leads["channel"] == channel
        for name, value in defaults.items():
            if name not in leads:
                leads[name] = pd.Series(pd.NA, index=leads.index, dtype=_dtype(name))
            fill = of_channel & leads[name].isna()
            if fill.any():
                leads.loc[fill, name] = value
                notes[(name, f"channel default for {channel}")] = int(fill.sum())
    return notes


def _lead_rows(deals: pd.DataFrame) -> pd.DataFrame:
    leads = pd.DataFrame(
        {
            "source_file": deals["source_file"],
            "source_row": deals["source_row"],
            "lead_id": deals["opportunity_id"].astype("string"),
            "arrived": deals["created"],
            "arrived_date_only": deals["created_date_only"].astype(bool),
        }
    )
    channel = deals.get("channel")
    unknown = pd.Series("unknown", index=deals.index, dtype="string")
    leads["channel"] = unknown if channel is None else channel.astype("string").fillna("unknown")
    return leads


def derive_leads(stream: Any, path: Path) -> None:
    """Write the leads of a deal-only export to *path* (see the module docstring)."""
    out, mapping = stream.out, stream.mapping
    writer = TableSpill(path.with_suffix(".tmp"), mapping.date_only)
    notes: Counter = Counter()
    for deals in read_batches(out.tables["opportunities"]):
        leads = _lead_rows(deals)
        notes.update(apply_channel_defaults(leads, mapping))
        out.channels.update(leads["channel"].dropna().unique())
        writer.append(leads)
    writer.close()
    rows = writer.rows
    writer.path.replace(path)
    out.tables["leads"] = path
    out.derived["leads"] = rows
    out.notes.update({("leads", *k): v for k, v in notes.items()})
    out.notes[("leads", "lead_id", DERIVED_NOTE)] += rows


def add_created_reps(stream: Any, reps: list[str]) -> None:
    """Add *reps* (named by deals, missing from the reps table) to ``reps.parquet``."""
    if not reps:
        return
    out = stream.out
    path = stream.work / "reps.parquet"
    created = pd.DataFrame(
        {
            "rep_id": pd.Series(reps, dtype="string"),
            "created_from": pd.Series("opportunities", index=range(len(reps)), dtype="string"),
        }
    )
    if "reps" in out.tables:
        table = pd.read_parquet(out.tables["reps"])
        table["created_from"] = pd.Series(pd.NA, index=table.index, dtype="string")
        if "source_row" in table:
            table["source_row"] = table["source_row"].astype("Int64")
        created = pd.concat([table, created], ignore_index=True)
    created.to_parquet(path, index=False)
    out.tables["reps"] = path
    out.derived["reps"] = len(reps)
    out.created_reps = list(reps)
    out.notes[("reps", "rep_id", CREATED_NOTE)] += len(reps)
