"""A plain-language reading of a before/after policy comparison, for sales managers.

:func:`comparison_narrative` turns the table of
:func:`sim.experiments.replications.paired_differences` into a markdown list: one
overall line, then, for each headline KPI that has values, the baseline and candidate
means, the change with its 95% interval and whether it is a clear
improvement; then every other KPI of the table that is clearly worse, so that a cost
outside the headline list is never hidden.  Given the new reps' waits per policy, the
new-rep line reads them as censored data (share still waiting, Kaplan-Meier median)
rather than as a mean.  The text is deterministic (same table, same words); KPIs whose
values are missing (NaN) or absent from the table are left out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence

import pandas as pd

from sim.errors import ConfigError
from sim.experiments.sensitivity import lookup
from sim.io.safe_text import escape_markdown
from sim.outcomes.fairness import new_rep_wait_survival
from sim.outcomes.kpis import all_kpis
from sim.reports.scenario_narrative import format_hours

__all__ = [
    "HEADLINE_KPIS",
    "SHORT_NAMES",
    "comparison_narrative",
    "format_change",
    "format_level",
    "new_rep_wait_text",
    "sensitivity_table",
    "tuning_table",
]

HEADLINE_KPIS: dict[str, str] = {
    "first_touch_hours_mean": "Mean time to first touch (calendar hours)",
    "first_touch_business_hours_mean": "Mean time to first touch (business hours)",
    "sla_reminders": "SLA reminders per replication",
    "sla_reclaims": "Leads reclaimed by the SLA breaker per replication",
    "qualification_rate": "Qualification rate (qualified / touched leads)",
    "leads_qualified": "Leads qualified per replication",
    "rep_utilisation_mean": "Rep utilisation (share of working hours spent touching leads)",
    "a_leads_top20_share": "Share of A-leads going to the top 20% of reps",
    "a_leads_gini": "Spread of A-leads over reps (Gini: 0 = even)",
    "cross_region_share": "Leads assigned to a rep of another region",
    "new_rep_days_to_valid_lead": "Days until a new rep gets a first lead that qualifies",
}
"""KPIs the narrative reads, in order, with their plain-language names."""

SHORT_NAMES: dict[str, str] = {
    "first_touch_hours_mean": "first touch (calendar)",
    "first_touch_business_hours_mean": "first touch (business)",
    "sla_reminders": "reminders",
    "sla_reclaims": "reclaims",
    "qualification_rate": "qualification rate",
    "leads_qualified": "leads qualified",
    "rep_utilisation_mean": "utilisation",
    "a_leads_top20_share": "A-lead top-20% share",
    "a_leads_gini": "A-lead Gini",
    "cross_region_share": "cross-region share",
    "new_rep_days_to_valid_lead": "new-rep wait",
}
"""Short names of the :data:`HEADLINE_KPIS`, for lists and plot labels."""

_VERDICT_TEXT = {
    "better": "✅ A clear improvement.",
    "worse": "⚠️ Clearly worse.",
    "changed": "A clear change (neither direction is better in itself).",
    "no clear difference": "No clear difference: the interval includes zero.",
}


def _finite(value: object) -> bool:
    try:
        return math.isfinite(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _clock(kpi: str) -> str:
    return "business" if "business" in kpi else ""


def _digits(size: float, decimals: int) -> str:
    """Non-negative *size* with *decimals*, or one significant digit when that would
    show a non-zero number as 0 (a small but clear paired difference stays visible)."""
    if size and round(size, decimals) == 0:
        return f"{size:.1g}"
    return f"{size:,.{decimals}f}"


def _plain(value: float) -> str:
    """A count-like number: whole numbers as such, one decimal below 10, else none."""
    if float(value).is_integer() or abs(value) >= 10:
        return f"{value:,.0f}"
    return f"{value:.1f}"


def _duration(hours: float, clock: str) -> str:
    """A non-negative duration; unlike :func:`format_hours`, tenths of a minute below 10
    minutes, since paired differences are often that small."""
    minutes = hours * 60
    if minutes >= 10:
        return format_hours(hours, clock)
    label = f"{clock} " if clock else ""
    text = _digits(minutes, 1)
    return f"{text} {label}minute{'' if text == '1.0' else 's'}"


def format_level(value: float, unit: str, kpi: str = "") -> str:
    """A KPI value in words: ``format_level(0.25, "share") == "25%"``, hours as
    :func:`sim.reports.scenario_narrative.format_hours` (business hours when *kpi* is a
    business-hours KPI), ``"3.5 days"``, counts rounded; NaN gives ``"n/a"``."""
    if not _finite(value):
        return "n/a"
    if unit == "h":
        return format_hours(value, _clock(kpi))
    if unit == "share":
        return f"{value:.1%}" if abs(value) < 0.1 else f"{value:.0%}"
    if unit == "days":
        return f"{value:.1f} days"
    if unit == "index":
        return f"{value:.3f}"
    return _plain(value)


def format_change(value: float, unit: str, kpi: str = "") -> str:
    """A signed difference in words: ``"-4.3 hours"``, ``"+1.5 percentage points"``,
    ``"+0.021"``, ``"-12"``; zero is ``"±0 ..."``; NaN gives ``"n/a"``.  A difference too
    small for the usual precision keeps one significant digit (``"-0.0002"``)."""
    if not _finite(value):
        return "n/a"
    sign = "+" if value > 0 else "-" if value < 0 else "±"
    size = abs(value)
    if unit == "h":
        return sign + _duration(size, _clock(kpi))
    if unit == "share":
        return f"{sign}{_digits(size * 100, 1)} percentage points"
    if unit == "days":
        return f"{sign}{_digits(size, 1)} days"
    if unit == "index":
        return f"{sign}{_digits(size, 3)}"
    return sign + (_plain(size) if size >= 0.05 or not size else _digits(size, 1))


_SLA_KPIS = ("sla_reminders", "sla_reclaims")


def _bullet(row: pd.Series, baseline: str, candidate: str, title: str | None = None) -> str:
    kpi, unit = str(row["kpi"]), str(row["unit"])
    text = (
        f"**{title or HEADLINE_KPIS[kpi]}.** {format_level(row['baseline_mean'], unit, kpi)} "
        f"{baseline} → {format_level(row['candidate_mean'], unit, kpi)} {candidate}: "
        f"a change of {format_change(row['difference'], unit, kpi)}"
    )
    details = []
    if _finite(row["ci_low"]) and _finite(row["ci_high"]):
        details.append(
            f"95% interval {format_change(row['ci_low'], unit, kpi)} to "
            f"{format_change(row['ci_high'], unit, kpi)}"
        )
    else:
        details.append("no interval from a single replication")
    relative = row["relative_change"]
    if _finite(relative):
        details.append(
            f"{relative:+.1%} relative" if abs(relative) < 0.1 else f"{relative:+.0%} relative"
        )
    verdict = _VERDICT_TEXT[str(row["verdict"])]
    if not (_finite(row["ci_low"]) and _finite(row["ci_high"])):
        verdict = "Too few replications to judge."
    if kpi in _SLA_KPIS and row["baseline_mean"] == 0 and row["candidate_mean"] > 0:
        verdict += (
            f" None under the {baseline} policy: these count the {candidate} policy's "
            "breaker at work, not slower reps."
        )
    return f"{text} ({'; '.join(details)}). {verdict}"


def _description(kpi: str) -> str:
    """The registered description of *kpi* (its name when it is not registered)."""
    spec = all_kpis().get(kpi)
    return spec.description if spec else kpi.replace("_", " ")


def _cost_bullet(row: pd.Series, baseline: str, candidate: str) -> str:
    """A KPI outside the headline list that is clearly worse, in its registered words."""
    text = _bullet(row, baseline, candidate, f"Also clearly worse: {_description(row['kpi'])}")
    return (
        text.removesuffix(_VERDICT_TEXT["worse"]).rstrip()
        + f" ⚠️ A cost of the {candidate} policy, to weigh against its gains."
    )


def new_rep_wait_text(waits: pd.DataFrame) -> str:
    """New reps' waits for a valid lead (the rows of :func:`sim.outcomes.fairness.new_rep_waits`,
    pooled over replications) in words, censoring respected: how many were still waiting
    when the run ended and the Kaplan-Meier median (or that it is not reached), e.g.
    ``"15 of 20 new reps (75%) still had none when the run ended; Kaplan-Meier median
    not reached (longer than 49.0 days; an estimated 72% still waiting then)"``."""
    s = new_rep_wait_survival(waits)
    n, censored = int(s["reps"]), int(s["censored"])
    if n == 0:
        return "no rep was hired during the run"
    if censored == 0:
        return (
            f"all {n} new rep{'s' if n != 1 else ''} got one; Kaplan-Meier median "
            f"{s['km_median_days']:.1f} days"
        )
    text = (
        f"{censored} of {n} new rep{'s' if n != 1 else ''} "
        f"({s['censored_share']:.0%}) still had none when the run ended"
    )
    if _finite(s["km_median_days"]):
        return text + f"; Kaplan-Meier median {s['km_median_days']:.1f} days"
    return text + (
        f"; Kaplan-Meier median not reached (longer than {s['followup_days']:.1f} days; an "
        f"estimated {s['km_still_waiting']:.0%} still waiting then)"
    )


def _new_rep_bullet(
    row: pd.Series, waits: Mapping[str, pd.DataFrame], baseline: str, candidate: str
) -> str:
    title = HEADLINE_KPIS["new_rep_days_to_valid_lead"]
    text = (
        f"**{title}.** {baseline}: {new_rep_wait_text(waits[baseline])}. "
        f"{candidate}: {new_rep_wait_text(waits[candidate])}."
    )
    censored = any(new_rep_wait_survival(waits[k])["censored"] for k in (baseline, candidate))
    if censored:
        text += (
            f" The mean ({format_level(row['baseline_mean'], 'days')} {baseline} → "
            f"{format_level(row['candidate_mean'], 'days')} {candidate}) counts a wait cut "
            "off by the end of the run as if it ended there, so it understates the wait."
        )
    return text + f" {_VERDICT_TEXT[str(row['verdict'])]}"


def _overall(rows: pd.DataFrame, baseline: str, candidate: str, others: pd.DataFrame) -> str:
    runs = int(pd.concat([rows["n"], others["n"]]).max())
    other_worse = len(others)
    pairs = f"{runs} paired replication{'s' if runs != 1 else ''}"
    head = f"**Overall.** Over {pairs} (the same leads under both policies), compared with "
    head += f"the {baseline} policy, the {candidate} policy is "
    named = {
        verdict: [SHORT_NAMES[k] for k in rows.loc[rows["verdict"] == verdict, "kpi"]]
        for verdict in _VERDICT_TEXT
    }
    parts = [
        f"{words} {', '.join(named[verdict])}"
        for verdict, words in (
            ("better", "clearly better on"),
            ("worse", "clearly worse on"),
            ("changed", "clearly different on"),
        )
        if named[verdict]
    ]
    unclear = len(named["no clear difference"])
    if other_worse:
        parts.append(
            f"clearly worse on {other_worse} measure{'s' if other_worse != 1 else ''} "
            "outside the headline list (named below)"
        )
    if not parts:
        return head + f"not clearly different on any headline measure ({unclear} compared)."
    if unclear:
        parts.append(
            f"with no clear difference on {unclear} other headline "
            f"measure{'s' if unclear != 1 else ''}"
        )
    return head + "; ".join(parts) + "."


def comparison_narrative(
    differences: pd.DataFrame,
    baseline: str = "before",
    candidate: str = "after",
    new_rep_waits: Mapping[str, pd.DataFrame] | None = None,
    lang: str = "en",
) -> str:
    """A markdown bullet list reading *differences* (from
    :func:`sim.experiments.replications.paired_differences`) for the :data:`HEADLINE_KPIS`.

    *baseline* and *candidate* are the labels the text uses for the two policies (escaped
    for Markdown, as they are user text).  Each
    bullet gives ``baseline -> candidate``, the change with its 95% interval (and relative
    change when the baseline is not 0) and the verdict.  KPIs whose baseline or candidate
    mean is NaN are skipped; with none left the list says so.  Every other KPI of
    *differences* rated ``worse`` gets a bullet of its own after the headline ones
    ("Also clearly worse: ..." in its registered description), and the overall line
    counts it: a cost is named even when it is no headline measure.

    *new_rep_waits* (optional): label -> the pooled :func:`sim.outcomes.fairness.new_rep_waits`
    rows of that policy; when given for both labels, the new-rep bullet reports the
    share still waiting at the end and the Kaplan-Meier median instead of reading the
    mean, which counts censored waits as ended.  Another *lang* than "en": the
    catalogue's reading (:func:`sim.reports.comparison_reading.comparison_reading`).
    """
    if lang != "en":  # the catalogue's reading, in the report's language
        from sim.reports.comparison_reading import comparison_reading

        return comparison_reading(differences, baseline, candidate, lang, new_rep_waits)
    table = differences[differences["kpi"].isin(list(HEADLINE_KPIS))].copy()
    table["order"] = table["kpi"].map(list(HEADLINE_KPIS).index)
    table = table.sort_values("order", kind="stable")
    has_values = table["baseline_mean"].map(_finite) & table["candidate_mean"].map(_finite)
    table = table[has_values]
    others = differences[
        ~differences["kpi"].isin(list(HEADLINE_KPIS)) & (differences["verdict"] == "worse")
    ]
    others = others[others["baseline_mean"].map(_finite) & others["candidate_mean"].map(_finite)]
    if table.empty and others.empty:
        return "- No headline measure has values for both policies.\n"
    waits = (
        new_rep_waits
        if new_rep_waits is not None and {baseline, candidate} <= set(new_rep_waits)
        else None
    )
    if waits is not None:  # the labels are user text: escaped for Markdown from here on
        waits = {escape_markdown(k): v for k, v in waits.items()}
    baseline, candidate = escape_markdown(baseline), escape_markdown(candidate)
    bullets = [_overall(table, baseline, candidate, others)]
    for _, row in table.iterrows():
        if row["kpi"] == "new_rep_days_to_valid_lead" and waits is not None:
            bullets.append(_new_rep_bullet(row, waits, baseline, candidate))
        else:
            bullets.append(_bullet(row, baseline, candidate))
    bullets += [_cost_bullet(row, baseline, candidate) for _, row in others.iterrows()]
    return "\n".join(f"- {b}" for b in bullets) + "\n"


def _setting(value: object) -> str:
    """A scenario value as compact text (mappings and lists as JSON-like flow)."""
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


def tuning_table(
    raw_scenario: Mapping[str, object],
    tuned: Sequence[Mapping[str, object]],
    differences: pd.DataFrame,
    baseline: str = "before",
    candidate: str = "after",
) -> pd.DataFrame:
    """Which scenario numbers were tuned to which source figure, with what this
    comparison measured for that figure.

    *raw_scenario* is the scenario file as a mapping (before validation), *tuned* a list
    of entries with ``name`` (the assumption in words), ``set`` (a dotted path or a list
    of paths), ``kpi`` (the KPI the source figure is about), ``policy`` (*baseline* or
    *candidate*: that policy's mean; ``change``: the relative change between them) and
    ``source`` (the source's figure, as text).  Columns: ``assumption``, ``scenario
    value`` (read from *raw_scenario*, so it is what this run used), ``tuned to``
    (KPI, policy and source figure) and ``this report``.  A bad entry is a ConfigError.
    """
    rows = differences.set_index("kpi")
    out = []
    for i, entry in enumerate(tuned):
        where = f"tuned[{i}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: expected a mapping with name, set, kpi, policy, source")
        unknown = sorted(set(entry) - {"name", "set", "kpi", "policy", "source"})
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
        paths = entry.get("set")
        paths = [paths] if isinstance(paths, str) else list(paths or [])
        kpi, policy = str(entry.get("kpi")), str(entry.get("policy", baseline))
        if not paths or kpi not in rows.index:
            raise ConfigError(f"{where}: needs 'set' (dotted paths) and a KPI of the comparison")
        if policy not in (baseline, candidate, "change"):
            raise ConfigError(
                f"{where}: policy must be {baseline!r}, {candidate!r} or 'change', not {policy!r}"
            )
        values = list(dict.fromkeys(_setting(lookup(raw_scenario, p)) for p in paths))
        row = rows.loc[kpi]
        if policy == "change":
            measured = row["relative_change"]
            text = f"{measured:+.0%}" if _finite(measured) else "n/a"
            target = f"{SHORT_NAMES.get(kpi, kpi)}, {baseline} → {candidate}"
        else:
            column = "baseline_mean" if policy == baseline else "candidate_mean"
            text = format_level(row[column], str(row["unit"]), kpi)
            target = f"{SHORT_NAMES.get(kpi, kpi)}, {policy}"
        out.append(
            {
                "assumption": str(entry.get("name") or paths[0]),
                "scenario value": " / ".join(values)
                + (f" ({len(paths)} places)" if len(paths) > 1 else ""),
                "tuned to": f"{target}: source {entry.get('source', 'n/a')}",
                "this report": text,
            }
        )
    return pd.DataFrame(out, columns=["assumption", "scenario value", "tuned to", "this report"])


def sensitivity_table(
    variants: Sequence[tuple[str, str, pd.DataFrame]],
    kpis: Sequence[str],
    baseline: str = "before",
    candidate: str = "after",
    new_rep_waits: Sequence[Mapping[str, pd.DataFrame]] | None = None,
) -> pd.DataFrame:
    """One row per variant ``(factor, value, differences)``: each of *kpis* under both
    policies and the change (absolute, and relative when the baseline is not 0), as
    text.  With *new_rep_waits* (one label -> pooled waits mapping per variant) a column
    per policy gives the new reps still waiting at the end and the Kaplan-Meier median
    (``"15/20 still waiting; median > 49.0 days"``)."""
    records = []
    for i, (factor, value, differences) in enumerate(variants):
        rows = differences.set_index("kpi")
        record: dict[tuple[str, str], str] = {("factor", ""): factor, ("value", ""): value}
        for kpi in kpis:
            name = SHORT_NAMES.get(kpi, kpi)
            if kpi not in rows.index:
                continue
            row = rows.loc[kpi]
            unit = str(row["unit"])
            record[(name, baseline)] = format_level(row["baseline_mean"], unit, kpi)
            record[(name, candidate)] = format_level(row["candidate_mean"], unit, kpi)
            change = format_change(row["difference"], unit, kpi)
            if _finite(row["relative_change"]):
                change += f" ({row['relative_change']:+.0%})"
            record[(name, "change")] = change
        if new_rep_waits is not None:
            for label in (baseline, candidate):
                s = new_rep_wait_survival(new_rep_waits[i][label])
                median = (
                    f"median {s['km_median_days']:.1f} days"
                    if _finite(s["km_median_days"])
                    else f"median > {s['followup_days']:.1f} days"
                    if s["reps"]
                    else "no new reps"
                )
                record[("new reps", label)] = (
                    f"{int(s['censored'])}/{int(s['reps'])} still waiting; {median}"
                )
        records.append(record)
    table = pd.DataFrame(records)
    table.columns = pd.MultiIndex.from_tuples(table.columns)
    return table.set_index([("factor", ""), ("value", "")]).rename_axis(["factor", "value"])
