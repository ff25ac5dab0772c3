"""Run a scan: files one by one (or in worker processes), then the rules that look across
objects and at suppressions; collect findings and errors."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from kscan.file_scan import FileResult, RulesByScope, make_finding
from kscan.finding_store import FindingStore
from kscan.findings import Finding
from kscan.inventory import FactStore, Inventory, ObjectFacts
from kscan.limits import DEFAULT_LIMITS, Limits
from kscan.parallel import FileRunner
from kscan.registry import Rule
from kscan.sources import STDIN, STDIN_DISPLAY, InputError, display_path, iter_paths
from kscan.suppression import Suppressor


@dataclass
class ScanResult:
    """Everything one scan found, with counts for the summary."""

    findings: FindingStore = field(default_factory=FindingStore)
    errors: list[InputError] = field(default_factory=list)
    files: int = 0
    documents: int = 0
    objects: int = 0
    paths: list[str] = field(default_factory=list)
    """The files scanned, as shown in findings."""


def scan(
    paths: Iterable[str],
    rules: Iterable[Rule],
    stdin_name: str = STDIN_DISPLAY,
    context: Iterable[str] = (),
    suppressor: Suppressor | None = None,
    excluded: Callable[[str], bool] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    jobs: int = 1,
) -> ScanResult:
    """Scan files, directories and ``-`` (stdin) with the given rules.

    ``context`` paths are read only to complete the picture for cross-object rules (a commit that
    touches a Deployment but not its namespace's NetworkPolicy); nothing is reported in them.
    Findings are marked with the suppression that applies to them (annotations and inline
    comments always count; ``suppressor`` adds configured ones). ``excluded`` paths are skipped.
    ``limits`` bound each file and document. ``jobs`` > 1 scans files in that many worker
    processes (large inputs only); the result is the same.
    """
    with collector_paused():
        run = _Scan(
            rules,
            suppressor or Suppressor(),
            excluded or (lambda path: False),
            limits,
            stdin_name,
            jobs,
        )
        return run.scan(paths, context)


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
        rules: Iterable[Rule],
        suppressor: Suppressor,
        excluded: Callable[[str], bool],
        limits: Limits,
        stdin_name: str,
        jobs: int,
    ) -> None:
        self.rules = list(rules)
        self.suppressor = suppressor
        self.excluded = excluded
        self.limits = limits
        self.stdin_name = stdin_name
        self.jobs = jobs
        self.result = ScanResult()

    def scan(self, paths: Iterable[str], context: Iterable[str]) -> ScanResult:
        items = [p for p in iter_paths(paths) if isinstance(p, InputError) or not self._skip(p)]
        files = [item for item in items if not isinstance(item, InputError)]
        scanned = {os.path.realpath(path) for path in files if path != STDIN}
        context_files = self._context_files(context, scanned)
        runner = FileRunner(self.rules, self.suppressor, self.limits, self.stdin_name, self.jobs)
        scope = RulesByScope(self.rules)
        facts = FactStore(scope.inventory_kinds, scope.namespace_kinds)
        file_results = runner.scan(files)
        for item in items:  # errors and files in the order they were found
            if isinstance(item, InputError):
                self.result.errors.append(item)
            else:
                self._add(next(file_results), facts)
        facts.extend(runner.context(context_files))
        self._run_last(scope, facts)
        return self.result

    def _run_last(self, scope: RulesByScope, facts: FactStore) -> None:
        """The rules that need every file first: namespace by namespace, whole scan, then the
        rules about suppressions (which have all been seen and used by then)."""
        findings = self.result.findings
        for namespace in facts.namespaces() if scope.namespace else ():
            findings.extend(self._cross_object(scope.namespace, namespace))
        findings.extend(self._cross_object(scope.inventory, Inventory(facts.whole_scan)))
        for rule in scope.suppressions:
            for violation in rule.template.run(rule.params, self.suppressor):
                findings.extend([make_finding(rule, violation, self.suppressor)])

    def _cross_object(self, rules: list[Rule], inventory: Inventory) -> Iterator[Finding]:
        for rule in rules:
            for violation in rule.template.run(rule.params, inventory):
                if not isinstance(violation.obj, ObjectFacts) or violation.obj.reported:
                    yield make_finding(rule, violation, self.suppressor)

    def _skip(self, path: str) -> bool:
        return path != STDIN and self.excluded(path)

    def _add(self, part: FileResult, facts: FactStore) -> None:
        result = self.result
        result.files += 1
        result.paths.append(part.path)
        result.findings.extend(part.findings)
        result.errors.extend(part.errors)
        result.documents += part.documents
        result.objects += part.objects
        facts.extend(part.facts)
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
