"""Network isolation templates."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from kscan.checks.base import Params, Violation, template
from kscan.model.inventory import Inventory, ObjectFacts, PolicyOutline

Direction = Literal["Ingress", "Egress"]


class NetworkParams(Params):
    def kinds_seen(self) -> frozenset[str]:
        return frozenset({"NetworkPolicy"})


class DefaultDenyParams(NetworkParams):
    directions: tuple[Direction, ...] = ("Ingress", "Egress")
    """The directions each namespace must deny by default; each missing one is a finding."""


def isolates(policy: PolicyOutline, direction: Direction, labels: dict[str, str]) -> bool:
    """True if the policy selects pods with these labels and isolates them in ``direction``."""
    return direction in policy.policy_types and policy.selects(labels)


def _policies(inventory: Inventory, namespace: str) -> list[PolicyOutline]:
    return [
        obj.model
        for obj in inventory.of_kind("NetworkPolicy", namespace)
        if isinstance(obj.model, PolicyOutline)
    ]


def is_default_deny(policy: PolicyOutline, direction: Direction) -> bool:
    """True if the policy selects every pod of its namespace and allows nothing in ``direction``."""
    allows = policy.allows_ingress if direction == "Ingress" else policy.allows_egress
    return policy.selects_all and direction in policy.policy_types and not allows


@template(
    "namespace-default-deny", scope="namespace", params=DefaultDenyParams, reports=["namespace"]
)
def namespace_default_deny(params: DefaultDenyParams, inventory: Inventory) -> Iterator[Violation]:
    """Every namespace that runs workloads needs, per direction, a NetworkPolicy with an empty
    podSelector, that direction in its policyTypes, and no rules for it. Reported once per
    namespace and direction, at the first workload of the namespace."""
    for namespace, workloads in inventory.workloads_by_namespace.items():
        policies = _policies(inventory, namespace)
        first: ObjectFacts = workloads[0]
        for direction in params.directions:
            if any(is_default_deny(policy, direction) for policy in policies):
                continue
            message = (
                f"Namespace '{namespace}' runs workloads ({first.display} first) but no "
                f"NetworkPolicy denies all {direction.lower()} by default (podSelector: {{}}, "
                f"policyTypes including {direction}, no {direction.lower()} rules)."
            )
            yield Violation(
                (*first.pointer, "metadata", "namespace"),
                message,
                first,
                about=("Namespace", namespace, namespace),
                detail=direction,
            )


_EFFECT = {"Ingress": "any pod can connect to them", "Egress": "they can connect anywhere"}


class PodIsolationParams(NetworkParams):
    direction: Direction
    """The direction in which each workload's pods must be isolated."""


@template("pod-isolation", scope="namespace", params=PodIsolationParams, reports=["pod-labels"])
def pod_isolation(params: PodIsolationParams, inventory: Inventory) -> Iterator[Violation]:
    """Each workload's pods (by their template labels) must be selected by a NetworkPolicy of
    their namespace that isolates them in the given direction; otherwise any pod may reach them
    (ingress) or they may reach anything (egress)."""
    for namespace, workloads in inventory.workloads_by_namespace.items():
        policies = _policies(inventory, namespace)
        for obj, pod in ((o, p) for o in workloads for p in o.pods):
            labels = pod.labels
            if any(isolates(policy, params.direction, labels) for policy in policies):
                continue
            effect = _EFFECT[params.direction]
            message = (
                f"The pods of {pod.subject(obj.display)} are selected by no NetworkPolicy that "
                f"isolates {params.direction.lower()}: {effect}."
            )
            yield Violation(pod.labels_pointer, message, obj)


@template(
    "policy-selects-nothing",
    scope="namespace",
    params=NetworkParams,
    reports=["policy-selectors"],
)
def policy_selects_nothing(params: NetworkParams, inventory: Inventory) -> Iterator[Violation]:
    """NetworkPolicies whose podSelector selects no pod of their namespace in the scan (and the
    context files), reported at ``spec.podSelector``; of the others, each rule peer that selects
    pods of the policy's namespace (a podSelector without namespaceSelector) and matches none of
    them, at the peer's podSelector. An empty podSelector selects every pod and passes; a
    namespace with no pod-bearing object in the scan has nothing to select, and is reported."""
    labels: dict[str, list[dict[str, str]]] = {}
    for obj in inventory.of_kind_anywhere("NetworkPolicy"):
        policy = obj.model
        if not isinstance(policy, PolicyOutline):
            continue
        namespace = obj.effective_namespace
        if namespace not in labels:
            workloads = inventory.workloads_by_namespace.get(namespace, [])
            labels[namespace] = [pod.labels for o in workloads for pod in o.pods]
        pods = labels[namespace]
        known = (
            f"no pod of namespace '{namespace}' in the scan"
            if pods
            else f"no pod: the scan holds no pod-bearing object of namespace '{namespace}'"
        )
        if not policy.selects_all and not any(policy.selects(pod) for pod in pods):
            message = (
                f"{obj.display}: spec.podSelector selects {known}, so the policy isolates none; "
                f"check its labels against the pod templates."
            )
            yield Violation((*obj.pointer, "spec", "podSelector"), message, obj)
            continue
        for peer in policy.peers:
            if any(peer.selects(pod) for pod in pods):
                continue
            direction, index, key, at = peer.pointer[:4]
            allowed = "from" if key == "from" else "to"
            message = (
                f"{obj.display}: {direction}[{index}].{key}[{at}].podSelector selects {known}; "
                f"the rule allows traffic {allowed} no pod the scan knows of."
            )
            yield Violation((*obj.pointer, "spec", *peer.pointer), message, obj)
