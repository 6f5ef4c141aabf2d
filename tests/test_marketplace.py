"""Marketplace decisions as pure code: filters, which lead a rep takes, the reason."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pydantic import ValidationError

from policies.marketplace import ClaimFilters, MarketplaceParams, claim_reason, matches, pick


@dataclass
class Posted:
    lead_id: int
    arrived: float
    score: int
    industry: str = "hospital"
    budget_band: str = "large"
    region: str = "east"


LEADS = [
    Posted(0, 1.0, 40, industry="clinic"),
    Posted(1, 2.0, 90),
    Posted(2, 3.0, 75, budget_band="small"),
    Posted(3, 4.0, 90, region="north"),
]


def test_filters_narrow_what_a_rep_sees():
    assert matches(LEADS[0], ClaimFilters())
    assert not matches(LEADS[0], ClaimFilters(industries=["hospital"]))
    f = ClaimFilters(industries=["hospital"], budget_bands=["large"], regions=["east"])
    assert [lead.lead_id for lead in LEADS if matches(lead, f)] == [1]


def test_cherry_picker_takes_best_score_others_the_oldest():
    assert pick(LEADS, ClaimFilters(), cherry_pick=True).lead_id == 1  # 90, older than 3
    assert pick(LEADS, ClaimFilters(), cherry_pick=False).lead_id == 0
    assert pick(LEADS, ClaimFilters(regions=["north"]), cherry_pick=False).lead_id == 3
    assert pick(LEADS, ClaimFilters(regions=["west"]), cherry_pick=True) is None


def test_claim_reason_names_filters_and_choice():
    f = ClaimFilters(industries=["hospital"], regions=["east"])
    assert claim_reason(LEADS[1], f, True) == "industry=hospital; region=east; best score"
    assert claim_reason(LEADS[0], ClaimFilters(), False) == "oldest"


def test_marketplace_params_validate():
    assert MarketplaceParams().enabled is False
    with pytest.raises(ValidationError):
        MarketplaceParams(publish_grades=["D"])
    with pytest.raises(ValidationError):
        MarketplaceParams(claim_limit_per_day=0)
