"""Where a streamed import puts its rows until the end: Parquet files in a work folder.

Accepted rows of each table are appended, batch by batch, to ``<table>.spill.parquet``
(:class:`TableSpill`, a ``pyarrow.parquet.ParquetWriter`` with the schema of the first
batch); quarantined rows to ``<table>.quarantine.parquet``.  At the end,
:meth:`TableSpill.finish` applies the date-only rule, which needs the number of
date-only values of each day over the whole table (the k-th of n values of a day is
placed at ``window start + (k + 0.5) / n x window length``; k was numbered in file
order while streaming), and writes ``<table>.parquet`` one row group at a time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.history.mapping import DateOnlyRule
from sim.io.quarantine import QUARANTINE_COLUMNS

__all__ = ["QuarantineSpill", "TableSpill", "read_batches"]

_K = "_k_"  # prefix of the hidden column numbering a date-only value within its day


def read_batches(path: Path, batch_rows: int = 65_536) -> Iterator[pd.DataFrame]:
    """The rows of the Parquet file *path* as DataFrames of at most *batch_rows* rows."""
    source = pq.ParquetFile(path)
    for batch in source.iter_batches(batch_rows):
        yield pa.Table.from_batches([batch], source.schema_arrow).to_pandas()


class _Writer:
    """Append DataFrames to one Parquet file, with the schema of the first frame that has
    rows (a file that never gets one holds the empty first frame: its columns)."""

    def __init__(self, path: Path, schema: pa.Schema | None = None) -> None:
        self.path = path
        self.schema = schema
        self.writer: pq.ParquetWriter | None = None
        self.empty: pd.DataFrame | None = None
        self.rows = 0

    def append(self, frame: pd.DataFrame) -> None:
        """Append the rows of *frame* (an empty frame only gives the columns)."""
        if not len(frame):
            if self.empty is None:
                self.empty = frame
            return
        table = pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False)
        if self.writer is None:
            self.schema = table.schema
            self.writer = pq.ParquetWriter(self.path, table.schema)
        self.writer.write_table(table)
        self.rows += len(frame)

    def close(self) -> None:
        """Finish the file (written now if it got no rows: empty, with the columns)."""
        if self.writer is None and self.empty is not None:
            table = pa.Table.from_pandas(self.empty, schema=self.schema, preserve_index=False)
            self.writer = pq.ParquetWriter(self.path, table.schema)
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class QuarantineSpill(_Writer):
    """The quarantined rows of one table (:data:`~sim.io.quarantine.QUARANTINE_COLUMNS`)."""

    def __init__(self, path: Path) -> None:
        fields = [(c, pa.int64() if c == "row" else pa.string()) for c in QUARANTINE_COLUMNS]
        super().__init__(path, pa.schema(fields))

    def append(self, frame: pd.DataFrame) -> None:
        """Append quarantined rows (``row`` as int64, every other column as text)."""
        frame = frame.loc[:, list(QUARANTINE_COLUMNS)].astype({"row": "int64"})
        text = [c for c in QUARANTINE_COLUMNS if c != "row"]
        super().append(frame.astype(dict.fromkeys(text, object)))


class TableSpill(_Writer):
    """The accepted rows of one table, numbered for the date-only rule."""

    def __init__(self, path: Path, rule: DateOnlyRule) -> None:
        super().__init__(path)
        self.rule = rule
        self.per_day: dict[str, Counter] = {}  # field -> day -> date-only values so far

    def number_date_only(self, frame: pd.DataFrame) -> None:
        """Give each date-only value of *frame* (accepted rows, in file order) its number
        within its field and day, in hidden ``_k_<field>`` columns."""
        for column in [c for c in frame.columns if c.endswith("_date_only")]:
            name = column.removesuffix("_date_only")
            counter = self.per_day.setdefault(name, Counter())
            mask = frame[column].to_numpy(dtype=bool)
            k = np.full(len(frame), -1, dtype=np.int64)
            if mask.any():
                day = frame.loc[mask, name]
                before = day.map(counter).fillna(0).astype(np.int64).to_numpy()
                k[mask] = before + day.groupby(day).cumcount().to_numpy()
                counter.update(day.value_counts().to_dict())
            frame[f"{_K}{name}"] = k

    def notes(self) -> Counter:
        """Placed values per field (``date only -> placed by rule ...``)."""
        label = f"date only -> placed by rule {self.rule.rule}"
        return Counter(
            {(n, label): sum(c.values()) for n, c in self.per_day.items() if sum(c.values())}
        )

    def _place(self, frame: pd.DataFrame) -> pd.DataFrame:
        rule = self.rule
        start = pd.Timedelta(hours=rule.window[0].hour, minutes=rule.window[0].minute)
        end = pd.Timedelta(hours=rule.window[1].hour, minutes=rule.window[1].minute)
        for name, counter in self.per_day.items():
            k_col = f"{_K}{name}"
            if not sum(counter.values()):
                continue
            mask = frame[k_col].to_numpy() >= 0
            if mask.any():
                day = frame.loc[mask, name]
                if rule.rule == "fixed":
                    offset = pd.Timedelta(hours=rule.time.hour, minutes=rule.time.minute)
                    frame.loc[mask, name] = day + offset
                else:
                    k = frame.loc[mask, k_col].to_numpy()
                    n = day.map(counter).to_numpy()
                    frac = (k + 0.5) / n
                    placed = day + start + pd.to_timedelta(frac * (end - start).value, "ns")
                    frame.loc[mask, name] = placed
            frame[name] = frame[name].dt.round("s")
        return frame.drop(columns=[c for c in frame.columns if c.startswith(_K)])

    def finish(self, final: Path) -> int:
        """Write the table to *final* with the date-only rule applied; its row count."""
        self.close()
        out = _Writer(final)
        if not self.path.exists():  # no batch at all: no columns known
            pd.DataFrame().to_parquet(final, index=False)
            return 0
        empty = pq.ParquetFile(self.path).schema_arrow.empty_table().to_pandas()
        out.append(self._place(empty))
        for frame in read_batches(self.path):
            out.append(self._place(frame))
        out.close()
        self.path.unlink()
        return out.rows
