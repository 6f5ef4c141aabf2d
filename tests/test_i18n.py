"""The two report languages: the catalogue, KPI words, the scenario's report settings and
the report language on the command line and in batch files."""

from __future__ import annotations

import re

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_notebook

from conftest import tiny_scenario_dict
from sim.cli.main import main
from sim.errors import ConfigError
from sim.outcomes.catalogue import CATALOGUE
from sim.reports import rendering
from sim.reports.batch import BatchSpec, check_variants, variants
from sim.reports.i18n import (
    LANGS,
    catalogue,
    kpi_description,
    kpi_label,
    kpi_unit,
    load_catalogue,
    report_currency,
    report_lang,
    tr,
)
from sim.world.loading import load_scenario
from sim.world.scenario import Scenario

CJK = re.compile(r"[\u4e00-\u9fff]")


# -- the catalogue -----------------------------------------------------------------
def test_every_registered_kpi_has_label_unit_and_description_in_both_languages():
    assert len(CATALOGUE) > 40  # lead flow, fairness and process families
    for name in CATALOGUE:
        for lang in LANGS:
            for text in (kpi_label(name, lang), kpi_description(name, lang), kpi_unit(name, lang)):
                assert text.strip(), (name, lang)
        assert CJK.search(kpi_label(name, "zh")), name
        assert CJK.search(kpi_description(name, "zh")), name
        assert not CJK.search(kpi_label(name, "en") + kpi_description(name, "en")), name
        assert kpi_label(name, "en") != kpi_label(name, "zh")


def test_catalogue_has_no_stray_kpi_keys():
    """Every kpi.* key belongs to a registered KPI (a renamed KPI leaves none behind)."""
    named = {key.split(".")[1] for key in catalogue() if key.startswith("kpi.")}
    assert named == set(CATALOGUE)


def test_chinese_uses_the_source_business_terms():
    assert kpi_label("win_rate", "zh") == "赢单率"
    assert "熔断" in kpi_label("sla_reclaims", "zh")
    assert "首次触达" in kpi_label("first_touch_hours_mean", "zh")
    assert "A类线索" in kpi_label("a_leads_top20_share", "zh")
    assert "线索集市" in kpi_description("assignment_wait_hours_mean", "zh")
    assert "商机" in kpi_label("opportunities_opened", "zh")
    assert "签约" in kpi_label("deals_won", "zh")
    assert tr("verdict.no_clear_difference", "zh") == "无明显差异"
    assert [tr(f"rag.{c}", "zh") for c in ("red", "amber", "green")] == ["红灯", "黄灯", "绿灯"]


def test_units_read_as_people_write_them():
    assert kpi_unit("first_touch_hours_mean", "en") == "h"
    assert kpi_unit("first_touch_hours_mean", "zh") == "小时"
    assert kpi_unit("win_rate", "zh") == "%"
    assert kpi_unit("won_cycle_days_mean", "zh") == "天"


def test_tr_fills_fields_and_refuses_unknown_keys_and_languages(tmp_path):
    assert tr("verdict.better", "en") == "better"
    with pytest.raises(KeyError, match=r"no\.such\.key"):
        tr("no.such.key", "en")
    with pytest.raises(ValueError, match="fr"):
        tr("verdict.better", "fr")
    with pytest.raises(KeyError, match="unknown KPI"):
        kpi_label("not_a_kpi", "en")
    (tmp_path / "a.yaml").write_text("greet: {en: 'Hello {name}', zh: '你好，{name}'}\n", "utf-8")
    assert load_catalogue(tmp_path)["greet"]["zh"].format(name="李明") == "你好，李明"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a.yaml": "k: {en: x, zh: 甲}\n", "b.yaml": "k: {en: y, zh: 乙}\n"}, "already defined"),
        ({"a.yaml": "k: {en: x}\n"}, "expected exactly"),
        ({"a.yaml": "k: {en: x, zh: 甲, fr: y}\n"}, "expected exactly"),
        ({"a.yaml": "k: {en: x, zh: ''}\n"}, "non-empty"),
        ({"a.yaml": "k: just text\n"}, "expected"),
    ],
)
def test_a_broken_catalogue_is_an_error(tmp_path, files, message):
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_catalogue(tmp_path)


def test_a_key_twice_in_one_file_is_an_error(tmp_path):
    (tmp_path / "a.yaml").write_text("k: {en: x, zh: 甲}\nk: {en: y, zh: 乙}\n", "utf-8")
    with pytest.raises(ConfigError, match="duplicate"):
        load_catalogue(tmp_path)


# -- the scenario's report settings ------------------------------------------------------
def test_report_settings_default_to_english_and_cny(tiny_scenario):
    assert (tiny_scenario.report.lang, tiny_scenario.report.currency) == ("en", "CNY")
    assert report_lang(None, tiny_scenario) == "en"
    assert report_currency(tiny_scenario) == "CNY"
    assert report_lang(None) == "en"


def test_the_scenario_knows_the_report_languages():
    from typing import get_args

    assert (
        get_args(Scenario.model_fields["report"].annotation.model_fields["lang"].annotation)
        == LANGS
    )


def test_report_lang_comes_from_the_scenario_unless_given():
    scenario = Scenario.model_validate(tiny_scenario_dict(report={"lang": "zh", "currency": "USD"}))
    assert report_lang(None, scenario) == "zh"
    assert report_lang("en", scenario) == "en"
    assert report_currency(scenario) == "USD"
    with pytest.raises(ValueError, match="fr"):
        report_lang("fr", scenario)


@pytest.mark.parametrize(
    ("report", "field"),
    [
        ({"lang": "fr"}, "report.lang"),
        ({"currency": "XYZ"}, "report.currency"),
        ({"colour": "red"}, "report.colour"),
    ],
)
def test_bad_report_settings_are_one_line_errors_naming_the_field(tmp_path, report, field):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(tiny_scenario_dict(report=report)), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert len(message.splitlines()) == 1 and field in message and str(path) in message


# -- the report language on the command line and in batch files -----------------------
def _notebook(tmp_path, parameters: str) -> str:
    nb = new_notebook(cells=[new_code_cell(parameters, metadata={"tags": ["parameters"]})])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = tmp_path / "lang_report.ipynb"
    nbformat.write(nb, path)
    return str(path)


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_report_lang_is_passed_to_a_notebook_with_a_lang_parameter(tmp_path, monkeypatch, capsys):
    calls = []

    def fake_run_report(notebook, parameters, *, report_name, out_dir=None, **_):
        calls.append((dict(parameters), report_name))
        return tmp_path / f"{report_name}.html"

    monkeypatch.setattr(rendering, "run_report", fake_run_report)
    notebook = _notebook(tmp_path, "x = 1\nlang = None")
    assert (
        main(
            [
                "report",
                notebook,
                "--allow-notebook",
                notebook,
                "--lang",
                "zh",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert main(["report", notebook, "--allow-notebook", notebook, "--out", str(tmp_path)]) == 0
    (given, zh_name), (default, en_name) = calls
    assert given["lang"] == "zh" and "lang" not in default  # the notebook reads the scenario
    assert zh_name != en_name and zh_name.endswith("__zh")  # two languages, two files


def test_report_lang_on_a_notebook_without_it_is_a_one_line_error(tmp_path, capsys):
    notebook = _notebook(tmp_path, "x = 1")
    assert (
        main(
            [
                "report",
                notebook,
                "--allow-notebook",
                notebook,
                "--lang",
                "zh",
                "--out",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert "--lang" in _one_error_line(capsys)


def test_report_lang_must_be_a_known_language(tmp_path, capsys):
    notebook = _notebook(tmp_path, "x = 1\nlang = None")
    assert (
        main(
            [
                "report",
                notebook,
                "--allow-notebook",
                notebook,
                "--lang",
                "fr",
                "--out",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert "fr" in _one_error_line(capsys)


def test_batch_lang_top_level_and_per_variant():
    spec = BatchSpec(
        lang="zh",
        parameters={"x": 1},
        variants=[{"name": "a"}, {"name": "b", "lang": "en"}, {"name": "c", "parameters": {}}],
    )
    assert [(n, p.get("lang")) for n, p in variants(spec)] == [
        ("a", "zh"),
        ("b", "en"),
        ("c", "zh"),
    ]
    grid = BatchSpec(grid={"lang": ["en", "zh"]})
    assert [p["lang"] for _, p in variants(grid)] == ["en", "zh"]
    with pytest.raises(ValueError, match="lang"):
        BatchSpec(lang="fr", grid={"x": [1]})


def test_batch_lang_needs_a_notebook_with_a_lang_parameter(tmp_path):
    from pathlib import Path

    with_lang = Path(_notebook(tmp_path, "x = 1\nlang = None"))
    spec = BatchSpec(lang="zh", grid={"x": [1, 2]})
    assert [c.parameters["lang"] for c in check_variants(with_lang, spec)] == ["zh", "zh"]
    without = Path(_notebook(tmp_path, "x = 1"))
    with pytest.raises(ConfigError, match="lang"):
        check_variants(without, spec)
