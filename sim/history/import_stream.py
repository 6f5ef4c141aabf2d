"""The streamed import: every table read in batches, checked, and spilled to Parquet.

Tables are imported in :data:`~sim.history.mapping.TABLE_ORDER` (reps, leads, deals,
contracts, payments, stage history), so a row's references point at tables already
final.  Per batch (:func:`sim.history.import_table.validate_batch`): each row's own
problems; then ``duplicate`` keys (the first row is kept; :class:`KeyIndex` of the keys
seen so far); then the cross-table checks, against the key sets of earlier tables:
``unknown_lead`` / ``lead_quarantined`` (and ``unknown_contract``,
``unknown_opportunity``, ``unknown_rep``, ...), a deal closed (contract signed) on a day
before its lead's first contact (``closed_before_arrival``).  Accepted rows go to a
Parquet writer, quarantined rows to a quarantine spill
(:mod:`sim.history.import_spill`); only key sets, counts and notes stay in memory, so a
file of any length imports in bounded memory.  Counts reconcile per file: rows read =
accepted + quarantined.

Deal-only exports (no leads table) get their leads from the accepted deals
(:mod:`sim.history.derived_leads`); reps named by deals but missing from the reps table
are quarantined (``unknown_rep``) or created, as ``checks.unknown_rep`` says.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.history.export_files import source_files, table_batches
from sim.history.import_spill import QuarantineSpill, TableSpill
from sim.history.import_table import Batch, validate_batch
from sim.history.key_index import KeyIndex, hash_keys
from sim.history.mapping import KEYS, SCHEMA, TABLE_ORDER, MappingSpec
from sim.history.money import CurrencyBook
from sim.io.quarantine import FileCount

__all__ = ["REFERENCES", "StreamOutcome", "stream_import"]

REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {
    "opportunities": (("lead_id", "leads"), ("rep_id", "reps")),
    "contracts": (("lead_id", "leads"), ("rep_id", "reps")),
    "payments": (("contract_id", "contracts"),),
    "stage_history": (("opportunity_id", "opportunities"),),
}
"""Per table, the fields that name a row of an earlier table."""

_DATE_CHECKS = {"opportunities": "closed", "contracts": "signed"}
_SAME_DAY = "on the day of a date-only arrival"


@dataclass
class StreamOutcome:
    """What a streamed import leaves: files in the work folder and the counts."""

    tables: dict[str, Path]
    quarantine: dict[str, Path]
    counts: list[FileCount]
    notes: Counter
    unmapped: Counter
    reasons: Counter  # (table, source column, reason) -> rows
    channels: set = field(default_factory=set)
    latest: pd.Timestamp | None = None
    derived: dict[str, int] = field(default_factory=dict)  # table -> rows not read
    created_reps: list[str] = field(default_factory=list)
    missing_reps: Counter = field(default_factory=Counter)  # rep -> rows quarantined
    converted: int = 0


def _days(values: pd.Series) -> np.ndarray:
    """Days since 1970 of datetimes (NaT -> a very small number)."""
    ns = values.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)
    return np.where(values.isna().to_numpy(), np.iinfo(np.int64).min // 4, ns)


def _mark(verdict: pd.DataFrame, rows, column: str, reason: str) -> None:
    verdict.loc[rows, ["column", "reason", "problems"]] = [column, reason, f"{column}: {reason}"]


class _Stream:
    def __init__(self, export_dir: Path, mapping: MappingSpec, work: Path, batch_rows: int):
        self.export_dir, self.mapping, self.work = export_dir, mapping, work
        self.batch_rows = batch_rows
        self.book = CurrencyBook(mapping.currency, mapping.currency_rates, mapping.minor_units)
        self.accepted: dict[str, KeyIndex] = {t: KeyIndex() for t in SCHEMA}
        self.seen: dict[str, KeyIndex] = {t: KeyIndex() for t in SCHEMA}
        self.out = StreamOutcome({}, {}, [], Counter(), Counter(), Counter())
        self.new_reps: dict[str, None] = {}
        self.counts: dict[tuple[str, str], list[int]] = {}

    # --- checks across rows and tables ------------------------------------------------

    def _duplicates(self, table: str, batch: Batch, index: KeyIndex) -> None:
        keys = self.mapping.key_fields(table)
        if not keys:
            return
        verdict = batch.verdict
        fine = verdict["reason"].isna()
        hashes = hash_keys(batch.out[keys].where(fine, None))
        within = pd.Series(hashes).duplicated(keep="first").to_numpy()
        dup = (within | index.contains(hashes)) & fine.to_numpy()
        index.add(hashes)
        if dup.any():
            _mark(verdict, dup, keys[0], "duplicate")

    def _references(self, table: str, batch: Batch) -> None:
        out, verdict, checks = batch.out, batch.verdict, self.mapping.checks
        for column, target in REFERENCES.get(table, ()):
            if column not in out or (target not in self.mapping.tables and target != "leads"):
                continue
            if target == "leads" and self.mapping.deal_only and table == "opportunities":
                continue  # a derived lead is the deal itself
            name = target.removesuffix("s")
            name = "opportunity" if target == "opportunities" else name
            hashes = hash_keys(out[column])
            ok = self.accepted[target].contains(hashes)
            bad = out[column].notna().to_numpy() & ~ok & verdict["reason"].isna().to_numpy()
            if not bad.any():
                continue
            was_seen = self.seen[target].contains(hashes)
            if target == "reps" and checks.unknown_rep == "create":
                self.new_reps.update(dict.fromkeys(out.loc[bad, column].astype(str)))
                continue
            verdicts = (
                (f"{name}_quarantined", bad & was_seen),
                (f"unknown_{name}", bad & ~was_seen),
            )
            for why, rows in verdicts:
                if not rows.any():
                    continue
                if target == "reps" or checks.unknown_reference == "quarantine":
                    _mark(verdict, rows, column, why)
                    if target == "reps" and why == "unknown_rep":
                        self.out.missing_reps.update(out.loc[rows, column].astype(str))
                else:
                    self.out.notes[(table, column, f"kept: {why}")] += int(rows.sum())

    def _dates(self, table: str, batch: Batch) -> None:
        """Deals closed (contracts signed) on a day before their lead's first contact."""
        when = _DATE_CHECKS.get(table)
        out, verdict = batch.out, batch.verdict
        if when not in out or "lead_id" not in out:
            return
        if self.mapping.deal_only and table == "opportunities":
            if "created" not in out:
                return
            coded = _days(out["created"]) * 2 + out["created_date_only"].to_numpy(dtype=np.int64)
            found = out["created"].notna().to_numpy()
        else:
            found, coded = self.accepted["leads"].lookup(hash_keys(out["lead_id"]))
        arrived, date_only = coded // 2, coded % 2 == 1
        closed = _days(out[when])
        has = found & out[when].notna().to_numpy()
        bad = has & (closed < arrived) & verdict["reason"].isna().to_numpy()
        reason = f"{when}_before_arrival"
        if self.mapping.checks.closed_before_arrival == "quarantine":
            if bad.any():
                _mark(verdict, bad, when, reason)
        elif bad.any():
            self.out.notes[(table, when, f"kept: {reason}")] += int(bad.sum())
        same = has & (closed == arrived) & date_only & verdict["reason"].isna().to_numpy()
        if same.any():
            self.out.notes[(table, when, f"kept: {_SAME_DAY}")] += int(same.sum())

    # --- one batch ----------------------------------------------------------------------

    def _remember(self, table: str, batch: Batch, ok: np.ndarray) -> None:
        """Key sets of this batch: every id read, the accepted ones (leads: with day)."""
        out = batch.out
        targets = [table]
        if table == "opportunities" and self.mapping.deal_only:
            targets.append("leads")
        for target in targets:
            key = KEYS.get(target)
            if key is None or key not in out:
                continue
            present = out[key].notna().to_numpy()
            self.seen[target].add(hash_keys(out.loc[present, key]))
            values = None
            when = "arrived" if table == "leads" else "created"
            if target == "leads" and when in out:
                days = _days(out[when]) * 2 + out[f"{when}_date_only"].to_numpy(dtype=np.int64)
                values = days[ok]
            self.accepted[target].add(hash_keys(out.loc[ok, key]), values)

    def _quarantine(self, table: str, batch: Batch, raw: pd.DataFrame, bad: np.ndarray):
        verdict = batch.verdict.loc[bad]
        q = batch.out.loc[bad, ["source_file", "source_row"]].copy()
        q["column"] = verdict["column"].map(lambda c: batch.source_columns.get(c) or c)
        q["reason"] = verdict["reason"]
        q["problems"] = verdict["problems"]
        raw = raw.loc[bad]
        q["value"] = [
            str(raw.at[i, col]) if col in raw.columns else ""
            for i, col in zip(q.index, q["column"], strict=True)
        ]
        q = q.rename(columns={"source_file": "file", "source_row": "row"}).assign(table=table)
        for (column, reason), n in q.groupby(["column", "reason"], sort=False).size().items():
            self.out.reasons[(table, column, reason)] += int(n)
        return q

    def _accept(self, table: str, accepted: pd.DataFrame) -> None:
        if table == "leads":
            from sim.history.derived_leads import apply_channel_defaults

            self.out.notes.update(
                {(table, *k): v for k, v in apply_channel_defaults(accepted, self.mapping).items()}
            )
            if "channel" in accepted:
                self.out.channels.update(accepted["channel"].dropna().unique())
        if "rep_id" in accepted and "reps" not in self.mapping.tables:
            self.new_reps.update(dict.fromkeys(accepted["rep_id"].dropna().astype(str)))
        for name, kind in SCHEMA[table].items():
            if kind == "datetime" and name in accepted and accepted[name].notna().any():
                latest = accepted[name].max()
                if self.out.latest is None or latest > self.out.latest:
                    self.out.latest = latest

    def _batch(self, table: str, raw: pd.DataFrame, dups: KeyIndex, spill, qspill) -> None:
        spec = self.mapping.tables[table]
        batch = validate_batch(table, spec, raw, self.mapping, self.book)
        self._duplicates(table, batch, dups)
        self._references(table, batch)
        self._dates(table, batch)
        bad = batch.verdict["reason"].notna().to_numpy()
        ok = ~bad
        self._remember(table, batch, ok)
        for (name, note), mask in batch.notes.items():
            if n := int((mask.to_numpy() & ok).sum()):
                self.out.notes[(table, name, note)] += n
        for (name, value), mask in batch.unmapped.items():
            if n := int((mask.to_numpy() & ok).sum()):
                self.out.unmapped[(table, name, value)] += n
        qspill.append(self._quarantine(table, batch, raw, bad))
        accepted = batch.out.loc[ok].reset_index(drop=True)
        self._accept(table, accepted)
        spill.number_date_only(accepted)
        spill.append(accepted)
        for file, flags in pd.Series(bad).groupby(batch.out["source_file"].to_numpy(), sort=True):
            c = self.counts.setdefault((table, file), [0, 0, 0])
            c[0] += len(flags)
            c[1] += int((~flags).sum())
            c[2] += int(flags.sum())

    def table(self, table: str) -> None:
        """Import every file of *table*, batch by batch."""
        spill = TableSpill(self.work / f"{table}.spill.parquet", self.mapping.date_only)
        qspill = QuarantineSpill(self.work / f"{table}.quarantine.parquet")
        dups = KeyIndex()
        spec = self.mapping.tables[table]
        for raw in table_batches(self.export_dir, table, spec, self.batch_rows):
            self._batch(table, raw, dups, spill, qspill)
        qspill.close()
        final = self.work / f"{table}.parquet"
        spill.finish(final)
        self.out.notes.update({(table, *k): v for k, v in spill.notes().items()})
        self.out.tables[table] = final
        if qspill.rows:
            self.out.quarantine[table] = qspill.path
        else:
            qspill.path.unlink(missing_ok=True)

    def run(self) -> StreamOutcome:
        from sim.history.derived_leads import add_created_reps, derive_leads

        for table, spec in self.mapping.tables.items():  # fail fast: every table has files
            source_files(self.export_dir, table, spec)
        for table in TABLE_ORDER:
            if table in self.mapping.tables:
                self.table(table)
        order = list(self.mapping.tables)  # the mapping's order, as files are listed
        for (table, file), (read, accepted, quarantined) in sorted(
            self.counts.items(), key=lambda kv: order.index(kv[0][0])
        ):
            self.out.counts.append(FileCount(table, file, read, accepted, quarantined))
        if self.mapping.deal_only and "opportunities" in self.out.tables:
            derive_leads(self, self.work / "leads.parquet")
        add_created_reps(self, sorted(self.new_reps) if self.new_reps else [])
        self.out.converted = self.book.converted
        return self.out


def stream_import(
    export_dir: Path, mapping: MappingSpec, work: Path, batch_rows: int = 50_000
) -> StreamOutcome:
    """Import *export_dir* through *mapping* into Parquet files under *work*."""
    return _Stream(export_dir, mapping, work, batch_rows).run()
