"""The general template: conditions on field values of objects, pods, pod metadata or containers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import cached_property
from typing import Any, Literal

from kscan.checks.base import Params, Violation, template
from kscan.checks.conditions import is_empty
from kscan.checks.paths import (
    MISSING,
    Condition,
    Match,
    dotted,
    lookup,
    plain_names,
    select,
    value_of,
)
from kscan.input.documents import Pointer
from kscan.model import ContainerRef, KubeObject, LayeredPod, PodView, Shape
from kscan.model.extract import Unknown
from kscan.model.taxonomy import Severity
from kscan.support.declared import model_validator
from kscan.support.disclosure import shown
from kscan.support.values import Record

Target = Literal["object", "pod", "pod-metadata", "container"]
ContainerList = Literal["containers", "initContainers", "ephemeralContainers"]
MESSAGE_FIELDS = ("subject", "field", "value", "problem", "origin", "expected")
_DEFAULT_MESSAGE = "{subject}: {field} {problem}{origin}{expected}."


class FieldParams(Params):
    """Where to look (``target``, ``kinds``, ``containers``) and what must hold there."""

    target: Target = "object"
    """What the conditions apply to: the object, each pod spec, each pod's metadata, or each
    container."""
    kinds: list[str] | None = None
    """Only objects of these kinds (unset: every kind)."""
    pod_bearing: bool = False
    """With the object target: only objects that run pods (workloads, custom ones included)."""
    containers: tuple[ContainerList, ...] = ("containers", "initContainers", "ephemeralContainers")
    """With the container target: which container lists are checked."""
    linux_only: bool = False
    """Skip Windows pods (``spec.os.name: windows``)."""
    when: tuple[Condition, ...] = ()
    """Conditions a target must meet to be checked at all (none: every target is)."""
    unless: tuple[tuple[Condition, ...], ...] = ()
    """Groups of conditions: a target that meets every condition of one group is not checked
    (objects Kubernetes itself creates, for instance)."""
    conditions: list[Condition]
    """What must hold at each target; the first condition it fails is reported."""
    message: str | None = None
    """The finding's message, with placeholders ``{subject}``, ``{field}``, ``{value}``,
    ``{problem}``, ``{origin}`` and ``{expected}`` (unset:
    ``{subject}: {field} {problem}{origin}{expected}.``)."""

    @cached_property
    def inherited(self) -> tuple[Condition, ...]:
        """The conditions whose field a container inherits from the pod."""
        return tuple(condition for condition in self.conditions if condition.inherit)

    @cached_property
    def shows_value(self) -> bool:
        """Whether the message quotes the offending value (``{value}``)."""
        return self.message is not None and "{value" in self.message

    @cached_property
    def targets_key(self) -> tuple[object, ...]:
        """What the targets depend on: rules that share it share their targets in an object."""
        return ("field-targets", self.target, self.containers, self.linux_only)

    def applies_to(self, shape: Shape) -> bool:
        if self.kinds is not None and shape.kind not in self.kinds:
            return False
        return shape.has_pod or (self.target == "object" and not self.pod_bearing)

    def names_containers(self) -> bool:
        return self.target == "container"  # the object, a pod or its metadata have none

    @model_validator(mode="after")
    def _consistent(self) -> FieldParams:
        if any(c.inherit for c in self.conditions) and self.target != "container":
            raise ValueError("'inherit' applies to the container target only")
        if any(c.overridden != "report" and not c.inherit for c in self.conditions):
            raise ValueError("'overridden' applies to conditions with 'inherit' only")
        if any(not group for group in self.unless):
            raise ValueError("'unless': each group needs at least one condition")
        if self.message is not None:
            try:
                self.message.format(**dict.fromkeys(MESSAGE_FIELDS, ""))
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(
                    f"message: unknown placeholder {exc}; use {MESSAGE_FIELDS}"
                ) from None
        return self


class _Target(Record):
    """One place the conditions apply to: the object, a pod, a pod's metadata or a container
    (made by ``_target``)."""

    base: Pointer
    data: Any
    container: str | None
    pod: PodView | None
    """The pod it belongs to (a container's, for inherited values)."""
    locate: Callable[[Pointer], Pointer] | None
    unknown: Unknown
    """The object's fields the API does not know."""
    ref: ContainerRef | None
    """The container, for the subject of a message (formatted only when one is reported)."""
    direct: bool
    """Whether paths are walked in the data as written: not gathered from several places
    (a LayeredPod), and no field the API does not know to leave out."""

    def subject(self, display: str) -> str:
        """``Container 'web' of Deployment 'shop/web'``, a pod's or the object's ``display``."""
        if self.ref is not None:
            return self.ref.subject(display)
        return self.pod.subject(display) if self.pod is not None else display


def _target(
    base: Pointer,
    data: Any,
    unknown: Unknown,
    pod: PodView | None = None,
    ref: ContainerRef | None = None,
    locate: Callable[[Pointer], Pointer] | None = None,
) -> _Target:
    """A target of ``data`` at ``base`` (a container's when ``ref`` is given)."""
    direct = locate is None and not unknown.fields
    container = ref.name if ref is not None else None
    return _Target(base, data, container, pod, locate, unknown, ref, direct)


@template("field", scope="object", params=FieldParams)
def field(params: FieldParams, obj: KubeObject) -> Iterator[Violation]:
    """Each target (the object, each pod spec, each pod's metadata, or each container) must meet
    every condition; the first condition it fails is reported. A container condition with
    ``inherit`` falls back to the same path in its pod spec when the container does not set it;
    a bad pod value is reported once, where it is written, not again for each container
    inheriting it."""
    if not params.applies_to(obj.shape):
        return
    targets = obj.derived.get(params.targets_key)
    if targets is None:
        targets = _targets(params, obj)
    if params.inherited:
        for pod in obj.pods:
            if any(target.pod is pod for target in targets):
                yield from _pod_values(params, obj, pod)
    when, unless = params.when, params.unless
    for target in targets:
        if when and not all(_holds(c, target) for c in when):
            continue
        if unless and any(all(_holds(c, target) for c in group) for group in unless):
            continue
        direct = target.direct
        for condition in params.conditions:
            if direct and condition.met_by(target.data):
                continue  # the common case: met, with no match or message built
            violation = _first_violation(params, condition, obj, target)
            if violation is not None:
                yield violation
                break


def _targets(params: FieldParams, obj: KubeObject) -> list[_Target]:
    """The targets of ``params`` in ``obj``, found once per object for every rule that shares
    the same target, container lists and Windows filter."""
    key = params.targets_key
    targets = obj.derived.get(key)
    if targets is None:
        targets = obj.derived[key] = list(_find_targets(params, obj))
    return targets


def _find_targets(params: FieldParams, obj: KubeObject) -> Iterator[_Target]:
    unknown = obj.unknown
    if params.target == "object":
        yield _target(obj.pointer, obj.data, unknown)
        return
    for pod in obj.pods:
        if params.linux_only and pod.is_windows:
            continue
        if params.target == "pod":
            yield _pod_target(obj, pod)
        elif params.target == "pod-metadata":
            metadata = obj.document.get(pod.metadata_pointer)
            yield _target(pod.metadata_pointer, metadata, unknown, pod)
        else:
            for ref in pod.containers():
                if ref.role in params.containers:
                    yield _container_target(ref, pod, unknown)


def _holds(condition: Condition, target: _Target) -> bool:
    if target.direct:
        return condition.met_by(target.data)  # no match built
    return all(condition.problem(match) is None for match in _select(condition, target))


def _select(condition: Condition, target: _Target) -> Iterable[Match]:
    if target.direct:
        names = plain_names(condition.path)
        if names is not None:  # the common case: one lookup, no generators
            return (lookup(target.data, names, target.base),)
    matches = select(target.data, condition.path, target.base, condition.key_pattern, target.locate)
    return known(matches, target.unknown)


def known(matches: Iterator[Match], unknown: Unknown) -> Iterator[Match]:
    """The matches as the API server decodes them, without the fields it does not know (the
    ``unknown-field`` rule reports those): none inside such a field (a ``*`` walks every key,
    and ``host_path`` is no hostPath volume), and a mapping's value without them (a
    ``securityContext`` holding only ``run_as_user`` is an empty one)."""
    if not unknown.fields:
        return matches
    return (
        match._replace(value=_decoded(match.value, match.pointer, unknown))
        for match in matches
        if not any(
            match.pointer[:depth] in unknown.fields for depth in range(1, len(match.pointer) + 1)
        )
    )


def _decoded(value: Any, pointer: Pointer, unknown: Unknown) -> Any:
    """``value`` (at ``pointer``) without the unknown fields inside it, at any depth."""
    if pointer not in unknown.holders:
        return value
    if isinstance(value, dict):
        return {
            key: _decoded(item, (*pointer, key), unknown)
            for key, item in value.items()
            if (*pointer, key) not in unknown.fields
        }
    if isinstance(value, list):
        return [_decoded(item, (*pointer, index), unknown) for index, item in enumerate(value)]
    return value


def _pod_values(params: FieldParams, obj: KubeObject, pod: PodView) -> Iterator[Violation]:
    """The pod-level values of inheritable fields: the first bad one, reported at the pod
    (unless every container overrides it and the condition says what to do then)."""
    unknown = obj.unknown
    target = _pod_target(obj, pod)
    direct = target.direct
    for condition in params.inherited:
        names = condition.plain
        if direct and names is not None:  # the common case: judged without a match
            value = value_of(target.data, names)
            if value is MISSING or is_empty(value) or condition.meets(value):
                continue
        for match in _select(condition, target):
            written = match.present and not is_empty(match.value)
            problem = condition.problem(match) if written else None
            if problem is None or match.pointer in obj.wrong_types:
                continue
            origin = " for the whole pod"
            severity = condition.severity
            if condition.overridden == "info" and _every_container_overrides(
                condition, pod, unknown
            ):
                origin += (
                    " (every container overrides it; ephemeral containers added later would"
                    " inherit it)"
                )
                severity = Severity.INFO
            yield _violation(params, condition, obj, target, match, problem, origin, severity)
            return


def _every_container_overrides(condition: Condition, pod: PodView, unknown: Unknown) -> bool:
    """True if each container of the pod (of every list) sets the condition's path itself, so
    that none of them runs with the pod's value."""
    if pod.partial:  # containers kscan does not see may inherit it
        return False
    refs = list(pod.containers())
    return bool(refs) and all(
        _sets(condition, _container_target(ref, pod, unknown)) for ref in refs
    )


def _first_violation(
    params: FieldParams, condition: Condition, obj: KubeObject, target: _Target
) -> Violation | None:
    pod = target.pod
    for match in _select(condition, target):
        problem = condition.problem(match)
        if problem is None:
            continue
        if match.pointer in obj.wrong_types:
            continue  # an input error says what is wrong with it
        unset = not match.present or is_empty(match.value)
        if unset and pod is not None and pod.partial:
            continue  # what a pod kscan sees in part lacks may be set by whatever completes it
        if condition.inherit and unset and _inherited(condition, obj, pod):
            continue  # the pod's value applies: fine, or already reported at the pod
        if unset and condition.inherit:
            problem += " on the container or the pod"
        return _violation(params, condition, obj, target, match, problem, "")
    return None


def _violation(
    params: FieldParams,
    condition: Condition,
    obj: KubeObject,
    target: _Target,
    match: Match,
    problem: str,
    origin: str,
    severity: Severity | None = None,
) -> Violation:
    subject = target.subject(obj.display)
    pod = target.pod
    shared = pod is not None and pod.label and match.pointer[: len(pod.pointer)] != pod.pointer
    if shared and target.container is None:
        subject = obj.display  # a value shared by the object's pods (an Argo workflow's own)
    value = match.value
    message = (params.message or _DEFAULT_MESSAGE).format(
        subject=subject,
        field=dotted(match.relative),
        value="" if value is MISSING or not params.shows_value else shown(value, match.pointer),
        problem=problem,
        origin=origin,
        expected=condition.expectation,
    )
    detail = "unset" if not match.present or is_empty(match.value) else "set"
    return Violation(
        match.pointer,
        message,
        obj,
        target.container,
        severity or condition.severity,
        detail=detail,
    )


def _inherited(condition: Condition, obj: KubeObject, pod: PodView | None) -> bool:
    """True if the pod spec sets the condition's path (so a container without it inherits it)."""
    return pod is not None and _sets(condition, _pod_target(obj, pod))


def _sets(condition: Condition, target: _Target) -> bool:
    """Whether the target writes a value (not an empty one) at the condition's path."""
    names = condition.plain
    if names is not None and target.direct:  # the common case: one lookup, no match built
        value = value_of(target.data, names)
        return value is not MISSING and not is_empty(value)
    return any(match.present and not is_empty(match.value) for match in _select(condition, target))


def _pod_target(obj: KubeObject, pod: PodView) -> _Target:
    """The target of a pod of ``obj``, made once per pod for every rule."""
    key = ("pod-target", id(pod))  # the object keeps its pods alive: ids are not reused
    target = obj.derived.get(key)
    if target is None:
        locate = pod.pointer_of if isinstance(pod.data, LayeredPod) else None
        target = obj.derived[key] = _target(pod.pointer, pod.data, obj.unknown, pod, None, locate)
    return target


def _container_target(ref: ContainerRef, pod: PodView, unknown: Unknown) -> _Target:
    locate = ref.pointer_of if isinstance(ref.data, LayeredPod) else None
    return _target(ref.pointer, ref.data, unknown, pod, ref, locate)
