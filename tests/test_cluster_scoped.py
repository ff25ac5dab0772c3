"""Cluster-scoped objects have no namespace, whatever their manifest writes in
``metadata.namespace``: the API server clears the field of an object whose kind is not
namespaced (k8s.io/apiserver pkg/registry/rest/create.go, ``BeforeCreate``: ``else if
len(objectMeta.GetNamespace()) > 0 { objectMeta.SetNamespace(metav1.NamespaceNone) }``, and the
same in ``BeforeUpdate``). Findings on them carry no namespace, in messages, JSON and SARIF, and
no rule reads the stray field; the namespaces a ClusterRoleBinding names for its subjects are
the subjects' own and stay. Run end to end, through ``python -m kscan``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kscan.model.extract import CLUSTER_SCOPED, is_cluster_scoped

REPO = Path(__file__).resolve().parents[1]

STRAY = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: reader
  namespace: default
rules:
  - apiGroups: [""]
    resources: [secrets]
    verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: reader
  namespace: kube-system
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}
subjects:
  - {kind: ServiceAccount, name: app, namespace: shop}
---
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  namespace: default
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: fast
  namespace: default
provisioner: example.com/fast
"""


LONGHORN = (
    "apiVersion: longhorn.io/v1beta2\nkind: Node\n"
    "metadata: {name: worker-1, namespace: default}\n---\n"
    "apiVersion: v1\nkind: Node\nmetadata: {name: worker-1, namespace: default}\n"
)
DUPLICATE = (
    "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
    "metadata: {name: r, namespace: shop}\nrules: []\nrules: []\n"
)
TEMPLATE = """\
apiVersion: argoproj.io/v1alpha1
kind: ClusterWorkflowTemplate
metadata: {name: build, namespace: ci}
spec:
  templates:
    - name: main
      container: {image: alpine:3.19, command: [echo]}
"""
TO_A_ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader}
rules:
  - {apiGroups: [""], resources: [secrets], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects:
  - {kind: ServiceAccount, name: app, namespace: default}
"""
MANIFESTS = {
    "stray": STRAY,
    "longhorn": LONGHORN,
    "duplicate": DUPLICATE,
    "template": TEMPLATE,
    "to-a-role": TO_A_ROLE,
}


def kscan(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "kscan", "--isolated", *args, str(folder)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    return result


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each manifest in a file of its own (no two meet in cross-object rules)."""
    folder = tmp_path_factory.mktemp("scoped")
    for name, text in MANIFESTS.items():
        (folder / name).mkdir()
        (folder / name / "manifest.yaml").write_text(text)
    return folder


@pytest.fixture(scope="module")
def scanned(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """The JSON findings of one scan of every manifest, by manifest."""
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in MANIFESTS}
    report = kscan(folder, "--format", "json", "--enable", "all").stdout
    for finding in json.loads(report)["findings"]:
        found[Path(finding["path"]).parent.name].append(finding)
    return found


def named(findings: list[dict[str, Any]], rule: str) -> list[dict[str, Any]]:
    return [f for f in findings if f["rule_name"] == rule]


def test_a_stray_namespace_is_in_no_finding_message_or_field(
    scanned: dict[str, list[dict[str, Any]]],
) -> None:
    findings = scanned["stray"]
    assert findings
    assert {f["kind"] for f in findings} <= {"ClusterRole", "Namespace", "StorageClass"}
    assert all(f["namespace"] is None for f in findings if f["kind"] != "Namespace")
    # KS701 (placed in the default namespace) read the stray field: nothing here is in default.
    assert not [f for f in findings if f["rule_name"] == "default-namespace"]
    (secrets,) = [f for f in findings if f["rule_name"] == "rbac-read-secrets"]
    assert secrets["message"].startswith("ClusterRole 'reader' grants get, list on secrets")
    # The subject's namespace is its own, the binding has none.
    bound = "bound to ServiceAccount shop/app via ClusterRoleBinding 'reader'."
    assert secrets["message"].endswith(bound)
    (enforce,) = [f for f in findings if f["rule_name"] == "namespace-pss-enforce"]
    assert enforce["message"].startswith("Namespace 'shop':")
    assert enforce["namespace"] is None


def test_sarif_and_text_name_no_namespace(folder: Path) -> None:
    sarif = json.loads(kscan(folder / "stray", "--format", "sarif").stdout)
    results = sarif["runs"][0]["results"]
    assert results
    assert not [r for r in results if "namespace" in r["properties"]]
    for text in (
        kscan(folder / "stray").stdout,
        kscan(folder / "stray", "--format", "concise").stdout,
    ):
        assert "ClusterRole 'reader'" in text
        assert "default/" not in text and "kube-system/" not in text
    assert "ClusterRole 'reader' grants" in kscan(folder / "stray", "--format", "concise").stdout


def test_a_namespaced_kind_of_the_same_name_keeps_its_namespace(
    scanned: dict[str, list[dict[str, Any]]],
) -> None:
    """Scope belongs to a group's kind: Longhorn's ``Node`` (longhorn.io) is namespaced."""
    findings = named(scanned["longhorn"], "default-namespace")
    assert [(f["kind"], f["namespace"], f["message"]) for f in findings] == [
        ("Node", "default", "Node 'default/worker-1' is placed in the default namespace.")
    ]


def test_document_findings_on_a_cluster_scoped_object_carry_no_namespace(
    scanned: dict[str, list[dict[str, Any]]],
) -> None:
    findings = named(scanned["duplicate"], "duplicate-key")
    assert [(f["kind"], f["namespace"], f["name"]) for f in findings] == [
        ("ClusterRole", None, "r")
    ]


def test_the_pods_of_a_cluster_scoped_template_run_in_no_known_namespace(
    scanned: dict[str, list[dict[str, Any]]],
) -> None:
    """A ClusterWorkflowTemplate's pods run in the namespace of the Workflow that uses it: no
    namespace of the scan 'runs workloads' because of it; its pods' own fields still count."""
    findings = scanned["template"]
    names = {f["rule_name"] for f in findings}
    assert not names & {
        "namespace-limit-range",
        "namespace-resource-quota",
        "default-deny-network-policy",
        "pod-ingress-not-isolated",
        "pod-egress-not-isolated",
    }
    assert "automount-service-account-token" in names
    assert all(f["namespace"] is None for f in findings)


def test_a_cluster_role_binding_to_a_role_binds_nothing(
    scanned: dict[str, list[dict[str, Any]]],
) -> None:
    """The API server refuses a ClusterRoleBinding whose roleRef is not a ClusterRole
    (pkg/apis/rbac/validation ``ValidateClusterRoleBinding``: roleRef.kind NotSupported, only
    "ClusterRole"); it must not read as binding a Role of the namespace it writes, or of
    default."""
    findings = named(scanned["to-a-role"], "rbac-read-secrets")
    assert [f["message"] for f in findings] == ["Role 'reader' grants get on secrets (rules[0])."]


def test_every_built_in_cluster_scoped_kind_is_known() -> None:
    """``kubectl api-resources --namespaced=false`` of a current cluster (built-in groups)."""
    built_in = {
        ("v1", "ComponentStatus"),
        ("v1", "Namespace"),
        ("v1", "Node"),
        ("v1", "PersistentVolume"),
        ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
        ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"),
        ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"),
        ("admissionregistration.k8s.io/v1beta1", "MutatingAdmissionPolicy"),
        ("admissionregistration.k8s.io/v1beta1", "MutatingAdmissionPolicyBinding"),
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
        ("apiregistration.k8s.io/v1", "APIService"),
        ("authentication.k8s.io/v1", "SelfSubjectReview"),
        ("authentication.k8s.io/v1", "TokenReview"),
        ("authorization.k8s.io/v1", "SelfSubjectAccessReview"),
        ("authorization.k8s.io/v1", "SelfSubjectRulesReview"),
        ("authorization.k8s.io/v1", "SubjectAccessReview"),
        ("certificates.k8s.io/v1", "CertificateSigningRequest"),
        ("certificates.k8s.io/v1beta1", "ClusterTrustBundle"),
        ("flowcontrol.apiserver.k8s.io/v1", "FlowSchema"),
        ("flowcontrol.apiserver.k8s.io/v1", "PriorityLevelConfiguration"),
        ("internal.apiserver.k8s.io/v1alpha1", "StorageVersion"),
        ("networking.k8s.io/v1", "IngressClass"),
        ("networking.k8s.io/v1", "IPAddress"),
        ("networking.k8s.io/v1", "ServiceCIDR"),
        ("node.k8s.io/v1", "RuntimeClass"),
        ("rbac.authorization.k8s.io/v1", "ClusterRole"),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
        ("resource.k8s.io/v1", "DeviceClass"),
        ("resource.k8s.io/v1", "ResourceSlice"),
        ("resource.k8s.io/v1alpha3", "DeviceTaintRule"),
        ("scheduling.k8s.io/v1", "PriorityClass"),
        ("storage.k8s.io/v1", "CSIDriver"),
        ("storage.k8s.io/v1", "CSINode"),
        ("storage.k8s.io/v1", "StorageClass"),
        ("storage.k8s.io/v1", "VolumeAttachment"),
        ("storage.k8s.io/v1", "VolumeAttributesClass"),
        ("storagemigration.k8s.io/v1beta1", "StorageVersionMigration"),
    }
    assert [pair for pair in sorted(built_in) if not is_cluster_scoped(*pair)] == []
    namespaced = [
        ("v1", "Pod"),
        ("networking.k8s.io/v1", "NetworkPolicy"),
        ("rbac.authorization.k8s.io/v1", "Role"),
        ("storage.k8s.io/v1", "CSIStorageCapacity"),
        ("authorization.k8s.io/v1", "LocalSubjectAccessReview"),
        ("ipam.cluster.x-k8s.io/v1beta1", "IPAddress"),
        ("longhorn.io/v1beta2", "Node"),
    ]
    assert [pair for pair in namespaced if is_cluster_scoped(*pair)] == []
    assert all(kinds for kinds in CLUSTER_SCOPED.values())
