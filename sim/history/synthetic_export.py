"""A small synthetic CRM export with known truth and deliberate defects.

:func:`make_sample` writes ``leads.csv``, ``deals.csv``, ``reps.csv`` and ``invoices.csv``
in a CRM's own naming (``Lead ID``, ``Source``, ``Stage``, ...), drawn from a known
process: Poisson arrivals shaped by a weekday x hour profile with a linear trend, a
channel mix, a win probability per channel, log-normal cycle times and late payments.
Then it plants defects, each in rows that have no other: blank channels, an unknown
channel name, bad dates, duplicate lead ids, date-only timestamps, deals won before
the lead's first contact, deals of unknown leads and unreadable amounts.  Ids keep
leading zeros (``000123``, rep ``007``).  ``manifest.json`` records the truth and the
number of planted defects, so tests can check the importer and the calibration against
them, and the walkthrough needs no outside data.  Same seed, same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import ConfigError
from sim.io.output import confined
from sim.world.clock import SimClock
from sim.world.randomness import Streams

__all__ = ["SampleTruth", "make_sample"]

_CHANNELS = {  # source name: (share, win probability)
    "Web Form": (0.45, 0.10),
    "Douyin": (0.20, 0.05),
    "Trade Show": (0.15, 0.20),
    "Referral": (0.10, 0.30),
    "Webinar": (0.10, 0.12),
}
_WEEKDAY = (1.2, 1.2, 1.15, 1.1, 1.0, 0.2, 0.15)
_HOUR = (
    (0.05,) * 7
    + (0.4, 1.2, 1.8, 1.8, 1.5, 1.0, 1.5, 1.8, 1.7, 1.4, 1.0, 0.6, 0.4, 0.3)
    + (
        0.2,
        0.1,
        0.05,
    )
)


@dataclass(frozen=True)
class SampleTruth:
    """The process the sample was drawn from, and how many defects were planted."""

    start: str = "2025-01-06"
    weeks: int = 16
    leads_per_week: float = 110.0
    trend_per_month: float = 0.10  # relative growth of the rate per 30.44 days
    channels: dict[str, float] = field(
        default_factory=lambda: {k: v[0] for k, v in _CHANNELS.items()}
    )
    win_probability: dict[str, float] = field(
        default_factory=lambda: {k: v[1] for k, v in _CHANNELS.items()}
    )
    lost_deal_share: float = 0.3  # of leads not won: a lost deal is recorded
    cycle_median_days: float = 18.0
    cycle_sigma: float = 0.6  # log-normal shape
    payment_terms_days: int = 30
    late_share: float = 0.35
    late_mean_days: float = 20.0
    reps: int = 8
    defects: dict[str, int] = field(
        default_factory=lambda: {
            "blank_channel": 12,
            "unknown_channel": 9,
            "bad_date": 7,
            "duplicate_id": 5,
            "date_only": 40,
            "won_before_contact": 4,
            "unknown_lead": 3,
            "bad_amount": 2,
        }
    )


def _arrivals(truth: SampleTruth, rng: np.random.Generator) -> pd.Series:
    """Arrival timestamps: Poisson counts per hour of the period, uniform within the hour."""
    hours = truth.weeks * 168
    weights = np.outer(_WEEKDAY, _HOUR).ravel()
    weights = weights / weights.mean()
    t = np.arange(hours)
    trend = 1 + truth.trend_per_month * (t - hours / 2) / (30.44 * 24)
    rate = truth.leads_per_week / 168 * weights[t % 168] * trend
    counts = rng.poisson(rate)
    times = np.repeat(t, counts) + rng.random(counts.sum())
    clock = SimClock(dt.datetime.fromisoformat(truth.start))
    return pd.Series(clock.timestamps(np.sort(times))).dt.floor("s")


def _leads(truth: SampleTruth, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.Series]:
    arrived = _arrivals(truth, rng)
    n = len(arrived)
    names = list(truth.channels)
    shares = np.asarray(list(truth.channels.values()))
    return pd.DataFrame(
        {
            "Lead ID": [f"{i:06d}" for i in range(1, n + 1)],
            "Created": arrived.dt.strftime("%Y-%m-%d %H:%M:%S"),
            "Source": np.asarray(names)[rng.choice(len(names), n, p=shares / shares.sum())],
            "Region": rng.choice(["East", "North"], n, p=[0.65, 0.35]),
            "Industry": rng.choice(["Hospital", "Clinic", "Lab"], n, p=[0.5, 0.3, 0.2]),
            "Budget": rng.choice(["Small", "Medium", "Large"], n, p=[0.5, 0.35, 0.15]),
            "Timeline (days)": np.where(
                rng.random(n) < 0.8, np.round(rng.exponential(75, n)).astype(int).astype(str), ""
            ),
        }
    ), arrived


def _deals(truth: SampleTruth, leads: pd.DataFrame, arrived: pd.Series, rng, reps: list[str]):
    n = len(leads)
    p_win = leads["Source"].map(truth.win_probability).to_numpy()
    u = rng.random(n)
    won = u < p_win
    lost = ~won & (rng.random(n) < truth.lost_deal_share)
    cycle = rng.lognormal(np.log(truth.cycle_median_days), truth.cycle_sigma, n)
    closed = arrived + pd.to_timedelta(np.round(cycle * 86400), unit="s")
    owner = np.asarray(reps)[rng.integers(len(reps), size=n)]
    amount = np.round(rng.lognormal(np.log(40000), 0.5, n), 2)
    has = won | lost
    deals = pd.DataFrame(
        {
            "Lead ID": leads["Lead ID"][has].to_numpy(),
            "Owner": owner[has],
            "Stage": np.where(won[has], "Closed Won", "Closed Lost"),
            "Close Date": closed[has].dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(),
            "Amount": [f"{a:.2f}" for a in amount[has]],
        }
    )
    deals.insert(0, "Deal ID", [f"D{i:05d}" for i in range(1, len(deals) + 1)])
    return deals, closed[has].reset_index(drop=True)


def _invoices(truth: SampleTruth, deals: pd.DataFrame, closed: pd.Series, rng) -> pd.DataFrame:
    won = (deals["Stage"] == "Closed Won").to_numpy()
    n = int(won.sum())
    invoiced = closed[won].dt.normalize().reset_index(drop=True)
    due = invoiced + pd.Timedelta(days=truth.payment_terms_days)
    late = rng.random(n) < truth.late_share
    delay = np.where(
        late, np.ceil(rng.exponential(truth.late_mean_days, n)), -rng.integers(0, 11, n)
    )
    paid = due + pd.to_timedelta(delay, unit="D")
    return pd.DataFrame(
        {
            "Invoice": [f"INV-{i:05d}" for i in range(1, n + 1)],
            "Deal ID": deals["Deal ID"][won].to_numpy(),
            "Amount": deals["Amount"][won].to_numpy(),
            "Invoice Date": invoiced.dt.strftime("%m/%d/%Y"),
            "Due Date": due.dt.strftime("%m/%d/%Y"),
            "Paid Date": paid.dt.strftime("%m/%d/%Y"),
        }
    )


def _plant_lead_defects(leads: pd.DataFrame, defects: dict[str, int], rng) -> pd.DataFrame:
    """Blank / unknown channels, bad dates, date-only times; then duplicated ids appended."""
    kinds = ("blank_channel", "unknown_channel", "bad_date", "date_only")
    rows = rng.choice(len(leads), sum(defects[k] for k in kinds), replace=False)
    at = 0
    for kind in kinds:
        picked = rows[at : at + defects[kind]]
        at += defects[kind]
        if kind == "blank_channel":
            leads.loc[picked, "Source"] = ""
        elif kind == "unknown_channel":
            leads.loc[picked, "Source"] = "TikTok Ads"
        elif kind == "bad_date":
            bad = np.asarray(["2025-02-30 10:00:00", "not a date", "13/45/2025"], dtype=object)
            leads.loc[picked, "Created"] = bad[np.arange(len(picked)) % len(bad)]
        else:
            leads.loc[picked, "Created"] = leads.loc[picked, "Created"].str.slice(0, 10)
    clean = np.setdiff1d(np.arange(len(leads)), rows)
    copies = leads.iloc[rng.choice(clean, defects["duplicate_id"], replace=False)].copy()
    copies["Source"] = "Referral"  # a second record under the same id, with other values
    return pd.concat([leads, copies], ignore_index=True)


def _plant_deal_defects(deals: pd.DataFrame, leads: pd.DataFrame, defects, rng) -> pd.DataFrame:
    """Deals won before first contact, deals of unknown leads, unreadable amounts."""
    created = leads.drop_duplicates("Lead ID").set_index("Lead ID")["Created"]
    good = deals["Lead ID"].map(created).str.len().eq(19).to_numpy()  # full timestamps only
    won = (deals["Stage"] == "Closed Won").to_numpy()
    kinds = ("won_before_contact", "unknown_lead", "bad_amount")
    rows = rng.choice(np.flatnonzero(good & won), sum(defects[k] for k in kinds), replace=False)
    at = 0
    for kind in kinds:
        picked = rows[at : at + defects[kind]]
        at += defects[kind]
        if kind == "won_before_contact":
            first = pd.to_datetime(deals.loc[picked, "Lead ID"].map(created))
            deals.loc[picked, "Close Date"] = (first - pd.Timedelta(days=3)).dt.strftime(
                "%Y-%m-%d %H:%M:%S"
            )
        elif kind == "unknown_lead":
            deals.loc[picked, "Lead ID"] = [f"9{i:05d}" for i in range(len(picked))]
        else:
            deals.loc[picked, "Amount"] = "n/a"
    return deals


def make_sample(out_dir: str | Path, seed: int = 7, truth: SampleTruth | None = None) -> dict:
    """Write the synthetic export into *out_dir*; return the manifest (truth, counts)."""
    truth = truth or SampleTruth()
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{out}: cannot create output folder ({exc.strerror})") from None
    streams = Streams(seed)
    reps = [f"{i:03d}" for i in range(1, truth.reps + 1)]
    leads, arrived = _leads(truth, streams.get("sample.leads"))
    deals, closed = _deals(truth, leads, arrived, streams.get("sample.deals"), reps)
    invoices = _invoices(truth, deals, closed, streams.get("sample.invoices"))
    defects_rng = streams.get("sample.defects")
    leads = _plant_lead_defects(leads, truth.defects, defects_rng)
    deals = _plant_deal_defects(deals, leads, truth.defects, defects_rng)
    first = dt.date.fromisoformat(truth.start)
    rep_table = pd.DataFrame(
        {
            "Owner ID": reps,
            "Region": ["East" if i % 3 else "North" for i in range(1, truth.reps + 1)],
            "Start Date": [str(first - dt.timedelta(days=400 - 30 * i)) for i in range(truth.reps)],
        }
    )
    files = {
        "leads.csv": leads,
        "deals.csv": deals,
        "reps.csv": rep_table,
        "invoices.csv": invoices,
    }
    for name, frame in files.items():
        frame.to_csv(confined(out, name), index=False, lineterminator="\n")
    manifest = {
        "seed": seed,
        "truth": asdict(truth),
        "rows": {name: len(frame) for name, frame in files.items()},
    }
    text = json.dumps(manifest, indent=2) + "\n"
    confined(out, "manifest.json").write_text(text, encoding="utf-8")
    return manifest
