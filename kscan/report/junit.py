"""JUnit XML for CI dashboards (GitLab, Jenkins): a test suite per scanned file, a failing test
case per finding, a passing one for a file without findings, an error for unreadable input."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Iterator

from kscan.report import ReportOptions, without_controls
from kscan.results.findings import Finding
from kscan.results.scan_result import ScanResult
from kscan.rules.registry import Rule

_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")
"""Code points XML 1.0 forbids besides control characters."""


def render(result: ScanResult, rules: list[Rule], options: ReportOptions) -> Iterator[str]:
    """The report as ``<testsuites>``; findings that do not count (suppressed or accepted in a
    baseline) are skipped test cases."""
    by_file: dict[str, list[Finding]] = defaultdict(list)
    for finding in result.findings:
        by_file[finding.path].append(finding)
    errors_by_file = defaultdict(list)
    for error in result.errors:
        errors_by_file[error.path].append(error)
    root = ET.Element("testsuites", name="kscan")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for path in dict.fromkeys([*result.paths, *by_file, *errors_by_file]):
        suite = ET.SubElement(root, "testsuite", name=path)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        seen: Counter[tuple[str, str]] = Counter()
        for finding in by_file.get(path, []):
            classname = f"{finding.rule.id} {finding.rule.name}"
            name = _case_name(finding)
            seen[classname, name] += 1
            if seen[classname, name] > 1:  # the same field of two objects without a name
                name = f"{name} #{seen[classname, name]}"
            case = ET.SubElement(suite, "testcase", classname=classname)
            case.set("name", name)
            case.set("file", path)
            case.set("line", str(finding.span.line))
            counts["tests"] += 1
            if finding.counts:
                failure = ET.SubElement(case, "failure", message=finding.message)
                failure.set("type", finding.severity.value)
                failure.text = _details(finding)
                counts["failures"] += 1
            else:
                reason = (
                    finding.suppression.reason
                    if finding.suppression
                    else "accepted in the baseline"
                )
                ET.SubElement(case, "skipped", message=reason)
                counts["skipped"] += 1
        for error in errors_by_file.get(path, []):
            case = ET.SubElement(suite, "testcase", classname="kscan", name="read and parse")
            ET.SubElement(case, "error", message=error.message, type="input").text = str(error)
            counts["tests"] += 1
            counts["errors"] += 1
        if counts["tests"] == 0:
            ET.SubElement(suite, "testcase", classname="kscan", name="no findings", file=path)
            counts["tests"] = 1
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    yield '<?xml version="1.0" encoding="UTF-8"?>\n' + _xml(ET.tostring(root, encoding="unicode"))
    yield "\n"


def _xml(text: str) -> str:
    """XML 1.0 text: ElementTree writes control characters (ESC, NUL...) raw, which no parser
    accepts, so they become ``\\xNN``, and the other forbidden code points ``\\uNNNN``."""
    return _NOT_XML.sub(lambda match: f"\\u{ord(match.group()):04x}", without_controls(text))


def _case_name(finding: Finding) -> str:
    """What the finding is about, never where it is written: dashboards (GitLab) match test
    cases across runs by (classname, name), so a line number would make an edit above a
    finding look like a fixed one and a new one. The rule's detail tells apart its findings on
    one field (Ingress and Egress); the line is in the failure text."""
    name = f"{finding.subject} {finding.stable_field or '(document)'}"
    return f"{name} ({finding.detail})" if finding.detail else name


def _details(finding: Finding) -> str:
    rule = finding.rule
    return (
        f"{finding.path}:{finding.span.line}:{finding.span.column}: "
        f"{finding.severity.value.upper()} {rule.id} {rule.name}\n{finding.message}\n"
        f"STRIDE: {rule.stride_name}; ATT&CK: {rule.tactic} {rule.tactic_name} / "
        f"{rule.technique} {rule.technique_name}\nFix: {rule.remediation}\n"
    )
