"""The attributes a lead carries from its arrival: the one list every module reads.

Each attribute has a kind (a category drawn from a mix of shares, a yes/no flag, or a
number) and, for a category, the scenario field holding its shares (``leads.<mix>``).
*Segments* are the categories that split the market (channel, region, industry,
budget band): qualification multipliers, scoring points and calibrated mixes use them.
The lead generator draws the attributes in this order (it is the order of
:class:`sim.engine.entities.Lead`'s fields), the leads table has them as columns, a CRM
mapping may map them, replay overrides them and calibration fits the segments' mixes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ATTRIBUTE_NAMES",
    "CATEGORIES",
    "FLAGS",
    "LEAD_ATTRIBUTES",
    "NUMBERS",
    "SEGMENTS",
    "LeadAttribute",
]

AttributeKind = Literal["category", "flag", "number"]


@dataclass(frozen=True)
class LeadAttribute:
    """One attribute of a lead: its name, its kind and, for a category, the scenario's
    ``leads.<mix>`` field of shares and whether it is a market segment."""

    name: str
    kind: AttributeKind
    mix: str | None = None
    segment: bool = False


LEAD_ATTRIBUTES: tuple[LeadAttribute, ...] = (
    LeadAttribute("channel", "category", "channels", segment=True),
    LeadAttribute("region", "category", "regions", segment=True),
    LeadAttribute("industry", "category", "industries", segment=True),
    LeadAttribute("budget_band", "category", "budget_bands", segment=True),
    LeadAttribute("budget_confirmed", "flag"),
    LeadAttribute("authority", "flag"),
    LeadAttribute("need", "category", "need"),
    LeadAttribute("timeline_days", "number"),
    LeadAttribute("dwell_seconds", "number"),
    LeadAttribute("whitepaper", "flag"),
    LeadAttribute("trial", "flag"),
)
"""Every attribute drawn when a lead arrives, in the order the generator draws them."""

ATTRIBUTE_NAMES = tuple(a.name for a in LEAD_ATTRIBUTES)
"""The attributes' names, in order."""

CATEGORIES = tuple(a.name for a in LEAD_ATTRIBUTES if a.kind == "category")
"""Attributes drawn from a mix of named values (text columns)."""

FLAGS = tuple(a.name for a in LEAD_ATTRIBUTES if a.kind == "flag")
"""Yes/no attributes (boolean columns)."""

NUMBERS = tuple(a.name for a in LEAD_ATTRIBUTES if a.kind == "number")
"""Numeric attributes (float columns)."""

SEGMENTS = tuple(a.name for a in LEAD_ATTRIBUTES if a.segment)
"""The categories that split the market."""
