"""Rule IDs (rules/ids.toml): each rule's ID lies in its area's range, no rule takes a retired
ID, and the free IDs docs/rules.md lists are the ones no rule uses."""

from __future__ import annotations

import re
from pathlib import Path

from kscan.rules import ids
from kscan.rules.registry import load_rules
from kscan.support.values import replace

ROOT = Path(__file__).resolve().parents[1]
RULES = load_rules(ROOT / "rules")
PLAN = ids.load_plan(ROOT / "rules" / "ids.toml")


def test_the_rules_keep_to_the_plan() -> None:
    assert ids.problems(PLAN, RULES) == []


def test_every_rule_id_lies_in_its_areas_range() -> None:
    for rule in RULES:
        area = PLAN.areas[ids.area_of(rule)]
        if rule.id in PLAN.exceptions:
            assert PLAN.exceptions[rule.id][0] == area.name
            continue
        assert rule.id in area.range.ids(), f"{rule.id} {rule.name} is outside {area.range}"


def test_no_rule_uses_a_retired_id() -> None:
    assert not {r.id for r in PLAN.retired} & {rule.id for rule in RULES}


def test_problems_are_found() -> None:
    """The checks catch a retired ID in use, a rule outside its range and overlapping ranges."""
    first = RULES[0]
    retired = (ids.Retired(first.id, "old-name", "", "replaced"),)
    assert any("is retired" in p for p in ids.problems(replace(PLAN, retired=retired), RULES))
    moved = [replace(RULES[-1], id="KS150")]
    assert any("outside" in p for p in ids.problems(replace(PLAN, exceptions={}), moved))
    areas = dict(PLAN.areas, extra=ids.Area("extra", ids.IdRange.parse("KS190-KS210")))
    assert any("in the ranges of" in p for p in ids.problems(replace(PLAN, areas=areas), []))


def _expand(spans: str) -> set[str]:
    found: set[str] = set()
    for span in spans.split(", "):
        if span != "none":
            found.update(ids.IdRange.parse(span if "-" in span else f"{span}-{span}").ids())
    return found


def test_documented_free_ids_are_the_computed_ones() -> None:
    """Read back from docs/rules.md and compared with IDs in range, minus used and retired."""
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    section = text.split("\n## Rule IDs\n", 1)[1]
    documented: set[str] = set()
    for row in re.findall(r"^\| [\w-]+ \| (KS\d+-KS\d+) \|.*\| ([^|]+) \|$", section, re.M):
        documented |= _expand(row[1].strip())
    everything = {i for area in PLAN.areas.values() for i in area.range.ids()}
    taken = {rule.id for rule in RULES} | {retired.id for retired in PLAN.retired}
    assert documented == everything - taken
    assert "KS128" in documented and "KS101" not in documented


def test_spans_read_as_runs() -> None:
    pod = PLAN.areas["pod"].range
    assert ids.spans(["KS128", "KS129", "KS141", "KS143"], pod) == "KS128-KS129, KS141, KS143"
    assert ids.spans([], pod) == "none"
