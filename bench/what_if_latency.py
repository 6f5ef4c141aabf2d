"""Time per change of the live what-if (notebooks/what_if.ipynb) on the baseline scenario.

Builds the notebook's :class:`sim.experiments.what_if.WhatIf` (baseline run once, then
cached) and times each lever change: wall time and the process's CPU time, which a busy
machine inflates less.  The target is under 2 s per change.  It reports, it never fails.

    .venv/bin/python bench/what_if_latency.py
    .venv/bin/python bench/what_if_latency.py --days 28 --replications 5
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from sim.experiments.what_if import WhatIf

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 2.0
CHANGES = (
    {"sla.reclaim_hours": 8},
    {"routing.name": "least_loaded"},
    {"allocation.newbie_protection.a_share_max": 0.05},
    {"team.groups.0.count": 9},
    {"arrivals.leads_per_month": 4800},
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios/baseline.yaml"))
    parser.add_argument("--policy", default=str(ROOT / "scenarios/policies/source_defaults.yaml"))
    parser.add_argument("--days", type=float, default=12, help="horizon (the notebook's: 12)")
    parser.add_argument("--replications", type=int, default=4, help="the notebook's: 4")
    args = parser.parse_args()
    what_if = WhatIf(
        args.scenario, args.policy, horizon_days=args.days, replications=args.replications
    )
    print(
        f"{Path(args.scenario).name}: {args.days:g} days x {args.replications} replications, "
        f"about {what_if.leads_per_run:,.0f} leads per run; baseline (once) "
        f"{what_if.baseline_seconds:.2f} s wall"
    )
    walls, cpus = [], []
    for change in CHANGES:
        cpu = time.process_time()
        result = what_if.evaluate(change)
        cpus.append(time.process_time() - cpu)
        walls.append(result.seconds)
        print(f"  {', '.join(result.overrides):<48} {walls[-1]:5.2f} s wall {cpus[-1]:5.2f} s CPU")
    print(
        f"median per change: {statistics.median(walls):.2f} s wall, "
        f"{statistics.median(cpus):.2f} s CPU (target < {TARGET_SECONDS:g} s)"
    )


if __name__ == "__main__":
    main()
