"""Whether a pod's service account token can be used for anything the scan shows: the
``token-unused`` condition of a fix (``kscan.rules.fixes.SafeWhen``).

A token authenticates its pod as the account's user ``system:serviceaccount:<ns>:<name>``,
with the groups ``system:serviceaccounts``, ``system:serviceaccounts:<ns>`` and
``system:authenticated``; RBAC grants a request only through a binding that names one of
them (Kubernetes ``pkg/registry/rbac/validation/rule.go``, ``appliesToUser``; a
ServiceAccount subject without a namespace takes the RoleBinding's). An account that no
binding names gets nothing from its token but what the cluster gives every authenticated
account, so without it the pod loses nothing the scan shows. This reads bindings as
carefully as it can, not as ``kscan.threats.rbac`` resolves grants: a binding counts
whatever role it refers to (one the scan does not define may still grant), and where a
namespace is not written (a workload or a RoleBinding applied with ``-n``) any namespace
may be the one. A projected ``serviceAccountToken`` volume is not the automounted token:
``automountServiceAccountToken`` does not remove it, so it is no reason to keep one."""

from __future__ import annotations

from collections.abc import Iterable

from kscan.model.threat_facts import BindingFacts, ThreatFacts

_USER = "system:serviceaccount:"
_GROUP = "system:serviceaccounts:"
_EVERY_ACCOUNT = frozenset({"system:serviceaccounts", "system:authenticated"})


class BoundAccounts:
    """The service accounts the bindings of a scan name, and the namespaces whose every
    account a group binding names."""

    def __init__(self, records: Iterable[ThreatFacts], complete: bool = True) -> None:
        """``complete`` False: the scan could not read every file or document (an input
        error), so any account may be bound by a binding it did not see."""
        self._accounts: set[tuple[str | None, str]] = set()
        """(namespace, name); namespace None: the binding may be applied in any."""
        self._namespaces: set[str] = set()
        self._everyone = not complete
        for record in records:
            if isinstance(record.detail, BindingFacts):
                self._read(record, record.detail)

    def _read(self, binding: ThreatFacts, detail: BindingFacts) -> None:
        for kind, namespace, name in detail.outline.subjects:
            if kind == "ServiceAccount":
                if not namespace and binding.kind != "RoleBinding":
                    continue  # a ClusterRoleBinding's must name one: the API refuses it
                self._accounts.add((namespace or binding.namespace or None, name))
            elif kind == "User" and name.startswith(_USER):
                account_namespace, colon, account = name[len(_USER) :].partition(":")
                if colon and account_namespace and account and ":" not in account:
                    self._accounts.add((account_namespace, account))
            elif kind == "Group" and name in _EVERY_ACCOUNT:
                self._everyone = True
            elif kind == "Group" and name.startswith(_GROUP) and len(name) > len(_GROUP):
                self._namespaces.add(name[len(_GROUP) :])

    def bound(self, namespace: str | None, account: str) -> bool:
        """Whether some binding may name the account ``account`` of ``namespace`` (None: a
        workload written without one, which may be applied in any namespace)."""
        if self._everyone or (namespace is None and self._namespaces):
            return True
        if namespace is None:
            return any(name == account for _, name in self._accounts)
        return (
            namespace in self._namespaces
            or (namespace, account) in self._accounts
            or (None, account) in self._accounts
        )


def service_account(pod_spec: dict[str, object]) -> str:
    """The account a pod runs as: ``serviceAccountName``, else the deprecated
    ``serviceAccount`` (``pkg/apis/core/v1/conversion.go``: "If both are specified,
    ServiceAccountName (the new field) wins"), else ``default`` (the ServiceAccount admission
    plugin's)."""
    for key in ("serviceAccountName", "serviceAccount"):
        name = pod_spec.get(key)
        if isinstance(name, str) and name:
            return name
    return "default"


def token_unused(pod_spec: dict[str, object], namespace: str | None, bound: BoundAccounts) -> bool:
    """The ``token-unused`` condition: the pod does not ask for the token in so many words
    (``automountServiceAccountToken: true`` says someone wants it, for a use kscan may not
    see) and no binding of the scan may name its account. Only for a pod spec written as one
    (it holds ``containers``): where a pod's fields come from several mappings (an Argo
    template over its workflow's ``spec``), its account may be named in another."""
    if not isinstance(pod_spec.get("containers"), list):
        return False
    if pod_spec.get("automountServiceAccountToken") is True:
        return False
    return not bound.bound(namespace, service_account(pod_spec))
