"""The path search: its ranking (a direct escape is never hidden by a way through the pod
network, which is shown once for all the pods that take it), and its early stop, which must
give what searching every target gives, for the paths and for each workload's blast radius."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from test_threats import CREATE_PODS, model, pod, rbac

from kscan.threats.paths import AttackPath
from kscan.threats.search import impact, search, targets, tier, way_from, ways_to

EXPOSED = """\
apiVersion: v1
kind: Service
metadata: {name: front, namespace: app}
spec: {type: LoadBalancer, selector: {app: front}, ports: [{port: 80}]}
"""


def test_direct_escape_is_not_hidden_by_a_way_through_the_pod_network(tmp_path: Path) -> None:
    front = (
        pod("containers: [{name: web, image: i@sha256:0}]", namespace="app")
        .replace("name: p", "name: front")
        .replace("app: p", "app: front")
    )
    privileged = pod(
        "containers: [{name: c, image: i@sha256:0, ports: [{containerPort: 80}], "
        "securityContext: {privileged: true}}]"
    )
    others = "---\n".join(
        pod("containers: [{name: c, image: i@sha256:0}]").replace("name: p,", f"name: o{n},")
        for n in range(3)
    )
    threats = model(tmp_path, f"{EXPOSED}---\n{front}---\n{privileged}---\n{others}")
    chains = [[step.source.key for step in path.steps] for path in threats.paths]
    direct = [chain for chain in chains if len(chain) == 1 and "/Pod/p/c@" in chain[0]]
    assert direct, chains
    lateral = [chain for chain in chains if "pod-network" in chain]
    assert len(lateral) == 1, chains  # the pods o0-o2 and front go on alike: one shows it
    assert chains.index(direct[0]) < min(chains.index(chain) for chain in lateral)


def test_own_way_is_kept_over_an_equally_short_one_through_the_pod_network(
    tmp_path: Path,
) -> None:
    """The container's token reaches a node in three steps (create pods, a privileged pod);
    so does the pod network through a privileged pod: the blast radius and the path shown are
    the container's own way, and the exposed path comes first."""
    privileged = pod(
        "containers: [{name: c, image: i@sha256:0, ports: [{containerPort: 80}], "
        "securityContext: {privileged: true}}]",
        namespace="other",
    ).replace("name: p,", "name: priv,")
    exposed = EXPOSED.replace("app: front", "app: p")
    labelled = rbac(CREATE_PODS).replace(
        "{name: p, namespace: app}", "{name: p, namespace: app, labels: {app: p}}", 1
    )
    threats = model(tmp_path, f"{labelled}---\n{privileged}---\n{exposed}")
    own = next(w for w in threats.workloads if w.obj.display == "Pod 'app/p'")
    assert any(step.source.key == "pod-network" for step in threats.graph.steps())
    assert own.worst is not None and tier(own.worst) == 1
    assert [step.target.key for step in own.worst.steps] == [
        "sa:app/sa",
        "power:create-pods:app",
        "node",
    ]
    first = threats.paths[0]
    assert first.start.key == "internet" and tier(first) == 0
    assert all("pod-network" not in (s.source.key, s.target.key) for s in first.steps)


def random_objects(seed: int) -> str:
    """Pods in three namespaces, each with a random mix of what makes steps: privilege, a
    Secret, a token with RBAC powers (cluster-admin, which a node's tokens reach), exposure,
    the node's network, an isolating policy."""
    rng = random.Random(seed)
    docs: list[str] = []
    for namespace in ("a", "b", "c"):
        if rng.random() < 0.5:
            docs.append(
                "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
                f"metadata: {{name: deny, namespace: {namespace}}}\n"
                "spec: {podSelector: {matchLabels: {iso: 'yes'}}, policyTypes: [Ingress, Egress]}\n"
            )
        if rng.random() < 0.5:
            verbs = rng.choice(["[get, list]", "[create]", "['*']"])
            resource = rng.choice(["secrets", "pods", "pods/exec"])
            docs.append(
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n"
                f"metadata: {{name: r, namespace: {namespace}}}\n"
                f"rules: [{{apiGroups: [''], resources: [{resource}], verbs: {verbs}}}]\n"
                "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n"
                f"metadata: {{name: rb, namespace: {namespace}}}\n"
                "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}\n"
                f"subjects: [{{kind: ServiceAccount, name: default, namespace: {namespace}}}]\n"
            )
        if rng.random() < 0.3:  # a node reaches this namespace's tokens, and so the cluster
            docs.append(
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n"
                f"metadata: {{name: admin-{namespace}}}\n"
                "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, "
                "name: cluster-admin}\n"
                f"subjects: [{{kind: ServiceAccount, name: default, namespace: {namespace}}}]\n"
            )
        for index in range(rng.randint(1, 4)):
            security = rng.choice(
                ["{}", "{privileged: true}", "{capabilities: {add: [SYS_ADMIN]}}"]
            )
            image = rng.choice(["i@sha256:0", "registry.example/i:1"])
            env = (
                f"env: [{{name: K, valueFrom: {{secretKeyRef: {{name: s{index}, key: k}}}}}}], "
                if rng.random() < 0.5
                else ""
            )
            labels = f"{{app: p{index}, iso: '{rng.choice(['yes', 'no'])}'}}"
            ports = "ports: [{containerPort: 80}], " if rng.random() < 0.6 else ""
            host = "  hostNetwork: true\n" if rng.random() < 0.2 else ""
            docs.append(
                f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p{index}, namespace: {namespace}, "
                f"labels: {labels}}}\nspec:\n{host}  containers: [{{name: c, image: {image}, "
                f"{env}{ports}securityContext: {security}}}]\n"
            )
            if rng.random() < 0.3:
                docs.append(
                    f"apiVersion: v1\nkind: Service\nmetadata: {{name: s{index}, namespace: "
                    f"{namespace}}}\nspec: {{type: NodePort, selector: {{app: p{index}}}, "
                    "ports: [{port: 80}]}\n"
                )
    return "---\n".join(docs)


@pytest.mark.parametrize("lateral", [True, False])
@pytest.mark.parametrize("seed", range(8))
def test_early_stop_gives_what_searching_every_target_gives(
    tmp_path: Path, seed: int, lateral: bool
) -> None:
    threats = model(tmp_path, random_objects(seed), lateral)
    graph = threats.graph
    everything = search(graph, max_paths=10**9)
    assert len({path.impact for path in everything}) > 1
    for bound in range(1, len(everything) + 1):
        assert search(graph, max_paths=bound) == everything[:bound]
    for workload in threats.workloads:
        best: tuple[int, int, int] | None = None
        reached = 0
        for target in targets(graph):
            ways = ways_to(graph, target)
            found = []
            for container in workload.containers:
                steps = way_from(ways, container.key, target)
                if steps is not None:
                    path = AttackPath(steps, impact(target, container, steps[0]) or 0)
                    found.append((path.impact, -tier(path), -len(steps)))
            if found:
                reached += 1
                best = max([*found, best] if best else found)
        assert workload.targets == reached
        if best is None:
            assert workload.worst is None
        else:
            assert workload.worst is not None
            worst = workload.worst
            assert (worst.impact, -tier(worst), -len(worst.steps)) == best
