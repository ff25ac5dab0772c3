"""Rule documentation as text and Markdown, generated from the rule files."""

from __future__ import annotations

import textwrap

from kscan.registry import Rule
from kscan.taxonomy import tactic_url, technique_url


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


def as_text(rule: Rule) -> str:
    """Plain-text documentation, as ``kscan explain`` prints it."""
    parts = [
        f"{rule.id} {rule.name}: {rule.title}",
        f"Severity: {rule.severity.value}    Threat: {threat_line(rule)}",
    ]
    if pss := pss_line(rule):
        parts.append(pss)
    if not rule.enabled:
        parts.append("Off by default: select it to run it.")
    parts += [
        "",
        "What it finds and why it matters:",
        textwrap.indent(textwrap.fill(rule.description, 96), "  "),
        "",
        "How to fix it:",
        textwrap.indent(textwrap.fill(rule.remediation, 96), "  "),
        "",
        textwrap.indent(rule.remediation_example, "    ").rstrip(),
        "",
        "References:",
        *(f"  {reference}" for reference in rule.references),
    ]
    return "\n".join(parts) + "\n"


def as_markdown(rule: Rule, heading: str = "##") -> str:
    """Markdown documentation, used for SARIF ``help.markdown`` and the rule reference."""
    attack = (
        f"[{rule.tactic} {rule.tactic_name}]({tactic_url(rule.tactic)}) · "
        f"[{rule.technique} {rule.technique_name}]({technique_url(rule.technique)})"
    )
    meta = [f"**Severity:** {rule.severity.value}", f"**Threat:** {rule.stride_name} · {attack}"]
    if pss := pss_line(rule):
        meta.append(f"**{pss.split(':')[0]}:** {pss.split(': ', 1)[1]}")
    if not rule.enabled:
        meta.append("**Off by default**: select it to run it.")
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
        "**References:** " + ", ".join(f"<{reference}>" for reference in rule.references),
    ]
    return "\n".join(parts) + "\n"
