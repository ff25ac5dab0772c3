"""The attack graph: each edge present, and absent when its precondition is missing; the shop
scenario end to end, hop by hop."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from kscan.cli import cli
from kscan.scan.engine import scan
from kscan.threats.analysis import ThreatModel, analyse
from kscan.threats.graph import Graph

HERE = Path(__file__).parent


def model(tmp_path: Path, text: str, lateral: bool = True) -> ThreatModel:
    path = tmp_path / "objects.yaml"
    chunks = [[]]  # type: list[list[str]]
    for line in text.splitlines():
        if line.strip() == "---":
            chunks.append([])
        else:
            chunks[-1].append(line)
    path.write_text("\n---\n".join(textwrap.dedent("\n".join(chunk)) for chunk in chunks))
    result = scan([str(path)], [], threats=True)
    assert not result.errors
    return analyse(result.threat_facts, lateral=lateral)


def steps(graph: Graph) -> set[tuple[str, str]]:
    return {(step.source.kind, step.target.key) for step in graph.steps()}


def pod(spec: str, kind: str = "Pod", namespace: str = "app") -> str:
    body = textwrap.indent(textwrap.dedent(spec), "  ")
    return (
        f"apiVersion: v1\nkind: {kind}\n"
        f"metadata: {{name: p, namespace: {namespace}, labels: {{app: p}}}}\nspec:\n{body}\n"
    )


ESCAPE_CASES = [
    ("containers: [{name: c, image: i@sha256:0, securityContext: {privileged: true}}]", True),
    ("containers: [{name: c, image: i@sha256:0, securityContext: {privileged: false}}]", False),
    (
        "containers: [{name: c, image: i@sha256:0, securityContext: "
        "{capabilities: {add: [SYS_ADMIN]}}}]",
        True,
    ),
    # added and dropped by name: containerd drops it (WithCapabilities: adds, then drops)
    (
        "containers: [{name: c, image: i@sha256:0, securityContext: "
        "{capabilities: {add: [SYS_ADMIN], drop: [SYS_ADMIN]}}}]",
        False,
    ),
    # drop ALL does not undo a named add (containerd applies drop ALL before the adds)
    (
        "containers: [{name: c, image: i@sha256:0, securityContext: "
        "{capabilities: {add: [cap_sys_module], drop: [ALL]}}}]",
        True,
    ),
    (
        "containers: [{name: c, image: i@sha256:0, securityContext: "
        "{capabilities: {add: [NET_ADMIN]}}}]",
        False,
    ),
    (
        "hostPID: true\ncontainers: [{name: c, image: i@sha256:0, securityContext: "
        "{capabilities: {add: [SYS_PTRACE]}}}]",
        True,
    ),
    (
        "containers: [{name: c, image: i@sha256:0, securityContext: "
        "{capabilities: {add: [SYS_PTRACE]}}}]",
        False,
    ),
    (
        "volumes: [{name: h, hostPath: {path: /etc}}]\n"
        "containers: [{name: c, image: i@sha256:0, volumeMounts: [{name: h, mountPath: /h}]}]",
        True,
    ),
    (  # read-only: writing /etc is what escapes
        "volumes: [{name: h, hostPath: {path: /etc}}]\n"
        "containers: [{name: c, image: i@sha256:0, "
        "volumeMounts: [{name: h, mountPath: /h, readOnly: true}]}]",
        False,
    ),
    (
        "volumes: [{name: h, hostPath: {path: /var/log/pods}}]\n"
        "containers: [{name: c, image: i@sha256:0, volumeMounts: [{name: h, mountPath: /h}]}]",
        True,
    ),
    (  # a socket is connected to, not written: a read-only mount still reaches it
        "volumes: [{name: h, hostPath: {path: /var/run/docker.sock}}]\n"
        "containers: [{name: c, image: i@sha256:0, "
        "volumeMounts: [{name: h, mountPath: /s, readOnly: true}]}]",
        True,
    ),
    (
        "volumes: [{name: h, hostPath: {path: /srv/data}}]\n"
        "containers: [{name: c, image: i@sha256:0, volumeMounts: [{name: h, mountPath: /h}]}]",
        False,
    ),
    (  # holds pods/ with other pods' tokens
        "volumes: [{name: h, hostPath: {path: /var/lib/kubelet}}]\n"
        "containers: [{name: c, image: i@sha256:0, volumeMounts: [{name: h, mountPath: /h}]}]",
        True,
    ),
    (
        "volumes: [{name: h, hostPath: {path: /var/lib/kubelet/pods/x}}]\n"
        "containers: [{name: c, image: i@sha256:0, volumeMounts: [{name: h, mountPath: /h}]}]",
        True,
    ),
    (  # a CSI driver's socket directory: the kubelet dials it
        "volumes: [{name: h, hostPath: {path: /var/lib/kubelet/plugins/csi.example.io}}]\n"
        "containers: [{name: c, image: i@sha256:0, volumeMounts: [{name: h, mountPath: /h}]}]",
        False,
    ),
    (  # FlexVolume drivers, run by the kubelet as root
        "volumes: [{name: h, hostPath: "
        "{path: /usr/libexec/kubernetes/kubelet-plugins/volume/exec}}]\n"
        "containers: [{name: c, image: i@sha256:0, volumeMounts: [{name: h, mountPath: /h}]}]",
        True,
    ),
    (  # a volume no container mounts reaches nothing
        "volumes: [{name: h, hostPath: {path: /}}]\ncontainers: [{name: c, image: i@sha256:0}]",
        False,
    ),
]


@pytest.mark.parametrize(("spec", "escapes"), ESCAPE_CASES)
def test_container_to_node(tmp_path: Path, spec: str, escapes: bool) -> None:
    graph = model(tmp_path, pod(spec)).graph
    assert (("container", "node") in steps(graph)) is escapes


def rbac(rules: str, binding: str = "RoleBinding", namespace: str = "app", extra: str = "") -> str:
    scope = f"namespace: {namespace}" if binding == "RoleBinding" else ""
    role = "Role" if binding == "RoleBinding" else "ClusterRole"
    return f"""
    apiVersion: v1
    kind: Pod
    metadata: {{name: p, namespace: app}}
    spec:
      serviceAccountName: sa
      containers: [{{name: c, image: i@sha256:0}}]
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: {role}
    metadata: {{name: r, {scope}}}
    rules: {rules}
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: {binding}
    metadata: {{name: b, {scope}}}
    subjects: [{{kind: ServiceAccount, name: sa, namespace: app}}]
    roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: {role}, name: r}}
    {extra}
    """


CREATE_PODS = '[{apiGroups: [""], resources: [pods], verbs: [create]}]'


def test_token_to_create_pods_to_node(tmp_path: Path) -> None:
    graph = model(tmp_path, rbac(CREATE_PODS)).graph
    assert ("container", "sa:app/sa") in steps(graph)
    assert ("identity", "power:create-pods:app") in steps(graph)
    assert ("power", "node") in steps(graph)


def test_token_not_mounted(tmp_path: Path) -> None:
    """The pod's automountServiceAccountToken: false wins (ServiceAccount admission plugin,
    shouldAutomount): no token, no step to the account."""
    text = rbac(CREATE_PODS).replace(
        "serviceAccountName: sa",
        "serviceAccountName: sa\n      automountServiceAccountToken: false",
    )
    assert ("container", "sa:app/sa") not in steps(model(tmp_path, text).graph)


def test_service_account_automount_false_but_projected_token(tmp_path: Path) -> None:
    """The ServiceAccount's automount: false stops the automatic token; a projected
    serviceAccountToken volume mounted by the container still holds one."""
    account = """---
    apiVersion: v1
    kind: ServiceAccount
    metadata: {name: sa, namespace: app}
    automountServiceAccountToken: false
    """
    assert ("container", "sa:app/sa") not in steps(
        model(tmp_path, rbac(CREATE_PODS, extra=account)).graph
    )
    projected = rbac(CREATE_PODS, extra=account).replace(
        "containers: [{name: c, image: i@sha256:0}]",
        "volumes: [{name: t, projected: {sources: [{serviceAccountToken: {path: token}}]}}]\n"
        "      containers: [{name: c, image: i@sha256:0,"
        " volumeMounts: [{name: t, mountPath: /t}]}]",
    )
    assert ("container", "sa:app/sa") in steps(model(tmp_path, projected).graph)


@pytest.mark.parametrize(
    ("audience", "held"),
    [
        ("", True),
        (", audience: 'https://kubernetes.default.svc.cluster.local'", True),
        (", audience: vault", False),
        (", audience: sts.amazonaws.com", False),
    ],
)
def test_projected_token_for_another_audience(tmp_path: Path, audience: str, held: bool) -> None:
    """A projected token bound to another audience (Vault, AWS STS) is refused by the API
    server's authenticator (kube-apiserver ``--api-audiences``): it holds no API identity."""
    account = """---
    apiVersion: v1
    kind: ServiceAccount
    metadata: {name: sa, namespace: app}
    automountServiceAccountToken: false
    """
    projected = rbac(CREATE_PODS, extra=account).replace(
        "containers: [{name: c, image: i@sha256:0}]",
        "volumes: [{name: t, projected: {sources: [{serviceAccountToken: {path: token"
        + audience
        + "}}]}}]\n"
        "      containers: [{name: c, image: i@sha256:0,"
        " volumeMounts: [{name: t, mountPath: /t}]}]",
    )
    assert (("container", "sa:app/sa") in steps(model(tmp_path, projected).graph)) is held


def test_binding_in_another_namespace(tmp_path: Path) -> None:
    """A RoleBinding grants in its own namespace only: the power is in 'other', and the pod's
    account in 'app' holds it only because the subject names its namespace."""
    graph = model(tmp_path, rbac(CREATE_PODS, namespace="other")).graph
    assert ("identity", "power:create-pods:other") in steps(graph)
    assert ("identity", "power:create-pods:app") not in steps(graph)
    text = rbac(CREATE_PODS, namespace="other").replace("namespace: app}]", "}]")
    graph = model(tmp_path, text).graph  # subject defaults to the binding's namespace
    assert not any(key.startswith("power:") for _kind, key in steps(graph))


@pytest.mark.parametrize(
    ("level", "node"), [("restricted", False), ("baseline", False), ("privileged", True)]
)
def test_pod_security_enforce(tmp_path: Path, level: str, node: bool) -> None:
    namespace = f"""---
    apiVersion: v1
    kind: Namespace
    metadata: {{name: app, labels: {{pod-security.kubernetes.io/enforce: {level}}}}}
    """
    graph = model(tmp_path, rbac(CREATE_PODS, extra=namespace)).graph
    assert (("power", "node") in steps(graph)) is node


@pytest.mark.parametrize(
    ("rules", "power"),
    [
        ('[{apiGroups: [""], resources: [secrets], verbs: [list]}]', "power:read-secrets:app"),
        ('[{apiGroups: [""], resources: [secrets], verbs: [get], resourceNames: [one]}]', None),
        ('[{apiGroups: [""], resources: [pods/exec], verbs: [create]}]', "power:exec:app"),
        ('[{apiGroups: [""], resources: ["*/exec"], verbs: [create]}]', "power:exec:app"),
        (
            "[{apiGroups: [apps], resources: [deployments], verbs: [patch]}]",
            "power:create-pods:app",
        ),
        ('[{apiGroups: [""], resources: [pods], verbs: [get, list]}]', None),
    ],
)
def test_powers(tmp_path: Path, rules: str, power: str | None) -> None:
    found = {key for kind, key in steps(model(tmp_path, rbac(rules)).graph) if kind == "identity"}
    assert found == ({power} if power else set())


def test_cluster_admin_through_a_group(tmp_path: Path) -> None:
    """A ClusterRoleBinding to the group system:serviceaccounts covers every account; the
    built-in cluster-admin is known without its file."""
    text = """
    apiVersion: v1
    kind: Pod
    metadata: {name: p, namespace: app}
    spec: {containers: [{name: c, image: i@sha256:0}]}
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRoleBinding
    metadata: {name: b}
    subjects: [{kind: Group, name: "system:serviceaccounts", apiGroup: rbac.authorization.k8s.io}]
    roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
    """
    found = model(tmp_path, text)
    assert found.paths[0].end.key == "cluster"
    assert [s.target.key for s in found.paths[0].steps] == [
        "sa:app/default",
        "power:cluster-admin:*",
        "cluster",
    ]


def test_bind_needs_binding_creation(tmp_path: Path) -> None:
    bind_only = (
        "[{apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind]}]"
    )
    assert not model(tmp_path, rbac(bind_only, "ClusterRoleBinding")).paths
    both = (
        "[{apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind]},"
        " {apiGroups: [rbac.authorization.k8s.io], resources: [clusterrolebindings],"
        " verbs: [create]}]"
    )
    assert model(tmp_path, rbac(both, "ClusterRoleBinding")).paths[0].end.key == "cluster"


SERVICE = """---
apiVersion: v1
kind: Service
metadata: {{name: s, namespace: app}}
spec: {{type: {type}, selector: {{app: p}}}}
"""


@pytest.mark.parametrize(
    ("type_", "exposed"), [("LoadBalancer", True), ("NodePort", True), ("ClusterIP", False)]
)
def test_service_entry(tmp_path: Path, type_: str, exposed: bool) -> None:
    text = pod("containers: [{name: c, image: i@sha256:0}]") + SERVICE.format(type=type_)
    graph = model(tmp_path, text).graph
    assert any(s.source.key == "internet" for s in graph.steps()) is exposed


def test_service_with_an_empty_selector_selects_nothing(tmp_path: Path) -> None:
    """ServiceSpec.selector: "If empty or not present, the service is assumed to have an
    external process managing its endpoints"."""
    text = pod("containers: [{name: c, image: i@sha256:0}]") + SERVICE.format(
        type="LoadBalancer"
    ).replace("selector: {app: p}", "selector: {}")
    assert not any(s.source.key == "internet" for s in model(tmp_path, text).graph.steps())


LISTENING = [
    ("containers: [{name: c, image: i@sha256:0, ports: [{containerPort: 80}]}]", "", True),
    ("containers: [{name: c, image: i@sha256:0}]", "", False),
    ("containers: [{name: c, image: i@sha256:0}]", SERVICE.format(type="ClusterIP"), True),
]


@pytest.mark.parametrize(("spec", "extra", "reachable"), LISTENING)
def test_pod_network_reaches_serving_containers(
    tmp_path: Path, spec: str, extra: str, reachable: bool
) -> None:
    """A container that declares no port and no Service selects is not counted as listening
    (an outbound-only agent); one that declares a containerPort or sits behind a Service is."""
    graph = model(tmp_path, pod(spec) + extra).graph
    assert any(s.source.key == "pod-network" for s in graph.steps()) is reachable


def test_service_selects_only_its_namespace(tmp_path: Path) -> None:
    text = pod("containers: [{name: c, image: i@sha256:0}]", namespace="elsewhere")
    graph = model(tmp_path, text + SERVICE.format(type="LoadBalancer")).graph
    assert not any(s.source.key == "internet" for s in graph.steps())


def test_mutable_image_entry(tmp_path: Path) -> None:
    graph = model(
        tmp_path,
        pod("containers: [{name: c, image: nginx:1.27}, {name: d, image: nginx@sha256:0}]"),
    ).graph
    assert {s.source.key for s in graph.steps() if s.source.kind == "entry"} == {"image:nginx:1.27"}


def test_lateral_only_to_pods_no_policy_isolates(tmp_path: Path) -> None:
    text = pod("containers: [{name: c, image: i@sha256:0, ports: [{containerPort: 80}]}]")
    open_graph = model(tmp_path, text).graph
    assert any(s.source.key == "pod-network" for s in open_graph.steps())
    policy = """---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: deny, namespace: app}
    spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
    """
    closed = model(tmp_path, text + textwrap.dedent(policy)).graph
    assert "pod-network" not in closed.nodes


def test_shop_end_to_end() -> None:
    """Internet -> Ingress -> Service -> frontend container -> its token -> create pods in a
    namespace without Pod Security labels -> a privileged pod -> the node."""
    result = scan([str(HERE / "shop.yaml")], [], threats=True)
    found = analyse(result.threat_facts)
    path = found.paths[0]
    assert [(s.source.key, s.target.key, s.technique) for s in path.steps] == [
        ("internet", path.steps[0].target.key, "T1190"),
        (path.steps[0].target.key, "sa:shop/deployer", "T1528"),
        ("sa:shop/deployer", "power:create-pods:shop", "T1078"),
        ("power:create-pods:shop", "node", "T1611"),
    ]
    assert path.steps[0].target.label == "Container 'web' of Deployment 'shop/frontend'"
    lines = [(e.line, e.field) for e in path.steps[0].evidence]
    assert lines == [
        (23, "/spec/rules/0/http/paths/0/backend/service/name"),
        (32, "/spec/selector"),
    ]
    assert [e.line for e in path.steps[2].evidence] == [74, 76, 64]
    assert len(found.paths) == 1


def test_command(tmp_path: Path) -> None:
    shop = str(HERE / "shop.yaml")
    text = CliRunner().invoke(cli, ["threats", shop])
    assert text.exit_code == 1
    assert "T1611 Escape to Host" in text.output and "shop.yaml:64:5 /rules/0" in text.output
    data = CliRunner().invoke(cli, ["threats", "--format", "json", shop])
    document = json.loads(data.output)
    assert [document["steps"][i]["target"] for i in document["paths"][0]["steps"]][-1] == "node"
    assert {"nodes", "steps", "paths"} <= document.keys()
    report = tmp_path / "paths.json"
    written = CliRunner().invoke(cli, ["threats", "--format", "json", "-o", str(report), shop])
    assert written.exit_code == 1 and written.output == ""
    assert json.loads(report.read_text()) == document
    sarif = CliRunner().invoke(cli, ["threats", "--format", "sarif", "--base-dir", str(HERE), shop])
    uris = {
        location["physicalLocation"]["artifactLocation"]["uri"]
        for result in json.loads(sarif.output)["runs"][0]["results"]
        for location in result["locations"]
    }
    assert uris == {"shop.yaml"}
    quiet = tmp_path / "quiet.yaml"
    quiet.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    empty = CliRunner().invoke(cli, ["threats", "--format", "json", "--jobs", "1", str(quiet)])
    assert empty.exit_code == 0
    assert json.loads(empty.output) == {"nodes": [], "steps": [], "paths": [], "truncated": False}


def test_ordinary_scan_keeps_no_threat_facts() -> None:
    assert scan([str(HERE / "shop.yaml")], []).threat_facts == []


def test_every_threat_format_renders_the_shop_path() -> None:
    """The command reaches each reporter: SARIF holds the path as one code flow of its four
    hops, the Navigator layer scores its techniques, Markdown draws it."""
    from kscan.app import THREAT_FORMATS, ThreatOptions, threats

    shop = str(Path(__file__).with_name("shop.yaml"))
    rendered = {}
    for output_format in THREAT_FORMATS:
        report = threats(ThreatOptions((shop,), output_format=output_format))
        assert report.exit_code == 1
        rendered[output_format] = "".join(report.rendered)
    (result,) = json.loads(rendered["sarif"])["runs"][0]["results"]
    (flow,) = result["codeFlows"]
    assert len(flow["threadFlows"][0]["locations"]) == 4
    scored = {t["techniqueID"] for t in json.loads(rendered["navigator"])["techniques"]}
    assert {"T1190", "T1528", "T1078", "T1611"} <= scored
    assert "```mermaid\nflowchart LR" in rendered["markdown"]


UNPLACED = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ctl}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: ctl, namespace: argocd}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: ctl}
spec:
  selector: {matchLabels: {app: ctl}}
  template:
    metadata: {labels: {app: ctl}}
    spec:
      serviceAccountName: ctl
      containers: [{name: c, image: i@sha256:0}]
"""


@pytest.mark.parametrize(("namespace", "reaches"), [(None, True), ("default", False)])
def test_workload_without_namespace_may_run_where_a_binding_names_its_account(
    tmp_path: Path, namespace: str | None, reaches: bool
) -> None:
    """Argo CD's install.yaml writes no namespace (it is applied with -n argocd) and binds
    cluster-admin to argocd/argocd-application-controller: the workload may run there. One
    that names its namespace runs only there."""
    text = UNPLACED
    if namespace is not None:
        text = text.replace(
            "metadata: {name: ctl}\nspec:",
            f"metadata: {{name: ctl, namespace: {namespace}}}\nspec:",
        )
    graph = model(tmp_path, text).graph
    assert (("container", "sa:argocd/ctl") in steps(graph)) is reaches
    assert (("power", "cluster") in steps(graph)) is reaches
