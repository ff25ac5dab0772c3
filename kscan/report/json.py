"""Machine-readable output: ``{"findings": [...], "errors": [...], "summary": {...}}``."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from kscan.engine import ScanResult
from kscan.findings import Finding
from kscan.registry import Rule
from kscan.report import ReportOptions
from kscan.taxonomy import Severity


def render(result: ScanResult, rules: list[Rule], options: ReportOptions) -> str:
    """The whole report as one JSON document, one finding or error per line (compact and fast:
    Python's C encoder does each line; a fully indented dump took seconds on large scans)."""
    counts = Counter(finding.severity for finding in result.findings)
    errors = [
        {"path": e.path, "line": e.line or None, "column": e.column or None, "message": e.message}
        for e in result.errors
    ]
    summary = {
        "files": result.files,
        "documents": result.documents,
        "objects": result.objects,
        "findings": len(result.findings),
        "by_severity": {severity.value: counts[severity] for severity in Severity},
        "errors": len(result.errors),
        "rules": len(rules),
    }
    return (
        '{\n  "findings": '
        + _lines(finding_dict(finding) for finding in result.findings)
        + ',\n  "errors": '
        + _lines(errors)
        + ',\n  "summary": '
        + _dump(summary)
        + "\n}\n"
    )


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _lines(items: Iterable[Any]) -> str:
    body = ",\n    ".join(map(_dump, items))
    return f"[\n    {body}\n  ]" if body else "[]"


def finding_dict(finding: Finding) -> dict[str, Any]:
    """One finding as a flat JSON object."""
    rule = finding.rule
    return {
        "rule_id": rule.id,
        "rule_name": rule.name,
        "title": rule.title,
        "severity": finding.severity.value,
        "stride": rule.stride_name,
        "mitre_tactic": rule.tactic,
        "mitre_tactic_name": rule.tactic_name,
        "mitre_technique": rule.technique,
        "mitre_technique_name": rule.technique_name,
        "pss": f"{rule.pss_profile}/{rule.pss_control}" if rule.pss_profile else None,
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
        "remediation": rule.remediation,
    }
