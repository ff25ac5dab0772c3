"""What the threat graph keeps of each object, after its document is gone: the fields that
enable an attack step (a privileged container, a hostPath volume, a mounted token, a Service
that exposes pods, an RBAC rule, a namespace's Pod Security level), each with where it is
written. A scan makes these records only when threats are asked for (``ScanSetup.threats``), so
an ordinary scan pays nothing. The records hold facts as written; what they enable is the
threats stage's judgement (``kscan/threats/edges.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from sys import intern
from typing import Any

from kscan.input.documents import Pointer, plain_path
from kscan.model import ContainerRef, KubeObject, PodView
from kscan.model.fields import NetworkPolicy, Role, RoleBinding
from kscan.model.inventory import BindingOutline, PolicyOutline, RoleOutline
from kscan.support.values import dataclass


@dataclass(frozen=True, slots=True)
class Spot:
    """Where a field is written: line, column and its JSON pointer in the document."""

    line: int
    column: int
    field: str


@dataclass(frozen=True, slots=True)
class HostVolume:
    """A hostPath volume of a pod."""

    name: str
    path: str
    """The node path, as written."""
    spot: Spot


@dataclass(frozen=True, slots=True)
class Mount:
    """A container's volumeMount."""

    volume: str
    mount_path: str
    read_only: bool
    spot: Spot


@dataclass(frozen=True, slots=True)
class ContainerFacts:
    name: str
    role: str
    """``containers``, ``initContainers`` or ``ephemeralContainers``."""
    spot: Spot
    image: str | None
    image_spot: Spot | None
    privileged: Spot | None
    """Where ``securityContext.privileged: true`` is written (None: not privileged)."""
    allow_privilege_escalation: bool | None
    added: tuple[tuple[str, Spot], ...]
    """``securityContext.capabilities.add``: each name as written, with where."""
    dropped: tuple[str, ...]
    mounts: tuple[Mount, ...]
    secret_env: tuple[tuple[str, Spot], ...]
    """Secrets read into the environment (``env[].valueFrom.secretKeyRef``, ``envFrom[]
    .secretRef``): the Secret's name, where."""
    host_ports: tuple[tuple[int, Spot], ...]
    listens: Spot | None = None
    """Where its first ``containerPort`` is declared (None: it declares none)."""
    never_root: tuple[Spot, ...] = ()
    """Where it is written that the container's processes never act as root: a non-zero
    ``runAsUser`` and ``runAsGroup`` (the container's over the pod's), no ``fsGroup`` or
    ``supplementalGroups`` and ``allowPrivilegeEscalation: false`` (no setuid binary raises
    them). Empty: they may (or it is not written)."""
    user: int | None = None
    """The written ``runAsUser`` (the container's over the pod's); None: the image's user."""
    group: int | None = None
    """The written ``runAsGroup`` (the container's over the pod's); None: the image's group."""


@dataclass(frozen=True, slots=True)
class PodThreatFacts:
    label: str
    labels: tuple[tuple[str, str], ...]
    service_account: str
    service_account_spot: Spot | None
    automount: bool | None
    automount_spot: Spot | None
    host_pid: Spot | None
    host_network: Spot | None
    host_ipc: Spot | None
    share_process_namespace: Spot | None
    host_volumes: tuple[HostVolume, ...]
    token_volumes: tuple[tuple[str, Spot], ...]
    """Projected volumes with a ``serviceAccountToken`` source for the API server (no other
    ``audience``): volume name, where."""
    secret_volumes: tuple[tuple[str, str, Spot], ...]
    """Volumes of a Secret (``secret`` or a projected ``secret`` source): volume, Secret, where."""
    containers: tuple[ContainerFacts, ...]

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


@dataclass(frozen=True, slots=True)
class ServiceFacts:
    type: str
    """``ClusterIP`` unless written (the API's default)."""
    type_spot: Spot | None
    selector: tuple[tuple[str, str], ...] | None
    """None: no selector (the Service has no pods of its own: endpoints are managed apart)."""
    selector_spot: Spot | None


@dataclass(frozen=True, slots=True)
class IngressFacts:
    backends: tuple[tuple[str, Spot], ...]
    """The Services its rules and default backend name, with where."""


@dataclass(frozen=True, slots=True)
class RoleFacts:
    outline: RoleOutline
    rule_spots: tuple[Spot, ...]
    """Where each rule is written."""
    labels: tuple[tuple[str, str], ...]
    aggregation: tuple[tuple[tuple[str, str], ...], ...] | None
    """A ClusterRole's ``aggregationRule.clusterRoleSelectors`` (matchLabels only; None: not
    aggregated, or a selector kscan cannot read, which is then left out)."""


@dataclass(frozen=True, slots=True)
class BindingFacts:
    outline: BindingOutline
    role_spot: Spot
    subject_spots: tuple[Spot, ...]


@dataclass(frozen=True, slots=True)
class NamespaceFacts:
    enforce: str | None
    """The ``pod-security.kubernetes.io/enforce`` label (None: unset)."""
    enforce_spot: Spot | None


@dataclass(frozen=True, slots=True)
class ServiceAccountFacts:
    automount: bool | None
    automount_spot: Spot | None


@dataclass(frozen=True, slots=True)
class PolicyFacts:
    outline: PolicyOutline
    spot: Spot


Detail = (
    tuple[PodThreatFacts, ...]
    | ServiceFacts
    | IngressFacts
    | RoleFacts
    | BindingFacts
    | NamespaceFacts
    | ServiceAccountFacts
    | PolicyFacts
)


@dataclass(frozen=True, slots=True)
class ThreatFacts:
    """One object as the threat graph sees it."""

    kind: str
    name: str
    namespace: str | None
    """None for a cluster-scoped object; namespaced objects without one land in ``default``."""
    path: str
    spot: Spot
    detail: Detail
    cluster_scoped: bool = False
    reported: bool = True
    """False for objects read only as context (``--context``)."""

    @property
    def effective_namespace(self) -> str:
        return self.namespace or "default"

    @property
    def display(self) -> str:
        """``Deployment 'shop/web'`` or ``ClusterRole 'admin'``."""
        where = self.name if self.cluster_scoped else f"{self.effective_namespace}/{self.name}"
        return f"{self.kind} '{where}'"

    @property
    def pods(self) -> tuple[PodThreatFacts, ...]:
        return self.detail if isinstance(self.detail, tuple) else ()


THREAT_KINDS = frozenset(
    {
        "Service",
        "Ingress",
        "ServiceAccount",
        "Role",
        "ClusterRole",
        "RoleBinding",
        "ClusterRoleBinding",
        "Namespace",
        "NetworkPolicy",
    }
)
"""Kinds the graph reads besides pod-bearing objects."""


def threat_facts(obj: KubeObject, reported: bool = True) -> ThreatFacts | None:
    """The record of one object, or None for an object the graph does not read (no pods, a
    kind it does not know, pods seen only in part, a pod-bearing kind that lives outside
    namespaces, whose pods run where the objects using it do, a controller the API server
    refuses for its selector)."""
    at = _Locator(obj.document)
    detail: Detail | None = None
    data = obj.data
    kind = obj.kind
    if obj.pods:
        if obj.cluster_scoped or not _selects_its_pods(obj, data):
            return None
        detail = tuple(_pod(pod, at) for pod in obj.pods if not pod.partial)
        if not detail:
            return None
    elif kind == "Service" and _core(obj):
        detail = _service(obj, data, at)
    elif kind == "Ingress" and obj.model.api_version in _INGRESS_VERSIONS:
        detail = IngressFacts(tuple(_ingress_backends(obj, data, at)))
    elif kind == "ServiceAccount" and _core(obj):
        value = data.get("automountServiceAccountToken")
        where = (*obj.pointer, "automountServiceAccountToken")
        automount = value if isinstance(value, bool) else None
        detail = ServiceAccountFacts(automount, at(where) if automount is not None else None)
    elif kind in ("Role", "ClusterRole") and isinstance(obj.model, Role):
        detail = _role(obj, data, at)
    elif kind in ("RoleBinding", "ClusterRoleBinding") and isinstance(obj.model, RoleBinding):
        subjects = obj.model.subjects or []
        detail = BindingFacts(
            BindingOutline.of(obj.model),
            at((*obj.pointer, "roleRef")),
            tuple(at((*obj.pointer, "subjects", index)) for index in range(len(subjects))),
        )
    elif kind == "Namespace" and _core(obj):
        labels = obj.model.metadata.labels
        level = labels.get(_ENFORCE)
        where = (*obj.pointer, "metadata", "labels", _ENFORCE)
        detail = NamespaceFacts(level, at(where) if level is not None else None)
    elif kind == "NetworkPolicy" and isinstance(obj.model, NetworkPolicy):
        detail = PolicyFacts(PolicyOutline.of(obj.model), at((*obj.pointer, "spec")))
    if detail is None:
        return None
    return ThreatFacts(
        intern(kind),
        obj.name,
        obj.namespace,
        obj.document.path,
        at(obj.pointer),
        detail,
        obj.cluster_scoped,
        reported,
    )


def _for_the_api(audience: Any) -> bool:
    """Whether a projected token with this ``audience`` authenticates to the API server: unset
    or empty, it is the API server's (its ``--api-audiences``, by default the issuer); one
    naming another service (``vault``, ``sts.amazonaws.com``, ``spire-server``) is refused by
    the API server's token authenticator, which checks that the token is bound to one of the
    API's audiences (kube-apiserver ``--api-audiences``). An audience that names Kubernetes
    (``https://kubernetes.default.svc.cluster.local``) is taken to be the API's."""
    if not isinstance(audience, str) or not audience:
        return True
    return "kubernetes" in audience.lower()


_SELECTED = frozenset({"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"})


def _selects_its_pods(obj: KubeObject, data: dict[str, Any]) -> bool:
    """False for an ``apps/v1`` controller the API server refuses, so that no pod of it ever
    runs: ``spec.selector`` missing or empty, or its ``matchLabels`` not among the template's
    labels (``pkg/apis/apps/validation`` ``ValidateDeploymentSpec`` and its siblings:
    "Required value", "`selector` does not match template `labels`"). Other kinds and versions
    default the selector from the template."""
    if obj.kind not in _SELECTED or obj.model.api_version != "apps/v1":
        return True
    spec = data.get("spec")
    selector = spec.get("selector") if isinstance(spec, dict) else None
    if not isinstance(selector, dict) or not selector:
        return False
    wanted = selector.get("matchLabels")
    if not wanted and not selector.get("matchExpressions"):
        return False  # "empty selector is invalid"
    if not isinstance(wanted, dict):
        return True  # matchExpressions only: not checked here
    template = spec.get("template") if isinstance(spec, dict) else None
    metadata = template.get("metadata") if isinstance(template, dict) else None
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    labels = labels if isinstance(labels, dict) else {}
    return all(labels.get(key) == value for key, value in wanted.items())


_ENFORCE = "pod-security.kubernetes.io/enforce"
_INGRESS_VERSIONS = frozenset(
    {"networking.k8s.io/v1", "networking.k8s.io/v1beta1", "extensions/v1beta1"}
)


def _core(obj: KubeObject) -> bool:
    return obj.model.api_version == "v1"


class _Locator:
    def __init__(self, document: Any) -> None:
        self.document = document

    def __call__(self, pointer: Pointer) -> Spot:
        span, _exact = self.document.locate(pointer)
        return Spot(span.line, span.column, plain_path(pointer))


def _pod(pod: PodView, at: _Locator) -> PodThreatFacts:
    data = pod.data
    spec = pod.spec

    def flag(key: str) -> Spot | None:
        return at(pod.pointer_of((key,))) if data.get(key) is True else None

    account_key = next(
        (
            k
            for k in ("serviceAccountName", "serviceAccount")
            if isinstance(data.get(k), str) and data[k]
        ),
        None,
    )
    host_volumes: list[HostVolume] = []
    token_volumes: list[tuple[str, Spot]] = []
    secret_volumes: list[tuple[str, str, Spot]] = []
    volumes = data.get("volumes")
    for index, volume in enumerate(volumes if isinstance(volumes, list) else []):
        if not isinstance(volume, dict) or not isinstance(volume.get("name"), str):
            continue
        name = volume["name"]
        host = volume.get("hostPath")
        if isinstance(host, dict) and isinstance(host.get("path"), str):
            where = pod.pointer_of(("volumes", index, "hostPath", "path"))
            host_volumes.append(HostVolume(name, host["path"], at(where)))
        secret = volume.get("secret")
        if isinstance(secret, dict) and isinstance(secret.get("secretName"), str):
            where = pod.pointer_of(("volumes", index, "secret", "secretName"))
            secret_volumes.append((name, secret["secretName"], at(where)))
        projected = volume.get("projected")
        sources = projected.get("sources") if isinstance(projected, dict) else None
        for at_source, source in enumerate(sources if isinstance(sources, list) else []):
            if not isinstance(source, dict):
                continue
            base = ("volumes", index, "projected", "sources", at_source)
            token = source.get("serviceAccountToken")
            if isinstance(token, dict) and _for_the_api(token.get("audience")):
                token_volumes.append((name, at(pod.pointer_of((*base, "serviceAccountToken")))))
            inner = source.get("secret")
            if isinstance(inner, dict) and isinstance(inner.get("name"), str):
                where = pod.pointer_of((*base, "secret", "name"))
                secret_volumes.append((name, inner["name"], at(where)))
    automount = spec.automount_service_account_token
    return PodThreatFacts(
        label=pod.label,
        labels=tuple((intern(k), intern(v)) for k, v in pod.metadata.labels.items()),
        service_account=intern(spec.service_account_name or spec.service_account or "default"),
        service_account_spot=at(pod.pointer_of((account_key,))) if account_key else None,
        automount=automount,
        automount_spot=at(pod.pointer_of(("automountServiceAccountToken",)))
        if automount is not None
        else None,
        host_pid=flag("hostPID"),
        host_network=flag("hostNetwork"),
        host_ipc=flag("hostIPC"),
        share_process_namespace=flag("shareProcessNamespace"),
        host_volumes=tuple(host_volumes),
        token_volumes=tuple(token_volumes),
        secret_volumes=tuple(secret_volumes),
        containers=tuple(_container(ref, at, pod) for ref in pod.containers()),
    )


def _never_root(ref: ContainerRef, pod: PodView, at: _Locator) -> tuple[Spot, ...]:
    """The fields that keep a container's processes off uid 0 and group 0 (see
    ``ContainerFacts.never_root``), or () when some is missing."""
    own = ref.data.get("securityContext")
    own = own if isinstance(own, dict) else {}
    shared = pod.data.get("securityContext")
    shared = shared if isinstance(shared, dict) else {}
    if shared.get("fsGroup") is not None or shared.get("supplementalGroups"):
        return ()
    if own.get("allowPrivilegeEscalation") is not False or own.get("privileged") is True:
        return ()
    spots = [at(ref.pointer_of(("securityContext", "allowPrivilegeEscalation")))]
    for key in ("runAsUser", "runAsGroup"):
        for data, where in ((own, ref.pointer_of), (shared, pod.pointer_of)):
            value = data.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value == 0:
                return ()
            spots.append(at(where(("securityContext", key))))
            break
        else:
            return ()
    return tuple(spots)


def _container(ref: ContainerRef, at: _Locator, pod: PodView) -> ContainerFacts:
    data = ref.data
    context = ref.container.security_context
    caps = context.capabilities if context is not None else None
    added = tuple(
        (name, at(ref.pointer_of(("securityContext", "capabilities", "add", index))))
        for index, name in enumerate(caps.add if caps is not None else [])
    )
    privileged = context is not None and context.privileged is True
    image = data.get("image")
    mounts: list[Mount] = []
    listed = data.get("volumeMounts")
    for index, mount in enumerate(listed if isinstance(listed, list) else []):
        if isinstance(mount, dict) and isinstance(mount.get("name"), str):
            path = mount.get("mountPath")
            mounts.append(
                Mount(
                    mount["name"],
                    path if isinstance(path, str) else "",
                    mount.get("readOnly") is True,
                    at(ref.pointer_of(("volumeMounts", index))),
                )
            )
    ports = data.get("ports")
    host_ports = tuple(
        (port["hostPort"], at(ref.pointer_of(("ports", index, "hostPort"))))
        for index, port in enumerate(ports if isinstance(ports, list) else [])
        if isinstance(port, dict)
        and isinstance(port.get("hostPort"), int)
        and not isinstance(port.get("hostPort"), bool)
        and port["hostPort"] > 0
    )
    declared = next(
        (
            index
            for index, port in enumerate(ports if isinstance(ports, list) else [])
            if isinstance(port, dict)
            and isinstance(port.get("containerPort"), int)
            and not isinstance(port.get("containerPort"), bool)
        ),
        None,
    )
    return ContainerFacts(
        name=ref.name,
        role=ref.role,
        spot=at(ref.pointer),
        image=image if isinstance(image, str) else None,
        image_spot=at(ref.pointer_of(("image",))) if isinstance(image, str) else None,
        privileged=at(ref.pointer_of(("securityContext", "privileged"))) if privileged else None,
        allow_privilege_escalation=context.allow_privilege_escalation if context else None,
        added=added,
        dropped=tuple(caps.drop) if caps is not None else (),
        mounts=tuple(mounts),
        secret_env=tuple(_secret_env(ref, at)),
        host_ports=host_ports,
        listens=None if declared is None else at(ref.pointer_of(("ports", declared))),
        never_root=_never_root(ref, pod, at),
        user=_written_id(ref, pod, "runAsUser"),
        group=_written_id(ref, pod, "runAsGroup"),
    )


def _written_id(ref: ContainerRef, pod: PodView, key: str) -> int | None:
    """``runAsUser`` or ``runAsGroup`` as the kubelet applies it: the container's, else the
    pod's, else None (an integer only)."""
    for data in (ref.data, pod.data):
        context = data.get("securityContext")
        value = context.get(key) if isinstance(context, dict) else None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _secret_env(ref: ContainerRef, at: _Locator) -> Iterator[tuple[str, Spot]]:
    env = ref.data.get("env")
    for index, item in enumerate(env if isinstance(env, list) else []):
        source = item.get("valueFrom") if isinstance(item, dict) else None
        key = source.get("secretKeyRef") if isinstance(source, dict) else None
        if isinstance(key, dict) and isinstance(key.get("name"), str):
            yield key["name"], at(ref.pointer_of(("env", index, "valueFrom", "secretKeyRef")))
    env_from = ref.data.get("envFrom")
    for index, item in enumerate(env_from if isinstance(env_from, list) else []):
        secret = item.get("secretRef") if isinstance(item, dict) else None
        if isinstance(secret, dict) and isinstance(secret.get("name"), str):
            yield secret["name"], at(ref.pointer_of(("envFrom", index, "secretRef")))


def _service(obj: KubeObject, data: dict[str, Any], at: _Locator) -> ServiceFacts:
    spec = data.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    kind = spec.get("type")
    selector = spec.get("selector")
    items: tuple[tuple[str, str], ...] | None = None
    if (
        isinstance(selector, dict)
        and selector
        and all(isinstance(k, str) and isinstance(v, str) for k, v in selector.items())
    ):
        items = tuple(selector.items())
    return ServiceFacts(
        kind if isinstance(kind, str) else "ClusterIP",
        at((*obj.pointer, "spec", "type")) if isinstance(kind, str) else None,
        items,
        at((*obj.pointer, "spec", "selector")) if items is not None else None,
    )


def _ingress_backends(
    obj: KubeObject, data: dict[str, Any], at: _Locator
) -> Iterator[tuple[str, Spot]]:
    """Service names of an Ingress's backends: ``service.name`` (v1) or ``serviceName``
    (v1beta1), in the default backend and in every rule's paths."""
    spec = data.get("spec")
    if not isinstance(spec, dict):
        return
    places: list[tuple[Any, Pointer]] = []
    for key in ("defaultBackend", "backend"):
        places.append((spec.get(key), (*obj.pointer, "spec", key)))
    rules = spec.get("rules")
    for index, rule in enumerate(rules if isinstance(rules, list) else []):
        http = rule.get("http") if isinstance(rule, dict) else None
        paths = http.get("paths") if isinstance(http, dict) else None
        for at_path, item in enumerate(paths if isinstance(paths, list) else []):
            if isinstance(item, dict):
                where = (*obj.pointer, "spec", "rules", index, "http", "paths", at_path, "backend")
                places.append((item.get("backend"), where))
    for backend, where in places:
        if not isinstance(backend, dict):
            continue
        service = backend.get("service")
        if isinstance(service, dict) and isinstance(service.get("name"), str):
            yield service["name"], at((*where, "service", "name"))
        elif isinstance(backend.get("serviceName"), str):
            yield backend["serviceName"], at((*where, "serviceName"))


def _role(obj: KubeObject, data: dict[str, Any], at: _Locator) -> RoleFacts:
    assert isinstance(obj.model, Role)
    outline = RoleOutline.of(obj.model)
    aggregation: tuple[tuple[tuple[str, str], ...], ...] | None = None
    rule = data.get("aggregationRule") if obj.kind == "ClusterRole" else None
    selectors = rule.get("clusterRoleSelectors") if isinstance(rule, dict) else None
    if isinstance(selectors, list):
        found = []
        for selector in selectors:
            labels = selector.get("matchLabels") if isinstance(selector, dict) else None
            if (
                isinstance(selector, dict)
                and not selector.get("matchExpressions")
                and isinstance(labels, dict)
            ):
                found.append(tuple((str(k), str(v)) for k, v in labels.items()))
        aggregation = tuple(found)
    return RoleFacts(
        outline,
        tuple(at((*obj.pointer, "rules", index)) for index in range(len(outline.rules))),
        tuple(obj.model.metadata.labels.items()),
        aggregation,
    )
