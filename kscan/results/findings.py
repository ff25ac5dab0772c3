"""Findings: a rule's violation with its metadata and resolved file position."""

from __future__ import annotations

from collections import Counter
from functools import lru_cache, partial
from typing import Any, Literal

from kscan.input.documents import Pointer, Span
from kscan.model.taxonomy import Severity
from kscan.rules.registry import Rule
from kscan.support.disclosure import shown_key
from kscan.support.values import Record, dataclass, field


@lru_cache(maxsize=4096)
def _pointer_part(shown: str) -> str:
    """``/key`` as a JSON pointer writes a key as shown (``~`` and ``/`` escaped)."""
    return "/" + shown.replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True)
class Suppression:
    """Why a finding is suppressed, and by what (``inSource``: annotation or comment)."""

    kind: Literal["inSource", "external"]
    reason: str
    where: str


def field_path(pointer: Pointer) -> str:
    """The JSON pointer of a field, each key as shown (see ``shown_key``)."""
    return "".join(_pointer_part(shown_key(part)) for part in pointer)


class Finding(Record):
    """One problem in one place, ready to report. It holds no reference to its document, so a
    scan keeps findings, not the parsed files they came from. A named tuple: made, pickled and
    read back for every finding, several times cheaper than a frozen dataclass."""

    rule: Rule
    severity: Severity
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    """Where the offending field is written (its ``span``), held flat so that a finding is a
    tuple of plain values: turned into a tuple and back by C code alone (see ``flattened``)."""
    pointer: Pointer
    kind: str | None
    namespace: str | None
    name: str | None
    container: str | None
    message: str
    stable_field: str
    """The field with list items named by content (see ``Document.stable_path``)."""
    detail: str = ""
    suppression: Suppression | None = None
    baseline_state: Literal["new", "unchanged"] | None = None
    """Set when the scan is compared with a baseline."""

    @property
    def span(self) -> Span:
        return _as_span(self[3:7])

    @property
    def counts(self) -> bool:
        """Whether it can fail the run: neither suppressed nor accepted in the baseline."""
        return self.suppression is None and self.baseline_state != "unchanged"

    def with_baseline_state(self, state: Literal["new", "unchanged"]) -> Finding:
        return self._replace(baseline_state=state)

    @property
    def field_path(self) -> str:
        """The JSON pointer of the offending field inside its document (``/spec/template/...``)."""
        return field_path(self.pointer)

    @property
    def subject(self) -> str:
        """``Deployment shop/web``, ``Namespace shop``, plus `` / container`` where one applies."""
        where = self.name or ""
        if self.namespace and self.kind != "Namespace":
            where = f"{self.namespace}/{where}"
        text = f"{self.kind or 'document'} {where}".strip()
        return f"{text} / {self.container}" if self.container else text

    @property
    def identity(self) -> tuple[str | None, ...]:
        """What the finding is about, independent of lines and file name: rule, object,
        container, field and the rule's own detail (fingerprints and baselines add the file)."""
        return (
            self.rule.id,
            self.kind,
            self.namespace,
            self.name,
            self.container,
            self.stable_field,
            self.detail,
        )

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.rule.id)


_as_span = partial(tuple.__new__, Span)
_as_finding = partial(tuple.__new__, Finding)

FlatFinding = tuple[Any, ...]
"""A finding as a plain tuple: pickled by C code alone (a named tuple's pickle calls its
``__getnewargs__``, and reading it back its ``__new__``, once per object)."""


def new_finding(
    rule: Rule,
    severity: Severity,
    path: str,
    span: Span,
    pointer: Pointer,
    about: tuple[str | None, str | None, str | None],
    container: str | None,
    message: str,
    stable_field: str,
    detail: str,
    suppression: Suppression | None,
) -> Finding:
    """A finding of a scan (no baseline state yet), made without the named tuple's ``__new__``;
    ``about``: its object's kind, namespace and name."""
    kind, namespace, name = about
    line, column, end_line, end_column = span
    baseline_state = None
    return _as_finding(
        (
            rule,
            severity,
            path,
            line,
            column,
            end_line,
            end_column,
            pointer,
            kind,
            namespace,
            name,
            container,
            message,
            stable_field,
            detail,
            suppression,
            baseline_state,
        )
    )


def flattened(findings: list[Finding]) -> list[FlatFinding]:
    """The findings as plain tuples (``unflattened`` reads them back)."""
    return list(map(tuple, findings))


def unflattened(rows: list[FlatFinding]) -> list[Finding]:
    """``flattened``'s findings."""
    return list(map(_as_finding, rows))


@dataclass
class Tally:
    """Counts over a scan's findings, kept as they are added, so that summaries and the exit
    code need no pass over findings that may be on disk."""

    counting: Counter[Severity] = field(default_factory=Counter)
    """Findings that count (see ``Finding.counts``), by severity."""
    suppressed: int = 0
    unchanged: int = 0
    compared: bool = False
    """Whether findings were compared with a baseline."""
    paths: set[str] = field(default_factory=set)
    """Files with findings."""
    counting_paths: set[str] = field(default_factory=set)
    """Files with findings that count."""
    worst: dict[str, int] = field(default_factory=dict)
    """File -> the highest severity rank among its findings that count (for the exit code,
    whose threshold each file's configuration may set)."""

    def add(self, findings: list[Finding]) -> None:
        """Count findings, one loop over them with the counters in local variables."""
        paths, counting_paths, worst = self.paths, self.counting_paths, self.worst
        counting: dict[Severity, int] = {}
        for finding in findings:
            path, suppression, state = finding.path, finding.suppression, finding.baseline_state
            paths.add(path)
            if suppression is None and state != "unchanged":  # it counts
                severity = finding.severity
                counting[severity] = counting.get(severity, 0) + 1
                counting_paths.add(path)
                rank = severity.rank
                if rank > worst.get(path, -1):
                    worst[path] = rank
            else:
                self.suppressed += suppression is not None
                self.unchanged += state == "unchanged"
            if state is not None:
                self.compared = True
        self.counting.update(counting)

    def merge(self, other: Tally) -> None:
        """Add the counts of ``other`` (findings counted elsewhere, such as in a worker)."""
        self.counting.update(other.counting)
        self.suppressed += other.suppressed
        self.unchanged += other.unchanged
        self.compared = self.compared or other.compared
        self.paths.update(other.paths)
        self.counting_paths.update(other.counting_paths)
        worst = self.worst
        for path, rank in other.worst.items():
            if rank > worst.get(path, -1):
                worst[path] = rank

    @property
    def total(self) -> int:
        """Findings that count."""
        return sum(self.counting.values())
