"""The generated references: docs/templates.md is current, every template and param is
described, and the FAIL and PASS examples of docs/rules.md fail and pass."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from kscan.checks.base import TEMPLATES
from kscan.checks.paths import Condition
from kscan.cli import cli
from kscan.rules import examples as rule_examples
from kscan.rules import template_docs
from kscan.rules.docs import reference
from kscan.rules.registry import Rule, load_rules
from kscan.scan.engine import scan
from kscan.support.values import replace

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
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


def _scanned(rule: Rule, text: str, name: str, tmp_path: Path) -> list[int]:
    """The lines of ``rule``'s findings in ``text``, scanned as a file called ``name``."""
    params_file = FIXTURES / rule.name / "params.yaml"
    if params_file.is_file():
        params = rule.template.params.model_validate(yaml.safe_load(params_file.read_text()))
        rule = replace(rule, params=params)
    path = tmp_path / name
    path.write_text(text + "\n", encoding="utf-8")
    result = scan([str(path)], [rule])  # the rule alone: its findings need no other rule
    assert not result.errors, result.errors
    return sorted(f.span.line for f in result.findings if f.rule.name == rule.name)


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_examples_fail_and_pass_as_they_say(rule: Rule, tmp_path: Path) -> None:
    """A rule's FAIL example has its findings where it says (``# <- finding``), and its PASS
    example has none: an excerpt of a fixture still shows what the fixture does."""
    shown = dict(rule_examples.examples(rule, FIXTURES))
    assert set(shown) == {"FAIL", "PASS"}
    fail, passing = shown["FAIL"], shown["PASS"]
    expected = []
    for number, line in enumerate(fail.text.splitlines(), start=1):
        if found := re.search(r"# <- (\d+ )?finding", line):
            expected += [number] * int(found.group(1) or 1)
    assert expected and _scanned(rule, fail.text, Path(fail.source).name, tmp_path) == expected
    assert _scanned(rule, passing.text, Path(passing.source).name, tmp_path) == []
    assert "expect:" not in fail.text + passing.text


def test_rule_reference_without_fixtures_has_no_examples(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """From a wheel (no tests/fixtures) the rule reference is generated without examples."""
    monkeypatch.setattr(rule_examples, "fixtures_dir", lambda: None)
    text = reference(RULES[:3])
    assert "**FAIL**" not in text and "**PASS**" not in text
    assert "This copy has no FAIL and PASS examples" in text


def test_source_checkout_finds_its_fixtures() -> None:
    assert rule_examples.fixtures_dir() == FIXTURES
