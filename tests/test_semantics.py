"""Kubernetes semantics the rules must respect, each shown by a small scan."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kscan.results.scan_result import ScanResult
from kscan.rules.registry import Rule
from kscan.scan.engine import scan

Scan = Callable[..., ScanResult]


def hits(result: ScanResult, rule: str) -> list[tuple[int, str | None]]:
    assert not result.errors, result.errors
    return sorted((f.span.line, f.container) for f in result.findings if f.rule.name == rule)


POD = """\
apiVersion: v1
kind: Pod
metadata: {{name: p, namespace: ns}}
spec:
  securityContext: {pod}
  initContainers: [{{name: init, image: i:1, securityContext: {container}}}]
  containers: [{{name: main, image: m:1, securityContext: {container}}}]
  ephemeralContainers: [{{name: debug, image: d:1, securityContext: {container}}}]
"""


def pod(pod_context: str = "{}", container_context: str = "{}") -> str:
    return POD.format(pod=pod_context, container=container_context)


@pytest.mark.parametrize(
    ("rule", "pod_context"),
    [
        ("run-as-non-root", "{runAsNonRoot: true}"),
        ("seccomp-profile", "{seccompProfile: {type: RuntimeDefault}}"),
    ],
)
def test_pod_level_settings_are_inherited_by_every_container(
    scan_text: Scan, rule: str, pod_context: str
) -> None:
    assert len(hits(scan_text(pod()), rule)) == 3
    assert hits(scan_text(pod(pod_context)), rule) == []


def test_container_setting_overrides_the_pod(scan_text: Scan) -> None:
    result = scan_text(pod("{runAsNonRoot: true}", "{runAsNonRoot: true}"))
    assert hits(result, "run-as-non-root") == []
    # A bad pod value is reported once, at the pod, even when every container overrides it:
    # it still applies to any container added later (an ephemeral debug container).
    result = scan_text(pod("{runAsNonRoot: false}", "{runAsNonRoot: true}"))
    assert hits(result, "run-as-non-root") == [(5, None)]
    result = scan_text(pod("{runAsNonRoot: true}", "{runAsNonRoot: false}"))
    assert [c for _, c in hits(result, "run-as-non-root")] == ["init", "main", "debug"]


def test_container_only_fields_are_not_inherited(scan_text: Scan) -> None:
    """``readOnlyRootFilesystem`` and ``allowPrivilegeEscalation`` exist only on containers."""
    result = scan_text(pod("{readOnlyRootFilesystem: true, allowPrivilegeEscalation: false}"))
    assert len(hits(result, "read-only-root-filesystem")) == 3
    assert len(hits(result, "allow-privilege-escalation")) == 3


def test_init_and_ephemeral_containers_are_checked_and_named(scan_text: Scan) -> None:
    result = scan_text(pod(container_context="{privileged: true}"))
    assert [c for _, c in hits(result, "privileged-container")] == ["init", "main", "debug"]
    messages = sorted(f.message for f in result.findings if f.rule.name == "privileged-container")
    assert messages[0].startswith("Container 'main' of Pod 'ns/p'")
    assert messages[1].startswith("Ephemeral container 'debug'")
    assert messages[2].startswith("Init container 'init'")


def test_drop_all_then_add_net_bind_service_passes(scan_text: Scan) -> None:
    caps = "{capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}}"
    result = scan_text(pod(container_context=caps))
    assert hits(result, "capabilities-drop-all") == []
    assert hits(result, "dangerous-capabilities") == []


def test_windows_pods_are_exempt_from_linux_only_controls(scan_text: Scan) -> None:
    text = pod().replace("spec:\n", "spec:\n  os: {name: windows}\n")
    result = scan_text(text)
    for rule in ("allow-privilege-escalation", "seccomp-profile", "capabilities-drop-all"):
        assert hits(result, rule) == [], rule
    assert len(hits(result, "run-as-non-root")) == 3


def namespace_scan(scan_text: Scan, *policies: str) -> list[str]:
    workload = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns}\nspec: {}\n"
    docs = [workload]
    for spec in policies:
        docs.append(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
            f"metadata: {{name: np{len(docs)}, namespace: ns}}\nspec: {spec}\n"
        )
    result = scan_text("---\n".join(docs))
    assert not result.errors, result.errors
    return sorted(
        "Ingress" if "ingress" in f.message else "Egress"
        for f in result.findings
        if f.rule.name == "default-deny-network-policy"
    )


@pytest.mark.parametrize(
    ("policies", "missing"),
    [
        ((), ["Egress", "Ingress"]),
        (("{podSelector: {}, policyTypes: [Ingress, Egress]}",), []),
        (("{podSelector: {}}",), ["Egress"]),  # no policyTypes: Ingress only
        (("{podSelector: {}, egress: []}",), ["Egress"]),  # empty egress list: still Ingress only
        (("{podSelector: {}, policyTypes: [Egress]}",), ["Ingress"]),
        (
            ("{podSelector: {matchLabels: {app: a}}, policyTypes: [Ingress, Egress]}",),
            ["Egress", "Ingress"],
        ),
        (("{podSelector: {}, policyTypes: [Ingress, Egress], ingress: [{}]}",), ["Ingress"]),
        (("{podSelector: {}}", "{podSelector: {}, policyTypes: [Egress]}"), []),
    ],
)
def test_default_deny_per_direction(
    scan_text: Scan, policies: tuple[str, ...], missing: list[str]
) -> None:
    assert namespace_scan(scan_text, *policies) == missing


def test_default_deny_is_one_finding_per_namespace_and_direction(scan_text: Scan) -> None:
    docs = [
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, namespace: {ns}}}\nspec: {{}}\n"
        for i, ns in enumerate(["a", "a", "b"])
    ]
    docs.append("apiVersion: v1\nkind: Pod\nmetadata: {name: nons}\nspec: {}\n")
    result = scan_text("---\n".join(docs))
    found = sorted(
        (f.name, f.kind) for f in result.findings if f.rule.name == "default-deny-network-policy"
    )
    assert (
        found
        == [("a", "Namespace")] * 2 + [("b", "Namespace")] * 2 + [("default", "Namespace")] * 2
    )
    first_a = [
        f for f in result.findings if f.name == "a" and f.rule.name == "default-deny-network-policy"
    ]
    assert {f.span.line for f in first_a} == {3}  # at the first workload of the namespace


def test_policy_in_another_file_counts(tmp_path: Path, rules: list[Rule]) -> None:
    (tmp_path / "app.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {}\n")
    (tmp_path / "policy.yaml").write_text(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: d}\n"
        "spec: {podSelector: {}, policyTypes: [Ingress, Egress]}\n"
    )
    result = scan([str(tmp_path)], rules)
    assert [f for f in result.findings if f.rule.name == "default-deny-network-policy"] == []


def test_invalid_object_is_reported_and_others_still_scanned(scan_text: Scan) -> None:
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\nspec:\n  containers: web\n---\n"
        + pod(container_context="{privileged: true}")
    )
    result = scan_text(text)
    assert len(result.errors) == 1
    error = result.errors[0]
    assert (error.line, error.column) == (5, 3)
    assert "Pod 'bad' is invalid: spec.containers" in error.message
    assert len([f for f in result.findings if f.rule.name == "privileged-container"]) == 3


def test_context_files_complete_cross_object_rules_without_being_reported(
    tmp_path: Path, rules: list[Rule]
) -> None:
    """What a pre-commit run on one changed file needs: policies elsewhere in the repo count."""
    (tmp_path / "app.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {}\n")
    (tmp_path / "policy.yaml").write_text(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: d}\n"
        "spec: {podSelector: {}, policyTypes: [Ingress]}\n"
    )
    (tmp_path / "other.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: q, namespace: elsewhere}\n"
        "spec: {containers: [{name: c, securityContext: {privileged: true}}]}\n"
    )
    (tmp_path / "broken.yaml").write_text("a: [\n")

    alone = scan([str(tmp_path / "app.yaml")], rules)
    with_context = scan([str(tmp_path / "app.yaml")], rules, context=[str(tmp_path)])

    def default_deny(result: ScanResult) -> list[str]:
        return sorted(
            "Ingress" if "ingress" in f.message else "Egress"
            for f in result.findings
            if f.rule.name == "default-deny-network-policy"
        )

    assert default_deny(alone) == ["Egress", "Ingress"]
    assert default_deny(with_context) == ["Egress"]  # the policy in policy.yaml covers ingress
    assert {f.path for f in with_context.findings} == {str(tmp_path / "app.yaml")}
    assert with_context.errors == [] and with_context.files == 1


def test_explicit_nulls_mean_unset(scan_text: Scan) -> None:
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: null}\nspec:\n"
        "  initContainers: null\n  securityContext: null\n"
        "  containers:\n"
        "  - {name: c, securityContext: {privileged: true, capabilities: {add: null}}}\n"
        "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: d}\n"
        "spec: {podSelector: null, policyTypes: [Ingress, Egress]}\n"
    )
    result = scan_text(text)
    assert hits(result, "privileged-container") == [(8, "c")]
    assert hits(result, "default-deny-network-policy") == []  # a null selector selects all


def test_empty_policy_types_default_to_ingress(scan_text: Scan) -> None:
    assert namespace_scan(scan_text, "{podSelector: {}, policyTypes: []}") == ["Egress"]


def test_duplicate_keys_outside_manifests_are_not_reported(scan_text: Scan) -> None:
    result = scan_text("on: push\njobs:\n  a: {runs-on: x, runs-on: y}\n", name="ci.yml")
    assert list(result.findings) == [] and result.errors == []


def test_duplicate_key_in_a_list_item_names_the_item(scan_text: Scan) -> None:
    text = (
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n"
        "  metadata: {name: a}\n  spec: {x: 1, x: 2}\n"
    )
    (finding,) = [f for f in scan_text(text).findings if f.rule.name == "duplicate-key"]
    assert (finding.kind, finding.name, finding.span.line) == ("Pod", "a", 7)


def test_empty_container_values_inherit_from_the_pod(scan_text: Scan) -> None:
    """``securityContext: {}`` or ``null`` on a container (Helm's toYaml of nothing) is unset."""
    result = scan_text(pod("{runAsNonRoot: true}", "{}"))
    assert hits(result, "run-as-non-root") == []
    assert hits(result, "security-context-missing") == []
    result = scan_text(pod("{}", "null"))
    assert [c for _, c in hits(result, "security-context-missing")] == ["init", "main", "debug"]


OVERRIDDEN = """\
apiVersion: v1
kind: Pod
metadata: {{name: p, namespace: ns}}
spec:
  securityContext: {pod}
  initContainers: [{{name: init, image: i:1, securityContext: {container}}}]
  containers: [{{name: main, image: m:1, securityContext: {container}}}]
"""


@pytest.mark.parametrize(
    ("rule", "pod_context", "container_context", "severity"),
    [
        # Pod Security admission does not check runAsGroup, nor UIDs above 0 (check_runAsUser.go
        # rejects only 0): a value no container runs with is worth an info finding at most.
        ("run-as-group-root", "{runAsGroup: 0}", "{runAsGroup: 10001}", "info"),
        ("run-as-group-low", "{runAsGroup: 0}", "{runAsGroup: 10001}", "info"),
        ("run-as-user-low", "{runAsUser: 0}", "{runAsUser: 10001}", "info"),
        # k8s.io/pod-security-admission/policy check_runAsUser.go and check_runAsNonRoot.go add
        # "pod" to badSetters for a pod-level runAsUser: 0 or runAsNonRoot: false whatever the
        # containers set; check_seccompProfile_restricted.go, check_appArmorProfile.go and
        # check_seLinuxOptions.go do the same for their pod-level values.
        (
            "run-as-non-root",
            "{runAsUser: 0}",
            "{runAsUser: 10001, runAsNonRoot: true}",
            "medium",
        ),
        (
            "run-as-non-root",
            "{runAsNonRoot: false}",
            "{runAsUser: 10001, runAsNonRoot: true}",
            "medium",
        ),
        (
            "seccomp-profile",
            "{seccompProfile: {type: Unconfined}}",
            "{seccompProfile: {type: RuntimeDefault}}",
            "medium",
        ),
        (
            "apparmor-unconfined",
            "{appArmorProfile: {type: Unconfined}}",
            "{appArmorProfile: {type: RuntimeDefault}}",
            "medium",
        ),
        (
            "selinux-custom-type",
            "{seLinuxOptions: {type: spc_t}}",
            "{seLinuxOptions: {type: container_t}}",
            "medium",
        ),
    ],
)
def test_pod_value_every_container_overrides(
    scan_text: Scan, rule: str, pod_context: str, container_context: str, severity: str
) -> None:
    """A bad pod-level value that every container overrides is reported at the pod with the
    rule's severity where admission rejects the pod-level value itself, else at info level."""
    result = scan_text(OVERRIDDEN.format(pod=pod_context, container=container_context))
    found = [f for f in result.findings if f.rule.name == rule]
    assert [(f.span.line, f.container, f.severity.value) for f in found] == [(5, None, severity)]
    if severity == "info":
        assert "every container overrides it" in found[0].message


@pytest.mark.parametrize(
    "rule", ["run-as-group-root", "run-as-group-low", "run-as-user-low", "run-as-non-root"]
)
def test_pod_value_one_container_inherits_keeps_the_rule_severity(
    scan_text: Scan, rules: list[Rule], rule: str
) -> None:
    """While one container (an ephemeral one here) inherits the pod's value, it is reported
    with the rule's own severity."""
    field = "runAsUser" if rule in ("run-as-user-low", "run-as-non-root") else "runAsGroup"
    text = pod(f"{{{field}: 0}}").replace(
        "initContainers: [{name: init, image: i:1, securityContext: {}}]",
        f"initContainers: [{{name: init, image: i:1, securityContext: {{{field}: 10001}}}}]",
    )
    result = scan_text(text)
    found = [f for f in result.findings if f.rule.name == rule and f.container is None]
    expected = next(r.severity for r in rules if r.name == rule)
    assert [(f.span.line, f.severity) for f in found] == [(5, expected)]


SUPERUSER = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: superuser}
rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]
"""
SUPERUSER_BINDING = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ci}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: superuser}
subjects: [{kind: ServiceAccount, name: deployer, namespace: ci}]
"""


def test_admin_equivalent_role_from_a_context_file_makes_the_binding_a_finding(
    tmp_path: Path, rules: list[Rule]
) -> None:
    """The binding is reported when its role is only in a context file, and a binding that is
    only context is not reported although its role is scanned."""
    (tmp_path / "role.yaml").write_text(SUPERUSER)
    (tmp_path / "binding.yaml").write_text(SUPERUSER_BINDING)
    binding, role = str(tmp_path / "binding.yaml"), str(tmp_path / "role.yaml")
    rule = "rbac-admin-equivalent-binding"

    assert hits(scan([binding], rules), rule) == []
    with_role = scan([binding], rules, context=[role])
    assert hits(with_role, rule) == [(4, None)]
    message = next(f.message for f in with_role.findings if f.rule.name == rule)
    assert "ServiceAccount ci/deployer" in message
    assert hits(scan([role], rules, context=[binding]), rule) == []


def test_a_cluster_role_binding_cannot_grant_a_role(scan_text: Scan) -> None:
    """The API server refuses a ClusterRoleBinding whose roleRef is a Role
    (kubernetes pkg/apis/rbac/validation/validation.go, ValidateClusterRoleBinding: roleRef.kind
    NotSupported unless "ClusterRole"), so a Role of the same name grants nothing through it."""
    text = SUPERUSER.replace("ClusterRole", "Role").replace("{name: superuser}", "{name: su}")
    binding = SUPERUSER_BINDING.replace("ClusterRole, name: superuser", "Role, name: su")
    result = scan_text(text + "---\n" + binding)
    assert hits(result, "rbac-admin-equivalent-binding") == []
    as_role_binding = binding.replace("ClusterRoleBinding", "RoleBinding")
    result = scan_text(text + "---\n" + as_role_binding)
    assert hits(result, "rbac-admin-equivalent-binding") == [(9, None)]


def test_policy_selecting_pods_of_a_context_file_selects_something(
    tmp_path: Path, rules: list[Rule]
) -> None:
    """The pods a NetworkPolicy is for may be in a context file; a policy that is only context
    is not reported. A peer's podSelector without namespaceSelector selects pods of the
    policy's namespace (k8s.io/api networking/v1 NetworkPolicyPeer: "Otherwise it selects the
    Pods matching PodSelector in the policy's own Namespace"), so pods of another namespace do
    not count."""
    (tmp_path / "app.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, labels: {app: web}}\n"
        "spec: {containers: [{name: web, image: web:1}]}\n"
    )
    (tmp_path / "policy.yaml").write_text(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        "metadata: {name: web, namespace: shop}\n"
        "spec:\n  podSelector: {matchLabels: {app: web}}\n"
        "  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]\n"
    )
    (tmp_path / "elsewhere.yaml").write_text(
        (tmp_path / "app.yaml").read_text().replace("namespace: shop", "namespace: other")
    )
    app, policy = str(tmp_path / "app.yaml"), str(tmp_path / "policy.yaml")
    rule = "network-policy-selects-nothing"
    chosen = [r for r in rules if r.name == rule]

    assert hits(scan([policy], chosen), rule) == [(5, None)]
    assert hits(scan([policy], chosen, context=[app]), rule) == []
    assert hits(scan([app], chosen, context=[policy]), rule) == []
    assert hits(scan([policy, str(tmp_path / "elsewhere.yaml")], chosen), rule) == [(5, None)]
