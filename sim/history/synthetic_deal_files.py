"""A synthetic deal-only CRM export in the Maven "CRM Sales Opportunities" layout.

:func:`make_deal_export` draws the world of a :class:`~sim.history.synthetic_deals.
DealExportTruth` and writes what a CRM would export at its snapshot date:

- ``sales_pipeline.csv``: ``opportunity_id, sales_agent, product, account, deal_stage
  (Prospecting / Engaging / Won / Lost), engage_date (date only; blank for Prospecting),
  close_date (blank for open deals), close_value`` (exact decimals with cents for won
  deals, ``0`` for lost, blank when open), and ``currency`` when the truth has more than
  one;
- ``sales_teams.csv``: ``sales_agent, manager, regional_office`` (the missing reps are
  not in it);
- ``products.csv``: ``product, series, sales_price`` (one product spelled otherwise than
  in the pipeline);
- ``accounts.csv``: ``account, sector, year_established, revenue, employees,
  office_location, subsidiary_of``;
- ``currency_rates.csv`` (``currency, rate`` to the reporting currency, the first one)
  with mixed currencies, and ``stage_history.csv`` (``opportunity_id, stage,
  entered_at``, date only) when asked;
- ``manifest.json``: the truth, the derived truth (win probability, mean won cycle,
  rate path), the missing reps, the realised counts (engaged deals per day over the
  whole world, beyond the snapshot too, for held-out checks) and the exact won totals
  per currency.

Same seed and truth, same bytes.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import ConfigError
from sim.history.synthetic_deals import DealExportTruth, deal_preset, draw_world
from sim.io.output import confined
from sim.io.safe_text import write_csv
from sim.world.randomness import Streams

__all__ = ["PRODUCTS", "make_deal_export", "observe"]

PRODUCTS = (  # name, series, list price (reporting currency), share of deals
    ("GTX Basic", "GTX", "550.00", 0.16),
    ("GTX Pro", "GTX", "4821.00", 0.14),
    ("MG Special", "MG", "55.00", 0.18),
    ("MG Advanced", "MG", "3393.00", 0.17),
    ("GTX Plus Pro", "GTX", "5482.00", 0.14),
    ("GTX Plus Basic", "GTX", "1096.00", 0.16),
    ("GTK 500", "GTK", "26768.00", 0.05),
)
"""The product catalogue of the synthetic export."""

_FIRST = [
    "Ada",
    "Boris",
    "Carla",
    "Dmitri",
    "Elena",
    "Farid",
    "Greta",
    "Hiro",
    "Ines",
    "Jonas",
    "Kira",
    "Luis",
    "Mara",
    "Nils",
    "Olga",
]
_LAST = [
    "Abbott",
    "Brandt",
    "Castro",
    "Dalton",
    "Eriksen",
    "Fischer",
    "Gomez",
    "Hale",
    "Ivanov",
    "Jensen",
    "Kowalski",
]
_FIRMS = [
    "Acme",
    "Bluebird",
    "Cobalt",
    "Dunmore",
    "Everest",
    "Fjord",
    "Granite",
    "Harbor",
    "Ionic",
    "Juniper",
    "Keystone",
]
_KINDS = [
    "Systems",
    "Labs",
    "Holdings",
    "Group",
    "Medical",
    "Logistics",
    "Foods",
    "Partners",
    "Works",
]
_SECTORS = ("technology", "medical", "retail", "software", "finance", "services", "telecom")
_ID_STEP = 1_743_541_808_669  # ~0.618 x 36^8, coprime to 36: i -> i x step mod 36^8 is 1-1


def _ids(n: int, offset: int) -> list[str]:
    """*n* distinct 8-character ids that look random (``1C1I7A6R``)."""
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = []
    for i in range(n):
        v = ((i + offset) * _ID_STEP + 987_654_321_012) % 36**8
        out.append("".join(digits[(v // 36**p) % 36] for p in range(7, -1, -1)))
    return out


def _names(first: list[str], last: list[str], n: int, rng) -> list[str]:
    pairs = [f"{a} {b}" for a in first for b in last]
    return [pairs[i] for i in rng.choice(len(pairs), n, replace=False)]


def _teams(truth: DealExportTruth, rng) -> tuple[pd.DataFrame, list[str], np.ndarray]:
    """The teams file, the agents named by deals (missing reps first) and their weights."""
    agents = _names(_FIRST, _LAST, truth.reps + truth.managers, rng)
    managers, agents = agents[: truth.managers], agents[truth.managers :]
    office = {m: truth.offices[i % len(truth.offices)] for i, m in enumerate(managers)}
    manager = [managers[i % truth.managers] for i in range(truth.reps)]
    teams = pd.DataFrame(
        {"sales_agent": agents, "manager": manager, "regional_office": [office[m] for m in manager]}
    )
    weights = rng.lognormal(0.0, 0.35, truth.reps)
    if truth.missing_reps:
        weights[0] = truth.top_seller_weight * weights[1:].max()  # the top seller goes missing
    teams = teams.iloc[truth.missing_reps :]
    return teams.reset_index(drop=True), agents, weights / weights.sum()


def _accounts(rng) -> pd.DataFrame:
    names = [f"{a} {b}" for a in _FIRMS for b in _KINDS]
    n = 85
    picked = [names[i] for i in rng.choice(len(names), n, replace=False)]
    parent = np.where(rng.random(n) < 0.15, np.asarray(picked)[rng.integers(n, size=n)], "")
    return pd.DataFrame(
        {
            "account": picked,
            "sector": np.asarray(_SECTORS)[rng.integers(len(_SECTORS), size=n)],
            "year_established": rng.integers(1979, 2017, n).astype(str),
            "revenue": [f"{v:.2f}" for v in rng.lognormal(6.5, 1.2, n)],
            "employees": rng.integers(9, 20_000, n).astype(str),
            "office_location": np.where(rng.random(n) < 0.85, "United States", "Kenya"),
            "subsidiary_of": np.where(parent == np.asarray(picked), "", parent),
        }
    )


def _money(cents: np.ndarray) -> list[str]:
    """Integer cents as exact decimal text (``105437`` -> ``1054.37``)."""
    return [f"{c // 100}.{c % 100:02d}" for c in cents.astype(np.int64)]


def _attributes(truth: DealExportTruth, n: int, agents: list[str], weights, rng) -> pd.DataFrame:
    """Per-deal attributes for every deal of the world (drawn whatever the snapshot)."""
    shares = np.asarray([p[3] for p in PRODUCTS])
    product = rng.choice(len(PRODUCTS), n, p=shares / shares.sum())
    price = np.asarray([int(Decimal(p[2]) * 100) for p in PRODUCTS])[product]
    codes = list(truth.currencies)
    cshare = np.asarray(list(truth.currencies.values()), dtype=float)
    currency = np.asarray(codes)[rng.choice(len(codes), n, p=cshare / cshare.sum())]
    rates = np.asarray([float(Decimal(truth.currency_rates[c])) for c in currency])
    cents = np.round(price * rng.uniform(0.9, 1.1, n) / rates).astype(np.int64)
    names = np.asarray([p[0] for p in PRODUCTS], dtype=object)
    names[names == truth.product_alias[0]] = truth.product_alias[1]  # the pipeline's spelling
    return pd.DataFrame(
        {
            "sales_agent": np.asarray(agents)[rng.choice(len(agents), n, p=weights)],
            "product": names[product],
            "account_index": rng.integers(85, size=n),
            "blank_account": rng.random(n) < truth.blank_account_open_share,
            "currency": currency,
            "cents": cents,
        }
    )


def observe(truth: DealExportTruth, world: pd.DataFrame) -> pd.DataFrame:
    """The deals of *world* engaged before the snapshot, with their stage at it."""
    seen = world[world["engage_day"] < truth.snapshot].copy()
    closed = seen["close_day"] < truth.snapshot
    seen["deal_stage"] = np.where(closed, np.where(seen["won"], "Won", "Lost"), "Engaging")
    return seen


def _date(start: str, offsets: pd.Series) -> pd.Series:
    return (pd.Timestamp(start) + pd.to_timedelta(offsets, unit="D")).dt.strftime("%Y-%m-%d")


def _pipeline(truth, seen, accounts, prospects) -> pd.DataFrame:
    stage = seen["deal_stage"]
    open_ = stage.eq("Engaging")
    account = accounts["account"].to_numpy()[seen["account_index"]]
    value = np.where(stage.eq("Won"), _money(seen["cents"].to_numpy()), "0")
    frame = pd.DataFrame(
        {
            "opportunity_id": seen["opportunity_id"],
            "sales_agent": seen["sales_agent"],
            "product": seen["product"],
            "account": np.where(open_ & seen["blank_account"], "", account),
            "deal_stage": stage,
            "engage_date": _date(truth.start, seen["engage_day"]),
            "close_date": np.where(open_, "", _date(truth.start, seen["close_day"])),
            "close_value": np.where(open_, "", value),
            "currency": seen["currency"],
            "_order": seen["order"],
        }
    )
    frame = pd.concat([frame, prospects], ignore_index=True).sort_values("_order", kind="stable")
    drop = ["_order"] + ([] if len(truth.currencies) > 1 else ["currency"])
    return frame.drop(columns=drop).fillna("").reset_index(drop=True)


def _prospects(truth, n_world, agents, weights, rng) -> pd.DataFrame:
    """Deals never engaged (Prospecting, blank dates), placed at random in the file."""
    n = truth.prospecting
    product = rng.choice(len(PRODUCTS), n)
    names = [PRODUCTS[i][0] for i in product]
    name, alias = truth.product_alias
    return pd.DataFrame(
        {
            "opportunity_id": _ids(n, offset=10_000_000),
            "sales_agent": np.asarray(agents)[rng.choice(len(agents), n, p=weights)],
            "product": [alias if p == name else p for p in names],
            "deal_stage": "Prospecting",
            "currency": next(iter(truth.currencies)),
            "_order": rng.uniform(-0.5, n_world, n),
        }
    )


def _stage_history(truth: DealExportTruth, seen: pd.DataFrame) -> pd.DataFrame:
    """One row per stage each deal entered on or before the snapshot, then Won / Lost."""
    names = [s.name for s in truth.stages]
    rows = []
    for deal, times, entered, stage, close in zip(
        seen["opportunity_id"],
        seen["stage_t"],
        seen["stages_entered"],
        seen["deal_stage"],
        seen["close_day"],
        strict=True,
    ):
        for name, t in zip(names[:entered], times[:entered], strict=True):
            if int(t) < truth.snapshot:
                rows.append((deal, name, int(t)))
        if stage in ("Won", "Lost"):
            rows.append((deal, stage, int(close)))
    frame = pd.DataFrame(rows, columns=["opportunity_id", "stage", "entered_at"])
    frame["entered_at"] = _date(truth.start, frame["entered_at"])
    return frame


def _counts(truth, seen: pd.DataFrame, world: pd.DataFrame) -> dict:
    stage = seen["deal_stage"]
    closed = seen[stage.isin(["Won", "Lost"])]
    won = closed[closed["won"]]
    totals: dict[str, Decimal] = {}
    for code, cents in won.groupby("currency")["cents"].sum().items():
        totals[str(code)] = Decimal(int(cents)) / 100
    return {
        "engaged": len(seen),
        "won": int(stage.eq("Won").sum()),
        "lost": int(stage.eq("Lost").sum()),
        "open": int(stage.eq("Engaging").sum()),
        "prospecting": truth.prospecting,
        "open_blank_account": int((stage.eq("Engaging") & seen["blank_account"]).sum()),
        # naive figures an export shows: won / closed, and the mean of closed won cycles
        "win_rate_closed": round(len(won) / max(len(closed), 1), 6),
        "won_cycle_mean_closed_days": round(
            float((won["close_day"] - won["engage_day"]).mean()), 6
        ),
        "first_engage_date": str(
            (pd.Timestamp(truth.start) + pd.Timedelta(days=int(seen["engage_day"].min()))).date()
        ),
        "engaged_per_day": np.bincount(world["engage_day"], minlength=truth.days).tolist(),
        "won_amount_total": {code: str(total) for code, total in sorted(totals.items())},
    }


def make_deal_export(
    out_dir: str | Path, seed: int = 11, truth: DealExportTruth | str | None = None
) -> dict:
    """Write the deal-only export of *truth* (a truth, a preset name, default ``ramp``)
    at its snapshot into *out_dir*; return the manifest (also ``manifest.json``)."""
    truth = deal_preset(truth or "ramp") if not isinstance(truth, DealExportTruth) else truth
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{out}: cannot create output folder ({exc.strerror})") from None
    streams = Streams(seed)
    world = draw_world(truth, seed)
    teams, agents, weights = _teams(truth, streams.get("deals.teams"))
    accounts = _accounts(streams.get("deals.accounts"))
    attributes = _attributes(truth, len(world), agents, weights, streams.get("deals.attributes"))
    world = pd.concat([world, attributes], axis=1)
    world["opportunity_id"] = _ids(len(world), offset=0)
    world["order"] = np.arange(len(world), dtype=float)
    seen = observe(truth, world)
    prospects = _prospects(truth, len(world), agents, weights, streams.get("deals.prospects"))
    products = pd.DataFrame(
        [(name, series, price) for name, series, price, _ in PRODUCTS],
        columns=["product", "series", "sales_price"],
    )
    files = {
        "sales_pipeline.csv": _pipeline(truth, seen, accounts, prospects),
        "sales_teams.csv": teams,
        "products.csv": products,
        "accounts.csv": accounts,
    }
    if len(truth.currencies) > 1:
        rates = truth.currency_rates
        files["currency_rates.csv"] = pd.DataFrame(
            {"currency": list(truth.currencies), "rate": [rates[c] for c in truth.currencies]}
        )
    if truth.stage_history:
        files["stage_history.csv"] = _stage_history(truth, seen)
    for name, frame in files.items():
        write_csv(frame, confined(out, name))
    missing = agents[: truth.missing_reps]
    manifest = {
        "seed": seed,
        "layout": "maven_crm_deals",
        "truth": asdict(truth),
        "derived": truth.summary(),
        "missing_reps": missing,
        "top_seller": missing[0] if missing else None,
        "product_alias": {truth.product_alias[1]: truth.product_alias[0]},
        "reporting_currency": next(iter(truth.currencies)),
        "deals": _counts(truth, seen, world),
        "rows": {name: len(frame) for name, frame in files.items()},
    }
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    confined(out, "manifest.json").write_text(text, encoding="utf-8")
    return manifest
