"""Objects every namespace that runs workloads should have (a LimitRange, a ResourceQuota)."""

from __future__ import annotations

from collections.abc import Iterator

from kscan.checks import Params, Violation, template
from kscan.inventory import Inventory


class RequiresKindParams(Params):
    kind: str


@template("namespace-requires-kind", scope="inventory", params=RequiresKindParams)
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
        yield Violation(
            first.document, pointer, message, first, identity=("Namespace", None, namespace)
        )
