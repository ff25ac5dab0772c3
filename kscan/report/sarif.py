"""SARIF 2.1.0 for GitHub code scanning, built with sarif-om."""

from __future__ import annotations

import hashlib
import heapq
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import attr
import sarif_om as sarif

from kscan import __version__
from kscan.fix.replacements import Replacement, finding_key, replacements
from kscan.model.taxonomy import Severity
from kscan.report import ReportOptions, json_text
from kscan.results.findings import Finding
from kscan.results.scan_result import ScanResult
from kscan.results.store import FindingStore
from kscan.rules.docs import as_markdown, as_text
from kscan.rules.registry import Rule
from kscan.support.locations import relative_to_base

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/kscan-dev/kscan"
LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.0",
    Severity.INFO: "0.5",
}
MAX_DESCRIPTION = 1024
_ALWAYS_WRITTEN = frozenset({"level"})  # the SARIF default, but readers should not have to know it


def render(result: ScanResult, rules: list[Rule], options: ReportOptions) -> Iterator[str]:
    """One run with every rule in ``tool.driver.rules`` and one result per finding."""
    index = {rule.id: position for position, rule in enumerate(rules)}
    shown = list(kept(result.findings, options.sarif_max_results))
    fixes = replacements(shown)
    run = sarif.Run(
        tool=sarif.Tool(
            driver=sarif.ToolComponent(
                name="kscan",
                semantic_version=__version__,
                information_uri=INFORMATION_URI,
                rules=[_descriptor(rule) for rule in rules],
            )
        ),
        # Findings fixed since a baseline are not results: GitHub code scanning ignores
        # baselineState and would show each as an alert at line 1; it closes the alerts of
        # fixed findings itself, when their fingerprints are missing from the next upload.
        results=[
            _result(
                finding,
                index[finding.rule.id],
                options.base_dir,
                fixes.get(finding_key(finding)),
            )
            for finding in shown
        ],
        invocations=[_invocation(result)],
        column_kind="unicodeCodePoints",
    )
    yield log_text(run, options.sarif_category)


def log_text(run: sarif.Run, category: str | None) -> str:
    """The SARIF log of one run, with its ``automationDetails.id`` (``category/``) when given."""
    if category:
        run.automation_details = sarif.RunAutomationDetails(id=category.rstrip("/") + "/")
    log = sarif.SarifLog(version="2.1.0", schema_uri=SCHEMA_URI, runs=[run])
    return json_text(to_json(log), indent=2) + "\n"


def kept(findings: FindingStore, cap: int) -> Iterable[Finding]:
    """At most ``cap`` findings, the most severe first among those that count (not suppressed,
    not accepted in a baseline); within a severity, in file order."""
    if len(findings) <= cap:
        return findings
    ranked = heapq.nsmallest(
        cap, findings, key=lambda f: (not f.counts, -f.severity.rank, f.sort_key())
    )
    return sorted(ranked, key=Finding.sort_key)


def to_json(value: Any) -> Any:
    """sarif-om objects to JSON data by schema property name, without unset or default values."""
    if attr.has(type(value)):
        out = {}
        for field in attr.fields(type(value)):
            item = getattr(value, field.name)
            if item is None or (item == field.default and field.name not in _ALWAYS_WRITTEN):
                continue
            out[field.metadata["schema_property_name"]] = to_json(item)
        return out
    if isinstance(value, list):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    return value


_HELP: dict[int, tuple[Rule, str, str]] = {}
"""id(rule) -> (rule, help text, help markdown): rendering a rule's documentation (its check
as YAML) takes milliseconds, and a process that renders several reports needs it once."""


def _help(rule: Rule) -> tuple[str, str]:
    cached = _HELP.get(id(rule))
    if cached is None or cached[0] is not rule:
        cached = _HELP[id(rule)] = (rule, as_text(rule), as_markdown(rule))
    return cached[1], cached[2]


def _descriptor(rule: Rule) -> sarif.ReportingDescriptor:
    tags = ["security", "kubernetes", f"stride/{rule.stride}"]
    tags += [f"mitre-attack/{rule.tactic}", f"mitre-attack/{rule.technique}"]
    if rule.pss_profile:
        tags.append(f"pss/{rule.pss_profile}")
    return sarif.ReportingDescriptor(
        id=rule.id,
        name="".join(part.capitalize() for part in rule.name.split("-")),
        short_description=sarif.MultiformatMessageString(text=rule.title),
        full_description=sarif.MultiformatMessageString(text=_shorten(rule.description)),
        help=sarif.MultiformatMessageString(*_help(rule)),
        help_uri=rule.references[0],
        default_configuration=sarif.ReportingConfiguration(level=LEVELS[rule.severity]),
        properties={
            "tags": tags,
            "precision": "high",
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "kscan/name": rule.name,
        },
    )


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= MAX_DESCRIPTION:
        return text
    cut = text[: MAX_DESCRIPTION - 1]
    end = cut.rfind(". ")
    return cut[: end + 1] if end > 0 else cut + "…"


def _result(
    finding: Finding, rule_index: int, base_dir: str, fix: list[Replacement] | None = None
) -> sarif.Result:
    span = finding.span
    properties: dict[str, Any] = {"severity": finding.severity.value}
    for key in ("kind", "namespace", "name", "container"):
        if getattr(finding, key) is not None:
            properties[key] = getattr(finding, key)
    properties["field"] = finding.field_path
    location = artifact_location(finding.path, base_dir)
    return sarif.Result(
        rule_id=finding.rule.id,
        rule_index=rule_index,
        level=LEVELS[finding.severity],
        message=sarif.Message(text=finding.message),
        locations=[
            sarif.Location(
                physical_location=sarif.PhysicalLocation(
                    artifact_location=location,
                    region=sarif.Region(
                        start_line=span.line,
                        start_column=span.column,
                        end_line=span.end_line,
                        end_column=max(span.end_column, span.column + 1)
                        if span.end_line == span.line
                        else span.end_column,
                    ),
                )
            )
        ],
        partial_fingerprints={"kscan/v1": fingerprint(finding, location.uri)},
        properties=properties,
        suppressions=_suppressions(finding),
        baseline_state=finding.baseline_state,
        fixes=None if fix is None else [_fix(fix, location)],
    )


def _fix(fix: list[Replacement], location: sarif.ArtifactLocation) -> sarif.Fix:
    """What ``kscan fix`` would change for the result, as replacements in its file (a removal
    inserts nothing)."""
    change = sarif.ArtifactChange(
        artifact_location=location,
        replacements=[_replacement(replacement) for replacement in fix],
    )
    return sarif.Fix(description=sarif.Message(text=fix[0].description), artifact_changes=[change])


def _replacement(fix: Replacement) -> sarif.Replacement:
    region = sarif.Region(
        start_line=fix.start_line,
        start_column=fix.start_column,
        end_line=fix.end_line,
        end_column=fix.end_column,
    )
    if not fix.inserted:
        return sarif.Replacement(deleted_region=region)
    content = sarif.ArtifactContent(text=fix.inserted)
    return sarif.Replacement(deleted_region=region, inserted_content=content)


def _suppressions(finding: Finding) -> list[sarif.Suppression] | None:
    if finding.suppression is None:
        return None
    return [
        sarif.Suppression(
            kind=finding.suppression.kind,
            justification=finding.suppression.reason or None,  # none given: none made up
            location=None,
        )
    ]


def artifact_location(path: str, base_dir: str) -> sarif.ArtifactLocation:
    """Repository-relative POSIX URI under ``%SRCROOT%``; an absolute file URI outside it."""
    relative = relative_to_base(path, base_dir)
    if relative is None:
        return sarif.ArtifactLocation(uri=Path(os.path.abspath(path)).resolve().as_uri())
    return sarif.ArtifactLocation(uri=quote(relative), uri_base_id="%SRCROOT%")


def fingerprint(finding: Finding, uri: str) -> str:
    """A line-independent identity: rule, file (as its SARIF URI, so ``./a.yaml`` and ``a.yaml``
    agree), object, container, field and the rule's own detail."""
    key = "\0".join(str(part) for part in (uri, *finding.identity))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _invocation(result: ScanResult) -> sarif.Invocation:
    notifications = [
        sarif.Notification(message=sarif.Message(text=str(error)), level="error")
        for error in result.errors
    ]
    return sarif.Invocation(
        execution_successful=not result.errors,
        tool_execution_notifications=notifications or None,
    )
