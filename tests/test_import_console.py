"""What the import prints and how it fails: one line, exit 2, no misleading counts."""

from __future__ import annotations

import pytest

from conftest import SCENARIOS
from sim.cli.main import main
from sim.history.importer import import_export, summary_lines
from sim.history.mapping import MappingSpec
from sim.history.synthetic_export import make_sample
from sim.io.safe_yaml import load_mapping

SAMPLE_MAPPING = SCENARIOS / "mappings" / "sample.yaml"


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    make_sample(folder)
    return folder


def _write_mapping(tmp_path, **changes):
    """The sample mapping with dotted (``a__b``) changes, written to a file."""
    import yaml

    data = load_mapping(SAMPLE_MAPPING)
    for dotted, value in changes.items():
        node = data
        *path, last = dotted.split("__")
        for key in path:
            node = node[key]
        node[last] = value
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_a_date_format_that_rejects_every_lead_is_one_line_and_exit_2(sample, tmp_path, capsys):
    arrived = {"column": "Created", "formats": ["%d.%m.%Y"]}
    mapping = _write_mapping(tmp_path, tables__leads__columns__arrived=arrived)
    assert main(["validate", str(mapping)]) == 0  # statically fine: the data decides
    capsys.readouterr()
    for extra in (["--check"], ["--out", str(tmp_path / "data")]):
        code = main(["import", str(sample), "--mapping", str(mapping), *extra])
        captured = capsys.readouterr()
        assert code == 2
        err = captured.err.strip().splitlines()
        assert len(err) == 1
        assert err[0].startswith("error: leads: all 1794 rows quarantined (Created: bad_date")
        assert "leads.csv row 2: Created = '" in err[0]
        assert "Traceback" not in captured.err
        assert "warning: leads: all 1794 rows quarantined" in captured.out
    assert not (tmp_path / "data").exists()  # a useless import writes nothing


def test_kept_as_is_counts_only_accepted_rows(tmp_path):
    (tmp_path / "leads.csv").write_text(
        "id,when,src\n1,2024-01-01,Web\n2,2024-01-01,Fax\n3,not a date,Fax\n4,2024-01-02,Fax\n"
    )
    spec = MappingSpec.model_validate(
        {
            "tables": {
                "leads": {
                    "files": "leads.csv",
                    "columns": {
                        "lead_id": "id",
                        "arrived": {"column": "when", "formats": ["%Y-%m-%d"]},
                        "channel": {"column": "src", "values": {"Web": "web_form"}},
                    },
                }
            }
        }
    )
    result = import_export(tmp_path, spec)
    assert result.unmapped["count"].tolist() == [2]  # row 3 (Fax) was quarantined
    line = "warning: leads.channel: value 'Fax' is not in the mapping's values"
    assert f"{line} (2 accepted rows kept as is)" in summary_lines(result)


def test_blank_with_a_canonical_value_does_not_warn(tmp_path):
    (tmp_path / "leads.csv").write_text("id,when,src\n1,2024-01-01,Web\n2,2024-01-01,\n")
    spec = MappingSpec.model_validate(
        {
            "tables": {
                "leads": {
                    "files": "leads.csv",
                    "columns": {
                        "lead_id": "id",
                        "arrived": {"column": "when", "formats": ["%Y-%m-%d"]},
                        "channel": {
                            "column": "src",
                            "values": {"Web": "web_form"},
                            "blank": "unknown",
                        },
                    },
                }
            }
        }
    )
    result = import_export(tmp_path, spec)
    assert result.unmapped.empty
    assert result.tables["leads"]["channel"].tolist() == ["web_form", "unknown"]
    assert not [line for line in summary_lines(result) if line.startswith("warning")]


def test_a_fully_quarantined_deals_table_exits_2(sample, tmp_path, capsys):
    mapping = _write_mapping(
        tmp_path, tables__opportunities__columns__closed={"column": "Close Date", "formats": ["%Y"]}
    )
    code = main(["import", str(sample), "--mapping", str(mapping), "--check"])
    captured = capsys.readouterr()
    assert code == 2
    assert "warning: opportunities: all 716 rows quarantined" in captured.out
    assert captured.err.startswith("error: opportunities: all 716 rows quarantined")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"tables__leads__columns__arrived": {"column": "Created", "formats": ["%Y-%m-%Q"]}},
            "is not a date format",
        ),
        (
            {"tables__leads__columns__arrived": {"column": "Created", "formats": ["%H:%M"]}},
            "has no day or year directive",
        ),
        (
            {
                "tables__opportunities__columns__outcome": {
                    "column": "Stage",
                    "values": {"Won": "win"},
                }
            },
            "'win' is not an outcome",
        ),
        ({"tables__opportunities__columns__outcome": {"value": "closed"}}, "is not an outcome"),
        (
            {"tables__opportunities__columns__amount": {"column": "Amount", "formats": ["%Y"]}},
            "formats given for a field that is no date",
        ),
        (
            {"tables__opportunities__columns__amount": {"column": "Amount", "blank": "n/a"}},
            "not a plain non-negative number",
        ),
        (
            {"tables__leads__columns__arrived": {"column": "Created", "blank": "soon"}},
            "does not match the field's date formats",
        ),
    ],
)
def test_validate_catches_what_it_can_statically(tmp_path, capsys, change, message):
    mapping = _write_mapping(tmp_path, **change)
    assert main(["validate", str(mapping)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert message in err
