"""Check templates: the code behind rules. A rule file names a template and gives its params.

A template is a function registered with ``@template``; its scope decides what it is called with:
``object`` (one KubeObject), ``document`` (one Document), ``namespace`` (an Inventory of the
objects of one namespace, namespace by namespace), ``inventory`` (an Inventory of the objects of
the whole scan) or ``suppressions`` (the scan's Suppressor, after every other rule).
It yields Violations: where (a JSON pointer), what (a message), and for which container.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from kscan.checks.regex_safety import require_linear
from kscan.input.documents import Located, Pointer, Span
from kscan.model import KubeObject, Shape

if TYPE_CHECKING:
    from kscan.model.inventory import ObjectFacts
from kscan.model.taxonomy import Severity

Scope = Literal["object", "document", "namespace", "inventory", "suppressions"]


class Params(BaseModel):
    """Base of template params: kebab-case keys in rule files, unknown keys rejected. A param
    named ``...pattern`` is a regular expression applied to manifest text: one that can take
    super-linear time is rejected (``regex_safety``), in rule files and configurations alike."""

    model_config = ConfigDict(
        alias_generator=lambda name: name.replace("_", "-"), extra="forbid", frozen=True
    )

    @field_validator("*")
    @classmethod
    def _linear_patterns(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and (info.field_name or "").endswith("pattern"):
            require_linear(value)
        return value

    def applies_to(self, shape: Shape) -> bool:
        """Whether an object of this shape can be reported at all (lets the engine skip early)."""
        return True

    def kinds_seen(self) -> frozenset[str] | None:
        """For cross-object templates: the kinds they look at (besides pod-bearing objects, for
        ``namespace`` templates), whose facts the scan keeps (None: every kind)."""
        return None


class NoParams(Params):
    """The params of a template that takes none."""


class PodParams(Params):
    """Params of templates that look only at pod-bearing objects."""

    def applies_to(self, shape: Shape) -> bool:
        return shape.has_pod


@dataclass(frozen=True)
class Violation:
    """One problem found by a template, before rule metadata and file positions are attached."""

    document: Located
    pointer: Pointer
    message: str
    obj: KubeObject | ObjectFacts | None = None
    container: str | None = None
    severity: Severity | None = None
    identity: tuple[str, str | None, str] | None = None
    """(kind, namespace, name) when the finding is about something other than ``obj``."""
    span: Span | None = None
    """Where to report, when ``pointer`` cannot say (a key that was later overwritten)."""
    detail: str = ""
    """Tells apart findings of one rule on one field (Ingress and Egress), for fingerprints."""


@dataclass(frozen=True)
class Template:
    """A registered check template."""

    name: str
    scope: Scope
    params: type[Params]
    run: Callable[[Any, Any], Iterable[Violation]]


TEMPLATES: dict[str, Template] = {}


def template(
    name: str, scope: Scope, params: type[Params]
) -> Callable[
    [Callable[[Any, Any], Iterable[Violation]]], Callable[[Any, Any], Iterable[Violation]]
]:
    """Register ``function(params, target)`` as the template ``name``."""

    def register(
        function: Callable[[Any, Any], Iterable[Violation]],
    ) -> Callable[[Any, Any], Iterable[Violation]]:
        TEMPLATES[name] = Template(name, scope, params, function)
        return function

    return register


def yaml_value(value: Any) -> str:
    """A scalar as it would be written in YAML (``true``, ``0``, ``Unconfined``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
