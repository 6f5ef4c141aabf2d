"""One batch of one table: every mapped field parsed, and each row's first own problem.

:func:`validate_batch` turns a batch of raw text (:mod:`sim.history.export_files`) into
canonical values (:mod:`sim.history.field_parsing`) and a *verdict* per row: the column
and reason of its first problem in field order (None when fine) and all its problems.
What needs other rows or tables (duplicates, references, dates across tables) is
:mod:`sim.history.import_stream`'s job.  Table rules applied here:

- a deal whose outcome is blank and whose close date is blank (or not mapped) is
  ``open`` (note ``blank outcome, no close date -> open``);
- in a deal-only export (no leads table) a deal's ``lead_id`` is its ``opportunity_id``;
- amounts become exact minor units with a currency (:mod:`sim.history.money`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.history.field_parsing import constant_column, parse_field
from sim.history.mapping import OUTCOMES, SCHEMA, MappingSpec, TableSpec
from sim.history.money import CurrencyBook

__all__ = ["Batch", "validate_batch"]

_OPEN_NOTE = "blank outcome, no close date -> open"


@dataclass
class Batch:
    """A parsed batch: values, verdicts, notes and unmapped values (row masks)."""

    out: pd.DataFrame
    verdict: pd.DataFrame  # column, reason, problems (one row per raw row)
    notes: dict[tuple[str, str], pd.Series] = field(default_factory=dict)
    unmapped: dict[tuple[str, str], pd.Series] = field(default_factory=dict)
    source_columns: dict[str, str | None] = field(default_factory=dict)


def _infer_open(out: pd.DataFrame, notes: dict) -> None:
    """Deals with neither an outcome nor a close date are open."""
    if "outcome" not in out:
        return
    blank = out["outcome"].isna()
    if "closed" in out:
        blank &= out["closed"].isna()
    if blank.any():
        out.loc[blank, "outcome"] = "open"
        notes[("outcome", _OPEN_NOTE)] = blank


def _verdict(problems: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
    """First problem per row (in field order), all problems, and ragged records."""
    flags = problems.notna().to_numpy()
    columns = np.asarray(problems.columns, dtype=object)
    has = flags.any(axis=1) if flags.shape[1] else np.zeros(len(raw), dtype=bool)
    verdict = pd.DataFrame({"column": None, "reason": None, "problems": ""}, index=raw.index)
    rows = np.flatnonzero(has)
    if len(rows):
        first = flags[rows].argmax(axis=1)
        values = problems.to_numpy(dtype=object)
        verdict.iloc[rows, 0] = columns[first]
        verdict.iloc[rows, 1] = values[rows, first]
        verdict.iloc[rows, 2] = [
            "; ".join(
                f"{c}: {r}" for c, r, f in zip(columns, values[i], flags[i], strict=True) if f
            )
            for i in rows
        ]
    ragged = (raw["source_fields"] != raw["source_width"]).to_numpy()
    if ragged.any():  # a record whose fields do not line up with the header: nothing is sure
        verdict.loc[ragged, "column"] = "(record)"
        verdict.loc[ragged, "reason"] = "bad_field_count"
        verdict.loc[ragged, "problems"] = [
            f"(record): {n} fields, the header has {w}"
            for n, w in zip(raw["source_fields"][ragged], raw["source_width"][ragged], strict=True)
        ]
    return verdict


def validate_batch(
    table: str, spec: TableSpec, raw: pd.DataFrame, mapping: MappingSpec, book: CurrencyBook
) -> Batch:
    """Parse every mapped field of the batch *raw* of *table*; the rows' own verdicts."""
    schema = SCHEMA[table]
    out = raw[["source_file", "source_row"]].copy()
    batch = Batch(out, pd.DataFrame())
    problems: dict[str, pd.Series] = {}
    amount_text = None
    for name, fspec in spec.columns.items():
        text = raw[fspec.column] if fspec.column else constant_column(fspec, len(raw), raw.index)
        parsed = parse_field(text, name, schema[name], fspec)
        out[name] = parsed.values
        batch.source_columns[name] = fspec.column
        if parsed.date_only is not None:
            out[f"{name}_date_only"] = parsed.date_only.astype(bool)
        problems[name] = parsed.problem.copy()
        batch.notes.update({(name, k): v for k, v in parsed.notes.items()})
        batch.unmapped.update({(name, k): v for k, v in parsed.unmapped.items()})
        if name == "amount":
            amount_text = parsed.text
    if table == "opportunities":
        _infer_open(out, batch.notes)
        if mapping.deal_only and "opportunity_id" in out:
            out.insert(out.columns.get_loc("opportunity_id") + 1, "lead_id", out["opportunity_id"])
    for name in spec.columns:
        if name in spec.required:
            problems[name][out[name].isna() & problems[name].isna()] = "missing"
        if name == "outcome":
            bad = out[name].notna() & ~out[name].isin(OUTCOMES) & problems[name].isna()
            problems[name][bad] = "bad_outcome"
    if "amount" in schema and ("amount" in out or "currency" in out or mapping.currency):
        book.apply(table, out, problems, amount_text)
    frame = pd.DataFrame(problems, index=raw.index) if problems else pd.DataFrame(index=raw.index)
    batch.verdict = _verdict(frame, raw)
    return batch
