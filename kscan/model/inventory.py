"""What cross-object rules see of every scanned object, indexed by kind and namespace.

A file's documents are freed once its own rules have run; each object leaves behind only
``ObjectFacts``: identity, what RBAC and NetworkPolicy rules compare, the pod facts that
namespaces and ServiceAccounts decide on, and the positions of the few fields cross-object
rules report at. They take a few hundred bytes per object, so memory grows with the number of
objects, not their size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from functools import cached_property
from itertools import groupby
from operator import itemgetter
from sys import intern
from typing import Any, Literal

from kscan.input.documents import Pointer, Span, plain_path
from kscan.model import KubeObject, ObjectKey, PodView
from kscan.model.fields import (
    Invalid,
    LabelSelector,
    NetworkPolicy,
    NetworkPolicySpec,
    Role,
    RoleBinding,
)
from kscan.support.spill import SortedSpill
from kscan.support.values import dataclass


def _selects(
    items: tuple[str, ...], expressions: LabelSelector | None, labels: dict[str, str]
) -> bool:
    """Whether a selector kept as flattened matchLabels, or whole when it has matchExpressions,
    selects pods with these labels."""
    if expressions is not None:
        return expressions.matches(labels)
    return all(labels.get(items[i]) == items[i + 1] for i in range(0, len(items), 2))


def _flat(selector: LabelSelector) -> tuple[str, ...]:
    return tuple(intern(text) for item in selector.match_labels.items() for text in item)


@dataclass(frozen=True, slots=True)
class PeerSelector:
    """A non-empty ``podSelector`` peer of a NetworkPolicy rule without a namespaceSelector:
    pods of the policy's own namespace."""

    match_items: tuple[str, ...]
    expressions: LabelSelector | None
    pointer: Pointer
    """Where it is, from the policy's ``spec`` (``ingress``, 0, ``from``, 1, ``podSelector``)."""

    def selects(self, labels: dict[str, str]) -> bool:
        return _selects(self.match_items, self.expressions, labels)


@dataclass(frozen=True, slots=True)
class PolicyOutline:
    """A NetworkPolicy as cross-object rules compare it: the pods it selects, the directions
    it isolates, and whether it allows anything in each."""

    match_items: tuple[str, ...]
    """Its podSelector's matchLabels, flattened (key, value, key, value, ...)."""
    expressions: LabelSelector | None
    """Its podSelector, when it has matchExpressions."""
    policy_types: frozenset[str]
    allows_ingress: bool
    allows_egress: bool
    peers: tuple[PeerSelector, ...] = ()
    """Its rules' same-namespace pod peers, kept only when a rule reports at them."""

    @property
    def selects_all(self) -> bool:
        """An empty podSelector selects every pod of the namespace."""
        return not self.match_items and self.expressions is None

    def selects(self, labels: dict[str, str]) -> bool:
        """Whether its podSelector selects pods with these labels."""
        return _selects(self.match_items, self.expressions, labels)

    @classmethod
    def of(cls, policy: NetworkPolicy, peers: bool = False) -> PolicyOutline:
        spec = policy.spec
        selector = spec.pod_selector
        types = spec.effective_policy_types
        return cls(
            _flat(selector),
            selector if selector.match_expressions else None,
            _TYPES.setdefault(types, types),
            bool(spec.ingress),
            bool(spec.egress),
            tuple(_peer_selectors(spec)) if peers else (),
        )


def _peer_selectors(spec: NetworkPolicySpec) -> Iterator[PeerSelector]:
    """The rules' peers that select pods of the policy's namespace by a non-empty podSelector:
    no namespaceSelector (absent or null: the policy's namespace) and no ipBlock. An empty
    podSelector selects every pod of the namespace and is left out."""
    for direction, key in (("ingress", "from"), ("egress", "to")):
        rules = spec.ingress if direction == "ingress" else spec.egress
        for index, rule in enumerate(rules or []):
            items = rule.get(key)
            for at, peer in enumerate(items if isinstance(items, list) else []):
                if not isinstance(peer, dict) or peer.get("namespaceSelector") is not None:
                    continue
                if peer.get("ipBlock") is not None or not isinstance(peer.get("podSelector"), dict):
                    continue
                try:
                    selector = LabelSelector.model_validate(peer["podSelector"])
                except Invalid:
                    continue
                if selector.match_labels or selector.match_expressions:
                    yield PeerSelector(
                        _flat(selector),
                        selector if selector.match_expressions else None,
                        _shared((direction, index, key, at, "podSelector")),
                    )


_TYPES: dict[frozenset[str], frozenset[str]] = {}
"""One shared set per distinct combination of policy types."""


@dataclass(frozen=True, slots=True)
class RuleOutline:
    """One rule of a Role or ClusterRole: what it grants, on what, where."""

    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    resource_names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RoleOutline:
    """A Role or ClusterRole as RBAC rules read it."""

    rules: tuple[RuleOutline, ...]

    @classmethod
    def of(cls, role: Role) -> RoleOutline:
        def shared(items: list[str]) -> tuple[str, ...]:
            return tuple(intern(item) for item in items)

        return cls(
            tuple(
                RuleOutline(
                    shared(rule.api_groups),
                    shared(rule.resources),
                    shared(rule.verbs),
                    shared(rule.resource_names),
                )
                for rule in role.rules or []
            )
        )


@dataclass(frozen=True, slots=True)
class BindingOutline:
    """A RoleBinding or ClusterRoleBinding: the role it grants, to whom (kind, namespace or
    None, name)."""

    role_kind: str
    role_name: str
    subjects: tuple[tuple[str, str | None, str], ...]

    @classmethod
    def of(cls, binding: RoleBinding) -> BindingOutline:
        ref = binding.role_ref
        subjects = tuple((s.kind, s.namespace, s.name) for s in binding.subjects or [])
        return cls(intern(ref.kind), ref.name, subjects)


Outline = RoleOutline | BindingOutline | PolicyOutline

ReportPoint = Literal[
    "namespace",
    "pod-labels",
    "pod-automount",
    "role-rule-verbs",
    "binding-role-ref",
    "policy-selectors",
]
"""The fields cross-object templates may report at, which an object's facts keep the positions
of (each template declares its own): a workload's ``metadata.namespace``, each pod's labels and
``automountServiceAccountToken``, the ``verbs`` of each rule of a Role or ClusterRole, the
``roleRef.name`` of a RoleBinding or ClusterRoleBinding, a NetworkPolicy's ``spec.podSelector``
and the podSelector of each of its rules' same-namespace peers (``PeerSelector``)."""


@dataclass(frozen=True, slots=True)
class PodFacts:
    """What cross-object rules need of a pod template."""

    label_items: tuple[str, ...]
    """The pod labels, flattened (key, value, key, value, ...)."""
    automount: bool | None
    """The pod's ``automountServiceAccountToken`` (None when unset)."""
    service_account: str
    labels_pointer: Pointer
    automount_pointer: Pointer
    label: str = ""
    """Which pod of the object, for objects with several (see ``PodView.label``)."""

    def subject(self, display: str) -> str:
        return f"{display} ({self.label})" if self.label else display

    @property
    def labels(self) -> dict[str, str]:
        items = self.label_items
        return dict(zip(items[::2], items[1::2], strict=True))


@dataclass(frozen=True, slots=True)
class ObjectFacts:
    """One object as cross-object rules see it, after its document is gone. It locates the
    fields those rules declare they report at (``ReportPoint``), standing in for its document;
    any other pointer is located at the object itself."""

    kind: str
    name: str
    namespace: str | None
    path: str
    index: int
    """The object's document in its file."""
    pointer: Pointer
    model: Outline | None
    pods: tuple[PodFacts, ...]
    automount: Any
    """A ServiceAccount's ``automountServiceAccountToken`` as written."""
    located: tuple[Pointer, ...]
    """The object's own pointer, then the pointers of the declared report points."""
    spans: tuple[int, ...]
    """The spans of ``located``, in order, each packed into one int."""
    stable: dict[Pointer, str] | None
    """Stable paths of those pointers, where they differ from the plain path."""
    reported: bool = True
    """False for objects read only as context (``--context``): nothing is reported on them."""
    cluster_scoped: bool = False
    """Its kind lives outside namespaces (``namespace`` is None): the pods of such an object (a
    ClusterWorkflowTemplate's) run in the namespaces of the objects that use it, unknown here."""

    @property
    def key(self) -> ObjectKey:
        return (self.path, self.index, self.pointer)

    @property
    def about(self) -> tuple[str, str | None, str]:
        """(kind, namespace, name): what its findings name."""
        return (self.kind, self.namespace, self.name)

    @property
    def document(self) -> ObjectFacts:
        """Where violations about it are located: the facts themselves."""
        return self

    @property
    def effective_namespace(self) -> str:
        """The namespace the object lands in when applied without ``-n``."""
        return self.namespace or "default"

    @property
    def display(self) -> str:
        """``Deployment 'shop/web'`` or ``ClusterRole 'admin'``."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} '{where}'"

    def locate(self, pointer: Pointer) -> tuple[Span, bool]:
        """Where a pointer is written: exact for the object and its declared report points,
        else the object's own position (and False)."""
        try:
            return _unpack(self.spans[self.located.index(pointer)]), True
        except ValueError:
            return _unpack(self.spans[0]), False

    def stable_path(self, pointer: Pointer) -> str:
        stable = self.stable.get(pointer) if self.stable else None
        return plain_path(pointer) if stable is None else stable

    @classmethod
    def of(
        cls,
        obj: KubeObject,
        points: frozenset[ReportPoint],
        reported: bool = True,
        stable: bool = True,
    ) -> ObjectFacts:
        """The facts of a scanned object, with the positions of the report ``points`` that the
        scan's cross-object rules declare (and their stable paths unless ``stable`` is False:
        a scan whose reports never read them)."""
        pods = tuple(_pod_facts(pod) for pod in obj.pods if not pod.partial)
        model = obj.model
        kept: Outline | None = None
        if isinstance(model, NetworkPolicy):
            kept = PolicyOutline.of(model, peers="policy-selectors" in points)
        elif isinstance(model, Role):
            kept = RoleOutline.of(model)
        elif isinstance(model, RoleBinding):
            kept = BindingOutline.of(model)
        document = obj.document
        pointers = (_shared(obj.pointer), *_report_pointers(obj.pointer, pods, kept, points))
        paths = (
            {p: path for p in pointers if (path := document.stable_path(p)) != plain_path(p)}
            if stable
            else None
        )
        return cls(
            kind=intern(obj.kind),
            name=obj.name,
            namespace=None if obj.namespace is None else intern(obj.namespace),
            path=obj.document.path,
            index=obj.document.index,
            pointer=_shared(obj.pointer),
            model=kept,
            pods=pods,
            automount=obj.data.get("automountServiceAccountToken")
            if obj.kind == "ServiceAccount"
            else None,
            located=pointers,
            spans=tuple(_pack(document.locate(p)[0]) for p in pointers),
            stable=paths or None,
            reported=reported,
            cluster_scoped=obj.cluster_scoped,
        )


def _pod_facts(pod: PodView) -> PodFacts:
    spec = pod.spec
    account = spec.service_account_name or spec.service_account or "default"
    return PodFacts(
        label_items=tuple(intern(text) for item in pod.metadata.labels.items() for text in item),
        automount=spec.automount_service_account_token,
        service_account=intern(account),
        labels_pointer=_shared((*pod.metadata_pointer, "labels")),
        automount_pointer=_shared(pod.pointer_of(("automountServiceAccountToken",))),
        label=pod.label,
    )


def _report_pointers(
    pointer: Pointer,
    pods: tuple[PodFacts, ...],
    model: Outline | None,
    points: frozenset[ReportPoint],
) -> list[Pointer]:
    pointers: list[Pointer] = []
    if pods and "namespace" in points:
        pointers.append(_shared((*pointer, "metadata", "namespace")))
    for pod in pods:
        if "pod-labels" in points:
            pointers.append(pod.labels_pointer)
        if "pod-automount" in points:
            pointers.append(pod.automount_pointer)
    if isinstance(model, RoleOutline) and "role-rule-verbs" in points:
        pointers += [
            _shared((*pointer, "rules", index, "verbs")) for index in range(len(model.rules))
        ]
    if isinstance(model, BindingOutline) and "binding-role-ref" in points:
        pointers.append(_shared((*pointer, "roleRef", "name")))
    if isinstance(model, PolicyOutline) and "policy-selectors" in points:
        pointers.append(_shared((*pointer, "spec", "podSelector")))
        pointers += [_shared((*pointer, "spec", *peer.pointer)) for peer in model.peers]
    return pointers


def _pack(span: Span) -> int:
    """A span in one int (one object instead of five)."""
    line, column, end_line, end_column = span
    return line << 96 | column << 64 | end_line << 32 | end_column


def _unpack(packed: int) -> Span:
    return Span(packed >> 96, (packed >> 64) & _MASK, (packed >> 32) & _MASK, packed & _MASK)


def _shared(pointer: Pointer) -> Pointer:
    """One tuple per distinct pointer, shared by every object that keeps it."""
    return _POINTERS.setdefault(pointer, pointer)


_MASK = (1 << 32) - 1
_POINTERS: dict[Pointer, Pointer] = {}


FACTS_SPILL_AT = 200_000
"""Facts of namespaced objects held in memory before a sorted run goes to a temporary file."""


class FactStore:
    """The facts of a scan, kept for two kinds of rules: those that look at the whole scan (RBAC:
    roles and their bindings, in memory) and those that look at one namespace at a time, read
    back namespace by namespace so that only one namespace's objects are in memory then."""

    def __init__(
        self, inventory_kinds: frozenset[str] | None, namespace_kinds: frozenset[str] | None
    ) -> None:
        self.inventory_kinds = inventory_kinds
        self.namespace_kinds = namespace_kinds
        self.whole_scan: list[ObjectFacts] = []
        self._grouped: SortedSpill[tuple[str, int, ObjectFacts]] = SortedSpill(
            _namespace_order, FACTS_SPILL_AT
        )

    def extend(self, facts: Iterable[ObjectFacts]) -> None:
        grouped: list[tuple[str, int, ObjectFacts]] = []
        namespace_kinds = self.namespace_kinds
        for obj in facts:
            if self.inventory_kinds is None or obj.kind in self.inventory_kinds:
                self.whole_scan.append(obj)
            if obj.pods or namespace_kinds is None or obj.kind in namespace_kinds:
                grouped.append((obj.effective_namespace, len(self._grouped) + len(grouped), obj))
        self._grouped.extend(grouped)

    def namespaces(self) -> Iterator[Inventory]:
        """An Inventory per namespace (objects in scan order); cluster-scoped objects count as
        ``default``, like objects without a namespace."""
        for _namespace, group in groupby(self._grouped, key=itemgetter(0)):
            yield Inventory(obj for _namespace, _order, obj in group)


def _namespace_order(item: tuple[str, int, ObjectFacts]) -> tuple[str, int]:
    return item[0], item[1]


class Inventory:
    """Objects in scan order, with per-namespace views built on first use."""

    def __init__(self, objects: Iterable[ObjectFacts]) -> None:
        self.objects = list(objects)

    @cached_property
    def workloads_by_namespace(self) -> dict[str, list[ObjectFacts]]:
        """Pod-bearing objects by the namespace they land in (``default`` when unset); those of a
        cluster-scoped kind land in none (their pods run where the objects using them do)."""
        grouped: dict[str, list[ObjectFacts]] = defaultdict(list)
        for obj in self.objects:
            if obj.pods and not obj.cluster_scoped:
                grouped[obj.effective_namespace].append(obj)
        return dict(grouped)

    @cached_property
    def unplaced_workloads(self) -> list[ObjectFacts]:
        """Pod-bearing objects of a cluster-scoped kind, whose pods' namespace is unknown."""
        return [obj for obj in self.objects if obj.pods and obj.cluster_scoped]

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
