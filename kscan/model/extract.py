"""Turn parsed documents into KubeObjects: typed models, pod views, and the API's verdict on their
fields.

Every document with a ``kind`` becomes an object (Lists are flattened); rules decide which kinds
they look at, so kinds no rule knows are skipped without a word. A field of the wrong type is
reported (the API server refuses such an object) and left out of the typed view; the object's
other fields are still checked. A field the API does not know is kept as an ``UnknownField`` for
the rule that reports it, and never read as the field it resembles.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cached_property
from typing import Any, TypeVar

from kscan.input.documents import parse
from kscan.input.sources import Source
from kscan.input.tree import Pointer, PosDict, PosList, Span, value_at
from kscan.model import api, command_line, workloads
from kscan.model.fields import (
    Container,
    Invalid,
    KubeModel,
    KubeObjectModel,
    NetworkPolicy,
    ObjectMeta,
    PodSpec,
    Role,
    RoleBinding,
)
from kscan.model.workloads import ContainerSlot, PodSlot
from kscan.support.disclosure import shown_key
from kscan.support.values import dataclass

MODELS: dict[str, type[KubeObjectModel]] = {
    "NetworkPolicy": NetworkPolicy,
    "Role": Role,
    "ClusterRole": Role,
    "RoleBinding": RoleBinding,
    "ClusterRoleBinding": RoleBinding,
}
CLUSTER_SCOPED: dict[str, frozenset[str]] = {
    "": frozenset({"Namespace", "Node", "PersistentVolume", "ComponentStatus"}),
    "admissionregistration.k8s.io": frozenset(
        {
            *("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"),
            *("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"),
            *("MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding"),
        }
    ),
    "apiextensions.k8s.io": frozenset({"CustomResourceDefinition"}),
    "apiregistration.k8s.io": frozenset({"APIService"}),
    "authentication.k8s.io": frozenset({"TokenReview", "SelfSubjectReview"}),
    "authorization.k8s.io": frozenset(
        {"SubjectAccessReview", "SelfSubjectAccessReview", "SelfSubjectRulesReview"}
    ),
    "certificates.k8s.io": frozenset({"CertificateSigningRequest", "ClusterTrustBundle"}),
    "flowcontrol.apiserver.k8s.io": frozenset({"FlowSchema", "PriorityLevelConfiguration"}),
    "internal.apiserver.k8s.io": frozenset({"StorageVersion"}),
    "networking.k8s.io": frozenset({"IngressClass", "IPAddress", "ServiceCIDR"}),
    "node.k8s.io": frozenset({"RuntimeClass"}),
    "policy": frozenset({"PodSecurityPolicy"}),
    "extensions": frozenset({"PodSecurityPolicy"}),
    "rbac.authorization.k8s.io": frozenset({"ClusterRole", "ClusterRoleBinding"}),
    "resource.k8s.io": frozenset({"DeviceClass", "ResourceSlice", "DeviceTaintRule"}),
    "scheduling.k8s.io": frozenset({"PriorityClass"}),
    "storage.k8s.io": frozenset(
        {"CSIDriver", "CSINode", "StorageClass", "VolumeAttachment", "VolumeAttributesClass"}
    ),
    "storagemigration.k8s.io": frozenset({"StorageVersionMigration"}),
    # Common add-ons.
    "snapshot.storage.k8s.io": frozenset({"VolumeSnapshotClass", "VolumeSnapshotContent"}),
    "gateway.networking.k8s.io": frozenset({"GatewayClass"}),
    "cert-manager.io": frozenset({"ClusterIssuer"}),
    "argoproj.io": frozenset({"ClusterWorkflowTemplate", "ClusterAnalysisTemplate"}),
    "trainer.kubeflow.org": frozenset({"ClusterTrainingRuntime"}),
    "kyverno.io": frozenset({"ClusterPolicy"}),
    "external-secrets.io": frozenset({"ClusterSecretStore", "ClusterExternalSecret"}),
}
"""API group -> its kinds that live outside namespaces: every cluster-scoped built-in kind
(``kubectl api-resources --namespaced=false``), and those of common add-ons. Keyed by group, as
the same kind elsewhere may be namespaced (Longhorn's ``Node``, Cluster API's ``IPAddress``)."""
_CLUSTER_SCOPED_KINDS = frozenset(kind for kinds in CLUSTER_SCOPED.values() for kind in kinds)


def is_cluster_scoped(api_version: Any, kind: Any) -> bool:
    """Whether objects of this apiVersion and kind live outside namespaces; without an
    apiVersion, whether a kind of that name does in any group listed."""
    group = workloads.api_group(api_version)
    if group is None:
        return kind in _CLUSTER_SCOPED_KINDS
    return kind in CLUSTER_SCOPED.get(group, frozenset())


_PATCHED_LISTS = ("containers", "initContainers")
"""Lists a pod spec patch merges item by item, by container name (a strategic merge)."""
_MAX_PROBLEMS = 20
MAX_POD_FIELDS = 200_000
"""List items and keys of an object's pods and containers together, counted one level deep.
A field the object shares with all its pods (an Argo workflow's volumes, its templateDefaults)
counts once per pod, so n templates sharing n volumes would cost n * n: past this, the
remaining pods are reported unchecked rather than slowing the scan quadratically."""
"""Wrong-typed fields reported per object; beyond them one line says how many more."""

ObjectKey = tuple[str, int, Pointer]
"""(file path, document index, pointer): tells an object apart within one scan."""


class LayeredPod(PosDict):
    """Fields gathered from several mappings, each remembering where it is written so that
    findings point at it: an Argo template's pod over its workflow's defaults (each key from the
    nearest mapping that sets it, ``volumes`` added up), or a template merged over
    ``templateDefaults`` (``overlay``: mappings merged key by key, at every depth)."""

    __slots__ = ("item_origins", "origins", "pointer")
    origins: dict[str, Pointer]
    item_origins: dict[str, list[Pointer]]
    pointer: Pointer

    @classmethod
    def empty(cls, pointer: Pointer) -> LayeredPod:
        layered = cls()
        layered.pos, layered.origins, layered.item_origins = {}, {}, {}
        layered.pointer = pointer
        return layered

    @classmethod
    def of(
        cls,
        layers: list[tuple[Any, Pointer]],
        pod_fields: frozenset[str] | None,
        added_lists: frozenset[str],
    ) -> LayeredPod:
        """Each key from the first layer that sets it (``added_lists``: from every layer)."""
        pod = cls.empty(layers[0][1])
        for layer, pointer in layers:
            if not isinstance(layer, PosDict):
                continue
            for key, value in layer.items():
                if (pod_fields is not None and key not in pod_fields) or value is None:
                    continue
                origin = _origin(layer, pointer, key)
                if key in added_lists and isinstance(value, PosList):
                    items = pod.get(key)
                    joined = PosList([*(items if isinstance(items, list) else []), *value])
                    joined.pos = [*(items.pos if isinstance(items, PosList) else []), *value.pos]
                    origins = pod.item_origins.setdefault(key, [])
                    origins += [(*origin, index) for index in range(len(value))]
                    pod.pos.setdefault(key, layer.pos[key])
                    pod.origins.setdefault(key, origin)
                    pod[key] = joined
                elif key not in pod:
                    pod[key] = value
                    pod.pos[key] = layer.pos[key]
                    pod.origins[key] = origin
        return pod

    @classmethod
    def overlay(cls, upper: Any, upper_at: Pointer, lower: Any, lower_at: Pointer) -> Any:
        """``upper`` merged over ``lower`` as a strategic merge does it for mappings (Argo's
        ``templateDefaults`` under a template, a ``podSpecPatch`` over its pod): keys of both,
        ``upper``'s values winning, mappings merged at every depth."""
        if not isinstance(lower, PosDict):
            return upper
        if not isinstance(upper, PosDict):
            return lower if upper is None else upper
        merged = cls.empty(upper_at)
        for source, at in ((lower, lower_at), (upper, upper_at)):
            for key, value in source.items():
                merged[key], merged.pos[key] = value, source.pos[key]
                merged.origins[key] = _origin(source, at, key)
                items = source.item_origins.get(key) if isinstance(source, LayeredPod) else None
                if items is not None:
                    merged.item_origins[key] = items
                else:
                    merged.item_origins.pop(key, None)
        for key in upper.keys() & lower.keys():
            if isinstance(upper[key], PosDict) and isinstance(lower[key], PosDict):
                merged[key] = cls.overlay(
                    upper[key],
                    _origin(upper, upper_at, key),
                    lower[key],
                    _origin(lower, lower_at, key),
                )
        return merged

    def pointer_of(self, relative: Pointer) -> Pointer:
        """Where a field of the gathered mapping is written."""
        if not relative:
            return self.pointer
        head = str(relative[0])
        value = self.get(head)
        if isinstance(value, LayeredPod):
            return value.pointer_of(relative[1:])
        items = self.item_origins.get(head)
        index = relative[1] if len(relative) > 1 else None
        if items is not None and isinstance(index, int) and 0 <= index < len(items):
            return (*items[index], *relative[2:])
        origin = self.origins.get(head)
        return (*origin, *relative[1:]) if origin is not None else (*self.pointer, *relative)


def _origin(layer: PosDict, pointer: Pointer, key: str) -> Pointer:
    return layer.pointer_of((key,)) if isinstance(layer, LayeredPod) else (*pointer, key)


@dataclass(frozen=True)
class ContainerRef:
    """One container of a pod, with where it is written."""

    container: Container
    pointer: Pointer
    label: str
    data: dict[str, Any]
    """The container as parsed (plain data), for templates that walk field paths."""
    role: workloads.Role = "containers"
    """The list it belongs to, as Kubernetes runs it: containers, init or ephemeral ones."""
    name: str = ""
    where: str = ""
    """Which pod of the object, for objects with several (`` (template 'build')``)."""

    def subject(self, display: str) -> str:
        """``Container 'web' of Deployment 'shop/web'``."""
        return f"{self.label} '{self.name}'{self.where} of {display}"

    def pointer_of(self, relative: Pointer) -> Pointer:
        """Where a field of the container is written (a default merged into it, elsewhere)."""
        if isinstance(self.data, LayeredPod):
            return self.data.pointer_of(relative)
        return (*self.pointer, *relative)

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
    """One pod of a pod-bearing object: its pod-level fields, metadata and containers."""

    spec: PodSpec
    pointer: Pointer
    metadata: ObjectMeta
    metadata_pointer: Pointer
    data: dict[str, Any]
    """The pod-level fields as parsed (a LayeredPod where they come from several mappings)."""
    refs: tuple[ContainerRef, ...] = ()
    label: str = ""
    partial: bool = False
    """Seen only in part (found by its shape, or completed by an operator): rules report what
    it sets, never what it lacks, and cross-object rules leave it out."""

    @property
    def is_windows(self) -> bool:
        return self.spec.os is not None and self.spec.os.name == "windows"

    def containers(self) -> tuple[ContainerRef, ...]:
        """Every container, init container and ephemeral container."""
        return self.refs

    def pointer_of(self, relative: Pointer) -> Pointer:
        """Where a pod-level field (``("volumes", 0)``) is written."""
        if isinstance(self.data, LayeredPod):
            return self.data.pointer_of(relative)
        return (*self.pointer, *relative)

    def subject(self, display: str) -> str:
        """``Deployment 'shop/web'``, or ``Workflow 'ci/build' (template 'test')``."""
        return f"{display} ({self.label})" if self.label else display


@dataclass(frozen=True)
class Shape:
    """What is known of an object before rules run, enough to skip the rules that cannot apply:
    its kind, whether it runs pods, and the programs its containers run."""

    kind: str
    has_pod: bool
    programs: frozenset[str]


@dataclass(frozen=True)
class Unknown:
    """Where an object's fields unknown to the API are written, and the mappings and lists that
    hold them (at any depth), so that a reader can leave them out as the API server does."""

    fields: frozenset[Pointer] = frozenset()
    holders: frozenset[Pointer] = frozenset()

    @classmethod
    def of(cls, pointers: Iterable[Pointer]) -> Unknown:
        fields = frozenset(pointers)
        holders = frozenset(p[:depth] for p in fields for depth in range(len(p)))
        return cls(fields, holders)


@dataclass(frozen=True)
class KubeObject:
    """A Kubernetes object found at ``pointer`` inside a document."""

    document: Any  # kscan.input.documents.Document (not imported: documents import this package)
    pointer: Pointer
    model: KubeObjectModel
    pods: tuple[PodView, ...] = ()
    unknown_fields: tuple[api.UnknownField, ...] = ()
    own_data: dict[str, Any] | None = None
    """The object as Kubernetes decodes it, where that is not the data at ``pointer`` (a List
    item that takes its kind from the List)."""
    manifests: tuple[Pointer, ...] = ()
    """Strings holding manifests a controller creates for this object (``embedded_manifests``)."""
    wrong_types: frozenset[Pointer] = frozenset()
    """Fields whose value has a type the API refuses: reported as input errors, so the rules
    that read them leave them to those errors."""

    @property
    def kind(self) -> str:
        return self.model.kind

    @cached_property
    def unknown(self) -> Unknown:
        """Where the fields the API does not know are written (``unknown_fields``)."""
        return Unknown.of((*self.pointer, *field.pointer) for field in self.unknown_fields)

    @property
    def name(self) -> str:
        meta = self.model.metadata
        return meta.name or (f"{meta.generate_name}*" if meta.generate_name else "<unnamed>")

    @cached_property
    def cluster_scoped(self) -> bool:
        """Whether its kind lives outside namespaces (see ``CLUSTER_SCOPED``)."""
        return is_cluster_scoped(self.model.api_version, self.kind)

    @property
    def namespace(self) -> str | None:
        """Its ``metadata.namespace``; None for a cluster-scoped object, whatever it writes
        there: the API server clears the field of such objects (apiserver's
        ``rest.BeforeCreate``)."""
        return None if self.cluster_scoped else self.model.metadata.namespace

    @property
    def effective_namespace(self) -> str:
        """The namespace the object lands in when applied without ``-n``."""
        return self.namespace or "default"

    @cached_property
    def key(self) -> ObjectKey:
        """Tells this object apart within one scan."""
        return (self.document.path, self.document.index, self.pointer)

    @cached_property
    def about(self) -> tuple[str, str | None, str]:
        """(kind, namespace, name): what its findings name."""
        return (self.kind, self.namespace, self.name)

    def containers(self) -> Iterator[tuple[PodView, ContainerRef]]:
        """Every container of every pod, with its pod."""
        for pod in self.pods:
            for ref in pod.refs:
                yield pod, ref

    @cached_property
    def shape(self) -> Shape:
        programs = frozenset(ref.program for _pod, ref in self.containers() if ref.program)
        return Shape(self.kind, bool(self.pods), programs)

    @cached_property
    def data(self) -> dict[str, Any]:
        """The object as parsed (plain data), for templates that walk field paths; without the
        ``metadata.namespace`` of a cluster-scoped object, which the API server clears."""
        data = self.own_data if self.own_data is not None else self.document.get(self.pointer)
        return _without_namespace(data) if self.cluster_scoped else data

    @cached_property
    def derived(self) -> dict[object, Any]:
        """What templates derive from the object once and share across their rules (keyed by
        the template's own keys), filled on first use."""
        return {}

    @cached_property
    def display(self) -> str:
        """``Deployment 'shop/web'`` or ``ClusterRole 'admin'``."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} '{where}'"


@dataclass(frozen=True)
class InvalidField:
    """A field the API server cannot decode (a wrong type): reported, and left out of the
    object's typed view; the rest of the object is still checked."""

    document: Any
    pointer: Pointer
    span: Span
    message: str


def _without_namespace(data: Any) -> Any:
    """A shallow copy of an object without ``metadata.namespace`` (the same data without one)."""
    meta = data.get("metadata") if isinstance(data, dict) else None
    if not isinstance(meta, dict) or "namespace" not in meta:
        return data
    view = _copy(data, data.keys())
    view["metadata"] = _copy(meta, (key for key in meta if key != "namespace"))
    return view


def _copy(mapping: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """The mapping's ``keys``, with their positions where it keeps them."""
    copy = PosDict((key, mapping[key]) for key in keys)
    spans = mapping.pos if isinstance(mapping, PosDict) else {}
    copy.pos = {key: spans[key] for key in copy if key in spans}
    return copy


def _pod_size(pod: PodView) -> int:
    """The pod's fields one level deep, its containers' included (what each rule walks)."""
    size = 0
    for data in (pod.data, *(ref.data for ref in pod.refs)):
        for value in data.values():
            size += len(value) if isinstance(value, (list, dict)) else 1
    return size


def extract_objects(document: Any) -> Iterator[KubeObject | InvalidField]:
    """Every object of a document, Lists flattened; documents without a kind are skipped. An
    object's wrong-typed fields come right after it."""
    return _objects_at(document, document.data, ())


def _objects_at(document: Any, data: Any, pointer: Pointer) -> Iterator[KubeObject | InvalidField]:
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        return
    kind = data["kind"]
    items = data.get("items")
    if isinstance(items, list):  # a List to kubectl, whatever its kind: only its items are sent
        for index, item in enumerate(items):
            item = _inheriting(item, data) if isinstance(item, PosDict) else item
            yield from _objects_at(document, item, (*pointer, "items", index))
        return
    builder = _ObjectBuilder(document, data, pointer)
    obj = builder.build(kind)
    yield obj
    if builder.wrong or builder.unchecked is not None:
        yield from builder.problems(obj)


def _inheriting(item: PosDict, wrapper: dict[str, Any]) -> PosDict:
    """An item of a List as Kubernetes decodes it (apimachinery's unstructured ``decodeToList``):
    one with neither kind nor apiVersion takes the List's kind without ``List`` and its
    apiVersion (shown at the List's own fields)."""
    if "kind" in item or "apiVersion" in item:
        return item
    filled = PosDict(item)
    filled.pos = dict(item.pos)
    kind = wrapper["kind"]
    filled["kind"] = kind[: -len("List")] if kind.endswith("List") else kind
    if isinstance(wrapper, PosDict):
        filled.pos["kind"] = wrapper.pos["kind"]
    if "apiVersion" in wrapper:
        filled["apiVersion"] = wrapper["apiVersion"]
        if isinstance(wrapper, PosDict):
            filled.pos["apiVersion"] = wrapper.pos["apiVersion"]
    return filled


class _ObjectBuilder:
    """Builds one object, collecting the fields the API would refuse (relative pointers). (A
    plain class: one is made per object.)"""

    __slots__ = ("data", "document", "found", "model_wrong", "pointer", "unchecked", "wrong")

    def __init__(self, document: Any, data: dict[str, Any], pointer: Pointer) -> None:
        self.document = document
        self.data = data
        self.pointer = pointer
        self.wrong: dict[Pointer, str] = {}
        """Wrong-typed fields and what they should be: the API check's, then the models'
        own."""
        self.model_wrong: dict[Pointer, str] = {}
        self.found = api.Findings()
        self.unchecked: tuple[int, Pointer] | None = None
        """Pods left out because the object's pods hold too many fields in all: (how many,
        where the first of them is)."""

    def build(self, kind: str) -> KubeObject:
        model = self._model(MODELS.get(kind, KubeObjectModel), self.data, (), KubeObjectModel)
        struct = api.struct_of(self.data.get("apiVersion"), kind)
        if struct is not None:
            api.check(self.data, struct, (), self.found, unknown=False)
        slots = workloads.pods_of(self.data.get("apiVersion"), kind, self.data)
        several = len(slots) > 1
        pods: list[PodView] = []
        size = 0
        for index, slot in enumerate(slots):
            pod = self._pod(slot, several)
            if several:  # the first pod is always kept: a lone pod is never counted
                size += _pod_size(pod)
                if size > MAX_POD_FIELDS and pods:
                    self.unchecked = (len(slots) - index, slot.spec)
                    break
            pods.append(pod)
        for problem in self.found.wrong:
            self.wrong.setdefault(problem.pointer, f"expected {problem.expected}")
        for pointer, message in self.model_wrong.items():
            self.wrong.setdefault(pointer, message)
        own = self.data if self.document.get(self.pointer) is not self.data else None
        unknown = tuple(self.found.unknown)
        manifests = workloads.embedded_manifests(self.data.get("apiVersion"), kind, self.data)
        inner = tuple((*self.pointer, *pointer) for pointer in manifests)
        wrong = frozenset((*self.pointer, *pointer) for pointer in self.wrong)
        return KubeObject(
            self.document, self.pointer, model, tuple(pods), unknown, own, inner, wrong
        )

    def problems(self, obj: KubeObject) -> Iterator[InvalidField]:
        """The wrong-typed fields, in document order, at most ``_MAX_PROBLEMS``."""
        name = obj.name
        ordered = sorted(self.wrong.items(), key=lambda item: self._span(item[0]))
        for relative, problem in ordered[:_MAX_PROBLEMS]:
            message = f"{obj.kind} '{name}' is invalid: {_dotted(relative)}: {problem}"
            yield InvalidField(
                self.document, (*self.pointer, *relative), self._span(relative), message
            )
        if self.unchecked is not None:
            count, spec = self.unchecked
            message = (
                f"{obj.kind} '{name}': its pods hold more than {MAX_POD_FIELDS:,} fields in all "
                f"(each with the fields the object gives all its pods); its last {count} pods "
                "are not checked"
            )
            yield InvalidField(self.document, self.pointer, self._span(spec), message)
        if len(ordered) > _MAX_PROBLEMS:
            relative = ordered[_MAX_PROBLEMS][0]
            more = len(ordered) - _MAX_PROBLEMS
            message = f"{obj.kind} '{name}' has {more} more fields of the wrong type"
            yield InvalidField(self.document, self.pointer, self._span(relative), message)

    def _span(self, relative: Pointer) -> Span:
        span, _exact = self.document.locate((*self.pointer, *relative))
        return span  # type: ignore[no-any-return]

    def _pod(self, slot: PodSlot, several: bool) -> PodView:
        own = value_at(self.data, slot.spec)
        if slot.overlay is not None:
            under = value_at(self.data, slot.overlay)
            self._check_layer(slot, own, slot.spec)
            self._check_layer(slot, under, slot.overlay)
            own = LayeredPod.overlay(
                own, (*self.pointer, *slot.spec), under, (*self.pointer, *slot.overlay)
            )
        if slot.defaults or slot.pod_fields is not None:
            layers = [(own, slot.spec), *((value_at(self.data, p), p) for p in slot.defaults)]
            pod_data: dict[str, Any] = LayeredPod.of(
                [(layer, (*self.pointer, *p)) for layer, p in layers],
                slot.pod_fields,
                slot.added_lists,
            )
        else:
            layers = [(own, slot.spec)]
            pod_data = own if isinstance(own, dict) else {}
        self._check_pod(slot, layers)
        patched: dict[str, list[tuple[PosDict, Pointer]]] = {}
        for patch in slot.patches:
            pod_data = self._patched(pod_data, slot, patch, patched)
        spec = self._model(PodSpec, pod_data, slot.spec, PodSpec, pod_data)
        meta_pointer = slot.metadata if slot.metadata is not None else (*slot.spec, "metadata")
        meta_data = value_at(self.data, meta_pointer)
        if slot.metadata is not None and meta_data is not None:
            api.check(meta_data, "ObjectMeta", meta_pointer, self.found)
        metadata = self._model(ObjectMeta, meta_data or {}, meta_pointer, ObjectMeta)
        label = slot.label or (_dotted(slot.spec[:-1]) if several and slot.spec else "")
        where = f" ({label})" if label else ""
        refs = tuple(
            r for c in slot.containers if (r := self._container(c, where, patched)) is not None
        )
        refs += tuple(
            self._patch_container(item, pointer, where)
            for items in patched.values()
            for item, pointer in items
            if not any(ref.name == item.get("name") for ref in refs)
        )
        return PodView(
            spec,
            (*self.pointer, *slot.spec),
            metadata,
            (*self.pointer, *meta_pointer),
            pod_data,
            refs,
            label,
            slot.checked == "security",
        )

    def _check_pod(self, slot: PodSlot, layers: list[tuple[Any, Pointer]]) -> None:
        """The API schema check of a pod's own fields (its containers included)."""
        found = self.found
        own, spec_pointer = layers[0]
        if slot.spec_type is not None and slot.checked == "all":
            api.check(own, slot.spec_type, spec_pointer, found, slot.spec_extra)
            return
        for layer, pointer in layers:
            if not isinstance(layer, LayeredPod):  # an overlay's layers are checked apart
                self._check_layer(slot, layer, pointer)
        for container in slot.containers:
            places = [container.pointer] + ([container.overlay] if container.overlay else [])
            for place in places:
                data = value_at(self.data, place)
                if slot.checked == "all":
                    api.check(data, container.type_name, place, found, container.extra)
                elif isinstance(data, dict):
                    context = data.get("securityContext")
                    api.check(context, "SecurityContext", (*place, "securityContext"), found)

    def _check_layer(self, slot: PodSlot, layer: Any, pointer: Pointer) -> None:
        """The pod fields one mapping sets (all of them, or only the securityContext)."""
        if not isinstance(layer, dict):
            return
        pod_types = api.fields("PodSpec")
        for key, value in layer.items():
            wanted = slot.pod_fields is None or key in slot.pod_fields
            if wanted and key in pod_types and (slot.checked == "all" or key == "securityContext"):
                api.check(value, pod_types[key], (*pointer, key), self.found)

    def _patched(
        self,
        pod: Any,
        slot: PodSlot,
        pointer: Pointer,
        containers: dict[str, list[tuple[PosDict, Pointer]]],
    ) -> Any:
        """A pod with a pod spec patch (a YAML or JSON string) applied over it; the patch's
        containers are kept by name, to be merged into the containers of that name."""
        text = value_at(self.data, pointer)
        if not isinstance(text, str) or not text.strip():
            return pod
        documents, errors = parse(Source(self.document.path, text, len(text), False))
        patch = documents[0].data if documents and not errors else None
        if not isinstance(patch, PosDict):
            self.wrong.setdefault(pointer, "expected a pod spec patch (a YAML or JSON mapping)")
            return pod
        at = (*self.pointer, *pointer)
        fields = PosDict((k, v) for k, v in patch.items() if k not in _PATCHED_LISTS)
        fields.pos = {k: patch.pos[k] for k in fields}
        for role in _PATCHED_LISTS:
            items = patch.get(role)
            for index, item in enumerate(items if isinstance(items, list) else []):
                if isinstance(item, PosDict):
                    name = str(item.get("name", ""))
                    containers.setdefault(name, []).append((item, (*at, role, index)))
        return LayeredPod.overlay(fields, at, pod, (*self.pointer, *slot.spec))

    def _patch_container(self, data: PosDict, pointer: Pointer, where: str) -> ContainerRef:
        """A container that only a pod spec patch adds."""
        model = self._model(Container, data, pointer[len(self.pointer) :], Container)
        role: workloads.Role = "initContainers" if "initContainers" in pointer else "containers"
        return ContainerRef(model, pointer, "Container", data, role, model.name, where)

    def _container(
        self,
        slot: ContainerSlot,
        where: str,
        patched: dict[str, list[tuple[PosDict, Pointer]]],
    ) -> ContainerRef | None:
        data = value_at(self.data, slot.pointer)
        if not isinstance(data, dict):
            return None
        absolute = (*self.pointer, *slot.pointer)
        if slot.overlay is not None:
            under = value_at(self.data, slot.overlay)
            data = LayeredPod.overlay(data, absolute, under, (*self.pointer, *slot.overlay))
        if patched:
            name = data.get("name") or slot.default_name
            for patch, at in patched.get(str(name), []):
                data = LayeredPod.overlay(patch, at, data, absolute)
        model = self._model(Container, data, slot.pointer, Container)
        name = model.name or slot.default_name
        return ContainerRef(model, absolute, slot.label, data, slot.role, name, where)

    def _model(
        self,
        model: type[_Model],
        data: Any,
        pointer: Pointer,
        fallback: type[_Model],
        layered: Any = None,
    ) -> _Model:
        """Validate leniently: each field that fails is recorded (unless the API check already
        has it) and repaired (a key left out, a list item made neutral so that the other items
        keep their index, a missing required string made empty), then validation runs again."""
        for _attempt in range(_MAX_PROBLEMS + 5):
            try:
                return model.model_validate(data)
            except Invalid as exc:
                repairs = []
                for problem in exc.problems:
                    loc = tuple(part for part in problem.loc if isinstance(part, (str, int)))
                    absolute = (*pointer, *loc)
                    if isinstance(layered, LayeredPod) and loc:
                        absolute = layered.pointer_of(loc)[len(self.pointer) :]
                    self.model_wrong.setdefault(absolute, problem.msg)
                    repairs.append((loc, problem.type))
                data = _repaired(data, repairs)
        self.model_wrong.setdefault(pointer, "too many fields of the wrong type to read it")
        return fallback()


_Model = TypeVar("_Model", bound=KubeModel)
_NEUTRAL_ITEMS: dict[str, Any] = {"string_type": "", "list_type": []}
"""What replaces a list item of the wrong type (by problem type; a mapping otherwise)."""


def _repaired(data: Any, repairs: list[tuple[Pointer, str]]) -> Any:
    """A copy of ``data`` with each failing value repaired (shared where untouched)."""
    for loc, error_type in repairs:
        data = _repair(data, loc, error_type)
    return data


def _repair(node: Any, loc: Pointer, error_type: str) -> Any:
    if not loc:
        return node
    head, rest = loc[0], loc[1:]
    if isinstance(node, dict):
        copy = dict(node)
        if rest:
            if head in copy:
                copy[head] = _repair(node[head], rest, error_type)
        elif error_type == "missing":
            copy[head] = ""  # the models' required fields are strings: an empty one matches nothing
        else:
            copy.pop(head, None)
        return copy
    if isinstance(node, list) and isinstance(head, int) and 0 <= head < len(node):
        items = list(node)
        if rest:
            items[head] = _repair(node[head], rest, error_type)
        else:
            items[head] = _NEUTRAL_ITEMS.get(error_type, {})
        return items
    return node


def _dotted(loc: Pointer) -> str:
    text = ""
    for part in loc:
        key = shown_key(part)
        text += f"[{part}]" if isinstance(part, int) else (f".{key}" if text else key)
    return text or "<object>"
