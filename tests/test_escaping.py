"""Stored XSS: user strings (descriptions, names, labels, imported regions and channels)
come out of the narrative functions escaped, and stay text once the report renders the
Markdown to HTML."""

from __future__ import annotations

import pandas as pd
import pytest
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from conftest import tiny_scenario_dict
from policies.policy import default_policy
from sim.history.importer import import_export
from sim.history.mapping import MappingSpec
from sim.io.safe_text import escape_html, escape_markdown, markdown_bullets
from sim.reports.comparison_narrative import comparison_narrative
from sim.reports.scenario_narrative import inputs_text
from sim.world.scenario import Scenario

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"


def assert_inert(markdown: str) -> str:
    """No raw tag in the Markdown, none in the HTML it renders to; the HTML returned."""
    assert "<script" not in markdown and "<img" not in markdown
    page = markdown2html_mistune(markdown)
    assert "<script" not in page and "<img" not in page
    return page


@pytest.fixture
def imported_region(tmp_path) -> str:
    """A region value as the CRM import accepts it from an export."""
    (tmp_path / "leads.csv").write_text(
        f'id,at,source,area\n1,2025-01-06,web,"{IMG}"\n', encoding="utf-8"
    )
    spec = MappingSpec.model_validate(
        {
            "tables": {
                "leads": {
                    "files": "*.csv",
                    "columns": {
                        "lead_id": "id",
                        "arrived": "at",
                        "channel": "source",
                        "region": "area",
                    },
                }
            }
        }
    )
    leads = import_export(tmp_path, spec).tables["leads"]
    assert leads["region"].tolist() == [IMG]
    return str(leads["region"].iloc[0])


def test_inputs_text_escapes_descriptions_and_imported_regions(imported_region):
    data = tiny_scenario_dict(name="evil *name*", description=SCRIPT)
    data["team"]["groups"][0]["region"] = imported_region
    data["leads"] = {
        "regions": {imported_region: 1.0},
        "channels": {"[x](javascript:alert(1))": 1.0},
    }
    scenario = Scenario.model_validate(data)
    policy = default_policy().model_copy(update={"description": IMG, "name": "no_sla"})
    text = inputs_text(scenario, {"Policy": policy, f"Candidate ({SCRIPT})": policy})
    page = assert_inert(text)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "\\[x\\](javascript:alert(1))" in text and "<a " not in page
    assert "evil \\*name\\*" in text and "<em>" not in page
    assert "**Policy** no_sla: &lt;img" in text  # a plain name reads as it is


def test_comparison_narrative_escapes_the_labels():
    differences = pd.DataFrame(
        [
            {
                "kpi": "qualification_rate",
                "baseline_mean": 0.2,
                "candidate_mean": 0.25,
                "difference": 0.05,
                "ci_low": 0.01,
                "ci_high": 0.09,
                "relative_change": 0.25,
                "unit": "share",
                "verdict": "better",
                "n": 5,
            }
        ]
    )
    text = comparison_narrative(differences, SCRIPT, IMG)
    assert_inert(text)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "&lt;img src=x" in text


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        (SCRIPT, "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("no_sla", "no_sla"),
        ("_x_ and *y*", "\\_x\\_ and \\*y\\*"),
        ("`code` | $5 ~x~", "\\`code\\` \\| \\$5 \\~x\\~"),
        ("line\n# heading", "line # heading"),
        ("a & b", "a &amp; b"),
    ],
)
def test_escape_markdown(text, escaped):
    assert escape_markdown(text) == escaped


def test_bullets_and_html():
    assert markdown_bullets([SCRIPT, "ok"]) == "- &lt;script&gt;alert(1)&lt;/script&gt;\n- ok"
    assert markdown_bullets([], "No warnings.") == "No warnings."
    assert escape_html(IMG) == "&lt;img src=x onerror=alert(1)&gt;"
