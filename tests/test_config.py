"""Scenario building blocks: distributions, arrivals, overrides, response decay, teams."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from conftest import SCENARIOS, tiny_scenario_dict
from sim.engine.arrivals import arrival_times
from sim.errors import ConfigError
from sim.io.overrides import apply_overrides
from sim.world.distributions import Distribution, Sampler
from sim.world.loading import load_policy, load_scenario
from sim.world.override_paths import split_overrides
from sim.world.randomness import Streams
from sim.world.response_curve import ExponentialDecay, PiecewiseDecay
from sim.world.scenario import PoissonArrivals, Scenario

DIST = TypeAdapter(Distribution)


@pytest.mark.parametrize(
    ("spec", "mean", "var"),
    [
        ({"dist": "exponential", "mean": 0.5}, 0.5, 0.25),
        ({"dist": "lognormal", "mean": 2.0, "sd": 1.5}, 2.0, 2.25),
        ({"dist": "gamma", "mean": 3.0, "shape": 2.0}, 3.0, 4.5),
        ({"dist": "uniform", "low": 1.0, "high": 3.0}, 2.0, 1 / 3),
        ({"dist": "constant", "value": 1.25}, 1.25, 0.0),
        ({"dist": "empirical", "values": [1, 2, 4], "weights": [2, 1, 1]}, 2.0, 1.5),
    ],
)
def test_distribution_sample_mean_and_variance(spec, mean, var):
    dist = DIST.validate_python(spec)
    assert dist.mean == pytest.approx(mean)
    draws = dist.sample(np.random.default_rng(11), 200_000)
    assert draws.mean() == pytest.approx(mean, rel=0.02, abs=1e-9)
    assert draws.var() == pytest.approx(var, rel=0.05, abs=1e-9)


def test_sampler_is_reproducible_and_block_independent_of_calls():
    dist = DIST.validate_python({"dist": "exponential", "mean": 1})
    a = Sampler(dist, Streams(3).get("x"))
    b = Sampler(dist, Streams(3).get("x"))
    assert [a() for _ in range(3000)] == [b() for _ in range(3000)]


def test_streams_are_keyed_by_name_not_order():
    s1, s2 = Streams(5), Streams(5)
    s1.get("other")
    assert s1.get("arrivals").random() == s2.get("arrivals").random()
    assert Streams(5).get("a").random() != Streams(5).get("b").random()
    assert Streams((5, 1)).get("a").random() != Streams((5, 2)).get("a").random()


def test_weekly_profile_keeps_the_mean_rate():
    arrivals = PoissonArrivals(
        leads_per_month=3200,
        profile={"weekday": [2, 2, 2, 2, 2, 1, 1], "hour": [0] * 8 + [1] * 10 + [0] * 6},
    )
    rates = np.asarray(arrivals.hourly_rates())
    assert rates.mean() == pytest.approx(3200 / (365.25 / 12 * 24))
    assert rates[:8].sum() == 0 and rates[5 * 24 + 9] == pytest.approx(rates[9] / 2)


def test_thinned_arrivals_follow_the_profile():
    # Monday 00:00 start; arrivals only 09:00-18:00 on weekdays.
    hours = [0] * 9 + [1] * 9 + [0] * 6
    arrivals = PoissonArrivals(
        rate_per_hour=2.0, profile={"hour": hours, "weekday": [1] * 5 + [0, 0]}
    )
    times = []
    for t in arrival_times(arrivals, dt.datetime(2026, 1, 5), np.random.default_rng(2)):
        if t >= 24 * 7 * 40:
            break
        times.append(t)
    times = np.asarray(times)
    hour_of_week = (times % 168).astype(int)
    assert np.all((hour_of_week % 24 >= 9) & (hour_of_week % 24 < 18))
    assert np.all(hour_of_week < 5 * 24)
    # Mean 2/h over the week = 336 per week: 40 weeks -> Poisson(13,440), sd 116.
    assert abs(len(times) - 13_440) < 4 * np.sqrt(13_440)


def test_homogeneous_arrivals_count():
    rng = np.random.default_rng(4)
    gen = arrival_times(PoissonArrivals(rate_per_hour=5), dt.datetime(2026, 1, 1), rng)
    times = []
    for t in gen:
        if t >= 1000:
            break
        times.append(t)
    count = len(times)
    assert abs(count - 5000) < 3 * np.sqrt(5000)
    gaps = np.diff(times)
    assert gaps.mean() == pytest.approx(0.2, rel=0.05)


def test_overrides_set_nested_values_and_lists():
    data = {"a": {"b": 1}, "items": [{"x": 1}, {"x": 2}]}
    out = apply_overrides(data, ["a.b=2.5", "items.1.x=true", "new.key=[1, 2]"])
    assert out == {"a": {"b": 2.5}, "items": [{"x": 1}, {"x": True}], "new": {"key": [1, 2]}}
    assert data["a"]["b"] == 1  # the input is not modified
    with pytest.raises(ConfigError, match="not an index"):
        apply_overrides(data, ["items.5.x=1"])
    with pytest.raises(ConfigError, match=r"cannot set .c. on a int"):
        apply_overrides(data, ["a.b.c=1"])
    items = [
        "horizon_days=1",
        "policy.sla.clock=calendar",
        "sla.reclaim_hours=8",
        "scenario.name=x",
    ]
    assert split_overrides(items) == (
        ["horizon_days=1", "name=x"],
        ["sla.clock=calendar", "sla.reclaim_hours=8"],
    )


def test_override_is_validated_like_the_file():
    with pytest.raises(ConfigError, match="horizon_days"):
        load_scenario(SCENARIOS / "baseline.yaml", ["horizon_days=-3"])
    policy = load_policy(None, ["sla.clock=calendar"])
    assert policy.sla.clock == "calendar"


def test_exponential_decay_values():
    decay = ExponentialDecay(half_life_hours=6, floor=0.5)
    assert decay(0) == 1.0
    assert decay(6) == pytest.approx(0.75)
    assert decay(12) == pytest.approx(0.625)
    assert decay(1e6) == pytest.approx(0.5)


def test_research_piecewise_curve_reproduces_the_figures():
    # HBR 2011: within 1 h ~7x as likely as in the 2nd hour, > 60x vs after 24 h.
    research = PiecewiseDecay(points=[(0, 1), (1, 1), (2, 1 / 7), (24, 1 / 60)])
    assert research(0.5) == 1.0
    assert research(1) / research(2) == pytest.approx(7)
    assert research(1) / research(30) == pytest.approx(60)
    assert research(1.5) == pytest.approx((1 / 7) ** 0.5)  # log-linear between knots
    with pytest.raises(ValidationError, match="must not increase"):
        PiecewiseDecay(points=[(0, 1), (1, 0.5), (2, 0.8)])


def test_groups_expand_to_numbered_reps():
    data = tiny_scenario_dict()
    data["team"]["groups"][0].update(count=12, id_prefix="east-")
    data["team"]["reps"] = [{"id": "lead-rep", "calendar": "always", "region": "north"}]
    team = Scenario.model_validate(data).team.members()
    assert [r.id for r in team][:3] == ["lead-rep", "east-01", "east-02"]
    assert team[-1].id == "east-12" and len(team) == 13


def test_scenario_files_in_repo_validate():
    for path in sorted(SCENARIOS.glob("*.yaml")):
        load_scenario(path)
    for path in sorted((SCENARIOS / "policies").glob("*.yaml")):
        load_policy(path)


def test_mmc_scenario_states_erlang_c_values_it_is_built_for():
    s = load_scenario(SCENARIOS / "mmc_validation.yaml")
    assert s.arrivals.mean_rate == 8 and len(s.team.members()) == 5
    assert s.team.members()[0].touch_time.mean == 0.5


def test_validation_errors_are_one_line_per_problem_naming_source_and_field():
    from sim.errors import DataError
    from sim.io.validation import validate

    bad = {"start": "2026-01-05T00:00", "horizon_days": -1, "team": {"reps": "x"}}
    with pytest.raises(ConfigError) as caught:
        validate(Scenario, bad, "f.yaml")
    lines = str(caught.value).splitlines()
    assert "f.yaml: horizon_days: Input should be greater than 0 (got -1)" in lines
    assert all(line.startswith("f.yaml: ") for line in lines) and len(lines) >= 3
    with pytest.raises(DataError, match=r"^f.yaml: horizon_days: .* \(\+\d+ more\)$"):
        validate(Scenario, bad, "f.yaml", error=DataError, one_line=True)
