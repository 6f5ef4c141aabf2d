"""The live what-if in a notebook: lever widgets, and the KPI changes as a table.

:func:`lever_widgets` makes one ipywidgets control per lever of a
:class:`~sim.experiments.what_if.WhatIf` (a slider for a number, a dropdown for a choice),
set to the baseline's value and labelled in the report language; :func:`changes_table`
shows a :class:`~sim.experiments.what_if.WhatIfResult` (baseline, what-if, change with
its 95% paired interval, verdict); :func:`setup_text` says on screen how much is rerun
on each change.  ``notebooks/what_if.ipynb`` wires them with ``ipywidgets.interactive_output``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from sim.experiments.what_if import HEADLINE, WhatIf, WhatIfLever, WhatIfResult
from sim.reports.formatting import people_table
from sim.reports.i18n import tr
from sim.reports.policy_search_narrative import factor_label, factor_value
from sim.reports.value_format import fmt_change, fmt_kpi, fmt_number, is_missing

__all__ = ["changes_table", "lever_widgets", "setup_text", "values_text"]


def _widget(lever: WhatIfLever, value: Any, lang: str):
    import ipywidgets as widgets

    label = factor_label(lever.path, lang)
    style = {"description_width": "16em"}
    layout = widgets.Layout(width="38em")
    common = {"description": label, "style": style, "layout": layout, "continuous_update": False}
    if lever.kind == "choice":
        options = list(dict.fromkeys([*lever.choices, value]))
        return widgets.Dropdown(
            options=[(factor_value(lever.path, o, lang), o) for o in options],
            value=value,
            description=label,
            style=style,
            layout=layout,
        )
    low, high = min(lever.low, value), max(lever.high, value)
    if lever.kind == "int":
        return widgets.IntSlider(
            value=int(value), min=int(low), max=int(high), step=int(lever.step), **common
        )
    return widgets.FloatSlider(
        value=float(value), min=float(low), max=float(high), step=float(lever.step), **common
    )


def lever_widgets(what_if: WhatIf, lang: str) -> dict[str, Any]:
    """One widget per lever (path -> widget), at the baseline's value."""
    return {
        lever.path: _widget(lever, what_if.defaults[lever.path], lang) for lever in what_if.levers
    }


def _signed(kpi: str, unit: str, value: float, lang: str) -> str:
    return fmt_change(0.0, value, unit, lang)


def _change(row: Mapping[str, Any], lang: str) -> str:
    """ "+1.2 pp (-0.3 pp to +2.7 pp)": the mean paired change and its interval."""
    kpi, unit = row["kpi"], row["unit"]
    head = _signed(kpi, unit, float(row["difference"]), lang)
    if is_missing(row["ci_low"]) or is_missing(row["ci_high"]):
        return head
    low = _signed(kpi, unit, float(row["ci_low"]), lang)
    high = _signed(kpi, unit, float(row["ci_high"]), lang)
    return tr("wi.change", lang, change=head, low=low, high=high)


def changes_table(result: WhatIfResult, lang: str, kpis: Sequence[str] = HEADLINE) -> str:
    """The headline KPIs of *result* as an HTML table: baseline and what-if means, the
    paired change with its 95% interval, and the verdict (better / worse / no clear
    difference)."""
    rows = []
    for _, row in result.headline(kpis).iterrows():
        kpi = row["kpi"]
        rows.append(
            {
                "kpi": kpi,
                "baseline": fmt_kpi(kpi, row["baseline_mean"], lang),
                "what_if": fmt_kpi(kpi, row["candidate_mean"], lang),
                "change": _change(row, lang),
                "verdict": tr(f"verdict.{row['verdict'].replace(' ', '_')}", lang),
            }
        )
    frame = pd.DataFrame(rows, columns=["kpi", "baseline", "what_if", "change", "verdict"])
    return people_table(
        frame,
        lang,
        formats={
            "kpi": "kpi_name",
            **dict.fromkeys(["baseline", "what_if", "change", "verdict"], "text"),
        },
        labels={
            "kpi": tr("col.kpi", lang),
            "baseline": tr("wi.col.baseline", lang),
            "what_if": tr("wi.col.what_if", lang),
            "change": tr("wi.col.change", lang),
            "verdict": tr("wi.col.verdict", lang),
        },
    )


def values_text(what_if: WhatIf, result: WhatIfResult, lang: str) -> str:
    """What changed, in words ("SLA reclaim after 8 h · Routing rule least loaded"), or
    that nothing did."""
    if not result.overrides:
        return tr("wi.unchanged", lang)
    parts = []
    for item in result.overrides:
        path, _, _ = item.partition("=")
        lever = next(lv for lv in what_if.levers if lv.path == path)
        parts.append(
            tr(
                "wi.changed_item",
                lang,
                lever=factor_label(path, lang),
                before=factor_value(path, what_if.defaults[path], lang),
                after=factor_value(path, _value(lever, item), lang),
            )
        )
    return tr("wi.changed", lang, items=tr("ps.list_sep", lang).join(parts))


def _value(lever: WhatIfLever, item: str) -> Any:
    text = item.partition("=")[2].strip("'\"")
    if lever.kind == "choice":
        return text
    number = float(text)
    return int(number) if lever.kind == "int" or number == int(number) else number


def setup_text(what_if: WhatIf, lang: str) -> str:
    """How much each change reruns, said on screen: horizon, replications, seeds."""
    return tr(
        "wi.setup",
        lang,
        scenario=what_if.scenario_name,
        days=fmt_number(what_if.horizon_days, lang),
        replications=fmt_number(what_if.replications, lang, 0),
        seed=what_if.seed,
        last=what_if.replications - 1,
        leads=fmt_number(round(what_if.leads_per_run), lang, 0),
    )
