"""What a check template is. A rule file names a template and gives its params.

A template is a function ``(params, target) -> Violations`` registered with ``@template``; its
scope decides the target: ``object`` (one KubeObject), ``document`` (one Document),
``namespace`` (an Inventory of one namespace's objects, namespace by namespace), ``inventory``
(an Inventory of the whole scan) or ``suppressions`` (the suppressions the scan saw, after every
other rule). A violation says where (a JSON pointer into the object or document the engine gave
the template), what (a message), and for which container; the engine attaches file positions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar, Literal, Protocol, TypeVar, overload

from kscan.input.documents import Document, Pointer
from kscan.input.tree import Span
from kscan.model import KubeObject, Shape
from kscan.model.directives import Directive
from kscan.model.inventory import Inventory, ObjectFacts, ReportPoint
from kscan.model.taxonomy import Severity
from kscan.support.declared import Declared, field_validator
from kscan.support.values import Record, dataclass

Scope = Literal["object", "document", "namespace", "inventory", "suppressions"]


class Params(Declared):
    """Base of template params: kebab-case keys in rule files, unknown keys rejected. A param
    named ``...pattern`` is a regular expression applied to manifest text: one that can take
    super-linear time is rejected (``regex_safety``), in rule files and configurations alike."""

    CONFIG: ClassVar[dict[str, Any]] = {
        "alias_generator": lambda name: name.replace("_", "-"),
        "extra": "forbid",
        "frozen": True,
    }

    @field_validator("*")
    @classmethod
    def _linear_patterns(cls, value: Any, info: Any) -> Any:
        if isinstance(value, str) and (info.field_name or "").endswith("pattern"):
            from kscan.checks.regex_safety import require_linear  # validating only

            require_linear(value)
        return value

    def applies_to(self, shape: Shape) -> bool:
        """Whether an object of this shape can be reported at all (lets the engine skip early)."""
        return True

    def kinds_seen(self) -> frozenset[str] | None:
        """For cross-object templates: the kinds they look at (besides pod-bearing objects, for
        ``namespace`` templates), whose facts the scan keeps (None: every kind)."""
        return None

    def names_containers(self) -> bool:
        """For ``object`` templates: whether a violation can name a container (``True`` unless
        a template knows better), so that a suppression scoped to a container can be refused
        when it can never match. Templates of the other scopes never name one."""
        return True


class NoParams(Params):
    """The params of a template that takes none."""


class PodParams(Params):
    """Params of templates that look only at pod-bearing objects."""

    def applies_to(self, shape: Shape) -> bool:
        return shape.has_pod


class Recorded(Protocol):
    """Something the input stage recorded where it is written, which a pointer cannot locate: a
    duplicate key's later occurrence, a merge conflict, a kubectl-only separator line."""

    @property
    def span(self) -> Span: ...


class Violation(Record):
    """One problem found by a template, before rule metadata and file positions are attached
    (a named tuple: one is made for every finding, several times cheaper than a frozen
    dataclass)."""

    pointer: Pointer
    """The offending field, in the document of ``obj`` (or of the document checked)."""
    message: str
    obj: KubeObject | ObjectFacts | None = None
    container: str | None = None
    severity: Severity | None = None
    about: tuple[str, str | None, str] | None = None
    """(kind, namespace, name) when the finding is about something other than ``obj`` (a
    namespace, or the object a document-level problem lies in)."""
    record: Recorded | Directive | None = None
    """Where to report when ``pointer`` cannot say: what the input recorded (a key written
    twice), or, for rules about suppressions, the suppression as written."""
    detail: str = ""
    """Tells apart findings of one rule on one field (Ingress and Egress), for fingerprints."""


class WrittenSuppressions(Protocol):
    """What rules about suppressions see: every suppression the scan met, and whether a rule
    list names one of the scan's rules (``kscan.results.suppression.Suppressor`` is one)."""

    def all_directives(self) -> Iterator[Directive]: ...

    def names_a_rule(self, selector: str) -> bool: ...


P = TypeVar("P", bound="Params")
Target = TypeVar("Target")
Check = Callable[[P, Target], Iterable[Violation]]


@dataclass(frozen=True)
class Template:
    """A registered check template. ``reports``: for cross-object templates, the fields they
    report at, which the scan keeps the positions of once documents are gone."""

    name: str
    scope: Scope
    params: type[Params]
    run: Callable[[Any, Any], Iterable[Violation]]
    reports: frozenset[ReportPoint] = frozenset()

    def names_containers(self, params: Params) -> bool:
        """Whether the findings of a rule on this template, with these params, can be about one
        container: only object templates that look at containers report one."""
        return self.scope == "object" and params.names_containers()


TEMPLATES: dict[str, Template] = {}


@overload
def template(
    name: str, scope: Literal["object"], params: type[P]
) -> Callable[[Check[P, KubeObject]], Check[P, KubeObject]]: ...


@overload
def template(
    name: str, scope: Literal["document"], params: type[P]
) -> Callable[[Check[P, Document]], Check[P, Document]]: ...


@overload
def template(
    name: str,
    scope: Literal["namespace", "inventory"],
    params: type[P],
    reports: Iterable[ReportPoint],
) -> Callable[[Check[P, Inventory]], Check[P, Inventory]]: ...


@overload
def template(
    name: str, scope: Literal["suppressions"], params: type[P]
) -> Callable[[Check[P, WrittenSuppressions]], Check[P, WrittenSuppressions]]: ...


def template(
    name: str, scope: Scope, params: type[P], reports: Iterable[ReportPoint] = ()
) -> Callable[[Check[P, Any]], Check[P, Any]]:
    """Register ``function(params, target)`` as the template ``name``. The overloads tie each
    scope to its target type, so a template's signature is checked against its scope."""

    declared = frozenset(reports)
    if (scope in ("namespace", "inventory")) != bool(declared):
        raise ValueError(f"template {name}: cross-object templates, and only they, declare reports")

    def register(function: Check[P, Any]) -> Check[P, Any]:
        TEMPLATES[name] = Template(name, scope, params, function, declared)
        return function

    return register


def yaml_value(value: Any) -> str:
    """A scalar as it would be written in YAML (``true``, ``0``, ``Unconfined``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
