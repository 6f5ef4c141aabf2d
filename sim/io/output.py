"""Writing run results to an output folder.

File names are fixed by the workbench and every path is checked to stay inside the
output folder, so no scenario name or CLI value can write elsewhere.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from sim.engine.result import RunResult
from sim.errors import ConfigError
from sim.outcomes.kpis import kpis

__all__ = ["confined", "safe_name", "write_run"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str) -> str:
    """*text* reduced to a file-name-safe slug (never empty, never a dot path)."""
    slug = _UNSAFE.sub("-", text).strip(".-")
    return slug or "unnamed"


def confined(folder: Path, name: str) -> Path:
    """``folder / name``, refusing any name that would resolve outside *folder*."""
    base = folder.resolve()
    path = (base / name).resolve()
    if not path.is_relative_to(base):
        raise ConfigError(f"{name}: output path escapes the output folder {folder}")
    return path


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
