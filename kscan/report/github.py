"""GitHub Actions workflow commands: findings as inline annotations on pull requests."""

from __future__ import annotations

from collections.abc import Iterator

from kscan.model.taxonomy import Severity
from kscan.report import ReportOptions, without_controls
from kscan.report.concise import summary
from kscan.results.findings import Finding
from kscan.results.scan_result import ScanResult
from kscan.rules.registry import Rule
from kscan.support.locations import relative_to_base

COMMANDS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "notice",
    Severity.INFO: "notice",
}


def render(result: ScanResult, rules: list[Rule], options: ReportOptions) -> Iterator[str]:
    """``::error file=...,line=...,col=...::message`` for each finding that counts (suppressed
    and baseline-accepted ones are left out) and each input error, then the summary line."""
    for finding in result.findings:
        if finding.counts:
            yield _annotation(finding, options.base_dir) + "\n"
    for error in result.errors:
        where = f"file={_property(relative_to_base(error.path, options.base_dir) or error.path)}"
        if error.line:
            where += f",line={error.line},col={error.column or 1}"
        yield f"::error {where},title=kscan input error::{_data(error.message)}\n"
    yield summary(result, len(options.absent)) + "\n"


def _annotation(finding: Finding, base_dir: str) -> str:
    rule, span = finding.rule, finding.span
    path = relative_to_base(finding.path, base_dir) or finding.path
    properties = (
        f"file={_property(path)},line={span.line},col={span.column},"
        f"endLine={span.end_line},endColumn={span.end_column},"
        f"title={_property(f'{finding.severity.value.upper()} {rule.id} {rule.name}')}"
    )
    attack = f"{rule.tactic} {rule.tactic_name}; {rule.technique} {rule.technique_name}"
    threat = f"{rule.stride_name}; {attack}"
    return f"::{COMMANDS[finding.severity]} {properties}::{_data(f'{finding.message} [{threat}]')}"


def _data(text: str) -> str:
    """Escape a workflow command's message as GitHub's toolkit does (``%``, CR, LF); the other
    control characters, which the toolkit passes through to the log, become ``\\xNN``."""
    return without_controls(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _property(text: str) -> str:
    """Escape a workflow command's property value."""
    return _data(text).replace(":", "%3A").replace(",", "%2C")
