"""Start-up time of the command line: how long a command takes before it does anything.

Runs each command as a fresh subprocess ``--runs`` times, interleaved, and prints the
median, min and max wall time against the 0.7 s target, and the median CPU time (user +
system) of the child, which a busy machine inflates less than the wall time.  It
reports, it never fails (exit 0).  Then runs each targeted command once under
``python -X importtime`` and prints where the import time goes: per package (the self
times of its modules summed) and per module, and which known heavy packages were loaded.

    .venv/bin/python bench/startup.py               # 7 runs of each command
    .venv/bin/python bench/startup.py --runs 15 --top 25
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

try:
    import resource
except ImportError:  # not on Windows: CPU times are then not measured
    resource = None

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 0.7
COMMANDS: dict[str, list[str]] = {
    "python -c pass (interpreter floor)": ["-c", "pass"],
    "python -m sim --help": ["-m", "sim", "--help"],
    "python -m sim validate scenarios/baseline.yaml": [
        "-m",
        "sim",
        "validate",
        "scenarios/baseline.yaml",
    ],
}
TARGETED = ("python -m sim --help", "python -m sim validate scenarios/baseline.yaml")
HEAVY = (
    "pandas",
    "pyarrow",
    "numpy",
    "scipy",
    "statsmodels",
    "matplotlib",
    "papermill",
    "nbconvert",
    "dask",
    "distributed",
    "simpy",
    "holidays",
    "pydantic",
)


def _cpu_of_children() -> float:
    if resource is None:
        return float("nan")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time_once(args: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of ``python ARGS``."""
    cpu, began = _cpu_of_children(), time.perf_counter()
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    elapsed, cpu = time.perf_counter() - began, _cpu_of_children() - cpu
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        print(f"  warning: {' '.join(args)} exited {done.returncode}: {tail}")
    return elapsed, cpu


def time_commands(runs: int) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) of every command, ``runs`` rounds, the commands interleaved per round."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in COMMANDS}
    for args in COMMANDS.values():  # one unrecorded warm-up each (disk cache, .pyc)
        _time_once(args)
    for _ in range(runs):
        for name, args in COMMANDS.items():
            times[name].append(_time_once(args))
    return times


def import_times(args: list[str]) -> list[tuple[int, int, int, str]]:
    """(depth, self us, cumulative us, module) of every import of one run, in order."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, name = line.removeprefix("import time:").split("|")
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        rows.append((depth, int(own), int(cumulative), name.strip()))
    return rows


def _by_package(rows: list[tuple[int, int, int, str]]) -> list[tuple[int, str]]:
    """Self import time summed per top-level package (``sim`` split by subpackage),
    costliest first: which dependency a command pays for."""
    totals: dict[str, int] = {}
    for _, own, _, module in rows:
        parts = module.split(".")
        package = ".".join(parts[:2]) if parts[0] == "sim" and len(parts) > 1 else parts[0]
        totals[package] = totals.get(package, 0) + own
    return sorted(((us, name) for name, us in totals.items()), reverse=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each command (default 7)")
    parser.add_argument("--top", type=int, default=15, help="import offenders listed (15)")
    options = parser.parse_args(argv)

    print(f"Python {platform.python_version()} on {platform.platform()}; root {ROOT.name}/")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average (1 min) {load:.2f} on {os.cpu_count()} CPU(s)")
    print(f"\n{options.runs} runs per command: wall median [min..max], CPU (user+sys) median")
    for name, pairs in time_commands(max(1, options.runs)).items():
        wall = [w for w, _ in pairs]
        median = statistics.median(wall)
        cpu = statistics.median(c for _, c in pairs)
        verdict = ""
        if name in TARGETED:
            verdict = "PASS" if median < TARGET_SECONDS else "ABOVE TARGET"
            verdict = f"  target < {TARGET_SECONDS:.1f} s: {verdict}"
        print(
            f"  {median:6.3f} s [{min(wall):.3f}..{max(wall):.3f}]  cpu {cpu:6.3f} s  "
            f"{name}{verdict}"
        )

    for name in TARGETED:
        rows = import_times(COMMANDS[name])
        total = sum(cumulative for depth, _, cumulative, _ in rows if depth == 0)
        print(f"\n{name}: {len(rows)} modules imported, {total / 1e6:.3f} s importing")
        print("  top offenders by package (sum of the self times of its modules):")
        for own, package in _by_package(rows)[: options.top]:
            print(f"    {own / 1e6:7.3f} s  {package}")
        print("  top offenders by module (self time):")
        for _, own, _, module in sorted(rows, key=lambda row: -row[1])[: options.top]:
            print(f"    {own / 1e6:7.3f} s  {module}")
        loaded = {module.split(".")[0] for _, _, _, module in rows}
        print("  heavy packages loaded: " + (", ".join(p for p in HEAVY if p in loaded) or "none"))
        print("  not loaded: " + (", ".join(p for p in HEAVY if p not in loaded) or "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
