"""Run rules over inputs: read, parse, extract objects, check, and collect findings and errors."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from kscan.checks import Violation
from kscan.documents import Document, parse
from kscan.findings import Finding
from kscan.inventory import Inventory
from kscan.limits import DEFAULT_LIMITS, Limits
from kscan.objects import InvalidObject, KubeObject, Shape, extract_objects
from kscan.registry import Rule
from kscan.sources import (
    STDIN,
    STDIN_DISPLAY,
    InputError,
    Source,
    display_path,
    iter_paths,
    read_source,
)
from kscan.suppression import Suppressor


@dataclass
class ScanResult:
    """Everything one scan found, with counts for the summary."""

    findings: list[Finding] = field(default_factory=list)
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
) -> ScanResult:
    """Scan files, directories and ``-`` (stdin) with the given rules.

    ``context`` paths are read only to complete the picture for cross-object rules (a commit that
    touches a Deployment but not its namespace's NetworkPolicy); nothing is reported in them.
    Findings are marked with the suppression that applies to them (annotations and inline
    comments always count; ``suppressor`` adds configured ones). ``excluded`` paths are skipped.
    ``limits`` bound each file and document.
    """
    with collector_paused():
        run = _Scan(rules, suppressor or Suppressor(), excluded or (lambda path: False), limits)
        return run.scan(paths, stdin_name, context)


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
    ) -> None:
        self.limits = limits
        self.rules = _RulesByScope(rules)
        self.suppressor = suppressor
        self.excluded = excluded
        self.result = ScanResult()
        self.objects: list[KubeObject] = []

    def scan(self, paths: Iterable[str], stdin_name: str, context: Iterable[str]) -> ScanResult:
        result = self.result
        scanned: set[str] = set()
        for path in iter_paths(paths):
            if isinstance(path, InputError):
                result.errors.append(path)
                continue
            if path != STDIN and self.excluded(path):
                continue
            scanned.add(os.path.realpath(path))
            self._scan_file(path, stdin_name)
        result.objects = len(self.objects)
        context_objects = list(self._context_objects(context, scanned))
        context_documents = {id(obj.document) for obj in context_objects}
        inventory = Inventory([*self.objects, *context_objects])
        for rule in self.rules.inventory:
            for violation in rule.template.run(rule.params, inventory):
                if id(violation.document) not in context_documents:
                    result.findings.append(self._finding(rule, violation))
        for rule in self.rules.suppressions:
            for violation in rule.template.run(rule.params, self.suppressor):
                result.findings.append(self._finding(rule, violation))
        result.findings.sort(key=Finding.sort_key)
        return result

    def _scan_file(self, path: str, stdin_name: str) -> None:
        result = self.result
        source = read_source(path, stdin_name, self.limits.file_bytes)
        result.files += 1
        result.paths.append(stdin_name if path == STDIN else display_path(path))
        if isinstance(source, InputError):
            result.errors.append(source)
            return
        documents, errors = _parse_safely(source, self.limits)
        result.errors.extend(errors)
        for document in documents:
            result.documents += 1
            try:
                self._check_document(document)
            except Exception as exc:  # a kscan bug must not stop the other documents
                message = f"internal error while checking document {document.index + 1}: {exc!r}"
                result.errors.append(InputError(document.source.path, message, document.span.line))

    def _check_document(self, document: Document) -> None:
        objects = []
        for obj in extract_objects(document):
            if isinstance(obj, InvalidObject):
                span = obj.span
                error = InputError(document.source.path, obj.message, span.line, span.column)
                self.result.errors.append(error)
            else:
                objects.append(obj)
        self.suppressor.see(document, objects)
        for rule in self.rules.document:
            for violation in rule.template.run(rule.params, document):
                self.result.findings.append(self._finding(rule, violation))
        for obj in objects:
            self.objects.append(obj)
            for rule in self.rules.for_object(obj):
                for violation in rule.template.run(rule.params, obj):
                    self.result.findings.append(self._finding(rule, violation))

    def _context_objects(self, paths: Iterable[str], scanned: set[str]) -> Iterator[KubeObject]:
        """Valid objects of context files not scanned already. A context path that does not
        exist is an error; problems inside context paths are not (they were not asked about)."""
        paths = list(paths)
        given = {display_path(path) for path in paths}
        for path in iter_paths(paths):
            if isinstance(path, InputError):
                if path.path in given:
                    self.result.errors.append(path)
                continue
            if path == STDIN or os.path.realpath(path) in scanned or self.excluded(path):
                continue
            source = read_source(path, max_bytes=self.limits.file_bytes)
            if isinstance(source, InputError):
                continue
            for document in _parse_safely(source, self.limits)[0]:
                for obj in extract_objects(document):
                    if isinstance(obj, KubeObject):
                        yield obj

    def _finding(self, rule: Rule, violation: Violation) -> Finding:
        span = violation.span or violation.document.locate(violation.pointer)[0]
        kind: str | None
        namespace: str | None
        name: str | None
        if violation.identity is not None:
            kind, namespace, name = violation.identity
        elif violation.obj is not None:
            kind, namespace, name = violation.obj.kind, violation.obj.namespace, violation.obj.name
        else:
            kind = namespace = name = None
        path = violation.document.source.path
        suppression = self.suppressor.check(
            rule.id,
            rule.name,
            path,
            span,
            violation.document,
            violation.obj if violation.identity is None else None,
            (kind, namespace, name),
            violation.container,
        )
        return Finding(
            rule=rule,
            severity=rule.severity if rule.severity_pinned else violation.severity or rule.severity,
            path=path,
            span=span,
            pointer=violation.pointer,
            kind=kind,
            namespace=namespace,
            name=name,
            container=violation.container,
            message=violation.message,
            detail=violation.detail,
            document=violation.document,
            suppression=suppression,
        )


def _parse_safely(source: Source, limits: Limits) -> tuple[list[Document], list[InputError]]:
    try:
        return parse(source, limits)
    except Exception as exc:  # a kscan bug must not stop the other files
        return [], [InputError(source.path, f"internal error while parsing: {exc!r}")]


class _RulesByScope:
    """The rules split by what their template looks at; object rules indexed by object shape."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.document: list[Rule] = []
        self.object: list[Rule] = []
        self.inventory: list[Rule] = []
        self.suppressions: list[Rule] = []
        for rule in rules:
            getattr(self, rule.template.scope).append(rule)
        self._by_shape: dict[Shape, list[Rule]] = {}

    def for_object(self, obj: KubeObject) -> list[Rule]:
        """The object rules that can report on an object of this shape."""
        shape = obj.shape
        if shape not in self._by_shape:
            self._by_shape[shape] = [r for r in self.object if r.params.applies_to(shape)]
        return self._by_shape[shape]
