"""Run rules over inputs: read, parse, extract objects, check, and collect findings and errors."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from kscan.checks import Violation
from kscan.documents import Document, parse
from kscan.findings import Finding
from kscan.inventory import Inventory
from kscan.objects import InvalidObject, KubeObject, Shape, extract_objects
from kscan.registry import Rule
from kscan.sources import STDIN, STDIN_DISPLAY, InputError, Source, iter_paths, read_source


@dataclass
class ScanResult:
    """Everything one scan found, with counts for the summary."""

    findings: list[Finding] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    files: int = 0
    documents: int = 0
    objects: int = 0


def scan(
    paths: Iterable[str],
    rules: Iterable[Rule],
    stdin_name: str = STDIN_DISPLAY,
    context: Iterable[str] = (),
) -> ScanResult:
    """Scan files, directories and ``-`` (stdin) with the given rules.

    ``context`` paths are read only to complete the picture for cross-object rules (a commit that
    touches a Deployment but not its namespace's NetworkPolicy); nothing is reported in them.
    """
    with _collector_paused():
        return _scan(paths, rules, stdin_name, context)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: a scan allocates millions of acyclic objects that
    reference counting frees, and repeated full collections over them doubled the scan time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _scan(
    paths: Iterable[str], rules: Iterable[Rule], stdin_name: str, context: Iterable[str]
) -> ScanResult:
    by_scope = _RulesByScope(rules)
    result = ScanResult()
    objects: list[KubeObject] = []
    scanned: set[str] = set()
    for path in iter_paths(paths):
        if isinstance(path, InputError):
            result.errors.append(path)
            continue
        scanned.add(os.path.realpath(path))
        source = read_source(path, stdin_name)
        result.files += 1
        if isinstance(source, InputError):
            result.errors.append(source)
            continue
        documents, errors = _parse_safely(source)
        result.errors.extend(errors)
        for document in documents:
            result.documents += 1
            try:
                _check_document(document, by_scope, result, objects)
            except Exception as exc:  # a kscan bug must not stop the other documents
                message = f"internal error while checking document {document.index + 1}: {exc!r}"
                result.errors.append(InputError(document.source.path, message, document.span.line))
    result.objects = len(objects)
    context_objects = list(_context_objects(context, scanned, result))
    context_documents = {id(obj.document) for obj in context_objects}
    inventory = Inventory([*objects, *context_objects])
    for rule in by_scope.inventory:
        for violation in rule.template.run(rule.params, inventory):
            if id(violation.document) not in context_documents:
                result.findings.append(_finding(rule, violation))
    result.findings.sort(key=Finding.sort_key)
    return result


def _parse_safely(source: Source) -> tuple[list[Document], list[InputError]]:
    try:
        return parse(source)
    except Exception as exc:  # a kscan bug must not stop the other files
        return [], [InputError(source.path, f"internal error while parsing: {exc!r}")]


def _context_objects(
    paths: Iterable[str], scanned: set[str], result: ScanResult
) -> Iterator[KubeObject]:
    """Valid objects of context files not scanned already. A context path that does not exist is
    an error; problems inside context files are not (they are not what was asked about)."""
    for path in iter_paths(paths):
        if isinstance(path, InputError):
            result.errors.append(path)
            continue
        if path == STDIN or os.path.realpath(path) in scanned:
            continue
        source = read_source(path)
        if isinstance(source, InputError):
            continue
        for document in _parse_safely(source)[0]:
            for obj in extract_objects(document):
                if isinstance(obj, KubeObject):
                    yield obj


class _RulesByScope:
    """The rules split by what their template looks at; object rules indexed by object shape."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.document: list[Rule] = []
        self.object: list[Rule] = []
        self.inventory: list[Rule] = []
        for rule in rules:
            getattr(self, rule.template.scope).append(rule)
        self._by_shape: dict[Shape, list[Rule]] = {}

    def for_object(self, obj: KubeObject) -> list[Rule]:
        """The object rules that can report on an object of this shape."""
        shape = obj.shape
        if shape not in self._by_shape:
            self._by_shape[shape] = [r for r in self.object if r.params.applies_to(shape)]
        return self._by_shape[shape]


def _check_document(
    document: Document,
    by_scope: _RulesByScope,
    result: ScanResult,
    objects: list[KubeObject],
) -> None:
    for rule in by_scope.document:
        for violation in rule.template.run(rule.params, document):
            result.findings.append(_finding(rule, violation))
    for obj in extract_objects(document):
        if isinstance(obj, InvalidObject):
            span = obj.span
            result.errors.append(
                InputError(document.source.path, obj.message, span.line, span.column)
            )
            continue
        objects.append(obj)
        for rule in by_scope.for_object(obj):
            for violation in rule.template.run(rule.params, obj):
                result.findings.append(_finding(rule, violation))


def _finding(rule: Rule, violation: Violation) -> Finding:
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
    return Finding(
        rule=rule,
        severity=violation.severity or rule.severity,
        path=violation.document.source.path,
        span=span,
        pointer=violation.pointer,
        kind=kind,
        namespace=namespace,
        name=name,
        container=violation.container,
        message=violation.message,
        detail=violation.detail,
    )
