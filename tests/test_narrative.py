"""The managers' narrative: numbers formatted with sensible precision, and sentences that
change with the values (SLA threshold, utilisation above 85%, concentrated A-leads)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from conftest import POLICIES
from policies import policy_model
from sim import KPIS, load_policy
from sim.reports.scenario_narrative import format_hours, scenario_narrative

BASE = {
    "leads_arrived": 1234.0,
    "leads_waiting_at_end": 0.0,
    "first_touch_hours_mean": 5.25,
    "first_touch_business_hours_mean": 1.5,
    "first_touch_hours_median": 0.5,
    "first_touch_business_hours_median": 0.25,
    "first_touch_hours_p90": 14.04,
    "first_touch_business_hours_p90": 3.33,
    "sla_reminders": 123.4,
    "sla_reclaims": 6.17,
    "rep_utilisation_mean": 0.62,
    "qualification_rate": 0.2734,
    "leads_qualified": 301.6,
    "a_leads_top20_share": 0.34,
}


def summary(n: int = 5, ci: tuple[float, float] = (4.75, 5.75), **changes: float):
    """A hand-made summarise() frame: the BASE means with *changes*."""
    means = {**BASE, **changes}
    rows = []
    for name, mean in means.items():
        low, high = ci if name == "first_touch_hours_mean" else (mean, mean)
        rows.append(
            {
                "kpi": name,
                "mean": mean,
                "ci_low": low,
                "ci_high": high,
                "unit": KPIS[name].unit,
                "better": KPIS[name].better,
                "n": n,
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture
def policy():
    return load_policy(POLICIES / "source_defaults.yaml")  # remind at 2 business hours


def bullets(text: str) -> dict[str, str]:
    lines = text.strip().splitlines()
    assert all(line.startswith("- **") for line in lines)
    return {line.split("**")[1].rstrip("."): line for line in lines}


def test_narrative_reads_the_numbers(tiny_scenario, policy):
    text = scenario_narrative(summary(), tiny_scenario, policy)
    parts = bullets(text)
    assert list(parts) == ["Volume", "Speed", "SLA", "Qualification", "Workload", "Fairness"]
    # tiny: 3 reps, 2 days -> 617 a day
    assert "Over 5 replications of 2 days, 1,234 leads arrived per replication" in text
    assert "(about 617 a day) for a team of 3 reps." in text
    assert "still waiting" not in text
    assert (
        "on average 5.2 hours (95% interval 4.8 hours to 5.8 hours) for its first touch, "
        "or 1.5 business hours" in parts["Speed"]
    )
    assert "Half were touched within 30 minutes (15 business minutes)" in parts["Speed"]
    assert "nine in ten within 14 hours (3.3 business hours)" in parts["Speed"]
    # 123.4 / 1234 * 100 = 10.0 reminders, 6.17 / 1234 * 100 = 0.5 reclaims
    assert "sent 10.0 reminders and reclaimed 0.5 leads per 100 leads" in parts["SLA"]
    assert "within the policy's reminder threshold of 2 business hours" in parts["SLA"]
    assert "27% of touched leads qualified, 302 per replication" in parts["Qualification"]
    assert "62% of their working hours" in parts["Workload"] and "⚠️" not in parts["Workload"]
    # 3 reps: the top 20% is 1 rep, an even split gives it a third
    assert "got 34% of them; an even split would give them 33%" in parts["Fairness"]
    assert "spread fairly evenly" in parts["Fairness"]
    assert "⚠️" not in text
    assert scenario_narrative(summary(), tiny_scenario, policy) == text  # deterministic


def test_mean_first_touch_beyond_the_reminder_threshold_is_flagged(tiny_scenario, policy):
    sla = bullets(
        scenario_narrative(summary(first_touch_business_hours_mean=2.6), tiny_scenario, policy)
    )["SLA"]
    assert "⚠️ The mean first touch (2.6 business hours) is beyond the policy's reminder " in sla
    assert "threshold of 2 business hours: the typical lead breaches the SLA." in sla


def test_sla_threshold_follows_the_policy_clock(tiny_scenario):
    calendar = policy_model().model_validate(
        {"sla": {"clock": "calendar", "steps": [{"after_hours": 4, "action": "remind"}]}}
    )
    sla = bullets(scenario_narrative(summary(), tiny_scenario, calendar))["SLA"]
    # calendar mean 5.25 h > 4 calendar hours, although the business mean is 1.5 h
    assert "mean first touch (5.2 calendar hours) is beyond" in sla
    assert "reminder threshold of 4 calendar hours" in sla


def test_no_sla_policy_and_default_policy(tiny_scenario):
    no_sla = load_policy(POLICIES / "no_sla.yaml")
    assert "no SLA breaker" in scenario_narrative(summary(), tiny_scenario, no_sla)
    default = scenario_narrative(summary(), tiny_scenario)  # policy None -> 2 h reminder
    assert "reminder threshold of 2 business hours" in default


def test_busy_team_and_concentrated_a_leads_are_flagged(tiny_scenario, policy):
    parts = bullets(
        scenario_narrative(
            summary(rep_utilisation_mean=0.912, a_leads_top20_share=0.61),
            tiny_scenario,
            policy,
        )
    )
    assert "91% of their working hours touching leads. ⚠️ That is above 85%" in parts["Workload"]
    assert "near capacity" in parts["Workload"]
    assert "got 61% of them" in parts["Fairness"]
    assert "⚠️ A-leads are concentrated on a few reps." in parts["Fairness"]
    idle = bullets(scenario_narrative(summary(rep_utilisation_mean=0.31), tiny_scenario, policy))
    assert (
        "31% of their working hours touching leads, so there is spare capacity." in idle["Workload"]
    )


def test_single_replication_backlog_and_missing_values(tiny_scenario, policy):
    text = scenario_narrative(
        summary(
            n=1,
            ci=(math.nan, math.nan),
            leads_waiting_at_end=17.0,
            qualification_rate=0.042,
        ),
        tiny_scenario,
        policy,
    )
    assert "Over 1 replication of 2 days" in text
    assert "17 of them were still waiting for a first touch at the end." in text
    assert "95% interval" not in text
    assert "4.2% of touched leads qualified" in text  # one decimal below 10%
    untouched = scenario_narrative(
        summary(first_touch_hours_mean=math.nan, a_leads_top20_share=math.nan),
        tiny_scenario,
        policy,
    )
    assert "No lead was touched" in untouched
    assert "No A-lead was assigned" in untouched
    assert "nan" not in untouched.lower().replace("n/a", "")


@pytest.mark.parametrize(
    ("hours", "clock", "text"),
    [
        (0.25, "", "15 minutes"),
        (1 / 60, "", "1 minute"),
        (0.004, "business", "less than a business minute"),
        (0.0, "business", "0 business minutes"),
        (0.999, "", "1.0 hour"),
        (2.345, "business", "2.3 business hours"),
        (31.6, "", "32 hours"),
        (1234.0, "calendar", "1,234 calendar hours"),
        (math.nan, "", "n/a"),
    ],
)
def test_format_hours(hours, clock, text):
    assert format_hours(hours, clock) == text
