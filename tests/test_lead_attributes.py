"""The lead-attribute list is defined once; the generator, the leads table, the CRM
mapping, replay and calibration are derived from it."""

from __future__ import annotations

import dataclasses

from sim.engine.entities import Lead
from sim.engine.result import LEAD_COLUMNS
from sim.history.mapping import SCHEMA
from sim.world.lead_attributes import (
    ATTRIBUTE_NAMES,
    CATEGORIES,
    FLAGS,
    LEAD_ATTRIBUTES,
    NUMBERS,
    SEGMENTS,
)
from sim.world.scenario import LeadAttributes


def test_lead_fields_follow_the_list():
    # the generator fills Lead positionally: its fields after (lead_id, arrived) are the list
    fields = [f.name for f in dataclasses.fields(Lead)]
    assert tuple(fields[2 : 2 + len(ATTRIBUTE_NAMES)]) == ATTRIBUTE_NAMES
    assert fields[2 + len(ATTRIBUTE_NAMES)] == "u_qualify"


def test_every_attribute_has_one_kind_and_categories_a_mix():
    assert sorted(CATEGORIES + FLAGS + NUMBERS) == sorted(ATTRIBUTE_NAMES)
    defaults = LeadAttributes()
    for attr in LEAD_ATTRIBUTES:
        source = attr.mix if attr.kind == "category" else attr.name
        assert hasattr(defaults, source), attr
    assert SEGMENTS == ("channel", "region", "industry", "budget_band")


def test_leads_table_and_mapping_are_derived():
    assert LEAD_COLUMNS[2 : 2 + len(ATTRIBUTE_NAMES)] == ATTRIBUTE_NAMES
    leads = SCHEMA["leads"]
    assert {name: leads[name] for name in ATTRIBUTE_NAMES} == {
        a.name: a.kind for a in LEAD_ATTRIBUTES
    }


def test_scenario_spellings_match_the_list():
    """Where the scenario model must spell names out (typed keys), they are the list's."""
    from typing import get_args

    from sim.engine.lead_factory import MISSABLE_FIELDS
    from sim.world.scenario import QUALIFYING_ATTRIBUTES, Qualification

    assert QUALIFYING_ATTRIBUTES == SEGMENTS
    key = get_args(Qualification.model_fields["multipliers"].annotation)[0]
    assert get_args(key) == SEGMENTS
    by_channel = get_args(LeadAttributes.model_fields["by_channel"].annotation)[1]
    flag_key = get_args(by_channel)[0]
    assert set(get_args(flag_key)) == {*FLAGS, *MISSABLE_FIELDS.values()}
