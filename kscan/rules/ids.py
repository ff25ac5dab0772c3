"""Rule ID ranges and retired IDs (``rules/ids.toml``): which IDs each area numbers its rules
in, which are free, and the checks that keep the rules within them."""

from __future__ import annotations

import os
import re
import sys
from typing import Any

from kscan.rules.registry import Rule, builtin_rules_dir
from kscan.support.values import dataclass

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

_RANGE = re.compile(r"^([A-Z]+)(\d+)-\1(\d+)$")


@dataclass(frozen=True)
class IdRange:
    """``KS101-KS199``: consecutive IDs of one prefix, with what they are for."""

    prefix: str
    first: int
    last: int
    width: int
    about: str = ""

    @classmethod
    def parse(cls, text: str, about: str = "") -> IdRange:
        match = _RANGE.match(text)
        if match is None or int(match.group(2)) > int(match.group(3)):
            raise ValueError(f"not an ID range: {text!r} (write KS101-KS199)")
        prefix, first, last = match.groups()
        return cls(prefix, int(first), int(last), len(first), about)

    def ids(self) -> list[str]:
        return [f"{self.prefix}{n:0{self.width}d}" for n in range(self.first, self.last + 1)]

    def __str__(self) -> str:
        return f"{self.prefix}{self.first:0{self.width}d}-{self.prefix}{self.last:0{self.width}d}"


@dataclass(frozen=True)
class Area:
    """A folder of ``rules/``: its range and, optionally, blocks that divide the range."""

    name: str
    range: IdRange
    blocks: tuple[IdRange, ...] = ()


@dataclass(frozen=True)
class Retired:
    """An ID no rule may take again: the rule it was, what replaced it and why."""

    id: str
    name: str
    replaced_by: str
    reason: str


@dataclass(frozen=True)
class IdPlan:
    """The content of ``rules/ids.toml``."""

    areas: dict[str, Area]
    exceptions: dict[str, tuple[str, str]]
    """IDs outside their area's range: ID -> (area, reason)."""
    retired: tuple[Retired, ...]


def ids_file() -> str:
    """``ids.toml`` beside the built-in rules (in a checkout or in the wheel)."""
    return os.path.join(builtin_rules_dir(), "ids.toml")


def load_plan(path: str | os.PathLike[str] | None = None) -> IdPlan:
    """Read ``rules/ids.toml`` (or ``path``)."""
    with open(path or ids_file(), encoding="utf-8") as handle:
        data: dict[str, Any] = tomllib.loads(handle.read())
    areas = {
        name: Area(
            name,
            IdRange.parse(area["ids"], area.get("about", "")),
            tuple(IdRange.parse(b["ids"], b.get("about", "")) for b in area.get("blocks", [])),
        )
        for name, area in data.get("areas", {}).items()
    }
    exceptions = {
        rule_id: (entry["area"], entry["reason"])
        for rule_id, entry in data.get("exceptions", {}).items()
    }
    retired = tuple(
        Retired(entry["id"], entry["name"], entry.get("replaced-by", ""), entry["reason"])
        for entry in data.get("retired", [])
    )
    return IdPlan(areas, exceptions, retired)


def area_of(rule: Rule) -> str:
    """A rule's area: the folder its file is in."""
    return os.path.basename(os.path.dirname(rule.source))


def problems(plan: IdPlan, rules: list[Rule]) -> list[str]:
    """What breaks the plan: overlapping ranges, rules outside their area's range (or block),
    retired IDs in use, exceptions that no longer apply."""
    found = []
    owner: dict[str, str] = {}
    for area in plan.areas.values():
        for rule_id in area.range.ids():
            if rule_id in owner:
                found.append(f"{rule_id} is in the ranges of {owner[rule_id]} and {area.name}")
            owner[rule_id] = area.name
        block_ids = [rule_id for block in area.blocks for rule_id in block.ids()]
        if area.blocks and sorted(block_ids) != area.range.ids():
            found.append(f"the blocks of {area.name} do not divide {area.range} exactly")
    by_id = {rule.id: rule for rule in rules}
    for rule in rules:
        home = plan.areas.get(area_of(rule))
        if home is None:
            found.append(f"{rule.id} {rule.name}: area {area_of(rule)!r} has no ID range")
        elif rule.id in plan.exceptions:
            if plan.exceptions[rule.id][0] != home.name:
                found.append(f"{rule.id} {rule.name}: excepted for another area")
        elif rule.id not in home.range.ids():
            found.append(f"{rule.id} {rule.name}: outside {home.name}'s range {home.range}")
    for rule_id in plan.exceptions:
        if rule_id not in by_id:
            found.append(f"exception {rule_id}: no rule has this ID")
    for retired in plan.retired:
        if retired.id in by_id:
            found.append(
                f"{retired.id} is retired ({retired.name}) but used by {by_id[retired.id].name}"
            )
        if retired.id not in owner:
            found.append(f"retired {retired.id} is in no area's range")
        if retired.replaced_by and retired.replaced_by not in by_id:
            found.append(f"retired {retired.id}: its replacement {retired.replaced_by} is no rule")
    return found


def free_ids(plan: IdPlan, rules: list[Rule], id_range: IdRange) -> list[str]:
    """The IDs of ``id_range`` that no rule uses and that were never retired."""
    taken = {rule.id for rule in rules} | {retired.id for retired in plan.retired}
    return [rule_id for rule_id in id_range.ids() if rule_id not in taken]


def spans(ids: list[str], id_range: IdRange) -> str:
    """``KS128-KS129, KS141-KS199``: IDs of one range written as runs (``none`` if empty)."""
    numbers = [int(rule_id[len(id_range.prefix) :]) for rule_id in ids]
    runs: list[list[int]] = []
    for number in numbers:
        if runs and number == runs[-1][1] + 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    width = id_range.width
    return (
        ", ".join(
            f"{id_range.prefix}{a:0{width}d}"
            + (f"-{id_range.prefix}{b:0{width}d}" if b > a else "")
            for a, b in runs
        )
        or "none"
    )


def markdown(plan: IdPlan, rules: list[Rule]) -> list[str]:
    """The "Rule IDs" section of the rule reference: each area's range and free IDs (per block
    where the range is divided), the exceptions and the retired IDs."""
    lines = [
        "## Rule IDs",
        "",
        "Each area numbers its rules in its own range (`rules/ids.toml`). A new rule takes a free "
        "ID of its area; an ID is never renumbered or reused.",
        "",
        "| Area | Range | For | Used | Free IDs |",
        "|---|---|---|---|---|",
    ]
    for area in plan.areas.values():
        for part in area.blocks or (area.range,):
            used = sum(rule.id in part.ids() for rule in rules)
            free = spans(free_ids(plan, rules, part), part)
            lines.append(f"| {area.name} | {part} | {part.about} | {used} | {free} |")
    if plan.exceptions:
        lines += ["", "Outside their area's range (kept, as IDs are never renumbered):", ""]
        lines += [
            f"- {rule_id} ({area}): {why}" for rule_id, (area, why) in plan.exceptions.items()
        ]
    lines += ["", "Retired IDs:", ""]
    if not plan.retired:
        lines.append("None: no rule has been removed or renumbered.")
    for retired in plan.retired:
        replaced = f"replaced by {retired.replaced_by}" if retired.replaced_by else "not replaced"
        lines.append(f"- {retired.id} `{retired.name}`, {replaced}: {retired.reason}")
    return lines
