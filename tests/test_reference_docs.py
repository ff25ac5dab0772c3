"""The generated references: docs/templates.md is current and every template and param is
described."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from kscan.checks.base import TEMPLATES
from kscan.checks.paths import Condition
from kscan.cli import cli
from kscan.rules import template_docs
from kscan.rules.registry import load_rules

ROOT = Path(__file__).resolve().parents[1]
RULES = load_rules(ROOT / "rules")


def test_template_reference_is_fresh() -> None:
    """docs/templates.md is generated from the template modules and must match them."""
    docs = ROOT / "docs" / "templates.md"
    assert docs.read_text(encoding="utf-8") == template_docs.reference(RULES), (
        f"docs/templates.md is stale: run `{template_docs.COMMAND}`"
    )


def test_every_template_and_param_is_described() -> None:
    """A template needs a docstring, each of its params (nested models' too) a description:
    a docstring under the field or ``Field(description=...)``."""
    assert template_docs.missing_descriptions() == []


def test_the_catalogue_lists_every_template_once() -> None:
    names = [t.name for t in template_docs.catalogue()]
    assert sorted(names) == sorted(TEMPLATES) and len(names) == len(set(names))


def test_nested_models_are_documented_with_their_fields() -> None:
    field = TEMPLATES["field"]
    assert template_docs.models_of(field)[1:] == [Condition]
    text = template_docs.reference(RULES)
    section = text.split('<a id="field"></a>')[1].split("<a id=")[0]
    assert "| `conditions` | `list[Condition]` | `required` |" in section
    assert "**`Condition`**" in section and "| `forbidden-pattern` |" in section
    assert "[KS101](rules.md#ks101) `privileged-container`" in section


def test_types_read_as_a_rule_author_writes_them() -> None:
    from typing import Literal

    assert template_docs.type_name(list[str] | None) == "list[string] | null"
    assert template_docs.type_name(tuple[Literal["a", "b"], ...]) == 'list["a" | "b"]'
    assert template_docs.type_name(dict[str, int]) == "map[string, integer]"


def test_rules_command_writes_the_template_reference() -> None:
    result = CliRunner().invoke(cli, ["rules", "--format", "templates"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# kscan template reference\n")
