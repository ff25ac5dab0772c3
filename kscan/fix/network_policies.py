"""Default-deny NetworkPolicies for the namespaces that lack one, each in a new file of its own
(never added to an existing file)."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path

from kscan.results.findings import Finding
from kscan.support.values import dataclass

TEMPLATE = "namespace-default-deny"
"""The check template whose findings name a namespace without a default-deny policy."""
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
"""A namespace name as the API server accepts it (an RFC 1123 label): also a safe file name."""

POLICY = """\
# Written by kscan fix --write-network-policies: every pod of namespace {namespace} may neither
# receive nor send traffic (DNS included) until other NetworkPolicies allow the flows it needs.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: {namespace}
spec:
  podSelector: {{}}
  policyTypes: [Ingress, Egress]
"""


@dataclass(frozen=True)
class NewPolicy:
    """One policy file to create: where, and its text."""

    path: Path
    namespace: str
    text: str


def missing_policies(
    findings: Iterable[Finding], directory: Path
) -> tuple[list[NewPolicy], list[str]]:
    """The policy files for the namespaces the findings say lack a default deny (suppressed
    findings left out), and the namespaces whose name no namespace can have (skipped)."""
    namespaces = sorted(
        {
            finding.name
            for finding in findings
            if finding.rule.template.name == TEMPLATE
            and finding.suppression is None
            and finding.name
        }
    )
    valid = [name for name in namespaces if _NAMESPACE.fullmatch(name)]
    policies = [
        NewPolicy(directory / f"{name}-default-deny.yaml", name, POLICY.format(namespace=name))
        for name in valid
    ]
    return policies, [name for name in namespaces if name not in valid]


def create(policy: NewPolicy) -> None:
    """Write the policy to a new file, atomically: through a temporary file and a hard link,
    which fails (FileExistsError) rather than replace a file already there; raises OSError."""
    policy.path.parent.mkdir(parents=True, exist_ok=True)
    temporary = policy.path.with_name(f".{policy.path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "x", encoding="utf-8", newline="") as handle:
            handle.write(policy.text)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, policy.path)
    finally:
        temporary.unlink(missing_ok=True)
