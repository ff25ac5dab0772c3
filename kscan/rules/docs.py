"""Rule documentation as text and Markdown, generated from the rule files."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from kscan.checks.conditions import Conditions
from kscan.model.taxonomy import tactic_url, technique_url
from kscan.rules import examples as rule_examples
from kscan.rules import ids
from kscan.rules.examples import Example
from kscan.rules.registry import Rule


def threat_line(rule: Rule) -> str:
    """``Elevation of Privilege · TA0004 Privilege Escalation · T1611 Escape to Host``."""
    return (
        f"{rule.stride_name} · {rule.tactic} {rule.tactic_name} · "
        f"{rule.technique} {rule.technique_name}"
    )


def pss_line(rule: Rule) -> str | None:
    """``Pod Security Standards: restricted, control 'Seccomp'`` where the rule maps to one."""
    if rule.pss_profile is None:
        return None
    return f"Pod Security Standards: {rule.pss_profile}, control '{rule.pss_control}'"


def overlap_lines(rule: Rule, code: str = "") -> list[str]:
    """How the rule overlaps others (``refines``, ``implied-by``), as sentences; ``code``
    quotes the ids (a backtick in Markdown)."""
    lines = []
    if rule.refines:
        named = ", ".join(f"{code}{other}{code}" for other in rule.refines)
        lines.append(f"A special case of {named}: the text report shows it under that finding.")
    if rule.implied_by:
        named = ", ".join(f"{code}{other}{code}" for other in rule.implied_by)
        lines.append(f"Follows from {named} where that fires: the text report shows it under it.")
    return lines


def as_text(rule: Rule) -> str:
    """Plain-text documentation, as ``kscan explain`` prints it."""
    parts = [
        f"{rule.id} {rule.name}: {rule.title}",
        f"Severity: {rule.severity.value}    Threat: {threat_line(rule)}",
    ]
    if pss := pss_line(rule):
        parts.append(pss)
    if not rule.enabled:
        parts.append(f"Off by default: run it with --enable {rule.name}.")
    parts += overlap_lines(rule)
    parts += [
        "",
        "What it finds and why it matters:",
        textwrap.indent(textwrap.fill(rule.description, 96), "  "),
        "",
        "How to fix it:",
        textwrap.indent(textwrap.fill(rule.remediation, 96), "  "),
        "",
        textwrap.indent(rule.remediation_example, "    ").rstrip(),
        *_fix_lines(rule),
        "",
        "References:",
        *(f"  {reference}" for reference in rule.references),
        "",
        "Check (the template and params behind it, a model for custom rules):",
        textwrap.indent(_check_yaml(rule), "  ").rstrip(),
    ]
    return "\n".join(parts) + "\n"


def as_markdown(
    rule: Rule,
    heading: str = "##",
    with_check: bool = False,
    examples: Sequence[tuple[str, Example]] = (),
) -> str:
    """Markdown documentation, used for SARIF ``help.markdown`` and (``with_check``: plus the
    template and params that implement it; ``examples``: FAIL and PASS manifests) the rule
    reference."""
    attack = (
        f"[{rule.tactic} {rule.tactic_name}]({tactic_url(rule.tactic)}) · "
        f"[{rule.technique} {rule.technique_name}]({technique_url(rule.technique)})"
    )
    meta = [f"**Severity:** {rule.severity.value}", f"**Threat:** {rule.stride_name} · {attack}"]
    if pss := pss_line(rule):
        meta.append(f"**{pss.split(':')[0]}:** {pss.split(': ', 1)[1]}")
    if not rule.enabled:
        meta.append(f"**Off by default**: run it with `--enable {rule.name}`.")
    if with_check:  # SARIF's rule help stays as it was
        meta += [f"**Overlaps:** {line}" for line in overlap_lines(rule, "`")]
    parts = [
        f"{heading} {rule.id} `{rule.name}`: {rule.title}",
        "",
        "  \n".join(meta),
        "",
        "**What it finds and why it matters.** " + rule.description,
        "",
        "**How to fix it.** " + rule.remediation,
        "",
        "```yaml",
        rule.remediation_example.rstrip(),
        "```",
        "",
        *_fix_markdown(rule),
        *(line for label, shown in examples for line in _example_lines(label, shown)),
        "**References:** " + ", ".join(f"<{reference}>" for reference in rule.references),
    ]
    if with_check:
        parts += ["", "**Check:**", "", "```yaml", _check_yaml(rule).rstrip(), "```"]
    return "\n".join(parts) + "\n"


def _example_lines(label: str, example: Example) -> list[str]:
    part = f", {example.part}" if example.part else ""
    params = f", with params `{example.params}`" if example.params else ""
    heading = f"**{label}** (`{example.source}`{part}{params}):"
    return [heading, "", "```yaml", example.text, "```", ""]


def _fix_markdown(rule: Rule) -> list[str]:
    """The fix of the rule reference and SARIF's rule help: what ``kscan fix`` does, and why it
    is safe or not."""
    if rule.fix is None:
        return []
    flag = "" if rule.fix.safety == "safe" else " (with `--unsafe-fixes`)"
    return [
        f"**kscan fix{flag}:** `{rule.fix.describe()}`. {' '.join(rule.fix.reason.split())}",
        "",
    ]


def _fix_lines(rule: Rule) -> list[str]:
    """What ``kscan fix`` does for the rule, and why it is safe or unsafe."""
    if rule.fix is None:
        return ["", "kscan fix: none (the remediation above is for a person to apply)."]
    flag = "" if rule.fix.safety == "safe" else " with --unsafe-fixes"
    return [
        "",
        f"kscan fix{flag}: {rule.fix.describe()}",
        textwrap.indent(textwrap.fill(rule.fix.reason, 96), "  "),
    ]


def _check_yaml(rule: Rule) -> str:
    params = rule.params.model_dump(by_alias=True, exclude_defaults=True, mode="json")
    check = {"template": rule.template.name, **({"params": _tests_last(params)} if params else {})}
    return yaml.safe_dump(check, sort_keys=False)


_TESTS = {name.replace("_", "-") for name in Conditions.model_fields()}


def _tests_last(value: Any) -> Any:
    """Params as a rule file writes them: what is tested (a path, a flag) before the tests."""
    if isinstance(value, list):
        return [_tests_last(item) for item in value]
    if not isinstance(value, dict):
        return value
    own = {key: _tests_last(item) for key, item in value.items() if key not in _TESTS}
    return {**own, **{key: item for key, item in value.items() if key in _TESTS}}


def reference(rules: list[Rule], with_examples: bool = True) -> str:
    """The rule reference (docs/rules.md): an index by area, then every rule in full, with FAIL
    and PASS examples from the rule fixtures when kscan runs from a source checkout, then the
    ID ranges with their free IDs."""
    fixtures = rule_examples.fixtures_dir() if with_examples else None
    if fixtures is not None:
        about = (
            "Each rule shows a FAIL and a PASS example taken from its test fixtures "
            "(`# <- finding` marks the line a finding points at)."
        )
    else:
        about = (
            "This copy has no FAIL and PASS examples: they are taken from the test fixtures of "
            "a source checkout, which an installed kscan does not have."
        )
    areas: dict[str, list[Rule]] = {}
    for rule in rules:
        areas.setdefault(Path(rule.source).parent.name, []).append(rule)
    lines = [
        "# kscan rule reference",
        "",
        "Generated from the rule files in `rules/` (`kscan rules --format markdown`): do not edit.",
        f"{len(rules)} rules, {sum(r.enabled for r in rules)} on by default.",
        about,
        "[Rule IDs](#rule-ids) lists each area's ID range and free IDs.",
        "",
        "| ID | Name | Severity | STRIDE | ATT&CK | Default |",
        "|---|---|---|---|---|---|",
    ]
    order = sorted(areas, key=lambda area: min(rule.id for rule in areas[area]))
    for rule in (rule for area in order for rule in sorted(areas[area], key=lambda r: r.id)):
        link = f"[{rule.id}](#{rule.id.lower()})"
        attack = f"{rule.tactic} / {rule.technique}"
        lines.append(
            f"| {link} | `{rule.name}` | {rule.severity.value} | {rule.stride_name} | {attack} "
            f"| {'on' if rule.enabled else 'off'} |"
        )
    for area in order:
        lines += ["", f"## {area}", ""]
        for rule in sorted(areas[area], key=lambda r: r.id):
            lines += [
                f'<a id="{rule.id.lower()}"></a>',
                "",
                as_markdown(
                    rule,
                    "###",
                    with_check=True,
                    examples=rule_examples.examples(rule, fixtures),
                ),
            ]
    if Path(ids.ids_file()).is_file():
        lines += ["", *ids.markdown(ids.load_plan(), rules)]
    return "\n".join(lines).rstrip() + "\n"
