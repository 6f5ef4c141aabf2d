"""Mapping files: how a CRM export maps onto the workbench's canonical tables.

A mapping (``scenarios/mappings/*.yaml``) names, per canonical table (``leads``, and
optionally ``reps``, ``opportunities``, ``contracts``, ``payments``), the source files (a
glob relative to the export folder), the source column of each canonical field, its date
formats and value map, what a blank cell means, which fields are required and which are
unique keys.  ``channel_defaults`` gives, per channel, the value of a lead attribute the
export leaves empty (DOMAIN.md 1.2).

Every cell is read as text, so ids keep their leading zeros.  **Date-only rule**: a
datetime cell that parses with a format carrying no time of day (``%Y-%m-%d``) is
placed inside ``date_only.window`` (default 09:00-18:00): with ``rule: spread`` (default)
the k-th of the n accepted date-only values of that field and day, in file order, is
placed at ``window start + (k + 0.5) / n x window length``; with ``rule: fixed`` every one
is placed at ``date_only.time``.  The canonical table marks such values in a
``<field>_date_only`` column, and checks that compare dates (won before first contact)
compare days, not the placed times.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from sim.history.mapping_checks import check_mapping
from sim.io.safe_yaml import load_mapping
from sim.io.validation import validate
from sim.world.lead_attributes import LEAD_ATTRIBUTES as ATTRIBUTES

__all__ = [
    "DEFAULT_DATE_FORMATS",
    "KEYS",
    "LEAD_ATTRIBUTES",
    "OUTCOMES",
    "SCHEMA",
    "TABLE_ORDER",
    "DateOnlyRule",
    "FieldSpec",
    "MappingSpec",
    "TableSpec",
    "is_date_only_format",
    "load_mapping_spec",
]

_STRICT = ConfigDict(extra="forbid", frozen=True)

FieldType = Literal["id", "category", "datetime", "number", "flag"]

SCHEMA: dict[str, dict[str, FieldType]] = {
    "leads": {
        "lead_id": "id",
        "arrived": "datetime",
        **{attr.name: attr.kind for attr in ATTRIBUTES},
        "customer_id": "id",
    },
    "reps": {
        "rep_id": "id",
        "region": "category",
        "hire_date": "datetime",
        "manager": "category",
        "team": "category",
    },
    "opportunities": {
        "opportunity_id": "id",
        "lead_id": "id",
        "rep_id": "id",
        "outcome": "category",
        "created": "datetime",
        "closed": "datetime",
        "amount": "number",
        "currency": "category",
        "segment": "category",
        "product": "category",
        "account": "id",
        "channel": "category",
    },
    "contracts": {
        "contract_id": "id",
        "lead_id": "id",
        "rep_id": "id",
        "signed": "datetime",
        "amount": "number",
        "currency": "category",
    },
    "payments": {
        "payment_id": "id",
        "contract_id": "id",
        "amount": "number",
        "currency": "category",
        "invoiced": "datetime",
        "due": "datetime",
        "paid": "datetime",
    },
    "stage_history": {"opportunity_id": "id", "stage": "category", "entered": "datetime"},
}
"""Canonical tables, their fields and each field's type (a lead's attributes are those
of :mod:`sim.world.lead_attributes`; their kinds are field types)."""

KEYS: dict[str, str] = {
    "leads": "lead_id",
    "reps": "rep_id",
    "opportunities": "opportunity_id",
    "contracts": "contract_id",
    "payments": "payment_id",
}
"""The id field of each table (unique when mapped, unless ``unique`` says otherwise);
``stage_history`` has none (a deal enters many stages)."""

TABLE_ORDER = ("reps", "leads", "opportunities", "contracts", "payments", "stage_history")
"""The order tables are imported in: a table's references point at earlier ones."""

LEAD_ATTRIBUTES = tuple(f for f in SCHEMA["leads"] if f not in {"lead_id", "arrived", "channel"})
"""Lead fields besides id, arrival and channel: the attributes, and the customer (the
fields a channel default may set)."""

OUTCOMES = ("won", "lost", "open")
"""Canonical values of ``opportunities.outcome``."""

DEFAULT_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")
"""Formats tried, in order, when a datetime field lists none."""

_TIME_DIRECTIVES = ("%H", "%I", "%M", "%S", "%X", "%T", "%c", "%R")


def is_date_only_format(fmt: str) -> bool:
    """True when *fmt* carries no time of day (the date-only rule then places the value)."""
    return not any(d in fmt for d in _TIME_DIRECTIVES)


Scalar = str | float | bool


class FieldSpec(BaseModel):
    """Where one canonical field comes from and how its text is read.

    Give ``column`` (a source column) or ``value`` (a constant for every row).
    ``values`` maps source values to canonical ones (after trimming blanks); a value not
    in the map is kept (``unmapped: keep``), kept and reported (``warn``) or quarantined
    (``quarantine``).  ``blank`` is the value of an empty cell (None: empty = missing).
    """

    model_config = _STRICT
    column: str | None = None
    value: Scalar | None = None
    formats: list[str] = Field(default_factory=list)
    values: dict[str, Scalar] = Field(default_factory=dict)
    unmapped: Literal["keep", "warn", "quarantine"] = "warn"
    blank: Scalar | None = None
    true_values: list[str] = Field(default_factory=lambda: ["1", "true", "yes", "y", "t"])
    false_values: list[str] = Field(default_factory=lambda: ["0", "false", "no", "n", "f"])

    @model_validator(mode="after")
    def _one_source(self) -> FieldSpec:
        if (self.column is None) == (self.value is None):
            raise ValueError("give exactly one of column or value")
        if self.column is not None and not self.column.strip():
            raise ValueError("column must not be empty")
        return self


class TableSpec(BaseModel):
    """One canonical table: source files, field specs, required and unique fields."""

    model_config = _STRICT
    files: str = Field(min_length=1)
    format: Literal["auto", "csv", "parquet"] = "auto"
    delimiter: str = Field(",", min_length=1, max_length=1)
    encoding: str = "utf-8"
    columns: dict[str, FieldSpec]
    required: list[str] = Field(default_factory=list)
    unique: list[str] | None = None

    @field_validator("columns", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: {"column": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("files")
    @classmethod
    def _relative(cls, value: str) -> str:
        if Path(value).is_absolute() or ".." in Path(value).parts:
            raise ValueError("files must be a glob relative to the export folder")
        return value


class DateOnlyRule(BaseModel):
    """Where a date without a time of day is placed (see the module docstring)."""

    model_config = _STRICT
    rule: Literal["spread", "fixed"] = "spread"
    window: tuple[dt.time, dt.time] = (dt.time(9), dt.time(18))
    time: dt.time = dt.time(12)

    @model_validator(mode="after")
    def _window_ordered(self) -> DateOnlyRule:
        if self.window[1] <= self.window[0]:
            raise ValueError("window end must be after its start")
        return self


class Checks(BaseModel):
    """Cross-table checks: quarantine the row, or keep it and count it."""

    model_config = _STRICT
    closed_before_arrival: Literal["quarantine", "keep"] = "quarantine"
    unknown_reference: Literal["quarantine", "keep"] = "quarantine"
    unknown_rep: Literal["quarantine", "create"] = "quarantine"
    """A deal (or contract) whose rep is not in the mapped reps table: quarantined
    (``unknown_rep``), or kept and the rep created in ``reps.parquet`` with
    ``created_from = "opportunities"`` and a printed note.  Without a reps table every
    rep named by a deal is created, with a note."""


class MappingSpec(BaseModel):
    """A whole mapping file.

    ``tables`` needs ``leads`` or, for a deal-only export, ``opportunities`` with a
    ``created`` date (the import then derives one lead per deal).  ``snapshot`` is the
    export's date (default: its latest date); ``currency`` the currency of every amount
    (or the reporting currency ``currency_rates`` converts to: an inline map of code to
    rate, or a CSV file ``currency,rate`` relative to the mapping file); ``minor_units``
    overrides the currency's decimals (ISO 4217; 2 when unknown).
    """

    model_config = _STRICT
    name: str = "mapping"
    description: str = ""
    country: str | None = None
    """Holiday country of the calibrated scenario's calendar (None: the workbench default)."""
    date_only: DateOnlyRule = DateOnlyRule()
    tables: dict[str, TableSpec]
    channel_defaults: dict[str, dict[str, Scalar]] = Field(default_factory=dict)
    checks: Checks = Checks()
    snapshot: dt.date | None = None
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    currency_rates: dict[str, Decimal] | str | None = None
    minor_units: int | None = Field(None, ge=0, le=6)

    @field_validator("currency_rates", mode="before")
    @classmethod
    def _rates_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):  # YAML reads 7.1 as a float: keep the digits written
            return {k: str(v) if isinstance(v, int | float) else v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _known_fields(self) -> MappingSpec:
        check_mapping(self, SCHEMA, LEAD_ATTRIBUTES, OUTCOMES)
        return self

    @property
    def deal_only(self) -> bool:
        """True when the export has no leads table: leads are derived from the deals."""
        return "leads" not in self.tables

    def key_fields(self, table: str) -> list[str]:
        """Fields whose combination must be unique in *table*."""
        spec = self.tables[table]
        if spec.unique is not None:
            return list(spec.unique)
        key = KEYS.get(table)
        return [key] if key in spec.columns else []


def load_mapping_spec(path: str | Path) -> MappingSpec:
    """Read and validate a mapping YAML file; problems are one ConfigError line each.

    A ``currency_rates`` file name is read here (relative to the mapping file), so the
    spec always holds the rates themselves."""
    data = load_mapping(path)
    rates = data.get("currency_rates") if isinstance(data, dict) else None
    if isinstance(rates, str):
        from sim.history.money import read_rates

        data = {**data, "currency_rates": read_rates(Path(path).parent / rates, str(path))}
    return validate(MappingSpec, data, str(path))
