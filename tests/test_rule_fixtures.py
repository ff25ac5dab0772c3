"""Every rule has failing and passing fixtures; each fixture's findings match its markers.

A failing fixture marks each expected finding on its line with ``# expect: <rule>[@<container>]``
(several separated by commas); a passing fixture has no finding of its rule. A ``params.yaml``
beside the fixtures sets the rule's params for them (for rules that do nothing until a team
configures them, such as a registry allow-list).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from kscan.rules.registry import Rule, load_rules
from kscan.scan.engine import scan

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MARKER = re.compile(r"#\s*expect:\s*(.+)$")
RULES = load_rules()


def configured(rule: Rule) -> list[Rule]:
    """All rules, with ``rule`` taking the params its fixture folder sets, if any."""
    params_file = FIXTURES / rule.name / "params.yaml"
    if not params_file.exists():
        return RULES
    params = rule.template.params.model_validate(yaml.safe_load(params_file.read_text()))
    return [replace(r, params=params) if r is rule else r for r in RULES]


def fixture_files(kind: str) -> list[tuple[Rule, Path]]:
    return [
        (rule, path) for rule in RULES for path in sorted((FIXTURES / rule.name).glob(f"{kind}-*"))
    ]


def expected_markers(path: Path, rule: Rule) -> Counter[tuple[int, str | None]]:
    expected: Counter[tuple[int, str | None]] = Counter()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = MARKER.search(line)
        if not match:
            continue
        for marker in match.group(1).split(","):
            name, _, container = marker.strip().partition("@")
            assert name == rule.name, f"{path}:{number}: marker names another rule: {name}"
            expected[(number, container or None)] += 1
    return expected


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_rule_has_failing_and_passing_fixtures(rule: Rule) -> None:
    folder = FIXTURES / rule.name
    assert list(folder.glob("fail-*")), f"{rule.name}: no failing fixture in {folder}"
    assert list(folder.glob("pass-*")), f"{rule.name}: no passing fixture in {folder}"


def test_every_fixture_folder_belongs_to_a_rule() -> None:
    names = {rule.name for rule in RULES}
    strays = [p.name for p in FIXTURES.iterdir() if p.is_dir() and p.name not in names]
    assert not strays


@pytest.mark.parametrize(
    ("rule", "path"), fixture_files("fail"), ids=lambda value: getattr(value, "name", "")
)
def test_failing_fixture(rule: Rule, path: Path) -> None:
    expected = expected_markers(path, rule)
    assert expected, f"{path} has no '# expect: {rule.name}' marker"
    result = scan([str(path)], configured(rule))
    assert not result.errors, result.errors
    found = Counter((f.span.line, f.container) for f in result.findings if f.rule.name == rule.name)
    assert found == expected


@pytest.mark.parametrize(
    ("rule", "path"), fixture_files("pass"), ids=lambda value: getattr(value, "name", "")
)
def test_passing_fixture(rule: Rule, path: Path) -> None:
    assert not MARKER.search(path.read_text(encoding="utf-8")), "passing fixtures carry no markers"
    result = scan([str(path)], configured(rule))
    assert not result.errors, result.errors
    assert [f.message for f in result.findings if f.rule.name == rule.name] == []
