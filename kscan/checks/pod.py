"""Pod and container hardening templates: securityContext values and Linux capabilities."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from kscan.checks import (
    Params,
    Violation,
    get_path,
    has_field_path,
    snake_path,
    template,
    yaml_value,
)
from kscan.objects import ContainerRef, KubeObject
from kscan.objects.models import PodSecurityContext, SecurityContext
from kscan.taxonomy import Severity


class Condition(Params):
    """One requirement on a securityContext field (dotted camelCase path)."""

    field: str
    allowed: list[Any] | None = None
    forbidden: list[Any] | None = None
    required: bool = False
    severity: Severity | None = None

    @field_validator("field")
    @classmethod
    def _known_field(cls, value: str) -> str:
        if not has_field_path(SecurityContext, snake_path(value)):
            raise ValueError(f"'{value}' is not a container securityContext field kscan models")
        return value

    @model_validator(mode="after")
    def _says_something(self) -> Condition:
        if self.allowed is None and self.forbidden is None and not self.required:
            raise ValueError("a condition needs 'allowed', 'forbidden' or 'required: true'")
        return self


class SecurityContextParams(Params):
    conditions: list[Condition]
    linux_only: bool = False


@template("security-context", scope="object", params=SecurityContextParams)
def security_context(params: SecurityContextParams, obj: KubeObject) -> Iterator[Violation]:
    """Each container's effective securityContext field (container value, else the pod's) must
    meet every condition; the first condition a container fails is reported."""
    pod = obj.pod
    if pod is None or (params.linux_only and pod.is_windows):
        return
    pod_context = pod.spec.security_context
    for ref in pod.containers():
        for condition in params.conditions:
            violation = _check_condition(condition, obj, ref, pod_context)
            if violation is not None:
                yield violation
                break


def _check_condition(
    condition: Condition, obj: KubeObject, ref: ContainerRef, pod_context: PodSecurityContext | None
) -> Violation | None:
    attributes = snake_path(condition.field)
    field_path = tuple(condition.field.split("."))
    inheritable = has_field_path(PodSecurityContext, attributes)
    value = get_path(ref.container.security_context, attributes)
    pointer = (*ref.pointer, "securityContext", *field_path)
    inherited = False
    if value is None and inheritable:
        value = get_path(pod_context, attributes)
        if value is not None:
            inherited = True
            pointer = (*obj.pod.pointer, "securityContext", *field_path)  # type: ignore[union-attr]
    subject = f"{ref.label} '{ref.name}' of {obj.display}"
    field = f"securityContext.{condition.field}"
    if value is None:
        if not condition.required:
            return None
        where = "on the container or the pod" if inheritable else "on the container"
        message = f"{subject} does not set {field} {where}{_expectation(condition)}."
    elif (condition.forbidden is not None and _one_of(value, condition.forbidden)) or (
        condition.allowed is not None and not _one_of(value, condition.allowed)
    ):
        origin = " (inherited from the pod)" if inherited else ""
        message = f"{subject} sets {field} to {yaml_value(value)}{origin}{_expectation(condition)}."
    else:
        return None
    return Violation(obj.document, pointer, message, obj, ref.name, condition.severity)


def _one_of(value: Any, options: list[Any]) -> bool:
    """Membership without Python's ``True == 1``: ``runAsUser: 1`` is not ``true``."""
    return any(type(option) is type(value) and option == value for option in options)


def _expectation(condition: Condition) -> str:
    if condition.allowed:
        return "; expected " + " or ".join(yaml_value(value) for value in condition.allowed)
    return ""


class CapabilitiesParams(Params):
    which: Literal["add", "drop"] = Field(alias="list")
    must_include: list[str] | None = None
    allowed: list[str] | None = None
    forbidden: list[str] | None = None
    linux_only: bool = True


def normalize_capability(name: str) -> str:
    """Container runtimes accept ``sys_admin`` and ``CAP_SYS_ADMIN`` for ``SYS_ADMIN``."""
    upper = name.upper()
    return upper[4:] if upper.startswith("CAP_") else upper


@template("capabilities", scope="object", params=CapabilitiesParams)
def capabilities(params: CapabilitiesParams, obj: KubeObject) -> Iterator[Violation]:
    """``drop`` must include the listed capabilities (``ALL`` covers any); ``add`` may hold only
    ``allowed`` ones and none of ``forbidden`` (adding ``ALL`` adds every forbidden one)."""
    pod = obj.pod
    if pod is None or (params.linux_only and pod.is_windows):
        return
    for ref in pod.containers():
        caps = get_path(ref.container.security_context, ("capabilities",))
        names = [normalize_capability(name) for name in getattr(caps, params.which, [])]
        subject = f"{ref.label} '{ref.name}' of {obj.display}"
        list_pointer = (*ref.pointer, "securityContext", "capabilities", params.which)
        field = f"securityContext.capabilities.{params.which}"
        if params.which == "drop":
            missing = (
                [] if "ALL" in names else [c for c in params.must_include or [] if c not in names]
            )
            if missing:
                message = f"{subject} does not drop {', '.join(missing)} in {field}."
                yield Violation(obj.document, list_pointer, message, obj, ref.name)
            continue
        bad = [index for index, name in enumerate(names) if _bad_addition(params, name)]
        if bad:
            listed = ", ".join(names[index] for index in bad)
            allowed = f"; only {', '.join(params.allowed)} may be added" if params.allowed else ""
            message = f"{subject} adds {listed} in {field}{allowed}."
            yield Violation(obj.document, (*list_pointer, bad[0]), message, obj, ref.name)


def _bad_addition(params: CapabilitiesParams, name: str) -> bool:
    if params.allowed is not None and name not in params.allowed:
        return True
    return params.forbidden is not None and (name in params.forbidden or name == "ALL")
