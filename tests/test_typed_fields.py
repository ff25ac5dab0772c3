"""Every field a rule reads is typed: a value of the wrong type is an input error (the API
server, or the kubelet for its configuration file, refuses the object), reported the same way
wherever it is, and the rules that read the field leave it to that error.

The types are the API's: ``kscan/model/api_fields.json`` (Go types of kubernetes/api and the
component configuration types) and the strict models of ``kscan/model/fields.py``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest

from kscan.checks.paths import Condition, parse_path
from kscan.model import api
from kscan.model.extract import MODELS
from kscan.model.fields import KubeModel
from kscan.rules.registry import Rule, load_rules

ROOTS = {"container": "Container", "pod": "PodSpec", "pod-metadata": "ObjectMeta"}
"""What the field template's targets decode into."""
_TOP = {"metadata": "ObjectMeta", "apiVersion": "string", "kind": "string"}
"""The fields every object has (TypeMeta and ObjectMeta)."""


def _api_type(type_name: str, names: tuple[tuple[str, ...], ...]) -> bool:
    """Whether a path (parsed segments) leads to typed fields of an API type."""
    if not names:
        return True
    head, rest = names[0], names[1:]
    if type_name.startswith("[]"):
        return (head == ("*",) or head[0].isdigit()) and _api_type(type_name[2:], rest)
    if type_name.startswith("map[string]"):
        return _api_type(type_name[len("map[string]") :], rest)
    if type_name == "object":
        return True  # a value the API takes as it is (a provider's options)
    try:
        fields = api.fields(type_name)
    except KeyError:
        return False  # a scalar cannot be walked into
    if head == ("*",):  # every field of the struct
        return all(_api_type(field, rest) for field in fields.values())
    return all(name in fields and _api_type(fields[name], rest) for name in head)


def _model_type(annotation: Any, names: tuple[tuple[str, ...], ...]) -> bool:
    """The same through a field model's annotations."""
    if not names:
        return True
    head, rest = names[0], names[1:]
    args = [a for a in get_args(annotation) if a is not type(None)]
    origin = get_origin(annotation)
    if origin is list:
        return (head == ("*",) or head[0].isdigit()) and _model_type(args[0], rest)
    if origin is dict:
        return _model_type(args[1], rest)
    if args and origin is not None and not isinstance(annotation, type):  # X | None
        return any(_model_type(arg, names) for arg in args)
    if isinstance(annotation, type) and issubclass(annotation, KubeModel):
        by_alias = {info.alias: info.annotation for info in annotation.model_fields().values()}
        return all(name in by_alias and _model_type(by_alias[name], rest) for name in head)
    return annotation is object  # a value taken as it is (a NetworkPolicy rule's peers)


def _typed(rule: Rule, condition: Condition) -> bool:
    names = parse_path(condition.path)
    params = rule.params
    target = getattr(params, "target", "object")
    if target in ROOTS:
        return _api_type(ROOTS[target], names)
    if names[0][0] in _TOP and len(names[0]) == 1:
        return _api_type(_TOP[names[0][0]], names[1:])
    kinds = getattr(params, "kinds", None) or []
    structs = {kind: struct for (_group, kind), struct in api.KIND_STRUCTS.items()}
    return bool(kinds) and all(
        (kind in structs and _api_type(structs[kind], names))
        or (kind in MODELS and _model_type(MODELS[kind], names))
        for kind in kinds
    )


def _field_conditions() -> list[tuple[str, Rule, Condition]]:
    return [
        (f"{rule.id}:{condition.path}", rule, condition)
        for rule in load_rules()
        if rule.template.name == "field"
        for condition in (*rule.params.conditions, *rule.params.when)
    ]


@pytest.mark.parametrize(("where", "rule", "condition"), _field_conditions())
def test_every_field_a_rule_reads_has_an_api_type(
    where: str, rule: Rule, condition: Condition
) -> None:
    assert _typed(rule, condition), f"{where} reads a field without an API type"


def test_the_resolver_refuses_an_untyped_field() -> None:
    """The test above can fail: a path through an unknown or scalar field is not typed."""
    assert not _api_type("PodSpec", parse_path("hostNetwork.nested"))
    assert not _api_type("PodSpec", parse_path("host_network"))
    assert _api_type("PodSpec", parse_path("containers.*.securityContext.privileged"))


WRONG_TYPES = """\
apiVersion: v1
kind: ServiceAccount
metadata: {name: sa, namespace: shop}
automountServiceAccountToken: "false"
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: "true"}
readOnlyPort: "10255"
---
apiVersion: v1
kind: Service
metadata: {name: s, namespace: shop}
spec:
  type: [NodePort]
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: shop}
spec:
  hostNetwork: "true"
  containers: [{name: c, image: nginx}]
"""


def test_wrong_types_are_input_errors_wherever_they_are(tmp_path: Path) -> None:
    """``hostNetwork: "true"`` and ``authentication.anonymous.enabled: "true"`` are refused
    by the API server and the kubelet alike (strict JSON decoding into bool): both are input
    errors (exit 2), and no rule reads the string as if it were the boolean."""
    manifest = tmp_path / "wrong.yaml"
    manifest.write_text(WRONG_TYPES)
    run = subprocess.run(
        [sys.executable, "-m", "kscan", "--enable", "all", "--format", "json", str(manifest)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2
    errors = [line.split(": error: ", 1)[1] for line in run.stderr.splitlines()]
    assert errors == [
        "ServiceAccount 'sa' is invalid: automountServiceAccountToken: expected a boolean",
        "KubeletConfiguration '<unnamed>' is invalid: authentication.anonymous.enabled: "
        "expected a boolean",
        "KubeletConfiguration '<unnamed>' is invalid: readOnlyPort: expected an integer",
        "Service 's' is invalid: spec.type: expected a string",
        "Pod 'p' is invalid: spec.hostNetwork: expected a boolean",
    ]
    fields = {(f["name"], f["field"]) for f in json.loads(run.stdout)["findings"]}
    read = {
        ("sa", "/automountServiceAccountToken"),
        ("<unnamed>", "/readOnlyPort"),
        ("<unnamed>", "/authentication/anonymous/enabled"),
        ("s", "/spec/type"),
        ("p", "/spec/hostNetwork"),
    }
    assert fields.isdisjoint(read)


def test_a_custom_resource_of_the_same_kind_is_not_judged_by_the_core_type() -> None:
    """A Knative ``Service`` is not a core/v1 Service: only the core group's kinds are typed."""
    assert api.struct_of("serving.knative.dev/v1", "Service") is None
    assert api.struct_of("v1", "Service") == "Service"
    assert api.struct_of("networking.k8s.io/v1", "Ingress") == "Ingress"
