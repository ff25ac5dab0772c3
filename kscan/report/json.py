"""Machine-readable output: ``{"findings": [...], "errors": [...], "summary": {...}}``, as
described by the JSON Schema ``docs/report-schema.json``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from kscan.input.sources import InputError
from kscan.model.taxonomy import Severity
from kscan.report import ReportOptions, json_text
from kscan.results.findings import Finding
from kscan.results.scan_result import ScanResult
from kscan.rules.registry import Rule


def render(result: ScanResult, rules: list[Rule], options: ReportOptions) -> Iterator[str]:
    """The whole report as one JSON document, one finding or error per line (compact and fast:
    Python's C encoder does each line; a fully indented dump took seconds on large scans).
    Each finding is one flat object: its rule's fields, then its own."""
    tally = result.findings.tally
    summary = {
        "files": result.files,
        "documents": result.documents,
        "objects": result.objects,
        "findings": tally.total,
        "suppressed": tally.suppressed,
        "unchanged": tally.unchanged,
        "absent": len(options.absent),
        "by_severity": {severity.value: tally.counting[severity] for severity in Severity},
        "errors": len(result.errors),
        "rules": len(rules),
        "skipped": result.skipped,
    }
    fragments: dict[str, str] = {}
    findings = (_finding_line(finding, fragments) for finding in result.findings)
    yield '{\n  "findings": '
    yield from _lines(findings)
    yield ',\n  "absent": '
    yield from _lines(_dump(vars(entry)) for entry in options.absent)
    yield ',\n  "errors": '
    yield from _lines(_dump(error_fields(error)) for error in result.errors)
    yield ',\n  "summary": ' + _dump(summary) + "\n}\n"


def _finding_line(finding: Finding, fragments: dict[str, str]) -> str:
    """One finding's JSON; the rule's fields are encoded once per rule, not once per finding."""
    rule = finding.rule
    if rule.id not in fragments:
        fragments[rule.id] = _dump(rule_fields(rule))[1:-1]
    return "{" + fragments[rule.id] + ", " + _dump(finding_fields(finding))[1:]


def _dump(value: Any) -> str:
    return json_text(value)


def _lines(encoded: Iterable[str]) -> Iterator[str]:
    """A JSON array with one item per line."""
    separator = "[\n    "
    for item in encoded:
        yield separator + item
        separator = ",\n    "
    yield "[]" if separator.startswith("[") else "\n  ]"


def rule_fields(rule: Rule) -> dict[str, Any]:
    """The fields of a finding that come from its rule."""
    return {
        "rule_id": rule.id,
        "rule_name": rule.name,
        "title": rule.title,
        "stride": rule.stride_name,
        "mitre_tactic": rule.tactic,
        "mitre_tactic_name": rule.tactic_name,
        "mitre_technique": rule.technique,
        "mitre_technique_name": rule.technique_name,
        "pss": f"{rule.pss_profile}/{rule.pss_control}" if rule.pss_profile else None,
        "remediation": rule.remediation,
    }


def finding_fields(finding: Finding) -> dict[str, Any]:
    """The fields of a finding that are its own."""
    return {
        "severity": finding.severity.value,
        "path": finding.path,
        "line": finding.span.line,
        "column": finding.span.column,
        "end_line": finding.span.end_line,
        "end_column": finding.span.end_column,
        "field": finding.field_path,
        "kind": finding.kind,
        "namespace": finding.namespace,
        "name": finding.name,
        "container": finding.container,
        "message": finding.message,
        "suppressed": _suppression(finding),
        "baseline_state": finding.baseline_state,
    }


def error_fields(error: InputError) -> dict[str, Any]:
    """An input error; ``line`` and ``column`` only where it has a position (column 1 when only
    the line is known, as the other formats show it), neither when it is about the whole input."""
    fields: dict[str, Any] = {"path": error.path}
    if error.line:
        fields["line"] = error.line
        fields["column"] = error.column or 1
    fields["message"] = error.message
    return fields


def _suppression(finding: Finding) -> dict[str, str] | None:
    suppression = finding.suppression
    if suppression is None:
        return None
    return {"kind": suppression.kind, "reason": suppression.reason, "where": suppression.where}
