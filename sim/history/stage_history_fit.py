"""Stage durations and pass odds read directly off an export's stage history.

The optional canonical table ``stage_history`` (``opportunity_id``, ``stage``,
``entered``) says when each deal entered each stage.  The workbench's stages are the five
checkpoints of :data:`policies.checkpoints.CHECKPOINTS`: stage *i* is the work before
checkpoint *i*, so entering stage *i + 1* means checkpoint *i* was passed.  The mapping
maps the export's stage names onto these (a stage's ``values:``); names are matched
ignoring case, spaces and dashes (``Legal Review`` is ``legal_review``).

:func:`stage_model` then, per deal, orders its checkpoint entries (the first entry of
each) and reads:

- a **passed** stage for each entry followed by a later one (a jump over stages passes
  the ones between, whose durations are unknown), and for the last entry of a won deal;
- a **failed** stage for the last entry of a lost deal;
- the stage's **duration** from its entry to the next entry (or to the close date of a
  won or lost deal); the first entry's duration starts at the deal's ``created`` date
  when the opportunities give one (the time before the first recorded stage is work too);
- an open deal's last stage is unresolved (right-censored): neither passed nor failed,
  and its duration is left out.

Pass odds = passed / (passed + failed) per stage, durations a gamma distribution per
stage (mean and shape by moments).  **Unmapped stages** (names that are no checkpoint)
are folded into the checkpoint in progress: their rows are left out, so their time
counts for the stage entered before them; the note lists them.  Rows of an outcome
(``Won``, ``Lost``: :data:`OUTCOME_STAGES`) are left out silently: the deal's outcome and
close date say the same.  A checkpoint the history
never shows passes with the highest odds (:data:`~sim.history.stage_search.ADVANCE_BOUNDS`)
and takes no time (0.01 days): the export's process does not have it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from policies.checkpoints import CHECKPOINTS
from sim.history.stage_search import ADVANCE_BOUNDS, SHAPE_BOUNDS

__all__ = ["MIN_RESOLVED", "OUTCOME_STAGES", "StageModel", "canonical_stage", "stage_model"]

MIN_RESOLVED = 5
"""Fewest resolved deals (won or lost) a stage model is read from."""
_ABSENT_DAYS = 0.01
WON_LOST = ("won", "lost")


OUTCOME_STAGES = frozenset({"won", "lost", "closed_won", "closed_lost", "open"})
"""Stage names that are outcomes, not stages: the opportunities' outcome and close date
say the same, so their rows are left out without a note."""


def _key(name) -> str:
    return str(name).strip().lower().replace(" ", "_").replace("-", "_")


def canonical_stage(name) -> str | None:
    """The checkpoint *name* stands for (case, spaces and dashes ignored), or None."""
    if name is None or (isinstance(name, float) and math.isnan(name)):
        return None
    key = _key(name)
    return key if key in CHECKPOINTS else None


@dataclass
class StageModel:
    """Per-checkpoint pass odds and duration fits read from a stage history."""

    means: tuple[float, ...]  # days
    shapes: tuple[float, ...]  # gamma shape per stage
    advance: tuple[float, ...]
    table: pd.DataFrame  # stage, passed, failed, unresolved, durations, advance, mean, shape
    resolved: int  # deals won or lost with a history
    notes: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        """Enough resolved deals and at least one checkpoint observed."""
        observed = (self.table["passed"] + self.table["failed"]).sum()
        return self.resolved >= MIN_RESOLVED and observed > 0


def _deal_table(opportunities: pd.DataFrame | None) -> pd.DataFrame:
    cols = ["opportunity_id", "outcome", "closed", "created"]
    if opportunities is None:
        return pd.DataFrame(columns=cols).set_index("opportunity_id")
    frame = opportunities.drop_duplicates("opportunity_id").set_index("opportunity_id")
    for col in cols[1:]:
        if col not in frame:
            frame[col] = pd.NaT if col != "outcome" else "open"
    return frame[cols[1:]]


def stage_model(history: pd.DataFrame, opportunities: pd.DataFrame | None) -> StageModel:
    """Read the stage model off *history* (canonical ``stage_history``) and the deals'
    outcomes in *opportunities* (module docstring)."""
    notes: list[str] = []
    canon = history["stage"].map(canonical_stage)
    outcome_rows = history["stage"].map(lambda s: _key(s) in OUTCOME_STAGES)
    other = canon.isna() & ~outcome_rows.astype(bool)
    unmapped = sorted({str(s) for s in history.loc[other, "stage"].dropna()})
    if unmapped:
        notes.append(
            f"{int(other.sum())} stage-history row(s) of stage(s) that are no checkpoint "
            f"({', '.join(unmapped[:5])}{', ...' if len(unmapped) > 5 else ''}) folded into the "
            "checkpoint in progress"
        )
    rows = history.assign(index=canon.map(CHECKPOINTS.index, na_action="ignore"))
    rows = rows[canon.notna() & rows["entered"].notna()]
    first = (  # each deal's first entry of each checkpoint, in checkpoint order
        rows.groupby(["opportunity_id", "index"], sort=True)["entered"].min().reset_index()
    )
    deals = _deal_table(opportunities)
    known = first["opportunity_id"].isin(deals.index)
    unknown = int(first.loc[~known, "opportunity_id"].nunique())
    first = first[known].reset_index(drop=True)
    deal = first["opportunity_id"]
    outcome = deal.map(deals["outcome"]).astype(str).to_numpy()
    closed = pd.to_datetime(deal.map(deals["closed"]))
    stage = first["index"].to_numpy(dtype=int)
    last = deal.ne(deal.shift(-1)).fillna(True).to_numpy(dtype=bool)
    head = deal.ne(deal.shift(1)).fillna(True).to_numpy(dtype=bool)
    start = first["entered"].copy()
    created = pd.to_datetime(deal.map(deals["created"]))
    earlier = head & (created < start).fillna(False).to_numpy(dtype=bool)
    start[earlier] = created[earlier]  # the deal's work before its first recorded stage
    nxt_stage = np.where(last, stage + 1, np.roll(stage, -1))
    nxt_time = first["entered"].shift(-1).where(~last, closed.where(np.isin(outcome, WON_LOST)))
    n = len(CHECKPOINTS)
    won_or_moved = ~last | (outcome == "won")
    marks = np.zeros(n + 1, int)  # passed over [stage, next stage): a difference array
    np.add.at(marks, stage[won_or_moved], 1)
    np.add.at(marks, nxt_stage[won_or_moved], -1)
    passed = np.cumsum(marks)[:n]
    failed = np.bincount(stage[last & (outcome == "lost")], minlength=n)[:n]
    unresolved = np.bincount(stage[last & ~np.isin(outcome, WON_LOST)], minlength=n)[:n]
    length = ((nxt_time - start) / pd.Timedelta(days=1)).to_numpy(dtype=float)
    timed = np.isfinite(length)
    backwards = int((length[timed] < 0).sum())
    durations = [np.clip(length[timed & (stage == i)], 0, None) for i in range(n)]
    resolved = int(np.isin(outcome[last], WON_LOST).sum())
    if unknown:
        notes.append(f"{unknown} deal(s) in the stage history are not among the opportunities")
    if backwards:
        notes.append(f"{backwards} stage duration(s) were negative (out of order) and count as 0")
    return _model(passed, failed, unresolved, durations, resolved, notes)


def _model(passed, failed, unresolved, durations, resolved, notes) -> StageModel:
    means, shapes, advance, absent = [], [], [], []
    for i, name in enumerate(CHECKPOINTS):
        seen = passed[i] + failed[i]
        a = passed[i] / seen if seen else ADVANCE_BOUNDS[1]
        advance.append(float(np.clip(a, *ADVANCE_BOUNDS)))
        d = np.asarray(durations[i], dtype=float)
        m = float(d.mean()) if len(d) else _ABSENT_DAYS
        var = float(d.var(ddof=1)) if len(d) > 1 else 0.0
        k = m * m / var if var > 0 else 1.0
        means.append(max(m, _ABSENT_DAYS))
        shapes.append(round(float(np.clip(k, *SHAPE_BOUNDS)), 4))
        if not seen and not len(d):
            absent.append(name)
    if absent:
        notes.append(
            f"checkpoint(s) without history: {', '.join(absent)} (pass with "
            f"{ADVANCE_BOUNDS[1]} and take {_ABSENT_DAYS} days)"
        )
    table = pd.DataFrame(
        {
            "stage": list(CHECKPOINTS),
            "passed": passed,
            "failed": failed,
            "unresolved": unresolved,
            "durations": [len(d) for d in durations],
            "advance": advance,
            "mean_days": means,
            "shape": shapes,
        }
    )
    return StageModel(
        means=tuple(round(m, 4) for m in means),
        shapes=tuple(shapes),
        advance=tuple(round(a, 6) for a in advance),
        table=table,
        resolved=resolved,
        notes=notes,
    )
