"""Shared fixtures: project paths and small, fast scenarios built in code."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sim.io.safe_yaml import load_mapping
from sim.world.scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
POLICIES = SCENARIOS / "policies"
SHARED_DATA = ROOT.parent / "shared" / "data"


def tiny_scenario_dict(**changes: Any) -> dict[str, Any]:
    """A 3-rep, 24/7, 2-day world as a raw mapping (tests edit it before validating)."""
    data: dict[str, Any] = {
        "name": "tiny",
        "start": "2026-01-05T00:00:00",
        "horizon_days": 2,
        "calendars": {"always": {"kind": "always"}},
        "team": {
            "groups": [
                {
                    "count": 3,
                    "id_prefix": "r",
                    "calendar": "always",
                    "touch_time": {"dist": "exponential", "mean": 0.5},
                }
            ]
        },
        "arrivals": {"rate_per_hour": 2.0},
    }
    data = copy.deepcopy(data)
    data.update(changes)
    return data


@pytest.fixture
def tiny_scenario() -> Scenario:
    """The tiny world, validated."""
    return Scenario.model_validate(tiny_scenario_dict())


@pytest.fixture
def baseline_dict() -> dict[str, Any]:
    """scenarios/baseline.yaml as a raw mapping."""
    return load_mapping(SCENARIOS / "baseline.yaml")


@dataclass
class RepStub:
    """A rep as policies see it (duck-typed), for pure allocation and routing tests."""

    index: int
    rep_id: str
    region: str = "east"
    hire_t: float = -math.inf
    close_cycle_days: float | None = None
    open_leads: int = 0


@dataclass
class LeadStub:
    """A lead as allocation rules see it."""

    grade: str = "B"
    region: str = "east"
    customer_id: int | None = None
