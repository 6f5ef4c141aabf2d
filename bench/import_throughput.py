"""Import throughput and peak memory: a generated CRM export of N rows, streamed in.

Writes an export in the layout of ``scenarios/mappings/sample.yaml`` (``leads.csv`` 80 %
of the rows, ``deals.csv`` 20 %, ``reps.csv`` 8 reps) with defects the import must
count (0.5 % bad dates, 0.2 % repeated lead ids, 1 % date-only arrivals, deals of
unknown leads, unreadable amounts), into a temporary folder, then runs ``python -m sim
import EXPORT --mapping scenarios/mappings/sample.yaml --out DATA`` as a child process
and prints, per size: wall time and rows/s, the child's CPU time (user + system) and
rows per CPU second (a busy machine inflates it less than the wall time), the child's
peak RSS (``os.wait4`` -> ``ru_maxrss``) and whether read = accepted + quarantined.
Several sizes show how peak memory grows with rows (streaming: it should not grow in
proportion).  It reports, it never fails (exit 0).

    .venv/bin/python bench/import_throughput.py                      # 1,000,000 rows
    .venv/bin/python bench/import_throughput.py --rows 100000 1000000
    .venv/bin/python bench/import_throughput.py --rows 20000 --batch-rows 5000 --keep DIR
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
MAPPING = ROOT / "scenarios" / "mappings" / "sample.yaml"
CHUNK = 200_000
SOURCES = np.array(["Web Form", "Douyin", "Trade Show", "Referral", "Webinar"])


def _write(frame: pd.DataFrame, path: Path, first: bool) -> None:
    frame.to_csv(path, index=False, mode="w" if first else "a", header=first)


def _leads(rng: np.random.Generator, start: int, n: int) -> pd.DataFrame:
    ids = np.arange(start, start + n)
    dup = rng.random(n) < 0.002
    ids[dup] = np.maximum(ids[dup] - 1, 1)
    seconds = rng.integers(0, 365 * 86_400, n)
    created = pd.Timestamp("2024-01-01") + pd.to_timedelta(seconds, "s")
    text = created.strftime("%Y-%m-%d %H:%M:%S").to_numpy(dtype=object)
    date_only = rng.random(n) < 0.01
    text[date_only] = created[date_only].strftime("%Y-%m-%d")
    text[rng.random(n) < 0.005] = "2024-02-30 10:00:00"
    return pd.DataFrame(
        {
            "Lead ID": [f"{i:07d}" for i in ids],
            "Created": text,
            "Source": SOURCES[rng.integers(0, len(SOURCES), n)],
            "Region": np.where(rng.random(n) < 0.5, "East", "North"),
            "Industry": np.array(["Hospital", "Clinic", "Lab"])[rng.integers(0, 3, n)],
            "Budget": np.array(["Small", "Medium", "Large"])[rng.integers(0, 3, n)],
            "Timeline (days)": np.where(rng.random(n) < 0.3, "", rng.integers(10, 120, n)),
        }
    )


def _deals(rng: np.random.Generator, start: int, n: int, leads: int) -> pd.DataFrame:
    lead = rng.integers(1, leads + 1, n)
    lead[rng.random(n) < 0.002] = leads + 10_000_000  # an unknown lead
    amount = np.round(rng.lognormal(np.log(40_000), 0.5, n), 2).astype(str)
    amount[rng.random(n) < 0.001] = "n/a"
    seconds = rng.integers(400 * 86_400, 430 * 86_400, n)  # after every arrival
    closed = pd.Timestamp("2024-01-01") + pd.to_timedelta(seconds, "s")
    return pd.DataFrame(
        {
            "Deal ID": [f"D{i:08d}" for i in range(start, start + n)],
            "Lead ID": [f"{i:07d}" for i in lead],
            "Owner": [f"{i:03d}" for i in rng.integers(1, 9, n)],
            "Stage": np.where(rng.random(n) < 0.3, "Closed Won", "Closed Lost"),
            "Close Date": closed.strftime("%Y-%m-%d %H:%M:%S"),
            "Amount": amount,
        }
    )


def make_export(folder: Path, rows: int, seed: int = 1) -> dict[str, int]:
    """Write an export of *rows* rows (leads, deals, reps) into *folder*; rows per file."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    reps = pd.DataFrame(
        {
            "Owner ID": [f"{i:03d}" for i in range(1, 9)],
            "Region": ["East", "North"] * 4,
            "Start Date": "2023-06-01",
        }
    )
    reps.to_csv(folder / "reps.csv", index=False)
    n_leads = int(rows * 0.8)
    n_deals = rows - n_leads - len(reps)
    for start in range(0, n_leads, CHUNK):
        _write(_leads(rng, start + 1, min(CHUNK, n_leads - start)), folder / "leads.csv", not start)
    for start in range(0, n_deals, CHUNK):
        chunk = _deals(rng, start + 1, min(CHUNK, n_deals - start), n_leads)
        _write(chunk, folder / "deals.csv", not start)
    # the sample mapping also names invoices.csv: an empty one (header only)
    (folder / "invoices.csv").write_text(
        "Invoice,Deal ID,Amount,Invoice Date,Due Date,Paid Date\n", encoding="utf-8"
    )
    return {"leads.csv": n_leads, "deals.csv": n_deals, "reps.csv": len(reps)}


def run_import(export: Path, out: Path, batch_rows: int) -> dict:
    """Import *export* in a child process; its wall time, peak RSS and last lines."""
    cmd = [sys.executable, "-m", "sim", "import", str(export), "--mapping", str(MAPPING)]
    cmd += ["--out", str(out), "--batch-rows", str(batch_rows)]
    log = out.parent / "import.log"
    started = time.perf_counter()
    with log.open("w") as handle:
        child = subprocess.Popen(cmd, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    cpu = usage.ru_utime + usage.ru_stime
    peak_kb = usage.ru_maxrss if sys.platform != "darwin" else usage.ru_maxrss / 1024
    lines = log.read_text().splitlines()
    return {
        "seconds": seconds,
        "cpu": cpu,
        "peak_mb": peak_kb / 1024,
        "code": child.returncode,
        "lines": lines,
    }


def main(argv: list[str] | None = None) -> int:
    """Generate, import and report each size of ``--rows``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--batch-rows", type=int, default=50_000)
    parser.add_argument("--keep", type=Path, help="keep the exports and imports in this folder")
    args = parser.parse_args(argv)
    base = args.keep or Path(tempfile.mkdtemp(prefix="import-bench-"))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, batch {args.batch_rows} rows")
    print(
        f"{'rows':>10} {'wall s':>7} {'rows/s':>8} {'CPU s':>7} {'rows/CPU s':>10} "
        f"{'peak RSS MB':>12}  reconciled"
    )
    results = []
    for rows in args.rows:
        export = base / f"export_{rows}"
        make_export(export, rows)
        out = base / f"data_{rows}"
        r = run_import(export, out, args.batch_rows)
        report = out / "import_report.json"
        totals = json.loads(report.read_text())["totals"] if report.exists() else None
        ok = totals is not None and totals["read"] == totals["accepted"] + totals["quarantined"]
        ok = ok and totals["read"] == rows
        print(
            f"{rows:>10,} {r['seconds']:>7.1f} {rows / r['seconds']:>8,.0f} {r['cpu']:>7.1f} "
            f"{rows / r['cpu']:>10,.0f} {r['peak_mb']:>12.0f}  {'yes' if ok else 'NO'} "
            f"(exit {r['code']})"
        )
        if r["code"] != 0:
            print("\n".join(r["lines"][-5:]))
        results.append((rows, r["peak_mb"]))
    if len(results) > 1:
        (r0, m0), (r1, m1) = results[0], results[-1]
        print(
            f"peak RSS grew {m1 / m0:.2f}x for {r1 / r0:.0f}x the rows "
            "(bounded memory: far less than the rows' ratio)"
        )
    if not args.keep:
        import shutil

        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
