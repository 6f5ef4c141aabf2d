"""Intake: the channel -> attribute mapping and the required-field switch (DOMAIN.md 1.2).

Each source channel may map default values for lead attributes that arrive missing
(source example: channel ``douyin`` -> Timeline 30 days).  A field listed in
``required_fields`` that is still missing after the defaults drops the lead.  The
source's failure was exactly this pair with a channel nobody had mapped: every lead of
that channel was filtered out in silence.  Here the decision is pure and explicit
(:meth:`Intake.admit` returns an :class:`IntakeOutcome` saying what it did and why);
the engine counts every outcome and warns about unmapped channels.

Intake runs *before* scoring, so a defaulted value earns its points.  Nothing here
imports SimPy or the simulation: a lead is any object with the attributes named in
:data:`INTAKE_FIELDS` (``None`` meaning missing) and a ``channel``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["INTAKE_FIELDS", "ChannelDefaults", "Intake", "IntakeOutcome", "IntakeParams"]

_STRICT = ConfigDict(extra="forbid", frozen=True)


class ChannelDefaults(BaseModel):
    """Default values for one channel's leads whose attribute is missing.

    One optional field per lead attribute that can be missing; ``None`` means "no
    default".  To make another attribute defaultable, add a field here (with its
    validation) and teach the lead generator to leave it missing
    (``sim.engine.lead_factory.MISSABLE_FIELDS``); :data:`INTAKE_FIELDS` follows this model.
    """

    model_config = _STRICT
    timeline_days: float | None = Field(None, ge=0)
    """Days until the buying decision (scored as within the window or not)."""


INTAKE_FIELDS: tuple[str, ...] = tuple(ChannelDefaults.model_fields)
"""Lead attributes intake can default or require, in a fixed order: a dropped lead's
event value is the index of its missing field in this tuple."""


class IntakeParams(BaseModel):
    """The ``intake:`` block of a policy.

    Defaults reproduce the behaviour without intake: nothing is required, nothing is
    defaulted, no lead is dropped.
    """

    model_config = _STRICT
    channel_defaults: dict[str, ChannelDefaults] = Field(default_factory=dict)
    """Channel -> defaults for missing attributes, e.g. ``{douyin: {timeline_days: 30}}``."""
    required_fields: list[str] = Field(default_factory=list)
    """Fields a lead must have after defaults, else it is dropped (reason ``missing:<field>``)."""
    strict_channels: bool = False
    """The required-field switch: refuse to run when a channel of the scenario can bring
    a lead without a required field and ``channel_defaults`` has no default for it."""

    @field_validator("required_fields")
    @classmethod
    def _known_fields(cls, names: list[str]) -> list[str]:
        for name in names:
            if name not in INTAKE_FIELDS:
                known = ", ".join(INTAKE_FIELDS)
                raise ValueError(f"unknown field {name!r} (fields that can be missing: {known})")
        if len(set(names)) != len(names):
            raise ValueError("a field is listed twice")
        return names

    @property
    def active(self) -> bool:
        """True when intake can change a lead (some default or some required field)."""
        return bool(self.required_fields) or any(
            value is not None
            for defaults in self.channel_defaults.values()
            for value in defaults.model_dump().values()
        )

    def default_for(self, channel: str, name: str) -> Any:
        """The default of field *name* for *channel*, or None when there is none."""
        defaults = self.channel_defaults.get(channel)
        return None if defaults is None else getattr(defaults, name)


@dataclass(frozen=True, slots=True)
class IntakeOutcome:
    """What intake did with one lead.

    A lead is either dropped (``dropped_reason`` set, nothing filled) or admitted,
    possibly with some fields filled from its channel's defaults.
    """

    filled: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """Field -> default value to set on the lead (admitted leads only)."""
    dropped_reason: str | None = None
    """``missing:<field>`` for the first required field (in ``required_fields`` order)
    that is still missing; None when admitted."""

    @property
    def admitted(self) -> bool:
        """True unless the lead is dropped."""
        return self.dropped_reason is None

    @property
    def defaulted(self) -> tuple[str, ...]:
        """Names of the defaulted fields, in :data:`INTAKE_FIELDS` order."""
        return tuple(self.filled)

    @property
    def reason_code(self) -> int:
        """Index in :data:`INTAKE_FIELDS` of the field that dropped the lead (-1: admitted)."""
        if self.dropped_reason is None:
            return -1
        return INTAKE_FIELDS.index(self.dropped_reason.removeprefix("missing:"))


_ADMITTED = IntakeOutcome()


class Intake:
    """Applies an :class:`IntakeParams` to leads, one at a time; no state between leads."""

    def __init__(self, params: IntakeParams) -> None:
        self.params = params
        # channel -> {field: value} for the defaults that are set (None means unset).
        self._defaults: dict[str, dict[str, Any]] = {
            channel: {k: v for k, v in defaults.model_dump().items() if v is not None}
            for channel, defaults in params.channel_defaults.items()
        }
        self._required = tuple(params.required_fields)

    def admit(self, lead: Any) -> IntakeOutcome:
        """Decide on *lead* without changing it: the defaults to fill, or why it is dropped.

        Order of the rules: a missing field is filled when the lead's channel has a
        default for it; then a required field that is still missing drops the lead.
        """
        defaults = self._defaults.get(lead.channel)
        filled = {}
        if defaults:
            for name in INTAKE_FIELDS:
                if name in defaults and getattr(lead, name) is None:
                    filled[name] = defaults[name]
        for name in self._required:
            if name not in filled and getattr(lead, name) is None:
                return IntakeOutcome(dropped_reason=f"missing:{name}")
        return IntakeOutcome(MappingProxyType(filled)) if filled else _ADMITTED
