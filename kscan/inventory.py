"""What cross-object rules see of every scanned object, indexed by kind and namespace.

A file's documents are freed once its own rules have run; each object leaves behind only
``ObjectFacts``: identity, the typed model of the kinds that rules compare (NetworkPolicy, RBAC),
the pod facts that namespaces and ServiceAccounts decide on, and the positions of the few fields
cross-object rules report at. Memory thus grows with the number of objects, not their size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from sys import intern
from typing import Any

from kscan.documents import Pointer, Sites
from kscan.objects import KubeObject, ObjectKey
from kscan.objects.models import KubeObjectModel, NetworkPolicy, Role


@dataclass(frozen=True, slots=True)
class PodFacts:
    """What cross-object rules need of a pod template."""

    labels: dict[str, str]
    automount: Any
    """The pod's ``automountServiceAccountToken`` as written (None when unset)."""
    service_account: str
    pointer: Pointer
    metadata_pointer: Pointer


@dataclass(frozen=True, slots=True)
class ObjectFacts:
    """One object as cross-object rules see it, after its document is gone."""

    kind: str
    name: str
    namespace: str | None
    pointer: Pointer
    key: ObjectKey
    model: KubeObjectModel | None
    """The typed model, for the kinds rules compare: Role, RoleBinding, and NetworkPolicy in
    outline (its rules emptied: cross-object rules only ask whether it has any)."""
    pod: PodFacts | None
    automount: Any
    """A ServiceAccount's ``automountServiceAccountToken`` as written."""
    document: Sites
    reported: bool = True
    """False for objects read only as context (``--context``): nothing is reported on them."""

    @property
    def effective_namespace(self) -> str:
        """The namespace the object lands in when applied without ``-n``."""
        return self.namespace or "default"

    @property
    def display(self) -> str:
        """``Deployment 'shop/web'`` or ``ClusterRole 'admin'``."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} '{where}'"

    @classmethod
    def of(cls, obj: KubeObject, reported: bool = True) -> ObjectFacts:
        """The facts of a scanned object, with the positions cross-object rules report at."""
        pod = None
        if obj.pod is not None:
            spec = obj.pod.data
            account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
            pod = PodFacts(
                labels={intern(k): intern(v) for k, v in obj.pod.metadata.labels.items()},
                automount=spec.get("automountServiceAccountToken"),
                service_account=intern(account) if isinstance(account, str) else account,
                pointer=obj.pod.pointer,
                metadata_pointer=obj.pod.metadata_pointer,
            )
        model = obj.model if type(obj.model) is not KubeObjectModel else None
        if isinstance(model, NetworkPolicy):
            model = model.outline()
        return cls(
            kind=intern(obj.kind),
            name=obj.name,
            namespace=None if obj.namespace is None else intern(obj.namespace),
            pointer=obj.pointer,
            key=obj.key,
            model=model,
            pod=pod,
            automount=obj.data.get("automountServiceAccountToken")
            if obj.kind == "ServiceAccount"
            else None,
            document=Sites.of(obj.document, _report_sites(obj, pod)),
            reported=reported,
        )


def _report_sites(obj: KubeObject, pod: PodFacts | None) -> Iterator[Pointer]:
    """The fields cross-object rules report at: a workload's namespace (for namespace-wide
    findings), its pod labels and token setting; each rule of a Role or ClusterRole."""
    if pod is not None:
        yield (*obj.pointer, "metadata", "namespace")
        yield (*pod.metadata_pointer, "labels")
        yield (*pod.pointer, "automountServiceAccountToken")
    if isinstance(obj.model, Role):
        for index in range(len(obj.model.rules or [])):
            yield (*obj.pointer, "rules", index, "verbs")


class Inventory:
    """Objects in scan order, with per-namespace views built on first use."""

    def __init__(self, objects: Iterable[ObjectFacts]) -> None:
        self.objects = list(objects)

    @cached_property
    def workloads_by_namespace(self) -> dict[str, list[ObjectFacts]]:
        """Pod-bearing objects by the namespace they land in (``default`` when unset)."""
        grouped: dict[str, list[ObjectFacts]] = defaultdict(list)
        for obj in self.objects:
            if obj.pod is not None:
                grouped[obj.effective_namespace].append(obj)
        return dict(grouped)

    def of_kind_anywhere(self, kind: str) -> list[ObjectFacts]:
        """Objects of one kind in every namespace (and cluster-scoped ones)."""
        return self._by_kind.get(kind, [])

    @cached_property
    def _by_kind(self) -> dict[str, list[ObjectFacts]]:
        grouped: dict[str, list[ObjectFacts]] = defaultdict(list)
        for obj in self.objects:
            grouped[obj.kind].append(obj)
        return dict(grouped)

    def of_kind(self, kind: str, namespace: str) -> list[ObjectFacts]:
        """Objects of one kind in one namespace."""
        return self._by_kind_and_namespace.get((kind, namespace), [])

    @cached_property
    def _by_kind_and_namespace(self) -> dict[tuple[str, str], list[ObjectFacts]]:
        grouped: dict[tuple[str, str], list[ObjectFacts]] = defaultdict(list)
        for obj in self.objects:
            grouped[(obj.kind, obj.effective_namespace)].append(obj)
        return dict(grouped)
