"""The steps on and around a node, each present and absent when its precondition is missing:
a host-network container to the node's local services (and on to the listeners there), a
container to its siblings' files in a shared process namespace, and a node to the tokens of
every pod it may run; asserted hop by hop, with the facts they rest on cited per test."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_threats import model, pod, steps

from kscan.threats.analysis import ThreatModel
from kscan.threats.paths import AttackPath, Step

IMAGE = "i@sha256:0"


def hops(path: AttackPath) -> list[tuple[str, str]]:
    """(source, target) of each step, container keys without their ``@file:line``."""
    return [(step.source.key.split("@")[0], step.target.key.split("@")[0]) for step in path.steps]


def leaving(found: ThreatModel, container: str) -> list[Step]:
    """The steps leaving the container named ``container`` (of any pod)."""
    return [
        step
        for step in found.graph.steps()
        if step.source.kind == "container" and step.source.label.split("'")[1] == container
    ]


def named(text: str, name: str) -> str:
    return text.replace("name: p,", f"name: {name},").replace("app: p", f"app: {name}")


# hostNetwork ------------------------------------------------------------------------------

DAEMON = named(
    pod(
        "hostNetwork: true\n"
        f"containers: [{{name: agent, image: {IMAGE}, ports: [{{containerPort: 9100}}], "
        "securityContext: {privileged: true}}]",
        namespace="ops",
    ),
    "agent",
)


def test_host_network_reaches_the_node_services_not_the_node(tmp_path: Path) -> None:
    """A container in the node's network namespace reaches what listens on the node's
    loopback and addresses: the kubelet (10250, authenticated unless its configuration turns
    anonymous access on: the KubeletConfiguration's ``authentication.anonymous.enabled``
    defaults to false since v1beta1), the read-only port where enabled. That is not root on
    the node, so no step to the node is made."""
    found = model(tmp_path, pod(f"hostNetwork: true\ncontainers: [{{name: c, image: {IMAGE}}}]"))
    (step,) = [s for s in leaving(found, "c") if s.target.key == "node-services"]
    assert [(e.line, e.field) for e in step.evidence] == [(5, "/spec/hostNetwork")]
    assert ("container", "node") not in steps(found.graph)
    assert [(hops(p), p.impact) for p in found.paths] == [
        ([("container:app/Pod/p/c", "node-services")], 30)
    ]
    closed = model(tmp_path, pod(f"containers: [{{name: c, image: {IMAGE}}}]"))
    assert "node-services" not in closed.graph.nodes


def test_node_services_lead_to_host_network_listeners(tmp_path: Path) -> None:
    """Any pod may run on any node, so a host-network container reaches the listeners of the
    other host-network pods (a privileged node agent here) through the node's addresses,
    whatever NetworkPolicies say: they do not apply to the host's network namespace (OKD,
    "About network policy": "Pods with host networking enabled are unaffected by network
    policy rules"). A pod on the pod network that listens is not reached this way."""
    web = pod(
        f"hostNetwork: true\ncontainers: [{{name: c, image: {IMAGE}}}]",
    )
    plain = named(
        pod(f"containers: [{{name: s, image: {IMAGE}, ports: [{{containerPort: 80}}]}}]"), "s"
    )
    policy = (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        "metadata: {name: deny, namespace: ops}\n"
        "spec: {podSelector: {}, policyTypes: [Ingress, Egress]}\n"
    )
    found = model(tmp_path, f"{web}---\n{DAEMON}---\n{plain}---\n{policy}")
    (through,) = [
        p
        for p in found.paths
        if p.start.key.startswith("container:app/Pod/p/") and p.end.key == "node"
    ]
    assert hops(through) == [
        ("container:app/Pod/p/c", "node-services"),
        ("node-services", "container:ops/Pod/agent/agent"),
        ("container:ops/Pod/agent/agent", "node"),
    ]
    assert [e.field for e in through.steps[1].evidence] == [
        "/spec/hostNetwork",
        "/spec/containers/0/ports/0",
    ]
    listened = {s.target.key.split("@")[0] for s in found.graph.out["node-services"]}
    assert listened == {"container:ops/Pod/agent/agent"}


def test_no_lateral_leaves_the_node_listeners_out(tmp_path: Path) -> None:
    web = pod(f"hostNetwork: true\ncontainers: [{{name: c, image: {IMAGE}}}]")
    found = model(tmp_path, f"{web}---\n{DAEMON}", lateral=False)
    assert "node-services" in found.graph.nodes
    assert not found.graph.out.get("node-services")


@pytest.mark.parametrize("host_network", [True, False])
def test_host_network_egress_escapes_policies(tmp_path: Path, host_network: bool) -> None:
    """An egress-isolating policy keeps a pod off the pod network; a host-network pod's
    traffic leaves from the node's namespace, where policies do not apply."""
    spec = f"containers: [{{name: c, image: {IMAGE}}}]"
    policy = (
        "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        "metadata: {name: deny, namespace: app}\n"
        "spec: {podSelector: {}, policyTypes: [Egress]}\n"
    )
    text = pod(("hostNetwork: true\n" if host_network else "") + spec) + policy
    found = model(tmp_path, text)
    assert (("container", "pod-network") in steps(found.graph)) is host_network


# Shared process namespace -----------------------------------------------------------------

SIBLINGS = """\
shareProcessNamespace: {shared}
automountServiceAccountToken: false
volumes:
- {{name: t, projected: {{sources: [{{serviceAccountToken: {{path: token}}}}]}}}}
- {{name: etc, hostPath: {{path: /etc}}}}
containers:
- {{name: reader, image: {image}, securityContext: {{{reader}}}}}
- name: holder
  image: {image}
  securityContext: {{{holder}}}
  env: [{{name: P, valueFrom: {{secretKeyRef: {{name: db, key: pw}}}}}}]
  volumeMounts: [{{name: t, mountPath: /t}}, {{name: etc, mountPath: /host-etc}}]
"""


def siblings(tmp_path: Path, shared: str = "true", reader: str = "", holder: str = "") -> dict:
    """The targets the reader reaches, each with the actions that reach it."""
    spec = SIBLINGS.format(shared=shared, reader=reader, holder=holder, image=IMAGE)
    found = model(tmp_path, pod(spec))
    reached: dict[str, list[str]] = {}
    for step in leaving(found, "reader"):
        if step.target.key == "pod-network":
            continue  # its own step, not its sibling's
        reached.setdefault(step.target.key, []).append(step.action)
    return reached


def test_shared_process_namespace_reads_the_siblings_files(tmp_path: Path) -> None:
    """Both run as the image's user (taken to be root) with the runtime's default
    capabilities: the ptrace read check passes (ptrace(2), "Ptrace access mode checking":
    same user and group, and ``cap_ptrace_access_check``: the target's capabilities within
    the caller's), so the reader opens ``/proc/<pid>/root`` and ``/proc/<pid>/environ`` of the
    holder: its token, its Secret, and its writable /etc mount (as root)."""
    reached = siblings(tmp_path)
    assert set(reached) == {"sa:app/default", "secret:app/db", "node"}
    for actions in reached.values():
        assert all("container 'holder''s /proc/<pid>/root" in action for action in actions)
    assert reached["node"] == [
        "writes host path /etc, through container 'holder''s /proc/<pid>/root "
        "(shared process namespace)"
    ]
    assert siblings(tmp_path, shared="false") == {}


@pytest.mark.parametrize(
    ("reader", "holder", "reads"),
    [
        ("runAsUser: 1000", "runAsUser: 2000", False),  # another user
        # root switches to the sibling's user (CAP_SETUID, CAP_SETGID by default) ...
        ("", "runAsUser: 2000", True),
        ("capabilities: {drop: [SETUID]}", "runAsUser: 2000", False),  # ... unless dropped
        ("runAsUser: 1000, runAsGroup: 1", "runAsUser: 1000, runAsGroup: 2", False),
        ("runAsUser: 1000", "runAsUser: 1000", True),  # non-root: no capabilities compared
        # root, but the holder holds a capability the reader lacks: cap_ptrace_access_check
        ("", "capabilities: {add: [NET_ADMIN]}", False),
        ("capabilities: {drop: [ALL]}", "", False),
        ("capabilities: {drop: [ALL]}", "capabilities: {drop: [ALL]}", True),
        # CAP_SYS_PTRACE passes whatever the users
        ("capabilities: {add: [SYS_PTRACE]}", "runAsUser: 2000", True),
        ("privileged: true", "runAsUser: 2000, capabilities: {add: [NET_ADMIN]}", True),
    ],
)
def test_shared_process_namespace_needs_the_ptrace_read_check(
    tmp_path: Path, reader: str, holder: str, reads: bool
) -> None:
    assert ("secret:app/db" in siblings(tmp_path, reader=reader, holder=holder)) is reads


def test_a_never_root_reader_takes_no_host_mount(tmp_path: Path) -> None:
    """Same non-root user: the token and the Secret are readable (0644 files), the host /etc
    is root's and the reader never acts as root."""
    never_root = "runAsUser: 1000, runAsGroup: 1000, allowPrivilegeEscalation: false"
    reached = siblings(tmp_path, reader=never_root, holder="runAsUser: 1000, runAsGroup: 1000")
    assert set(reached) == {"sa:app/default", "secret:app/db"}


def test_shared_process_namespace_does_not_lend_privileges(tmp_path: Path) -> None:
    """A privileged sibling's processes keep their privileges: reading its files is not
    running as it."""
    spec = (
        "shareProcessNamespace: true\n"
        f"containers:\n- {{name: reader, image: {IMAGE}}}\n"
        f"- {{name: holder, image: {IMAGE}, securityContext: {{privileged: true}}}}"
    )
    found = model(tmp_path, pod(spec))
    assert not any(s.target.key == "node" for s in leaving(found, "reader"))


# A node reaches the tokens of every pod -----------------------------------------------------

ADMIN = """\
apiVersion: v1
kind: Pod
metadata: {{name: ctl, namespace: sys}}
spec:
  serviceAccountName: ctl
  automountServiceAccountToken: {automount}
  containers: [{{name: ctl, image: i@sha256:0}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: ctl}}
subjects: [{{kind: ServiceAccount, name: ctl, namespace: sys}}]
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}}
"""
PRIVILEGED = f"containers: [{{name: c, image: {IMAGE}, securityContext: {{privileged: true}}}}]"


def test_a_node_holds_the_token_of_every_pod_it_may_run(tmp_path: Path) -> None:
    """The kubelet writes each pod's projected token under /var/lib/kubelet/pods; kscan cannot
    know placement, so the node reaches every account whose pods mount a token: a privileged
    container takes the cluster through the cluster-admin controller's token."""
    found = model(tmp_path, pod(PRIVILEGED) + "---\n" + ADMIN.format(automount="true"))
    (first,) = [p for p in found.paths if p.start.key.startswith("container:app/Pod/p/c@")][:1]
    assert hops(first) == [
        ("container:app/Pod/p/c", "node"),
        ("node", "node-tokens"),
        ("node-tokens", "sa:sys/ctl"),
        ("sa:sys/ctl", "power:cluster-admin:*"),
        ("power:cluster-admin:*", "cluster"),
    ]
    held = {s.target.key: s for s in found.graph.out["node-tokens"]}
    assert set(held) == {"sa:app/default", "sa:sys/ctl"}  # the privileged pod's own too
    assert [e.field for e in held["sa:sys/ctl"].evidence] == [
        "/spec/automountServiceAccountToken",
        "/spec/serviceAccountName",
    ]
    unmounted = model(tmp_path, pod(PRIVILEGED) + "---\n" + ADMIN.format(automount="false"))
    assert [s.target.key for s in unmounted.graph.out["node-tokens"]] == ["sa:app/default"]
    assert {path.end.key for path in unmounted.paths} == {"node"}


def test_the_same_way_on_from_the_node_is_shown_once(tmp_path: Path) -> None:
    """Two privileged pods: one path shows the node's way on to the cluster, and each keeps
    its own path to the node."""
    other = named(pod(PRIVILEGED), "q")
    found = model(
        tmp_path, pod(PRIVILEGED) + "---\n" + other + "---\n" + ADMIN.format(automount="true")
    )
    ends = [(path.start.key.split("@")[0], path.end.key) for path in found.paths]
    assert ends.count(("container:app/Pod/p/c", "node")) == 1
    assert ends.count(("container:app/Pod/q/c", "node")) == 1
    through_node = [p for p in found.paths if "node" in [s.source.key for s in p.steps]]
    assert len(through_node) == 1 and through_node[0].end.key == "cluster"
    radius = {w.obj.name: w.impact for w in found.workloads}
    assert radius["p"] == radius["q"] == 100  # each workload's blast radius is the cluster


@pytest.mark.parametrize(
    ("path", "context", "reads"),
    [
        ("/var/lib/kubelet/pods", "", True),
        ("/var/lib/kubelet", "", True),
        ("/var/lib/kubelet/pods/one-pod", "", False),  # one pod's directory
        # /var/lib/kubelet/pods is root's (0750): a process that never acts as root reads none
        (
            "/var/lib/kubelet/pods",
            "runAsUser: 1000, runAsGroup: 1000, allowPrivilegeEscalation: false",
            False,
        ),
    ],
)
def test_read_only_kubelet_pods_mount_reads_the_tokens(
    tmp_path: Path, path: str, context: str, reads: bool
) -> None:
    spec = (
        f"volumes: [{{name: h, hostPath: {{path: {path}}}}}]\n"
        f"containers: [{{name: c, image: {IMAGE}, securityContext: {{{context}}}, "
        "volumeMounts: [{name: h, mountPath: /h, readOnly: true}]}]"
    )
    found = model(tmp_path, pod(spec) + "---\n" + ADMIN.format(automount="true"))
    assert (("container", "node-tokens") in steps(found.graph)) is reads
    assert ("container", "node") not in steps(found.graph)  # read-only: no write escape
    if reads:
        (path,) = [p for p in found.paths if p.start.key.startswith("container:app/")]
        assert hops(path)[:2] == [
            ("container:app/Pod/p/c", "node-tokens"),
            ("node-tokens", "sa:sys/ctl"),
        ]
