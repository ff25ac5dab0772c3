"""The attack graph's edges that test_threats.py leaves without a pair: each present, and absent
when its precondition is missing; and the RBAC and capability facts checked against the
Kubernetes, containerd and CRI-O sources (cited per test)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_threats import CREATE_PODS, model, pod, rbac, steps

from kscan.threats.graph import Graph

RBAC_GROUP = "rbac.authorization.k8s.io"


def keys(tmp_path: Path, text: str) -> set[tuple[str, str]]:
    return steps(model(tmp_path, text).graph)


def powers_of(tmp_path: Path, text: str) -> set[str]:
    return {key for kind, key in keys(tmp_path, text) if key.startswith("power:")}


# Entry points -----------------------------------------------------------------------------


def test_host_port_entry(tmp_path: Path) -> None:
    exposed = pod(
        "containers: [{name: c, image: i@sha256:0, ports: [{containerPort: 80, hostPort: 8080}]}]"
    )
    assert any(s.source.key == "node-network" for s in model(tmp_path, exposed).graph.steps())
    closed = pod("containers: [{name: c, image: i@sha256:0, ports: [{containerPort: 80}]}]")
    assert not any(s.source.key == "node-network" for s in model(tmp_path, closed).graph.steps())


INGRESS = """---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: in, namespace: app}}
spec:
  rules:
  - http:
      paths:
      - path: /
        pathType: Prefix
        backend: {{service: {{name: {backend}, port: {{number: 80}}}}}}
---
apiVersion: v1
kind: Service
metadata: {{name: s, namespace: app}}
spec: {{selector: {{app: p}}}}
"""


@pytest.mark.parametrize(("backend", "exposed"), [("s", True), ("missing", False)])
def test_ingress_entry_needs_its_service(tmp_path: Path, backend: str, exposed: bool) -> None:
    """An Ingress routes to the Service it names in its own namespace (a ClusterIP one too);
    naming a Service the scan does not hold reaches no pod."""
    text = pod("containers: [{name: c, image: i@sha256:0}]") + INGRESS.format(backend=backend)
    graph = model(tmp_path, text).graph
    assert any(s.source.key == "internet" for s in graph.steps()) is exposed


# Container to secrets ---------------------------------------------------------------------


def secrets_read(graph: Graph) -> set[tuple[str, str]]:
    """(container name, secret key) of every container-to-secret step."""
    return {
        (s.source.label.split("'")[1], s.target.key)
        for s in graph.steps()
        if s.source.kind == "container" and s.target.kind == "secret"
    }


def test_secret_in_environment(tmp_path: Path) -> None:
    text = pod(
        "containers:\n"
        "- {name: c, image: i@sha256:0, env: [{name: P, valueFrom: "
        "{secretKeyRef: {name: db, key: pw}}}]}\n"
        "- {name: d, image: i@sha256:0, envFrom: [{secretRef: {name: api}}]}\n"
        "- {name: e, image: i@sha256:0, env: [{name: Q, value: plain}]}"
    )
    graph = model(tmp_path, text).graph
    read = secrets_read(graph)
    assert ("c", "secret:app/db") in read and ("d", "secret:app/api") in read
    assert not any(name == "e" and key.startswith("secret:") for name, key in read)


def test_secret_volume_only_where_mounted(tmp_path: Path) -> None:
    text = pod(
        "volumes:\n"
        "- {name: s, secret: {secretName: tls}}\n"
        "- {name: p, projected: {sources: [{secret: {name: extra}}]}}\n"
        "containers:\n"
        "- {name: c, image: i@sha256:0, volumeMounts: [{name: s, mountPath: /s}]}\n"
        "- {name: d, image: i@sha256:0, volumeMounts: [{name: p, mountPath: /p}]}\n"
        "- {name: e, image: i@sha256:0}"
    )
    graph = model(tmp_path, text).graph
    read = secrets_read(graph)
    assert ("c", "secret:app/tls") in read and ("d", "secret:app/extra") in read
    assert ("c", "secret:app/extra") not in read
    assert not any(name == "e" and key.startswith("secret:") for name, key in read)


# Container to node: capabilities ----------------------------------------------------------


def caps(add: str, drop: str = "[]", host_pid: bool = False) -> str:
    prefix = "hostPID: true\n" if host_pid else ""
    return pod(
        f"{prefix}containers: [{{name: c, image: i@sha256:0, securityContext: "
        f"{{capabilities: {{add: {add}, drop: {drop}}}}}}}]"
    )


@pytest.mark.parametrize(
    ("add", "drop", "host_pid", "escapes"),
    [
        ("[ALL]", "[]", False, True),
        # ALL first, then the named drops: SYS_ADMIN and SYS_MODULE are gone
        ("[ALL]", "[SYS_ADMIN, SYS_MODULE]", False, False),
        ("[ALL]", "[SYS_ADMIN, SYS_MODULE]", True, True),  # SYS_PTRACE is still held
        ("[ALL]", "[SYS_ADMIN, SYS_MODULE, SYS_PTRACE]", True, False),
        # drop ALL comes after add ALL and takes everything
        ("[ALL]", "[ALL]", True, False),
        # ... but the named adds come after drop ALL
        ("[ALL, SYS_ADMIN]", "[ALL]", False, True),
    ],
)
def test_capabilities_in_runtime_order(
    tmp_path: Path, add: str, drop: str, host_pid: bool, escapes: bool
) -> None:
    """containerd ``internal/cri/opts/spec_linux_opts.go`` ``WithCapabilities`` and CRI-O's
    ``setupCapabilities`` apply ``add: [ALL]``, then ``drop: [ALL]``, then the named adds, then
    the named drops; a capability dropped by name is not held under ``add: [ALL]``."""
    graph = model(tmp_path, caps(add, drop, host_pid)).graph
    assert (("container", "node") in steps(graph)) is escapes


# Identity to power ------------------------------------------------------------------------


def test_exec_into_any_pod_of_the_namespace(tmp_path: Path) -> None:
    """``create pods/exec`` reaches every container of the namespace through 'any pod of
    namespace'; ``get pods/exec`` alone is left out (the power is read as ``create``), and so
    is a rule naming pods (it reaches only those pods)."""
    text = rbac('[{apiGroups: [""], resources: [pods/exec], verbs: [create]}]')
    found = keys(tmp_path, text)
    assert ("power", "pods:app") in found
    assert ("namespace", next(k for _s, k in found if k.startswith("container:"))) in found
    for rules in (
        '[{apiGroups: [""], resources: [pods/exec], verbs: [get]}]',
        '[{apiGroups: [""], resources: [pods], verbs: [create], resourceNames: [x]}]',
    ):
        assert not any(k == "pods:app" for _s, k in keys(tmp_path, rbac(rules)))


def test_impersonate_service_accounts(tmp_path: Path) -> None:
    text = rbac('[{apiGroups: [""], resources: [serviceaccounts], verbs: [impersonate]}]')
    found = keys(tmp_path, text)
    assert ("identity", "power:impersonate-accounts:app") in found
    assert ("power", "sa:app/sa") in found
    get_only = rbac('[{apiGroups: [""], resources: [serviceaccounts], verbs: [get, list]}]')
    assert powers_of(tmp_path, get_only) == set()


def test_impersonate_users_is_cluster_wide_only(tmp_path: Path) -> None:
    """Impersonating users or groups (``system:masters``) is the cluster; users and groups are
    not namespaced, so a RoleBinding's grant of it is left out."""
    rules = '[{apiGroups: [""], resources: [users, groups], verbs: [impersonate]}]'
    cluster = model(tmp_path, rbac(rules, "ClusterRoleBinding"))
    assert cluster.paths[0].end.key == "cluster"
    assert "power:impersonate-users:*" in powers_of(tmp_path, rbac(rules, "ClusterRoleBinding"))
    assert powers_of(tmp_path, rbac(rules)) == set()


@pytest.mark.parametrize(
    ("rules", "node"),
    [
        ('[{apiGroups: [""], resources: [nodes/proxy], verbs: [get]}]', True),
        ('[{apiGroups: [""], resources: [nodes/proxy], verbs: [create]}]', True),
        ('[{apiGroups: [""], resources: [nodes], verbs: [get, list]}]', False),
    ],
)
def test_nodes_proxy(tmp_path: Path, rules: str, node: bool) -> None:
    found = keys(tmp_path, rbac(rules, "ClusterRoleBinding"))
    assert (("power", "node") in found) is node
    assert (("identity", "power:node-proxy:*") in found) is node


def test_create_service_account_tokens(tmp_path: Path) -> None:
    text = rbac('[{apiGroups: [""], resources: [serviceaccounts/token], verbs: [create]}]')
    found = keys(tmp_path, text)
    assert ("identity", "power:create-tokens:app") in found
    assert ("power", "sa:app/sa") in found
    plain = rbac('[{apiGroups: [""], resources: [serviceaccounts], verbs: [create]}]')
    assert powers_of(tmp_path, plain) == set()


def test_built_in_edit_creates_tokens(tmp_path: Path) -> None:
    """``system:aggregate-to-edit`` grants ``create serviceaccounts/token``
    (``plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go``), so ``edit`` and
    ``admin`` do."""
    text = rbac(CREATE_PODS).replace("kind: Role, name: r", "kind: ClusterRole, name: edit")
    assert {
        "power:create-tokens:app",
        "power:read-secrets:app",
        "power:create-pods:app",
        "power:exec:app",
        "power:impersonate-accounts:app",
    } <= powers_of(tmp_path, text)


# Aggregated ClusterRoles ------------------------------------------------------------------

AGGREGATED = f"""
apiVersion: v1
kind: Pod
metadata: {{{{name: p, namespace: app}}}}
spec:
  serviceAccountName: sa
  containers: [{{{{name: c, image: i@sha256:0}}}}]
---
apiVersion: {RBAC_GROUP}/v1
kind: ClusterRole
metadata: {{{{name: parent}}}}
aggregationRule:
  clusterRoleSelectors: [{{{{matchLabels: {{{{example.com/aggregate: "true"}}}}}}}}]
rules: {{own}}
---
apiVersion: {RBAC_GROUP}/v1
kind: ClusterRole
metadata: {{{{name: child, labels: {{{{example.com/aggregate: "{{label}}"}}}}}}}}
rules: [{{{{apiGroups: [""], resources: [secrets], verbs: [get]}}}}]
---
apiVersion: {RBAC_GROUP}/v1
kind: RoleBinding
metadata: {{{{name: b, namespace: app}}}}
subjects: [{{{{kind: ServiceAccount, name: sa}}}}]
roleRef: {{{{apiGroup: {RBAC_GROUP}, kind: ClusterRole, name: parent}}}}
"""


@pytest.mark.parametrize(("label", "read"), [("true", True), ("false", False)])
def test_aggregation_follows_labels(tmp_path: Path, label: str, read: bool) -> None:
    text = AGGREGATED.format(own="[]", label=label)
    assert ("power:read-secrets:app" in powers_of(tmp_path, text)) is read


def test_aggregated_role_own_rules_are_overwritten(tmp_path: Path) -> None:
    """An aggregated ClusterRole's rules are the controller's: its own ``rules`` are stomped
    (``k8s.io/api/rbac/v1`` ``ClusterRole.AggregationRule``), so they grant nothing."""
    text = AGGREGATED.format(own=CREATE_PODS, label="true")
    assert powers_of(tmp_path, text) == {"power:read-secrets:app"}


# Bind and escalate ------------------------------------------------------------------------

BIND = f"{{apiGroups: [{RBAC_GROUP}], resources: [clusterroles], verbs: [bind]}}"
BIND_ROLES = f"{{apiGroups: [{RBAC_GROUP}], resources: [roles], verbs: [bind]}}"
ROLEBINDINGS = f"{{apiGroups: [{RBAC_GROUP}], resources: [rolebindings], verbs: [create]}}"
ESCALATE = f"{{apiGroups: [{RBAC_GROUP}], resources: [roles], verbs: [escalate, patch]}}"


def test_namespaced_bind_gives_the_namespace_only(tmp_path: Path) -> None:
    """``bind`` on clusterroles with ``create rolebindings`` in a RoleBinding's namespace binds
    cluster-admin there (``pkg/registry/rbac/escalation_check.go`` ``BindingAuthorized``
    checks ``bind`` in the binding's namespace): that namespace's powers, not the cluster."""
    graph = model(tmp_path, rbac(f"[{BIND}, {ROLEBINDINGS}]")).graph
    found = steps(graph)
    assert ("power", "power:read-secrets:app") in found
    assert ("power", "power:create-pods:app") in found
    assert not any(key == "cluster" for _kind, key in found)
    assert not any(key.endswith(":*") for _kind, key in found)


def test_bind_on_roles_alone_binds_no_cluster_role(tmp_path: Path) -> None:
    """``BindingAuthorized`` checks ``bind`` on ``clusterroles`` for a RoleBinding naming a
    ClusterRole such as cluster-admin; ``bind`` on ``roles`` covers only existing Roles."""
    assert powers_of(tmp_path, rbac(f"[{BIND_ROLES}, {ROLEBINDINGS}]")) == set()


def test_cluster_wide_bind_without_cluster_role_bindings(tmp_path: Path) -> None:
    """Through a ClusterRoleBinding, ``bind`` with ``create rolebindings`` but not
    ``clusterrolebindings`` binds cluster-admin in each namespace, not cluster-wide."""
    found = keys(tmp_path, rbac(f"[{BIND}, {ROLEBINDINGS}]", "ClusterRoleBinding"))
    assert ("identity", "power:bind-namespaces:*") in found
    assert ("power", "power:read-secrets:*") in found
    assert not any(key in ("cluster", "power:bind-roles:*") for _kind, key in found)


def test_escalate_writes_only_the_role_it_is_bound_to(tmp_path: Path) -> None:
    """``escalate`` with ``patch roles`` lets a subject write any rule into a Role
    (``EscalationAllowed``); that helps it only through a Role it is bound to: its own Role
    yes, a ClusterRole bound in the namespace no."""
    assert "power:bind-roles:app" in powers_of(tmp_path, rbac(f"[{ESCALATE}]"))
    through_cluster_role = (
        rbac(f"[{ESCALATE}]")
        .replace("kind: Role\n", "kind: ClusterRole\n")
        .replace("kind: Role, name: r", "kind: ClusterRole, name: r")
    )
    assert powers_of(tmp_path, through_cluster_role) == set()


SOCKET = (
    "securityContext: {{{pod}}}\n"
    "volumes: [{{name: root, hostPath: {{path: /}}}}]\n"
    "containers: [{{name: c, image: i@sha256:0, securityContext: {{{own}}}, "
    "volumeMounts: [{{name: root, mountPath: /host, readOnly: true}}]}}]"
)


@pytest.mark.parametrize(
    ("pod_context", "own", "escapes"),
    [
        # node-exporter in kube-prometheus: never root, so root's 0660 runtime socket is closed
        ("runAsUser: 65534, runAsGroup: 65534", "allowPrivilegeEscalation: false", False),
        ("runAsGroup: 65534", "allowPrivilegeEscalation: false, runAsUser: 1000", False),
        # a setuid binary may make it root again
        ("runAsUser: 65534, runAsGroup: 65534", "allowPrivilegeEscalation: true", True),
        # no runAsGroup: the image's group for the user, or 0 when it has none
        ("runAsUser: 65534", "allowPrivilegeEscalation: false", True),
        # root written in the container overrides the pod's
        (
            "runAsUser: 65534, runAsGroup: 65534",
            "allowPrivilegeEscalation: false, runAsUser: 0",
            True,
        ),
        # extra groups may be the socket's group (docker)
        (
            "runAsUser: 65534, runAsGroup: 65534, supplementalGroups: [999]",
            "allowPrivilegeEscalation: false",
            True,
        ),
        (
            "runAsUser: 65534, runAsGroup: 65534, fsGroup: 2000",
            "allowPrivilegeEscalation: false",
            True,
        ),
    ],
)
def test_root_only_escapes_need_a_root_process(
    tmp_path: Path, pod_context: str, own: str, escapes: bool
) -> None:
    """A runtime socket is ``srw-rw----`` root's (containerd, CRI-O; docker's group is
    ``docker``), connect(2) needs write permission on it; a process with uid and gid non-zero,
    no extra groups and ``allowPrivilegeEscalation: false`` (no_new_privs: setuid binaries do
    not raise it) never gets it, nor keeps added capabilities across execve
    (capabilities(7))."""
    graph = model(tmp_path, pod(SOCKET.format(pod=pod_context, own=own))).graph
    assert (("container", "node") in steps(graph)) is escapes
    if not escapes:
        added = SOCKET.format(pod=pod_context, own=own + ", capabilities: {add: [SYS_ADMIN]}")
        assert ("container", "node") not in steps(model(tmp_path, pod(added)).graph)


# What never runs makes no step -------------------------------------------------------------

DEPLOYMENT = """\
apiVersion: {version}
kind: Deployment
metadata: {{name: d, namespace: app}}
spec:
  {selector}
  template:
    metadata: {{labels: {{app: d}}}}
    spec:
      containers: [{{name: c, image: i@sha256:0, securityContext: {{privileged: true}}}}]
"""


@pytest.mark.parametrize(
    ("version", "selector", "runs"),
    [
        ("apps/v1", "selector: {matchLabels: {app: d}}", True),
        # the API server refuses these (pkg/apis/apps/validation ValidateDeploymentSpec)
        ("apps/v1", "replicas: 1", False),  # "spec.selector: Required value"
        ("apps/v1", "selector: {matchLabels: {}}", False),  # "empty selector is invalid"
        ("apps/v1", "selector: {matchLabels: {app: other}}", False),  # does not match labels
        # extensions/v1beta1 defaulted the selector from the template's labels
        ("extensions/v1beta1", "replicas: 1", True),
    ],
)
def test_a_controller_the_api_refuses_runs_nothing(
    tmp_path: Path, version: str, selector: str, runs: bool
) -> None:
    text = DEPLOYMENT.format(version=version, selector=selector)
    assert (("container", "node") in keys(tmp_path, text)) is runs


@pytest.mark.parametrize(
    ("spec", "escapes"),
    [
        (
            "containers: [{name: c, image: '<image_url>', securityContext: {privileged: true}}]",
            False,
        ),
        (
            "containers: [{name: c, image: '{{ .Image }}', securityContext: {privileged: true}}]",
            False,
        ),
        (  # the other container of the pod still starts
            "containers:\n"
            "- {name: c, image: '<image_url>'}\n"
            "- {name: d, image: registry.example.com/d:1, securityContext: {privileged: true}}",
            True,
        ),
        (  # an init container that never starts keeps the containers after it from starting
            "initContainers: [{name: i, image: '<image_url>'}]\n"
            "containers: [{name: d, image: i@sha256:0, securityContext: {privileged: true}}]",
            False,
        ),
    ],
)
def test_an_image_that_is_no_reference_never_starts(
    tmp_path: Path, spec: str, escapes: bool
) -> None:
    """The kubelet refuses an image that does not parse as a reference (``InvalidImageName``):
    that container never runs, and no upstream image reaches it."""
    found = keys(tmp_path, pod(spec))
    assert (("container", "node") in found) is escapes
    assert not any(key.startswith("container:") and "/c@" in key for _kind, key in found)
