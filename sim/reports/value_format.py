"""Single values written for people, in English or Chinese (babel: ``en_US``, ``zh_CN``).

Counts are integers with thousands separators, shares are percentages, durations pick
minutes, hours or days, money is exact to the cent with its currency, intervals read
"5.5 h (4.9–6.1)".  Nothing here ever prints ``nan``, ``None``, ``True``, ``-0.0`` or a
repr: a missing value is :data:`MISSING` ("–"), a flag is yes / no.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import numpy as np
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal

from sim.reports.i18n import LOCALES, check_lang, tr, unit_label

__all__ = [
    "COUNT_UNITS",
    "MISSING",
    "fmt_change",
    "fmt_date",
    "fmt_datetime",
    "fmt_days",
    "fmt_hours",
    "fmt_interval",
    "fmt_kpi",
    "fmt_money",
    "fmt_number",
    "fmt_p",
    "fmt_percent",
    "fmt_relative",
    "fmt_value",
    "fmt_yes_no",
    "is_missing",
]

MISSING = "–"
"""What a missing value (None, NaN, NaT, pd.NA) reads as."""

COUNT_UNITS = frozenset({"leads", "events", "deals", "customers", "visits", "reps"})
"""KPI units that count things: shown as integers (a mean below 10 keeps one decimal)."""

HOURS_UNITS = frozenset({"h", "hours"})
DAYS_UNITS = frozenset({"d", "days"})
SHARE_UNITS = frozenset({"share", "percent", "%"})
BARE_UNITS = frozenset({"index", ""})  # shown without a unit: the label says it
MAX_HOURS = 72.0  # above this, durations read in days
CENT = Decimal("0.01")


def is_missing(value: Any) -> bool:
    """None, NaN, NaT, pd.NA or an infinite number."""
    if value is None:
        return True
    if isinstance(value, Decimal):
        return not value.is_finite()
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return not math.isfinite(float(value))
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):  # arrays, odd objects: not a missing scalar
        return False


def _locale(lang: str) -> str:
    return LOCALES[check_lang(lang)]


def _auto_decimals(x: float) -> int:
    """Decimals that show a value sensibly: none for whole numbers and >= 100, one for
    >= 10, two below (more for tiny values, up to 4)."""
    magnitude = abs(x)
    if x == int(x) or magnitude >= 100:
        return 0
    if magnitude >= 10:
        return 1
    if magnitude >= 0.01:
        return 2
    return 4


def _plain(x: float, lang: str, decimals: int, sign: bool = False) -> str:
    """*x* rounded to *decimals* with the locale's separators; never "-0"."""
    if isinstance(x, numbers.Integral) and decimals == 0:
        rounded: float | int = int(x)  # exact, however large
    else:
        rounded = round(float(x), decimals)
    if rounded == 0:
        rounded = 0  # never "-0.0"
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    text = format_decimal(rounded, format=pattern, locale=_locale(lang))
    return f"+{text}" if sign and rounded > 0 else text


def fmt_number(x: Any, lang: str, decimals: int | None = None) -> str:
    """A number with thousands separators: integers without decimals, else *decimals*
    (default: sensible for its size, see :func:`_auto_decimals`)."""
    if is_missing(x):
        return MISSING
    if isinstance(x, bool):
        return fmt_yes_no(x, lang)
    x = float(x)
    if decimals is None:
        decimals = _auto_decimals(x)
        if decimals == 4 and x != 0 and abs(x) < 0.0001:
            return ("< " if x > 0 else "> -") + _plain(0.0001, lang, 4)
    return _plain(x, lang, decimals)


def _count(x: Any, lang: str) -> str:
    """A count (or a mean count): an integer, one decimal for means below 10."""
    if isinstance(x, numbers.Integral):
        return _plain(x, lang, 0)
    x = float(x)
    return _plain(x, lang, 0 if x == int(x) or abs(x) >= 10 else 1)


def fmt_percent(share: Any, lang: str, decimals: int = 1, *, sign: bool = False) -> str:
    """A share (0.123) as a percentage ("12.3%"); *sign*: "+" in front of a rise."""
    if is_missing(share):
        return MISSING
    return _plain(float(share) * 100, lang, decimals, sign) + "%"


def _duration_scale(hours: float) -> tuple[float, str]:
    """(factor from hours, unit key) for a duration of about *hours*."""
    if hours == 0:
        return 1.0, "unit.h"
    if abs(hours) < 1:
        return 60.0, "unit.min"
    if abs(hours) > MAX_HOURS:
        return 1 / 24, "unit.d"
    return 1.0, "unit.h"


def _with_unit(number: str, unit: str, lang: str) -> str:
    """ "5.5 h" / "5.5 小时"; a percent sign sticks to its number."""
    return f"{number}{unit}" if unit == "%" else f"{number} {unit}"


def fmt_hours(h: Any, lang: str) -> str:
    """A duration given in hours: minutes below 1 h, days above 72 h; a positive
    duration never reads as zero ("< 1 min")."""
    if is_missing(h):
        return MISSING
    h = float(h)
    if h == 0:
        return _with_unit("0", tr("unit.h", lang), lang)
    factor, unit = _duration_scale(h)
    if unit == "unit.min" and round(abs(h) * 60) >= 60:  # 59.7 min reads "1.0 h"
        factor, unit = 1.0, "unit.h"
    if unit == "unit.min" and round(abs(h) * 60) == 0:
        return tr("unit.less_than_one_min", lang)
    decimals = 0 if unit == "unit.min" else 1
    return _with_unit(_plain(h * factor, lang, decimals), tr(unit, lang), lang)


def fmt_days(d: Any, lang: str) -> str:
    """A duration given in days ("4.2 days" / "4.2 天"); below a day, in hours."""
    if is_missing(d):
        return MISSING
    d = float(d)
    if 0 < abs(d) < 1:
        return fmt_hours(d * 24, lang)
    decimals = 0 if d == int(d) or abs(d) >= 100 else 1
    word = "unit.one_day" if d == 1 and lang == "en" else "unit.d"
    return _with_unit(_plain(d, lang, decimals), tr(word, lang), lang)


def _as_decimal(amount: Any) -> Decimal:
    if isinstance(amount, Decimal):
        return amount
    if isinstance(amount, float):
        return Decimal(repr(float(amount)))  # np.float64 reprs as "np.float64(...)"
    try:
        return Decimal(str(amount))
    except InvalidOperation:
        raise ValueError(f"not an amount of money: {amount!r}") from None


def fmt_money(amount: Any, currency: str, lang: str) -> str:
    """Money to the cent (half up, as the ledger rounds) with the locale's currency
    sign: "CN¥93,792.00" / "¥93,792.00".  A Decimal is shown exactly."""
    if is_missing(amount):
        return MISSING
    value = _as_decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)
    if value == 0:
        value = abs(value)  # never "-0.00"
    return format_currency(value, currency, locale=_locale(lang), decimal_quantization=False)


def fmt_relative(r: Any, lang: str = "en") -> str:
    """A relative change (0.21 -> "+21.0%"); never below -100% (a fall to zero)."""
    if is_missing(r):
        return MISSING
    return fmt_percent(max(float(r), -1.0), lang, 1, sign=True)


def _unit_numbers(
    values: list[float], unit: str, lang: str, sign: bool = False
) -> tuple[list[str], str]:
    """*values* written on one common scale for *unit*, and that scale's unit text
    (none for counts and indices: the label names what is counted)."""
    if unit in HOURS_UNITS:
        factor, key = _duration_scale(max(abs(v) for v in values))
        decimals = 0 if key == "unit.min" or not any(values) else 1
        return [_plain(v * factor, lang, decimals, sign) for v in values], tr(key, lang)
    if unit in DAYS_UNITS:
        return [_plain(v, lang, 1, sign) for v in values], tr("unit.d", lang)
    if unit in SHARE_UNITS:
        return [_plain(v * 100, lang, 1, sign) for v in values], "%"
    if unit in COUNT_UNITS:
        decimals = 0 if all(v == int(v) or abs(v) >= 10 for v in values) else 1
        return [_plain(v, lang, decimals, sign) for v in values], ""
    text = [_plain(v, lang, 2, sign) for v in values]
    return text, "" if unit in BARE_UNITS else unit_label(unit, lang)


def fmt_interval(mean: Any, lo: Any, hi: Any, unit: str, lang: str) -> str:
    """ "5.5 h (4.9–6.1)": the mean with its unit, then the interval on the same scale."""
    if is_missing(mean):
        return MISSING
    given = [float(v) for v in (mean, lo, hi) if not is_missing(v)]
    numbers_, unit_text = _unit_numbers(given, unit, lang)
    head = _with_unit(numbers_[0], unit_text, lang) if unit_text else numbers_[0]
    if len(given) < 3:
        return head
    return f"{head} ({numbers_[1]}–{numbers_[2]})"


def fmt_change(before: Any, after: Any, unit: str, lang: str) -> str:
    """The change from *before* to *after*: "-6.1 h (-52.6%)"; a share's change is in
    percentage points ("+3.2 pp" / "+3.2 个百分点")."""
    if is_missing(before) or is_missing(after):
        return MISSING
    before, after = float(before), float(after)
    diff = after - before
    if unit in SHARE_UNITS:
        head = _with_unit(_plain(diff * 100, lang, 1, sign=True), tr("unit.pp", lang), lang)
    else:
        text, unit_text = _unit_numbers([diff], unit, lang, sign=True)
        head = _with_unit(text[0], unit_text, lang) if unit_text else text[0]
    if before == 0:
        return head
    return f"{head} ({fmt_relative(diff / abs(before), lang)})"


def fmt_p(p: Any, lang: str = "en") -> str:
    """A p-value: "p < 0.0001", "p = 0.0003", "p = 0.032"."""
    if is_missing(p):
        return MISSING
    p = min(max(float(p), 0.0), 1.0)
    if p < 0.0001:
        return "p < 0.0001"
    return f"p = {_plain(p, lang, 4 if p < 0.001 else 3)}"


def fmt_kpi(name: str, value: Any, lang: str) -> str:
    """*value* of KPI *name* in its unit: a share as a percentage, hours as a duration,
    counts as integers, money-like and per-item values with two decimals."""
    from sim.outcomes.catalogue import CATALOGUE

    if is_missing(value):
        return MISSING
    unit = CATALOGUE[name].unit
    if unit in SHARE_UNITS:
        return fmt_percent(value, lang)
    if unit in HOURS_UNITS:
        return fmt_hours(value, lang)
    if unit in DAYS_UNITS:
        return fmt_days(value, lang)
    if unit in COUNT_UNITS:
        return _count(value, lang)
    if unit in BARE_UNITS:
        return _plain(float(value), lang, 2)
    return _with_unit(_plain(float(value), lang, 2), unit_label(unit, lang), lang)


def fmt_yes_no(flag: Any, lang: str) -> str:
    """A flag as yes / no (是 / 否)."""
    if is_missing(flag):
        return MISSING
    return tr("word.yes" if flag else "word.no", lang)


def fmt_date(d: Any, lang: str) -> str:
    """A date: "Feb 5, 2026" / "2026年2月5日" (a datetime shows its date)."""
    if is_missing(d):
        return MISSING
    if isinstance(d, str):
        d = dt.date.fromisoformat(d[:10])
    if isinstance(d, dt.datetime):
        d = d.date()
    return format_date(d, format="medium", locale=_locale(lang))


def fmt_datetime(t: Any, lang: str) -> str:
    """A date and time to the minute: "Feb 5, 2026, 9:30 AM" / "2026年2月5日 09:30"."""
    if is_missing(t):
        return MISSING
    pattern = "MMM d, y, h:mm a" if lang == "en" else "y年M月d日 HH:mm"
    return format_datetime(t, pattern, locale=_locale(lang))


def fmt_value(value: Any, lang: str) -> str:
    """Any cell for a person: flags as yes / no, numbers by :func:`fmt_number`, dates
    by :func:`fmt_date`, text as it is, missing as "–"."""
    if is_missing(value):
        return MISSING
    if isinstance(value, bool | np.bool_):
        return fmt_yes_no(bool(value), lang)
    if isinstance(value, numbers.Integral):
        return _plain(value, lang, 0)
    if isinstance(value, numbers.Real | Decimal):
        return fmt_number(value, lang)
    if isinstance(value, dt.datetime) and (value.hour, value.minute, value.second) != (0, 0, 0):
        return fmt_datetime(value, lang)
    if isinstance(value, dt.date):
        return fmt_date(value, lang)
    return str(value)
