"""Machine-readable output: ``{"findings": [...], "errors": [...], "summary": {...}}``, as
described by the JSON Schema ``docs/report-schema.json``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from json.encoder import encode_basestring as encode_string
from typing import Any

from kscan.input.documents import Pointer
from kscan.input.sources import InputError
from kscan.model.taxonomy import Severity
from kscan.report import ReportOptions, json_text
from kscan.results.findings import Finding, field_path
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
    writer = _FindingWriter()
    yield '{\n  "findings": '
    yield from _lines(writer.line(finding) for finding in result.findings)
    yield ',\n  "absent": '
    yield from _lines(_dump(vars(entry)) for entry in options.absent)
    yield ',\n  "errors": '
    yield from _lines(_dump(error_fields(error)) for error in result.errors)
    yield ',\n  "summary": ' + _dump(summary) + "\n}\n"


_MEMO_SIZE = 65536
"""Strings whose JSON a writer remembers, at most (paths, kinds, names, fields repeat)."""


class _FindingWriter:
    """Each finding's JSON line, as ``json_text`` writes its rule's fields then its own,
    but field by field: the rule's part once per rule, repeated strings once per report."""

    def __init__(self) -> None:
        self._rules: dict[str, str] = {}
        self._strings: dict[str | None, str] = {None: "null"}
        self._fields: dict[Pointer, tuple[tuple[type, ...], str]] = {}

    def line(self, finding: Finding) -> str:
        rule = finding.rule
        head = self._rules.get(rule.id)
        if head is None:
            head = self._rules[rule.id] = _dump(rule_fields(rule))[1:-1]
        strings = self._strings  # each memo read inline, its method only for a new string
        path, kind, namespace = finding.path, finding.kind, finding.namespace
        name, container = finding.name, finding.container
        return (
            f'{{{head}, "severity": "{_SEVERITY_TEXT[finding.severity]}", '
            f'"path": {strings.get(path) or self._string(path)}, '
            f'"line": {finding.line}, "column": {finding.column}, "end_line": {finding.end_line}, '
            f'"end_column": {finding.end_column}, "field": {self._field(finding.pointer)}, '
            f'"kind": {strings.get(kind) or self._string(kind)}, '
            f'"namespace": {strings.get(namespace) or self._string(namespace)}, '
            f'"name": {strings.get(name) or self._string(name)}, '
            f'"container": {strings.get(container) or self._string(container)}, '
            f'"message": {_text(finding.message)}, "suppressed": {_suppression(finding)}, '
            f'"baseline_state": {self._string(finding.baseline_state)}}}'
        )

    def _string(self, text: str | None) -> str:
        encoded = self._strings.get(text)
        if encoded is None:
            encoded = _dump(text)
            if len(self._strings) < _MEMO_SIZE:
                self._strings[text] = encoded
        return encoded

    def _field(self, pointer: Pointer) -> str:
        """The JSON of the pointer's ``field_path``, remembered by pointer and part types (the
        key True is not the index 1)."""
        fields = self._fields
        encoded = fields.get(pointer)
        if encoded is not None and encoded[0] == tuple(map(type, pointer)):
            return encoded[1]
        text = _dump(field_path(pointer))
        if len(fields) < _MEMO_SIZE:
            fields[pointer] = (tuple(map(type, pointer)), text)
        return text


_SEVERITY_TEXT = {severity: severity.value for severity in Severity}


def _text(text: str) -> str:
    """``_dump`` of a string, without the encoder's Python-level ``encode``."""
    encoded = encode_string(text)
    if encoded.isascii() and "\x7f" not in encoded:
        return encoded
    return _dump(text)


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


def error_fields(error: InputError) -> dict[str, Any]:
    """An input error; ``line`` and ``column`` only where it has a position (column 1 when only
    the line is known, as the other formats show it), neither when it is about the whole input."""
    fields: dict[str, Any] = {"path": error.path}
    if error.line:
        fields["line"] = error.line
        fields["column"] = error.column or 1
    fields["message"] = error.message
    return fields


def _suppression(finding: Finding) -> str:
    """The JSON of why a finding is suppressed (``null``: it is not)."""
    suppression = finding.suppression
    if suppression is None:
        return "null"
    return _dump(
        {"kind": suppression.kind, "reason": suppression.reason, "where": suppression.where}
    )
