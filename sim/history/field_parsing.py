"""Turning the text of one exported column into canonical values, for :mod:`sim.history.importer`.

:func:`parse_field` applies a field's mapping (blank value, value map, unmapped policy)
and type (datetime with formats tried in order, number, flag, text), vectorised, and
returns the values with a problem reason per row (None when fine), the notes on rows
(e.g. a blank given a value) and the source values outside the map.

A number is plain decimal text (``1200.50``, ``-3``): ``1_000.00``, ``1E+3``, ``1,000``,
``inf`` and ``nan`` are ``bad_number``, as a spreadsheet or a parser would read them
differently.  The canonical number fields (amounts, timeline days, dwell seconds) cannot
be negative: a negative value is ``negative_number``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.history.mapping import DEFAULT_DATE_FORMATS, FieldSpec, is_date_only_format

__all__ = ["Parsed", "constant_column", "parse_field"]

_PLAIN_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"


@dataclass
class Parsed:
    """Canonical values of one field and what was wrong or noted, row by row."""

    values: pd.Series
    problem: pd.Series  # reason text, or None
    notes: dict[str, pd.Series] = field(default_factory=dict)  # note -> rows it applies to
    date_only: pd.Series | None = None
    unmapped: dict[str, pd.Series] = field(default_factory=dict)  # source value -> its rows
    text: pd.Series | None = None  # the cells after the blank value and the value map


def _parse_datetime(text: pd.Series, formats: list[str]) -> tuple[pd.Series, pd.Series]:
    values = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    date_only = pd.Series(False, index=text.index)
    todo = text != ""
    for fmt in formats or DEFAULT_DATE_FORMATS:
        if not todo.any():
            break
        parsed = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        hit = parsed.notna()
        idx = parsed.index[hit]
        values.loc[idx] = parsed[hit].astype("datetime64[ns]")
        date_only.loc[idx] = is_date_only_format(fmt)
        todo.loc[idx] = False
    return values, date_only


def parse_field(text: pd.Series, name: str, kind: str, spec: FieldSpec) -> Parsed:
    """Canonical values of one field, with a problem reason per row (None when fine)."""
    problem = pd.Series(None, index=text.index, dtype=object)
    notes: dict[str, pd.Series] = {}
    unmapped: dict[str, pd.Series] = {}
    text = text.astype(str).str.strip()
    blank = text == ""
    filled = blank & (spec.blank is not None)
    if spec.blank is not None and blank.any():
        notes[f"blank -> {spec.blank!r}"] = blank
        text = text.where(~blank, str(spec.blank))
    if spec.values:
        # a blank given its value is the mapping's own choice, never "outside the map"
        known = text.isin(list(spec.values)) | (text == "") | filled
        outside = text[~known]
        if len(outside) and spec.unmapped == "quarantine":
            problem[~known] = "unmapped_value"
        elif len(outside) and spec.unmapped == "warn":
            unmapped = {v: (text == v) & ~known for v in pd.unique(outside)}
        mapped = text.map({k: str(v) for k, v in spec.values.items()})
        text = mapped.where(mapped.notna(), text).astype(object)
    missing = text == ""
    date_only = None
    if kind == "datetime":
        values, date_only = _parse_datetime(text, spec.formats)
        problem[values.isna() & ~missing & problem.isna()] = "bad_date"
    elif kind == "number":
        plain = text.str.fullmatch(_PLAIN_NUMBER) & ~missing
        values = pd.to_numeric(text.where(plain), errors="coerce").astype(float)
        bad = (~np.isfinite(values.fillna(0.0))) | (values.isna() & ~missing)
        problem[bad & problem.isna()] = "bad_number"
        negative = (values < 0).fillna(False) & ~bad
        problem[negative & problem.isna()] = "negative_number"
        values = values.where(~bad)
    elif kind == "flag":
        lower = text.str.lower()
        values = pd.Series(pd.NA, index=text.index, dtype="boolean")
        values[lower.isin([v.lower() for v in spec.true_values])] = True
        values[lower.isin([v.lower() for v in spec.false_values])] = False
        problem[values.isna() & ~missing & problem.isna()] = "bad_flag"
    else:
        values = text.where(~missing).astype("string")
    return Parsed(values, problem, notes, date_only, unmapped, text)


def constant_column(spec: FieldSpec, n: int, index: pd.Index) -> pd.Series:
    """The text of a field given as a constant ``value``, for every row."""
    return pd.Series([str(spec.value)] * n, index=index, dtype=object)
