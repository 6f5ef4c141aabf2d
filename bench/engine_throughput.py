"""Engine throughput benchmark (a script, not a test).

Run from the repository root::

    PYTHONPATH=. .venv/bin/python bench/engine_throughput.py [--days 100] [--year-days 365]

(a) M/M/c: the workbench's ``sim.run`` on ``scenarios/mmc_validation.yaml`` (timed
    including the result tables, which is what a user pays for) against a minimal bare
    SimPy M/M/c (``simpy.Resource``, one process per customer) fed the *same* arrival and
    service times.  Best of ``--repeat`` runs each; prints customers/s and the ratio
    workbench/bare (target >= 0.8), plus both mean waits as a sanity check.
(b) One simulated year of a 200-rep team at 3,200 leads/month with business calendars and
    the SLA ladder (``scenarios/baseline.yaml`` + ``source_defaults.yaml``): wall time,
    events/s, leads and peak memory, and the cost ratio: workbench seconds per lead over
    the bare SimPy M/M/c's seconds per customer, the bare model timed just before and
    just after the year in the same process (target <= 4).

Always exits 0: it reports, it does not gate.  See bench/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import math
import pstats
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import simpy

try:
    import sim
except ImportError:  # not installed: run from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import sim

ROOT = Path(__file__).resolve().parent.parent
MMC = ROOT / "scenarios" / "mmc_validation.yaml"
NO_SLA = ROOT / "scenarios" / "policies" / "no_sla.yaml"
BASELINE = ROOT / "scenarios" / "baseline.yaml"
SOURCE_DEFAULTS = ROOT / "scenarios" / "policies" / "source_defaults.yaml"
YEAR_TEAM = ("team.groups.0.count=120", "team.groups.1.count=70", "team.groups.2.count=10")
TARGET_RATIO = 0.8  # (a): workbench customers/s over bare SimPy's, at least
TARGET_COST = 4.0  # (b): workbench seconds per lead over bare seconds per customer, at most
WAIT_TOLERANCE = 0.03  # relative difference of mean waits that is worth shouting about


def timed(fn):
    """(wall time in seconds, result) of one call of *fn*, after a garbage collection."""
    wall, _, out = timed_cpu(fn)
    return wall, out


def timed_cpu(fn):
    """(wall time, CPU time of this process, result) of one call of *fn*.

    The CPU time (``time.process_time``) leaves out the time other processes held the
    cores: on a busy shared machine it is the steadier of the two.
    """
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


# -- (a) M/M/c ----------------------------------------------------------------------------
def bare_mmc(arrivals: list[float], services: list[float], c: int, horizon: float) -> list:
    """Textbook SimPy M/M/c: a shared FIFO queue in front of *c* servers.

    Returns each customer's wait (NaN if service had not started by *horizon*).
    """
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=c)
    waits = [math.nan] * len(arrivals)

    def customer(i: int, arrived: float, service: float):
        with servers.request() as req:
            yield req
            waits[i] = env.now - arrived
            yield env.timeout(service)

    def source():
        for i, (t, s) in enumerate(zip(arrivals, services, strict=True)):
            if t >= horizon:
                return
            yield env.timeout(t - env.now)
            env.process(customer(i, t, s))

    env.process(source())
    env.run(until=horizon)
    return waits


def mmc_inputs(result, seed: int) -> tuple[list[float], list[float], int, int, int]:
    """Arrival and service times of the workbench run per lead, in arrival order.

    Service times are the logged touch durations; leads whose touch had not completed at
    the horizon get a fresh exponential draw.  Also returns the number of servers, the
    number of redrawn service times and the index of the first lead with one: under FIFO
    the waits of all earlier leads depend on logged values only, so both simulations must
    agree on them exactly.
    """
    members = result.scenario.team.members()
    means = {m.touch_time.mean for m in members}
    if len(means) != 1:
        raise SystemExit("the M/M/c scenario must give every rep the same touch time")
    leads = result.leads.sort_values("lead_id")
    n = len(leads)
    if not np.array_equal(leads["lead_id"].to_numpy(), np.arange(n)):
        raise SystemExit("lead ids are expected to be 0..n-1 in arrival order")
    ev = result.events
    done = ev[ev["kind"] == "touch_completed"]
    services = np.full(n, np.nan)
    services[done["lead_id"].to_numpy()] = done["value"].to_numpy()
    missing = np.isnan(services)
    rng = np.random.default_rng(seed)
    services[missing] = rng.exponential(means.pop(), int(missing.sum()))
    first = int(np.argmax(missing)) if missing.any() else n
    redrawn = int(missing.sum())
    return leads["arrived_t"].tolist(), services.tolist(), len(members), redrawn, first


def synthetic_mmc_inputs(seed: int) -> tuple[list[float], list[float], int, float]:
    """Arrival and service times of the M/M/c scenario drawn directly (for ``--only b``):
    the same kind of customers part (a) feeds the bare model, without a workbench run."""
    scenario = sim.load_scenario(MMC)
    members = scenario.team.members()
    rng = np.random.default_rng(seed)
    horizon, rate = scenario.horizon_hours, scenario.arrivals.mean_rate
    gaps = rng.exponential(1.0 / rate, int(horizon * rate * 1.2) + 100)
    arrivals = np.cumsum(gaps)
    arrivals = arrivals[arrivals < horizon]
    services = rng.exponential(members[0].touch_time.mean, len(arrivals))
    return arrivals.tolist(), services.tolist(), len(members), horizon


def bench_mmc(
    days: float | None, seed: int, repeat: int
) -> tuple[list[float], list[float], int, float]:
    """Part (a); returns the bare model's inputs (arrivals, services, c, horizon)."""
    overrides = []
    if days is not None:
        overrides = [f"horizon_days={days}", f"warmup_days={min(5.0, days / 20)}"]
    scenario = sim.load_scenario(MMC, overrides)
    policy = sim.load_policy(NO_SLA)
    horizon, warmup = scenario.horizon_hours, scenario.warmup_hours

    # Interleaved (workbench, bare, workbench, bare, ...) so that a burst of load on a
    # shared machine hits both alike; the best time of each is kept.
    t_wb, cpu_wb, result = timed_cpu(lambda: sim.run(scenario, policy, seed))
    arrivals, services, c, redrawn, first_redrawn = mmc_inputs(result, seed)
    t_bare, cpu_bare, waits = timed_cpu(lambda: bare_mmc(arrivals, services, c, horizon))
    for _ in range(repeat - 1):
        wall, cpu, _ = timed_cpu(lambda: sim.run(scenario, policy, seed))
        t_wb, cpu_wb = min(t_wb, wall), min(cpu_wb, cpu)
        wall, cpu, _ = timed_cpu(lambda: bare_mmc(arrivals, services, c, horizon))
        t_bare, cpu_bare = min(t_bare, wall), min(cpu_bare, cpu)

    n = len(arrivals)
    rate_wb, rate_bare = n / t_wb, n / t_bare
    ratio = rate_wb / rate_bare
    verdict = "PASS" if ratio >= TARGET_RATIO else "BELOW TARGET"

    # Sanity: same inputs and the same discipline (one FIFO queue) give the same waits.
    wb_wait = result.leads.sort_values("lead_id")["first_touch_hours"].to_numpy()
    bare_wait = np.asarray(waits)
    arrived = np.asarray(arrivals)
    both = (arrived >= warmup) & ~np.isnan(wb_wait) & ~np.isnan(bare_wait)
    mean_wb, mean_bare = wb_wait[both].mean(), bare_wait[both].mean()
    rel = abs(mean_wb - mean_bare) / mean_bare
    exact = both[:first_redrawn]
    diff = np.abs(wb_wait[:first_redrawn] - bare_wait[:first_redrawn])[exact]
    max_diff = float(np.max(diff, initial=0.0))

    mu = 1.0 / scenario.team.members()[0].touch_time.mean
    lam = scenario.arrivals.mean_rate
    print(
        f"(a) M/M/{c} throughput  [{MMC.name}, lambda={lam:g}/h, mu={mu:g}/h, "
        f"rho={lam / (c * mu):.2f}, {scenario.horizon_days:g} days, seed {seed}, "
        f"best of {repeat}, interleaved]"
    )
    print(
        f"    customers          {n:>12,d}   ({redrawn} service times redrawn: "
        "in service or untouched at the horizon)"
    )
    print(
        f"    workbench sim.run  {t_wb:>12.3f} s  {rate_wb:>10,.0f} customers/s  "
        "(incl. result tables)"
    )
    print(f"    bare SimPy M/M/c   {t_bare:>12.3f} s  {rate_bare:>10,.0f} customers/s")
    print(f"    ratio workbench/bare {ratio:>10.3f}   target >= {TARGET_RATIO}: {verdict}")
    print(
        f"    ratio in CPU time  {cpu_bare / cpu_wb:>12.3f}   (process_time, best of {repeat} "
        "each: steadier on a busy machine)"
    )
    print(
        f"    mean wait (after warm-up, {int(both.sum()):,d} customers): "
        f"workbench {mean_wb:.4f} h, bare {mean_bare:.4f} h, "
        f"rel. diff {rel:.2%}"
    )
    print(
        f"    per customer (the {int(exact.sum()):,d} not affected by redrawn service times): "
        f"max |wait diff| {max_diff:.1e} h"
    )
    if rel > WAIT_TOLERANCE or max_diff > 1e-6:
        print(
            f"    !!! WAITS DIFFER (means by {rel:.1%}, tolerance {WAIT_TOLERANCE:.0%}; one "
            f"customer by up to {max_diff:.2g} h): the workbench is NOT behaving as a FIFO "
            "M/M/c queue; investigate sim/engine/dispatch.py !!!"
        )
    return arrivals, services, c, horizon


# -- (b) a year of a 200-rep team ------------------------------------------------------------
def _rss_kib(field: str) -> int | None:
    """A ``Vm*`` field of /proc/self/status in KiB (Linux), else None."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's RSS high-water mark to the current RSS (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return _rss_kib("VmHWM") is not None


def year_inputs(days: float):
    scenario = sim.load_scenario(BASELINE, [f"horizon_days={days}", *YEAR_TEAM])
    return scenario, sim.load_policy(SOURCE_DEFAULTS)


def bench_year(
    days: float,
    seed: int,
    use_tracemalloc: bool,
    profile: int,
    bare_inputs: tuple[list[float], list[float], int, float],
) -> None:
    # Untimed warm-up: one simulated day of the same world, so that the one-off imports
    # (the holiday tables of the business calendar, ~1 s) are not counted per lead.
    sim.run(*year_inputs(1.0), seed)
    scenario, policy = year_inputs(days)
    n_reps = len(scenario.team.members())
    arrivals, services, c, bare_horizon = bare_inputs
    n_bare = sum(1 for t in arrivals if t < bare_horizon)
    t_bare, cpu_bare, _ = timed_cpu(lambda: bare_mmc(arrivals, services, c, bare_horizon))

    gc.collect()
    if _reset_peak_rss():
        before = _rss_kib("VmRSS") or 0
        how = "VmHWM - VmRSS before, high-water mark reset via /proc/self/clear_refs"
    else:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        how = "ru_maxrss delta: growth above the process's earlier peak, a lower bound"
    t0, c0 = time.perf_counter(), time.process_time()
    result = sim.run(scenario, policy, seed)
    wall, cpu_year = time.perf_counter() - t0, time.process_time() - c0
    if how.startswith("VmHWM"):
        peak_mib = ((_rss_kib("VmHWM") or 0) - before) / 1024
    else:
        peak_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    wall_bare, cpu, _ = timed_cpu(lambda: bare_mmc(arrivals, services, c, bare_horizon))
    t_bare, cpu_bare = min(t_bare, wall_bare), min(cpu_bare, cpu)

    n_events = len(result.events)
    counts = result.events["kind"].value_counts()
    print(
        f"(b) {days:g} simulated days, {n_reps} reps, "
        f"{scenario.arrivals.mean_rate * 24 * 365.25 / 12:,.0f} leads/month, "
        f"business calendars + SLA ladder [{BASELINE.name} + {SOURCE_DEFAULTS.name}, "
        f"seed {seed}]"
    )
    print(
        f"    wall time          {wall:>12.2f} s   (one run, incl. result tables, after an "
        "untimed 1-day warm-up)"
    )
    print(f"    events             {n_events:>12,d}   {n_events / wall:>10,.0f} events/s")
    print(
        f"    leads              {len(result.leads):>12,d}   {len(result.leads) / wall:>10,.0f} "
        f"leads/s; reminders {counts.get('sla_reminder', 0):,d}, "
        f"reclaims {counts.get('lead_reclaimed', 0):,d}, pooled "
        f"{counts.get('lead_pooled', 0):,d}"
    )
    per_lead, per_customer = wall / len(result.leads), t_bare / n_bare
    cost = per_lead / per_customer
    verdict = "PASS" if cost <= TARGET_COST else "ABOVE TARGET"
    print(
        f"    bare SimPy M/M/{c}   {per_customer * 1e6:>12.1f} us per customer "
        f"(best of 2, timed just before and after the year; {n_bare:,d} customers)"
    )
    print(
        f"    cost per lead      {per_lead * 1e6:>12.1f} us   = {cost:.2f}x the bare cost per "
        f"customer   target <= {TARGET_COST:g}x: {verdict}"
    )
    cpu_cost = (cpu_year / len(result.leads)) / (cpu_bare / n_bare)
    print(
        f"    cost in CPU time   {cpu_cost:>12.2f}x  (process_time per lead over per customer: "
        "steadier on a busy machine)"
    )
    print(f"    peak RSS growth    {peak_mib:>12.1f} MiB ({how})")
    del result

    if use_tracemalloc:
        gc.collect()
        tracemalloc.start()
        t0 = time.perf_counter()
        sim.run(scenario, policy, seed)
        traced = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"    tracemalloc peak   {peak / 2**20:>12.1f} MiB (separate pass, Python + numpy "
            f"allocations; that pass took {traced:.1f} s)"
        )

    if profile:
        gc.collect()
        prof = cProfile.Profile()
        prof.enable()
        sim.run(scenario, policy, seed)
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(profile)
        lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
        start = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls"))
        print(f"    cProfile, separate pass, top {profile} by tottime:")
        for ln in lines[start:]:
            print("      " + ln.replace(str(ROOT) + "/", ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Engine throughput: workbench vs bare SimPy M/M/c, and a 200-rep year.",
    )
    parser.add_argument(
        "--days",
        type=float,
        default=None,
        help="horizon of the M/M/c run in days (default: the scenario's, 100)",
    )
    parser.add_argument(
        "--year-days",
        type=float,
        default=365.0,
        help="horizon of the 200-rep run in days (default 365)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of both runs (default 0)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="timed repetitions of (a); the best is reported (default 3)",
    )
    parser.add_argument("--only", choices=("a", "b"), help="run only one of the two parts")
    parser.add_argument(
        "--tracemalloc", action="store_true", help="add a separate tracemalloc pass of (b) (slow)"
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="add a cProfile pass of (b) and print the top N by tottime",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")

    print(
        f"engine throughput  python {sys.version.split()[0]}, simpy {simpy.__version__}, "
        f"numpy {np.__version__}"
    )
    bare_inputs = None
    if args.only in (None, "a"):
        bare_inputs = bench_mmc(args.days, args.seed, args.repeat)
    if args.only in (None, "b"):
        if bare_inputs is None:
            bare_inputs = synthetic_mmc_inputs(args.seed)
        bench_year(args.year_days, args.seed, args.tracemalloc, args.profile, bare_inputs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
