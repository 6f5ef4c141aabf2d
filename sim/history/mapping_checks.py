"""Static checks of a mapping file: everything that can be wrong without reading the export.

:func:`check_mapping` runs when a mapping is loaded (``python -m sim validate MAP.yaml``
and ``import``), so a mapping that cannot work fails before any row is read, in one
line naming the table and field: unknown tables and fields, required or unique fields
that are not mapped, a leads table without ``lead_id``/``arrived`` (or a deal-only export
without ``opportunities.created``), a date format that is no format or carries no date,
``formats`` on a field that is no date, a constant ``value``, ``blank`` or ``values``
target that its field's type cannot hold (an outcome other than won / lost / open, a
flag or number that does not parse), a currency code that is no ISO code, rates without
a reporting currency, and channel defaults for unknown attributes.

It takes the schema as arguments and imports nothing from :mod:`sim.history.mapping`
(which calls it), so there is no import cycle.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

__all__ = ["check_mapping"]

_SAMPLE = dt.datetime(2001, 2, 3, 4, 5, 6)
_DATE_DIRECTIVES = ("%Y", "%y", "%d", "%j", "%x", "%c", "%F", "%G", "%D")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_CURRENCY = re.compile(r"[A-Z]{3}")


def _format_problem(fmt: str) -> str | None:
    """Why *fmt* cannot read a date (None when it can)."""
    if not any(d in fmt for d in _DATE_DIRECTIVES):
        return f"format {fmt!r} has no day or year directive (e.g. %Y-%m-%d)"
    try:
        dt.datetime.strptime(_SAMPLE.strftime(fmt), fmt)
    except ValueError as exc:
        return f"format {fmt!r} is not a date format ({exc})"
    return None


def _value_problem(value: Any, kind: str, name: str, fspec: Any, outcomes: tuple) -> str | None:
    """Why the canonical *value* cannot be a value of the field (None when it can)."""
    text = str(value).strip()
    if name == "outcome" and text not in outcomes:
        return f"{text!r} is not an outcome ({', '.join(outcomes)})"
    if name == "currency" and not _CURRENCY.fullmatch(text):
        return f"{text!r} is not a currency code (three capital letters, e.g. USD)"
    if kind == "number" and not (_PLAIN_NUMBER.fullmatch(text) and not text.startswith("-")):
        return f"{text!r} is not a plain non-negative number"
    if kind == "flag":
        known = {v.lower() for v in (*fspec.true_values, *fspec.false_values)}
        if text.lower() not in known:
            return f"{text!r} is not a flag value ({', '.join(sorted(known))})"
    if kind == "datetime":
        for fmt in fspec.formats or ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
            try:
                dt.datetime.strptime(text, fmt)
                return None
            except ValueError:
                continue
        return f"{text!r} does not match the field's date formats"
    return None


def _check_field(where: str, name: str, kind: str, fspec: Any, outcomes: tuple) -> None:
    if fspec.formats and kind != "datetime":
        raise ValueError(f"{where}: formats given for a field that is no date ({kind})")
    for fmt in fspec.formats:
        if why := _format_problem(fmt):
            raise ValueError(f"{where}.formats: {why}")
    if kind == "datetime" and fspec.values:
        return  # a value map of date text is read by the formats afterwards
    if fspec.value is not None:
        canonical = fspec.values.get(str(fspec.value), fspec.value)
        if why := _value_problem(canonical, kind, name, fspec, outcomes):
            raise ValueError(f"{where}.value: {why}")
    if fspec.blank is not None:
        canonical = fspec.values.get(str(fspec.blank), fspec.blank)
        if why := _value_problem(canonical, kind, name, fspec, outcomes):
            raise ValueError(f"{where}.blank: {why}")
    for source, target in fspec.values.items():
        if why := _value_problem(target, kind, name, fspec, outcomes):
            raise ValueError(f"{where}.values[{source!r}]: {why}")


def _check_tables(spec: Any, schema: dict, outcomes: tuple) -> None:
    for table, tspec in spec.tables.items():
        if table not in schema:
            raise ValueError(f"unknown table {table!r} (known: {', '.join(schema)})")
        fields = schema[table]
        for name in (*tspec.columns, *tspec.required, *(tspec.unique or [])):
            if name not in fields:
                raise ValueError(
                    f"tables.{table}: unknown field {name!r} (known: {', '.join(fields)})"
                )
        for name in (*tspec.required, *(tspec.unique or [])):
            if name not in tspec.columns:
                raise ValueError(f"tables.{table}: field {name!r} is listed but not mapped")
        for name, fspec in tspec.columns.items():
            _check_field(f"tables.{table}.columns.{name}", name, fields[name], fspec, outcomes)


def _check_shape(spec: Any) -> None:
    """Leads or a deal-only export, and what each needs."""
    if "leads" in spec.tables:
        for name in ("lead_id", "arrived"):
            if name not in spec.tables["leads"].columns:
                raise ValueError(f"tables.leads: field {name!r} must be mapped")
        return
    deals = spec.tables.get("opportunities")
    if deals is None:
        raise ValueError("tables must include leads, or opportunities (a deal-only export)")
    for name in ("opportunity_id", "created"):
        if name not in deals.columns:
            raise ValueError(
                f"tables.opportunities: field {name!r} must be mapped when there is no "
                "leads table (a deal-only export derives one lead per deal from it)"
            )
    if "lead_id" in deals.columns:
        raise ValueError(
            "tables.opportunities.columns.lead_id: there is no leads table; leave it out "
            "(a deal-only export derives one lead per deal, lead_id = opportunity_id)"
        )


def check_mapping(spec: Any, schema: dict, lead_attributes: tuple, outcomes: tuple) -> None:
    """Raise ValueError (one line, naming the table and field) for a mapping that cannot
    work: see the module docstring."""
    _check_shape(spec)
    _check_tables(spec, schema, outcomes)
    for channel, defaults in spec.channel_defaults.items():
        for name in defaults:
            if name not in lead_attributes:
                raise ValueError(
                    f"channel_defaults.{channel}: unknown attribute {name!r} "
                    f"(known: {', '.join(lead_attributes)})"
                )
    if spec.currency_rates is not None:
        if spec.currency is None:
            raise ValueError(
                "currency_rates: give currency: (the reporting currency the rates convert to)"
            )
        for code, rate in spec.currency_rates.items():
            if not _CURRENCY.fullmatch(str(code)):
                raise ValueError(f"currency_rates: {code!r} is not a currency code (e.g. EUR)")
            if not rate.is_finite() or rate <= 0:
                raise ValueError(f"currency_rates.{code}: rate must be a positive number")
