"""Exact amounts and currencies of an imported export.

An amount's text is plain decimal (checked by :mod:`sim.history.field_parsing`); here it
becomes an exact integer of the currency's minor units, ``amount_minor`` (int64: cents
for USD, yuan fen for CNY, yen for JPY; the ISO 4217 exponent, 2 when the currency is
not in :data:`MINOR_UNITS`, or the mapping's ``minor_units``).  No float is involved:
``"78484.29"`` is 7848429.  An amount with more decimals than its currency has
(``12.345`` USD) is quarantined as ``too_many_decimals``, not rounded.  ``amount`` stays
as a float of the same value, for statistics.

The currency of a row is its mapped ``currency`` column (blank: the mapping's
``currency``), or the mapping's ``currency`` for every row.  An export in several
currencies is refused (DataError, one line) unless the mapping gives ``currency_rates``:
then every amount is converted to the reporting currency (``currency``) exactly, with
``Decimal`` arithmetic and half-even rounding to its minor unit; ``source_currency`` and
``source_amount_minor`` keep what the export said.  A row in a currency without a rate is
quarantined (``no_rate``); a currency cell that is no ISO code is ``bad_currency``.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import ConfigError, DataError

__all__ = ["MINOR_UNITS", "CurrencyBook", "minor_units_of", "read_rates", "to_minor"]

MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"), 0),
    **dict.fromkeys(("RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}
"""ISO 4217 currencies whose minor unit is not 1/100 (all others: 2 decimals)."""

_MAX_DIGITS = 17  # integer part: int64 holds 9.2e18 minor units


def minor_units_of(currency: str | None, override: int | None = None) -> int:
    """Decimals of *currency* (the mapping's ``minor_units`` wins when given)."""
    if override is not None:
        return override
    return MINOR_UNITS.get(currency or "", 2)


def read_rates(path: Path, label: str) -> dict[str, str]:
    """A rate file: CSV with columns ``currency,rate`` (units of the reporting currency
    per unit of ``currency``).  ConfigError (one line) when it is missing or malformed."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise ConfigError(f"{label}: currency_rates: cannot read {path} ({exc})") from None
    if not rows or {"currency", "rate"} - set(rows[0]):
        raise ConfigError(f"{label}: currency_rates: {path} needs columns currency,rate")
    return {row["currency"].strip(): row["rate"].strip() for row in rows}


def to_minor(text: pd.Series, exponent: int) -> tuple[pd.Series, pd.Series]:
    """Exact minor units of plain decimal *text* ('' -> missing) and a problem per row
    (``too_many_decimals`` or ``bad_number`` when the value is too large; else None)."""
    parts = text.astype(str).str.strip().str.extract(r"^([+-]?)(\d*)(?:\.(\d*))?$")
    sign, whole, frac = parts[0].fillna(""), parts[1].fillna(""), parts[2].fillna("")
    given = parts[1].notna() & ((whole != "") | (frac != ""))
    extra = frac.str.slice(exponent)
    too_fine = given & extra.str.contains(r"[1-9]", regex=True)
    too_big = given & (whole.str.lstrip("0").str.len() > _MAX_DIGITS - exponent)
    frac = frac.str.slice(0, exponent).str.pad(exponent, side="right", fillchar="0")
    digits = (whole.where(whole != "", "0") + frac).where(given & ~too_fine & ~too_big, "0")
    minor = pd.Series(digits.astype(np.int64).to_numpy(), index=text.index)
    minor = minor.where(sign != "-", -minor).astype("Int64").where(given & ~too_fine & ~too_big)
    problem = pd.Series(None, index=text.index, dtype=object)
    problem[too_fine] = "too_many_decimals"
    problem[too_big] = "bad_number"
    return minor, problem


def _convert(minor: pd.Series, rate: Decimal, exp_from: int, exp_to: int) -> pd.Series:
    """*minor* units (exponent *exp_from*) times *rate*, in minor units of *exp_to*,
    rounded half-even, with exact integer arithmetic."""
    num, den = rate.as_integer_ratio()
    num *= 10**exp_to
    den *= 10**exp_from
    out = []
    for value in minor.astype(object):
        if value is pd.NA or value is None:
            out.append(pd.NA)
            continue
        q, r = divmod(int(value) * num, den)
        if 2 * r > den or (2 * r == den and q % 2):
            q += 1
        out.append(q)
    return pd.Series(out, index=minor.index, dtype="Int64")


class CurrencyBook:
    """The currencies of one import: the reporting currency, the rates, and the first
    currency seen (to refuse a second one when there are no rates)."""

    def __init__(self, currency: str | None, rates: dict | None, minor_units: int | None):
        self.currency = currency
        self.rates = {k: Decimal(str(v)) for k, v in (rates or {}).items()}
        self.override = minor_units
        self.first: tuple[str, str, int] | None = None  # currency, file, row
        self.converted = 0

    def apply(
        self, table: str, out: pd.DataFrame, problems: dict[str, pd.Series], text: pd.Series
    ) -> None:
        """Give *out* (one parsed batch of an amount table; *text*: the amount cells as
        read) ``amount_minor`` and ``currency``; record amount and currency problems in
        *problems* (field -> reasons, None when fine); convert with the rates; refuse a
        second currency without rates."""
        for name in ("amount", "currency"):
            problems.setdefault(name, pd.Series(None, index=out.index, dtype=object))
        if "currency" in out:
            code = out["currency"].astype("string")
            if self.currency is not None:
                code = code.fillna(self.currency)
            bad = code.notna() & ~code.str.fullmatch(r"[A-Z]{3}").fillna(False)
            problems["currency"][bad & problems["currency"].isna()] = "bad_currency"
            out["currency"] = code.where(~bad)
        elif self.currency is not None:
            out["currency"] = pd.Series(self.currency, index=out.index, dtype="string")
        if "amount" not in out:
            return
        codes = out.get("currency")
        exps = pd.Series(minor_units_of(self.currency, self.override), index=out.index)
        if codes is not None and self.override is None:
            exps = codes.map(lambda c: minor_units_of(c if isinstance(c, str) else None))
        minor = pd.Series(pd.NA, index=out.index, dtype="Int64")
        for exp in pd.unique(exps):
            rows = exps == exp
            values, why = to_minor(text[rows], int(exp))
            minor[rows] = values
            fresh = why.notna() & problems["amount"][rows].isna()
            problems["amount"].loc[fresh[fresh].index] = why[fresh]
        fine = problems["amount"].isna() & out["amount"].notna()
        out["amount_minor"] = minor.where(fine)
        if codes is None:
            return
        ok = fine & out["currency"].notna() & problems["currency"].isna()
        if self.rates:
            self._convert(out, ok, problems)
        else:
            self._refuse_mixed(table, out, ok)

    def _refuse_mixed(self, table: str, out: pd.DataFrame, ok: pd.Series) -> None:
        codes = out.loc[ok, "currency"]
        if codes.empty:
            return
        if self.first is None:
            i = codes.index[0]
            self.first = (str(codes.iat[0]), out.at[i, "source_file"], out.at[i, "source_row"])
        other = codes != self.first[0]
        if other.any():
            i = other.idxmax()
            raise DataError(
                f"{table}: {out.at[i, 'source_file']}: row {out.at[i, 'source_row']}: "
                f"currency {codes[i]!r} differs from {self.first[0]!r} (row "
                f"{self.first[2]} of {self.first[1]}); mixed currencies need currency_rates: "
                "in the mapping to convert them to one reporting currency"
            )

    def _convert(self, out: pd.DataFrame, ok: pd.Series, problems: dict) -> None:
        target = self.currency
        exp_to = minor_units_of(target, self.override)
        out["source_currency"] = out["currency"]
        out["source_amount_minor"] = out["amount_minor"]
        norate = ok & ~out["currency"].isin([target, *self.rates])
        problems["currency"][norate] = "no_rate"
        for code in pd.unique(out.loc[ok & ~norate, "currency"]):
            rows = ok & (out["currency"] == code)
            if code == target:
                continue
            exp_from = minor_units_of(code, self.override)
            converted = _convert(out.loc[rows, "amount_minor"], self.rates[code], exp_from, exp_to)
            out.loc[rows, "amount_minor"] = converted
            out.loc[rows, "amount"] = converted.astype("float64") / 10**exp_to
            out.loc[rows, "currency"] = target
            self.converted += int(rows.sum())
        out.loc[norate, ["amount_minor"]] = pd.NA
