"""Stage-weighted pipeline forecast (sim.outcomes.forecast) on a hand-built pipeline.

The run starts on Monday 5 January 2026 and lasts 90 days (2,160 h), so the whole months
of the window are February (from 648 h) and March (from 1,320 h; April would end after the
horizon).  Default weights: 0.05 for a deal with nothing recorded, then 0.1, 0.25, 0.45,
0.7, 0.9 after the 1st..5th recorded checkpoint.

- deal 0: opened at 100 h, need diagnosis recorded at 500 h, POC at 700 h, won at 1,000 h
  for 1,500,000.00: on 1 Feb it counts 0.1 x 1,000,000 expected = 100,000.
- deal 1: opened at 600 h, nothing recorded by 1 Feb (0.05 x 2,000,000 = 100,000), three
  checkpoints recorded by 1 March (0.45 x 2,000,000 = 900,000), still open.
- deal 2: opened after 1 Feb, lost before 1 March: in neither forecast.
- deal 3: opened at 10 h, lost at 600 h: closed before 1 Feb.
- deal 4: opened before the start with 100,000 expected and nothing recorded (0.05 x
  100,000 = 5,000 on both dates), won at 1,500 h for 300,000.50.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from conftest import tiny_scenario_dict
from policies.checkpoints import CHECKPOINTS
from sim import run
from sim.outcomes.forecast import forecast_error, month_starts, pipeline_forecast
from sim.outcomes.process_kpis import process_kpis
from sim.process.opportunities import empty_contracts
from sim.world.scenario import Scenario

NAN = math.nan


def pipeline_result():
    scenario = Scenario.model_validate(tiny_scenario_dict(horizon_days=90))
    base = run(scenario, None, 0)
    recorded = {
        0: [500, 700, NAN, NAN, NAN],
        1: [1000, 1100, 1200, NAN, NAN],
        2: [NAN] * 5,
        3: [NAN] * 5,
        4: [NAN] * 5,
    }
    opps = pd.DataFrame(
        {
            "opportunity_id": [0, 1, 2, 3, 4],
            "opened_t": [100.0, 600.0, 700.0, 10.0, -500.0],
            "closed_t": [1000.0, NAN, 800.0, 600.0, 1500.0],
            "expected_amount": [1e6, 2e6, 5e6, 7e6, 1e5],
            **{
                f"recorded_{c}_t": [recorded[i][k] for i in range(5)]
                for k, c in enumerate(CHECKPOINTS)
            },
        }
    )
    contracts = empty_contracts().reindex(range(2))
    contracts["signed_at"] = [1000.0, 1500.0]
    contracts["value_cents"] = np.array([150_000_000, 30_000_050], dtype=np.int64)
    return dataclasses.replace(base, opportunities=opps, contracts=contracts)


def test_month_starts_are_the_whole_months_of_the_window():
    result = pipeline_result()
    assert month_starts(result) == [("2026-02", 648.0, 1320.0), ("2026-03", 1320.0, 2064.0)]
    later = dataclasses.replace(
        result, scenario=result.scenario.model_copy(update={"warmup_days": 30})
    )
    assert [m for m, _, _ in month_starts(later)] == ["2026-03"]


def test_forecast_against_won():
    table = pipeline_forecast(pipeline_result())
    assert table["month"].tolist() == ["2026-02", "2026-03"]
    assert table["open_deals"].tolist() == [3, 2]
    assert table["forecast"].tolist() == pytest.approx([205_000, 905_000])
    assert table["won"].tolist() == pytest.approx([1_500_000, 300_000.50])
    expected = [205_000 / 1_500_000 - 1, 905_000 / 300_000.5 - 1]
    assert table["error"].tolist() == pytest.approx(expected)
    mean_abs = (abs(expected[0]) + abs(expected[1])) / 2
    assert forecast_error(pipeline_result()) == pytest.approx(mean_abs)


def test_a_month_with_nothing_won_has_no_error():
    result = pipeline_result()
    contracts = result.contracts.iloc[:1]
    table = pipeline_forecast(dataclasses.replace(result, contracts=contracts))
    assert np.isnan(table["error"].iloc[1])
    assert forecast_error(dataclasses.replace(result, contracts=contracts)) == pytest.approx(
        1 - 205_000 / 1_500_000
    )


def test_forecast_kpi_on_a_simulated_run():
    from conftest import SCENARIOS
    from sim import load_scenario

    result = run(load_scenario(SCENARIOS / "process_demo.yaml"), None, 1)
    table = pipeline_forecast(result)
    assert len(table) == 3 and (table["won"] > 0).all()
    assert process_kpis(result)["forecast_error_abs_mean"] == pytest.approx(
        table["error"].abs().mean()
    )
