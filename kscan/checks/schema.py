"""Fields the Kubernetes API does not know, written where a pod's controls live."""

from __future__ import annotations

from collections.abc import Iterator

from kscan.checks.base import PodParams, Violation, template
from kscan.model import KubeObject
from kscan.model.api import UnknownField
from kscan.support.disclosure import shown_key


@template("unknown-field", scope="object", params=PodParams)
def unknown_field(params: PodParams, obj: KubeObject) -> Iterator[Violation]:
    """Keys of a pod spec, container, securityContext, volume or any other struct a pod is made
    of that the API does not have (``securityContex``, ``run_as_user``, ``Privileged``): the API
    server drops them (or refuses the object under strict field validation), so the control
    the author wrote is not set. Reported at the key, with the field it resembles."""
    for unknown in obj.unknown_fields:
        subject, container = _owner(obj, unknown)
        key = shown_key(unknown.key)
        if unknown.removed:
            what = f"'{key}' was removed from the Kubernetes API ({unknown.struct})"
        else:
            what = f"'{key}' is not a field of {unknown.struct}"
            if unknown.suggestion:
                what += f" (did you mean '{unknown.suggestion}'?)"
        message = f"{subject}: {what}; Kubernetes drops it, so it sets nothing."
        yield Violation((*obj.pointer, *unknown.pointer), message, obj, container)


def _owner(obj: KubeObject, unknown: UnknownField) -> tuple[str, str | None]:
    """Who the key belongs to: the container whose field it is, or the pod, or the object."""
    pointer = (*obj.pointer, *unknown.pointer)
    for _pod, ref in obj.containers():
        if pointer[: len(ref.pointer)] == ref.pointer and len(pointer) > len(ref.pointer):
            return ref.subject(obj.display), ref.name
    for pod in obj.pods:
        if pointer[: len(pod.pointer)] == pod.pointer:
            return pod.subject(obj.display), None
    return obj.display, None
