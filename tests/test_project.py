"""Project hygiene: the conda environment and pyproject.toml list the same packages."""

from __future__ import annotations

import re
import tomllib

import yaml

from conftest import ROOT


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _conda_requirements(env: dict) -> list[str]:
    """Conda packages plus the pip section's packages (not its ``-e .`` and flags)."""
    items = [d for d in env["dependencies"] if isinstance(d, str)]
    for entry in env["dependencies"]:
        if isinstance(entry, dict):
            items += [d for d in entry.get("pip", []) if not d.startswith("-")]
    return items


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_name(r) for r in project["dependencies"]}
    declared |= {_name(r) for extra in project["optional-dependencies"].values() for r in extra}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {_name(d) for d in _conda_requirements(env)}
    assert conda - {"python", "pip"} == declared


def test_environment_yml_pins_same_lower_bounds():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + [
        r for e in project["optional-dependencies"].values() for r in e
    ]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {_name(d): d for d in _conda_requirements(env)}
    for req in reqs:
        bound = req[len(_name(req)) :].strip()
        assert conda[_name(req)].endswith(bound), (req, conda[_name(req)])
