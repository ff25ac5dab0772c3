"""Typed views (pydantic) of the Kubernetes fields kscan checks.

Types are strict, as the API server's JSON decoding is: ``privileged: "true"`` is a wrong type,
not ``True``. Fields kscan does not check are ignored, so unrelated oddities never make an object
invalid.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class KubeModel(BaseModel):
    """Base: camelCase aliases, strict types, unknown fields ignored, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, strict=True, extra="ignore", frozen=True
    )


class ObjectMeta(KubeModel):
    name: str | None = None
    generate_name: str | None = None
    namespace: str | None = None


class KubeObjectModel(KubeModel):
    """The fields every object has."""

    api_version: str | None = None
    kind: str
    metadata: ObjectMeta = ObjectMeta()


class Capabilities(KubeModel):
    add: list[str] = []
    drop: list[str] = []


class SeccompProfile(KubeModel):
    type: str | None = None


class SecurityContext(KubeModel):
    """A container's securityContext."""

    privileged: bool | None = None
    allow_privilege_escalation: bool | None = None
    run_as_non_root: bool | None = None
    run_as_user: int | None = None
    read_only_root_filesystem: bool | None = None
    capabilities: Capabilities | None = None
    seccomp_profile: SeccompProfile | None = None


class PodSecurityContext(KubeModel):
    """A pod's securityContext: defaults for the fields its containers do not set."""

    run_as_non_root: bool | None = None
    run_as_user: int | None = None
    seccomp_profile: SeccompProfile | None = None


class Container(KubeModel):
    name: str = ""
    security_context: SecurityContext | None = None


class PodOS(KubeModel):
    name: str | None = None


class PodSpec(KubeModel):
    containers: list[Container] = []
    init_containers: list[Container] = []
    ephemeral_containers: list[Container] = []
    security_context: PodSecurityContext | None = None
    os: PodOS | None = None


class LabelSelectorRequirement(KubeModel):
    key: str
    operator: str
    values: list[str] = []


class LabelSelector(KubeModel):
    match_labels: dict[str, str] = {}
    match_expressions: list[LabelSelectorRequirement] = []

    @property
    def selects_all(self) -> bool:
        """An empty selector selects every pod of the namespace."""
        return not self.match_labels and not self.match_expressions


class NetworkPolicySpec(KubeModel):
    pod_selector: LabelSelector = LabelSelector()
    policy_types: list[str] | None = None
    ingress: list[dict[str, object]] | None = None
    egress: list[dict[str, object]] | None = None

    @property
    def effective_policy_types(self) -> frozenset[str]:
        """Directions it isolates; without policyTypes, Ingress plus Egress if it has rules."""
        if self.policy_types is not None:
            return frozenset(self.policy_types)
        return frozenset({"Ingress", "Egress"} if self.egress else {"Ingress"})


class NetworkPolicy(KubeObjectModel):
    spec: NetworkPolicySpec = NetworkPolicySpec()
