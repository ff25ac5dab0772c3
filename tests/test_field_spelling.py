"""A field is read by its API spelling only. The API server decodes JSON case-sensitively into
its Go structs and drops a key no struct field is tagged with (k8s.io/apimachinery
``runtime/serializer/json`` ``Serializer.unmarshal``: ``kjson.UnmarshalCaseSensitivePreserveInts``
of sigs.k8s.io/json, whose keys "must exactly match json tag names"; under strict field
validation the object is refused instead), so ``security_context``, ``run_as_user``,
``Privileged`` or ``role_ref`` set nothing. For every field of every typed model kscan reads
(``kscan/model/fields.py``), a manifest sets it under its snake_case spelling and under
case-changed ones, to each of its most dangerous (and safest) values: the findings must be
exactly those of the manifest without the field, but for ``unknown-field`` (KS004), which
reports the key; and the API spelling must change what is found. Run end to end, through
``python -m kscan --format json``, all variants in one scan (each in its own namespace)."""

from __future__ import annotations

import copy
import inspect
import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic.alias_generators import to_camel

from kscan.model import fields

REPO = Path(__file__).resolve().parents[1]
NS, NAME = "@NS", "@NAME"
"""Placeholders: each variant's own namespace and name, so that no two variants meet in the
cross-object rules (namespace-wide, RBAC)."""

Docs = list[dict[str, Any]]


def pod() -> Docs:
    return [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": NAME, "namespace": NS, "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": "registry.example/app:1.0"}]},
        }
    ]


def pod_without_labels() -> Docs:
    docs = pod()
    del docs[0]["metadata"]["labels"]
    return [*docs, *policy({"podSelector": {"matchLabels": {"app": "web"}}})[1:]]


def config_map(**metadata: Any) -> Callable[[], Docs]:
    def build() -> Docs:
        return [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": dict(metadata)}]

    return build


def bare_config_map() -> Docs:
    return [{"apiVersion": "v1", "kind": "ConfigMap"}]


def policy(spec: dict[str, Any] | None) -> Docs:
    """A pod labelled app=web and a NetworkPolicy of its namespace (``spec`` None: none)."""
    document: dict[str, Any] = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": NAME, "namespace": NS},
    }
    if spec is not None:
        document["spec"] = spec
    return [*pod(), document]


def policy_with(spec: dict[str, Any] | None) -> Callable[[], Docs]:
    return lambda: policy(copy.deepcopy(spec))


BOTH = ["Ingress", "Egress"]
RULE = {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}
REF = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME}
SUBJECT = {"kind": "ServiceAccount", "name": "app", "namespace": NS}


def rbac(rule: dict[str, Any] | None = None, role: bool = True, **binding: Any) -> Docs:
    """A ClusterRole (with ``rule``, if given) and a ClusterRoleBinding with ``binding``."""
    cluster_role: dict[str, Any] = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": NAME},
    }
    if rule is not None:
        cluster_role["rules"] = [rule]
    bound: dict[str, Any] = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": NAME},
        **binding,
    }
    return [cluster_role, bound] if role else [bound]


def rbac_with(rule: dict[str, Any] | None = None, **binding: Any) -> Callable[[], Docs]:
    return lambda: rbac(copy.deepcopy(rule), **copy.deepcopy(binding))


def without(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k != key}


@dataclass(frozen=True)
class Case:
    """Where a model's field is written, and the values to try."""

    build: Callable[[], Docs]
    """The manifest without the field."""
    parent: tuple[str | int, ...]
    """The mapping the field goes in (created where missing), in document ``document``."""
    values: tuple[Any, ...]
    document: int = 0


CONTAINER = ("spec", "containers", 0)
CONTEXT = (*CONTAINER, "securityContext")
POD_CONTEXT = ("spec", "securityContext")
SELECTOR = ("spec", "podSelector")
EXPRESSION = (*SELECTOR, "matchExpressions", 0)
RESTRICTED = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
SELECT_ALL = {"podSelector": {}, "policyTypes": BOTH}

CASES: dict[tuple[type[fields.KubeModel], str], Case] = {
    (fields.ObjectMeta, "name"): Case(config_map(namespace="default"), ("metadata",), ("x",)),
    (fields.ObjectMeta, "generate_name"): Case(
        config_map(namespace="default"), ("metadata",), ("generated-",)
    ),
    (fields.ObjectMeta, "namespace"): Case(
        config_map(name=NAME), ("metadata",), ("default", "kube-system")
    ),
    (fields.ObjectMeta, "labels"): Case(pod_without_labels, ("metadata",), ({"app": "web"},)),
    (fields.KubeObjectModel, "api_version"): Case(
        # Argo's Workflow runs pods, a Workflow of no API group is nothing kscan knows.
        lambda: [
            {
                "kind": "Workflow",
                "metadata": {"name": NAME, "namespace": NS},
                "spec": {
                    "entrypoint": "main",
                    "templates": [{"name": "main", "container": {"image": "alpine:3.19"}}],
                },
            }
        ],
        (),
        ("argoproj.io/v1alpha1",),
    ),
    (fields.KubeObjectModel, "kind"): Case(
        lambda: [without(config_map(name=NAME, namespace="default")()[0], "kind")],
        (),
        ("ConfigMap",),
    ),
    (fields.KubeObjectModel, "metadata"): Case(
        bare_config_map, (), ({"name": NAME, "namespace": "default"},)
    ),
    (fields.Capabilities, "add"): Case(
        pod, (*CONTEXT, "capabilities"), (["SYS_ADMIN"], ["NET_RAW"])
    ),
    (fields.Capabilities, "drop"): Case(pod, (*CONTEXT, "capabilities"), (["ALL"],)),
    (fields.SeccompProfile, "type"): Case(
        pod, (*CONTEXT, "seccompProfile"), ("Unconfined", "RuntimeDefault")
    ),
    **{
        (fields.SecurityContext, name): Case(pod, CONTEXT, values)
        for name, values in {
            "privileged": (True, False),
            "allow_privilege_escalation": (True, False),
            "run_as_non_root": (True, False),
            "run_as_user": (0, 1000),
            "read_only_root_filesystem": (True, False),
            "capabilities": ({"add": ["SYS_ADMIN"]}, {"drop": ["ALL"]}),
            "seccomp_profile": ({"type": "Unconfined"}, {"type": "RuntimeDefault"}),
        }.items()
    },
    **{
        (fields.PodSecurityContext, name): Case(pod, POD_CONTEXT, values)
        for name, values in {
            "run_as_non_root": (True, False),
            "run_as_user": (0, 1000),
            "seccomp_profile": ({"type": "Unconfined"}, {"type": "RuntimeDefault"}),
        }.items()
    },
    (fields.Container, "name"): Case(pod, CONTAINER, ("other",)),
    (fields.Container, "security_context"): Case(
        pod, CONTAINER, ({"privileged": True, "runAsUser": 0}, RESTRICTED)
    ),
    (fields.PodOS, "name"): Case(pod, ("spec", "os"), ("windows",)),
    **{
        (fields.PodSpec, name): Case(pod, ("spec",), values)
        for name, values in {
            "security_context": (
                {"runAsUser": 0},
                {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            ),
            "os": ({"name": "windows"},),
            "service_account_name": ("app",),
            "service_account": ("app",),
            "automount_service_account_token": (True, False),
        }.items()
    },
    (fields.NetworkPolicy, "spec"): Case(policy_with(None), (), (SELECT_ALL,), document=1),
    (fields.NetworkPolicySpec, "pod_selector"): Case(
        policy_with({"policyTypes": BOTH}),
        ("spec",),
        ({"matchLabels": {"app": "other"}}, {}),
        document=1,
    ),
    (fields.NetworkPolicySpec, "policy_types"): Case(
        policy_with({"podSelector": {}}), ("spec",), (BOTH, ["Egress"]), document=1
    ),
    (fields.NetworkPolicySpec, "ingress"): Case(
        policy_with(SELECT_ALL), ("spec",), ([{}],), document=1
    ),
    (fields.NetworkPolicySpec, "egress"): Case(
        policy_with(SELECT_ALL), ("spec",), ([{}],), document=1
    ),
    (fields.LabelSelector, "match_labels"): Case(
        policy_with(SELECT_ALL), SELECTOR, ({"app": "other"}, {"app": "web"}), document=1
    ),
    (fields.LabelSelector, "match_expressions"): Case(
        policy_with(SELECT_ALL),
        SELECTOR,
        ([{"key": "app", "operator": "In", "values": ["other"]}],),
        document=1,
    ),
    (fields.LabelSelectorRequirement, "key"): Case(
        policy_with({**SELECT_ALL, "podSelector": {"matchExpressions": [{"operator": "Exists"}]}}),
        EXPRESSION,
        ("tier", "app"),
        document=1,
    ),
    (fields.LabelSelectorRequirement, "operator"): Case(
        policy_with(
            {**SELECT_ALL, "podSelector": {"matchExpressions": [{"key": "app", "values": ["web"]}]}}
        ),
        EXPRESSION,
        ("NotIn", "In"),
        document=1,
    ),
    (fields.LabelSelectorRequirement, "values"): Case(
        policy_with(
            {
                **SELECT_ALL,
                "podSelector": {"matchExpressions": [{"key": "app", "operator": "NotIn"}]},
            }
        ),
        EXPRESSION,
        (["web"], ["other"]),
        document=1,
    ),
    **{
        (fields.PolicyRule, name): Case(
            rbac_with(without(RULE, to_camel(name)), roleRef=REF, subjects=[SUBJECT]),
            ("rules", 0),
            values,
        )
        for name, values in {
            "api_groups": ([""], ["*"]),
            "resources": (["secrets"], ["*"]),
            "verbs": (["get", "list"], ["*"]),
            "resource_names": (["one"],),
        }.items()
    },
    (fields.PolicyRule, "non_resource_ur_ls"): Case(
        rbac_with(RULE, roleRef=REF, subjects=[SUBJECT]), ("rules", 0), (["*"], ["/metrics"])
    ),
    (fields.Role, "rules"): Case(
        rbac_with(roleRef=REF, subjects=[SUBJECT]),
        (),
        ([RULE], [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]),
    ),
    (fields.RoleBinding, "role_ref"): Case(
        rbac_with(RULE, subjects=[SUBJECT]),
        (),
        (REF, {**REF, "name": "cluster-admin"}),
        document=1,
    ),
    (fields.RoleBinding, "subjects"): Case(
        rbac_with(RULE, roleRef=REF),
        (),
        ([SUBJECT], [{"kind": "Group", "name": "system:anonymous"}]),
        document=1,
    ),
    **{
        (fields.RoleRef, name): Case(
            rbac_with(RULE, roleRef=without(REF, to_camel(name)), subjects=[SUBJECT]),
            ("roleRef",),
            values,
            document=1,
        )
        for name, values in {
            "api_group": ("rbac.authorization.k8s.io",),
            "kind": ("ClusterRole", "Role"),
            "name": (NAME, "cluster-admin"),
        }.items()
    },
    **{
        (fields.Subject, name): Case(
            rbac_with(RULE, roleRef=REF, subjects=[without(SUBJECT, name)]),
            ("subjects", 0),
            values,
            document=1,
        )
        for name, values in {
            "kind": ("ServiceAccount", "Group"),
            "name": ("default", "system:anonymous"),
            "namespace": ("kube-system",),
        }.items()
    },
}
READ_BY_NO_RULE = {(fields.RoleRef, "api_group"), (fields.PolicyRule, "non_resource_ur_ls")}
"""Fields no rule reads (the API server accepts only rbac.authorization.k8s.io as a roleRef's
apiGroup; no rule looks at non-resource URLs): their API spelling changes no finding either;
``test_the_models_read_the_api_spelling_only`` shows the models read them."""


def models() -> list[type[fields.KubeModel]]:
    return [
        model
        for _name, model in inspect.getmembers(fields, inspect.isclass)
        if issubclass(model, fields.KubeModel) and model is not fields.KubeModel
    ]


def own_fields(model: type[fields.KubeModel]) -> list[str]:
    """Fields a model declares itself (inherited ones are its base's cases)."""
    inherited = {
        name
        for base in model.__mro__[1:]
        if issubclass(base, fields.KubeModel)
        for name in base.model_fields()
    }
    return [name for name in model.model_fields() if name not in inherited]


def api_name(model: type[fields.KubeModel], name: str) -> str:
    return model.model_fields()[name].alias


def misspellings(model: type[fields.KubeModel], name: str) -> list[str]:
    """snake_case, Capitalized and lowercase spellings of the field that differ from its API
    name (``security_context``, ``SecurityContext``, ``securitycontext``)."""
    real = api_name(model, name)
    spellings = [name, real[0].upper() + real[1:], real.lower(), real.upper()]
    return list(dict.fromkeys(s for s in spellings if s != real))


def test_every_field_of_every_model_has_a_case() -> None:
    wanted = {(model, name) for model in models() for name in own_fields(model)}
    assert sorted(f"{m.__name__}.{n}" for m, n in wanted - CASES.keys()) == []
    assert sorted(f"{m.__name__}.{n}" for m, n in CASES.keys() - wanted) == []


def test_the_models_read_the_api_spelling_only() -> None:
    """The alias generator and ``populate_by_name=False``: a model takes each field by its API
    name and never by the Python name or another case."""
    for (model, name), case in CASES.items():
        base = {"kind": "X"} if issubclass(model, fields.KubeObjectModel) else {}
        required = {key: "x" for key, info in model.model_fields().items() if info.is_required()}
        value = case.values[0]
        value = value if not isinstance(value, str) else value.replace(NAME, "n")
        data = {**base, **{api_name(model, k): v for k, v in required.items()}}
        read = model.model_validate({**data, api_name(model, name): value})
        assert getattr(read, name) not in (None, [], {}, ""), (model, name)
        for spelling in misspellings(model, name):
            dropped = model.model_validate({**data, spelling: value})
            assert getattr(dropped, name) == getattr(model.model_validate(data), name), (
                model.__name__,
                spelling,
            )


def _set(docs: Docs, case: Case, key: str | None, value: Any = None) -> Docs:
    """The manifest with the field's parent mapping (made where missing) and, unless ``key`` is
    None, the field in it: a mapping whose every key the API drops is an empty one."""
    docs = copy.deepcopy(docs)
    node: Any = docs[case.document]
    for part in case.parent:
        node = node[part] if isinstance(part, int) else node.setdefault(part, {})
    if key is not None:
        node[key] = copy.deepcopy(value)
    return docs


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[Any, ...]]]:
    """Every variant in its own file, scanned at once: file name -> its findings."""
    folder = tmp_path_factory.mktemp("spellings")
    index = 0
    for (model, name), case in CASES.items():
        spellings = [api_name(model, name), *misspellings(model, name)]
        variants = [("absent", _set(case.build(), case, None))]
        variants += [
            (f"{spelling}-{number}", _set(case.build(), case, spelling, value))
            for number, value in enumerate(case.values)
            for spelling in spellings
        ]
        for label, docs in variants:
            index += 1
            text = "\n---\n".join(json.dumps(doc) for doc in docs)
            text = text.replace(NS, f"ns{index}").replace(NAME, f"n{index}")
            (folder / f"{model.__name__}.{name}.{label}.yaml").write_text(text + "\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kscan",
            "--format",
            "json",
            "--isolated",
            "--enable",
            "all",
            str(folder),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert result.returncode in (0, 1, 2), result.stderr  # 2: a required field left out
    report = json.loads(result.stdout)
    found: dict[str, list[tuple[Any, ...]]] = {
        path.name: [] for path in folder.iterdir() if path.suffix == ".yaml"
    }
    for finding in report["findings"]:
        if finding["rule_name"] != "unknown-field":
            found[Path(finding["path"]).name].append(
                (finding["rule_id"], finding["kind"], finding["container"], _neutral(finding))
            )
    for error in report["errors"]:  # the API's refusals (a required field missing)
        found[Path(error["path"]).name].append(("error", _neutral(error)))
    return {name: sorted(items, key=repr) for name, items in found.items()}


def _neutral(finding: dict[str, Any]) -> str:
    """The message without the variant's own namespace and name numbers."""
    return re.sub(r"\b(ns|n)\d+\b", r"\1#", finding["message"])


@pytest.mark.parametrize(
    ("model", "name"), sorted(CASES, key=lambda key: (key[0].__name__, key[1])), ids=str
)
def test_a_misspelled_field_is_never_read(
    scanned: dict[str, list[tuple[Any, ...]]], model: type[fields.KubeModel], name: str
) -> None:
    case = CASES[(model, name)]
    prefix = f"{model.__name__}.{name}."
    absent = scanned[f"{prefix}absent.yaml"]
    changed = False
    for number in range(len(case.values)):
        for spelling in misspellings(model, name):
            assert scanned[f"{prefix}{spelling}-{number}.yaml"] == absent, (spelling, number)
        changed |= scanned[f"{prefix}{api_name(model, name)}-{number}.yaml"] != absent
    assert changed or (model, name) in READ_BY_NO_RULE, "the API spelling changes nothing"


def test_a_misspelled_volume_type_is_no_volume_of_that_type(tmp_path: Path) -> None:
    """The ``*`` of ``volumes.*.*`` (restricted-volume-types) walks every key of a volume: a
    ``host_path`` key is dropped by the API server, so it is no hostPath volume (an unknown
    field, KS004), while ``hostPath`` is."""
    text = """\
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: shop}
spec:
  volumes:
    - {name: a, host_path: {path: /}}
    - {name: b, NFS: {server: nfs.example.com, path: /}}
    - {name: c, hostPath: {path: /var/log}}
  containers:
    - {name: app, image: registry.example/app:1.0}
"""
    (tmp_path / "p.yaml").write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "kscan", "--format", "json", "--isolated", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    findings = json.loads(result.stdout)["findings"]
    found = sorted((f["rule_name"], f["field"]) for f in findings)
    assert ("restricted-volume-types", "/spec/volumes/2/hostPath") in found
    assert not [f for rule, f in found if rule == "restricted-volume-types" and "/2/" not in f]
    assert ("unknown-field", "/spec/volumes/0/host_path") in found
    assert ("unknown-field", "/spec/volumes/1/NFS") in found
