"""The source's lead-allocation case study (DOMAIN.md 1), the default demo.

The scenario and its two policies validate, and short runs of each policy on the same
seeds point the way the source's claims do: the "after" rules lower the mean first-touch
time, spread the A-leads (the top 20% of reps hold a smaller share) and give new reps a
valid lead sooner.  Only the direction is tested; the sizes are in the scenario's
comments and depend on the horizon.
"""

from __future__ import annotations

import math

import pytest

from conftest import POLICIES, SCENARIOS
from sim import load_policy, load_scenario, run
from sim.cli import main
from sim.metrics import kpis

SCENARIO = SCENARIOS / "east_china_medtech.yaml"
BEFORE = POLICIES / "east_china_before.yaml"
AFTER = POLICIES / "east_china_after.yaml"
SHORT = ["horizon_days=14"]  # two weeks: one new rep is hired on day 7
SEEDS = (1, 2, 3, 4)


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
def test_after_points_the_way_the_source_claims():
    # Means over a few seeds: a 14-day run hires a single new rep (day 7), whose wait
    # for a first valid lead is one noisy draw per run; each pair of runs takes ~1 s.
    # Caveat: over the full 8 weeks the new-rep wait shows no significant difference
    # (see the scenario's header); the two-week direction holds on these seeds.
    scenario = load_scenario(SCENARIO, SHORT)
    names = ("first_touch_hours_mean", "a_leads_top20_share", "new_rep_days_to_valid_lead")
    totals = {"before": dict.fromkeys(names, 0.0), "after": dict.fromkeys(names, 0.0)}
    for seed in SEEDS:
        before = kpis(run(scenario, load_policy(BEFORE), seed))
        after = kpis(run(scenario, load_policy(AFTER), seed))
        assert before["leads_arrived"] == after["leads_arrived"]  # same leads (same seed)
        assert after["leads_dropped"] == 0  # the channel mapping drops nothing
        for label, values in (("before", before), ("after", after)):
            for name in names:
                assert not math.isnan(values[name]), (label, name, seed)
                totals[label][name] += values[name]
    for name in names:
        assert totals["after"][name] < totals["before"][name], (name, totals)
