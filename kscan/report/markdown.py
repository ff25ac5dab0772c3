"""Markdown for ``$GITHUB_STEP_SUMMARY`` and pull-request comments: tables, then findings."""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterator

from kscan.model.taxonomy import Severity
from kscan.report import ReportOptions, printable
from kscan.report.concise import summary
from kscan.results.findings import Finding
from kscan.results.scan_result import ScanResult
from kscan.rules.registry import Rule
from kscan.support.locations import relative_to_base

MAX_ROWS = 500
"""Findings listed at most (a step summary is limited to 1 MiB)."""


def render(result: ScanResult, rules: list[Rule], options: ReportOptions) -> Iterator[str]:
    """A summary by severity, STRIDE category and ATT&CK tactic, then one row per finding."""
    lines = ["## kscan", "", summary(result, len(options.absent), errors_listed="below"), ""]
    total = result.findings.tally.total
    if total:
        severities = result.findings.tally.counting
        lines += _table("Severity", [(s.value, severities[s]) for s in Severity if severities[s]])
        stride: Counter[str] = Counter()
        tactics: Counter[str] = Counter()
        for finding in result.findings:
            if finding.counts:
                stride[finding.rule.stride_name] += 1
                tactics[f"{finding.rule.tactic} {finding.rule.tactic_name}"] += 1
        lines += _table("STRIDE", stride.most_common())
        lines += _table("ATT&CK tactic", tactics.most_common())
        lines += ["### Findings", "", "| Severity | Rule | Location | Object | Message |"]
        lines.append("|---|---|---|---|---|")
        counting = (finding for finding in result.findings if finding.counts)
        ordered = heapq.nsmallest(
            MAX_ROWS, counting, key=lambda f: (-f.severity.rank, f.sort_key())
        )
        lines += [_row(finding, options.base_dir) for finding in ordered]
        if total > MAX_ROWS:
            lines += ["", f"... and {total - MAX_ROWS} more (see the full report)."]
    if result.errors:
        lines += ["", "### Input errors", ""]
        lines += [f"- `{_cell(str(error))}`" for error in result.errors]
    yield "\n".join(lines).rstrip() + "\n"


def _table(title: str, rows: list[tuple[str, int]]) -> list[str]:
    return [
        f"| {title} | Findings |",
        "|---|---:|",
        *(f"| {_cell(k)} | {v} |" for k, v in rows),
        "",
    ]


def _row(finding: Finding, base_dir: str) -> str:
    rule = finding.rule
    path = relative_to_base(finding.path, base_dir) or finding.path
    where = f"`{_cell(path)}:{finding.span.line}:{finding.span.column}`"
    return (
        f"| {finding.severity.value} | {rule.id} `{rule.name}` | {where} "
        f"| {_cell(finding.subject)} | {_cell(finding.message)} |"
    )


def _cell(text: str) -> str:
    """Text safe in a table cell: no pipes, no line breaks, no control characters, no HTML."""
    return (
        printable(text.replace("\n", " "))
        .replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )
