"""Scan one file on its own: read, parse, extract objects, run the rules that need nothing else.

What is left of the file afterwards is a ``FileResult``: its findings, errors and counts, the
``ObjectFacts`` that cross-object rules need, and the suppressions written in it. The parsed
documents are freed, so a scan's memory does not grow with the size of its files, and a
``FileResult`` can be made in a worker process and sent back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from kscan.checks.base import Params, Violation
from kscan.input.documents import (
    Document,
    EmbeddedDocument,
    Located,
    NotAManifest,
    Pointer,
    iter_parse,
    parse,
    plain_path,
)
from kscan.input.limits import Limits
from kscan.input.sources import STDIN, InputError, Source, display_path, read_source
from kscan.input.tree import Span
from kscan.model import InvalidField, KubeObject, Shape, extract_objects
from kscan.model.directives import Directive
from kscan.model.inventory import ObjectFacts
from kscan.results.findings import Finding, new_finding
from kscan.results.store import FindingRun
from kscan.results.suppression import Collected, Suppressor
from kscan.rules.pickling import RuleIndex
from kscan.rules.profiles import Assignment
from kscan.rules.registry import Rule
from kscan.support.values import dataclass, field, replace
from kscan.support.values import fields as dataclass_fields

if TYPE_CHECKING:  # loaded by kscan threats only
    from kscan.model.threat_facts import ThreatFacts


@dataclass
class FileResult:
    """What one file contributes to a scan."""

    path: str
    """The path as shown in findings."""
    findings: list[Finding] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    notes: list[NotAManifest] = field(default_factory=list)
    """Files skipped with a note: .json files that are not JSON and cannot hold an object."""
    documents: int = 0
    objects: int = 0
    facts: list[ObjectFacts] = field(default_factory=list)
    suppressions: Collected = field(default_factory=Collected)
    profile: int = 0
    """The profile (configuration) the file was judged under."""
    threat_facts: list[ThreatFacts] = field(default_factory=list)
    """What the threat graph reads of the file's objects (only when threats are asked for)."""


_MAX_EMBEDDING = 3
"""Manifests inside manifests (inside manifests) are scanned this deep."""


RuleRun = tuple[Rule, Callable[[Any, Any], Iterable[Violation]], Params]
"""An object rule, its template's function and its params."""


class RulesByScope:
    """The rules split by what their template looks at; object rules indexed by object shape."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.document: list[Rule] = []
        self.object: list[Rule] = []
        self.namespace: list[Rule] = []
        self.inventory: list[Rule] = []
        self.suppressions: list[Rule] = []
        for rule in rules:
            getattr(self, rule.template.scope).append(rule)
        self._by_shape: dict[Shape, list[RuleRun]] = {}
        self.report_points = frozenset(
            point for rule in (*self.namespace, *self.inventory) for point in rule.template.reports
        )
        """The fields cross-object rules report at, whose positions facts keep."""
        self.namespace_kinds = _kinds_seen(self.namespace)
        """Kinds that namespace rules look at besides pod-bearing objects (None: all)."""
        self.inventory_kinds = _kinds_seen(self.inventory)
        """Kinds that whole-scan rules look at (None: all)."""

    def wants_facts(self, obj: KubeObject) -> bool:
        """Whether a cross-object rule looks at this object."""
        return _among(obj.kind, self.inventory_kinds) or (
            bool(self.namespace) and (bool(obj.pods) or _among(obj.kind, self.namespace_kinds))
        )

    def for_object(self, obj: KubeObject) -> list[RuleRun]:
        """The object rules that can report on an object of this shape, each with its
        template's function and its params."""
        shape = obj.shape
        runs = self._by_shape.get(shape)
        if runs is None:
            runs = self._by_shape[shape] = [
                (rule, rule.template.run, rule.params)
                for rule in self.object
                if rule.params.applies_to(shape)
            ]
        return runs


def _kinds_seen(rules: list[Rule]) -> frozenset[str] | None:
    kinds: frozenset[str] | None = frozenset()
    for rule in rules:
        seen = rule.params.kinds_seen()
        kinds = None if seen is None or kinds is None else kinds | seen
    return kinds


def _among(kind: str, kinds: frozenset[str] | None) -> bool:
    return kinds is None or kind in kinds


class Sink(Protocol):
    """Where a scan in this process puts findings and facts as each document yields them, so
    that a large file's are never all held at once."""

    def add_findings(self, findings: list[Finding]) -> None: ...

    def add_facts(self, facts: list[ObjectFacts]) -> None: ...

    def add_run(self, run: FindingRun, rules: RuleIndex) -> None:
        """Findings a worker sorted and pickled with ``rules``."""


@dataclass(frozen=True)
class ScanSetup:
    """What every file of a scan is scanned with, in this process or a worker."""

    assignment: Assignment
    """The rules of each profile (configuration), and which profile governs each file."""
    suppressor: Suppressor
    limits: Limits
    stdin_name: str
    """The name shown for standard input."""
    threats: bool = False
    """Keep the records the threat graph reads (``ThreatFacts``) of every object."""
    stable_fields: bool = True
    """Give findings their ``stable_field`` (see ``scan``)."""


class FileScanner:
    """Scans files one at a time with the document and object rules of a scan. Without a
    ``sink``, a file's findings and facts are returned in its ``FileResult`` (what a worker
    process sends back); with one, they go to the sink document by document."""

    def __init__(self, setup: ScanSetup, sink: Sink | None = None) -> None:
        assignment, suppressor = setup.assignment, setup.suppressor
        limits, stdin_name = setup.limits, setup.stdin_name
        self.assignment = assignment
        self.scopes = [RulesByScope(rules) for rules in assignment.rules]
        self.facts_scope = RulesByScope(assignment.every_rule_object())
        """Facts are kept for the cross-object rules of every profile."""
        self.rules = self.scopes[0]
        self.profile = 0
        self.suppressor = suppressor.fresh()
        self._embedding = 0
        """How deep in manifests written inside manifests the scan is."""
        self.limits = limits
        self.stdin_name = stdin_name
        self.sink = sink
        self.threats = setup.threats
        self.stable_fields = setup.stable_fields
        self._reported: set[InputError] = set()

    def scan(self, path: str) -> FileResult:
        """Findings, errors, counts, facts and suppressions of one file (``-``: stdin), under
        the profile that governs it."""
        self.profile = self.assignment.index_of.get(path, 0)
        self.rules = self.scopes[self.profile]
        shown = self.stdin_name if path == STDIN else display_path(path)
        result = FileResult(shown, profile=self.profile)
        self._reported = set()  # the file's invalid-field errors (both readings may meet one)
        source = read_source(path, self.stdin_name, self.limits.file_bytes)
        if isinstance(source, InputError):
            result.errors.append(source)
            return result
        for document in self._parse_safely(source):  # one at a time, freed once checked
            if isinstance(document, InputError):
                result.errors.append(document)
                continue
            if isinstance(document, NotAManifest):
                result.notes.append(document)
                continue
            result.documents += 1
            findings: list[Finding] = []
            try:
                self._check_document(document, findings, result)
            except Exception as exc:  # a kscan bug must not stop the other documents
                message = f"internal error while checking document {document.index + 1}: {exc!r}"
                result.errors.append(InputError(document.path, message, document.span.line))
            if self.sink is None:
                result.findings += findings
            else:
                self.sink.add_findings(findings)
                self.sink.add_facts(result.facts)
                result.facts = []
        result.findings.sort(key=Finding.sort_key)
        result.suppressions = self.suppressor.take()
        return result

    def context(self, path: str) -> list[ObjectFacts | ThreatFacts]:
        """The facts of a file read only as context: problems in it are not reported. With
        threats asked for, the threat graph's records of its objects too."""
        source = read_source(path, max_bytes=self.limits.file_bytes)
        if isinstance(source, InputError):
            return []
        found: list[ObjectFacts | ThreatFacts] = []
        for document in self._parse_safely(source):
            if not isinstance(document, Document):
                continue
            for obj in extract_objects(document):
                if not isinstance(obj, KubeObject):
                    continue
                if self.facts_scope.wants_facts(obj):
                    found.append(
                        ObjectFacts.of(
                            obj, self.facts_scope.report_points, False, self.stable_fields
                        )
                    )
                if self.threats and (record := _threat_facts(obj, reported=False)) is not None:
                    found.append(record)
        return found

    def _parse_safely(self, source: Source) -> Iterator[Document | InputError | NotAManifest]:
        try:
            yield from iter_parse(source, self.limits)
        except Exception as exc:  # a kscan bug must not stop the other files
            yield InputError(source.path, f"internal error while parsing: {exc!r}")

    def _check_document(
        self, document: Document, findings: list[Finding], result: FileResult
    ) -> None:
        """The document's rules, then its objects' rules in each client's reading: kubectl's,
        and kustomize's where a merge key makes it differ (a finding in either is reported
        once). Cross-object facts and suppressions come from kubectl's reading."""
        objects = self._objects(document, result)
        first_facts = len(result.facts)
        self.suppressor.see(document, objects)
        for rule in self.rules.document:
            for violation in rule.template.run(rule.params, document):
                findings.append(self._finding(rule, violation, document))
        self._check_objects(objects, findings)
        for obj in objects:
            result.objects += 1
            if self.facts_scope.wants_facts(obj):
                result.facts.append(self._facts(obj))
            if self.threats and (record := _threat_facts(obj)) is not None:
                result.threat_facts.append(record)
            for pointer in obj.manifests:
                self._check_embedded(document, pointer, findings, result)
        alternate = document.alternate_reading()
        if alternate is not None:
            extra: list[Finding] = []
            alternate_objects = self._objects(alternate, result)
            with self.suppressor.reading(alternate_objects):  # kustomize's own annotations
                self._check_objects(alternate_objects, extra)
            self._merge_findings(findings, extra)
            self._alternate_facts(alternate_objects, result, first_facts)

    def _check_embedded(
        self, host: Document, pointer: Pointer, findings: list[Finding], result: FileResult
    ) -> None:
        """Scan the manifest a string of ``host`` holds, as the controller that applies it
        reads it; its findings and errors point at the string."""
        text = host.get(pointer)
        if not isinstance(text, str) or self._embedding >= _MAX_EMBEDDING:
            return
        span, _exact = host.locate(pointer)
        where = host.stable_path(pointer)
        documents, errors = parse(Source(host.path, text, len(text), False), self.limits)
        for error in errors:
            message = f"in the manifest at {where}: {error.message}"
            result.errors.append(InputError(host.path, message, span.line, span.column))
        self._embedding += 1
        try:
            for number, inner in enumerate(documents):
                fields = {f.name: getattr(inner, f.name) for f in dataclass_fields(inner)}
                fields.update(index=-1000 * (host.index + 1) - number, span=span, text_regions=())
                embedded = EmbeddedDocument(**fields, host_span=span, host_path=where)
                self._check_document(embedded, findings, result)
        finally:
            self._embedding -= 1

    @staticmethod
    def _merge_findings(findings: list[Finding], extra: list[Finding]) -> None:
        """Add the findings of another reading: a finding of both is reported once, and stays
        suppressed only if it is suppressed in both readings."""
        position = {_report_key(finding): index for index, finding in enumerate(findings)}
        for finding in extra:
            index = position.get(_report_key(finding))
            if index is None:
                findings.append(finding)
            elif finding.suppression is None and findings[index].suppression is not None:
                findings[index] = finding

    def _alternate_facts(self, objects: list[KubeObject], result: FileResult, first: int) -> None:
        """Cross-object rules see kustomize's reading of an object too, where it differs: both
        readings of a Role, a binding or a workload; no reading of a NetworkPolicy, since which
        pods it isolates depends on the client (the dangerous reading isolates nothing). The
        document's own facts start at ``first`` in ``result.facts``."""
        kept = {facts.key: facts for facts in result.facts[first:]}
        for obj in objects:
            if not self.facts_scope.wants_facts(obj):
                continue
            facts = self._facts(obj)
            main = kept.get(facts.key)
            if main is not None and _same_facts(main, facts):
                continue
            if obj.kind == "NetworkPolicy":
                own = [f for f in result.facts[first:] if f.key != facts.key]
                result.facts[first:] = own
            else:
                result.facts.append(facts)

    def _objects(self, document: Document, result: FileResult) -> list[KubeObject]:
        objects = []
        for obj in extract_objects(document):
            if isinstance(obj, InvalidField):
                span = obj.span
                error = InputError(document.path, obj.message, span.line, span.column)
                if error not in self._reported:
                    self._reported.add(error)
                    result.errors.append(error)
            else:
                objects.append(obj)
        return objects

    def _facts(self, obj: KubeObject) -> ObjectFacts:
        return ObjectFacts.of(obj, self.facts_scope.report_points, True, self.stable_fields)

    def _finding(self, rule: Rule, violation: Violation, document: Document) -> Finding:
        return make_finding(
            rule, violation, self.suppressor, self.profile, document, self.stable_fields
        )

    def _check_objects(self, objects: list[KubeObject], findings: list[Finding]) -> None:
        """Each object's rules; a rule reports a field once, even when several pods of the
        object share it (an Argo workflow's fields apply to every template's pod)."""
        for obj in objects:
            for rule, run, params in self.rules.for_object(obj):
                reported: set[tuple[object, ...]] | None = None  # made with the first violation
                for violation in run(params, obj):
                    key = (violation.pointer, violation.container, violation.detail)
                    if reported is None:
                        reported = {key}
                    elif key in reported:
                        continue
                    else:
                        reported.add(key)
                    findings.append(self._finding(rule, violation, obj.document))


def _same_facts(first: ObjectFacts, second: ObjectFacts) -> bool:
    """The same facts, wherever their fields are written."""
    return replace(first, spans=(), stable=None) == replace(second, spans=(), stable=None)


def _report_key(finding: Finding) -> tuple[object, ...]:
    """What makes two findings the same report: one rule, one field, one message."""
    return (finding.rule.id, finding.span, finding.pointer, finding.container, finding.message)


def position(
    violation: Violation, document: Located | None, stable: bool = True
) -> tuple[str, Span, str]:
    """The file, span and stable field path of a violation (``stable`` False: an empty path)."""
    record, pointer = violation.record, violation.pointer
    if isinstance(record, Directive):
        return record.path, record.span, plain_path(pointer) if stable else ""
    located = document if document is not None else violation.obj
    if not isinstance(located, (Document, ObjectFacts)):
        raise TypeError(f"a violation of {type(located).__name__} has no document to locate it")
    span = record.span if record is not None else located.locate(pointer)[0]
    return located.path, span, located.stable_path(pointer) if stable else ""


def make_finding(
    rule: Rule,
    violation: Violation,
    suppressor: Suppressor,
    profile: int = 0,
    document: Located | None = None,
    stable: bool = True,
) -> Finding:
    """The finding of a rule's violation: located, identified, and checked for suppressions.
    ``document``: the document the rule checked (None for cross-object rules, whose objects'
    facts locate their fields, and for rules about suppressions, which are where written).
    ``stable`` False leaves its ``stable_field`` empty."""
    path, span, stable_field = position(violation, document, stable)
    pointer = violation.pointer
    kind: str | None
    namespace: str | None
    name: str | None
    obj = violation.obj
    about = violation.about
    if about is not None:
        kind, namespace, name = about
    elif obj is not None:
        kind, namespace, name = about = obj.about
    else:
        kind = namespace = name = None
    suppression = suppressor.check(
        rule.id,
        rule.name,
        path,
        span,
        obj.key if obj is not None and violation.about is None else None,
        (kind, namespace, name) if about is None else about,
        violation.container,
        profile,
    )
    return new_finding(
        rule,
        rule.severity if rule.severity_pinned else violation.severity or rule.severity,
        path,
        span,
        pointer,
        (kind, namespace, name),
        violation.container,
        violation.message,
        stable_field,
        violation.detail,
        suppression,
    )


def _threat_facts(obj: KubeObject, reported: bool = True) -> ThreatFacts | None:
    """``threat_facts``, imported on first use: only ``kscan threats`` keeps them."""
    from kscan.model.threat_facts import threat_facts

    return threat_facts(obj, reported)
