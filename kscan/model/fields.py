"""Typed views (pydantic) of the Kubernetes fields kscan checks.

Types are strict, as the API server's JSON decoding is: ``privileged: "true"`` is a wrong type,
not ``True``. Fields kscan does not check are ignored, so unrelated oddities never make an object
invalid.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel


class KubeModel(BaseModel):
    """Base: camelCase aliases, strict types, unknown fields ignored, immutable. Fields are read
    by their API name only (``security_context`` is an unknown field, never securityContext),
    as the API server's case-sensitive decoding does. An explicit ``null`` (Helm's ``toYaml``
    of nothing) means the field is unset, as it does to Kubernetes."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=False,
        strict=True,
        extra="ignore",
        frozen=True,
        defer_build=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _null_is_unset(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data


class ObjectMeta(KubeModel):
    name: str | None = None
    generate_name: str | None = None
    namespace: str | None = None
    labels: dict[str, str] = {}


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
    """A pod's own fields (its containers are validated one by one, wherever they are)."""

    security_context: PodSecurityContext | None = None
    os: PodOS | None = None
    service_account_name: str | None = None
    service_account: str | None = None
    """Deprecated alias of ``serviceAccountName``, still honoured."""
    automount_service_account_token: bool | None = None


class LabelSelectorRequirement(KubeModel):
    key: str
    operator: str
    values: list[str] = []

    def matches(self, labels: dict[str, str]) -> bool:
        """In, NotIn, Exists, DoesNotExist; an unknown operator selects nothing."""
        present = self.key in labels
        if self.operator == "In":
            return present and labels[self.key] in self.values
        if self.operator == "NotIn":
            return not present or labels[self.key] not in self.values
        if self.operator == "Exists":
            return present
        return self.operator == "DoesNotExist" and not present


class LabelSelector(KubeModel):
    match_labels: dict[str, str] = {}
    match_expressions: list[LabelSelectorRequirement] = []

    def matches(self, labels: dict[str, str]) -> bool:
        """Label-selector semantics: every matchLabels pair and every expression must hold."""
        if any(labels.get(key) != value for key, value in self.match_labels.items()):
            return False
        return all(requirement.matches(labels) for requirement in self.match_expressions)


class NetworkPolicySpec(KubeModel):
    pod_selector: LabelSelector = LabelSelector()
    policy_types: list[str] | None = None
    ingress: list[dict[str, object]] | None = None
    egress: list[dict[str, object]] | None = None

    @property
    def effective_policy_types(self) -> frozenset[str]:
        """Directions it isolates; without policyTypes, Ingress plus Egress if it has rules."""
        if self.policy_types:  # an empty list is defaulted like a missing one
            return frozenset(self.policy_types)
        return frozenset({"Ingress", "Egress"} if self.egress else {"Ingress"})


class NetworkPolicy(KubeObjectModel):
    spec: NetworkPolicySpec = NetworkPolicySpec()


class PolicyRule(KubeModel):
    api_groups: list[str] = []
    resources: list[str] = []
    verbs: list[str] = []
    resource_names: list[str] = []
    non_resource_ur_ls: list[str] = Field(default=[], alias="nonResourceURLs")


class Role(KubeObjectModel):
    """A Role or a ClusterRole."""

    rules: list[PolicyRule] | None = None


class RoleRef(KubeModel):
    api_group: str | None = None
    kind: str = ""
    name: str = ""


class Subject(KubeModel):
    kind: str = ""
    name: str = ""
    namespace: str | None = None


class RoleBinding(KubeObjectModel):
    """A RoleBinding or a ClusterRoleBinding."""

    role_ref: RoleRef = RoleRef()
    subjects: list[Subject] | None = None
