"""The source's lead-allocation case study (DOMAIN.md 1), the default demo.

The scenario and its two policies validate; four-week runs of each policy on the same
seeds show the source's symptoms under "before" (slow first touch, A-leads concentrated
in the top 20% of reps, new reps waiting weeks for a valid lead) and their removal under
"after".  The 8-week figures are in the scenario's header.
"""

from __future__ import annotations

import math

import pytest

from conftest import POLICIES, SCENARIOS
from sim import load_policy, load_scenario, run
from sim.cli.main import main
from sim.outcomes.fairness import new_rep_waits
from sim.outcomes.kpis import kpis

SCENARIO = SCENARIOS / "east_china_medtech.yaml"
BEFORE = POLICIES / "east_china_before.yaml"
AFTER = POLICIES / "east_china_after.yaml"
FOUR_WEEKS = ["horizon_days=28"]
SEEDS = (1, 2)


def test_case_study_files_validate(capsys):
    assert main(["validate", str(SCENARIO), str(BEFORE), str(AFTER)]) == 0
    out = capsys.readouterr().out
    assert out.count(": ok") == 3, out


def test_case_study_policies_are_what_the_source_describes():
    before, after = load_policy(BEFORE), load_policy(AFTER)
    assert before.marketplace.enabled and set(before.marketplace.publish_grades) == {"A", "B", "C"}
    assert not before.sla.enabled and not before.intake.active
    assert not after.marketplace.enabled
    assert after.routing.name == "weighted_round_robin"
    assert after.allocation.newbie_protection.days == 7
    assert after.allocation.newbie_protection.a_share_max == 0.15
    assert after.allocation.capability_match.cycle_days_below == 14
    assert after.allocation.capability_match.a_weight == 1.3
    assert after.allocation.region_match == "prefer"
    assert after.intake.channel_defaults["douyin"].timeline_days == 30
    assert [(s.after_hours, s.action) for s in after.sla.steps] == [(2, "remind"), (4, "reclaim")]
    assert after.sla.clock == "business"
    scenario = load_scenario(SCENARIO)
    assert scenario.team.cherry_picking > 0
    assert scenario.leads.probability("timeline_known", "douyin") < 0.5
    # Every channel is mapped, so strict_channels never refuses the case study.
    assert set(scenario.leads.channels) <= set(after.intake.channel_defaults)


@pytest.mark.slow
def test_before_shows_the_symptoms_and_after_removes_them():
    # Four weeks (two new reps hired, on days 7 and 14), two seeds, each pair of runs a
    # few seconds.  Margins are wide: the 8-week means are in the scenario's header
    # (before: first touch 12.5 h, top-20% A share 63%, new reps ~32 days).
    scenario = load_scenario(SCENARIO, FOUR_WEEKS)
    for seed in SEEDS:
        before_run = run(scenario, load_policy(BEFORE), seed)
        after_run = run(scenario, load_policy(AFTER), seed)
        before, after = kpis(before_run), kpis(after_run)
        assert before["leads_arrived"] == after["leads_arrived"]  # same leads (same seed)
        assert after["leads_dropped"] == 0  # the channel mapping drops nothing
        # Hoarding and slow key-account touches: leads wait hours for a first touch.
        assert before["first_touch_hours_mean"] > 8.0
        assert after["first_touch_hours_mean"] < before["first_touch_hours_mean"] - 3.0
        # Cherry-picking concentrates the A-leads in the top 20% of reps.
        assert before["a_leads_top20_share"] > 0.55
        assert after["a_leads_top20_share"] < 0.45
        # New reps, last in the claim order, wait weeks; newbie-protected routing feeds
        # them within days.
        waits_before = new_rep_waits(before_run)
        waits_after = new_rep_waits(after_run)
        assert len(waits_before) == len(waits_after) == 2
        assert waits_before["days_to_first_valid_lead"].min() >= 7.0
        assert waits_after["days_to_first_valid_lead"].max() < 7.0
        assert not waits_after["censored"].any()
        assert before["qualification_rate"] < after["qualification_rate"]
        for values in (before, after):
            assert not any(math.isnan(v) for v in values.values() if isinstance(v, float))
