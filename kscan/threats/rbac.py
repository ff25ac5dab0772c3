"""RBAC as the attack graph reads it: which roles a service account holds through which
bindings, and whether a set of rules allows a request.

Sources (Kubernetes ``pkg/registry/rbac/validation/rule.go``): ``appliesToUser`` matches a
ServiceAccount subject by name and by its namespace, defaulting to the namespace of the
binding being evaluated (a RoleBinding's own; a ClusterRoleBinding's subject must name one,
``pkg/apis/rbac/validation/validation.go`` ``ValidateRoleBindingSubject``), a User subject
by the account's user name ``system:serviceaccount:<ns>:<name>``, and a Group subject by the
account's groups ``system:serviceaccounts``, ``system:serviceaccounts:<ns>`` and
``system:authenticated``. ``RuleAllows`` (``plugin/pkg/auth/authorizer/rbac/rbac.go``, with
``VerbMatches``, ``APIGroupMatches``, ``ResourceMatches`` and ``ResourceNameMatches`` of
``pkg/apis/rbac/v1/evaluation_helpers.go``) matches verbs, API groups and resources with
``*`` (``*`` also matches every subresource), a subresource as ``pods/exec`` or ``*/exec``,
and ``resourceNames`` against the request's object name. A top-level ``create`` carries no
name, so a named rule never allows it; but a subresource request (``pods/exec``,
``serviceaccounts/token``), ``get``, ``bind`` and ``impersonate`` carry one, so a named rule
does grant them on those objects. The graph's powers are over every object of a resource,
so a rule naming resources is read as granting none of them: a missed path, never a made-up
one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

from kscan.model.inventory import RuleOutline
from kscan.model.threat_facts import BindingFacts, RoleFacts, Spot, ThreatFacts
from kscan.support.values import dataclass

_ALL = RuleOutline(("*",), ("*",), ("*",), ())
_READ = ("get", "list", "watch")
_WRITE = ("create", "update", "patch", "delete", "deletecollection")
_EDIT = (
    RuleOutline(("",), ("pods", "secrets", "serviceaccounts"), (*_READ, *_WRITE), ()),
    RuleOutline(("",), ("pods/exec", "pods/attach", "pods/portforward"), ("create", "get"), ()),
    RuleOutline(("",), ("serviceaccounts",), ("impersonate",), ()),
    RuleOutline(("",), ("serviceaccounts/token",), ("create",), ()),
    RuleOutline(
        ("apps",),
        ("deployments", "daemonsets", "statefulsets", "replicasets"),
        (*_READ, *_WRITE),
        (),
    ),
    RuleOutline(("batch",), ("jobs", "cronjobs"), (*_READ, *_WRITE), ()),
)
"""What ``edit`` grants; ``admin`` grants it and the namespace's Roles and RoleBindings."""
BUILT_IN: dict[str, tuple[RuleOutline, ...]] = {
    "cluster-admin": (_ALL,),
    # The default user-facing roles (``kubectl get clusterrole admin -o yaml``), reduced to the
    # rules the attack graph reads; they are aggregated, and also gain the rules of the scanned
    # ClusterRoles labelled ``rbac.authorization.k8s.io/aggregate-to-<name>: "true"``.
    "admin": (
        *_EDIT,
        RuleOutline(
            ("rbac.authorization.k8s.io",), ("roles", "rolebindings"), (*_READ, *_WRITE), ()
        ),
    ),
    "edit": _EDIT,
    "view": (RuleOutline(("",), ("pods", "services", "configmaps"), _READ, ()),),
}
"""The built-in ClusterRoles the graph knows without their files (Kubernetes
``plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go``, ``ClusterRoles``):
``cluster-admin`` holds every verb on everything; ``edit`` (``system:aggregate-to-edit``)
reads secrets and ``pods/exec``, ``pods/attach``, ``pods/portforward``, writes pods,
workloads, secrets and service accounts (``Write``: create, update, patch, delete,
deletecollection), impersonates service accounts and creates ``serviceaccounts/token``;
``admin`` is ``edit`` plus reading and writing ``roles`` and ``rolebindings``
(``system:aggregate-to-admin``), with neither ``bind`` nor ``escalate``, so its bindings
grant only what it holds; ``view`` reads neither secrets nor exec."""
_AGGREGATES = {
    "admin": ("admin", "edit", "view"),
    "edit": ("edit", "view"),
    "view": ("view",),
}
"""Built-in role -> the ``aggregate-to-*`` labels whose ClusterRoles it gains (edit's and
view's flow into admin through edit and view, which aggregate to admin)."""


def allows(
    rule: RuleOutline, verb: str, group: str, resource: str, subresource: str = "", name: str = ""
) -> bool:
    """Whether one rule allows a request on every object of a resource (no resourceNames), or,
    given ``name``, on that object (its name among the rule's resourceNames, or none named)."""
    if rule.resource_names and (not name or name not in rule.resource_names):
        return False
    if verb not in rule.verbs and "*" not in rule.verbs:
        return False
    if group not in rule.api_groups and "*" not in rule.api_groups:
        return False
    wanted = f"{resource}/{subresource}" if subresource else resource
    return any(
        r == "*" or r == wanted or (subresource != "" and r == f"*/{subresource}")
        for r in rule.resources
    )


@dataclass(frozen=True, slots=True)
class Grant:
    """Rules an account holds through one binding, and where: the namespace they apply in
    (None: cluster-wide)."""

    scope: str | None
    rules: tuple[tuple[RuleOutline, ThreatFacts | None, Spot | None], ...]
    """Each rule with the role object that writes it and where (None for a built-in role)."""
    binding: ThreatFacts
    subject: Spot
    role_name: str


class Rbac:
    """The scanned roles and bindings, indexed by subject."""

    def __init__(self, objects: Iterable[ThreatFacts]) -> None:
        self.roles: dict[tuple[str, str | None, str], ThreatFacts] = {}
        self.bindings: list[ThreatFacts] = []
        self._by_subject: dict[tuple[str, str | None, str], list[tuple[ThreatFacts, int]]] = (
            defaultdict(list)
        )
        for obj in objects:
            if isinstance(obj.detail, RoleFacts):
                self.roles[(obj.kind, obj.namespace if obj.kind == "Role" else None, obj.name)] = (
                    obj
                )
            elif isinstance(obj.detail, BindingFacts):
                self.bindings.append(obj)
                for index, (kind, namespace, name) in enumerate(obj.detail.outline.subjects):
                    if kind == "ServiceAccount":
                        if namespace is None and obj.kind == "RoleBinding":
                            namespace = obj.effective_namespace
                        if namespace is None:
                            continue  # a ClusterRoleBinding's must name its namespace
                    else:
                        namespace = None
                    self._by_subject[(kind, namespace, name)].append((obj, index))

    def account_namespaces(self, name: str) -> Iterator[tuple[str, ThreatFacts, Spot]]:
        """The namespaces in which a binding names a ServiceAccount ``name``, with the binding
        and the subject's spot."""
        for (kind, namespace, subject), found in self._by_subject.items():
            if kind == "ServiceAccount" and subject == name and namespace is not None:
                for binding, index in found:
                    detail = binding.detail
                    assert isinstance(detail, BindingFacts)
                    yield namespace, binding, detail.subject_spots[index]

    def grants(self, namespace: str, name: str) -> Iterator[Grant]:
        """What the service account ``namespace/name`` holds, binding by binding."""
        keys = (
            ("ServiceAccount", namespace, name),
            ("User", None, f"system:serviceaccount:{namespace}:{name}"),
            ("Group", None, "system:serviceaccounts"),
            ("Group", None, f"system:serviceaccounts:{namespace}"),
            ("Group", None, "system:authenticated"),
        )
        for key in keys:
            for binding, index in self._by_subject.get(key, []):
                detail = binding.detail
                assert isinstance(detail, BindingFacts)
                outline = detail.outline
                scope = binding.effective_namespace if binding.kind == "RoleBinding" else None
                if outline.role_kind == "Role" and binding.kind != "RoleBinding":
                    continue  # a ClusterRoleBinding cannot refer to a Role
                rules = tuple(self._rules(outline.role_kind, scope, outline.role_name))
                if rules:
                    yield Grant(
                        scope, rules, binding, detail.subject_spots[index], outline.role_name
                    )

    def _rules(
        self, kind: str, namespace: str | None, name: str
    ) -> Iterator[tuple[RuleOutline, ThreatFacts | None, Spot | None]]:
        role = self.roles.get((kind, namespace if kind == "Role" else None, name))
        if role is None:
            if kind == "ClusterRole":
                for rule in BUILT_IN.get(name, ()):
                    yield rule, None, None
                for label in _AGGREGATES.get(name, ()):
                    yield from self._labelled(f"rbac.authorization.k8s.io/aggregate-to-{label}")
            return
        detail = role.detail
        assert isinstance(detail, RoleFacts)
        if kind == "ClusterRole" and detail.aggregation is not None:
            # an aggregated ClusterRole's rules are the controller's, its own are overwritten
            # (``k8s.io/api/rbac/v1`` ``ClusterRole.AggregationRule``: "the Rules are
            # controller managed and direct changes to Rules will be stomped by the
            # controller"; ``pkg/controller/clusterroleaggregation``); a scanned ``admin``,
            # ``edit`` or ``view`` still gains the cluster's own ``system:aggregate-to-*``
            for rule in BUILT_IN.get(name, ()) if name != "cluster-admin" else ():
                yield rule, None, None
            for other in self.roles.values():
                other_detail = other.detail
                assert isinstance(other_detail, RoleFacts)
                labels = dict(other_detail.labels)
                if (
                    other is not role
                    and other.kind == "ClusterRole"
                    and any(
                        all(labels.get(k) == v for k, v in selector)
                        for selector in detail.aggregation
                    )
                ):
                    yield from self._own(other)
            return
        yield from self._own(role)

    def _labelled(
        self, label: str
    ) -> Iterator[tuple[RuleOutline, ThreatFacts | None, Spot | None]]:
        for role in self.roles.values():
            detail = role.detail
            assert isinstance(detail, RoleFacts)
            if role.kind == "ClusterRole" and dict(detail.labels).get(label) == "true":
                yield from self._own(role)

    @staticmethod
    def _own(role: ThreatFacts) -> Iterator[tuple[RuleOutline, ThreatFacts | None, Spot | None]]:
        detail = role.detail
        assert isinstance(detail, RoleFacts)
        for rule, spot in zip(detail.outline.rules, detail.rule_spots, strict=True):
            yield rule, role, spot
