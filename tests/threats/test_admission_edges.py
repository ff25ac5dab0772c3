"""RBAC powers over cluster-scoped admission objects (approving client certificates,
registering admission webhooks) and the trusted registries of the supply chain, each present
and absent when its precondition is missing, with the Kubernetes sources cited per test."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from test_threats import model, pod, rbac, steps

from kscan.app import ThreatOptions, threats
from kscan.cli import cli
from kscan.scan.engine import scan
from kscan.threats.analysis import analyse

CSR = "certificates.k8s.io"
CREATE = f"{{apiGroups: [{CSR}], resources: [certificatesigningrequests], verbs: [create, get]}}"
APPROVAL = (
    f"{{apiGroups: [{CSR}], resources: [certificatesigningrequests/approval], verbs: [update]}}"
)
SIGNER = f"{{apiGroups: [{CSR}], resources: [signers], verbs: [approve]{{names}}}}"


def signer(names: str = "") -> str:
    return SIGNER.replace("{names}", f", resourceNames: [{names}]" if names else "")


def cluster_keys(tmp_path: Path, rules: str, binding: str = "ClusterRoleBinding") -> set[str]:
    return {key for _kind, key in steps(model(tmp_path, rbac(rules, binding)).graph)}


def test_approving_client_certificates(tmp_path: Path) -> None:
    """Creating a CSR, approving it (``update certificatesigningrequests/approval`` and
    ``approve`` on ``signers``) and reading it back signs a client certificate. The
    CertificateSubjectRestriction admission plugin refuses ``system:masters`` for
    ``kubernetes.io/kube-apiserver-client``
    (``plugin/pkg/admission/certificates/subjectrestriction``), so the step is to the user
    ``system:kube-controller-manager``, whose built-in role lists every resource and creates
    service account tokens: every namespace's secrets and accounts, not the cluster at once."""
    found = model(tmp_path, rbac(f"[{CREATE}, {APPROVAL}, {signer()}]", "ClusterRoleBinding"))
    keys = {key for _kind, key in steps(found.graph)}
    assert {
        "power:approve-certificates:*",
        "power:read-secrets:*",
        "power:create-tokens:*",
        "secrets:*",
    } <= keys
    onward = {s.target.key for s in found.graph.out["power:approve-certificates:*"]}
    assert onward == {"power:read-secrets:*", "power:create-tokens:*"}
    assert {s.technique for s in found.graph.out["power:approve-certificates:*"]} == {"T1649"}


@pytest.mark.parametrize(
    ("rules", "approves"),
    [
        # the signer named: IsAuthorizedForSignerName checks the name, then "<domain>/*"
        (f"[{CREATE}, {APPROVAL}, {signer('kubernetes.io/kube-apiserver-client')}]", True),
        (f"[{CREATE}, {APPROVAL}, {signer('kubernetes.io/*')}]", True),
        # another signer's certificates (kubelet serving) authenticate no client
        (f"[{CREATE}, {APPROVAL}, {signer('kubernetes.io/kubelet-serving')}]", False),
        (f"[{CREATE}, {APPROVAL}]", False),  # no approve on signers
        (f"[{CREATE}, {signer()}]", False),  # no update on the approval subresource
        (f"[{APPROVAL}, {signer()}]", False),  # cannot create the request
        (  # cannot read the signed certificate back
            f"[{CREATE.replace('create, get', 'create')}, {APPROVAL}, {signer()}]",
            False,
        ),
    ],
)
def test_certificate_approval_needs_every_part(tmp_path: Path, rules: str, approves: bool) -> None:
    assert ("power:approve-certificates:*" in cluster_keys(tmp_path, rules)) is approves


def test_certificate_approval_is_cluster_scoped(tmp_path: Path) -> None:
    """CSRs and signers are cluster-scoped: a RoleBinding grants nothing on them."""
    rules = f"[{CREATE}, {APPROVAL}, {signer()}]"
    assert not any(k.startswith("power:") for k in cluster_keys(tmp_path, rules, "RoleBinding"))


WEBHOOKS = "admissionregistration.k8s.io"


@pytest.mark.parametrize("verb", ["create", "patch", "update"])
def test_mutating_webhook_rewrites_every_pod(tmp_path: Path, verb: str) -> None:
    """A mutating webhook the attacker registers (its ``clientConfig.url`` any HTTPS server)
    is sent every pod the cluster admits and may rewrite it: its account, privileged, as
    creating pods in every namespace does; and every Secret written passes through it."""
    rules = f"[{{apiGroups: [{WEBHOOKS}], resources: [mutatingwebhookconfigurations], "
    rules += f"verbs: [{verb}]}}]"
    found = model(tmp_path, rbac(rules, "ClusterRoleBinding"))
    onward = {s.target.key for s in found.graph.out["power:mutating-webhooks:*"]}
    assert onward == {"power:create-pods:*", "secrets:*"}
    assert [s.target.key for s in found.paths[0].steps] == [
        "sa:app/sa",
        "power:mutating-webhooks:*",
        "power:create-pods:*",
        "node",
    ]


def test_validating_webhook_reads_secrets_only(tmp_path: Path) -> None:
    """A validating webhook sees what is written but changes nothing: the Secrets written."""
    rules = f"[{{apiGroups: [{WEBHOOKS}], resources: [validatingwebhookconfigurations], "
    found = model(tmp_path, rbac(rules + "verbs: [create]}]", "ClusterRoleBinding"))
    onward = {s.target.key for s in found.graph.out["power:validating-webhooks:*"]}
    assert onward == {"secrets:*"}
    reading = rbac(rules + "verbs: [get, list, watch, delete]}]", "ClusterRoleBinding")
    assert not any(k.startswith("power:") for _kind, k in steps(model(tmp_path, reading).graph))
    namespaced = rbac(rules + "verbs: [create]}]")
    assert not any(k.startswith("power:") for _kind, k in steps(model(tmp_path, namespaced).graph))


# Trusted registries -----------------------------------------------------------------------

IMAGES = (
    "containers:\n"
    "- {name: pinned, image: registry.example.com/web@sha256:0}\n"
    "- {name: outside, image: ghcr.io/other/web@sha256:0}\n"
    "- {name: tagged, image: registry.example.com/web:1}\n"
    "- {name: hub, image: nginx@sha256:0}"
)


def entries(tmp_path: Path, trusted: tuple[str, ...]) -> dict[str, str]:
    path = tmp_path / "objects.yaml"
    path.write_text(pod(IMAGES))
    result = scan([str(path)], [], threats=True)
    graph = analyse(result.threat_facts, trusted_registries=trusted).graph
    return {
        s.target.label.split("'")[1]: s.action
        for s in graph.steps()
        if s.source.key.startswith("image:")
    }


def test_images_outside_the_trusted_registries_are_entries(tmp_path: Path) -> None:
    """A digest fixes what is pulled, not who built it: with trusted registries configured,
    an image from any other is an upstream entry, pinned or not; a tag stays an entry."""
    found = entries(tmp_path, ("registry.example.com/",))
    assert found == {
        "outside": "runs an image from a registry outside the trusted ones",
        "tagged": "runs an image by mutable tag (no digest)",
        "hub": "runs an image from a registry outside the trusted ones",
    }
    # docker.io/library/ names the short form of Docker Hub's official images
    assert "hub" not in entries(tmp_path, ("registry.example.com/", "docker.io/library/"))


def test_a_trusted_prefix_ends_at_a_boundary(tmp_path: Path) -> None:
    """A prefix written without its ``/`` trusts its own host or repository, not a host or
    repository whose name merely starts the same (``registry.example.com.evil.io``)."""
    path = tmp_path / "objects.yaml"
    path.write_text(
        pod(
            "containers:\n"
            "- {name: own, image: registry.example.com/web@sha256:0}\n"
            "- {name: port, image: registry.example.com:5000/web@sha256:0}\n"
            "- {name: lookalike, image: registry.example.com.evil.io/web@sha256:0}\n"
            "- {name: org, image: ghcr.io/org/web@sha256:0}\n"
            "- {name: orgalike, image: ghcr.io/org-evil/web@sha256:0}"
        )
    )
    result = scan([str(path)], [], threats=True)
    graph = analyse(
        result.threat_facts, trusted_registries=("registry.example.com", "ghcr.io/org")
    ).graph
    outside = {
        s.target.label.split("'")[1] for s in graph.steps() if s.source.key.startswith("image:")
    }
    assert outside == {"lookalike", "orgalike"}


def test_no_trusted_registries_keeps_tags_only(tmp_path: Path) -> None:
    assert entries(tmp_path, ()) == {"tagged": "runs an image by mutable tag (no digest)"}


def test_command_reads_trusted_registries_from_the_configuration(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "objects.yaml").write_text(pod(IMAGES))
    report = threats(ThreatOptions((str(tmp_path),), output_format="json"))
    assert not any(step.source.key.startswith("image:ghcr") for step in report.model.graph.steps())
    (tmp_path / ".kscan.yaml").write_text("trusted-registries: [registry.example.com/]\n")
    report = threats(ThreatOptions((str(tmp_path),), output_format="json"))
    sources = {s.source.key for s in report.model.graph.steps() if s.source.kind == "entry"}
    assert "image:ghcr.io/other/web@sha256:0" in sources
    (tmp_path / ".kscan.yaml").write_text("trusted-registries: registry.example.com/\n")
    broken = CliRunner().invoke(cli, ["threats", str(tmp_path)])
    assert broken.exit_code == 2
    assert ".kscan.yaml:1:1: error: trusted-registries: 'registry.example.com/' is not of type" in (
        broken.output
    )
