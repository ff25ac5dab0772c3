"""Command line: ``kscan PATH...`` scans, ``kscan rules`` lists rules, ``kscan explain`` shows one.

Exit codes: 0 no finding at or above ``--fail-on``; 1 such findings; 2 usage error, bad rule files,
an output that cannot be written, or an input that could not be read, parsed or validated (the
other inputs are still scanned); 128 + N when signal N stopped the run, 141 for a closed pipe.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import click

from kscan import __version__
from kscan.config.files import CONFIG_NAMES, PATH_SETTINGS, Config, ConfigError
from kscan.input.limits import DEFAULT_LIMITS, LIBYAML_MAX_DEPTH, Limits, describe_size, parse_size
from kscan.input.sources import MANIFEST_SUFFIXES, STDIN, STDIN_DISPLAY
from kscan.model.directives import Directive
from kscan.model.taxonomy import Severity
from kscan.report import FORMATS, SARIF_MAX_RESULTS, ReportOptions, printable
from kscan.results import baseline as baseline_file
from kscan.results.locations import is_under, relative_to_base, repository_root
from kscan.results.store import FindingStore
from kscan.results.suppression import Suppressor
from kscan.rules import template_docs
from kscan.rules.docs import as_text, reference
from kscan.rules.profiles import Profile, Profiles
from kscan.rules.registry import Rule, RuleError, load_rules
from kscan.rules.selection import configure
from kscan.scan.engine import ScanResult, collector_paused, scan
from kscan.scan.parallel import available_cores
from kscan.support import interrupts
from kscan.support.files import write_atomically

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
FAIL_ON_CHOICES = [severity.value for severity in Severity] + ["never"]


class _DefaultToScan(click.Group):
    """A group whose default command is ``scan``: ``kscan deploy/`` means ``kscan scan deploy/``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first = args[0] if args else None
        if first not in self.commands and first not in ("--help", "-h", "--version"):
            args = ["scan", *args]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:  # the reader of the output went away (``kscan ... | head``)
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
    type=click.Choice(FORMATS),
    help="Report format [text]; sarif: code scanning, github: PR annotations, junit, markdown.",
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
    type=click.Path(file_okay=False),
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
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Judge every file under this configuration file (default: each file's nearest).",
)
@click.option(
    "--isolated",
    is_flag=True,
    help="Ignore every configuration file found in the scanned tree (only --config, if given).",
)
@click.option(
    "--no-default-excludes",
    "scan_default_skips",
    is_flag=True,
    help="Also scan node_modules, .venv, .tox and __pycache__ (skipped and reported by default).",
)
@click.option(
    "--select",
    multiple=True,
    metavar="RULE",
    help="Run only these rules (ids, names, prefixes, globs).",
)
@click.option(
    "--enable",
    multiple=True,
    metavar="RULE",
    help="Also run RULE (for rules off by default); 'all' runs all.",
)
@click.option(
    "--ignore", multiple=True, metavar="RULE", help="Do not run RULE (ids, names, prefixes, globs)."
)
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip paths matching GLOB.")
@click.option(
    "--rules-dir", type=click.Path(file_okay=False), help="Also load custom rules from DIR."
)
@click.option(
    "--context",
    multiple=True,
    metavar="PATH",
    help="Also read PATH for cross-object rules (NetworkPolicy coverage); report nothing in it.",
)
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
    type=click.Path(dir_okay=False, exists=True),
    help="Report only findings not in FILE.",
)
@click.option(
    "--write-baseline", type=click.Path(dir_okay=False), help="Record the current findings in FILE."
)
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
    type=click.IntRange(1),
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
    type=click.IntRange(1),
    default=DEFAULT_LIMITS.nodes,
    show_default=True,
    help="Reject documents with more than N nodes once aliases are expanded (alias bombs).",
)
@click.option(
    "-j",
    "--jobs",
    metavar="N",
    type=click.IntRange(1),
    default=available_cores(),
    show_default="the number of cores",
    help="Scan files in N processes (inputs of 1 MiB or more); the report is the same.",
)
def scan_command(
    paths: tuple[str, ...],
    color: str,
    sarif_category: str | None,
    sarif_max_results: int,
    stdin_filename: str,
    config_path: str | None,
    isolated: bool,
    scan_default_skips: bool,
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
    output: str | None,
    **settings: Any,
) -> None:
    """Scan PATHS (files, directories, - for stdin) and report findings."""
    limits = Limits(max_file_size, max_documents, max_depth, max_nodes)
    output = None if output in (None, "-") else output
    if output is None and not write_baseline:
        _require_stdout()
    profiles = _profiles_or_exit(paths, config_path, isolated, settings)
    run_config = profiles.of(_first_path(paths)).config
    base_dir = run_config["base-dir"] or str(repository_root(paths))
    output_format = run_config["format"]
    own_files = _own_files_or_exit(paths, (output, write_baseline), (baseline,))
    suppressor = Suppressor()
    result = _guarded_scan(
        paths,
        profiles,
        stdin_filename,
        context,
        suppressor,
        lambda path: os.path.realpath(path) in own_files or _is_config_file(path),
        limits,
        jobs,
        not scan_default_skips,
    )
    for error in result.errors:
        click.echo(printable(str(error)), err=True)
    rules = profiles.all_rules()
    if write_baseline:
        _write_baseline_or_exit(Path(write_baseline), result, base_dir)
        if not output:  # the baseline is the only output asked for
            sys.exit(_baseline_exit_code(result))
    absent: list[baseline_file.Entry] = []
    if baseline and not write_baseline:  # a report beside a new baseline shows every finding
        result.findings, absent = _compare_or_exit(Path(baseline), result, rules, base_dir)
    active = [[(rule.id, rule.name) for rule in profile.rules] for profile in profiles.profiles]

    def ran_for(directive: Directive) -> list[tuple[str, str]]:
        """The rules that ran for a suppression's files (its configuration's, or its file's)."""
        external = directive.kind == "external"
        return active[directive.profile if external else result.profile_of.get(directive.path, 0)]

    unused = suppressor.unused(ran_for) if warn_unused_suppressions else []
    options = ReportOptions(
        color=_use_color(color, output),
        base_dir=base_dir,
        sarif_category=sarif_category,
        sarif_max_results=sarif_max_results,
        show_suppressed=show_suppressed,
        absent=tuple(absent),
    )
    report = _render(output_format, result, rules, options)
    for directive, selector in unused:
        where = f"{directive.path}:{directive.line}:{directive.column}"
        warning = f"{where}: warning: suppression of {selector} matches no finding"
        click.echo(printable(warning), err=True)
    _note_skipped(result)
    if output_format == "sarif":
        _warn_outside_base_dir(result, base_dir)
        if len(result.findings) > sarif_max_results:
            click.echo(
                f"kscan: warning: the SARIF report keeps the {sarif_max_results} most severe of "
                f"{len(result.findings)} findings (--sarif-max-results raises the cap)",
                err=True,
            )
    _deliver(report, output)
    if write_baseline:
        sys.exit(_baseline_exit_code(result))
    code = exit_code(result, lambda path: profiles.profiles[result.profile_of.get(path, 0)])
    sys.exit(EXIT_FINDINGS if unused and code == EXIT_OK else code)


def _first_path(paths: tuple[str, ...]) -> str:
    """The path whose configuration sets the run-wide settings (format, base-dir)."""
    return next((path for path in paths if path != STDIN), STDIN)


def _is_config_file(path: str) -> bool:
    """kscan's own configuration files are not manifests."""
    return os.path.basename(path) in CONFIG_NAMES


def _own_files_or_exit(
    paths: tuple[str, ...], written: tuple[str | None, ...], read: tuple[str | None, ...]
) -> set[str]:
    """The files kscan writes or reads for itself (report, baselines), left out of the scan. A
    report or baseline may not overwrite an input (a path named on the command line, or a
    manifest inside a scanned directory other than a previous kscan report or baseline), nor
    be written through a symbolic link inside a scanned directory, which the scanned
    repository may have planted to point anywhere."""
    named = {os.path.realpath(path) for path in paths if path != STDIN}
    folders = [path for path in paths if path != STDIN and os.path.isdir(path)]
    real_folders = [os.path.realpath(path) for path in folders]
    given_folders = [os.path.abspath(path) for path in folders]
    own = {os.path.realpath(path) for path in read if path}
    for target in (t for t in written if t):
        real, absolute = os.path.realpath(target), os.path.abspath(target)
        if real != absolute and any(absolute.startswith(f + os.sep) for f in given_folders):
            _refuse(target, "it leads through a symbolic link inside the scanned tree")
        inside = any(real.startswith(folder + os.sep) for folder in real_folders)
        scanned = inside and real.lower().endswith(MANIFEST_SUFFIXES)
        if real in named or (scanned and os.path.isfile(real) and not _written_by_kscan(real)):
            _refuse(target, "it is one of the inputs being scanned")
        own.add(real)
    return own


def _refuse(target: str, why: str) -> NoReturn:
    click.echo(f"kscan: error: refusing to write {printable(target)}: {why}", err=True)
    sys.exit(EXIT_ERROR)


def _written_by_kscan(path: str) -> bool:
    """Whether a file is a kscan JSON report or baseline (and nothing Kubernetes would apply:
    no kind), which a new report or baseline may replace."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(64)
            if not head.startswith((b'{\n  "findings": ', b'{\n "version": ')):
                return False
            data = json.loads(head + handle.read(DEFAULT_LIMITS.file_bytes))
    except (OSError, ValueError):
        return False
    if not isinstance(data, dict) or "kind" in data or "apiVersion" in data:
        return False
    return "summary" in data or data.get("tool") == "kscan"


def _note_skipped(result: ScanResult) -> None:
    if result.skipped:
        shown = ", ".join(printable(path) for path in result.skipped[:5])
        more = f" and {len(result.skipped) - 5} more" if len(result.skipped) > 5 else ""
        click.echo(
            f"kscan: note: skipped {len(result.skipped)} director"
            f"{'y' if len(result.skipped) == 1 else 'ies'} by default ({shown}{more}); "
            "--no-default-excludes scans them",
            err=True,
        )


SETTING_OPTIONS = {
    "output_format": "format",
    "fail_on": "fail-on",
    "base_dir": "base-dir",
    "select": "select",
    "enable": "enable",
    "ignore": "ignore",
    "exclude": "exclude",
    "rules_dir": "rules-dir",
}
"""Command-line options that override a configuration setting when given."""


def _profiles_or_exit(
    paths: tuple[str, ...], config_path: str | None, isolated: bool, options: dict[str, Any]
) -> Profiles:
    """The profiles of a scan, with the configuration of the first path loaded (so that a
    broken one is reported before anything is scanned)."""
    explicit = Path(config_path) if config_path else None
    if explicit is not None and not explicit.is_file():
        click.echo(f"{printable(config_path or '')}: error: no such configuration file", err=True)
        sys.exit(EXIT_ERROR)
    profiles = Profiles(
        lambda config: _override(config, options),
        _configured_rules,
        explicit,
        isolated,
    )
    try:
        profiles.of(_first_path(paths))
    except (ConfigError, RuleError) as exc:
        _config_problem_and_exit(exc)
    return profiles


def _override(config: Config, options: dict[str, Any]) -> None:
    """The command line's settings over a configuration: ``--select`` replaces the file's
    list, the other lists add to it (``--exclude`` globs relative to the current directory)."""
    for option, key in SETTING_OPTIONS.items():
        value = options.get(option)
        if value in (None, ()):
            continue
        if key in PATH_SETTINGS:
            value = os.path.abspath(value)
        if isinstance(value, tuple):
            value = [item.strip() for text in value for item in text.split(",") if item.strip()]
            if key == "exclude":
                config.exclude_roots += [(pattern, Path.cwd()) for pattern in value]
            if key != "select":
                value = [*config[key], *value]
        config.override(key, value)


_LOADED_RULES: dict[str | None, list[Rule]] = {}


def _configured_rules(config: Config) -> list[Rule]:
    """The rules a configuration runs; raises RuleError or ConfigError."""
    rules_dir = config["rules-dir"]
    if rules_dir not in _LOADED_RULES:
        _LOADED_RULES[rules_dir] = load_rules(custom=Path(rules_dir) if rules_dir else None)
    return configure(_LOADED_RULES[rules_dir], config)


def _config_problem_and_exit(exc: ConfigError | RuleError) -> NoReturn:
    problems = [exc.problem] if isinstance(exc, ConfigError) else exc.problems
    for problem in problems:
        click.echo(printable(str(problem)), err=True)
    sys.exit(EXIT_ERROR)


def _write_baseline_or_exit(path: Path, result: ScanResult, base_dir: str) -> None:
    try:
        count = baseline_file.write(path, result.findings, base_dir)
    except baseline_file.BaselineError as exc:
        click.echo(printable(str(exc)), err=True)
        sys.exit(EXIT_ERROR)
    where = printable(str(path))
    click.echo(f"Wrote {count} finding{'' if count == 1 else 's'} to the baseline {where}.")


def _baseline_exit_code(result: ScanResult) -> int:
    """A run that writes a baseline accepts its findings: 0, or 2 if an input had errors."""
    return EXIT_ERROR if result.errors else EXIT_OK


def _compare_or_exit(
    path: Path, result: ScanResult, rules: list[Rule], base_dir: str
) -> tuple[FindingStore, list[baseline_file.Entry]]:
    scope = baseline_file.Scope(
        frozenset(rule.id for rule in rules),
        frozenset(relative_to_base(p, base_dir) or p for p in result.paths),
    )
    try:
        return baseline_file.compare(result.findings, baseline_file.load(path), base_dir, scope)
    except baseline_file.BaselineError as exc:
        click.echo(printable(str(exc)), err=True)
        sys.exit(EXIT_ERROR)


def _deliver(report: Iterable[str], output: str | None) -> None:
    if not output:
        _write_stdout(report)
        return
    try:
        write_atomically(Path(output), report)
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


def exit_code(result: ScanResult, profile_of: Callable[[str], Profile]) -> int:
    """2 for input errors, else 1 if a finding reaches the ``fail-on`` threshold of the
    configuration governing its file, else 0. Suppressed findings and findings accepted in the
    baseline do not count."""
    if result.errors:
        return EXIT_ERROR
    for path, rank in result.findings.tally.worst.items():
        fail_on = profile_of(path).config["fail-on"]
        if fail_on != "never" and rank >= Severity(fail_on).rank:
            return EXIT_FINDINGS
    return EXIT_OK


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
@click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), help="Use this configuration file."
)
@click.option(
    "--rules-dir", type=click.Path(file_okay=False), help="Also load custom rules from DIR."
)
def rules_command(output_format: str, config_path: str | None, rules_dir: str | None) -> None:
    """List the rules (built-in and custom): id, name, severity, STRIDE, ATT&CK, on by default."""
    _require_stdout()
    rules = _known_rules(config_path, rules_dir)
    if output_format == "markdown":
        click.echo(reference(rules), nl=False)
        return
    if output_format == "templates":
        click.echo(template_docs.reference(rules), nl=False)
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
        for rule in rules
    ]
    header = ("ID", "NAME", "SEVERITY", "STRIDE", "TACTIC", "TECHNIQUE", "DEFAULT")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


@cli.command("explain")
@click.argument("rule")
@click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), help="Use this configuration file."
)
@click.option(
    "--rules-dir", type=click.Path(file_okay=False), help="Also load custom rules from DIR."
)
def explain_command(rule: str, config_path: str | None, rules_dir: str | None) -> None:
    """Show the documentation of RULE (id or name), built-in or custom."""
    _require_stdout()
    for candidate in _known_rules(config_path, rules_dir):
        if rule in (candidate.id, candidate.name) or rule.upper() == candidate.id:
            click.echo(as_text(candidate), nl=False)
            return
    raise click.UsageError(f"no rule '{rule}'; 'kscan rules' lists them")


def _known_rules(config_path: str | None, rules_dir: str | None) -> list[Rule]:
    """Built-in rules plus the custom ones named by --rules-dir or the configuration that
    governs the current directory."""
    profiles = _profiles_or_exit((".",), config_path, False, {"rules_dir": rules_dir})
    custom = profiles.of(".").config["rules-dir"]
    return _LOADED_RULES[custom]


@cli.group("config")
def config_group() -> None:
    """Inspect kscan's configuration."""


@config_group.command("show")
@click.argument("paths", nargs=-1)
@click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), help="Use this configuration file."
)
@click.option("--isolated", is_flag=True, help="Ignore every configuration file.")
def config_show(paths: tuple[str, ...], config_path: str | None, isolated: bool) -> None:
    """Print the effective configuration for each of PATHS (default: the current directory),
    and where each value comes from."""
    _require_stdout()
    profiles = _profiles_or_exit(paths or (".",), config_path, isolated, {})
    for path in paths or (".",):
        try:
            config = profiles.of(path).config
        except (ConfigError, RuleError) as exc:
            _config_problem_and_exit(exc)
        where = printable(str(config.file.path)) if config.file else "none found (defaults apply)"
        if len(paths) > 1:
            click.echo(f"# {printable(path)}")
        click.echo(f"# configuration file: {where}")
        for key, value in config.values.items():
            click.echo(f"{key}: {json.dumps(value)}  # {config.origins[key]}")


def _guarded_scan(
    paths: tuple[str, ...],
    profiles: Profiles,
    stdin_filename: str,
    context: tuple[str, ...],
    suppressor: Suppressor,
    excluded: Callable[[str], bool],
    limits: Limits,
    jobs: int,
    default_skips: bool,
) -> ScanResult:
    try:
        return scan(
            paths,
            profiles,
            stdin_filename,
            context,
            suppressor,
            excluded,
            limits,
            jobs,
            default_skips,
        )
    except (ConfigError, RuleError) as exc:  # a configuration met on the way cannot be used
        _config_problem_and_exit(exc)
    except Exception as exc:  # a bug in kscan: one line for the user, the traceback on request
        if os.environ.get("KSCAN_DEBUG"):
            raise
        click.echo(
            f"kscan: internal error: {type(exc).__name__}: {exc} (set KSCAN_DEBUG=1 for details)",
            err=True,
        )
        sys.exit(EXIT_ERROR)


def _warn_outside_base_dir(result: ScanResult, base_dir: str) -> None:
    outside = sorted(p for p in result.findings.tally.paths if not is_under(p, base_dir))
    if outside:
        click.echo(
            f"kscan: warning: {len(outside)} file(s) outside --base-dir {printable(base_dir)} "
            f"(first: {printable(outside[0])}) get absolute URIs, which GitHub code scanning "
            "rejects",
            err=True,
        )


def _render(
    output_format: str, result: ScanResult, rules: list[Rule], options: ReportOptions
) -> Iterator[str]:
    reporter = importlib.import_module(f"kscan.report.{output_format}")  # imported only if used
    return reporter.render(result, rules, options)  # type: ignore[no-any-return]


def _use_color(choice: str, output: str | None) -> bool:
    if choice != "auto":
        return choice == "always"
    no_color = os.environ.get("NO_COLOR")  # https://no-color.org: set and not empty
    return output is None and not no_color and sys.stdout.isatty()


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point. A signal (Ctrl-C) ends the run at once (``interrupts``). The
    cyclic garbage collector stays paused for the whole (short-lived) run: scans and their
    reports allocate millions of acyclic objects."""
    interrupts.install()
    with collector_paused():
        return cli.main(args=argv, prog_name="kscan")
