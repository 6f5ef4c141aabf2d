"""Importing a CRM export: read, validate row by row, write canonical tables.

:func:`import_export` reads every file a mapping names (CSV or Parquet, every cell as
text so ids keep leading zeros; :mod:`sim.history.export_files`), turns each mapped column into
its canonical type (:mod:`sim.history.field_parsing`), and sorts each row into *accepted* or
*quarantined*, never dropping one silently.  A record whose fields do not line up with
the header is quarantined as a whole (``bad_field_count``); any other row is
quarantined for its first problem, in field order: a required field missing
(``missing``), text that is no date / number / flag (``bad_date``, ``bad_number``,
``bad_flag``), a value outside the map when the field quarantines those
(``unmapped_value``), a repeated key (``duplicate``: the first row is kept), an outcome
other than won / lost / open (``bad_outcome``); then, across tables, a reference to a lead
or contract that is not in the accepted table (``unknown_lead``, ``unknown_contract``) and
a deal closed on a day before its lead's first contact (``closed_before_arrival``).
Accepted rows may carry *notes* (a blank mapped to a value, a channel default applied, a
date placed by the date-only rule), counted by reason.  The counts always reconcile:
rows read = accepted + quarantined, per file and in total (:meth:`ImportResult.check`).
Quarantined rows and counts are the shared records of :mod:`sim.io.quarantine`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import ConfigError, DataError
from sim.history.export_files import read_table
from sim.history.field_parsing import constant_column, parse_field
from sim.history.import_folder import (
    QUARANTINE_FILE,
    REPORT_FILE,
    read_imported,
    require_imported,
    write_import,
)
from sim.history.mapping import OUTCOMES, SCHEMA, MappingSpec, TableSpec
from sim.io.quarantine import (
    COUNT_COLUMNS,
    QUARANTINE_COLUMNS,
    FileCount,
    QuarantinedRow,
    check_counts,
    quarantine_frame,
    quarantined_rows,
)

__all__ = [
    "QUARANTINE_COLUMNS",
    "QUARANTINE_FILE",
    "REPORT_FILE",
    "ImportResult",
    "import_export",
    "read_imported",
    "require_imported",
    "summary_lines",
    "write_import",
]


@dataclass
class ImportResult:
    """Accepted canonical tables, quarantined rows, counts and notes of one import."""

    mapping: MappingSpec
    tables: dict[str, pd.DataFrame]
    quarantine: pd.DataFrame  # QUARANTINE_COLUMNS, one row per QuarantinedRow
    counts: pd.DataFrame  # COUNT_COLUMNS: table, file, read, accepted, quarantined
    notes: pd.DataFrame  # table, field, note, count
    unmapped: pd.DataFrame  # table, field, value, count: source values outside the map
    channels_without_defaults: list[str] = field(default_factory=list)

    def check(self) -> None:
        """Raise DataError unless rows read = accepted + quarantined, per file and table."""
        c = self.counts
        check_counts(self.file_counts(), len(self.quarantine))
        for table, frame in self.tables.items():
            accepted = int(c.loc[c["table"] == table, "accepted"].sum())
            if accepted != len(frame):
                raise DataError(f"{table}: {len(frame)} rows accepted, counts say {accepted}")

    def file_counts(self) -> list[FileCount]:
        """The per-file counts as :class:`~sim.io.quarantine.FileCount` records."""
        return [FileCount(*row) for row in self.counts.itertuples(index=False)]

    def quarantined_rows(self) -> list[QuarantinedRow]:
        """The quarantined rows as :class:`~sim.io.quarantine.QuarantinedRow` records."""
        return quarantined_rows(self.quarantine)

    def totals(self) -> dict[str, int]:
        """Rows read, accepted and quarantined over all files."""
        return {k: int(self.counts[k].sum()) for k in ("read", "accepted", "quarantined")}


# --- one table -----------------------------------------------------------------------


def _validate_table(
    table: str, spec: TableSpec, raw: pd.DataFrame, keys: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame, Counter, Counter]:
    """Parse every mapped field of *raw*; return (all rows parsed, problems, notes, unmapped).

    The problems frame has one row per raw row: ``column`` and ``reason`` of the first
    problem in field order (None when the row is fine) and ``problems``: all of them.
    """
    schema = SCHEMA[table]
    out = raw[["source_file", "source_row"]].copy()
    out.attrs["columns"] = {}
    reasons: list[pd.Series] = []
    note_masks: dict[tuple[str, str], pd.Series] = {}
    unmapped: Counter = Counter()
    for name, fspec in spec.columns.items():
        text = raw[fspec.column] if fspec.column else constant_column(fspec, len(raw), raw.index)
        parsed = parse_field(text, name, schema[name], fspec)
        out[name] = parsed.values
        out.attrs["columns"][name] = fspec.column
        if parsed.date_only is not None:
            out[f"{name}_date_only"] = parsed.date_only.astype(bool)
        problem = parsed.problem.copy()
        if name in spec.required:
            problem[out[name].isna() & problem.isna()] = "missing"
        if name == "outcome":
            bad = out[name].notna() & ~out[name].isin(OUTCOMES) & problem.isna()
            problem[bad] = "bad_outcome"
        reasons.append(problem.rename(name))
        note_masks.update({(name, k): v for k, v in parsed.notes.items()})
        unmapped.update({(name, k): v for k, v in parsed.unmapped.items()})
    problems = pd.concat(reasons, axis=1) if reasons else pd.DataFrame(index=raw.index)
    first_col = problems.notna().idxmax(axis=1).where(problems.notna().any(axis=1))
    verdict = pd.DataFrame({"column": first_col, "reason": None, "problems": ""}, index=raw.index)
    for i in np.flatnonzero(first_col.notna().to_numpy()):
        row = problems.iloc[i]
        verdict.iat[i, 1] = row[first_col.iat[i]]
        verdict.iat[i, 2] = "; ".join(f"{c}: {r}" for c, r in row.dropna().items())
    ragged = (raw["source_fields"] != raw["source_width"]).to_numpy()
    if ragged.any():  # a record whose fields do not line up with the header: nothing is sure
        verdict.loc[ragged, "column"] = "(record)"
        verdict.loc[ragged, "reason"] = "bad_field_count"
        verdict.loc[ragged, "problems"] = [
            f"(record): {n} fields, the header has {w}"
            for n, w in zip(raw["source_fields"][ragged], raw["source_width"][ragged], strict=True)
        ]
    if keys:
        fine = verdict["reason"].isna()
        dup = out[keys].where(fine).duplicated(keep="first") & fine
        verdict.loc[dup, "column"] = keys[0]
        verdict.loc[dup, "reason"] = "duplicate"
        verdict.loc[dup, "problems"] = f"{keys[0]}: duplicate"
    return out, verdict, note_masks, unmapped


def _place_date_only(frame: pd.DataFrame, rule) -> Counter:
    """Apply the date-only rule to the accepted rows; count the placed values per field."""
    notes: Counter = Counter()
    for column in [c for c in frame.columns if c.endswith("_date_only")]:
        name = column.removesuffix("_date_only")
        mask = frame[column].to_numpy(dtype=bool)
        if not mask.any():
            continue
        day = frame.loc[mask, name]
        start = pd.Timedelta(hours=rule.window[0].hour, minutes=rule.window[0].minute)
        if rule.rule == "fixed":
            offset = pd.Timedelta(hours=rule.time.hour, minutes=rule.time.minute)
            frame.loc[mask, name] = day + offset
        else:
            end = pd.Timedelta(hours=rule.window[1].hour, minutes=rule.window[1].minute)
            k = day.groupby(day).cumcount().to_numpy()
            n = day.groupby(day).transform("size").to_numpy()
            frac = (k + 0.5) / n
            frame.loc[mask, name] = day + start + pd.to_timedelta(frac * (end - start).value, "ns")
        frame[name] = frame[name].dt.round("s")
        notes[(name, f"date only -> placed by rule {rule.rule}")] = int(mask.sum())
    return notes


# --- the whole import ----------------------------------------------------------------


def _mark(verdict: pd.DataFrame, rows: pd.Series, column: str, reason: str) -> None:
    verdict.loc[rows, ["column", "reason", "problems"]] = [column, reason, f"{column}: {reason}"]


def _check_references(table, column, accepted, seen, tables, verdicts, mapping, kept) -> None:
    """Rows of *table* whose *column* names no accepted row: ``unknown_<x>`` when the id
    was never seen, ``<x>_quarantined`` when its row was rejected."""
    if table not in tables or column not in tables[table]:
        return
    frame, verdict = tables[table], verdicts[table]
    bad = frame[column].notna() & ~frame[column].isin(accepted) & verdict["reason"].isna()
    target = column.removesuffix("_id")
    reason = np.where(frame[column].isin(seen), f"{target}_quarantined", f"unknown_{target}")
    for why in np.unique(reason[bad.to_numpy()]):
        rows = bad & (reason == why)
        if mapping.checks.unknown_reference == "quarantine":
            _mark(verdict, rows, column, str(why))
        else:
            kept[(table, column, str(why))] += int(rows.sum())


def _check_order(table, when, accepted_leads, tables, verdicts, mapping, kept) -> None:
    """Deals closed (contracts signed) on a day before their lead's first contact."""
    if table not in tables or when not in tables[table] or "lead_id" not in tables[table]:
        return
    frame, verdict = tables[table], verdicts[table]
    by_lead = accepted_leads.set_index("lead_id")
    lead_arrived = frame["lead_id"].map(by_lead["arrived"].dt.normalize())
    closed_day = frame[when].dt.normalize()
    bad = (closed_day < lead_arrived).fillna(False) & verdict["reason"].isna()
    reason = f"{when}_before_arrival"
    if mapping.checks.closed_before_arrival == "quarantine":
        _mark(verdict, bad, when, reason)
    else:
        kept[(table, when, reason)] += int(bad.sum())
    if "arrived_date_only" in by_lead:
        date_only = frame["lead_id"].map(by_lead["arrived_date_only"]).eq(True)
        same = (closed_day == lead_arrived) & date_only & verdict["reason"].isna()
        kept[(table, when, "on the day of a date-only arrival")] += int(same.sum())


def _cross_checks(tables: dict[str, pd.DataFrame], verdicts, mapping: MappingSpec) -> Counter:
    """Reference and ordering checks across tables; counts kept (not quarantined) rows.

    Leads are final first; then deals and contracts (references, then dates); payments
    last, so a payment of a contract rejected by any check is ``contract_quarantined``.
    """
    kept: Counter = Counter()
    leads = tables["leads"]
    accepted_leads = leads.loc[verdicts["leads"]["reason"].isna()]
    lead_ids, all_leads = set(accepted_leads["lead_id"].dropna()), set(leads["lead_id"].dropna())
    context = (tables, verdicts, mapping, kept)
    for table, when in (("opportunities", "closed"), ("contracts", "signed")):
        _check_references(table, "lead_id", lead_ids, all_leads, *context)
        _check_order(table, when, accepted_leads, *context)
    if "contract_id" in tables.get("contracts", {}):
        ok = verdicts["contracts"]["reason"].isna()
        ids = tables["contracts"]["contract_id"]
        accepted = set(ids[ok].dropna())
        _check_references("payments", "contract_id", accepted, set(ids.dropna()), *context)
    return kept


def _channel_defaults(leads: pd.DataFrame, mapping: MappingSpec) -> Counter:
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


def _dtype(name: str) -> str:
    return {"number": "float64", "flag": "boolean"}.get(SCHEMA["leads"][name], "string")


def import_export(export_dir: str | Path, mapping: MappingSpec) -> ImportResult:
    """Read and validate every table *mapping* names under *export_dir*."""
    export_dir = Path(export_dir)
    if not export_dir.is_dir():
        raise ConfigError(f"{export_dir}: export folder not found")
    raws, parsed, verdicts, masks = {}, {}, {}, {}
    notes, unmapped = Counter(), Counter()
    for table, spec in mapping.tables.items():
        raw = read_table(export_dir, table, spec)
        frame, verdict, table_notes, table_unmapped = _validate_table(
            table, spec, raw, mapping.key_fields(table)
        )
        raws[table], parsed[table], verdicts[table] = raw, frame, verdict
        masks[table] = table_notes
        unmapped.update({(table, *k): v for k, v in table_unmapped.items()})
    kept = _cross_checks(parsed, verdicts, mapping)
    notes.update({(t, c, f"kept: {r}"): n for (t, c, r), n in kept.items() if n})
    tables, quarantine, counts = {}, [], []  # QuarantinedRow, FileCount records
    for table, frame in parsed.items():
        verdict = verdicts[table]
        bad = verdict["reason"].notna().to_numpy()
        q = frame.loc[bad, ["source_file", "source_row"]].copy()
        raw = raws[table].loc[bad]
        q["column"] = verdict.loc[bad, "column"].map(
            lambda c, cols=frame.attrs["columns"]: cols.get(c) or c
        )
        q["reason"] = verdict.loc[bad, "reason"]
        q["problems"] = verdict.loc[bad, "problems"]
        q["value"] = [
            str(raw.at[i, col]) if col in raw.columns else ""
            for i, col in zip(q.index, q["column"], strict=True)
        ]
        quarantine += [
            QuarantinedRow(table, file, int(row), column, reason, value, problems)
            for file, row, column, reason, value, problems in q[
                ["source_file", "source_row", "column", "reason", "value", "problems"]
            ].itertuples(index=False)
        ]
        for (name, note), mask in masks[table].items():
            if n := int((mask.to_numpy() & ~bad).sum()):
                notes[(table, name, note)] += n
        accepted = frame.loc[~bad].reset_index(drop=True)
        notes.update(
            {(table, *k): v for k, v in _place_date_only(accepted, mapping.date_only).items()}
        )
        if table == "leads":
            notes.update({(table, *k): v for k, v in _channel_defaults(accepted, mapping).items()})
        accepted.attrs = {}
        tables[table] = accepted
        per_file = frame.assign(bad=bad).groupby("source_file", sort=True)["bad"]
        for file, flags in per_file:
            counts.append(FileCount(table, file, len(flags), int((~flags).sum()), int(flags.sum())))
    result = ImportResult(
        mapping=mapping,
        tables=tables,
        quarantine=quarantine_frame(quarantine)
        .sort_values(["table", "file", "row"], kind="stable")
        .reset_index(drop=True),
        counts=pd.DataFrame(counts, columns=list(COUNT_COLUMNS)),
        notes=_counter_frame(notes, ["table", "field", "note", "count"]),
        unmapped=_counter_frame(unmapped, ["table", "field", "value", "count"]),
        channels_without_defaults=_undefaulted(tables["leads"], mapping),
    )
    result.check()
    return result


def _counter_frame(counter: Counter, columns: list[str]) -> pd.DataFrame:
    rows = [(*k, int(v)) for k, v in sorted(counter.items(), key=lambda kv: tuple(map(str, kv[0])))]
    return pd.DataFrame(rows, columns=columns)


def _undefaulted(leads: pd.DataFrame, mapping: MappingSpec) -> list[str]:
    """Channels seen in the accepted leads that ``channel_defaults`` does not list."""
    if "channel" not in leads or not mapping.channel_defaults:
        return []
    return sorted(set(leads["channel"].dropna()) - set(mapping.channel_defaults))


# --- output --------------------------------------------------------------------------


def summary_lines(result: ImportResult) -> list[str]:
    """The printed import report: counts per file, reasons, notes, reconciliation."""
    lines = []
    for row in result.counts.itertuples(index=False):
        lines.append(
            f"{row.table}: {row.file}: read {row.read}, accepted {row.accepted}, "
            f"quarantined {row.quarantined}"
        )
    reasons = result.quarantine.groupby(["table", "column", "reason"], sort=True).size()
    for (table, column, reason), n in reasons.items():
        lines.append(f"quarantined: {table}.{column}: {reason}: {n}")
    for row in result.notes.itertuples(index=False):
        lines.append(f"note: {row.table}.{row.field}: {row.note}: {row.count}")
    for row in result.unmapped.itertuples(index=False):
        lines.append(
            f"warning: {row.table}.{row.field}: value {row.value!r} is not in the mapping's "
            f"values ({row.count} rows kept as is)"
        )
    if result.channels_without_defaults:
        lines.append(
            "warning: channels without channel_defaults: "
            + ", ".join(result.channels_without_defaults)
        )
    t = result.totals()
    lines.append(
        f"total: read {t['read']} = accepted {t['accepted']} + quarantined {t['quarantined']}"
    )
    return lines
