"""What a policy search searches: levers, objectives, constraints, uncertainties.

``python -m sim optimize`` options parse into a :class:`SearchSpec`::

    --lever sla.reclaim_hours=1:8            float range (int when both bounds are ints)
    --lever routing.name=round_robin,least_loaded            a choice
    --objective max:qualification_rate       any registered KPI, with its sense
    --constraint "dropped_share<=0.01"       also >=, <, >  (judged on the mean)
    --uncertainty arrivals.leads_per_month=2400:4800         a range over the futures
    --discover "first_touch_hours_p90>8"     failure threshold for PRIM

Lever and uncertainty paths are the dotted paths of ``--set`` and sweep ``--grid`` /
``--range``, routed by :func:`sim.world.override_paths.route_path`; values are parsed
like sweep's (:func:`sim.experiments.sweep_spec.parse_grid` / ``parse_range``).
Every error is one :class:`~sim.errors.ConfigError` line naming the option.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

from sim.errors import ConfigError
from sim.experiments.sweep_spec import parse_grid, parse_range
from sim.outcomes.kpis import all_kpis
from sim.world.override_paths import route_path

__all__ = [
    "Condition",
    "Objective",
    "SearchLever",
    "SearchSpec",
    "parse_condition",
    "parse_lever",
    "parse_objective",
]

OPERATORS = ("<=", ">=", "<", ">")
PRIMITIVE = (str, int, float, bool)


@dataclass(frozen=True)
class SearchLever:
    """A searched (or uncertain) path: ``float``/``int`` between bounds, or a ``choice``.

    ``column`` is the routed path (``policy.``-prefixed for a policy field), ``target``
    the file it sets and ``parts`` the path inside that file.
    """

    path: str
    kind: Literal["float", "int", "choice"]
    low: float | int | None = None
    high: float | int | None = None
    choices: tuple[Any, ...] | None = None
    flag: str = "--lever"

    @property
    def routed(self):
        """The :class:`~sim.world.override_paths.OverridePath` of :attr:`path`."""
        return route_path(self.path, self.flag)

    @property
    def column(self) -> str:
        """The path as a table column (``policy.``-prefixed for the policy)."""
        return self.routed.column

    def describe(self) -> dict[str, Any]:
        """The JSON form written to ``search.json``."""
        return {
            "path": self.path,
            "kind": self.kind,
            "low": self.low,
            "high": self.high,
            "choices": list(self.choices) if self.choices is not None else None,
        }


@dataclass(frozen=True)
class Objective:
    """A KPI to ``min``imise or ``max``imise (the sense is the user's, not the KPI's)."""

    kpi: str
    sense: Literal["min", "max"]

    def good(self, value: float) -> float:
        """*value* turned so that larger is better."""
        return value if self.sense == "max" else -value


@dataclass(frozen=True)
class Condition:
    """``KPI op value``: a constraint (met when true) or a discovery failure threshold."""

    kpi: str
    op: Literal["<=", ">=", "<", ">"]
    value: float

    def holds(self, x: float) -> bool:
        """Whether *x* satisfies the condition (NaN never does)."""
        if not math.isfinite(x):
            return False
        return {
            "<=": x <= self.value,
            ">=": x >= self.value,
            "<": x < self.value,
            ">": x > self.value,
        }[self.op]

    def violation(self, x: float) -> float:
        """Optuna's constraint value: <= 0 when met (the margin), > 0 by how much not."""
        if not math.isfinite(x):
            return math.inf
        gap = x - self.value if self.op in ("<=", "<") else self.value - x
        return gap if (gap < 0 or self.holds(x)) else max(gap, 1e-12)


def _known_kpi(name: str, flag: str, item: str) -> str:
    if name not in all_kpis():
        raise ConfigError(f"{flag} {item!r}: unknown KPI {name!r} (known: {', '.join(all_kpis())})")
    return name


def parse_lever(item: str, flag: str = "--lever") -> SearchLever:
    """``path=low:high`` (float, int when both ints) or ``path=a,b,c`` (choice)."""
    raw = item.partition("=")[2]
    if ":" in raw and "," not in raw:
        try:
            path, (low, high) = parse_range(item)
        except ConfigError:
            raise ConfigError(f"{flag} {item!r}: expected dotted.path=low:high") from None
        if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
            raise ConfigError(f"{flag} {item!r}: need finite low < high")
        kind = "int" if isinstance(low, int) and isinstance(high, int) else "float"
        lever = SearchLever(path, kind, low, high, None, flag)
    else:
        try:
            path, values = parse_grid(item)
        except ConfigError:
            raise ConfigError(
                f"{flag} {item!r}: expected dotted.path=low:high or dotted.path=a,b,c"
            ) from None
        if flag != "--lever" or len(values) < 2:
            raise ConfigError(
                f"{flag} {item!r}: expected dotted.path=low:high"
                + ("" if flag != "--lever" else " or at least two choices a,b")
            )
        if not all(isinstance(v, PRIMITIVE) for v in values):
            raise ConfigError(f"{flag} {item!r}: choices must be plain values (text or numbers)")
        if len({json.dumps(v) for v in values}) < len(values):
            raise ConfigError(f"{flag} {item!r}: a choice is listed twice")
        lever = SearchLever(path, "choice", None, None, tuple(values), flag)
    lever.routed  # an unknown or ambiguous field: one line now  # noqa: B018
    return lever


def parse_objective(item: str) -> Objective:
    """``max:KPI`` or ``min:KPI``."""
    sense, sep, name = item.partition(":")
    if not sep or sense.strip() not in ("min", "max") or not name.strip():
        raise ConfigError(f"--objective {item!r}: expected max:KPI or min:KPI")
    return Objective(_known_kpi(name.strip(), "--objective", item), sense.strip())  # type: ignore[arg-type]


def parse_condition(item: str, flag: str = "--constraint") -> Condition:
    """``KPI<=V`` (also ``>=``, ``<``, ``>``)."""
    match = re.fullmatch(r"\s*([A-Za-z0-9_]+)\s*(<=|>=|<|>)\s*(\S+)\s*", item)
    if match is None:
        raise ConfigError(f"{flag} {item!r}: expected KPI<=VALUE (or >=, <, >)")
    name, op, raw = match.groups()
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{flag} {item!r}: {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise ConfigError(f"{flag} {item!r}: the value must be finite")
    return Condition(_known_kpi(name, flag, item), op, value)  # type: ignore[arg-type]


@dataclass(frozen=True)
class SearchSpec:
    """Everything that defines a search (what ``search.json`` describes)."""

    scenario: str
    policy: str | None
    levers: tuple[SearchLever, ...]
    objectives: tuple[Objective, ...]
    constraints: tuple[Condition, ...] = ()
    uncertainties: tuple[SearchLever, ...] = ()
    overrides: tuple[str, ...] = ()
    budget: int = 50
    replications: int = 10
    seed: int = 0
    futures: int = 0
    population: int = 20
    discover: Condition | None = None
    sobol: int | None = None
    max_robust: int = 10

    def __post_init__(self) -> None:
        if not self.levers:
            raise ConfigError("optimize: give at least one --lever")
        if not self.objectives:
            raise ConfigError("optimize: give at least one --objective")
        seen: set[str] = set()
        for lever in (*self.levers, *self.uncertainties):
            if lever.column in seen:
                raise ConfigError(
                    f"{lever.flag} {lever.path}: the path {lever.column} is given twice"
                )
            seen.add(lever.column)
        kpis = [o.kpi for o in self.objectives]
        if len(set(kpis)) < len(kpis):
            raise ConfigError("--objective: a KPI is given twice")
        if self.futures and not self.uncertainties:
            raise ConfigError("--futures needs at least one --uncertainty")
        if self.uncertainties and self.futures < 2:
            raise ConfigError("--uncertainty needs --futures of at least 2")
        if self.sobol is not None and (self.sobol < 2 or self.sobol & (self.sobol - 1)):
            raise ConfigError(f"--sobol {self.sobol}: the base sample must be a power of two >= 2")
        if self.population < 2:
            raise ConfigError(f"--population {self.population}: NSGA-II needs at least 2")
        if self.discover is not None and not self.uncertainties:
            raise ConfigError("--discover needs --uncertainty (PRIM describes futures)")

    @classmethod
    def from_options(
        cls,
        scenario: str,
        policy: str | None,
        levers: list[str],
        objectives: list[str],
        constraints: list[str] = (),  # type: ignore[assignment]
        uncertainties: list[str] = (),  # type: ignore[assignment]
        discover: str | None = None,
        futures: int | None = None,
        **fields: Any,
    ) -> SearchSpec:
        """A spec from command-line strings; ConfigError (one line) on any bad item."""
        unc = tuple(parse_lever(u, "--uncertainty") for u in uncertainties)
        if futures is None:
            futures = 50 if unc else 0
        return cls(
            scenario=scenario,
            policy=policy,
            levers=tuple(parse_lever(item) for item in levers),
            objectives=tuple(parse_objective(item) for item in objectives),
            constraints=tuple(parse_condition(item) for item in constraints),
            uncertainties=unc,
            discover=parse_condition(discover, "--discover") if discover else None,
            futures=futures,
            **fields,
        )

    def describe(self) -> dict[str, Any]:
        """The search's JSON description (``search.json`` without results)."""
        return {
            "scenario": self.scenario,
            "policy": self.policy,
            "set": list(self.overrides),
            "levers": [lever.describe() for lever in self.levers],
            "objectives": [asdict(o) for o in self.objectives],
            "constraints": [asdict(c) for c in self.constraints],
            "uncertainties": [
                {k: v for k, v in u.describe().items() if k != "choices"}
                for u in self.uncertainties
            ],
            "budget": self.budget,
            "replications": self.replications,
            "seed": self.seed,
            "futures": self.futures,
            "population": self.population,
            "discover": asdict(self.discover) if self.discover else None,
            "sobol": self.sobol,
        }

    def design_hash(self, base_key: str) -> str:
        """Hash (sha256, 20 hex) of what the search computes: its description without file
        names, and *base_key*, the key of the validated base configuration."""
        payload = {k: v for k, v in self.describe().items() if k not in ("scenario", "policy")}
        payload["base"] = base_key
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]
