#!/usr/bin/env python3
"""Write a deterministic monorepo of Kubernetes manifests for scale benchmarks.

Usage::

    python bench/gen_scale_corpus.py OUT --docs N [--per-file K] [--seed S]

``OUT/team-NNN/<app>.yaml`` files of about ``K`` documents each (default 20). Every team has its
own namespace (about one per 60 documents), with a Namespace object, ServiceAccounts, a Role and
RoleBinding, and in most namespaces NetworkPolicies (a default deny in some, allow rules in all),
a LimitRange and a ResourceQuota. Workloads vary: Deployments, StatefulSets, DaemonSets,
CronJobs, Jobs and bare Pods; hardened or not; one to three containers, init containers, probes,
volumes (some hostPath), secrets from env. Services, Ingresses, ConfigMaps and a few
ClusterRoles/ClusterRoleBindings fill in. About 530 bytes per document.
The same arguments always write the same bytes.
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

DOCS_PER_NAMESPACE = 60
IMAGES = ["nginx:1.27", "redis:7.2", "postgres:16", "busybox:latest", "envoyproxy/envoy:v1.30"]
KINDS = ["Deployment"] * 6 + ["StatefulSet", "DaemonSet", "CronJob", "Job", "Pod"]


def namespace_docs(ns: str, rnd: random.Random) -> list[str]:
    """The objects every namespace starts with."""
    enforce = (
        "  labels: {pod-security.kubernetes.io/enforce: restricted}\n" if rnd.random() < 0.5 else ""
    )
    docs = [f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n{enforce}"]
    for account in ("app", "ci"):
        automount = "automountServiceAccountToken: false\n" if rnd.random() < 0.6 else ""
        docs.append(
            f"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {account}\n"
            f"  namespace: {ns}\n{automount}"
        )
    verbs = rnd.choice(['["get", "list", "watch"]', '["*"]', '["get", "create", "delete"]'])
    resources = rnd.choice(['["configmaps"]', '["pods", "pods/exec"]', '["secrets"]', '["*"]'])
    docs.append(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: deployer\n"
        f'  namespace: {ns}\nrules:\n  - apiGroups: ["", "apps"]\n    resources: {resources}\n'
        f'    verbs: {verbs}\n  - apiGroups: ["batch"]\n    resources: ["jobs"]\n'
        '    verbs: ["get", "list"]\n'
    )
    docs.append(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n"
        f"  name: deployer\n  namespace: {ns}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n"
        "  kind: Role\n  name: deployer\nsubjects:\n  - kind: ServiceAccount\n    name: ci\n"
        f"    namespace: {ns}\n"
    )
    if rnd.random() < 0.5:
        docs.append(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
            f"  name: default-deny\n  namespace: {ns}\nspec:\n  podSelector: {{}}\n"
            "  policyTypes: [Ingress, Egress]\n"
        )
    if rnd.random() < 0.7:
        docs.append(
            f"apiVersion: v1\nkind: LimitRange\nmetadata:\n  name: limits\n  namespace: {ns}\n"
            "spec:\n  limits:\n    - type: Container\n      default: {cpu: 500m, memory: 256Mi}\n"
        )
        docs.append(
            f"apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: quota\n  namespace: {ns}\n"
            'spec:\n  hard: {pods: "50", requests.cpu: "20", requests.memory: 40Gi}\n'
        )
    return docs


def container(name: str, rnd: random.Random, hardened: bool, indent: str) -> str:
    image = rnd.choice(IMAGES)
    lines = [
        f"- name: {name}",
        f"  image: {image}",
        "  ports:",
        f"    - containerPort: {rnd.choice([80, 8080, 6379, 5432])}",
    ]
    if rnd.random() < 0.5:
        lines += ["  env:", "    - name: LOG_LEVEL", "      value: info"]
        if rnd.random() < 0.5:
            lines += [
                "    - name: DB_PASSWORD",
                "      valueFrom:",
                f"        secretKeyRef: {{name: {name}-db, key: password}}",
            ]
    if hardened or rnd.random() < 0.5:
        lines += [
            "  resources:",
            "    requests: {cpu: 100m, memory: 128Mi}",
            "    limits: {cpu: 500m, memory: 256Mi}",
        ]
    if rnd.random() < 0.6:
        lines += [
            "  livenessProbe:",
            "    httpGet: {path: /healthz, port: 8080}",
            "    periodSeconds: 10",
            "  readinessProbe:",
            "    httpGet: {path: /ready, port: 8080}",
        ]
    if hardened:
        lines += [
            "  securityContext:",
            "    allowPrivilegeEscalation: false",
            "    readOnlyRootFilesystem: true",
            "    runAsNonRoot: true",
            "    capabilities: {drop: [ALL]}",
        ]
    elif rnd.random() < 0.3:
        extra = rnd.choice(["privileged: true", "runAsUser: 0", "capabilities: {add: [NET_ADMIN]}"])
        lines += ["  securityContext:", f"    {extra}"]
    lines += ["  volumeMounts:", "    - {name: data, mountPath: /data}"]
    return "".join(f"{indent}{line}\n" for line in lines)


def pod_spec(app: str, rnd: random.Random, hardened: bool, indent: str) -> str:
    account = rnd.choice(["app", "ci", "default"])
    text = f"{indent}serviceAccountName: {account}\n"
    if hardened:
        text += (
            f"{indent}automountServiceAccountToken: false\n{indent}securityContext:\n"
            f"{indent}  runAsNonRoot: true\n{indent}  seccompProfile: {{type: RuntimeDefault}}\n"
        )
    elif rnd.random() < 0.1:
        text += f"{indent}hostNetwork: true\n"
    if rnd.random() < 0.3:
        text += f"{indent}initContainers:\n" + container(
            f"{app}-init", rnd, hardened, indent + "  "
        )
    text += f"{indent}containers:\n"
    for index in range(rnd.choice([1, 1, 1, 2, 3])):
        name = app if index == 0 else f"{app}-sidecar-{index}"
        text += container(name, rnd, hardened, indent + "  ")
    text += f"{indent}volumes:\n"
    if not hardened and rnd.random() < 0.15:
        text += f"{indent}  - name: data\n{indent}    hostPath: {{path: /var/lib/{app}}}\n"
    else:
        text += f"{indent}  - name: data\n{indent}    emptyDir: {{}}\n"
    return text


def workload(ns: str, app: str, rnd: random.Random) -> str:
    kind = rnd.choice(KINDS)
    hardened = rnd.random() < 0.4
    labels = f"{{app: {app}, tier: {rnd.choice(['web', 'api', 'worker'])}}}"
    head = f"kind: {kind}\nmetadata:\n  name: {app}\n  namespace: {ns}\n  labels: {labels}\n"
    if kind == "Pod":
        return f"apiVersion: v1\n{head}spec:\n" + pod_spec(app, rnd, hardened, "  ")
    template = f"    metadata:\n      labels: {labels}\n    spec:\n" + pod_spec(
        app, rnd, hardened, "      "
    )
    if kind == "CronJob":
        template = "".join("    " + line + "\n" for line in template.splitlines())
        return (
            f'apiVersion: batch/v1\n{head}spec:\n  schedule: "*/5 * * * *"\n  jobTemplate:\n'
            f"    spec:\n      template:\n{template}"
        )
    api = "batch/v1" if kind == "Job" else "apps/v1"
    replicas = "" if kind in ("Job", "DaemonSet") else f"  replicas: {rnd.randint(1, 5)}\n"
    selector = "" if kind == "Job" else f"  selector:\n    matchLabels: {{app: {app}}}\n"
    return f"apiVersion: {api}\n{head}spec:\n{replicas}{selector}  template:\n{template}"


def companions(ns: str, app: str, rnd: random.Random) -> list[str]:
    """Objects that go with a workload: a Service, sometimes an Ingress, a ConfigMap, a
    NetworkPolicy that lets its clients in."""
    service_type = rnd.choice(["ClusterIP"] * 6 + ["NodePort", "LoadBalancer"])
    docs = [
        f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {app}\n  namespace: {ns}\nspec:\n"
        f"  type: {service_type}\n  selector: {{app: {app}}}\n  ports:\n    - port: 80\n"
        "      targetPort: 8080\n"
    ]
    if rnd.random() < 0.3:
        tls = (
            f"  tls:\n    - hosts: [{app}.example.com]\n      secretName: {app}-tls\n"
            if rnd.random() < 0.5
            else ""
        )
        docs.append(
            f"apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {app}\n"
            f"  namespace: {ns}\nspec:\n{tls}  rules:\n    - host: {app}.example.com\n"
            "      http:\n        paths:\n          - path: /\n            pathType: Prefix\n"
            f"            backend:\n              service: {{name: {app}, port: {{number: 80}}}}\n"
        )
    if rnd.random() < 0.5:
        docs.append(
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {app}-config\n  namespace: {ns}\n"
            f'data:\n  LOG_FORMAT: json\n  FEATURE_FLAGS: "a,b,c"\n  UPSTREAM: http://{app}-api\n'
        )
    if rnd.random() < 0.6:
        docs.append(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
            f"  name: {app}-ingress\n  namespace: {ns}\nspec:\n  podSelector:\n"
            f"    matchLabels: {{app: {app}}}\n  policyTypes: [Ingress]\n  ingress:\n"
            "    - from:\n        - podSelector: {matchLabels: {role: client}}\n"
            "      ports:\n        - port: 8080\n"
        )
    return docs


def cluster_docs(index: int, rnd: random.Random) -> list[str]:
    """A ClusterRole and a ClusterRoleBinding, now and then."""
    resources = rnd.choice(['["nodes"]', '["secrets"]', '["*"]', '["namespaces"]'])
    return [
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n"
        f'  name: reader-{index}\nrules:\n  - apiGroups: [""]\n    resources: {resources}\n'
        '    verbs: ["get", "list"]\n',
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n"
        f"  name: reader-{index}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n"
        f"  kind: ClusterRole\n  name: reader-{index}\nsubjects:\n  - kind: Group\n"
        f"    name: team-{index}\n    apiGroup: rbac.authorization.k8s.io\n",
    ]


def generate(out: Path, docs: int, per_file: int, seed: int) -> tuple[int, int]:
    """Write the corpus; returns (files, documents)."""
    rnd = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    written = files = 0
    team = 0
    while written < docs:
        ns = f"team-{team:04d}"
        folder = out / ns
        folder.mkdir(parents=True)
        pending = namespace_docs(ns, rnd)
        if team % 10 == 0:
            pending += cluster_docs(team, rnd)
        app = 0
        budget = min(DOCS_PER_NAMESPACE, docs - written)
        chunks: list[list[str]] = [[]]
        while len(pending) < budget:
            name = f"app-{app:03d}"
            pending += [workload(ns, name, rnd), *companions(ns, name, rnd)]
            app += 1
        for doc in pending[:budget]:
            if len(chunks[-1]) >= per_file:
                chunks.append([])
            chunks[-1].append(doc)
        for index, chunk in enumerate(chunks):
            (folder / f"part-{index:02d}.yaml").write_text("---\n".join(chunk))
            files += 1
        written += budget
        team += 1
    return files, written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="directory to (re)create")
    parser.add_argument("--docs", type=int, required=True, help="documents to write")
    parser.add_argument("--per-file", type=int, default=20, help="documents per file")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    files, docs = generate(args.out, args.docs, args.per_file, args.seed)
    size = sum(p.stat().st_size for p in args.out.rglob("*.yaml"))
    print(f"{args.out}: {docs} documents in {files} files, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
