"""A run's output folder: its tables as Parquet and its KPIs as ``kpis.json``."""

from __future__ import annotations

import json
import math
from pathlib import Path

from sim.engine.result import RunResult
from sim.errors import ConfigError
from sim.io.output import confined
from sim.outcomes.kpis import kpis

__all__ = ["write_run"]


def write_run(result: RunResult, out: str | Path) -> dict[str, Path]:
    """Write events.parquet, leads.parquet, reps.parquet and kpis.json into *out*; for a
    scenario with a process model also opportunities, contracts and process_events."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{out}: cannot create output folder ({exc.strerror})") from None
    tables = ["events", "leads", "reps"]
    if result.scenario.process is not None:
        tables += ["opportunities", "contracts", "process_events"]
    paths = {name: confined(out, f"{name}.parquet") for name in tables}
    for name in tables:
        getattr(result, name).to_parquet(paths[name], index=False)
    values = {
        k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in kpis(result).items()
    }
    payload = {
        "scenario": result.scenario.name,
        "policy": result.policy.name,
        "seed": list(result.seed),
        "kpis": values,
        "warnings": result.warnings,
    }
    paths["kpis"] = confined(out, "kpis.json")
    paths["kpis"].write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return paths
