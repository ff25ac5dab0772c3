"""Rule files: schema validation, clear load errors, taxonomy, and the packaged copy."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from kscan.model.taxonomy import STRIDE, TACTICS, TECHNIQUES
from kscan.rules.registry import (
    RuleError,
    builtin_rules_dir,
    load_rules,
    rule_file_names,
    rule_files,
)

REPO_RULES = Path(__file__).resolve().parents[1] / "rules"
GOOD = (REPO_RULES / "pod" / "privileged-container.yaml").read_text()


def load_one(tmp_path: Path, text: str, name: str = "privileged-container.yaml") -> str:
    """Load a rules directory holding one rule file; return the error text."""
    shutil.copy(REPO_RULES / "schema.json", tmp_path / "schema.json")
    (tmp_path / name).write_text(text)
    with pytest.raises(RuleError) as caught:
        load_rules(tmp_path)
    return str(caught.value)


def test_repository_rules_are_the_ones_loaded() -> None:
    """Tests must not run against a stale installed copy of the rules."""
    installed = {(r.id, r.name, r.title, r.severity) for r in load_rules()}
    repository = {(r.id, r.name, r.title, r.severity) for r in load_rules(REPO_RULES)}
    assert installed == repository
    assert (Path(builtin_rules_dir()) / "schema.json").is_file()


def test_builtin_fast_path_loads_the_same_rules_as_full_verification() -> None:
    """The default load skips the JSON Schema for built-in rules; passing the same directory
    explicitly verifies every file in full, and must give identical rules."""
    assert load_rules() == load_rules(builtin_rules_dir())


def test_a_broken_builtin_rule_still_gets_a_precise_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(REPO_RULES / "schema.json", tmp_path / "schema.json")
    broken = GOOD.replace("severity: critical", "severity: catastrophic")
    assert broken != GOOD
    (tmp_path / "privileged-container.yaml").write_text(broken)
    monkeypatch.setattr("kscan.rules.registry.builtin_rules_dir", lambda: tmp_path)
    with pytest.raises(RuleError) as caught:
        load_rules()
    message = str(caught.value)
    assert "privileged-container.yaml:" in message and "severity" in message
    assert "catastrophic" in message


def test_every_rule_is_complete_and_consistent() -> None:
    rules = load_rules()
    assert len({r.id for r in rules}) == len({r.name for r in rules}) == len(rules)
    for rule in rules:
        assert rule.stride in STRIDE and rule.tactic in TACTICS
        assert rule.tactic in TECHNIQUES[rule.technique][1]
        assert rule.description and rule.remediation and rule.remediation_example.strip()
        assert rule.references


@pytest.mark.parametrize(
    "field", ["id", "name", "title", "severity", "stride", "mitre", "description", "references"]
)
def test_missing_field_fails_with_file_and_field(tmp_path: Path, field: str) -> None:
    kept, skipping = [], False
    for line in GOOD.splitlines():
        if line.startswith(f"{field}:"):
            skipping = True
        elif skipping and not line.startswith(" "):
            skipping = False
        if not skipping:
            kept.append(line)
    text = "\n".join(kept)
    error = load_one(tmp_path, text)
    assert "privileged-container.yaml:1:1: error:" in error
    assert f"'{field}' is a required property" in error


def test_bad_value_points_at_its_line(tmp_path: Path) -> None:
    error = load_one(tmp_path, GOOD.replace("severity: critical", "severity: severe"))
    assert "privileged-container.yaml:4:1: error: severity: 'severe' is not one of" in error


def test_technique_must_belong_to_the_tactic(tmp_path: Path) -> None:
    error = load_one(tmp_path, GOOD.replace("tactic: TA0004", "tactic: TA0001"))
    assert "T1611 does not belong to tactic TA0001" in error


def test_technique_must_be_in_the_containers_matrix(tmp_path: Path) -> None:
    error = load_one(tmp_path, GOOD.replace("technique: T1611", "technique: T1548.001"))
    assert "T1548.001 is not a technique of the ATT&CK Containers matrix" in error


def test_unknown_template_and_bad_params(tmp_path: Path) -> None:
    error = load_one(tmp_path, GOOD.replace("template: field", "template: nope"))
    assert "unknown template 'nope'" in error
    error = load_one(tmp_path, GOOD.replace("target: container", "target: containr"))
    assert "check.params.target: Input should be 'object', 'pod'" in error
    error = load_one(tmp_path, GOOD.replace("forbidden: [true]", "forbiden: [true]"))
    assert "check.params.conditions.0.forbiden: Extra inputs are not permitted" in error
    error = load_one(tmp_path, GOOD.replace("forbidden: [true]", "pattern: '('"))
    assert "check.params.conditions.0.pattern" in error
    error = load_one(tmp_path, GOOD.replace("conditions:", "conditionz:"))
    assert "check.params.conditions" in error


def test_file_name_must_match_rule_name(tmp_path: Path) -> None:
    error = load_one(tmp_path, GOOD, name="other.yaml")
    assert "must match its file name 'other.yaml'" in error


def test_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "privileged-container-2.yaml").write_text(
        GOOD.replace("name: privileged-container", "name: privileged-container-2")
    )
    error = load_one(tmp_path, GOOD)
    assert "rule KS101 is already defined" in error


def test_broken_yaml_in_a_rule_file(tmp_path: Path) -> None:
    error = load_one(tmp_path, GOOD + "\n  bad: [unclosed\n")
    assert "privileged-container.yaml:" in error and "invalid YAML" in error


def test_remediation_example_must_be_yaml(tmp_path: Path) -> None:
    broken = GOOD.replace("      privileged: false\n", "      privileged: [false\n", 1)
    error = load_one(tmp_path, broken)
    assert "remediation.example is not valid YAML" in error


def test_techniques_table_is_consistent() -> None:
    for technique, (name, tactics) in TECHNIQUES.items():
        assert name and tactics and set(tactics) <= set(TACTICS), technique


def test_rule_reference_is_fresh() -> None:
    """docs/rules.md is generated from the rule files and must match them."""
    from kscan.rules.docs import reference

    docs = Path(__file__).resolve().parents[1] / "docs" / "rules.md"
    assert docs.read_text(encoding="utf-8") == reference(load_rules(REPO_RULES)), (
        "docs/rules.md is stale: run `kscan rules --format markdown > docs/rules.md`"
    )


def test_the_readme_counts_the_rules_that_ship() -> None:
    """The README's rule count is the loaded one, so adding a rule without saying so fails."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    found = re.search(r"kscan ships (\d+) rules \((\d+) on by default\)", readme)
    assert found is not None
    rules = load_rules()
    assert (int(found[1]), int(found[2])) == (len(rules), sum(rule.enabled for rule in rules))


def test_rule_files_are_those_rglob_finds(tmp_path: Path) -> None:
    """The scandir walk finds what ``Path.rglob`` would, in the same order."""
    for name in ("b.yaml", "a-b.yml", "a/b.yaml", "a/c/d.yaml", "x.json", ".yaml", "e.YAML"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    (tmp_path / "dir.yaml").mkdir()
    (tmp_path / "dir.yaml" / "in.yml").write_text("")
    (tmp_path / "linked").symlink_to(tmp_path / "a", target_is_directory=True)
    expected = sorted(p for p in tmp_path.rglob("*.y*ml") if p.suffix in (".yaml", ".yml"))
    assert rule_files(tmp_path) == [str(path) for path in expected]
    assert rule_file_names(tmp_path) == [str(path) for path in expected]
    assert tmp_path / "a" / "c" / "d.yaml" in expected and tmp_path / "linked" not in expected
