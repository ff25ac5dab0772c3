"""Run a scan: files one by one (or in worker processes), then the rules that look across
objects and at suppressions; collect findings and errors."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from kscan.input.limits import DEFAULT_LIMITS, Limits
from kscan.input.sources import STDIN, STDIN_DISPLAY, InputError, display_path, iter_paths
from kscan.model.inventory import FactStore, Inventory, ObjectFacts
from kscan.results.findings import Finding
from kscan.results.scan_result import ScanResult
from kscan.results.store import FindingRun, FindingStore
from kscan.results.suppression import Suppressor
from kscan.rules.pickling import RuleIndex
from kscan.rules.profiles import Profiles
from kscan.rules.registry import Rule
from kscan.scan.file_scan import FileResult, RulesByScope, ScanSetup, make_finding, position
from kscan.scan.parallel import Workers


def scan(
    paths: Iterable[str],
    rules: Iterable[Rule] | Profiles,
    stdin_name: str = STDIN_DISPLAY,
    context: Iterable[str] = (),
    suppressor: Suppressor | None = None,
    excluded: Callable[[str], bool] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    jobs: int = 1,
    default_skips: bool = True,
    threats: bool = False,
    stable_fields: bool = True,
) -> ScanResult:
    """Scan files, directories and ``-`` (stdin) with the given rules, or under ``Profiles``
    (each file under the configuration that governs it).

    ``context`` paths are read only to complete the picture for cross-object rules (a commit that
    touches a Deployment but not its namespace's NetworkPolicy); nothing is reported in them.
    Findings are marked with the suppression that applies to them (annotations and inline
    comments always count; ``suppressor`` adds configured ones). ``excluded`` paths are skipped.
    ``limits`` bound each file and document. ``jobs`` > 1 scans files in that many worker
    processes (large inputs only); the result is the same. ``default_skips`` False scans
    the directories skipped by default too (``node_modules``, ``.venv``...). ``threats`` keeps
    the records the threat graph reads (``ScanResult.threat_facts``). ``stable_fields`` False
    leaves the ``stable_field`` of findings in files empty: only SARIF, JUnit and baselines read
    it, and working it out for every finding costs some 4% of a scan with many findings.
    """
    profiles = rules if isinstance(rules, Profiles) else Profiles.single(list(rules))
    with collector_paused():
        run = _Scan(
            profiles,
            suppressor or Suppressor(),
            excluded or (lambda path: False),
            limits,
            stdin_name,
            jobs,
            default_skips,
            threats,
            stable_fields,
        )
        return run.scan(paths, context)


def _shared_rules(per_profile: Iterable[list[Rule]]) -> list[tuple[Rule, frozenset[int]]]:
    """Each distinct rule (profiles that do not change a rule share it) with the profiles that
    run it."""
    found: dict[int, tuple[Rule, set[int]]] = {}
    for index, rules in enumerate(per_profile):
        for rule in rules:
            found.setdefault(id(rule), (rule, set()))[1].add(index)
    return [(rule, frozenset(indexes)) for rule, indexes in found.values()]


class _Stores:
    """The scan's stores, as the sink of the files scanned in this process."""

    __slots__ = ("facts", "findings")

    def __init__(self, findings: FindingStore, facts: FactStore) -> None:
        self.findings = findings
        self.facts = facts

    def add_findings(self, findings: list[Finding]) -> None:
        self.findings.extend(findings)

    def add_facts(self, facts: list[ObjectFacts]) -> None:
        self.facts.extend(facts)

    def add_run(self, run: FindingRun, rules: RuleIndex) -> None:
        self.findings.add_run(run, rules)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: a scan allocates millions of acyclic objects that
    reference counting frees, and repeated full collections over them doubled the scan time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _Scan:
    """One scan's rules and state."""

    def __init__(
        self,
        profiles: Profiles,
        suppressor: Suppressor,
        excluded: Callable[[str], bool],
        limits: Limits,
        stdin_name: str,
        jobs: int,
        default_skips: bool,
        threats: bool = False,
        stable_fields: bool = True,
    ) -> None:
        self.threats = threats
        self.stable_fields = stable_fields
        self.profiles = profiles
        self.suppressor = suppressor
        self.excluded = excluded
        self.limits = limits
        self.stdin_name = stdin_name
        self.jobs = jobs
        self.default_skips = default_skips
        self.result = ScanResult()

    def scan(self, paths: Iterable[str], context: Iterable[str]) -> ScanResult:
        skipped = self.result.skipped
        found = iter_paths(paths, skipped, self.default_skips)
        items = [p for p in found if isinstance(p, InputError) or not self._skip(p)]
        files = [item for item in items if not isinstance(item, InputError)]
        profiles = self.profiles
        assignment = profiles.assign(files)  # every profile is known before workers start
        for profile in profiles.profiles:
            self.suppressor.add_config(profile.config, profile.index)
        self.suppressor.known_rules = [(r.id, r.name) for r in assignment.every_rule_object()]
        scanned = {os.path.realpath(path) for path in files if path != STDIN}
        context_files = self._context_files(context, scanned)
        scopes = [RulesByScope(rules) for rules in assignment.rules]
        union = RulesByScope(assignment.every_rule_object())
        facts = FactStore(union.inventory_kinds, union.namespace_kinds)
        setup = ScanSetup(
            assignment,
            self.suppressor,
            self.limits,
            self.stdin_name,
            self.threats,
            self.stable_fields,
        )
        runner = Workers(setup, self.jobs, _Stores(self.result.findings, facts))
        file_results = runner.scan(files)
        for item in items:  # errors and files in the order they were found
            if isinstance(item, InputError):
                self.result.errors.append(item)
            else:
                self._add(next(file_results), facts)
        for record in runner.context(context_files):
            if isinstance(record, ObjectFacts):
                facts.extend((record,))
            else:
                self.result.threat_facts.append(record)
        self._run_last(scopes, facts)
        return self.result

    def _run_last(self, scopes: list[RulesByScope], facts: FactStore) -> None:
        """The rules that need every file first: namespace by namespace, whole scan, then the
        rules about suppressions (which have all been seen and used by then). A rule runs once
        however many profiles share it, and reports only in the files of those profiles."""
        findings = self.result.findings
        namespace_rules = _shared_rules(scope.namespace for scope in scopes)
        if namespace_rules:
            for namespace in facts.namespaces():
                findings.extend(self._cross_object(namespace_rules, namespace))
        findings.extend(
            self._cross_object(
                _shared_rules(scope.inventory for scope in scopes), Inventory(facts.whole_scan)
            )
        )
        findings.extend(
            self._cross_object(_shared_rules(s.suppressions for s in scopes), self.suppressor)
        )

    def _cross_object(
        self, rules: list[tuple[Rule, frozenset[int]]], target: Inventory | Suppressor
    ) -> Iterator[Finding]:
        for rule, profiles in rules:
            for violation in rule.template.run(rule.params, target):
                obj = violation.obj
                if isinstance(obj, ObjectFacts) and not obj.reported:
                    continue
                profile = self._profile_of(position(violation, None)[0])
                if profile in profiles:
                    yield make_finding(rule, violation, self.suppressor, profile)

    def _profile_of(self, shown: str) -> int:
        """The profile of a scanned file, by the path findings show (the first profile for a
        place outside the scanned files, such as a configuration file)."""
        return self.result.profile_of.get(shown, 0)

    def _skip(self, path: str) -> bool:
        if path == STDIN:
            return False
        return self.excluded(path) or self.profiles.of(path).excludes(path)

    def _add(self, part: FileResult, facts: FactStore) -> None:
        result = self.result
        result.files += 1
        result.paths.append(part.path)
        result.profile_of[part.path] = part.profile
        result.findings.extend(part.findings)
        result.errors.extend(part.errors)
        result.notes.extend(part.notes)
        result.documents += part.documents
        result.objects += part.objects
        facts.extend(part.facts)
        result.threat_facts.extend(part.threat_facts)
        self.suppressor.add(part.suppressions)

    def _context_files(self, paths: Iterable[str], scanned: set[str]) -> list[str]:
        """Context files not scanned already. A context path that does not exist is an error;
        problems inside context paths are not (they were not asked about)."""
        paths = list(paths)
        given = {display_path(path) for path in paths}
        files = []
        for path in iter_paths(paths):
            if isinstance(path, InputError):
                if path.path in given:
                    self.result.errors.append(path)
                continue
            if path == STDIN or os.path.realpath(path) in scanned or self.excluded(path):
                continue
            files.append(path)
        return files
