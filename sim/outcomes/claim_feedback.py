"""Claim reasons fed back into the scoring model (DOMAIN.md 1.5).

In a self-claim marketplace every claim records why the rep took the lead, e.g.
``industry=lab; best score``.  The reasons name what reps look for; the run's outcomes say
whether it is worth points.  :func:`claim_feedback` takes every attribute value named in
at least ``min_claims`` claim reasons and tests, on all touched leads of the run, whether
it lifts the odds to qualify beyond what the score already says:

    logit P(qualified) = b0 + b_score * score + b_delay * log1p(first-touch hours)
                         + sum_v b_v * [lead has value v]

(one logistic regression, statsmodels GLM).  A value's suggested points are
``b_v / b_score``: the score change with the same effect on the odds, rounded to an
integer.  Only values whose effect is significant after Holm's correction over all
tested values get points; :func:`suggested_attribute_points` turns them into the
``scoring.attribute_points`` block of a policy.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.engine.result import RunResult

__all__ = ["FEEDBACK_COLUMNS", "claim_feedback", "named_in_claims", "suggested_attribute_points"]

FEEDBACK_COLUMNS = (
    "attribute",
    "value",
    "claims_naming",  # claims whose reason names this value
    "leads",  # touched leads with the value (claimed or routed)
    "qualified_rate",
    "others_rate",  # touched leads without the value
    "points_effect",  # b_v / b_score: score points with the same effect on the odds
    "ci_low",
    "ci_high",
    "p_value",
    "p_holm",
    "significant",
    "suggested_points",
)

# Reason keys (policies.marketplace.claim_reason) -> lead attributes; all of them are in
# QUALIFYING_ATTRIBUTES, the attributes a scenario can give value the score misses.
_REASON_KEYS = {"industry": "industry", "budget": "budget_band", "region": "region"}


def named_in_claims(reasons: pd.Series) -> pd.DataFrame:
    """Counts of ``attribute=value`` items in claim reasons: attribute, value, claims."""
    counts: dict[tuple[str, str], int] = {}
    for reason in reasons.dropna():
        for part in str(reason).split("; "):
            key, sep, value = part.partition("=")
            if sep and key in _REASON_KEYS:
                item = (_REASON_KEYS[key], value)
                counts[item] = counts.get(item, 0) + 1
    rows = [{"attribute": a, "value": v, "claims": n} for (a, v), n in counts.items()]
    frame = pd.DataFrame(rows, columns=["attribute", "value", "claims"])
    return frame.sort_values(["claims", "attribute", "value"], ascending=[False, True, True])


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values (step-down, monotone, capped at 1)."""
    order = np.argsort(p, kind="stable")
    m = len(p)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, (m - rank) * p[i])
        adjusted[i] = min(1.0, running)
    return adjusted


def claim_feedback(
    result: RunResult, *, min_claims: int = 20, alpha: float = 0.05, confidence: float = 0.95
) -> pd.DataFrame:
    """One row per attribute value named in >= *min_claims* claim reasons (columns
    :data:`FEEDBACK_COLUMNS`); empty when the run had no marketplace claims or too few
    decided leads to fit the model."""
    import statsmodels.api as sm
    from scipy import stats

    leads = result.leads
    named = named_in_claims(leads["claim_reason"])
    named = named[named["claims"] >= min_claims]
    decided = leads[leads["qualified"].notna()]
    if named.empty or len(decided) < 50 or decided["qualified"].nunique() < 2:
        return pd.DataFrame(columns=list(FEEDBACK_COLUMNS))
    y = decided["qualified"].astype(bool).to_numpy(dtype=float)
    columns = {
        "const": np.ones(len(decided)),
        "score": decided["score"].to_numpy(dtype=float),
        "log_delay": np.log1p(decided["first_touch_hours"].to_numpy(dtype=float)),
    }
    indicators = []
    for attribute, value in zip(named["attribute"], named["value"], strict=True):
        has = (decided[attribute].astype(str) == value).to_numpy()
        if 0 < has.sum() < len(has):  # a value every (or no) lead has cannot be tested
            indicators.append((attribute, value, has))
            columns[f"{attribute}={value}"] = has.astype(float)
    if not indicators:
        return pd.DataFrame(columns=list(FEEDBACK_COLUMNS))
    X = pd.DataFrame(columns)
    fit = sm.GLM(y, X, family=sm.families.Binomial()).fit()
    b_score = float(fit.params["score"])
    z = stats.norm.ppf(0.5 + confidence / 2)
    names = [f"{a}={v}" for a, v, _ in indicators]
    p_values = np.asarray([float(fit.pvalues[n]) for n in names])
    p_holm = _holm(p_values)
    claims = dict(
        zip(zip(named["attribute"], named["value"], strict=True), named["claims"], strict=True)
    )
    rows = []
    for (attribute, value, has), name, p, ph in zip(
        indicators, names, p_values, p_holm, strict=True
    ):
        beta, se = float(fit.params[name]), float(fit.bse[name])
        usable = b_score > 0  # a score that does not raise the odds cannot price anything
        effect = beta / b_score if usable else math.nan
        low = (beta - z * se) / b_score if usable else math.nan
        high = (beta + z * se) / b_score if usable else math.nan
        significant = bool(usable and ph < alpha)
        rows.append(
            {
                "attribute": attribute,
                "value": value,
                "claims_naming": int(claims[(attribute, value)]),
                "leads": int(has.sum()),
                "qualified_rate": float(y[has].mean()),
                "others_rate": float(y[~has].mean()),
                "points_effect": effect,
                "ci_low": low,
                "ci_high": high,
                "p_value": float(p),
                "p_holm": float(ph),
                "significant": significant,
                "suggested_points": round(effect) if significant else 0,
            }
        )
    frame = pd.DataFrame(rows, columns=list(FEEDBACK_COLUMNS))
    return frame.sort_values(["p_holm", "attribute", "value"], kind="stable").reset_index(drop=True)


def suggested_attribute_points(feedback: pd.DataFrame) -> dict[str, dict[str, int]]:
    """The ``scoring.attribute_points`` block the significant rows suggest."""
    points: dict[str, dict[str, int]] = {}
    for row in feedback.itertuples(index=False):
        if row.significant and row.suggested_points != 0:
            points.setdefault(row.attribute, {})[row.value] = int(row.suggested_points)
    return points
