"""The JSON report writes each finding field by field (for speed); it must write exactly what
encoding the finding's fields as one JSON object would, whatever the strings hold."""

from __future__ import annotations

import json

from kscan.input.documents import Span
from kscan.model.taxonomy import Severity
from kscan.report import json_text
from kscan.report.json import _FindingWriter, rule_fields
from kscan.results.findings import Finding, Suppression
from kscan.rules.registry import load_rules


def as_one_object(finding: Finding) -> str:
    suppression = finding.suppression
    return json_text(
        {
            **rule_fields(finding.rule),
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
            "suppressed": None if suppression is None else vars(suppression),
            "baseline_state": finding.baseline_state,
        }
    )


def test_each_line_is_the_json_of_the_finding() -> None:
    rules = load_rules()
    hostile = 'a"b\\c\n\x1b[31m\x9b\u2028ü'
    findings = [
        Finding(
            rules[0],
            Severity.HIGH,
            "p.yaml",
            *Span(1, 2, 3, 4),
            ("spec", 0, "x"),
            "Pod",
            "ns",
            "web",
            "c",
            "message",
            "/spec[0]/x",
        ),
        Finding(
            rules[1],
            Severity.LOW,
            hostile,
            *Span(5, 6, 7, 8),
            (True, "a/b~c"),
            None,
            None,
            hostile,
            None,
            hostile,
            "",
            "d",
            Suppression("inSource", hostile, "annotation"),
            "new",
        ),
        Finding(
            rules[1],
            Severity.LOW,
            hostile,
            *Span(5, 6, 7, 8),
            (1, "a/b~c"),
            None,
            None,
            None,
            None,
            "m",
            "",
        ),  # the index 1 is not the key true
    ]
    writer = _FindingWriter()
    for _ in range(2):  # the second time from the writer's memo
        for finding in findings:
            line = writer.line(finding)
            assert line == as_one_object(finding)
            assert json.loads(line)["path"] == finding.path
    assert (
        json.loads(writer.line(findings[1]))["field"]
        != json.loads(writer.line(findings[2]))["field"]
    )
