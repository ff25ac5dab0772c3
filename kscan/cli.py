"""Command line: ``kscan PATH...`` scans, ``kscan rules`` lists rules, ``kscan explain`` shows one.

Exit codes: 0 no finding at or above ``--fail-on``; 1 such findings; 2 usage error, bad rule files,
an output that cannot be written, or an input that could not be read, parsed or validated (the
other inputs are still scanned); 128 + N when signal N stopped the run, 141 for a closed pipe.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import suppress
from typing import Any, NoReturn

import click

from kscan import __version__
from kscan.app import (
    EXIT_ERROR,
    FAIL_ON_CHOICES,
    THREAT_FORMATS,
    Diagnostic,
    FixOptions,
    ScanOptions,
    ThreatOptions,
    UsageProblem,
    effective_configuration,
    find_rule,
    fix,
    known_rules,
    rule_table,
    run,
    similar_rules,
    threats,
)
from kscan.input.limits import DEFAULT_LIMITS, LIBYAML_MAX_DEPTH, Limits, describe_size, parse_size
from kscan.input.sources import STDIN_DISPLAY
from kscan.report import FORMATS, SARIF_MAX_RESULTS, printable
from kscan.rules.registry import Rule
from kscan.scan.engine import collector_paused
from kscan.scan.parallel import available_cores
from kscan.support import interrupts
from kscan.support.files import write_atomically

_FILE = click.Path(dir_okay=False)
_EXISTING_FILE = click.Path(dir_okay=False, exists=True)
_WRITABLE_FILE = click.Path(dir_okay=False, writable=True)
_DIRECTORY = click.Path(file_okay=False)
_FORMATS = click.Choice(FORMATS)
_FAIL_ON = click.Choice(list(FAIL_ON_CHOICES))
_AT_LEAST_ONE = click.IntRange(1)
"""Parameter types, made once: each ``click.Path`` looks up its name's translation (gettext
searches the file system for catalogues every time)."""

_OUTPUT = click.option(
    "-o",
    "--output",
    type=_WRITABLE_FILE,
    help="Write the report to FILE.",
)
_JOBS = click.option(
    "-j",
    "--jobs",
    metavar="N",
    type=_AT_LEAST_ONE,
    default=available_cores(),
    show_default="the number of cores",
    help="Scan files in N processes (inputs of 1 MiB or more); the report is the same.",
)
"""Options the scan and ``kscan threats`` share."""
_CONFIG = click.option(
    "--config",
    "config_path",
    type=_FILE,
    help="Judge every file under this configuration file (default: each file's nearest).",
)
_ISOLATED = click.option(
    "--isolated",
    is_flag=True,
    help="Ignore every configuration file found in the scanned tree (only --config, if given).",
)
_SELECT = click.option(
    "--select",
    multiple=True,
    metavar="RULE",
    help="Run only these rules (ids, names, prefixes, globs).",
)
_ENABLE = click.option(
    "--enable",
    multiple=True,
    metavar="RULE",
    help="Also run RULE (for rules off by default); 'all' runs all.",
)
_IGNORE = click.option(
    "--ignore", multiple=True, metavar="RULE", help="Do not run RULE (ids, names, prefixes, globs)."
)
_EXCLUDE = click.option(
    "--exclude", multiple=True, metavar="GLOB", help="Skip paths matching GLOB."
)
_RULES_DIR = click.option("--rules-dir", type=_DIRECTORY, help="Also load custom rules from DIR.")
_CONTEXT = click.option(
    "--context",
    multiple=True,
    metavar="PATH",
    help="Also read PATH for cross-object rules (NetworkPolicy coverage, the bindings that name "
    "a service account); report and fix nothing in it.",
)
"""Options the scan and ``kscan fix`` share: configuration, rule selection, context."""


class _DefaultToScan(click.Group):
    """A group whose default command is ``scan``: ``kscan deploy/`` means ``kscan scan deploy/``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first = args[0] if args else None
        if first not in self.commands and first not in ("--help", "-h", "--version"):
            args = ["scan", *args]
        try:  # ``--version`` and ``--help`` print while their options are parsed
            return super().parse_args(ctx, args)
        except BrokenPipeError:
            _closed_pipe()

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            _closed_pipe()


def _closed_pipe() -> NoReturn:
    """The reader of the output went away (``kscan ... | head``): exit 141 without a word."""
    _silence_stdout()
    sys.exit(interrupts.EXIT_CLOSED_PIPE)


@click.group(cls=_DefaultToScan, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kscan")
def cli() -> None:
    """Static security scanner for Kubernetes manifests.

    \b
    kscan PATH...          scan files, directories and - (stdin); see 'kscan scan --help'
    kscan rules            list the rules ('--format markdown': the full reference)
    kscan explain RULE     show one rule's documentation
    kscan fix PATH...      fix what can be fixed ('--diff': show it, write nothing)
    kscan config show      print the effective configuration and where it comes from

    \b
    Exit codes: 0 no finding at or above --fail-on; 1 such findings;
    2 a usage error, a bad configuration or rule file, or an unreadable input;
    130 Ctrl-C, 143 SIGTERM (128 + the signal), 141 a closed pipe.
    Documentation: README.md, docs/rules.md, docs/github-actions.md.
    """


class _SizeType(click.ParamType):  # type: ignore[type-arg]  # generic only from click 8.3
    """A size in bytes, written ``65536``, ``512K``, ``64M`` or ``1G``."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            size = parse_size(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if size < 1:
            self.fail("the size must be at least 1 byte", param, ctx)
        return size


@cli.command("scan")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--format",
    "output_format",
    type=_FORMATS,
    help=(
        "Report format [text]; concise: one line per finding, sarif: code scanning, "
        "github: PR annotations, junit, markdown."
    ),
)
@_OUTPUT
@click.option(
    "--fail-on",
    type=_FAIL_ON,
    help="Exit 1 when a finding has this severity or a higher one ('never': report only) [low].",
)
@click.option(
    "--color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour text output (auto: on a terminal, unless NO_COLOR is set).",
)
@click.option(
    "--base-dir",
    type=_DIRECTORY,
    help="Root for SARIF and baseline paths (default: the git top level, else the current dir).",
)
@click.option(
    "--sarif-category",
    metavar="NAME",
    help="Write SARIF runs[].automationDetails.id = NAME/ (one per upload of a workflow).",
)
@click.option(
    "--sarif-max-results",
    type=click.IntRange(1, 25000),
    default=SARIF_MAX_RESULTS,
    show_default=True,
    help="Keep the most severe findings in SARIF up to N (GitHub ingests 25,000, shows 5,000).",
)
@click.option(
    "--stdin-filename",
    default=STDIN_DISPLAY,
    metavar="NAME",
    help="Name to report for input read from -.",
)
@_CONFIG
@_ISOLATED
@click.option(
    "--no-default-excludes",
    "scan_default_skips",
    is_flag=True,
    help="Also scan node_modules, .venv, .tox and __pycache__ (skipped and reported by default).",
)
@_SELECT
@_ENABLE
@_IGNORE
@_EXCLUDE
@_RULES_DIR
@_CONTEXT
@click.option(
    "--show-suppressed", is_flag=True, help="Also list suppressed findings (text output)."
)
@click.option(
    "--warn-unused-suppressions",
    is_flag=True,
    help="Report suppressions that match no finding (exit 1).",
)
@click.option(
    "--baseline",
    type=_EXISTING_FILE,
    help="Report only findings not in FILE.",
)
@click.option("--write-baseline", type=_FILE, help="Record the current findings in FILE.")
@click.option(
    "--max-file-size",
    type=_SizeType(),
    default=DEFAULT_LIMITS.file_bytes,
    help="Skip (with an error) files larger than SIZE (bytes, or 512K, 64M, 1G)  "
    f"[default: {describe_size(DEFAULT_LIMITS.file_bytes).replace(' ', '')}]",
)
@click.option(
    "--max-documents",
    metavar="N",
    type=_AT_LEAST_ONE,
    default=DEFAULT_LIMITS.documents,
    show_default=True,
    help="Scan at most N documents of one file; an error reports the rest.",
)
@click.option(
    "--max-depth",
    metavar="N",
    type=click.IntRange(1, LIBYAML_MAX_DEPTH),
    default=DEFAULT_LIMITS.depth,
    show_default=True,
    help="Reject documents nested deeper than N mappings and sequences.",
)
@click.option(
    "--max-nodes",
    metavar="N",
    type=_AT_LEAST_ONE,
    default=DEFAULT_LIMITS.nodes,
    show_default=True,
    help="Reject documents with more than N nodes once aliases are expanded (alias bombs).",
)
@_JOBS
def scan_command(
    paths: tuple[str, ...],
    output_format: str | None,
    output: str | None,
    fail_on: str | None,
    color: str,
    base_dir: str | None,
    sarif_category: str | None,
    sarif_max_results: int,
    stdin_filename: str,
    config_path: str | None,
    isolated: bool,
    scan_default_skips: bool,
    select: tuple[str, ...],
    enable: tuple[str, ...],
    ignore: tuple[str, ...],
    exclude: tuple[str, ...],
    rules_dir: str | None,
    context: tuple[str, ...],
    show_suppressed: bool,
    warn_unused_suppressions: bool,
    baseline: str | None,
    write_baseline: str | None,
    max_file_size: int,
    max_documents: int,
    max_depth: int,
    max_nodes: int,
    jobs: int,
) -> None:
    """Scan PATHS (files, directories, - for stdin) and report findings."""
    output = None if output in (None, "-") else output
    if output is None and not write_baseline:
        _require_stdout()
    options = ScanOptions(
        paths=paths,
        output_format=output_format,
        output=output,
        fail_on=fail_on,
        color=color,
        terminal=sys.stdout is not None and sys.stdout.isatty(),
        no_color=os.environ.get("NO_COLOR"),
        base_dir=base_dir,
        sarif_category=sarif_category,
        sarif_max_results=sarif_max_results,
        stdin_filename=stdin_filename,
        config_path=config_path,
        isolated=isolated,
        default_skips=not scan_default_skips,
        select=select,
        enable=enable,
        ignore=ignore,
        exclude=exclude,
        rules_dir=rules_dir,
        context=context,
        show_suppressed=show_suppressed,
        warn_unused_suppressions=warn_unused_suppressions,
        baseline=baseline,
        write_baseline=write_baseline,
        limits=Limits(max_file_size, max_documents, max_depth, max_nodes),
        jobs=jobs,
    )
    try:
        report = run(options)
    except UsageProblem as problem:
        _stop(problem)
    except Exception as exc:  # a bug in kscan: one line for the user, the traceback on request
        if os.environ.get("KSCAN_DEBUG"):
            raise
        click.echo(
            f"kscan: internal error: {type(exc).__name__}: {exc} (set KSCAN_DEBUG=1 for details)",
            err=True,
        )
        sys.exit(EXIT_ERROR)
    _show(report.diagnostics)
    if report.rendered is not None:
        _deliver(report.rendered, output)
    sys.exit(report.exit_code)


def _stop(problem: UsageProblem) -> NoReturn:
    """Show why the run stopped, and exit with its code."""
    _show(problem.diagnostics)
    sys.exit(problem.exit_code)


def _show(diagnostics: Iterable[Diagnostic]) -> None:
    """Information on standard output, errors, warnings and notes on standard error."""
    for diagnostic in diagnostics:
        click.echo(diagnostic.text, err=diagnostic.level != "info")


def _deliver(report: Iterable[str], output: str | None) -> None:
    if not output:
        _write_stdout(report)
        return
    try:
        write_atomically(output, report)
    except OSError as exc:
        where = printable(output)
        click.echo(f"kscan: error: cannot write {where}: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_ERROR)


def _write_stdout(report: Iterable[str]) -> None:
    """Print the report as it is made; a closed pipe (``kscan ... | head``) ends quietly (in
    the command group), a full disk clearly."""
    try:
        for block in _blocks(report):
            click.echo(block, nl=False, color=True)  # colour codes are present only if wanted
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        click.echo(f"kscan: error: cannot write the report: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_ERROR)


def _silence_stdout() -> None:
    """Point standard output at the null device, so that nothing left in its buffer is written
    (nor reported as a broken pipe) when the interpreter exits."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, sys.stdout.fileno())
    os.close(null)


def _require_stdout() -> None:
    """Exit with an error if kscan was started with its standard output closed (``>&-``)."""
    if sys.stdout is None:
        click.echo(
            "kscan: error: standard output is closed (-o FILE writes the report to a file)",
            err=True,
        )
        sys.exit(EXIT_ERROR)


def _blocks(pieces: Iterable[str], size: int = 1 << 16) -> Iterator[str]:
    """Pieces joined into blocks of about ``size`` characters (fewer, larger writes)."""
    block: list[str] = []
    length = 0
    for piece in pieces:
        block.append(piece)
        length += len(piece)
        if length >= size:
            yield "".join(block)
            block, length = [], 0
    if block:
        yield "".join(block)


@cli.command("fix")
@click.argument("paths", nargs=-1, required=True)
@click.option("--diff", is_flag=True, help="Print the fixes as a unified diff; write nothing.")
@click.option(
    "--unsafe-fixes",
    is_flag=True,
    help="Also apply the fixes that may change what a workload does ('kscan explain' says why).",
)
@click.option(
    "--write-network-policies",
    "network_policies",
    type=_DIRECTORY,
    metavar="DIR",
    help="Write a default-deny NetworkPolicy per namespace lacking one, each to a new file in DIR.",
)
@click.option(
    "--format",
    "output_format",
    type=_FORMATS,
    default="concise",
    show_default=True,
    help="Format of the findings that remain after fixing.",
)
@click.option(
    "--fail-on",
    type=_FAIL_ON,
    help="Exit 1 when a remaining finding has this severity or a higher one [low].",
)
@_CONFIG
@_ISOLATED
@_SELECT
@_ENABLE
@_IGNORE
@_EXCLUDE
@_RULES_DIR
@_CONTEXT
def fix_command(
    paths: tuple[str, ...],
    diff: bool,
    unsafe_fixes: bool,
    network_policies: str | None,
    output_format: str,
    fail_on: str | None,
    config_path: str | None,
    isolated: bool,
    select: tuple[str, ...],
    enable: tuple[str, ...],
    ignore: tuple[str, ...],
    exclude: tuple[str, ...],
    rules_dir: str | None,
    context: tuple[str, ...],
) -> None:
    """Fix the findings of PATHS that have a fix (safe ones; --unsafe-fixes adds the others),
    keeping every comment and the layout, then scan again: the exit code says whether findings
    remain, as for a scan. Files with nothing to fix are not written."""
    _require_stdout()
    scan_options = ScanOptions(
        paths=paths,
        output_format=output_format,
        fail_on=fail_on,
        color="never",
        config_path=config_path,
        isolated=isolated,
        select=select,
        enable=enable,
        ignore=ignore,
        exclude=exclude,
        rules_dir=rules_dir,
        context=context,
    )
    try:
        report = fix(FixOptions(scan_options, diff, unsafe_fixes, network_policies))
    except UsageProblem as problem:
        _stop(problem)
    _show(report.diagnostics)
    if diff:
        _write_stdout([report.diff])
    else:
        _show(report.rescan.diagnostics)
        if report.rescan.rendered is not None:
            _deliver(report.rescan.rendered, None)
    sys.exit(report.exit_code)


@cli.command("threats")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(THREAT_FORMATS),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("--max-paths", type=_AT_LEAST_ONE, default=50, show_default=True, help="Paths shown.")
@click.option(
    "--context", multiple=True, metavar="PATH", help="Read PATH too (its objects start no path)."
)
@click.option(
    "--no-lateral",
    is_flag=True,
    help="No pod-to-pod steps (through the pod network or a node's local services).",
)
@click.option(
    "--config",
    "config_path",
    type=_FILE,
    help="Use this configuration file (its trusted-registries).",
)
@_OUTPUT
@_JOBS
@click.option(
    "--base-dir",
    type=_DIRECTORY,
    help="Root for SARIF paths (default: the git top level, else the current dir).",
)
def threats_command(
    paths: tuple[str, ...],
    output_format: str,
    max_paths: int,
    context: tuple[str, ...],
    no_lateral: bool,
    config_path: str | None,
    output: str | None,
    jobs: int,
    base_dir: str | None,
) -> None:
    """Attack paths across the objects of PATHS: from entry points and containers to a node,
    the cluster and secrets, one hop per line."""
    output = None if output in (None, "-") else output
    if output is None:
        _require_stdout()
    options = ThreatOptions(
        paths,
        output_format,
        max_paths,
        context,
        not no_lateral,
        jobs=jobs,
        base_dir=base_dir,
        config_path=config_path,
    )
    try:
        report = threats(options)
    except UsageProblem as problem:
        _stop(problem)
    _show(report.diagnostics)
    _deliver(report.rendered, output)
    sys.exit(report.exit_code)


@cli.command("rules")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "markdown", "templates"]),
    default="table",
    show_default=True,
    help="markdown: the full rule reference (docs/rules.md); templates: the check template "
    "reference (docs/templates.md).",
)
@click.option("--config", "config_path", type=_FILE, help="Use this configuration file.")
@click.option("--rules-dir", type=_DIRECTORY, help="Also load custom rules from DIR.")
def rules_command(output_format: str, config_path: str | None, rules_dir: str | None) -> None:
    """List the rules (built-in and custom): id, name, severity, STRIDE, ATT&CK, on by default."""
    _require_stdout()
    from kscan.rules import docs, template_docs  # only for this command

    rules = _rules_or_exit(config_path, rules_dir)
    if output_format == "markdown":
        click.echo(docs.reference(rules), nl=False)
        return
    if output_format == "templates":
        click.echo(template_docs.reference(rules), nl=False)
        return
    for line in rule_table(rules):
        click.echo(line)


@cli.command("explain")
@click.argument("rule")
@click.option("--config", "config_path", type=_FILE, help="Use this configuration file.")
@click.option("--rules-dir", type=_DIRECTORY, help="Also load custom rules from DIR.")
def explain_command(rule: str, config_path: str | None, rules_dir: str | None) -> None:
    """Show the documentation of RULE (id or name), built-in or custom."""
    from kscan.rules.docs import as_text  # only for this command

    _require_stdout()
    found = find_rule(_rules_or_exit(config_path, rules_dir), rule)
    if found is None:
        close = similar_rules(_rules_or_exit(config_path, rules_dir), rule)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        raise click.UsageError(f"no rule '{rule}'; {hint}'kscan rules' lists them")
    click.echo(as_text(found), nl=False)


@cli.group("config")
def config_group() -> None:
    """Inspect kscan's configuration."""


@config_group.command("show")
@click.argument("paths", nargs=-1)
@click.option("--config", "config_path", type=_FILE, help="Use this configuration file.")
@click.option("--isolated", is_flag=True, help="Ignore every configuration file.")
def config_show(paths: tuple[str, ...], config_path: str | None, isolated: bool) -> None:
    """Print the effective configuration for each of PATHS (default: the current directory),
    and where each value comes from."""
    _require_stdout()
    try:
        for line in effective_configuration(paths, config_path, isolated):
            click.echo(line)
    except UsageProblem as problem:
        _stop(problem)


def _rules_or_exit(config_path: str | None, rules_dir: str | None) -> list[Rule]:
    try:
        return known_rules(config_path, rules_dir)
    except UsageProblem as problem:
        _stop(problem)


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point. A signal (Ctrl-C) ends the run at once (``interrupts``). The
    cyclic garbage collector stays paused for the whole (short-lived) run: scans and their
    reports allocate millions of acyclic objects."""
    interrupts.install()
    with collector_paused():
        try:
            return cli.main(args=argv, prog_name="kscan")
        except OSError as exc:  # a command's output could not be written (a full disk)
            _output_failed(exc)


def _output_failed(exc: OSError) -> NoReturn:
    """One line for an error no command handled (writing its output, mostly), and exit 2; what
    is left in standard output's buffer is dropped, so that exiting does not fail again."""
    where = "standard output" if exc.filename is None else printable(str(exc.filename))
    with suppress(OSError):  # standard error may be full too
        click.echo(f"kscan: error: {where}: {exc.strerror or exc}", err=True)
    if sys.stdout is not None:
        _silence_stdout()
    sys.exit(EXIT_ERROR)
