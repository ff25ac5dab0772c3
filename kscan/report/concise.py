"""``--format concise``: one line per finding, grouped by file, then a summary line (the
text report before it grouped findings; scripts read it line by line)."""

from __future__ import annotations

from collections.abc import Iterator

from kscan.model.taxonomy import Severity
from kscan.report import ReportOptions, printable
from kscan.results.findings import Finding
from kscan.results.scan_result import ScanResult
from kscan.rules.registry import Rule

COLORS = {
    Severity.CRITICAL: 35,  # magenta
    Severity.HIGH: 31,  # red
    Severity.MEDIUM: 33,  # yellow
    Severity.LOW: 34,  # blue
    Severity.INFO: 36,  # cyan
}
"""ANSI foreground colour codes by severity."""
_BOLD, _DIM, _RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"


def styled(text: str, color: int | None = None, bold: bool = False, dim: bool = False) -> str:
    """``text`` in ANSI colour and weight (the codes click writes, without needing click)."""
    codes = (f"\x1b[{color}m" if color else "") + (_BOLD if bold else "") + (_DIM if dim else "")
    return f"{codes}{text}{_RESET}"


def render(result: ScanResult, rules: list[Rule], options: ReportOptions) -> Iterator[str]:
    """Findings as ``path:line:col: SEVERITY id name message [STRIDE | tactic / technique]``;
    suppressed ones only with ``show_suppressed``, findings accepted in a baseline never."""
    previous_path = None
    for finding in result.findings:
        shown = finding.counts or (options.show_suppressed and finding.suppression is not None)
        if not shown:
            continue
        if previous_path is not None and finding.path != previous_path:
            yield "\n"
        previous_path = finding.path
        yield format_finding(finding, options.color) + "\n"
    if previous_path is not None:
        yield "\n"
    yield summary(result, len(options.absent)) + "\n"


def format_finding(finding: Finding, color: bool) -> str:
    """One finding on one line."""
    rule = finding.rule

    def style(text: str, fg: int | None = None, bold: bool = False, dim: bool = False) -> str:
        return styled(text, fg, bold, dim) if color else text

    where = style(
        f"{printable(finding.path)}:{finding.span.line}:{finding.span.column}:", bold=True
    )
    severity = style(finding.severity.value.upper(), fg=COLORS[finding.severity], bold=True)
    attack = f"{rule.tactic} {rule.tactic_name} / {rule.technique} {rule.technique_name}"
    threat = style(f"[{rule.stride_name} | {attack}]", dim=True)
    line = f"{where} {severity} {rule.id} {rule.name} {printable(finding.message)} {threat}"
    if finding.suppression is not None:
        reason = finding.suppression.reason or "no reason given"
        line += style(
            f" (suppressed at {printable(finding.suppression.where)}: {printable(reason)})",
            dim=True,
        )
    return line


def summary(result: ScanResult, fixed: int = 0, errors_listed: str = "above") -> str:
    """``Found 3 findings (1 critical, 2 medium) in 1 of 2 files ...``; suppressed findings and
    findings accepted in a baseline are counted apart; the input errors are ``errors_listed``
    (``above``, as stderr shows them before the summary, or ``below``)."""
    tally = result.findings.tally
    counts = tally.counting
    scanned = (
        f"{plural(result.files, 'file')}, {plural(result.documents, 'document')}, "
        f"{plural(result.objects, 'object')}"
    )
    if tally.total:
        by_severity = ", ".join(f"{counts[s]} {s.value}" for s in Severity if counts[s])
        text = (
            f"Found {plural(tally.total, 'finding')} ({by_severity}) "
            f"in {len(tally.counting_paths)} of {scanned}"
        )
    else:
        text = f"No findings in {scanned}"
    suppressed, accepted = tally.suppressed, tally.unchanged
    extras = [f"{suppressed} suppressed"] if suppressed else []
    if accepted or fixed or tally.compared:
        extras.append(f"{accepted} accepted in the baseline, {fixed} fixed since")
    text += f" ({'; '.join(extras)})." if extras else "."
    if result.errors:
        text += f" {plural(len(result.errors), 'input error')} (see {errors_listed})."
    return text


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
