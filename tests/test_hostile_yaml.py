"""Hostile YAML: alias bombs, deep nesting, list keys and huge files are refused with one
line before anything is expanded, for every kind of file the workbench reads."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from conftest import ROOT
from sim.cli.main import main
from sim.errors import ConfigError
from sim.io import safe_yaml
from sim.io.safe_yaml import MAX_ALIASES, MAX_BYTES, MAX_DEPTH, MAX_NODES, load_mapping
from sim.io.validation import short_repr, validate


def bomb(levels: int, top_key: str = "team") -> str:
    """A "billion laughs": each level repeats the previous one nine times."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9)}]")
    lines.append(f"{top_key}: [{', '.join([f'*l{levels - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


def write(tmp_path, text: str, name: str = "hostile.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_alias_bomb_is_refused_without_expanding(tmp_path):
    # 9**21 values if expanded: finishing at all shows nothing was expanded.
    with pytest.raises(ConfigError, match=f"at most {MAX_NODES:,}") as info:
        load_mapping(write(tmp_path, bomb(20)))
    assert str(info.value).startswith(str(tmp_path / "hostile.yaml"))
    assert len(str(info.value).splitlines()) == 1


def test_small_anchors_still_work(tmp_path):
    text = "base: &b {count: 2, region: east}\nteam: {groups: [*b, *b]}\n"
    assert load_mapping(write(tmp_path, text))["team"]["groups"][1] == {
        "count": 2,
        "region": "east",
    }


def test_too_many_aliases(tmp_path):
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * (MAX_ALIASES + 1)) + "]\n"
    with pytest.raises(ConfigError, match=f"more than {MAX_ALIASES} aliases"):
        load_mapping(write(tmp_path, text))


@pytest.mark.parametrize(
    "nested",
    [
        "[" * 490 + "]" * 490,
        "{a: " * 490 + "1" + "}" * 490,
        "\n" + "".join(" " * (2 * i) + "- \n" for i in range(1, 200)),
    ],
    ids=["lists", "flow-mappings", "block-lists"],
)
def test_deep_nesting_is_refused(tmp_path, nested):
    with pytest.raises(ConfigError, match=f"nested more than {MAX_DEPTH} levels deep"):
        load_mapping(write(tmp_path, f"team: {nested}\n"))


def test_nesting_at_the_limit_is_read(tmp_path):
    depth = MAX_DEPTH - 1  # the top-level mapping is one level
    data = load_mapping(write(tmp_path, "x: " + "[" * depth + "]" * depth + "\n"))
    assert isinstance(data["x"], list)


@pytest.mark.parametrize(
    ("text", "kind"),
    [("? [1, 2]\n: 3\n", "list"), ("? {a: 1}\n: 3\n", "mapping"), ("x: {[1]: 2}\n", "list")],
)
def test_keys_must_be_plain_values(tmp_path, text, kind):
    with pytest.raises(
        ConfigError, match=f"line 1, column .*: a key must be a plain value, not a {kind}"
    ):
        load_mapping(write(tmp_path, text))


def test_file_above_the_size_limit_is_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(safe_yaml, "MAX_BYTES", 1_000)
    path = write(tmp_path, "x: [" + "1, " * 600 + "]\n")
    with pytest.raises(ConfigError, match="a YAML input may have at most 1,000"):
        load_mapping(path)


def test_size_limit_counts_bytes(tmp_path):
    path = tmp_path / "big.yaml"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("x: ")
        handle.write("a" * MAX_BYTES)
    with pytest.raises(ConfigError, match=f"at most {MAX_BYTES:,}"):
        load_mapping(path)


def test_impossible_date_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match=r"invalid YAML \(.day is out of range for month"):
        load_mapping(write(tmp_path, "start: 2026-02-30\n"))


KINDS = {
    "scenario": "team",
    "policy": "routing",
    "sweep": "scenario",
    "batch": "variants",
    "mapping": "tables",
}


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_file_is_bounded(tmp_path, capsys, kind):
    path = write(tmp_path, bomb(12, KINDS[kind]), f"{kind}.yaml")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(str(path)) and "expands to" in err[0]


def test_every_kind_of_loader_is_bounded(tmp_path):
    from sim.experiments.sweep_spec import load_sweep_spec
    from sim.history.mapping import load_mapping_spec
    from sim.reports.batch import load_batch
    from sim.world.loading import load_policy, load_scenario

    for loader, key in [
        (load_scenario, "team"),
        (load_policy, "routing"),
        (load_sweep_spec, "scenario"),
        (load_batch, "variants"),
        (load_mapping_spec, "tables"),
    ]:
        with pytest.raises(ConfigError, match="expands to"):
            loader(write(tmp_path, bomb(12, key)))


@pytest.mark.parametrize(
    ("command", "value"),
    [
        (["run", "scenarios/baseline.yaml"], "[" * 100 + "]" * 100),
        (["compare", "scenarios/baseline.yaml", "--policy", "a", "--policy", "b"], "[" * 100),
    ],
)
def test_override_values_are_bounded(capsys, command, value):
    assert main([*command, "--set", f"team.groups={value}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and ("nested more than" in err[0] or "file not found" in err[0])


def test_error_values_are_shown_short():
    class Model(BaseModel):
        count: int

    huge = [[["x" * 1000] * 1000] * 1000] * 1000  # 10**9 cells by reference
    with pytest.raises(ConfigError) as info:
        validate(Model, {"count": huge}, "f.yaml")
    line = str(info.value)
    assert line.startswith("f.yaml: count:") and len(line) < 200
    assert len(short_repr("y" * 10_000)) <= 60


def test_readme_documents_the_limits():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"{MAX_BYTES // 1_000_000} MB" in readme
    assert f"{MAX_DEPTH} levels" in readme and f"{MAX_NODES:,} values" in readme
