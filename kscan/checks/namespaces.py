"""Namespaces: objects each one that runs workloads should have (a LimitRange, a ResourceQuota),
and kinds that must not be placed in some of them."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

from kscan.checks.base import Params, Violation, template
from kscan.model import KubeObject, Shape
from kscan.model.inventory import Inventory


class RequiresKindParams(Params):
    kind: str
    """The kind every namespace that runs workloads needs (``LimitRange``)."""

    def kinds_seen(self) -> frozenset[str]:
        return frozenset({self.kind})


@template(
    "namespace-requires-kind",
    scope="namespace",
    params=RequiresKindParams,
    reports=["namespace"],
)
def namespace_requires_kind(
    params: RequiresKindParams, inventory: Inventory
) -> Iterator[Violation]:
    """Each namespace that runs workloads in the scanned set needs an object of ``kind``;
    reported once per namespace, at its first workload."""
    for namespace, workloads in inventory.workloads_by_namespace.items():
        if inventory.of_kind(params.kind, namespace):
            continue
        first = workloads[0]
        message = (
            f"Namespace '{namespace}' runs workloads ({first.display} first) but has no "
            f"{params.kind}."
        )
        pointer = (*first.pointer, "metadata", "namespace")
        yield Violation(pointer, message, first, about=("Namespace", namespace, namespace))


class KindInNamespaceParams(Params):
    """``kinds`` that may not be placed in ``namespaces`` (both accept ``*`` globs); an object
    without a namespace counts as ``default``; cluster-scoped kinds are never in a namespace."""

    kinds: list[str]
    """Kinds not allowed in ``namespaces`` (``*`` globs)."""
    namespaces: list[str]
    """Namespaces where ``kinds`` are not allowed (``*`` globs)."""

    def applies_to(self, shape: Shape) -> bool:
        return any(fnmatch.fnmatchcase(shape.kind, pattern) for pattern in self.kinds)

    def names_containers(self) -> bool:
        return False  # about the object


@template("kind-in-namespace", scope="object", params=KindInNamespaceParams)
def kind_in_namespace(params: KindInNamespaceParams, obj: KubeObject) -> Iterator[Violation]:
    """Objects of a forbidden kind in a forbidden namespace (e.g. no workloads in default)."""
    namespace = obj.effective_namespace
    if not params.applies_to(obj.shape) or obj.cluster_scoped:
        return
    if any(fnmatch.fnmatchcase(namespace, pattern) for pattern in params.namespaces):
        message = (
            f"{obj.display} is a {obj.kind} in namespace '{namespace}', where it is not allowed."
        )
        yield Violation((*obj.pointer, "metadata", "namespace"), message, obj)
