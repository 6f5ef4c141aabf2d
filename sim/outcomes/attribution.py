"""Process-to-result attribution (DOMAIN.md 2.5): which process measures go with outcomes.

For the deals of a run (or pooled replications) this fits one regression per outcome
with statsmodels, the process measures as factors and the deal's lead grade, budget band
and rep skill as controls:

- ``won``: logistic regression of the customer's decision at each checkpoint a deal
  reached (passed, or lost there), with the checkpoint as a control and intervals
  clustered by deal; effect = odds ratio of passing a checkpoint (a deal is won when it
  passes all five).  Decisions, unlike whole deals, are not biased by the horizon: a
  deal still open contributes the checkpoints it already passed, and a slow deal is not
  missing from the data;
- ``cycle_time``: OLS of log(days to contract) over won deals; effect = ratio of cycle
  times;
- ``deal_size``: OLS of log(contract value) over won deals; effect = ratio of values.

A binary factor's effect compares present with absent; a numeric factor's is per one
standard deviation (so effects are comparable).  Each has a Wald 95% interval and a
p-value, Holm-adjusted over the factors of the model (family-wise error <= alpha, so with
no real effect a run reports *any* significant factor at most alpha of the time).
Factors are ranked by |z|, strongest evidence first; :func:`top_factors` gives the top 3.

For cycle time and deal size, won deals are taken from a cohort that opened at least
``min_age_days`` before the horizon, so that few slow deals are still open (and missing);
the share of the cohort still open is ``table.attrs["open_share"]``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.engine.result import RunResult
from sim.errors import DataError

__all__ = [
    "FACTORS",
    "OUTCOMES",
    "Factor",
    "attribution",
    "attribution_frame",
    "holm",
    "planted_odds",
    "top_factors",
    "top_factors_text",
]


@dataclass(frozen=True)
class Factor:
    """A process measure of a deal: column of the attribution frame and its meaning."""

    name: str
    description: str
    binary: bool


FACTORS = (
    Factor("demo_completion_below_60", "demo-video completion below 60%", True),
    Factor("poc_revisions", "POC revisions asked for", False),
    Factor("requirement_change_rate", "requirement changes per 30 days (customer rate)", False),
    Factor("custom_development", "custom-development request", True),
    Factor("visit_slip_days", "mean visit slip (days)", False),
    Factor("diagnosis_fill_share", "need-diagnosis fields filled at first entry (share)", False),
)
"""Process measures tested, all fixed per deal when it opens (so a deal's fate cannot
change them: a share of fields over all the checkpoints a deal reached, for instance,
would be averaged over more fields for deals that went further, which ties its spread to
the outcome)."""

OUTCOMES = {
    "won": "odds ratio of passing a checkpoint",
    "cycle_time": "ratio of days to contract",
    "deal_size": "ratio of contract value",
}
"""Outcomes and what their effect column means."""

COLUMNS = (
    "rank",
    "factor",
    "description",
    "effect",
    "ci_low",
    "ci_high",
    "p_value",
    "p_holm",
    "significant",
    "per",
)


def _runs(results: RunResult | Sequence[RunResult]) -> list[RunResult]:
    return [results] if isinstance(results, RunResult) else list(results)


def attribution_frame(
    results: RunResult | Sequence[RunResult],
    min_age_days: float = 60.0,
    demo_threshold: float = 0.6,
) -> pd.DataFrame:
    """Deals opened after the warm-up, pooled: replication, deal (row number), cohort
    (opened at least *min_age_days* before the horizon), outcomes (status, passed
    checkpoints, won, cycle_days, value), the :data:`FACTORS` and the controls (grade,
    budget_band, log_strength)."""
    frames = []
    for i, r in enumerate(_runs(results)):
        opps = r.opportunities
        last = r.scenario.horizon_hours - min_age_days * 24.0
        keep = opps["opened_t"] >= r.scenario.warmup_hours
        frames.append(opps[keep].assign(replication=i, cohort=opps["opened_t"] <= last))
    opps = pd.concat(frames, ignore_index=True)
    return pd.DataFrame(
        {
            "replication": opps["replication"],
            "deal": np.arange(len(opps)),
            "cohort": opps["cohort"].astype(bool),
            "status": opps["status"].astype(str),
            "passed": opps["checkpoints_passed"].astype(np.int64),
            "won": (opps["status"] == "won").astype(float),
            "cycle_days": opps["cycle_days"],
            "value": opps["value_cents"] / 100,
            "demo_completion_below_60": (opps["demo_video_completion"] < demo_threshold).astype(
                float
            ),
            "poc_revisions": opps["poc_revisions"].astype(float),
            "requirement_change_rate": opps["requirement_change_rate"],
            "custom_development": opps["custom_development"].astype(float),
            "visit_slip_days": opps["visit_slip_days"],
            "diagnosis_fill_share": opps["diagnosis_fill_share"].fillna(0.0),
            "grade": opps["grade"].astype(str),
            "budget_band": opps["budget_band"].astype(str),
            "log_strength": np.log(opps["rep_strength"].astype(float)),
        }
    )


def _design(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Factor]]:
    """Design matrix: constant, varying factors (numeric ones standardised), controls."""
    columns, factors = {"const": np.ones(len(frame))}, []
    for factor in FACTORS:
        x = frame[factor.name].to_numpy(float)
        sd = float(x.std(ddof=1)) if len(x) > 1 else 0.0
        if not sd > 0:
            continue  # constant in these deals: nothing to learn
        columns[factor.name] = x if factor.binary else (x - x.mean()) / sd
        factors.append(factor)
    for control in ("stage", "grade", "budget_band"):
        if control not in frame:
            continue
        dummies = pd.get_dummies(frame[control], prefix=control, drop_first=True, dtype=float)
        columns.update({c: dummies[c].to_numpy() for c in dummies.columns})
    if frame["log_strength"].std(ddof=1) > 0:
        columns["log_strength"] = frame["log_strength"].to_numpy(float)
    return pd.DataFrame(columns, index=frame.index), factors


def _decisions(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per checkpoint decision: every checkpoint passed (pass 1) and, for a lost
    deal, the one it was lost at (pass 0); ``stage`` is the checkpoint index."""
    lost = (frame["status"] == "lost").to_numpy()
    passed = frame["passed"].to_numpy()
    reps = passed + lost
    rows = frame.loc[frame.index.repeat(reps)].copy()
    stage = np.concatenate([np.arange(n) for n in reps]) if len(reps) else np.array([], int)
    rows["stage"] = stage.astype(str)
    rows["pass"] = (stage < np.repeat(passed, reps)).astype(float)
    return rows.reset_index(drop=True)


def _fit(outcome: str, frame: pd.DataFrame, min_stage: int = 0):
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    if outcome == "won":
        data = _decisions(frame)
        data = data[data["stage"].astype(int) >= min_stage].reset_index(drop=True)
        y = data["pass"]
    else:
        data = frame[(frame["status"] == "won") & frame["cohort"]]
        y = np.log(data["cycle_days"] if outcome == "cycle_time" else data["value"])
    X, factors = _design(data)
    if len(data) <= X.shape[1] + 2:
        raise DataError(
            f"attribution of {outcome}: {len(data)} observations for {X.shape[1]} parameters; "
            "run longer or pool more replications"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        try:
            if outcome == "won":
                groups = {"groups": data["deal"].to_numpy()}
                model = sm.Logit(y.to_numpy(), X).fit(
                    disp=0, maxiter=100, cov_type="cluster", cov_kwds=groups
                )
            else:
                model = sm.OLS(y.to_numpy(), X).fit()
        except (np.linalg.LinAlgError, PerfectSeparationWarning) as exc:
            raise DataError(
                f"attribution of {outcome}: the model cannot be fitted ({exc})"
            ) from None
    return model, factors, len(data)


def attribution(
    results: RunResult | Sequence[RunResult],
    outcome: str = "won",
    alpha: float = 0.05,
    min_age_days: float = 60.0,
    min_stage: int = 0,
) -> pd.DataFrame:
    """One row per process factor for *outcome* (``won``, ``cycle_time``, ``deal_size``),
    ranked by evidence: effect with its ``1 - alpha`` interval, p-value, Holm-adjusted
    p-value and whether it is significant at *alpha* after the adjustment.

    ``attrs``: ``n`` observations used (checkpoint decisions for ``won``, won deals
    otherwise), ``open_share`` of the cohort still open, ``outcome``, what ``effect``
    means and the interval's ``confidence``.

    *min_stage* (``won`` only): fit the decisions at checkpoint *min_stage* (0: need
    diagnosis) and later.  With 0 the odds ratio is one number over all five
    checkpoints; an effect that acts only after need diagnosis (as the scenario's
    planted ``process.effects`` do) reads closer to 1 there than with ``min_stage=1``.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r} (known: {', '.join(OUTCOMES)})")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    frame = attribution_frame(results, min_age_days)
    model, factors, n = _fit(outcome, frame, min_stage)
    names = [f.name for f in factors]
    beta = model.params[names].to_numpy()
    z = model.tvalues[names].to_numpy()
    p = model.pvalues[names].to_numpy()
    ci = model.conf_int(alpha)
    ci = ci.loc[names].to_numpy()
    p_holm = holm(p)
    table = pd.DataFrame(
        {
            "factor": names,
            "description": [f.description for f in factors],
            "effect": np.exp(beta),
            "ci_low": np.exp(ci[:, 0]),
            "ci_high": np.exp(ci[:, 1]),
            "p_value": p,
            "p_holm": p_holm,
            "significant": p_holm < alpha,
            "per": ["present vs absent" if f.binary else "+1 SD" for f in factors],
            "abs_z": np.abs(z),
        }
    )
    table = table.sort_values(["abs_z", "factor"], ascending=[False, True], kind="mergesort")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    table = table.drop(columns="abs_z").reset_index(drop=True)[list(COLUMNS)]
    status = frame.loc[frame["cohort"], "status"]
    table.attrs.update(
        outcome=outcome,
        effect=OUTCOMES[outcome],
        confidence=1 - alpha,
        n=n,
        open_share=float((status == "open").mean()) if len(status) else math.nan,
    )
    return table


def planted_odds(results: RunResult | Sequence[RunResult], min_stage: int = 1) -> dict[str, float]:
    """The odds ratio the scenario plants (``process.effects``) for each factor, on the
    scale of an :func:`attribution` ``won`` table fitted with *min_stage*: a binary
    factor's multiplier, a numeric factor's per-unit multiplier raised to the factor's
    standard deviation over those decisions; 1 for a factor with no planted effect.
    The effects act on the checkpoints after need diagnosis only."""
    runs = _runs(results)
    effects = runs[0].scenario.process.effects
    frame = attribution_frame(runs, demo_threshold=effects.demo_threshold)
    data = _decisions(frame)
    data = data[data["stage"].astype(int) >= min_stage]

    def per_sd(name: str, odds: float) -> float:
        return float(odds ** data[name].std(ddof=1)) if len(data) > 1 else math.nan

    planted = {f.name: 1.0 for f in FACTORS}
    planted["demo_completion_below_60"] = effects.demo_low_odds
    planted["custom_development"] = effects.custom_development_odds
    planted["poc_revisions"] = per_sd("poc_revisions", effects.per_poc_revision_odds)
    planted["requirement_change_rate"] = per_sd(
        "requirement_change_rate", effects.per_change_rate_odds
    )
    return planted


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (as ``statsmodels``' ``multipletests(method="holm")``
    gives, without its garbage-collection pass): the i-th smallest of m is multiplied by
    ``m - i``, made monotone, capped at 1."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p, kind="mergesort")
    m = len(p)
    stepped = np.maximum.accumulate(p[order] * (m - np.arange(m)))
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted


def top_factors(table: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """The *k* best-ranked factors of an :func:`attribution` table."""
    return table.head(k)


def top_factors_text(table: pd.DataFrame, k: int = 3) -> str:
    """The top *k* factors of an :func:`attribution` table as markdown bullets."""
    effect = table.attrs.get("effect", "effect")
    level = f"{100 * table.attrs.get('confidence', 0.95):g}%"
    lines = []
    for _, row in top_factors(table, k).iterrows():
        verdict = "significant" if row["significant"] else "not significant"
        lines.append(
            f"{row['rank']}. **{row['description']}** ({row['per']}): {effect} "
            f"{row['effect']:.2f} ({level} interval {row['ci_low']:.2f} to {row['ci_high']:.2f}; "
            f"Holm-adjusted p = {row['p_holm']:.2g}, {verdict})"
        )
    return "\n".join(lines)
