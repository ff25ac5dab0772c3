"""RBAC: what a Role or ClusterRole grants, checked rule by rule, with the bindings that use it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from kscan.checks.base import NoParams, Params, Violation, template
from kscan.model.inventory import BindingOutline, Inventory, ObjectFacts, RoleOutline, RuleOutline
from kscan.support.disclosure import shown


class RbacRuleParams(Params):
    """A role is reported when one of its rules grants any of ``verbs`` on any of ``resources``
    (``*`` in the role matches everything; ``pods/*`` matches ``pods/exec``) in ``api-groups``
    (``*``: any group; ``""``: the core group). Rules limited by resourceNames are least
    privilege and pass, unless ``resource-names`` lists names to look for; ``namespaces`` limits
    Roles (not ClusterRoles, which may be bound anywhere) to those namespaces."""

    verbs: list[str]
    """Verbs that make up the permission (any one of them grants it)."""
    resources: list[str]
    """Resources the verbs apply to (``pods``, ``pods/exec``)."""
    api_groups: tuple[str, ...] = ("*",)
    """API groups of the resources (``*``: any group; ``""``: the core group)."""
    resource_names: list[str] | None = None
    """A role rule limited by resourceNames counts only if it names one of these (unset: such
    rules pass)."""
    namespaces: list[str] | None = None
    """Only Roles in these namespaces (unset: every Role); ClusterRoles are always checked."""

    def kinds_seen(self) -> frozenset[str]:
        return frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})


def _covers(granted: tuple[str, ...], wanted: list[str]) -> list[str]:
    """The wanted items a role's list grants (``*`` grants all, ``x/*`` grants ``x/y``)."""
    if "*" in granted:
        return wanted
    return [
        w
        for w in wanted
        if w in granted or any(g.endswith("/*") and w.startswith(g[:-1]) for g in granted)
    ]


def grants(rule: RuleOutline, params: RbacRuleParams) -> tuple[list[str], list[str]] | None:
    """(verbs, resources) of ``params`` that ``rule`` grants, or None."""
    verbs = _covers(rule.verbs, params.verbs)
    resources = _covers(rule.resources, params.resources)
    if not verbs or not resources:
        return None
    if "*" not in params.api_groups and not _covers(rule.api_groups, list(params.api_groups)):
        return None
    if rule.resource_names and (
        params.resource_names is None or not set(rule.resource_names) & set(params.resource_names)
    ):
        return None
    return verbs, resources


@template("rbac-rule", scope="inventory", params=RbacRuleParams, reports=["role-rule-verbs"])
def rbac_rule(params: RbacRuleParams, inventory: Inventory) -> Iterator[Violation]:
    """Roles and ClusterRoles granting the permission, at the first rule that grants it; the
    message names the subjects bound to the role in the scanned set."""
    bindings: dict[tuple[str, str, str | None], list[str]] | None = None
    for obj in [*inventory.of_kind_anywhere("ClusterRole"), *inventory.of_kind_anywhere("Role")]:
        role = obj.model
        if not isinstance(role, RoleOutline) or not role.rules:
            continue
        if (
            obj.kind == "Role"
            and params.namespaces
            and obj.effective_namespace not in params.namespaces
        ):
            continue
        for index, rule in enumerate(role.rules):
            granted = grants(rule, params)
            if granted is None:
                continue
            if bindings is None:
                bindings = _subjects_by_role(inventory)
            verbs, resources = granted
            subjects = bindings.get(_role_key(obj), [])
            bound = f"; bound to {'; '.join(subjects)}" if subjects else ""
            message = (
                f"{obj.display} grants {', '.join(map(shown, verbs))} on "
                f"{', '.join(map(shown, resources))} "
                f"(rules[{index}]){bound}."
            )
            yield Violation((*obj.pointer, "rules", index, "verbs"), message, obj)
            break


def _role_key(role: ObjectFacts) -> tuple[str, str, str | None]:
    """(kind, name, namespace) of a role; a ClusterRole has no namespace."""
    namespace = role.effective_namespace if role.kind == "Role" else None
    return (role.kind, role.name, namespace)


def _subjects_by_role(inventory: Inventory) -> dict[tuple[str, str, str | None], list[str]]:
    """Every binding's subjects, indexed by the role it refers to (a RoleBinding's Role is in
    the binding's namespace), so that roles find their subjects without a scan of all bindings."""
    found: dict[tuple[str, str, str | None], list[str]] = defaultdict(list)
    for kind in ("ClusterRoleBinding", "RoleBinding"):
        for obj in inventory.of_kind_anywhere(kind):
            binding = obj.model
            if not isinstance(binding, BindingOutline):
                continue
            if obj.kind == "ClusterRoleBinding" and binding.role_kind != "ClusterRole":
                continue  # refused by the API server: it binds nothing
            namespace = obj.effective_namespace if binding.role_kind == "Role" else None
            for subject_kind, subject_namespace, name in binding.subjects:
                where = f"{subject_namespace}/" if subject_namespace else ""
                found[(binding.role_kind, binding.role_name, namespace)].append(
                    f"{subject_kind} {where}{name} via {obj.display}"
                )
    return found


EVERY_VERB = frozenset(
    {"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}
)
"""The verbs of every resource (``kubectl api-resources -o wide``): a rule granting all of them
on every resource reads every Secret and creates pods as any service account, which amounts to
cluster-admin even without ``*``."""


def admin_rule(rule: RuleOutline) -> bool:
    """Whether a role rule grants what cluster-admin grants: every verb (``*``, or all of
    ``EVERY_VERB``) on every resource (``*``) in every API group (``*``), with no resourceNames."""
    return (
        not rule.resource_names
        and "*" in rule.api_groups
        and "*" in rule.resources
        and ("*" in rule.verbs or set(rule.verbs) >= EVERY_VERB)
    )


class AdminBindingParams(NoParams):
    def kinds_seen(self) -> frozenset[str]:
        return frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})


@template(
    "rbac-admin-binding",
    scope="inventory",
    params=AdminBindingParams,
    reports=["binding-role-ref"],
)
def rbac_admin_binding(params: AdminBindingParams, inventory: Inventory) -> Iterator[Violation]:
    """RoleBindings and ClusterRoleBindings whose role, defined in the scanned set (or a context
    file), grants what cluster-admin grants under another name; reported at the binding's
    ``roleRef.name``, naming its subjects. A RoleBinding to a Role finds the Role in its own
    namespace; a RoleBinding to a ClusterRole grants it within the binding's namespace; a
    ClusterRoleBinding to a Role is refused by the API server and skipped, as are bindings to the
    ClusterRole ``cluster-admin`` itself (a rule of its own matches that name) and bindings
    without subjects."""
    admin: dict[tuple[str, str, str | None], int] = {}
    for obj in [*inventory.of_kind_anywhere("ClusterRole"), *inventory.of_kind_anywhere("Role")]:
        role = obj.model
        if isinstance(role, RoleOutline):
            index = next((i for i, rule in enumerate(role.rules) if admin_rule(rule)), None)
            if index is not None:
                admin.setdefault(_role_key(obj), index)
    if not admin:
        return
    for kind in ("ClusterRoleBinding", "RoleBinding"):
        for obj in inventory.of_kind_anywhere(kind):
            binding = obj.model
            if not isinstance(binding, BindingOutline) or not binding.subjects:
                continue
            if kind == "ClusterRoleBinding" and binding.role_kind != "ClusterRole":
                continue
            if binding.role_kind == "ClusterRole" and binding.role_name == "cluster-admin":
                continue
            namespace = obj.effective_namespace if binding.role_kind == "Role" else None
            index = admin.get((binding.role_kind, binding.role_name, namespace))
            if index is None:
                continue
            granted = f"{binding.role_kind} '{binding.role_name}'"
            scope = (
                "the whole cluster"
                if kind == "ClusterRoleBinding"
                else f"namespace '{obj.effective_namespace}'"
            )
            message = (
                f"{obj.display} grants {granted}, which allows every verb on every resource like "
                f"cluster-admin (its rules[{index}]), in {scope} to {_subject_list(binding)}."
            )
            yield Violation((*obj.pointer, "roleRef", "name"), message, obj)


def _subject_list(binding: BindingOutline) -> str:
    return ", ".join(
        f"{kind} {f'{namespace}/' if namespace else ''}{name}"
        for kind, namespace, name in binding.subjects
    )
