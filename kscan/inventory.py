"""All objects of one scan, indexed for rules that look across objects."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from functools import cached_property

from kscan.objects import KubeObject


class Inventory:
    """Objects in scan order, with per-namespace views built on first use."""

    def __init__(self, objects: Iterable[KubeObject]) -> None:
        self.objects = list(objects)

    @cached_property
    def workloads_by_namespace(self) -> dict[str, list[KubeObject]]:
        """Pod-bearing objects by the namespace they land in (``default`` when unset)."""
        grouped: dict[str, list[KubeObject]] = defaultdict(list)
        for obj in self.objects:
            if obj.pod is not None:
                grouped[obj.effective_namespace].append(obj)
        return dict(grouped)

    def of_kind_anywhere(self, kind: str) -> list[KubeObject]:
        """Objects of one kind in every namespace (and cluster-scoped ones)."""
        return self._by_kind.get(kind, [])

    @cached_property
    def _by_kind(self) -> dict[str, list[KubeObject]]:
        grouped: dict[str, list[KubeObject]] = defaultdict(list)
        for obj in self.objects:
            grouped[obj.kind].append(obj)
        return dict(grouped)

    def of_kind(self, kind: str, namespace: str) -> list[KubeObject]:
        """Objects of one kind in one namespace."""
        return self._by_kind_and_namespace.get((kind, namespace), [])

    @cached_property
    def _by_kind_and_namespace(self) -> dict[tuple[str, str], list[KubeObject]]:
        grouped: dict[tuple[str, str], list[KubeObject]] = defaultdict(list)
        for obj in self.objects:
            grouped[(obj.kind, obj.effective_namespace)].append(obj)
        return dict(grouped)
