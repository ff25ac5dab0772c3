"""Synthetic attack paths over realistic objects, for the attack-path reporters' tests: the
"shop" namespace whose frontend is exposed through an Ingress, whose service account may create
pods in a namespace that enforces no Pod Security level."""

from __future__ import annotations

from kscan.support.values import replace
from kscan.threats.paths import AttackPath, Evidence, Node, Step
from kscan.threats.search import IMPACT

INTERNET = Node("entry", "entry:ingress:shop/web", "Ingress 'shop/web' (the internet)")
WEB = Node(
    "container", "container:shop/Deployment/web/web", "Container 'web' of Deployment 'shop/web'"
)
WEB_SA = Node("identity", "identity:serviceaccount:shop/web", "ServiceAccount 'shop/web'")
CREATE_PODS = Node("power", "power:shop:create:pods", "create pods in namespace 'shop'")
NODE = Node("node", "node", "a node")
API = Node(
    "container", "container:shop/Deployment/api/api", "Container 'api' of Deployment 'shop/api'"
)
API_SA = Node("identity", "identity:serviceaccount:shop/api", "ServiceAccount 'shop/api'")
IMPERSONATE = Node("power", "power:cluster:impersonate:users", "impersonate users (cluster-wide)")
CLUSTER = Node("cluster", "cluster", "the cluster (cluster-admin)")
DB = Node(
    "container",
    "container:shop/StatefulSet/db/postgres",
    "Container 'postgres' of StatefulSet 'shop/db'",
)
DB_SECRET = Node("secret", "secret:shop/db-credentials", "Secret 'shop/db-credentials'")


def ev(path: str, line: int, column: int, field: str) -> Evidence:
    return Evidence(path, line, column, field)


def exposed_to_node(base: str) -> AttackPath:
    """Ingress → container → service account → create pods → node: four hops."""
    return AttackPath(
        steps=(
            Step(
                INTERNET,
                WEB,
                "sends requests to the exposed container",
                "TA0001",
                "T1190",
                (
                    ev(
                        f"{base}/deploy/ingress.yaml",
                        14,
                        19,
                        "/spec/rules/0/http/paths/0/backend/service/name",
                    ),
                    ev(f"{base}/deploy/service.yaml", 8, 5, "/spec/selector"),
                ),
            ),
            Step(
                WEB,
                WEB_SA,
                "reads the mounted service account token",
                "TA0006",
                "T1528",
                (ev(f"{base}/deploy/web.yaml", 18, 7, "/spec/template/spec/serviceAccountName"),),
            ),
            Step(
                WEB_SA,
                CREATE_PODS,
                "is bound to a Role that creates pods",
                "TA0004",
                "T1078",
                (
                    ev(f"{base}/deploy/rbac.yaml", 21, 3, "/subjects/0"),
                    ev(f"{base}/deploy/rbac.yaml", 9, 3, "/rules/0"),
                ),
            ),
            Step(
                CREATE_PODS,
                NODE,
                "creates a privileged pod: namespace 'shop' enforces no Pod Security level",
                "TA0004",
                "T1611",
                (ev(f"{base}/deploy/namespace.yaml", 4, 3, "/metadata"),),
            ),
        ),
        impact=IMPACT["node"],
    )


def container_to_cluster(base: str) -> AttackPath:
    """Container → service account → impersonate → cluster-admin: three hops."""
    return AttackPath(
        steps=(
            Step(
                API,
                API_SA,
                "reads the mounted service account token",
                "TA0006",
                "T1528",
                (ev(f"{base}/deploy/api.yaml", 20, 7, "/spec/template/spec/serviceAccountName"),),
            ),
            Step(
                API_SA,
                IMPERSONATE,
                "is bound to a ClusterRole that impersonates users",
                "TA0004",
                "T1078",
                (ev(f"{base}/deploy/rbac.yaml", 40, 3, "/subjects/0"),),
            ),
            Step(
                IMPERSONATE,
                CLUSTER,
                "impersonates a member of system:masters",
                "TA0004",
                "T1078",
                (ev(f"{base}/deploy/rbac.yaml", 31, 3, "/rules/0"),),
            ),
        ),
        impact=IMPACT["cluster"],
    )


def escape_then_secret(base: str) -> AttackPath:
    """Container → node (docker socket) → another pod's secret, the second hop with no field to
    point at (a node reaches the pods scheduled on it)."""
    return AttackPath(
        steps=(
            Step(
                WEB,
                NODE,
                "deploys a container through the mounted Docker socket",
                "TA0004",
                "T1611",
                (
                    ev(
                        f"{base}/deploy/web.yaml",
                        30,
                        13,
                        "/spec/template/spec/volumes/1/hostPath/path",
                    ),
                ),
            ),
            Step(NODE, DB, "enters a pod that may run on the same node", "TA0008", "T1609", ()),
            Step(
                DB,
                DB_SECRET,
                "reads the secret mounted as a volume",
                "TA0006",
                "T1552.007",
                (
                    ev(
                        f"{base}/deploy/db.yaml",
                        40,
                        13,
                        "/spec/template/spec/volumes/0/secret/secretName",
                    ),
                ),
            ),
        ),
        impact=IMPACT["secrets"],
    )


def hostile_path(base: str) -> AttackPath:
    """A path whose object names try to break out of every format: quotes, brackets, pipes,
    backticks, HTML, Mermaid's entity syntax, a newline and Markdown links."""
    evil = Node(
        "container",
        'container:x"]; click n1 "javascript:alert(1)"',
        "Container 'a\"]\n%%-->b|x|`c`<img src=x>#quot;; [l](http://e) {y}'",
    )
    target = Node("node", "node", "a node")
    return AttackPath(
        steps=(
            Step(
                evil,
                target,
                'mounts "/" |read-write| <b>',
                "TA0004",
                "T1611",
                (ev(f"{base}/deploy/evil `x`.yaml", 3, 5, "/spec/volumes/0/hostPath/path"),),
            ),
        ),
        impact=IMPACT["node"],
    )


def moved(path: AttackPath, lines: int) -> AttackPath:
    """The same path with every evidence line moved by ``lines`` (an edit above it)."""
    return replace(
        path,
        steps=tuple(
            replace(step, evidence=tuple(replace(e, line=e.line + lines) for e in step.evidence))
            for step in path.steps
        ),
    )


def all_paths(base: str) -> list[AttackPath]:
    return [container_to_cluster(base), exposed_to_node(base), escape_then_secret(base)]
