"""The attack steps: one small function per kind of step, each with its ATT&CK tactic and
technique, reading the records the scan kept (``kscan/model/threat_facts.py``). ``build``
makes the graph of a scan from them.

What a step means: an attacker who holds its source (a shell in a container, a service
account's token, an RBAC power) can take its target with the fields in its evidence as written,
unless something git does not hold stops it (an admission webhook, a runtime's AppArmor
profile, where the scheduler puts the pod). The README's "Threat model" lists those
assumptions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator

from kscan.checks.conditions import normalize_capability
from kscan.checks.host import normalize, reaches
from kscan.checks.images import full_name, under_prefix
from kscan.model.inventory import RuleOutline
from kscan.model.threat_facts import (
    BindingFacts,
    ContainerFacts,
    HostVolume,
    IngressFacts,
    NamespaceFacts,
    PodThreatFacts,
    PolicyFacts,
    ServiceAccountFacts,
    ServiceFacts,
    Spot,
    ThreatFacts,
)
from kscan.support.values import dataclass, replace
from kscan.threats.graph import (
    CLUSTER,
    INTERNET,
    NODE,
    NODE_SERVICES,
    NODE_TOKENS,
    POD_NETWORK,
    Graph,
    evidence,
)
from kscan.threats.paths import Evidence, Node, Step
from kscan.threats.rbac import Grant, Rbac, allows

ESCAPE = ("TA0004", "T1611")  # Privilege Escalation: Escape to Host
DEPLOY = ("TA0002", "T1610")  # Execution: Deploy Container
TOKEN = ("TA0006", "T1528")  # Credential Access: Steal Application Access Token
CREDENTIALS = ("TA0006", "T1552.001")  # Credential Access: Credentials In Files
API_SECRETS = ("TA0006", "T1552.007")  # Credential Access: Container API
PUBLIC = ("TA0001", "T1190")  # Initial Access: Exploit Public-Facing Application
IMAGE = ("TA0002", "T1204.003")  # Execution: Malicious Image
ACCOUNT = ("TA0004", "T1078")  # Privilege Escalation: Valid Accounts
EXEC = ("TA0002", "T1609")  # Execution: Container Administration Command
ROLES = ("TA0004", "T1098.006")  # Privilege Escalation: Additional Container Cluster Roles
IMPERSONATE = ("TA0005", "T1550.001")  # Defense Evasion: Application Access Token
NETWORK = ("TA0007", "T1046")  # Discovery: Network Service Discovery
CERTIFICATE = ("TA0006", "T1649")  # Credential Access: Steal or Forge Authentication Certificates

RUNTIME_SOCKETS = (
    "/run/docker.sock",
    "/run/containerd/containerd.sock",
    "/run/crio/crio.sock",
    "/run/k3s/containerd/containerd.sock",
    "/run/dockershim.sock",
)
"""Container runtime sockets; ``/var/run`` is a symbolic link to ``/run`` on the nodes of every
common distribution, so both spellings are read. Connecting to a Unix socket needs no write
access to the file system it is on, so a read-only mount of a socket still deploys containers
(``connect(2)`` checks write permission on the socket file, not the mount)."""
SENSITIVE = ("/", "/etc", "/root", "/proc", "/sys", "/dev", "/boot", "/usr", "/bin", "/lib")
"""Node paths whose write access, or a directory above them, owns the node: ``/etc`` (cron,
shadow, systemd units), ``/proc`` (``/proc/sys/kernel/core_pattern`` runs a program as root on
the host when a process crashes), ``/dev`` (the host's disks)."""
SENSITIVE_TREES = (
    "/etc/kubernetes",
    "/var/lib/kubelet/pods",
    "/var/lib/kubelet/pki",
    "/usr/libexec/kubernetes/kubelet-plugins",
    "/var/log",
    "/proc/sys",
    "/root",
)
"""Node paths that a writable mount of any directory below also reaches: the static pod
manifests and kubelet credentials (``/etc/kubernetes``), other pods' volumes and tokens
(``/var/lib/kubelet/pods``), the kubelet's keys (``/var/lib/kubelet/pki``), the FlexVolume
drivers the kubelet runs as root (``--volume-plugin-dir``'s default), ``/var/log`` (a symbolic
link there makes the kubelet serve any host file when the pod's logs are read), ``/proc/sys``
(``core_pattern``). A CSI driver's own directory (``/var/lib/kubelet/plugins/<driver>``) is not
one: it holds the socket the kubelet dials as a client."""
KUBELET_PODS = "/var/lib/kubelet/pods"
"""Where the kubelet keeps each pod's volumes, its service account token among them: a node
holds the token of every pod it runs, and so does whoever reads that directory (root's, 0750)."""
_HOW = {
    "/var/log": "a symbolic link there makes the kubelet serve any host file with the logs",
}
_NODE_CAPABILITIES = {
    "SYS_ADMIN": "mounts the host's file systems (CAP_SYS_ADMIN: cgroup release_agent, mount)",
    "SYS_MODULE": "loads a kernel module (CAP_SYS_MODULE)",
}
_WORKLOADS = (
    ("", "pods"),
    ("", "replicationcontrollers"),
    ("apps", "deployments"),
    ("apps", "daemonsets"),
    ("apps", "statefulsets"),
    ("apps", "replicasets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
)
_PRIVILEGED_LEVELS = (None, "privileged")
"""Pod Security ``enforce`` levels under which a privileged pod is admitted: unset (Pod
Security admission's default is ``privileged`` unless the cluster's AdmissionConfiguration
says otherwise, which git does not show) and ``privileged``."""


@dataclass(frozen=True, slots=True)
class Workload:
    obj: ThreatFacts
    pod: PodThreatFacts


def container_node(obj: ThreatFacts, pod: PodThreatFacts, container: ContainerFacts) -> Node:
    where = f" ({pod.label})" if pod.label else ""
    return Node(
        "container",
        f"container:{obj.effective_namespace}/{obj.kind}/{obj.name}{where}/{container.name}"
        f"@{obj.path}:{obj.spot.line}",
        f"Container '{container.name}'{where} of {obj.display}",
    )


def account_node(namespace: str, name: str) -> Node:
    return Node("identity", f"sa:{namespace}/{name}", f"ServiceAccount '{namespace}/{name}'")


def secrets_node(namespace: str | None) -> Node:
    if namespace is None:
        return Node("secret", "secrets:*", "The secrets of every namespace")
    return Node("secret", f"secrets:{namespace}", f"The secrets of namespace '{namespace}'")


def secret_node(namespace: str, name: str) -> Node:
    return Node("secret", f"secret:{namespace}/{name}", f"Secret '{namespace}/{name}'")


def pods_node(namespace: str | None) -> Node:
    if namespace is None:
        return Node("namespace", "pods:*", "Any pod of any namespace")
    return Node("namespace", f"pods:{namespace}", f"Any pod of namespace '{namespace}'")


def power_node(what: str, namespace: str | None) -> Node:
    if what in _CLUSTER_WIDE:
        where = ""  # of cluster-scoped objects (nodes, users and groups, everything)
    else:
        where = f" in namespace '{namespace}'" if namespace else " in every namespace"
    return Node("power", f"power:{what}:{namespace or '*'}", f"{_POWERS[what]}{where}")


_CLUSTER_WIDE = frozenset(
    {
        "node-proxy",
        "impersonate-users",
        "cluster-admin",
        "approve-certificates",
        "mutating-webhooks",
        "validating-webhooks",
    }
)


_POWERS = {
    "read-secrets": "Read secrets",
    "create-pods": "Create pods or workloads",
    "exec": "Exec into pods",
    "impersonate-accounts": "Impersonate service accounts",
    "create-tokens": "Create service account tokens",
    "bind-roles": "Bind or escalate roles",
    "bind-namespaces": "Bind any role in a namespace's RoleBinding",
    "impersonate-users": "Impersonate users and groups",
    "cluster-admin": "Everything (cluster-admin)",
    "node-proxy": "Reach the kubelet API (nodes/proxy)",
    "approve-certificates": "Request and approve API client certificates (CSRs)",
    "mutating-webhooks": "Register mutating admission webhooks",
    "validating-webhooks": "Register validating admission webhooks",
}


def _step(
    source: Node, target: Node, action: str, how: tuple[str, str], found: tuple[Evidence, ...]
) -> Step:
    return Step(source, target, action, how[0], how[1], found)


# Entry points ---------------------------------------------------------------------------


def exposed_by_service(
    service: ThreatFacts, workloads: Iterable[Workload]
) -> Iterator[tuple[Workload, tuple[Evidence, ...]]]:
    """The workloads a Service's selector selects, in its namespace (pods of other namespaces
    are never a Service's endpoints). An empty selector selects nothing: the API reference's
    ServiceSpec.selector, "If empty or not present, the service is assumed to have an external
    process managing its endpoints"."""
    detail = service.detail
    if not isinstance(detail, ServiceFacts) or not detail.selector:
        return
    for workload in workloads:
        labels = workload.pod.label_map
        if all(labels.get(k) == v for k, v in detail.selector):
            yield workload, evidence(service, detail.selector_spot)


def service_entries(
    services: dict[str, list[ThreatFacts]],
    ingresses: list[ThreatFacts],
    workloads: dict[str, list[Workload]],
) -> Iterator[Step]:
    """The internet reaches the serving containers of the pods behind a LoadBalancer or NodePort
    Service, or behind a Service an Ingress routes to (the Service's own type does not matter
    to the Ingress controller). Init containers serve nothing and are left out."""
    for namespace, listed in services.items():
        for service in listed:
            detail = service.detail
            assert isinstance(detail, ServiceFacts)
            if detail.type not in ("LoadBalancer", "NodePort"):
                continue
            how = evidence(service, detail.type_spot)
            for workload, selected in exposed_by_service(service, workloads.get(namespace, [])):
                yield from _serving(
                    workload, f"exposed by {service.display} ({detail.type})", how + selected
                )
    for ingress in ingresses:
        detail = ingress.detail
        assert isinstance(detail, IngressFacts)
        namespace = ingress.effective_namespace
        by_name = {s.name: s for s in services.get(namespace, [])}
        for name, spot in detail.backends:
            backend = by_name.get(name)
            if backend is None:
                continue
            routed = evidence(ingress, spot)
            for workload, selected in exposed_by_service(backend, workloads.get(namespace, [])):
                action = f"exposed by {ingress.display} through {backend.display}"
                yield from _serving(workload, action, routed + selected)


def _serving(workload: Workload, action: str, found: tuple[Evidence, ...]) -> Iterator[Step]:
    for container in workload.pod.containers:
        if container.role == "containers":
            node = container_node(workload.obj, workload.pod, container)
            yield _step(INTERNET, node, action, PUBLIC, found)


def host_port_entries(workload: Workload) -> Iterator[Step]:
    """A container with a hostPort listens on its node's address."""
    for container in workload.pod.containers:
        if container.host_ports and container.role == "containers":
            node = container_node(workload.obj, workload.pod, container)
            spots = [spot for _port, spot in container.host_ports]
            ports = ", ".join(str(port) for port, _spot in container.host_ports)
            entry = Node("entry", "node-network", "The nodes' network")
            found = evidence(workload.obj, *spots)
            yield _step(entry, node, f"listens on host port {ports}", PUBLIC, found)


def image_entries(workload: Workload, trusted: tuple[str, ...] = ()) -> Iterator[Step]:
    """An image named by a tag and not by a digest runs whatever its registry serves under that
    tag the next time a node pulls it: an upstream compromise reaches the container. With
    ``trusted`` registries (prefixes of full image names, as ``image-registry`` reads them),
    an image from any other is an upstream entry too, digest or not: the digest fixes what is
    pulled, not who made it."""
    for container in workload.pod.containers:
        image = container.image
        if not image:
            continue
        reasons = []
        if "@" not in image:
            reasons.append("by mutable tag (no digest)")
        if trusted and not any(under_prefix(full_name(image), prefix) for prefix in trusted):
            reasons.append("from a registry outside the trusted ones")
        if not reasons:
            continue
        entry = Node("entry", f"image:{image}", f"Upstream image '{image}'")
        node = container_node(workload.obj, workload.pod, container)
        found = evidence(workload.obj, container.image_spot)
        yield _step(entry, node, f"runs an image {' and '.join(reasons)}", IMAGE, found)


# Container to node ----------------------------------------------------------------------


def capability(container: ContainerFacts, name: str) -> Spot | None:
    """Where the container gains capability ``name`` (runtime spelling, ``SYS_ADMIN``), or None
    when it does not hold it. Both runtimes apply ``add: [ALL]`` first, then ``drop: [ALL]``,
    then each capability added by name, then each dropped by name (containerd
    ``internal/cri/opts/spec_linux_opts.go`` ``WithCapabilities``, formerly
    ``pkg/cri/opts/spec_linux.go``; CRI-O ``server/container_create_linux.go``
    ``setupCapabilities``). So a capability dropped by name is gone even under ``add: [ALL]``,
    ``drop: [ALL]`` does not undo a named add, and ``add: [ALL]`` with ``drop: [ALL]`` holds
    nothing but the named adds."""
    dropped = {normalize_capability(item) for item in container.dropped}
    if name in dropped:
        return None
    for item, spot in container.added:
        if normalize_capability(item) == name:
            return spot
    if "ALL" not in dropped:
        for item, spot in container.added:
            if normalize_capability(item) == "ALL":
                return spot
    return None


def escapes(workload: Workload) -> Iterator[Step]:
    """Container to node: privileged; a writable mount of a sensitive node path; a runtime
    socket (read-only too); CAP_SYS_ADMIN or CAP_SYS_MODULE; hostPID with CAP_SYS_PTRACE; and
    to the node's pods' tokens through a read-only mount of ``/var/lib/kubelet/pods``.
    Except privileged, each needs a process that may act as root: a container whose manifest
    keeps it off uid 0 and group 0 for good (``ContainerFacts.never_root``) takes none."""
    obj, pod = workload.obj, workload.pod
    volumes = {volume.name: volume for volume in pod.host_volumes}
    for container in pod.containers:
        source = container_node(obj, pod, container)
        if container.never_root and container.privileged is None:
            # uid and gid non-zero, no setuid: root's sockets (0660) and files are closed to
            # it, and a non-root process keeps no added capability across execve
            # (capabilities(7); Kubernetes sets no ambient ones)
            continue
        if container.privileged is not None:
            action = "is privileged: mounts the host's disks, loads modules"
            found = evidence(obj, container.privileged)
            if pod.host_pid is not None:
                action = "is privileged with the host's PID namespace: nsenter into PID 1"
                found += evidence(obj, pod.host_pid)
            yield _step(source, NODE, action, ESCAPE, found)
        for target, action, how, found in host_mounts(obj, container, volumes):
            yield _step(source, target, action, how, found)
        if container.privileged is None:
            for name, action in _NODE_CAPABILITIES.items():
                spot = capability(container, name)
                if spot is not None:
                    yield _step(source, NODE, action, ESCAPE, evidence(obj, spot))
            ptrace = capability(container, "SYS_PTRACE")
            if pod.host_pid is not None and ptrace is not None:
                action = "traces the host's processes (hostPID with CAP_SYS_PTRACE)"
                yield _step(source, NODE, action, ESCAPE, evidence(obj, pod.host_pid, ptrace))


def host_mounts(
    obj: ThreatFacts, container: ContainerFacts, volumes: dict[str, HostVolume]
) -> Iterator[tuple[Node, str, tuple[str, str], tuple[Evidence, ...]]]:
    """What a root process reaches through the host paths ``container`` mounts: a runtime
    socket (read-only too) or a writable sensitive path, the node; a read-only mount of
    ``/var/lib/kubelet/pods`` or a directory above it, the tokens of the node's pods. Yields
    (target, action, technique, evidence)."""
    for mount in container.mounts:
        volume = volumes.get(mount.volume)
        if volume is None:
            continue
        path = normalize(volume.path)
        socket = _runtime_socket(path)
        found = evidence(obj, volume.spot, mount.spot)
        if socket is not None:
            action = f"reaches the runtime socket {socket}: deploys a privileged container"
            yield NODE, action, DEPLOY, found
        elif not mount.read_only and (hit := _sensitive(path)) is not None:
            shown = path if hit == path else f"{path} ({hit})"
            how = f": {_HOW[hit]}" if hit in _HOW else ""
            yield NODE, f"writes host path {shown}{how}", ESCAPE, found
        elif mount.read_only and reaches(path, KUBELET_PODS, False):
            action = f"reads host path {path} (read-only): the tokens of the node's pods"
            yield NODE_TOKENS, action, CREDENTIALS, found


def _runtime_socket(path: str) -> str | None:
    for socket in RUNTIME_SOCKETS:
        for spelled in (socket, "/var" + socket):
            if reaches(path, spelled, False):
                return spelled
    return None


def _sensitive(path: str) -> str | None:
    for sensitive in SENSITIVE:
        if reaches(path, sensitive, False):
            return sensitive
    for sensitive in SENSITIVE_TREES:
        if reaches(path, sensitive, True):
            return sensitive
    return None


def host_network_steps(workload: Workload) -> Iterator[Step]:
    """A container of a pod in the node's network namespace (``hostNetwork``) reaches what
    listens on the node's loopback and addresses, which the pod network does not: the
    kubelet's API (10250) and read-only port (10255, where enabled), the control plane's and
    etcd's ports on a control-plane node, other host-network pods' ports; NetworkPolicies do
    not apply to the host's network namespace. That is not the node: the kubelet and etcd
    authenticate their clients unless a cluster turns it off, which git does not show."""
    obj, pod = workload.obj, workload.pod
    if pod.host_network is None:
        return
    for container in pod.containers:
        source = container_node(obj, pod, container)
        action = "shares the node's network namespace (hostNetwork): its local services"
        yield _step(source, NODE_SERVICES, action, NETWORK, evidence(obj, pod.host_network))


def node_listeners(workload: Workload) -> Iterator[Step]:
    """The node's local services include the serving containers of host-network pods (any of
    them may run on the node) and the containers with a host port."""
    obj, pod = workload.obj, workload.pod
    for container in pod.containers:
        if container.role != "containers":
            continue
        if pod.host_network is not None and container.listens is not None:
            found = evidence(obj, pod.host_network, container.listens)
            action = "listens on the node's addresses (hostNetwork)"
        elif container.host_ports:
            found = evidence(obj, *(spot for _port, spot in container.host_ports))
            action = "listens on a host port"
        else:
            continue
        yield _step(NODE_SERVICES, container_node(obj, pod, container), action, NETWORK, found)


_DEFAULT_CAPABILITIES = frozenset(
    {
        *("CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID"),
        *("SETUID", "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL"),
        "AUDIT_WRITE",
    }
)
"""The capabilities containerd and Docker give a container by default (containerd
``pkg/oci/spec.go`` ``defaultUnixCaps``, moby ``oci/caps/defaults.go``)."""
_EVERY_CAPABILITY = _DEFAULT_CAPABILITIES | {
    *("DAC_READ_SEARCH", "LINUX_IMMUTABLE", "NET_BROADCAST", "NET_ADMIN", "IPC_LOCK"),
    *("IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN"),
    *("SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "LEASE"),
    *("AUDIT_CONTROL", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND"),
    *("AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE"),
}
"""Every Linux capability (capabilities(7), up to CAP_CHECKPOINT_RESTORE)."""


def held_capabilities(container: ContainerFacts) -> frozenset[str]:
    """The capabilities a root process of the container holds, in the runtimes' order (see
    ``capability``), with containerd's defaults."""
    if container.privileged is not None:
        return _EVERY_CAPABILITY
    added = {normalize_capability(item) for item, _spot in container.added}
    dropped = {normalize_capability(item) for item in container.dropped}
    held = set(_EVERY_CAPABILITY if "ALL" in added else _DEFAULT_CAPABILITIES)
    if "ALL" in dropped:
        held.clear()
    return frozenset((held | added) - dropped - {"ALL"})


def reads_sibling(reader: ContainerFacts, sibling: ContainerFacts) -> tuple[Spot, ...] | None:
    """Where ``reader`` gains what passes the kernel's ptrace read check on ``sibling``'s
    processes in a shared process namespace (``/proc/<pid>/root``, ``/proc/<pid>/environ``;
    ptrace(2) "Ptrace access mode checking", ``security/commoncap.c``
    ``cap_ptrace_access_check``), None when it fails: CAP_SYS_PTRACE (privileged, or added to
    a container that may act as root), or the same user and group (an unwritten
    ``runAsUser`` is the image's, taken to be root; an unwritten group may be the sibling's)
    with, for root, the sibling's capabilities among the reader's, or root holding CAP_SETUID
    and CAP_SETGID (the runtime's defaults) before a sibling written to run as another user
    (it switches to that user; ``()``: nothing to point at beyond the pod's field)."""
    if reader.privileged is not None:
        return (reader.privileged,)
    ptrace = None if reader.never_root else capability(reader, "SYS_PTRACE")
    if ptrace is not None:
        return (ptrace,)
    user = reader.user or 0
    if user == 0 and sibling.user and {"SETUID", "SETGID"} <= held_capabilities(reader):
        return ()  # root becomes the sibling's user, whose processes hold no capability
    if user != (sibling.user or 0):
        return None
    if None not in (reader.group, sibling.group) and reader.group != sibling.group:
        return None
    if user == 0 and not held_capabilities(sibling) <= held_capabilities(reader):
        return None
    return ()


def shared_process_steps(
    workload: Workload, account: Node | None, holders: set[str]
) -> Iterator[Step]:
    """With ``shareProcessNamespace``, a container that passes ``reads_sibling`` reads a
    sibling's files and environment through ``/proc/<pid>/root`` and ``/proc/<pid>/environ``:
    the sibling's token (``holders``: the containers that hold the pod's ``account``'s), its
    Secrets, and, as a process that may act as root, its host mounts. Not the sibling's own
    privileges (capabilities, privileged): those stay with its processes. Only long-running
    containers are read (an init container has exited before the others start)."""
    obj, pod = workload.obj, workload.pod
    if pod.share_process_namespace is None:
        return
    running = [c for c in pod.containers if c.role == "containers"]
    volumes = {volume.name: volume for volume in pod.host_volumes}
    secrets = _secret_volumes(pod)
    for reader in running:
        source = container_node(obj, pod, reader)
        reader_key = source.key
        for sibling in running:
            if sibling is reader:
                continue
            check = reads_sibling(reader, sibling)
            if check is None:
                continue
            shared = evidence(obj, pod.share_process_namespace, *check)
            via = (
                f"through container '{sibling.name}''s /proc/<pid>/root (shared process namespace)"
            )
            sibling_key = container_node(obj, pod, sibling).key
            if account is not None and sibling_key in holders and reader_key not in holders:
                found = shared + evidence(obj, sibling.spot)
                yield _step(source, account, f"reads its token {via}", TOKEN, found)
            for target, where, spot in _secrets_of(obj, sibling, secrets):
                yield _step(source, target, f"reads it {via} ({where})", CREDENTIALS, shared + spot)
            if reader.never_root and reader.privileged is None:
                continue
            for target, action, how, found in host_mounts(obj, sibling, volumes):
                yield _step(source, target, f"{action}, {via}", how, shared + found)


# Container to identity and secrets ------------------------------------------------------


def token_mounted(
    workload: Workload, account: ThreatFacts | None
) -> Iterator[tuple[ContainerFacts, tuple[Evidence, ...]]]:
    """The containers that hold the pod's service account token: every container when the
    token is automounted (the pod's ``automountServiceAccountToken`` overrides the
    ServiceAccount's; unset in both, it is mounted: the ServiceAccount admission plugin's
    ``shouldAutomount``), and those mounting a projected ``serviceAccountToken`` volume."""
    obj, pod = workload.obj, workload.pod
    automount: bool | None = pod.automount
    found = evidence(obj, pod.automount_spot, pod.service_account_spot)
    if automount is None and account is not None:
        detail = account.detail
        assert isinstance(detail, ServiceAccountFacts)
        automount = detail.automount
        found = evidence(obj, pod.service_account_spot) + evidence(account, detail.automount_spot)
    tokens = {name: spot for name, spot in pod.token_volumes}
    for container in pod.containers:
        if container.role == "ephemeralContainers":
            continue  # added later through their own subresource: not in git
        if automount is not False:
            yield container, found or evidence(obj, container.spot)
            continue
        for mount in container.mounts:
            if mount.volume in tokens:
                yield container, evidence(obj, tokens[mount.volume], mount.spot)
                break


def unplaced_token_steps(
    workload: Workload, rbac: Rbac, accounts: dict[tuple[str, str], ThreatFacts]
) -> Iterator[tuple[str, Step]]:
    """A workload written without a namespace runs in whichever one it is applied to
    (``kubectl apply -n``, a Helm release, kustomize's ``namespace:``): where a binding names
    its service account in another namespace, its containers may hold that account's token,
    the most dangerous reading of the manifests. Yields (that namespace, the step)."""
    obj, pod = workload.obj, workload.pod
    name = pod.service_account
    for namespace, binding, subject in rbac.account_namespaces(name):
        if namespace == obj.effective_namespace:
            continue
        account = account_node(namespace, name)
        action = (
            f"holds its token when applied to namespace '{namespace}' (no namespace written; "
            f"{binding.kind} '{binding.name}' names the account there)"
        )
        for container, found in token_mounted(workload, accounts.get((namespace, name))):
            source = container_node(obj, pod, container)
            yield (
                namespace,
                _step(source, account, action, TOKEN, found + evidence(binding, subject)),
            )


def secret_steps(workload: Workload) -> Iterator[Step]:
    """A container reads the Secrets in its environment and the Secret volumes it mounts."""
    obj, pod = workload.obj, workload.pod
    volumes = _secret_volumes(pod)
    for container in pod.containers:
        source = container_node(obj, pod, container)
        for target, where, found in _secrets_of(obj, container, volumes):
            yield _step(source, target, f"reads it in {where}", CREDENTIALS, found)


def _secret_volumes(pod: PodThreatFacts) -> dict[str, list[tuple[str, Spot]]]:
    volumes: dict[str, list[tuple[str, Spot]]] = defaultdict(list)
    for volume, secret, spot in pod.secret_volumes:
        volumes[volume].append((secret, spot))
    return volumes


def _secrets_of(
    obj: ThreatFacts, container: ContainerFacts, volumes: dict[str, list[tuple[str, Spot]]]
) -> Iterator[tuple[Node, str, tuple[Evidence, ...]]]:
    """The Secrets a container holds: (the Secret, where: ``its environment`` or ``a mounted
    volume``, evidence)."""
    namespace = obj.effective_namespace
    for secret, spot in container.secret_env:
        yield secret_node(namespace, secret), "its environment", evidence(obj, spot)
    for mount in container.mounts:
        for secret, spot in volumes.get(mount.volume, []):
            yield (
                secret_node(namespace, secret),
                "a mounted volume",
                evidence(obj, spot, mount.spot),
            )


# Identity to power ----------------------------------------------------------------------


def powers(
    rules: list[RuleOutline], scope: str | None, role_kind: str = "ClusterRole"
) -> Iterator[tuple[str, list[int]]]:
    """The powers a set of rules grants in a scope (None: every namespace, through a
    ClusterRoleBinding), each with the rules that grant it; ``role_kind`` is the kind of the
    role the binding names."""

    def granting(*requests: tuple[str, str, str, str]) -> list[int]:
        return [
            index
            for index, rule in enumerate(rules)
            if any(allows(rule, *request) for request in requests)
        ]

    everything = granting(("*", "*", "*", ""))
    if everything and scope is None:
        yield "cluster-admin", everything
        return  # every other power is part of it
    read = granting(*((verb, "", "secrets", "") for verb in ("get", "list", "watch")))
    if read:
        yield "read-secrets", read
    create = granting(
        *((verb, group, resource, "") for group, resource in _WORKLOADS for verb in ("create",)),
        *(("patch", group, resource, "") for group, resource in _WORKLOADS[1:]),
        *(("update", group, resource, "") for group, resource in _WORKLOADS[1:]),
    )
    if create:
        yield "create-pods", create
    exec_ = granting(("create", "", "pods", "exec"), ("create", "", "pods", "attach"))
    if exec_:
        yield "exec", exec_
    tokens = granting(("create", "", "serviceaccounts", "token"))
    if tokens:
        yield "create-tokens", tokens
    impersonate = granting(("impersonate", "", "serviceaccounts", ""))
    if impersonate:
        yield "impersonate-accounts", impersonate
    # Creating a binding needs ``bind`` on the role it names, in the binding's namespace
    # (``pkg/registry/rbac/escalation_check.go`` ``BindingAuthorized``: resource
    # ``clusterroles`` for a ClusterRole, ``roles`` for a Role); ``cluster-admin`` is always a
    # ClusterRole, so ``bind`` on ``roles`` alone binds only Roles that already exist.
    # Writing a role with rules one does not hold needs ``escalate`` on it
    # (``EscalationAllowed``); it pays only when the subject is bound to the role it writes.
    bind = granting(("bind", "rbac.authorization.k8s.io", "clusterroles", ""))
    namespaced = granting(("create", "rbac.authorization.k8s.io", "rolebindings", ""))
    cluster_wide = granting(("create", "rbac.authorization.k8s.io", "clusterrolebindings", ""))
    kind = "clusterroles" if scope is None else "roles"
    escalate = granting(("escalate", "rbac.authorization.k8s.io", kind, ""))
    role_writes = granting(
        ("update", "rbac.authorization.k8s.io", kind, ""),
        ("patch", "rbac.authorization.k8s.io", kind, ""),
    )
    via: set[int] = set()
    if bind and (cluster_wide if scope is None else namespaced):
        via.update(bind + (cluster_wide if scope is None else namespaced))
    if escalate and role_writes and (scope is None or role_kind == "Role"):
        # a namespaced grant writes its own Role; a cluster-wide one its own ClusterRole
        via.update(escalate + role_writes)
    if via:
        yield "bind-roles", sorted(via)
    elif scope is None and bind and namespaced:
        yield "bind-namespaces", sorted(set(bind + namespaced))
    if scope is None:
        yield from _cluster_powers(rules, granting)
        users = granting(("impersonate", "", "users", ""), ("impersonate", "", "groups", ""))
        if users:
            yield "impersonate-users", users
        proxy = granting(("create", "", "nodes", "proxy"), ("get", "", "nodes", "proxy"))
        if proxy:
            yield "node-proxy", proxy


_CSR = "certificates.k8s.io"
_CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client"
_WEBHOOKS = "admissionregistration.k8s.io"


def _cluster_powers(
    rules: list[RuleOutline], granting: Callable[..., list[int]]
) -> Iterator[tuple[str, list[int]]]:
    """The powers over cluster-scoped objects (a ClusterRoleBinding's only).

    A client certificate from the ``kubernetes.io/kube-apiserver-client`` signer takes
    creating a CertificateSigningRequest, approving it (``update`` on
    ``certificatesigningrequests/approval`` and ``approve`` on ``signers`` for that signer or
    ``kubernetes.io/*``: ``plugin/pkg/admission/certificates`` ``IsAuthorizedForSignerName``,
    which checks the name, so a rule naming the signer counts) and reading it back once
    signed. Registering an admission webhook takes ``create``, ``update`` or ``patch`` on its
    configurations."""
    create = granting(("create", _CSR, "certificatesigningrequests", ""))
    approve = granting(("update", _CSR, "certificatesigningrequests", "approval"))
    signer = [
        index
        for index, rule in enumerate(rules)
        if any(
            allows(rule, "approve", _CSR, "signers", name=name)
            for name in (_CLIENT_SIGNER, "kubernetes.io/*")
        )
    ]
    read = granting(*((verb, _CSR, "certificatesigningrequests", "") for verb in _READ_VERBS))
    if create and approve and signer and read:
        yield "approve-certificates", sorted(set(create + approve + signer + read))
    for kind in ("mutating", "validating"):
        resource = f"{kind}webhookconfigurations"
        writes = granting(*((verb, _WEBHOOKS, resource, "") for verb in _WRITE_VERBS))
        if writes:
            yield f"{kind}-webhooks", writes


_READ_VERBS = ("get", "list", "watch")
_WRITE_VERBS = ("create", "update", "patch")


def grant_steps(account: Node, grant: Grant) -> Iterator[Step]:
    """The powers one binding gives a service account."""
    rules = [rule for rule, _role, _spot in grant.rules]
    binding = grant.binding
    detail = binding.detail
    role_kind = detail.outline.role_kind if isinstance(detail, BindingFacts) else "ClusterRole"
    for power, indexes in powers(rules, grant.scope, role_kind):
        found = evidence(binding, grant.subject, getattr(detail, "role_spot", None))
        for index in indexes:
            _rule, role, spot = grant.rules[index]
            if role is not None:
                found += evidence(role, spot)
        builtin = "" if any(grant.rules[i][1] for i in indexes) else " (built-in)"
        action = f"is granted it by {binding.display} (role '{grant.role_name}'{builtin})"
        yield _step(account, power_node(power, grant.scope), action, ACCOUNT, found)


def power_steps(
    power: Node,
    accounts: dict[str, list[Node]],
    namespaces: dict[str, ThreatFacts],
    containers: dict[str, list[Node]],
) -> Iterator[Step]:
    """What each power reaches."""
    _, what, where = power.key.split(":", 2)
    scope = None if where == "*" else where
    if what == "read-secrets":
        yield _step(power, secrets_node(scope), "reads them through the API", API_SECRETS, ())
    elif what in ("create-pods", "impersonate-accounts", "create-tokens"):
        verb = {
            "create-pods": "runs a pod as it",
            "impersonate-accounts": "impersonates it",
            "create-tokens": "creates a token for it",
        }[what]
        how = DEPLOY if what == "create-pods" else IMPERSONATE
        for account in accounts.get(where, []) if scope else _every(accounts):
            yield _step(power, account, verb, how, ())
        if what == "create-pods":
            yield from _privileged_pod(power, scope, namespaces)
    elif what == "exec":
        target = pods_node(scope)
        yield _step(power, target, "runs commands in them (pods/exec)", EXEC, ())
        for container in containers.get(where, []) if scope else _every(containers):
            yield _step(target, container, "is one of them", EXEC, ())
    elif what in ("cluster-admin", "impersonate-users") or (what == "bind-roles" and not scope):
        action = {
            "cluster-admin": "holds every verb on every resource",
            "impersonate-users": "impersonates the group system:masters",
            "bind-roles": "binds itself cluster-admin, or writes its own ClusterRole",
        }[what]
        yield _step(power, CLUSTER, action, ROLES, ())
    elif what in ("bind-roles", "bind-namespaces"):
        # bind-roles in a namespace, or bind-namespaces in every namespace: a RoleBinding to
        # cluster-admin holds everything in its namespace
        action = "binds itself cluster-admin in the namespace, or writes its own Role"
        if what == "bind-namespaces":
            action = "binds itself cluster-admin in each namespace (RoleBindings)"
        for power_name in ("read-secrets", "create-pods", "exec"):
            target = power_node(power_name, scope)
            yield _step(power, target, action, ROLES, ())
    elif what == "node-proxy":
        yield _step(power, NODE, "runs commands in any pod through the kubelet", EXEC, ())
    elif what == "approve-certificates":
        # the CertificateSubjectRestriction admission plugin (on by default) refuses this
        # signer the group system:masters, but not the user system:kube-controller-manager,
        # whose built-in ClusterRole lists and watches every resource and creates service
        # account tokens (bootstrappolicy/policy.go, "system:kube-controller-manager")
        action = "signs itself a client certificate as the user system:kube-controller-manager"
        for power_name in ("read-secrets", "create-tokens"):
            yield _step(power, power_node(power_name, None), action, CERTIFICATE, ())
    elif what == "mutating-webhooks":
        action = "rewrites every pod the cluster admits (its account, privileged)"
        yield _step(power, power_node("create-pods", None), action, DEPLOY, ())
        action = "receives every Secret written through its webhook"
        yield _step(power, secrets_node(None), action, API_SECRETS, ())
    elif what == "validating-webhooks":
        action = "receives every Secret written through its webhook"
        yield _step(power, secrets_node(None), action, API_SECRETS, ())


def _every(nodes: dict[str, list[Node]]) -> Iterator[Node]:
    for listed in nodes.values():
        yield from listed


def _privileged_pod(
    power: Node, scope: str | None, namespaces: dict[str, ThreatFacts]
) -> Iterator[Step]:
    """Creating pods reaches the node where the namespace's Pod Security ``enforce`` level admits
    a privileged pod: unset or ``privileged`` (``baseline`` and ``restricted`` refuse privileged
    containers, host namespaces and hostPath volumes). With the power in every namespace, some
    namespace is taken to admit it (``kube-system`` is exempt from Pod Security on most
    clusters)."""
    if scope is None:
        yield _step(power, NODE, "runs a privileged pod in a namespace that admits it", ESCAPE, ())
        return
    namespace = namespaces.get(scope)
    level: str | None = None
    found: tuple[Evidence, ...] = ()
    if namespace is not None:
        detail = namespace.detail
        assert isinstance(detail, NamespaceFacts)
        level = detail.enforce
        found = evidence(namespace, detail.enforce_spot or namespace.spot)
    if level in _PRIVILEGED_LEVELS:
        how = f"enforces {level!r}" if level else "enforces no Pod Security level"
        action = f"runs a privileged pod (namespace '{scope}' {how})"
        yield _step(power, NODE, action, ESCAPE, found)


# Lateral movement -----------------------------------------------------------------------


def isolation(workload: Workload, policies: list[ThreatFacts]) -> tuple[bool, bool]:
    """Whether some NetworkPolicy of the pod's namespace isolates its ingress, its egress."""
    labels = workload.pod.label_map
    ingress = egress = False
    for policy in policies:
        detail = policy.detail
        assert isinstance(detail, PolicyFacts)
        outline = detail.outline
        if outline.selects(labels):
            ingress = ingress or "Ingress" in outline.policy_types
            egress = egress or "Egress" in outline.policy_types
    return ingress, egress


def lateral_steps(
    workload: Workload, policies: list[ThreatFacts], served: bool = False
) -> Iterator[Step]:
    """A container whose pod no policy isolates for egress, or whose pod is in the node's
    network namespace (policies do not apply there), reaches the pod network; the pod
    network reaches the serving containers (a declared ``containerPort``, or any container of
    a pod a Service selects: ``served``) of every pod no policy isolates for ingress. Pods
    isolated in a direction are left out of it entirely (their allowed peers are not resolved
    yet), so no step is made up."""
    ingress, egress = isolation(workload, policies)
    obj, pod = workload.obj, workload.pod
    for container in pod.containers:
        if container.role != "containers":
            continue
        node = container_node(obj, pod, container)
        found = evidence(obj, container.spot)
        if pod.host_network is not None:
            # NetworkPolicies do not apply to the host's network namespace
            action = "connects to other pods from the node's network namespace (hostNetwork)"
            yield _step(node, POD_NETWORK, action, NETWORK, evidence(obj, pod.host_network))
        elif not egress:
            action = "connects to other pods (no policy isolates its egress)"
            yield _step(node, POD_NETWORK, action, NETWORK, found)
        if not ingress and (served or container.listens is not None):
            yield _step(
                POD_NETWORK,
                node,
                "accepts connections from any pod (no policy isolates its ingress)",
                NETWORK,
                evidence(obj, container.listens) if container.listens else found,
            )


# The graph ------------------------------------------------------------------------------

_REFERENCE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:@")
"""The characters of an image reference (domain, path, tag, digest: the distribution
``reference`` grammar); an image with any other (``<image_url>``, a template's ``{{ }}``, a
space) is refused by the kubelet (``InvalidImageName``) and never starts."""


def started(pod: PodThreatFacts) -> PodThreatFacts | None:
    """The pod as it runs: without the containers whose image is no reference, or None when
    an init container's is not (the containers after it never start)."""
    kept = []
    for container in pod.containers:
        if container.image is not None and not _REFERENCE.issuperset(container.image):
            if container.role == "initContainers":
                return None
            continue
        kept.append(container)
    return pod if len(kept) == len(pod.containers) else replace(pod, containers=tuple(kept))


def build(
    objects: Iterable[ThreatFacts],
    lateral: bool = True,
    trusted_registries: tuple[str, ...] = (),
) -> Graph:
    """The attack graph of a scan's records (``trusted_registries``: see ``image_entries``)."""
    objects = list(objects)
    workloads: dict[str, list[Workload]] = defaultdict(list)
    services: dict[str, list[ThreatFacts]] = defaultdict(list)
    ingresses: list[ThreatFacts] = []
    accounts: dict[tuple[str, str], ThreatFacts] = {}
    namespaces: dict[str, ThreatFacts] = {}
    policies: dict[str, list[ThreatFacts]] = defaultdict(list)
    for obj in objects:
        detail = obj.detail
        namespace = obj.effective_namespace
        if isinstance(detail, tuple):
            runnable = (started(pod) for pod in detail)
            workloads[namespace] += [Workload(obj, pod) for pod in runnable if pod is not None]
        elif isinstance(detail, ServiceFacts):
            services[namespace].append(obj)
        elif isinstance(detail, IngressFacts):
            ingresses.append(obj)
        elif isinstance(detail, ServiceAccountFacts):
            accounts[(namespace, obj.name)] = obj
        elif isinstance(detail, NamespaceFacts):
            namespaces[obj.name] = obj
        elif isinstance(detail, PolicyFacts):
            policies[namespace].append(obj)
    graph = Graph()
    listeners: list[Step] = []
    on_nodes: dict[str, tuple[Node, tuple[Evidence, ...]]] = {}
    """Account key -> the account and where one of its pods mounts its token."""
    for step in service_entries(services, ingresses, workloads):
        graph.add(step)
    rbac = Rbac(objects)
    selected = {
        id(workload)
        for namespace, listed in services.items()
        for service in listed
        for workload, _spots in exposed_by_service(service, workloads.get(namespace, []))
    }
    account_nodes: dict[str, dict[str, Node]] = defaultdict(dict)
    container_nodes: dict[str, dict[str, Node]] = defaultdict(dict)
    for namespace, listed in workloads.items():
        for workload in listed:
            for container in workload.pod.containers:
                node = container_node(workload.obj, workload.pod, container)
                container_nodes[namespace][node.key] = node
            makers = (host_port_entries, escapes, secret_steps, host_network_steps)
            for maker in makers:
                for step in maker(workload):
                    graph.add(step)
            for step in image_entries(workload, trusted_registries):
                graph.add(step)
            if lateral:
                listeners.extend(node_listeners(workload))
            if lateral:
                served = id(workload) in selected
                for step in lateral_steps(workload, policies.get(namespace, []), served):
                    graph.add(step)
            name = workload.pod.service_account
            account = account_node(namespace, name)
            account_nodes[namespace][name] = account
            holders: set[str] = set()
            for container, found in token_mounted(workload, accounts.get((namespace, name))):
                source = container_node(workload.obj, workload.pod, container)
                holders.add(source.key)
                graph.add(_step(source, account, "holds its token (mounted)", TOKEN, found))
                on_nodes.setdefault(account.key, (account, found))
            for step in shared_process_steps(workload, account, holders):
                graph.add(step)
            if workload.obj.namespace is None and not workload.obj.cluster_scoped:
                for elsewhere, step in unplaced_token_steps(workload, rbac, accounts):
                    account_nodes[elsewhere][name] = step.target
                    graph.add(step)
                    on_nodes.setdefault(step.target.key, (step.target, step.evidence))
    for namespace, name in accounts:
        account_nodes[namespace].setdefault(name, account_node(namespace, name))
    for namespace, by_name in account_nodes.items():
        for name, node in by_name.items():
            for grant in rbac.grants(namespace, name):
                for step in grant_steps(node, grant):
                    graph.add(step)
    every_account = {ns: list(by_name.values()) for ns, by_name in account_nodes.items()}
    every_container = {ns: list(by_key.values()) for ns, by_key in container_nodes.items()}
    pending = [node for node in graph.nodes.values() if node.kind == "power"]
    done = {node.key for node in pending}
    while pending:  # a power may lead to powers (binding a namespace's admin role)
        power = pending.pop()
        for step in power_steps(power, every_account, namespaces, every_container):
            graph.add(step)
            if step.target.kind == "power" and step.target.key not in done:
                done.add(step.target.key)
                pending.append(step.target)
    for step in node_steps(graph, listeners, on_nodes):
        graph.add(step)
    return graph


def node_steps(
    graph: Graph,
    listeners: list[Step],
    on_nodes: dict[str, tuple[Node, tuple[Evidence, ...]]],
) -> Iterator[Step]:
    """What is on a node, made where the graph reaches it: its local services reach the
    host-network and host-port listeners (``listeners``), and the node holds the token of every
    pod it runs (``/var/lib/kubelet/pods``). kscan cannot know placement, so any pod may run on
    any node: the node reaches the token of every account whose pods mount one (``on_nodes``,
    with where a pod mounts it)."""
    if NODE_SERVICES.key in graph.nodes:
        yield from listeners
    if NODE.key in graph.nodes:
        action = (
            f"reads every pod's volumes in {KUBELET_PODS} (or through the kubelet's credentials)"
        )
        yield _step(NODE, NODE_TOKENS, action, CREDENTIALS, ())
    if NODE.key in graph.nodes or NODE_TOKENS.key in graph.nodes:
        for account, found in on_nodes.values():
            action = "holds its token (a pod of the account may run on the node)"
            yield _step(NODE_TOKENS, account, action, TOKEN, found)
