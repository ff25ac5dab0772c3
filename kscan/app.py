"""The application: a scan from options to a report, and the rule and configuration listings,
for the command line or any other caller. Nothing here prints or exits: what the user should
see is returned as ``Diagnostic`` lines, and a problem that stops a run is raised as
``UsageProblem``."""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Literal

from kscan.config.files import (
    CONFIG_NAMES,
    PATH_SETTINGS,
    Config,
    ConfigError,
    discover,
    load,
    resolve,
)
from kscan.input.limits import DEFAULT_LIMITS, Limits
from kscan.input.sources import MANIFEST_SUFFIXES, STDIN, STDIN_DISPLAY
from kscan.model.directives import Directive
from kscan.model.taxonomy import Severity
from kscan.report import (
    FORMATS,
    SARIF_MAX_RESULTS,
    STABLE_FIELD_FORMATS,
    ReportOptions,
    printable,
)
from kscan.results.scan_result import ScanResult
from kscan.results.store import FindingStore
from kscan.results.suppression import Suppressor
from kscan.rules.cache import load_cached_rules
from kscan.rules.profiles import Profiles
from kscan.rules.registry import Rule, RuleError
from kscan.rules.selection import configure
from kscan.scan.engine import scan
from kscan.support.locations import is_under, relative_to_base, repository_root
from kscan.support.paths import pure
from kscan.support.values import Record, dataclass, replace

if TYPE_CHECKING:
    from kscan.fix.files import FileFix
    from kscan.fix.network_policies import NewPolicy
    from kscan.results import baseline as baseline_file
    from kscan.results.findings import Finding

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


@dataclass(frozen=True)
class ScanOptions:
    """Everything a scan takes. ``None`` and empty settings leave the configuration's value."""

    paths: tuple[str, ...]
    """Files, directories and ``-`` (standard input)."""
    output_format: str | None = None
    output: str | None = None
    """Where the caller will write the report (``None``: standard output): kscan refuses a file
    that is one of the inputs, and colours only standard output."""
    fail_on: str | None = None
    color: str = "auto"
    """``always``, ``never``, or ``auto``: on a terminal unless ``NO_COLOR`` is set."""
    terminal: bool = False
    """Whether standard output is a terminal."""
    no_color: str | None = None
    """The ``NO_COLOR`` environment variable, if set."""
    base_dir: str | None = None
    sarif_category: str | None = None
    sarif_max_results: int = SARIF_MAX_RESULTS
    stdin_filename: str = STDIN_DISPLAY
    config_path: str | None = None
    isolated: bool = False
    default_skips: bool = True
    """Skip ``node_modules``, ``.venv`` and the like (reported in a note)."""
    select: tuple[str, ...] = ()
    enable: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    rules_dir: str | None = None
    context: tuple[str, ...] = ()
    show_suppressed: bool = False
    warn_unused_suppressions: bool = False
    baseline: str | None = None
    write_baseline: str | None = None
    limits: Limits = DEFAULT_LIMITS
    jobs: int = 1
    threats: bool = False
    """Keep the records the threat graph reads (``ScanResult.threat_facts``): ``kscan fix``
    reads the scan's bindings in them."""

    def __post_init__(self) -> None:
        """Options a library caller gets wrong are refused before anything is scanned (the
        command line's choices make them right)."""
        if isinstance(self.paths, str):
            raise TypeError("ScanOptions.paths is a tuple of paths, not one string")
        problems = []
        if not self.paths:
            problems.append("kscan: error: no paths to scan")
        if self.output_format is not None and self.output_format not in FORMATS:
            problems.append(f"kscan: error: unknown format {printable(self.output_format)!r}")
        if self.fail_on is not None and self.fail_on not in FAIL_ON_CHOICES:
            problems.append(f"kscan: error: unknown fail-on {printable(self.fail_on)!r}")
        if self.color not in ("auto", "always", "never"):
            problems.append(f"kscan: error: unknown color {printable(self.color)!r}")
        if problems:
            raise UsageProblem(Diagnostic("error", text) for text in problems)


FAIL_ON_CHOICES = (*(severity.value for severity in Severity), "never")
"""The thresholds of ``fail-on``: a severity, or ``never``."""


class Diagnostic(Record):
    """One line for the user: an error, warning or note about the run (standard error for the
    command line), or information (standard output). The text is safe for a terminal."""

    level: Literal["error", "warning", "note", "info"]
    text: str


class UsageProblem(Exception):
    """A run that cannot go on (a bad configuration or rule file, an output that would
    overwrite an input, an unusable baseline): everything to show, in order (what the run
    reported before it stopped, then the problem), and the exit code."""

    def __init__(self, diagnostics: Iterable[Diagnostic], exit_code: int = EXIT_ERROR) -> None:
        self.diagnostics = tuple(diagnostics)
        self.exit_code = exit_code
        super().__init__("\n".join(diagnostic.text for diagnostic in self.diagnostics))


class Report:
    """What a scan produced, for the caller to show (a plain class: cheaper to define at
    start-up than a dataclass)."""

    __slots__ = ("absent", "diagnostics", "exit_code", "rendered", "result", "rules", "unused")

    def __init__(
        self,
        result: ScanResult,
        rules: list[Rule],
        absent: list[baseline_file.Entry],
        unused: list[tuple[Directive, str]],
        diagnostics: list[Diagnostic],
        rendered: Iterator[str] | None,
        exit_code: int,
    ) -> None:
        self.result = result
        self.rules = rules
        """Every rule some configuration ran."""
        self.absent = absent
        """Baseline entries no longer found."""
        self.unused = unused
        """Suppressions (and the selector in them) that matched no finding, when asked for."""
        self.diagnostics = diagnostics
        self.rendered = rendered
        """The report, made as it is read (once: it is a generator); ``None`` when only a
        baseline was asked for. ``run`` writes no file: the caller writes this to
        ``ScanOptions.output``."""
        self.exit_code = exit_code


def run(options: ScanOptions) -> Report:
    """Scan ``options.paths``, write the baseline if asked, and render the report; raises
    ``UsageProblem``."""
    profiles = _profiles(options.paths, options.config_path, options.isolated, _settings(options))
    run_config = profiles.of(_first_path(options.paths)).config
    base_dir = run_config["base-dir"] or repository_root(options.paths)
    output_format = run_config["format"]
    suppressor = Suppressor()
    result = _scan(options, profiles, suppressor, output_format in STABLE_FIELD_FORMATS)
    diagnostics = [Diagnostic("error", printable(str(error))) for error in result.errors]
    diagnostics += [Diagnostic("note", printable(str(note))) for note in result.notes]
    rules = profiles.all_rules()
    if options.write_baseline:
        diagnostics.append(_write_baseline(options.write_baseline, result, base_dir, diagnostics))
        if not options.output:  # the baseline is the only output asked for
            return Report(result, rules, [], [], diagnostics, None, _baseline_exit_code(result))
    absent: list[baseline_file.Entry] = []
    if options.baseline and not options.write_baseline:  # beside a new baseline: every finding
        result.findings, absent = _compare(options.baseline, result, rules, base_dir, diagnostics)
    unused = _unused(suppressor, profiles, result) if options.warn_unused_suppressions else []
    report_options = ReportOptions(
        color=use_color(options),
        base_dir=base_dir,
        sarif_category=options.sarif_category,
        sarif_max_results=options.sarif_max_results,
        show_suppressed=options.show_suppressed,
        absent=tuple(absent),
    )
    rendered = _render(output_format, result, rules, report_options)
    diagnostics.extend(_unused_warnings(unused))
    diagnostics.extend(_skipped_note(result))
    if output_format == "sarif":
        diagnostics.extend(_sarif_warnings(result, base_dir, options))
    if options.write_baseline:
        code = _baseline_exit_code(result)
    else:
        code = _exit_code(result, profiles)
        code = EXIT_FINDINGS if unused and code == EXIT_OK else code
    return Report(result, rules, absent, unused, diagnostics, rendered, code)


def use_color(options: ScanOptions) -> bool:
    """Whether the report is coloured: as asked, or on a terminal unless ``NO_COLOR`` is set
    and not empty (https://no-color.org)."""
    if options.color != "auto":
        return options.color == "always"
    return options.output is None and not options.no_color and options.terminal


def known_rules(config_path: str | None = None, rules_dir: str | None = None) -> list[Rule]:
    """Built-in rules plus the custom ones in ``rules_dir`` or named by the configuration that
    governs the current directory; raises ``UsageProblem``."""
    profiles = _profiles((".",), config_path, False, {"rules-dir": rules_dir})
    return _LOADED_RULES[profiles.of(".").config["rules-dir"]]


def find_rule(rules: Iterable[Rule], name: str) -> Rule | None:
    """The rule with this id (in any case) or name."""
    for rule in rules:
        if name in (rule.id, rule.name) or name.upper() == rule.id:
            return rule
    return None


def similar_rules(rules: Iterable[Rule], name: str) -> list[str]:
    """Up to three rules (``name (ID)``) whose id or name is close to ``name``, for "did you
    mean": ids that start with it (``KS10``), names that contain it (``privileged``), then the
    closest names and ids (difflib), in that order."""
    import difflib  # only for an unknown rule

    rules = list(rules)
    by_key = {key: rule for rule in rules for key in (rule.name, rule.id.lower())}
    wanted = name.lower()
    found = [rule for rule in rules if len(wanted) >= 3 and rule.id.lower().startswith(wanted)]
    found += sorted(
        (rule for rule in rules if len(wanted) >= 3 and wanted in rule.name), key=lambda r: r.name
    )
    found += [by_key[key] for key in difflib.get_close_matches(wanted, list(by_key), 3, 0.6)]
    unique = list({rule.id: rule for rule in found}.values())[:3]
    return [f"{rule.name} ({rule.id})" for rule in unique]


def rule_table(rules: Iterable[Rule]) -> list[str]:
    """The rules as the lines of a table: id, name, severity, STRIDE, ATT&CK, on by default."""
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
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]


def effective_configuration(
    paths: tuple[str, ...], config_path: str | None = None, isolated: bool = False
) -> Iterator[str]:
    """The lines of the effective configuration of each path (default: the current directory),
    each value with where it comes from; raises ``UsageProblem`` for a configuration that
    cannot be used (after the lines of the paths before it)."""
    profiles = _profiles(paths or (".",), config_path, isolated, {})
    for path in paths or (".",):
        try:
            config = profiles.of(path).config
        except (ConfigError, RuleError) as exc:
            raise _config_problem(exc) from exc
        where = printable(str(config.file.path)) if config.file else "none found (defaults apply)"
        if len(paths) > 1:
            yield f"# {printable(path)}"
        yield f"# configuration file: {where}"
        for key, value in config.values.items():
            yield f"{key}: {json.dumps(value)}  # {config.origins[key]}"


def _settings(options: ScanOptions) -> dict[str, Any]:
    """The options that override a configuration setting, by the setting's name."""
    return {
        "format": options.output_format,
        "fail-on": options.fail_on,
        "base-dir": options.base_dir,
        "select": options.select,
        "enable": options.enable,
        "ignore": options.ignore,
        "exclude": options.exclude,
        "rules-dir": options.rules_dir,
    }


def _error(text: str) -> UsageProblem:
    return UsageProblem([Diagnostic("error", text)])


def _config_problem(exc: ConfigError | RuleError) -> UsageProblem:
    problems = [exc.problem] if isinstance(exc, ConfigError) else exc.problems
    return UsageProblem(Diagnostic("error", printable(str(problem))) for problem in problems)


def _first_path(paths: tuple[str, ...]) -> str:
    """The path whose configuration sets the run-wide settings (format, base-dir)."""
    return next((path for path in paths if path != STDIN), STDIN)


def _is_config_file(path: str) -> bool:
    """kscan's own configuration files are not manifests."""
    return os.path.basename(path) in CONFIG_NAMES


_LOADED_RULES: dict[str | None, list[Rule]] = {}
"""The rules of each rules directory, loaded once per process."""


def _configured_rules(config: Config) -> list[Rule]:
    """The rules a configuration runs; raises RuleError or ConfigError."""
    rules_dir = config["rules-dir"]
    if rules_dir not in _LOADED_RULES:
        _LOADED_RULES[rules_dir] = load_cached_rules(rules_dir or None)
    return configure(_LOADED_RULES[rules_dir], config)


def _profiles(
    paths: tuple[str, ...],
    config_path: str | None,
    isolated: bool,
    settings: dict[str, Any],
) -> Profiles:
    """The profiles of a scan, with the configuration of the first path loaded (so that a
    broken one is reported before anything is scanned)."""
    explicit = pure(config_path) if config_path else None
    if explicit is not None and not os.path.isfile(explicit):
        raise _error(f"{printable(config_path or '')}: error: no such configuration file")
    profiles = Profiles(
        lambda config: _override(config, settings), _configured_rules, explicit, isolated
    )
    try:
        profiles.of(_first_path(paths))
    except (ConfigError, RuleError) as exc:
        raise _config_problem(exc) from exc
    return profiles


def _override(config: Config, settings: dict[str, Any]) -> None:
    """The caller's settings over a configuration: ``select`` replaces the file's list, the
    other lists add to it (``exclude`` globs relative to the current directory)."""
    for key, value in settings.items():
        if value in (None, ()):
            continue
        if key in PATH_SETTINGS:
            value = os.path.abspath(value)
        if isinstance(value, tuple):
            value = [item.strip() for text in value for item in text.split(",") if item.strip()]
            if key == "exclude":
                config.exclude_roots += [(pattern, os.getcwd()) for pattern in value]
            if key != "select":
                value = [*config[key], *value]
        config.override(key, value)


def _scan(
    options: ScanOptions, profiles: Profiles, suppressor: Suppressor, stable_fields: bool
) -> ScanResult:
    """The scan of the paths, leaving out kscan's own files (which it may not overwrite).
    Findings get stable fields where the report or a baseline reads them."""
    own_files = _own_files(
        options.paths, (options.output, options.write_baseline), (options.baseline,)
    )
    try:
        return scan(
            options.paths,
            profiles,
            options.stdin_filename,
            options.context,
            suppressor,
            lambda path: (
                (bool(own_files) and os.path.realpath(path) in own_files) or _is_config_file(path)
            ),
            options.limits,
            options.jobs,
            options.default_skips,
            options.threats,
            stable_fields or bool(options.baseline or options.write_baseline),
        )
    except (ConfigError, RuleError) as exc:  # a configuration met on the way cannot be used
        raise _config_problem(exc) from exc


def _own_files(
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
            raise _refusal(target, "it leads through a symbolic link inside the scanned tree")
        inside = any(real.startswith(folder + os.sep) for folder in real_folders)
        scanned = inside and real.lower().endswith(MANIFEST_SUFFIXES)
        if real in named or (scanned and os.path.isfile(real) and not _written_by_kscan(real)):
            raise _refusal(target, "it is one of the inputs being scanned")
        own.add(real)
    return own


def _refusal(target: str, why: str) -> UsageProblem:
    return _error(f"kscan: error: refusing to write {printable(target)}: {why}")


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


def _write_baseline(
    name: str, result: ScanResult, base_dir: str, before: list[Diagnostic]
) -> Diagnostic:
    """Record the findings in a baseline; ``before``: what to show ahead of a failure."""
    from pathlib import Path  # only with --write-baseline (the baseline module uses it)

    from kscan.results import baseline as baseline_file

    path = Path(name)
    try:
        count = baseline_file.write(path, result.findings, base_dir)
    except baseline_file.BaselineError as exc:
        raise UsageProblem([*before, Diagnostic("error", printable(str(exc)))]) from exc
    where = printable(str(path))
    return Diagnostic(
        "info", f"Wrote {count} finding{'' if count == 1 else 's'} to the baseline {where}."
    )


def _baseline_exit_code(result: ScanResult) -> int:
    """A run that writes a baseline accepts its findings: 0, or 2 if an input had errors."""
    return EXIT_ERROR if result.errors else EXIT_OK


def _compare(
    name: str, result: ScanResult, rules: list[Rule], base_dir: str, before: list[Diagnostic]
) -> tuple[FindingStore, list[baseline_file.Entry]]:
    """The findings not in a baseline, and its entries no longer found."""
    from pathlib import Path  # only with --baseline (the baseline module uses it)

    from kscan.results import baseline as baseline_file

    path = Path(name)

    scope = baseline_file.Coverage(
        frozenset(rule.id for rule in rules),
        frozenset(relative_to_base(p, base_dir) or p for p in result.paths),
    )
    try:
        return baseline_file.compare(result.findings, baseline_file.load(path), base_dir, scope)
    except baseline_file.BaselineError as exc:
        raise UsageProblem([*before, Diagnostic("error", printable(str(exc)))]) from exc


def _unused(
    suppressor: Suppressor, profiles: Profiles, result: ScanResult
) -> list[tuple[Directive, str]]:
    """The suppressions that matched no finding of the rules that ran for their files."""
    active = [[(rule.id, rule.name) for rule in profile.rules] for profile in profiles.profiles]

    def ran_for(directive: Directive) -> list[tuple[str, str]]:
        """The rules that ran for a suppression's files (its configuration's, or its file's)."""
        external = directive.kind == "external"
        return active[directive.profile if external else result.profile_of.get(directive.path, 0)]

    return suppressor.unused(ran_for)


def _unused_warnings(unused: list[tuple[Directive, str]]) -> Iterator[Diagnostic]:
    for directive, selector in unused:
        where = f"{directive.path}:{directive.line}:{directive.column}"
        warning = f"{where}: warning: suppression of {selector} matches no finding"
        yield Diagnostic("warning", printable(warning))


def _skipped_note(result: ScanResult) -> list[Diagnostic]:
    if not result.skipped:
        return []
    shown = ", ".join(printable(path) for path in result.skipped[:5])
    more = f" and {len(result.skipped) - 5} more" if len(result.skipped) > 5 else ""
    text = (
        f"kscan: note: skipped {len(result.skipped)} director"
        f"{'y' if len(result.skipped) == 1 else 'ies'} by default ({shown}{more}); "
        "--no-default-excludes scans them"
    )
    return [Diagnostic("note", text)]


def _sarif_warnings(result: ScanResult, base_dir: str, options: ScanOptions) -> list[Diagnostic]:
    """Files GitHub code scanning would reject or cannot show, and findings beyond the cap."""
    max_results = options.sarif_max_results
    warnings = []
    if STDIN in options.paths and options.stdin_filename == STDIN_DISPLAY:
        from urllib.parse import quote  # only for this warning

        text = (
            f"kscan: warning: findings in standard input get the URI {quote(STDIN_DISPLAY)}, "
            "which no file of the repository has; name it with --stdin-filename PATH"
        )
        warnings.append(Diagnostic("warning", text))
    outside = sorted(p for p in result.findings.tally.paths if not is_under(p, base_dir))
    if outside:
        text = (
            f"kscan: warning: {len(outside)} file(s) outside --base-dir {printable(base_dir)} "
            f"(first: {printable(outside[0])}) get absolute URIs, which GitHub code scanning "
            "rejects"
        )
        warnings.append(Diagnostic("warning", text))
    if len(result.findings) > max_results:
        text = (
            f"kscan: warning: the SARIF report keeps the {max_results} most severe of "
            f"{len(result.findings)} findings (--sarif-max-results raises the cap)"
        )
        warnings.append(Diagnostic("warning", text))
    return warnings


def _exit_code(result: ScanResult, profiles: Profiles) -> int:
    """2 for input errors, else 1 if a finding reaches the ``fail-on`` threshold of the
    configuration governing its file, else 0. Suppressed findings and findings accepted in the
    baseline do not count."""
    if result.errors:
        return EXIT_ERROR
    for path, rank in result.findings.tally.worst.items():
        fail_on = profiles.profiles[result.profile_of.get(path, 0)].config["fail-on"]
        if fail_on != "never" and rank >= Severity(fail_on).rank:
            return EXIT_FINDINGS
    return EXIT_OK


def _render(
    output_format: str, result: ScanResult, rules: list[Rule], options: ReportOptions
) -> Iterator[str]:
    reporter = importlib.import_module(f"kscan.report.{output_format}")  # imported only if used
    return reporter.render(result, rules, options)  # type: ignore[no-any-return]


THREAT_FORMATS = ("text", "json", "sarif", "navigator", "markdown", "scenarios")
"""The formats of ``kscan threats``: each is the module ``kscan.report.threats_<format>`` with
``render(model: ThreatModel, options: RenderOptions) -> Iterator[str]``."""


@dataclass(frozen=True)
class ThreatOptions:
    """What ``kscan threats`` takes."""

    paths: tuple[str, ...]
    output_format: str = "text"
    max_paths: int = 50
    context: tuple[str, ...] = ()
    lateral: bool = True
    """Pod-to-pod steps through the pod network where no NetworkPolicy isolates a pod."""
    stdin_filename: str = STDIN_DISPLAY
    default_skips: bool = True
    limits: Limits = DEFAULT_LIMITS
    jobs: int = 1
    base_dir: str | None = None
    """Root of SARIF paths (None: the git top level of the paths, else the current dir)."""
    config_path: str | None = None
    """The configuration file (None: the one found above the first path), for its
    ``trusted-registries``."""

    def __post_init__(self) -> None:
        if isinstance(self.paths, str):
            raise TypeError("ThreatOptions.paths is a tuple of paths, not one string")
        problems = []
        if not self.paths:
            problems.append("kscan: error: no paths to scan")
        if self.output_format not in THREAT_FORMATS:
            problems.append(f"kscan: error: unknown format {printable(self.output_format)!r}")
        if self.max_paths < 1:
            problems.append("kscan: error: --max-paths must be at least 1")
        if problems:
            raise UsageProblem(Diagnostic("error", text) for text in problems)


class ThreatReport:
    """What ``kscan threats`` produced: the threat model, the problems met, and the report."""

    __slots__ = ("diagnostics", "exit_code", "model", "rendered")

    def __init__(
        self,
        model: Any,  # kscan.threats.analysis.ThreatModel
        diagnostics: list[Diagnostic],
        rendered: Iterator[str],
        exit_code: int,
    ) -> None:
        self.model = model
        self.diagnostics = diagnostics
        self.rendered = rendered
        self.exit_code = exit_code


def threats(options: ThreatOptions) -> ThreatReport:
    """The attack paths of ``options.paths`` (with ``options.context`` read as context), rendered
    by ``kscan.report.threats_<format>``; raises ``UsageProblem``. The exit code is 1 when a
    path was found, 2 when an input could not be read, else 0."""
    from kscan.threats.analysis import RenderOptions, analyse  # only for this command

    try:
        reporter = importlib.import_module(f"kscan.report.threats_{options.output_format}")
    except ModuleNotFoundError:
        problem = f"kscan: error: the {options.output_format} format of threats is not available"
        raise UsageProblem([Diagnostic("error", problem)]) from None
    _threat_config(options)  # a broken configuration stops the run before the scan
    result = scan(
        options.paths,
        [],
        options.stdin_filename,
        options.context,
        limits=options.limits,
        jobs=options.jobs,
        default_skips=options.default_skips,
        threats=True,
    )
    diagnostics = [Diagnostic("error", printable(str(error))) for error in result.errors]
    diagnostics += [Diagnostic("note", printable(str(note))) for note in result.notes]
    trusted = tuple(_threat_config(options)["trusted-registries"])
    model = analyse(result.threat_facts, options.max_paths, options.lateral, trusted)
    base_dir = options.base_dir or repository_root(options.paths)
    rendered = reporter.render(model, RenderOptions(base_dir=base_dir))
    code = EXIT_ERROR if result.errors else EXIT_FINDINGS if model.paths else EXIT_OK
    return ThreatReport(model, diagnostics, rendered, code)


def _threat_config(options: ThreatOptions) -> Config:
    """The configuration ``kscan threats`` reads: ``--config``, else the one governing the
    first path; raises ``UsageProblem``."""
    explicit = pure(options.config_path) if options.config_path else None
    if explicit is not None and not os.path.isfile(explicit):
        raise _error(f"{printable(options.config_path or '')}: error: no such configuration file")
    try:
        found = explicit or discover(options.paths)
        return resolve(load(found) if found else None)
    except ConfigError as exc:
        raise _config_problem(exc) from exc


@dataclass(frozen=True)
class FixOptions:
    """What ``kscan fix`` takes: the scan (paths, rules, thresholds) and how to fix."""

    scan: ScanOptions
    diff: bool = False
    """Return the diff of the fixes and write nothing."""
    unsafe: bool = False
    """Also apply the fixes that may change what a workload does."""
    network_policies: str | None = None
    """A directory for a default-deny NetworkPolicy, in a new file, per namespace lacking one."""


class FixReport:
    """What ``kscan fix`` did: each file looked at, the unified diff of the changes, the
    rescan (of the fixed files, or of the unchanged ones with ``diff``), and the exit code
    (the rescan's: whether findings remain)."""

    __slots__ = ("diagnostics", "diff", "exit_code", "files", "rescan")

    def __init__(
        self,
        files: list[FileFix],
        diff: str,
        rescan: Report,
        diagnostics: list[Diagnostic],
        exit_code: int,
    ) -> None:
        self.files = files
        self.diff = diff
        self.rescan = rescan
        self.diagnostics = diagnostics
        self.exit_code = exit_code


def fix(options: FixOptions) -> FixReport:
    """Fix the findings of ``options.scan.paths`` that have a fix, then scan again; raises
    ``UsageProblem``. Only files with a fixable finding are read again, and only those whose
    text changed are written."""
    from kscan.fix.files import FileFix, fix_file, unified_diff, write  # only for this command
    from kscan.fix.plan import fixable
    from kscan.fix.token_use import BoundAccounts

    if STDIN in options.scan.paths:
        raise _error("kscan: error: fix rewrites files; it cannot fix standard input")
    first = run(replace(_reading_policies(options.scan, options.network_policies), threats=True))
    bound = BoundAccounts(first.result.threat_facts, complete=not first.result.errors)
    by_path: dict[str, list[Finding]] = {}
    unsafe_only = 0
    for finding in first.result.findings:
        if fixable(finding, options.unsafe):
            by_path.setdefault(finding.path, []).append(finding)
        elif not options.unsafe and fixable(finding, True):
            unsafe_only += 1
    files = [
        fix_file(path, found, options.unsafe, options.scan.limits, bound)
        if _inside(path, options.scan.paths)
        else FileFix(path, "", "", skipped="it leads outside the paths given (a symbolic link)")
        for path, found in sorted(by_path.items())
    ]
    diagnostics = _fix_diagnostics(files)
    policies = _new_policies(first.result, options.network_policies, diagnostics)
    if not options.diff:
        policies = _create_policies(policies, diagnostics)
        for fixed in files:
            try:
                write(fixed)
            except OSError as exc:
                where = printable(fixed.path)
                raise UsageProblem(
                    [
                        *diagnostics,
                        Diagnostic(
                            "error", f"kscan: error: cannot write {where}: {exc.strerror or exc}"
                        ),
                    ]
                ) from exc
    unsafe_only += 0 if options.unsafe else sum(fixed.held_back for fixed in files)
    changed = [fixed for fixed in files if fixed.changed]
    count = sum(len(fixed.applied) for fixed in changed)
    verb = "Would fix" if options.diff else "Fixed"
    fields, names = _plural(count, "field"), _plural(len(changed), "file")
    summary = f"kscan: {verb} {fields} in {names}."
    diagnostics.append(Diagnostic("note", summary))
    if unsafe_only:
        diagnostics.append(
            Diagnostic(
                "note",
                f"kscan: note: {_plural(unsafe_only, 'more finding')} with an unsafe fix "
                "(--unsafe-fixes applies them).",
            )
        )
    rescan = (
        first
        if options.diff or not (changed or policies)
        else run(_reading_policies(options.scan, options.network_policies))
    )
    diff = "".join(fixed.diff() for fixed in changed)
    diff += "".join(unified_diff("", p.text, str(p.path), "/dev/null") for p in policies)
    return FixReport(files, diff, rescan, diagnostics, rescan.exit_code)


def _inside(path: str, given: tuple[str, ...]) -> bool:
    """Whether a file, once symbolic links are followed, is one of the paths given or inside
    one of them: fix writes nothing anywhere else."""
    real = os.path.realpath(path)
    return any(
        real == os.path.realpath(root) or is_under(real, root) for root in given if root != STDIN
    )


def _reading_policies(options: ScanOptions, directory: str | None) -> ScanOptions:
    """The scan, reading the policy directory too (as context) when it exists outside the
    paths scanned, so that the policies written there count."""
    if directory is None or not os.path.isdir(directory):
        return options
    if any(is_under(directory, path) for path in options.paths if path != STDIN):
        return options
    return replace(options, context=(*options.context, directory))


def _new_policies(
    result: ScanResult, directory: str | None, diagnostics: list[Diagnostic]
) -> list[NewPolicy]:
    from pathlib import Path  # writing policies (kscan.fix uses it)

    from kscan.fix.network_policies import missing_policies

    if directory is None:
        return []
    policies, invalid = missing_policies(result.findings, Path(directory))
    for name in invalid:
        text = f"kscan: warning: no policy written for namespace {name!r}: not a valid name"
        diagnostics.append(Diagnostic("warning", printable(text)))
    return policies


def _create_policies(policies: list[NewPolicy], diagnostics: list[Diagnostic]) -> list[NewPolicy]:
    """The policies written; a file already there is left alone (and reported)."""
    from kscan.fix.network_policies import create

    written = []
    for policy in policies:
        where = printable(str(policy.path))
        try:
            create(policy)
        except FileExistsError:
            text = f"{where}: warning: not written: the file exists (kscan writes only new files)"
            diagnostics.append(Diagnostic("warning", text))
            continue
        except OSError as exc:
            text = f"kscan: error: cannot write {where}: {exc.strerror or exc}"
            raise UsageProblem([*diagnostics, Diagnostic("error", text)]) from exc
        written.append(policy)
        text = (
            f"kscan: wrote a default-deny NetworkPolicy for namespace {policy.namespace} to {where}"
        )
        diagnostics.append(Diagnostic("note", text))
    return written


def _fix_diagnostics(files: list[FileFix]) -> list[Diagnostic]:
    diagnostics = []
    for fixed in files:
        where = printable(fixed.path)
        if fixed.skipped:
            diagnostics.append(
                Diagnostic("warning", f"{where}: warning: not fixed: {fixed.skipped}")
            )
        for edit, why in fixed.refused:
            rules, at = ", ".join(edit.rules), _pointer(edit.pointer)
            text = f"{where}: warning: fix of {rules} at {at} not applied: {why}"
            diagnostics.append(Diagnostic("warning", printable(text)))
    return diagnostics


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _pointer(pointer: tuple[str | int, ...]) -> str:
    return "".join(f"/{part}" for part in pointer)
