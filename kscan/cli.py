"""Command line: ``kscan PATH...`` scans, ``kscan rules`` lists rules, ``kscan explain`` shows one.

Exit codes: 0 no finding at or above ``--fail-on``; 1 such findings; 2 usage error, bad rule files,
or an input that could not be read, parsed or validated (the other inputs are still scanned).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from kscan import __version__
from kscan.engine import ScanResult, scan
from kscan.locations import is_under, repository_root
from kscan.registry import Rule, RuleError, load_rules
from kscan.report import FORMATS, ReportOptions, printable
from kscan.ruledoc import as_text, reference
from kscan.sources import STDIN_DISPLAY
from kscan.taxonomy import Severity

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
FAIL_ON_CHOICES = [severity.value for severity in Severity] + ["never"]


class _DefaultToScan(click.Group):
    """A group whose default command is ``scan``: ``kscan deploy/`` means ``kscan scan deploy/``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first = args[0] if args else None
        if first not in self.commands and first not in ("--help", "-h", "--version"):
            args = ["scan", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_DefaultToScan, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kscan")
def cli() -> None:
    """Static security scanner for Kubernetes manifests.

    \b
    kscan PATH...          scan files, directories and - (stdin)
    kscan rules            list the rules
    kscan explain RULE     show one rule's documentation
    """


@cli.command("scan")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--format", "output_format", type=click.Choice(FORMATS), default="text", show_default=True
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the report to FILE.",
)
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON_CHOICES),
    default="low",
    show_default=True,
    help="Exit 1 when a finding has this severity or a higher one ('never': report only).",
)
@click.option(
    "--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True
)
@click.option(
    "--base-dir",
    type=click.Path(file_okay=False),
    help="Root for SARIF paths (default: the git top level, else the current directory).",
)
@click.option("--sarif-category", help="Write SARIF runs[].automationDetails.id = CATEGORY/.")
@click.option(
    "--stdin-filename", default=STDIN_DISPLAY, help="Name to report for input read from -."
)
@click.option(
    "--enable",
    multiple=True,
    metavar="RULE",
    help="Also run RULE (id or name), one of the rules that are off by default; 'all' runs all.",
)
@click.option(
    "--context",
    multiple=True,
    metavar="PATH",
    help="Also read PATH for cross-object rules (NetworkPolicy coverage); report nothing in it.",
)
def scan_command(
    paths: tuple[str, ...],
    output_format: str,
    output: str | None,
    fail_on: str,
    color: str,
    base_dir: str | None,
    sarif_category: str | None,
    stdin_filename: str,
    context: tuple[str, ...],
    enable: tuple[str, ...],
) -> None:
    """Scan PATHS (files, directories, - for stdin) and report findings."""
    rules = active_rules(_rules_or_exit(), enable)
    result = _guarded_scan(paths, rules, stdin_filename, context)
    options = ReportOptions(
        color=_use_color(color, output),
        base_dir=base_dir or str(repository_root()),
        sarif_category=sarif_category,
    )
    report = _render(output_format, result, rules, options)
    for error in result.errors:
        click.echo(printable(str(error)), err=True)
    if output_format == "sarif":
        _warn_outside_base_dir(result, options.base_dir)
    if output:
        try:
            Path(output).write_text(report, encoding="utf-8")
        except OSError as exc:
            click.echo(f"kscan: error: cannot write {output}: {exc.strerror or exc}", err=True)
            sys.exit(EXIT_ERROR)
    else:
        _write_stdout(report)
    sys.exit(exit_code(result, fail_on))


def _write_stdout(report: str) -> None:
    """Print the report; a closed pipe (``kscan ... | head``) ends quietly, a full disk clearly."""
    try:
        click.echo(report, nl=False, color=True)  # colour codes are present only if wanted
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_ERROR)
    except OSError as exc:
        click.echo(f"kscan: error: cannot write the report: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_ERROR)


def active_rules(rules: list[Rule], enable: tuple[str, ...]) -> list[Rule]:
    """The rules on by default, plus those named in ``--enable`` (or all of them)."""
    known = {key for rule in rules for key in (rule.id, rule.name)}
    unknown = [name for name in enable if name != "all" and name not in known]
    if unknown:
        raise click.BadParameter(f"no rule {', '.join(unknown)}", param_hint="--enable")
    wanted = set(enable)
    if "all" in wanted:
        return rules
    return [rule for rule in rules if rule.enabled or wanted & {rule.id, rule.name}]


def exit_code(result: ScanResult, fail_on: str) -> int:
    """2 for input errors, else 1 if a finding reaches the threshold, else 0."""
    if result.errors:
        return EXIT_ERROR
    if fail_on == "never":
        return EXIT_OK
    threshold = Severity(fail_on).rank
    failing = any(finding.severity.rank >= threshold for finding in result.findings)
    return EXIT_FINDINGS if failing else EXIT_OK


@cli.command("rules")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "markdown"]),
    default="table",
    show_default=True,
    help="markdown: the full rule reference (docs/rules.md).",
)
def rules_command(output_format: str) -> None:
    """List the rules: id, name, severity, STRIDE, ATT&CK tactic and technique, on by default."""
    if output_format == "markdown":
        click.echo(reference(_rules_or_exit()), nl=False)
        return
    rows = [
        (
            rule.id,
            rule.name,
            rule.severity.value,
            rule.stride_name,
            rule.tactic,
            rule.technique,
            "yes" if rule.enabled else "no",
        )
        for rule in _rules_or_exit()
    ]
    header = ("ID", "NAME", "SEVERITY", "STRIDE", "TACTIC", "TECHNIQUE", "DEFAULT")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


@cli.command("explain")
@click.argument("rule")
def explain_command(rule: str) -> None:
    """Show the documentation of RULE (id or name)."""
    for candidate in _rules_or_exit():
        if rule in (candidate.id, candidate.name) or rule.upper() == candidate.id:
            click.echo(as_text(candidate), nl=False)
            return
    raise click.UsageError(f"no rule '{rule}'; 'kscan rules' lists them")


def _rules_or_exit() -> list[Rule]:
    try:
        return load_rules()
    except RuleError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(EXIT_ERROR)


def _guarded_scan(
    paths: tuple[str, ...], rules: list[Rule], stdin_filename: str, context: tuple[str, ...]
) -> ScanResult:
    try:
        return scan(paths, rules, stdin_filename, context)
    except Exception as exc:  # a bug in kscan: one line for the user, the traceback on request
        if os.environ.get("KSCAN_DEBUG"):
            raise
        click.echo(
            f"kscan: internal error: {type(exc).__name__}: {exc} (set KSCAN_DEBUG=1 for details)",
            err=True,
        )
        sys.exit(EXIT_ERROR)


def _warn_outside_base_dir(result: ScanResult, base_dir: str) -> None:
    outside = sorted({f.path for f in result.findings if not is_under(f.path, base_dir)})
    if outside:
        click.echo(
            f"kscan: warning: {len(outside)} file(s) outside --base-dir {base_dir} (first: "
            f"{printable(outside[0])}) get absolute URIs, which GitHub code scanning rejects",
            err=True,
        )


def _render(
    output_format: str, result: ScanResult, rules: list[Rule], options: ReportOptions
) -> str:
    if output_format == "json":
        from kscan.report import json as reporter
    elif output_format == "sarif":
        from kscan.report import sarif as reporter  # type: ignore[no-redef]
    else:
        from kscan.report import text as reporter  # type: ignore[no-redef]
    return reporter.render(result, rules, options)


def _use_color(choice: str, output: str | None) -> bool:
    if choice != "auto":
        return choice == "always"
    return output is None and "NO_COLOR" not in os.environ and sys.stdout.isatty()


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    try:
        return cli.main(args=argv, prog_name="kscan")
    except KeyboardInterrupt:
        sys.exit(130)
