"""What a check template may see and say: violations carry a pointer and a message, never a
document or a file position; cross-object templates declare the fields they report at, and a
pointer outside them is located at its object instead of failing the scan."""

from __future__ import annotations

import pytest

from kscan.checks.base import NoParams, Violation, template
from kscan.checks.catalogue import load_templates
from kscan.input.documents import parse
from kscan.input.sources import Source
from kscan.model import KubeObject, extract_objects
from kscan.model.inventory import ObjectFacts

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: app
          image: nginx
"""


def _object(text: str) -> KubeObject:
    documents, errors = parse(Source("d.yaml", text, len(text), False))
    assert not errors
    [obj] = [o for o in extract_objects(documents[0]) if isinstance(o, KubeObject)]
    return obj


def test_violations_hold_no_document_and_no_span() -> None:
    names = set(Violation._fields)
    assert {"document", "span"}.isdisjoint(names)
    assert {"pointer", "message"} <= names


def test_cross_object_templates_declare_what_they_report() -> None:
    for found in load_templates().values():
        cross_object = found.scope in ("namespace", "inventory")
        assert bool(found.reports) == cross_object, found.name


def test_a_cross_object_template_must_declare_its_report_points() -> None:
    with pytest.raises(ValueError, match="declare reports"):
        template("undeclared", scope="namespace", params=NoParams)  # type: ignore[call-overload]


def test_facts_keep_only_the_declared_points() -> None:
    obj = _object(DEPLOYMENT)
    labels = ("spec", "template", "metadata", "labels")
    with_labels = ObjectFacts.of(obj, frozenset({"pod-labels"}))
    span, exact = with_labels.locate(labels)
    assert (span.line, exact) == (9, True)
    bare = ObjectFacts.of(obj, frozenset())
    assert bare.located == ((),)


def test_an_undeclared_pointer_is_located_at_its_object() -> None:
    """A new cross-object template that reports somewhere no template declared gets its
    finding at the object (not exact) instead of stopping the scan."""
    facts = ObjectFacts.of(_object(DEPLOYMENT), frozenset())
    span, exact = facts.locate(("spec", "template", "spec", "containers", 0, "image"))
    assert (span.line, exact) == (1, False)
    assert facts.stable_path(("spec", "replicas")) == "/spec/replicas"


@pytest.mark.parametrize(
    ("name", "prefix", "under"),
    [
        ("registry.example.com/app:1", "registry.example.com/", True),
        ("registry.example.com/app:1", "registry.example.com", True),
        ("registry.example.com:5000/app", "registry.example.com", True),
        ("registry.example.com.evil.io/app:1", "registry.example.com", False),
        ("ghcr.io/org/app@sha256:0", "ghcr.io/org", True),
        ("ghcr.io/org-evil/app", "ghcr.io/org", False),
        ("docker.io/library/nginx:1", "docker.io/library/nginx", True),
        ("docker.io/library/nginx-evil:1", "docker.io/library/nginx", False),
    ],
)
def test_an_allowed_prefix_ends_where_a_part_of_the_image_name_does(
    name: str, prefix: str, under: bool
) -> None:
    from kscan.checks.images import under_prefix

    assert under_prefix(name, prefix) is under


def test_an_inherited_value_is_looked_for_with_the_key_pattern() -> None:
    """A container condition with ``inherit`` and a ``key-pattern`` falls back to the pod's
    keys that match the pattern only: a pod that sets another key sets nothing it inherits."""
    from kscan.checks.fields import FieldParams, field

    params = FieldParams.model_validate(
        {
            "target": "container",
            "conditions": [
                {
                    "path": "resources.limits.*",
                    "key-pattern": "^cpu$",
                    "inherit": True,
                    "required": True,
                }
            ],
        }
    )

    def reported(pod_limits: str) -> list[tuple[object, ...]]:
        text = DEPLOYMENT.replace(
            "      containers:\n",
            f"      resources: {{limits: {pod_limits}}}\n      containers:\n",
        ).replace("image: nginx", 'image: nginx\n          resources: {limits: {cpu: ""}}')
        return [violation.pointer for violation in field(params, _object(text))]

    container_cpu = ("spec", "template", "spec", "containers", 0, "resources", "limits", "cpu")
    assert reported("{cpu: 500m}") == []  # the pod's cpu limit applies
    assert reported("{memory: 1Gi}") == [container_cpu]  # no cpu limit to inherit
