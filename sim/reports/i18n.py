"""The two report languages: one catalogue of every string a reader sees, in English and
Chinese.

The catalogue is every ``sim/reports/locales/*.yaml`` file, each mapping a key to its
texts, ``key: {en: ..., zh: ...}``.  A key defined in two files, or without both
languages, is an error when the catalogue is loaded.  ``common.yaml`` holds the words of
every report (headings, verdicts, units, traffic lights, the footer), ``kpis.yaml`` the
label and description of every registered KPI (``kpi.<name>.label``,
``kpi.<name>.description``); a notebook's own words are in ``<notebook>.yaml``.

A report's language is the scenario's ``report.lang`` unless ``report --lang`` (the
notebook's ``lang`` parameter) says otherwise: :func:`report_lang`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

from sim.io.safe_yaml import load_mapping

if TYPE_CHECKING:
    from sim.world.scenario import Scenario

__all__ = [
    "LANGS",
    "LOCALES",
    "Lang",
    "catalogue",
    "check_lang",
    "has_key",
    "kpi_description",
    "kpi_label",
    "kpi_unit",
    "load_catalogue",
    "report_currency",
    "report_lang",
    "tr",
    "unit_label",
]

Lang = Literal["en", "zh"]
"""A report language: English or (simplified) Chinese."""

LANGS: tuple[Lang, ...] = get_args(Lang)

LOCALES: dict[Lang, str] = {"en": "en_US", "zh": "zh_CN"}
"""The babel locale that formats numbers, dates and money for each language."""

LOCALE_DIR = Path(__file__).resolve().parent / "locales"


def check_lang(lang: str) -> Lang:
    """*lang* if it is a report language, else ValueError naming it."""
    if lang not in LANGS:
        raise ValueError(f"unknown report language {lang!r} (known: {', '.join(LANGS)})")
    return lang  # type: ignore[return-value]


def load_catalogue(folder: Path = LOCALE_DIR) -> dict[str, dict[Lang, str]]:
    """Every key of every ``*.yaml`` in *folder* -> {lang: text}.

    ValueError when a key is in two files, or lacks a language, or has a language that
    is not a report language, or a text that is not a non-empty string.
    """
    entries: dict[str, dict[Lang, str]] = {}
    where: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")):
        for key, texts in load_mapping(path).items():
            place = f"{path.name}: {key}"
            if key in where:
                raise ValueError(f"{place}: already defined in {where[key]}")
            if not isinstance(texts, Mapping):
                raise ValueError(f"{place}: expected {{en: ..., zh: ...}}")
            if set(texts) != set(LANGS):
                raise ValueError(
                    f"{place}: languages {sorted(texts)}, expected exactly {list(LANGS)}"
                )
            for lang, text in texts.items():
                if not isinstance(text, str) or not text.strip():
                    raise ValueError(f"{place}: {lang} text must be a non-empty string")
            where[key] = path.name
            entries[str(key)] = {lang: texts[lang] for lang in LANGS}
    return entries


@cache
def catalogue() -> dict[str, dict[Lang, str]]:
    """The workbench's catalogue (loaded once)."""
    return load_catalogue()


def has_key(key: str) -> bool:
    """Whether the catalogue defines *key*."""
    return key in catalogue()


def tr(key: str, lang: str, **fields: object) -> str:
    """The text of *key* in *lang*, its ``{field}`` placeholders filled from *fields*.

    KeyError for a key the catalogue lacks, ValueError for an unknown language.
    """
    lang = check_lang(lang)
    try:
        text = catalogue()[key][lang]
    except KeyError:
        raise KeyError(f"no text {key!r} in sim/reports/locales/*.yaml") from None
    return text.format(**fields) if fields else text


def _kpi(name: str):
    from sim.outcomes.catalogue import CATALOGUE

    try:
        return CATALOGUE[name]
    except KeyError:
        raise KeyError(f"unknown KPI {name!r}") from None


def kpi_label(name: str, lang: str) -> str:
    """The short label of KPI *name* (e.g. "First touch, mean" / "平均首次触达时长")."""
    _kpi(name)
    return tr(f"kpi.{name}.label", lang)


def kpi_description(name: str, lang: str) -> str:
    """One sentence saying what KPI *name* measures."""
    _kpi(name)
    return tr(f"kpi.{name}.description", lang)


def unit_label(unit: str, lang: str) -> str:
    """A registered unit (``h``, ``share``, ``leads``, ...) as the reader sees it."""
    return tr(f"unit.{unit}", lang)


def kpi_unit(name: str, lang: str) -> str:
    """The unit of KPI *name* as the reader sees it (a share is "%")."""
    return unit_label(_kpi(name).unit, lang)


def report_lang(lang: str | None, scenario: Scenario | None = None) -> Lang:
    """The language of a report: *lang* when given (``report --lang``), else the
    scenario's ``report.lang``, else English."""
    if lang is not None:
        return check_lang(lang)
    return scenario.report.lang if scenario is not None else "en"


def report_currency(scenario: Scenario | None = None) -> str:
    """The currency a report shows money in: the scenario's ``report.currency`` (CNY)."""
    return scenario.report.currency if scenario is not None else "CNY"
