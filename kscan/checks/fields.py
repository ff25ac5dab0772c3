"""The general template: conditions on field values of objects, pods, pod metadata or containers."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from typing import Any, Literal

from pydantic import model_validator

from kscan.checks import Params, Violation, template, yaml_value
from kscan.checks.paths import MISSING, Condition, Match, dotted, is_empty, select
from kscan.documents import Pointer
from kscan.objects import KubeObject, Shape

Target = Literal["object", "pod", "pod-metadata", "container"]
ContainerList = Literal["containers", "initContainers", "ephemeralContainers"]
MESSAGE_FIELDS = ("subject", "field", "value", "problem", "origin", "expected")


class FieldParams(Params):
    """Where to look (``target``, ``kinds``, ``containers``) and what must hold there."""

    target: Target = "object"
    kinds: list[str] | None = None
    pod_bearing: bool = False
    """With the object target: only objects that run pods (workloads, custom ones included)."""
    containers: tuple[ContainerList, ...] = ("containers", "initContainers", "ephemeralContainers")
    linux_only: bool = False
    when: tuple[Condition, ...] = ()
    conditions: list[Condition]
    message: str | None = None

    @cached_property
    def inherited(self) -> tuple[Condition, ...]:
        """The conditions whose field a container inherits from the pod."""
        return tuple(condition for condition in self.conditions if condition.inherit)

    def applies_to(self, shape: Shape) -> bool:
        if self.kinds is not None and shape.kind not in self.kinds:
            return False
        return shape.has_pod or (self.target == "object" and not self.pod_bearing)

    @model_validator(mode="after")
    def _consistent(self) -> FieldParams:
        if any(c.inherit for c in self.conditions) and self.target != "container":
            raise ValueError("'inherit' applies to the container target only")
        if self.message is not None:
            try:
                self.message.format(**dict.fromkeys(MESSAGE_FIELDS, ""))
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(
                    f"message: unknown placeholder {exc}; use {MESSAGE_FIELDS}"
                ) from None
        return self


@template("field", scope="object", params=FieldParams)
def field(params: FieldParams, obj: KubeObject) -> Iterator[Violation]:
    """Each target (the object, its pod spec, its pod metadata, or each container) must meet every
    condition; the first condition it fails is reported. A container condition with ``inherit``
    falls back to the same path in the pod spec when the container does not set it; a bad pod
    value is reported once, where it is written, not again for each container inheriting it."""
    if not params.applies_to(obj.shape):
        return
    targets = list(_targets(params, obj))
    if targets and params.inherited:
        yield from _pod_values(params, obj)
    for base, data, subject, container in targets:
        if not all(_holds(c, data, base) for c in params.when):
            continue
        for condition in params.conditions:
            violation = _first_violation(params, condition, obj, base, data, subject, container)
            if violation is not None:
                yield violation
                break


def _targets(
    params: FieldParams, obj: KubeObject
) -> Iterator[tuple[Pointer, Any, str, str | None]]:
    """(pointer, data, subject, container) of each place the conditions apply to."""
    if params.target == "object":
        yield obj.pointer, obj.data, obj.display, None
        return
    pod = obj.pod
    if pod is None or (params.linux_only and pod.is_windows):
        return
    if params.target == "pod":
        yield pod.pointer, pod.data, obj.display, None
    elif params.target == "pod-metadata":
        yield pod.metadata_pointer, obj.document.get(pod.metadata_pointer), obj.display, None
    else:
        for ref in pod.containers():
            if ref.pointer[-2] in params.containers:
                subject = f"{ref.label} '{ref.name}' of {obj.display}"
                yield ref.pointer, ref.data, subject, ref.name


def _holds(condition: Condition, data: Any, base: Pointer) -> bool:
    matches = select(data, condition.path, base, condition.key_pattern)
    return all(condition.problem(match) is None for match in matches)


def _pod_values(params: FieldParams, obj: KubeObject) -> Iterator[Violation]:
    """The pod-level values of inheritable fields: the first bad one, reported at the pod."""
    pod = obj.pod
    assert pod is not None
    data = pod.data
    for condition in params.inherited:
        for match in select(data, condition.path, pod.pointer, condition.key_pattern):
            written = match.present and not is_empty(match.value)
            problem = condition.problem(match) if written else None
            if problem is not None:
                origin = " for the whole pod"
                yield _violation(
                    params, condition, obj, pod.pointer, match, obj.display, None, problem, origin
                )
                return


def _first_violation(
    params: FieldParams,
    condition: Condition,
    obj: KubeObject,
    base: Pointer,
    data: Any,
    subject: str,
    container: str | None,
) -> Violation | None:
    for match in select(data, condition.path, base, condition.key_pattern):
        unset = not match.present or is_empty(match.value)
        if condition.inherit and unset and _inherited(condition, obj):
            continue  # the pod's value applies: fine, or already reported at the pod
        problem = condition.problem(match)
        if problem is None:
            continue
        if unset and condition.inherit:
            problem += " on the container or the pod"
        return _violation(params, condition, obj, base, match, subject, container, problem, "")
    return None


def _violation(
    params: FieldParams,
    condition: Condition,
    obj: KubeObject,
    base: Pointer,
    match: Match,
    subject: str,
    container: str | None,
    problem: str,
    origin: str,
) -> Violation:
    message = (params.message or "{subject}: {field} {problem}{origin}{expected}.").format(
        subject=subject,
        field=dotted(match.pointer[len(base) :]),
        value="" if match.value is MISSING else yaml_value(match.value),
        problem=problem,
        origin=origin,
        expected=condition.expectation(),
    )
    detail = "unset" if not match.present or is_empty(match.value) else "set"
    return Violation(
        obj.document, match.pointer, message, obj, container, condition.severity, detail=detail
    )


def _inherited(condition: Condition, obj: KubeObject) -> bool:
    """True if the pod spec sets the condition's path (so a container without it inherits it)."""
    pod = obj.pod
    assert pod is not None
    matches = select(pod.data, condition.path, pod.pointer)
    return any(match.present and not is_empty(match.value) for match in matches)
