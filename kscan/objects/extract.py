"""Turn parsed documents into KubeObjects with typed models and pod views.

Every document with a ``kind`` becomes an object (Lists are flattened); rules decide which kinds
they look at, so kinds no rule knows are skipped without a word.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ValidationError

from kscan.documents import Document, Pointer, Span
from kscan.objects import command_line
from kscan.objects.models import (
    Container,
    KubeObjectModel,
    NetworkPolicy,
    ObjectMeta,
    PodSpec,
    Role,
    RoleBinding,
)

_TEMPLATE_SPEC: Pointer = ("spec", "template", "spec")
POD_SPEC_POINTERS: dict[str, Pointer] = {
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
    "Deployment": _TEMPLATE_SPEC,
    "ReplicaSet": _TEMPLATE_SPEC,
    "StatefulSet": _TEMPLATE_SPEC,
    "DaemonSet": _TEMPLATE_SPEC,
    "ReplicationController": _TEMPLATE_SPEC,
    "Job": _TEMPLATE_SPEC,
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
MODELS: dict[str, type[KubeObjectModel]] = {
    "NetworkPolicy": NetworkPolicy,
    "Role": Role,
    "ClusterRole": Role,
    "RoleBinding": RoleBinding,
    "ClusterRoleBinding": RoleBinding,
}
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "Node",
        "PersistentVolume",
        "ClusterRole",
        "ClusterRoleBinding",
        "StorageClass",
        "CustomResourceDefinition",
        "PriorityClass",
        "IngressClass",
        "RuntimeClass",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "APIService",
        "CSIDriver",
        "CSINode",
        "VolumeAttachment",
        "CertificateSigningRequest",
        "PodSecurityPolicy",
        "ClusterIssuer",
        "FlowSchema",
        "PriorityLevelConfiguration",
    }
)
"""Built-in (and common) kinds that live outside namespaces."""
CONTAINER_LISTS = (
    ("containers", "containers", "Container"),
    ("initContainers", "init_containers", "Init container"),
    ("ephemeralContainers", "ephemeral_containers", "Ephemeral container"),
)


ObjectKey = tuple[str, int, Pointer]
"""(file path, document index, pointer): tells an object apart within one scan."""


@dataclass(frozen=True)
class ContainerRef:
    """One container of a pod, with where it is written."""

    container: Container
    pointer: Pointer
    label: str
    data: dict[str, Any]
    """The container as parsed (plain data), for templates that walk field paths."""

    @property
    def name(self) -> str:
        return self.container.name

    @cached_property
    def program(self) -> str | None:
        """The program the container runs (see ``command_line.program``)."""
        return command_line.program(self.data)

    @cached_property
    def flags(self) -> dict[str, tuple[Pointer, str]]:
        """Its command-line flags: name -> (where, value)."""
        return command_line.parse_flags(self.data)


@dataclass(frozen=True)
class PodView:
    """The pod spec of a pod-bearing object, with the metadata that applies to its pods."""

    spec: PodSpec
    pointer: Pointer
    metadata: ObjectMeta
    metadata_pointer: Pointer
    data: dict[str, Any]
    """The pod spec as parsed (plain data)."""

    @property
    def is_windows(self) -> bool:
        return self.spec.os is not None and self.spec.os.name == "windows"

    def containers(self) -> tuple[ContainerRef, ...]:
        """Every container, init container and ephemeral container, in that order."""
        return self._containers

    @cached_property
    def _containers(self) -> tuple[ContainerRef, ...]:
        return tuple(
            ContainerRef(container, (*self.pointer, field, index), label, self.data[field][index])
            for field, attribute, label in CONTAINER_LISTS
            for index, container in enumerate(getattr(self.spec, attribute))
        )


@dataclass(frozen=True)
class Shape:
    """What is known of an object before rules run, enough to skip the rules that cannot apply:
    its kind, whether it runs pods, and the programs its containers run."""

    kind: str
    has_pod: bool
    programs: frozenset[str]


@dataclass(frozen=True)
class KubeObject:
    """A Kubernetes object found at ``pointer`` inside a document."""

    document: Document
    pointer: Pointer
    model: KubeObjectModel
    pod: PodView | None = None

    @property
    def kind(self) -> str:
        return self.model.kind

    @property
    def name(self) -> str:
        meta = self.model.metadata
        return meta.name or (f"{meta.generate_name}*" if meta.generate_name else "<unnamed>")

    @property
    def namespace(self) -> str | None:
        return self.model.metadata.namespace

    @property
    def effective_namespace(self) -> str:
        """The namespace the object lands in when applied without ``-n``."""
        return self.namespace or "default"

    @property
    def key(self) -> ObjectKey:
        """Tells this object apart within one scan."""
        return (self.document.path, self.document.index, self.pointer)

    @cached_property
    def shape(self) -> Shape:
        containers = self.pod.containers() if self.pod is not None else ()
        programs = frozenset(ref.program for ref in containers if ref.program)
        return Shape(self.kind, self.pod is not None, programs)

    @cached_property
    def data(self) -> dict[str, Any]:
        """The object as parsed (plain data), for templates that walk field paths."""
        return self.document.get(self.pointer)  # type: ignore[no-any-return]

    @cached_property
    def display(self) -> str:
        """``Deployment 'shop/web'`` or ``ClusterRole 'admin'``."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} '{where}'"


@dataclass(frozen=True)
class InvalidObject:
    """An object whose checked fields have the wrong type; it is reported, not scanned."""

    document: Document
    pointer: Pointer
    span: Span
    message: str


def extract_objects(document: Document) -> Iterator[KubeObject | InvalidObject]:
    """Every object of a document, Lists flattened; documents without a kind are skipped."""
    yield from _objects_at(document, document.data, ())


def _objects_at(
    document: Document, data: Any, pointer: Pointer
) -> Iterator[KubeObject | InvalidObject]:
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        return
    kind = data["kind"]
    items = data.get("items")
    if kind.endswith("List") and isinstance(items, list):
        for index, item in enumerate(items):
            yield from _objects_at(document, item, (*pointer, "items", index))
        return
    pod_pointer = _pod_spec_pointer(kind, data)
    try:
        yield _build(document, data, pointer, kind, pod_pointer)
    except ValidationError as exc:
        yield _invalid(document, pointer, (), exc)
    except _FieldError as exc:
        yield _invalid(document, pointer, exc.prefix, exc.error)


def _pod_spec_pointer(kind: str, data: dict[str, Any]) -> Pointer | None:
    known = POD_SPEC_POINTERS.get(kind)
    if known is not None:
        return known
    template = _get(data, _TEMPLATE_SPEC)
    if isinstance(template, dict) and isinstance(template.get("containers"), list):
        return _TEMPLATE_SPEC  # a custom resource with a pod template (Argo Rollout, ...)
    return None


def _build(
    document: Document,
    data: dict[str, Any],
    pointer: Pointer,
    kind: str,
    pod_pointer: Pointer | None,
) -> KubeObject:
    model = MODELS.get(kind, KubeObjectModel).model_validate(data)
    pod = None
    if pod_pointer is not None:
        spec = _validate_at(PodSpec, data, pod_pointer)
        meta_pointer = (*pod_pointer[:-1], "metadata") if len(pod_pointer) > 1 else ("metadata",)
        metadata = _validate_at(ObjectMeta, data, meta_pointer)
        pod_data = _get(data, pod_pointer) or {}
        pointers = ((*pointer, *pod_pointer), (*pointer, *meta_pointer))
        pod = PodView(spec, pointers[0], metadata, pointers[1], pod_data)
    return KubeObject(document, pointer, model, pod)


class _FieldError(Exception):
    """A validation error in the sub-tree at ``prefix``."""

    def __init__(self, prefix: Pointer, error: ValidationError) -> None:
        super().__init__(str(error))
        self.prefix, self.error = prefix, error


def _validate_at(model: type[BaseModel], data: dict[str, Any], pointer: Pointer) -> Any:
    try:
        return model.model_validate(_get(data, pointer) or {})
    except ValidationError as exc:
        raise _FieldError(pointer, exc) from None


def _get(data: Any, pointer: Pointer) -> Any:
    for part in pointer:
        if isinstance(data, dict):
            data = data.get(part)
        else:
            return None
    return data


def _invalid(
    document: Document, pointer: Pointer, prefix: Pointer, exc: ValidationError
) -> InvalidObject:
    error = exc.errors()[0]
    loc = (*prefix, *(part for part in error["loc"] if isinstance(part, (str, int))))
    span, _exact = document.locate((*pointer, *loc))
    field = _dotted(loc)
    data = _get(document.data, pointer) or {}
    meta = data.get("metadata") if isinstance(data, dict) else None
    name = meta.get("name") if isinstance(meta, dict) else None
    name = name if isinstance(name, str) else "<unnamed>"
    message = f"{data.get('kind')} '{name}' is invalid: {field}: {error['msg']}"
    extra = len(exc.errors()) - 1
    if extra:
        message += f" (and {extra} more problem{'s' if extra > 1 else ''})"
    return InvalidObject(document, pointer, span, message)


def _dotted(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "<object>"
