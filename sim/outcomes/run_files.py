"""A run's output folder: its tables as Parquet and its KPIs as ``kpis.json``.

The folder is written like every output folder (:mod:`sim.io.atomic`): under the
folder's lock (a second run into the same ``--out`` stops with one line), each file by
rename, and the completion marker ``.complete.json`` last, listing the files of this run.
A table an earlier run left there and this run does not write is removed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from sim.engine.result import RunResult
from sim.io.atomic import atomic_write_text, begin_folder, mark_complete, write_frame
from sim.io.locks import folder_lock
from sim.io.output import confined
from sim.outcomes.kpis import kpis

__all__ = ["RUN_COMMAND", "RUN_TABLES", "write_run"]

RUN_COMMAND = "run"
RUN_TABLES = ("events", "leads", "reps", "opportunities", "contracts", "process_events")


def write_run(result: RunResult, out: str | Path) -> dict[str, Path]:
    """Write events.parquet, leads.parquet, reps.parquet and kpis.json into *out*; for a
    scenario with a process model also opportunities, contracts and process_events."""
    out = Path(out)
    tables = list(RUN_TABLES[:3])
    if result.scenario.process is not None:
        tables = list(RUN_TABLES)
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
    with folder_lock(out, RUN_COMMAND):
        begin_folder(out)
        paths = {name: confined(out, f"{name}.parquet") for name in RUN_TABLES}
        for name in RUN_TABLES:
            if name in tables:
                write_frame(getattr(result, name), paths[name])
            else:
                paths.pop(name).unlink(missing_ok=True)
        paths["kpis"] = confined(out, "kpis.json")
        atomic_write_text(paths["kpis"], json.dumps(payload, indent=2) + "\n")
        mark_complete(out, [path.name for path in paths.values()], RUN_COMMAND)
    return paths
