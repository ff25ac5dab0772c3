"""Where an object's pods are written: the pod specs, their metadata and their containers.

Core workloads keep one pod template at a fixed place (``spec.template`` ...). Widely used
custom resources keep several, at places listed here (facts from each project's API types:
Argo Workflows and Rollouts, KEDA, Kubeflow, JobSet, OpenShift, Knative, Volcano, KubeRay,
Flink). Argo Workflows have a pod per template, whose containers are ``container``,
``script``, ``initContainers``, ``sidecars`` and ``containerSet.containers``, and whose
pod-level fields come from the template, then ``templateDefaults``, then the workflow. Any
other object is searched for mappings shaped like a pod spec: ``containers`` as a list of
mappings with a string ``image``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from kscan.input.tree import Chain, Pointer, chain_pointer, value_at
from kscan.support.values import dataclass, replace

Role = Literal["containers", "initContainers", "ephemeralContainers"]
Checked = Literal["all", "security"]
"""How much of a pod the API schema check covers: every field (core PodSpec and Container
types), or only the securityContexts (a custom resource that may carry more fields)."""


@dataclass(frozen=True)
class ContainerSlot:
    """A container of a pod: where it is written and what it is."""

    pointer: Pointer
    role: Role
    label: str
    type_name: str = "Container"
    extra: frozenset[str] = frozenset()
    """Fields the custom resource adds to the core Container type (Argo ``source``...)."""
    default_name: str = ""
    overlay: Pointer | None = None
    """A mapping merged under this container, key by key (Argo's ``templateDefaults``)."""


@dataclass(frozen=True)
class PodSlot:
    """One pod an object runs."""

    spec: Pointer
    """The mapping holding its pod-level fields."""
    metadata: Pointer | None
    containers: tuple[ContainerSlot, ...]
    label: str = ""
    """How messages tell it from the object's other pods (``template 'build'``)."""
    defaults: tuple[Pointer, ...] = ()
    """Mappings whose pod-level fields apply where this pod does not set them, nearest first."""
    overlay: Pointer | None = None
    """A mapping merged under ``spec`` key by key, at every depth (Argo's ``templateDefaults``,
    which Argo merges into each template)."""
    patches: tuple[Pointer, ...] = ()
    """Strings holding pod spec patches applied last, in order (Argo's ``podSpecPatch``)."""
    pod_fields: frozenset[str] | None = None
    """The keys of ``spec`` (and ``defaults``) that are pod fields (None: all of them)."""
    added_lists: frozenset[str] = frozenset()
    """Pod-level lists that add up across ``defaults`` instead of replacing (``volumes``)."""
    spec_type: str | None = "PodSpec"
    """The API type of ``spec`` when it is one (its fields are all checked), else None."""
    spec_extra: frozenset[str] = frozenset()
    checked: Checked = "all"
    """``security``: a pod kscan sees only in part (found by its shape, or completed by an
    operator), checked in its securityContexts and for what is set, never for what is missing."""


CONTAINER_LISTS: tuple[tuple[Role, str, str], ...] = (
    ("containers", "Container", "Container"),
    ("initContainers", "Init container", "Container"),
    ("ephemeralContainers", "Ephemeral container", "EphemeralContainer"),
)

_CORE_TEMPLATE: Pointer = ("spec", "template")
_CORE: dict[tuple[str, str], Pointer] = {
    ("", "Pod"): (),
    ("", "PodTemplate"): ("template",),
    ("", "ReplicationController"): _CORE_TEMPLATE,
    ("apps", "Deployment"): _CORE_TEMPLATE,
    ("apps", "ReplicaSet"): _CORE_TEMPLATE,
    ("apps", "StatefulSet"): _CORE_TEMPLATE,
    ("apps", "DaemonSet"): _CORE_TEMPLATE,
    ("extensions", "Deployment"): _CORE_TEMPLATE,
    ("extensions", "ReplicaSet"): _CORE_TEMPLATE,
    ("extensions", "DaemonSet"): _CORE_TEMPLATE,
    ("batch", "Job"): _CORE_TEMPLATE,
    ("batch", "CronJob"): ("spec", "jobTemplate", "spec", "template"),
    ("apps.openshift.io", "DeploymentConfig"): _CORE_TEMPLATE,
    ("", "DeploymentConfig"): _CORE_TEMPLATE,  # OpenShift 3 without a group
}
"""Kinds with one pod template (or, for a Pod, one pod spec with the object's metadata)."""

_KUBEFLOW_REPLICAS = {
    "TFJob": "tfReplicaSpecs",
    "PyTorchJob": "pytorchReplicaSpecs",
    "MPIJob": "mpiReplicaSpecs",
    "XGBoostJob": "xgbReplicaSpecs",
    "PaddleJob": "paddleReplicaSpecs",
    "MXJob": "mxReplicaSpecs",
    "JAXJob": "jaxReplicaSpecs",
}
_RAY_CLUSTER = ("headGroupSpec.template", "workerGroupSpecs.*.template")
_FLINK = ("spec.podTemplate", "spec.jobManager.podTemplate", "spec.taskManager.podTemplate")
_TEMPLATES: dict[tuple[str, str], tuple[str, ...]] = {
    ("argoproj.io", "Rollout"): ("spec.template",),
    ("argoproj.io", "Experiment"): ("spec.templates.*.template",),
    **{
        ("argoproj.io", kind): ("spec.metrics.*.provider.job.spec.template",)
        for kind in ("AnalysisTemplate", "ClusterAnalysisTemplate", "AnalysisRun")
    },
    ("keda.sh", "ScaledJob"): ("spec.jobTargetRef.template",),
    **{
        ("kubeflow.org", kind): (f"spec.{field}.*.template",)
        for kind, field in _KUBEFLOW_REPLICAS.items()
    },
    ("jobset.x-k8s.io", "JobSet"): ("spec.replicatedJobs.*.template.spec.template",),
    **{
        ("trainer.kubeflow.org", kind): (
            "spec.template.spec.replicatedJobs.*.template.spec.template",
        )
        for kind in ("TrainingRuntime", "ClusterTrainingRuntime")
    },
    ("batch.volcano.sh", "Job"): ("spec.tasks.*.template",),
    ("ray.io", "RayCluster"): tuple(f"spec.{path}" for path in _RAY_CLUSTER),
    ("ray.io", "RayJob"): (
        *(f"spec.rayClusterSpec.{path}" for path in _RAY_CLUSTER),
        "spec.submitterPodTemplate",
    ),
    ("ray.io", "RayService"): tuple(f"spec.rayClusterConfig.{path}" for path in _RAY_CLUSTER),
    ("flink.apache.org", "FlinkDeployment"): _FLINK,
    ("sources.knative.dev", "ContainerSource"): ("spec.template",),
}
"""Custom resources and the paths of their pod templates (``*``: every list item or value)."""

_OPERATED_PODS = frozenset(
    ("monitoring.coreos.com", kind)
    for kind in ("Prometheus", "PrometheusAgent", "Alertmanager", "ThanosRuler")
)
"""Prometheus Operator resources: their spec holds the pod's own fields (hostNetwork,
securityContext, volumes...) and containers merged by name into the ones the operator runs."""
_KNATIVE_REVISION_FIELDS = frozenset(
    {"containerConcurrency", "timeoutSeconds", "responseStartTimeoutSeconds", "idleTimeoutSeconds"}
)
_KNATIVE = {"Service": "spec.template", "Configuration": "spec.template", "Revision": ""}
_ARGO_WORKFLOWS = {
    "Workflow": ("spec",),
    "WorkflowTemplate": ("spec",),
    "ClusterWorkflowTemplate": ("spec",),
    "CronWorkflow": ("spec", "workflowSpec"),
}
_ARGO_POD_FIELDS = frozenset(
    {
        *("securityContext", "serviceAccountName", "automountServiceAccountToken", "hostNetwork"),
        *("volumes", "hostAliases", "dnsPolicy", "dnsConfig", "imagePullSecrets", "nodeSelector"),
        *("affinity", "tolerations", "schedulerName", "priorityClassName", "runtimeClassName"),
    }
)
_POLICY_GROUPS = frozenset(
    {
        *("kyverno.io", "policies.kyverno.io", "wgpolicyk8s.io", "policies.kubewarden.io"),
        *("templates.gatekeeper.sh", "constraints.gatekeeper.sh", "mutations.gatekeeper.sh"),
        *("apiextensions.k8s.io", "admissionregistration.k8s.io"),
    }
)
"""Groups whose objects hold pod-shaped patterns, not pods (policies, schemas)."""


def api_group(api_version: Any) -> str | None:
    """``apps`` of ``apps/v1``, ``""`` of ``v1``; None when apiVersion is missing or odd."""
    if not isinstance(api_version, str) or not api_version:
        return None
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def pods_of(api_version: Any, kind: str, data: dict[str, Any]) -> tuple[PodSlot, ...]:
    """The pods an object runs, in document order."""
    group = api_group(api_version)
    core = _core_template(group, kind)
    if core is not None:
        return (_template_slot(data, core, core == ()),) if _is_mapping(data, core) else ()
    if group == "argoproj.io" and kind in _ARGO_WORKFLOWS:
        return tuple(_argo_pods(data, _ARGO_WORKFLOWS[kind]))
    if group == "argoproj.io" and kind in ("Sensor", "EventSource"):
        return _argo_events_pod(data)
    if group == "serving.knative.dev" and kind in _KNATIVE:
        path = _KNATIVE[kind]
        pointers = list(expand(data, path)) if path else [()]
        return tuple(
            _template_slot(data, p, not path, _KNATIVE_REVISION_FIELDS)
            for p in pointers
            if _is_mapping(data, p)
        )
    if (group, kind) in _OPERATED_PODS:  # the spec holds pod fields and partial containers
        spec = ("spec",)
        containers = _core_containers(data, spec)
        return (
            PodSlot(spec, ("spec", "podMetadata"), containers, spec_type=None, checked="security"),
        )
    paths = _TEMPLATES.get((group or "", kind), ())
    found = tuple(
        _template_slot(data, pointer, False)
        for path in paths
        for pointer in expand(data, path)
        if _is_mapping(data, pointer)
    )
    if found or group in _POLICY_GROUPS:
        return found
    return tuple(_shaped_like_pods(data))


def _core_template(group: str | None, kind: str) -> Pointer | None:
    if group is None:  # no apiVersion: judged as the core kind of that name, if there is one
        return next((p for (_group, k), p in _CORE.items() if k == kind), None)
    return _CORE.get((group, kind))


def _template_slot(
    data: dict[str, Any], pointer: Pointer, is_pod: bool, extra: frozenset[str] = frozenset()
) -> PodSlot:
    """A PodTemplateSpec at ``pointer`` (a Pod: the object's own spec and metadata)."""
    spec = ("spec",) if is_pod else (*pointer, "spec")
    metadata = ("metadata",) if is_pod else (*pointer, "metadata")
    return PodSlot(spec, metadata, _core_containers(data, spec), spec_extra=extra)


def _core_containers(data: dict[str, Any], spec: Pointer) -> tuple[ContainerSlot, ...]:
    pod = value_at(data, spec)
    slots = []
    for role, label, type_name in CONTAINER_LISTS:
        items = pod.get(role) if isinstance(pod, dict) else None
        for index, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, dict):
                slots.append(ContainerSlot((*spec, role, index), role, label, type_name))
    return tuple(slots)


def _argo_pods(data: dict[str, Any], workflow: Pointer) -> Iterator[PodSlot]:
    """A pod per Argo template with containers (inline templates of steps and DAG tasks too)."""
    overlay = (*workflow, "templateDefaults")
    for pointer in _argo_templates(data, workflow):
        template = value_at(data, pointer)
        containers = _argo_containers(template, pointer, overlay)
        if not containers:
            continue
        name = template.get("name")
        yield PodSlot(
            spec=pointer,
            metadata=(*pointer, "metadata"),
            containers=containers,
            label=f"template '{name}'" if isinstance(name, str) else f"template {pointer[-1]}",
            defaults=(workflow,),
            overlay=overlay,
            patches=((*workflow, "podSpecPatch"), (*pointer, "podSpecPatch")),
            pod_fields=_ARGO_POD_FIELDS,
            added_lists=frozenset({"volumes"}),
            spec_type=None,
        )


def embedded_manifests(api_version: Any, kind: str, data: dict[str, Any]) -> list[Pointer]:
    """Strings holding whole manifests that a controller creates (an Argo resource template's
    ``manifest``, which Argo applies as it is)."""
    if api_group(api_version) != "argoproj.io" or kind not in _ARGO_WORKFLOWS:
        return []
    found = []
    for pointer in _argo_templates(data, _ARGO_WORKFLOWS[kind]):
        resource = value_at(data, (*pointer, "resource"))
        if isinstance(resource, dict) and isinstance(resource.get("manifest"), str):
            found.append((*pointer, "resource", "manifest"))
    return found


def _argo_templates(data: dict[str, Any], workflow: Pointer) -> Iterator[Pointer]:
    pending = [
        (*workflow, "templates", index) for index in _indexes(value_at(data, workflow), "templates")
    ]
    while pending:
        pointer = pending.pop(0)
        template = value_at(data, pointer)
        if not isinstance(template, dict):
            continue
        yield pointer
        steps = template.get("steps")
        for i, group in enumerate(steps if isinstance(steps, list) else []):
            for j, step in enumerate(group if isinstance(group, list) else []):
                if isinstance(step, dict) and isinstance(step.get("inline"), dict):
                    pending.append((*pointer, "steps", i, j, "inline"))
        dag = template.get("dag")
        tasks = dag.get("tasks") if isinstance(dag, dict) else None
        for i, task in enumerate(tasks if isinstance(tasks, list) else []):
            if isinstance(task, dict) and isinstance(task.get("inline"), dict):
                pending.append((*pointer, "dag", "tasks", i, "inline"))


def _argo_containers(
    template: dict[str, Any], pointer: Pointer, defaults: Pointer
) -> tuple[ContainerSlot, ...]:
    mirror = frozenset({"mirrorVolumeMounts"})
    slots = []
    if isinstance(template.get("container"), dict):
        slot = ContainerSlot(
            (*pointer, "container"), "containers", "Container", default_name="main"
        )
        slots.append(replace(slot, overlay=(*defaults, "container")))
    if isinstance(template.get("script"), dict):
        slots.append(
            ContainerSlot(
                (*pointer, "script"),
                "containers",
                "Script container",
                extra=frozenset({"source"}),
                default_name="main",
                overlay=(*defaults, "script"),
            )
        )
    for index in _indexes(template, "initContainers"):
        slots.append(
            ContainerSlot(
                (*pointer, "initContainers", index),
                "initContainers",
                "Init container",
                extra=mirror,
            )
        )
    for index in _indexes(template, "sidecars"):
        slots.append(
            ContainerSlot(
                (*pointer, "sidecars", index), "containers", "Sidecar container", extra=mirror
            )
        )
    container_set = template.get("containerSet")
    for index in _indexes(container_set, "containers"):
        slots.append(
            ContainerSlot(
                (*pointer, "containerSet", "containers", index),
                "containers",
                "Container",
                extra=frozenset({"dependencies"}),
            )
        )
    return tuple(slots)


def _argo_events_pod(data: dict[str, Any]) -> tuple[PodSlot, ...]:
    """Argo Events: ``spec.template`` holds pod-level fields and one ``container``."""
    template = value_at(data, ("spec", "template"))
    if not isinstance(template, dict) or not isinstance(template.get("container"), dict):
        return ()
    container = ContainerSlot(("spec", "template", "container"), "containers", "Container")
    return (
        PodSlot(
            ("spec", "template"),
            ("spec", "template", "metadata"),
            (container,),
            pod_fields=_ARGO_POD_FIELDS,
            spec_type=None,
        ),
    )


def _shaped_like_pods(data: dict[str, Any]) -> Iterator[PodSlot]:
    """Mappings anywhere in the object (metadata and status aside) shaped like pod specs (see
    ``_looks_like_pod_spec``): the pods of a custom resource. Each node is visited once; inside
    a pod spec the search goes on (a pod template may sit below it), its containers aside."""
    seen: set[int] = set()
    # Mappings and lists only (scalars hold no pod), each with its parent and its place (a
    # Chain, made a pointer for a pod found).
    stack: list[tuple[Any, Any, Chain]] = [
        (value, data, ((), key))
        for key, value in reversed(data.items())
        if key not in ("metadata", "status") and isinstance(value, (dict, list))
    ]
    while stack:
        node, parent, chain = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            skipped: tuple[str, ...] = ()
            if "containers" in node and _looks_like_pod_spec(node):
                pointer = chain_pointer((), chain)
                has_metadata = (
                    pointer[-1:] == ("spec",) and isinstance(parent, dict) and "metadata" in parent
                )
                metadata = (*pointer[:-1], "metadata") if has_metadata else None
                yield PodSlot(
                    pointer,
                    metadata,
                    _core_containers(data, pointer),
                    spec_type=None,
                    checked="security",
                )
                skipped = tuple(role for role, _label, _type in CONTAINER_LISTS)
            stack += [
                (v, node, (chain, k))
                for k, v in reversed(node.items())
                if isinstance(v, (dict, list)) and k not in skipped
            ]
        else:
            stack += [
                (v, node, (chain, i))
                for i, v in reversed(list(enumerate(node)))
                if isinstance(v, (dict, list))
            ]


def _looks_like_pod_spec(node: dict[str, Any]) -> bool:
    """``containers`` is a list of mappings, each with a name or an image, one at least with a
    string image (a container merged by name into one the operator defines may have none)."""
    containers = node.get("containers")
    if not isinstance(containers, list) or not containers:
        return False
    if not all(isinstance(c, dict) and ("name" in c or "image" in c) for c in containers):
        return False
    return any(isinstance(c.get("image"), str) for c in containers)


def expand(data: Any, path: str) -> Iterator[Pointer]:
    """The pointers a dotted path with ``*`` (any list item or mapping value) leads to."""
    pointers: list[tuple[Any, Pointer]] = [(data, ())]
    for part in path.split("."):
        following: list[tuple[Any, Pointer]] = []
        for node, pointer in pointers:
            if part == "*":
                if isinstance(node, list):
                    following += [(v, (*pointer, i)) for i, v in enumerate(node)]
                elif isinstance(node, dict):
                    following += [(v, (*pointer, k)) for k, v in node.items()]
            elif isinstance(node, dict) and part in node:
                following.append((node[part], (*pointer, part)))
        pointers = following
    for _node, pointer in pointers:
        yield pointer


def _is_mapping(data: Any, pointer: Pointer) -> bool:
    return isinstance(value_at(data, pointer), dict)


def _indexes(node: Any, key: str) -> range:
    items = node.get(key) if isinstance(node, dict) else None
    return range(len(items)) if isinstance(items, list) else range(0)
