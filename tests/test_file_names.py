"""File names keep Chinese names and never put two entities in one file: statements for
李明/王芳/赵强, reports on 华东.yaml/华北.yaml, and 'rep li' next to 'rep-li'."""

from __future__ import annotations

import unicodedata

import pytest

from sim.cli.main import _report_name
from sim.errors import ConfigError
from sim.io.output import MAX_NAME_BYTES, distinct_name, safe_name, unique_names
from sim.reports.batch import BatchSpec, variants


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("李明", "李明"),
        ("2026-02__李明", "2026-02__李明"),
        ("华东 before", "华东-before"),
        ("../../escape attempt", "escape-attempt"),
        ('a/b\\c:d*e?f"g<h>i|j', "a-b-c-d-e-f-g-h-i-j"),
        ("tab\there\nnewline\x00nul", "tab-here-newline-nul"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("...", "unnamed"),
        ("", "unnamed"),
    ],
)
def test_safe_name_keeps_letters_of_every_script(text, name):
    assert safe_name(text) == name


def test_safe_name_is_nfc_and_bounded():
    decomposed = unicodedata.normalize("NFD", "José 李明")
    assert safe_name(decomposed) == "José-李明" == safe_name("José 李明")
    long = safe_name("李" * 200)  # 3 bytes each
    assert len(long.encode("utf-8")) <= MAX_NAME_BYTES and set(long) == {"李"}
    assert len(distinct_name("李" * 200).encode("utf-8")) <= MAX_NAME_BYTES


def test_distinct_name_adds_a_hash_only_when_cleaning_changed_the_text():
    assert distinct_name("rep-li") == "rep-li"
    assert distinct_name("华东") == "华东"
    hashed = distinct_name("rep li")
    assert hashed.startswith("rep-li-") and len(hashed) == len("rep-li-") + 6
    assert hashed == distinct_name("rep li")  # deterministic
    assert distinct_name("rep/li") not in {hashed, "rep-li"}


def test_unique_names_for_chinese_reps_are_the_names():
    assert unique_names(["李明", "王芳", "赵强"]) == {
        "李明": "李明",
        "王芳": "王芳",
        "赵强": "赵强",
    }


def test_unique_names_tells_apart_what_cleans_or_folds_alike():
    stems = unique_names(["rep li", "rep-li", "Li", "li", "华东", "华北"])
    assert stems["rep-li"] == "rep-li" and stems["rep li"] != "rep-li"
    assert stems["华东"] == "华东" and stems["华北"] == "华北"
    assert stems["Li"].casefold() != stems["li"].casefold()  # case-insensitive disks
    assert len({s.casefold() for s in stems.values()}) == len(stems)
    assert unique_names(["li", "Li"]) == {k: v for k, v in stems.items() if k in ("li", "Li")}


def test_unique_names_can_refuse_instead():
    with pytest.raises(ConfigError, match="'rep li', 'rep-li' would all be written as 'rep-li'"):
        unique_names(["rep li", "rep-li"], on_collision="error")
    assert unique_names(["李明", "王芳"], on_collision="error") == {"李明": "李明", "王芳": "王芳"}


@pytest.mark.parametrize(("one", "other"), [("华东", "华北"), ("rep li", "rep-li")])
def test_report_names_from_file_stems_differ(one, other):
    def name(stem: str) -> str:
        return _report_name(f"scenarios/{stem}.yaml", {"seed": 1}, {"policy": f"p/{stem}.yaml"})

    assert name(one) != name(other)
    assert name("华东") == "华东__华东__seed1"


def test_batch_variant_names_differ():
    spec = BatchSpec(grid={"scenario": ["华东.yaml", "华北.yaml", "rep li.yaml", "rep-li.yaml"]})
    names = [name for name, _ in variants(spec)]
    assert names[:2] == ["scenario-华东", "scenario-华北"]
    assert names[3] == "scenario-rep-li" and names[2].startswith("scenario-rep-li-")
