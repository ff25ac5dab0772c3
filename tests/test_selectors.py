"""Label selectors (``LabelSelector.matches``, ``PolicyOutline.selects``) against Kubernetes.

Expected results follow k8s.io/apimachinery:

- ``pkg/labels/selector.go``, ``Requirement.Matches``: ``In`` needs the key present with a
  listed value; ``NotIn`` holds when the key is absent or its value is not listed; ``Exists``
  needs the key, ``DoesNotExist`` its absence; any other operator matches nothing (``default:
  return false``). ``internalSelector.Matches`` ANDs every requirement.
- ``pkg/apis/meta/v1/helpers.go``, ``LabelSelectorAsSelector``: a selector with neither
  ``matchLabels`` nor ``matchExpressions`` is ``labels.Everything()``; each ``matchLabels`` pair
  becomes an ``Equals`` requirement (key present with that value); an operator other than In,
  NotIn, Exists, DoesNotExist is an error ("is not a valid pod selector operator").
- ``pkg/labels/selector.go``, ``NewRequirement``, and ``pkg/apis/meta/v1/validation``,
  ``ValidateLabelSelectorRequirement``: In/NotIn without values, Exists/DoesNotExist with
  values, and any other operator are invalid, so the API server stores no such selector. For
  those the tests pin what kscan does instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kscan.model.fields import LabelSelector, NetworkPolicy
from kscan.model.inventory import PolicyOutline
from kscan.scan.engine import ScanResult

Labels = dict[str, str]
Matcher = Callable[[dict[str, Any], Labels], bool]


def by_selector(selector: dict[str, Any], labels: Labels) -> bool:
    return LabelSelector.model_validate(selector).matches(labels)


def by_policy(selector: dict[str, Any], labels: Labels) -> bool:
    policy = NetworkPolicy.model_validate(
        {"kind": "NetworkPolicy", "spec": {"podSelector": selector}}
    )
    return PolicyOutline.of(policy).selects(labels)


MATCHERS = pytest.mark.parametrize(
    "matches", [by_selector, by_policy], ids=["LabelSelector", "PolicyOutline"]
)


def expression(operator: str, *values: str, key: str = "tier") -> dict[str, Any]:
    requirement: dict[str, Any] = {"key": key, "operator": operator}
    if values:
        requirement["values"] = list(values)
    return {"matchExpressions": [requirement]}


FRONT: Labels = {"tier": "front"}
BACK: Labels = {"tier": "back"}
EMPTY: Labels = {"tier": ""}
OTHER: Labels = {"app": "front"}
NONE: Labels = {}

OPERATORS = [
    # Requirement.Matches, case In: absent key -> false; else hasValue.
    ("In", ("front", "edge"), FRONT, True),
    ("In", ("front", "edge"), BACK, False),
    ("In", ("front", "edge"), NONE, False),
    ("In", ("front",), OTHER, False),
    ("In", ("",), EMPTY, True),
    # Requirement.Matches, case NotIn: absent key -> true; else !hasValue.
    ("NotIn", ("back",), FRONT, True),
    ("NotIn", ("back",), BACK, False),
    ("NotIn", ("back",), NONE, True),
    ("NotIn", ("front",), OTHER, True),
    ("NotIn", ("",), EMPTY, False),
    # case Exists: ls.Has(key), whatever the value (an empty value is present).
    ("Exists", (), FRONT, True),
    ("Exists", (), EMPTY, True),
    ("Exists", (), NONE, False),
    ("Exists", (), OTHER, False),
    # case DoesNotExist: !ls.Has(key).
    ("DoesNotExist", (), FRONT, False),
    ("DoesNotExist", (), EMPTY, False),
    ("DoesNotExist", (), NONE, True),
    ("DoesNotExist", (), OTHER, True),
]


@MATCHERS
@pytest.mark.parametrize(
    ("operator", "values", "labels", "expected"),
    OPERATORS,
    ids=[f"{op}{list(values)}-{labels or 'no labels'}" for op, values, labels, _ in OPERATORS],
)
def test_operator(
    matches: Matcher, operator: str, values: tuple[str, ...], labels: Labels, expected: bool
) -> None:
    """Each operator with the key present (listed value, other value, empty value) and absent,
    as ``Requirement.Matches`` decides (pkg/labels/selector.go)."""
    assert matches(expression(operator, *values), labels) is expected


@MATCHERS
@pytest.mark.parametrize("labels", [FRONT, NONE], ids=["present", "absent"])
def test_empty_values(matches: Matcher, labels: Labels) -> None:
    """In/NotIn with ``values: []``: ``NewRequirement`` refuses them ("values set can't be
    empty"), so Kubernetes stores no such selector. kscan evaluates them as
    ``Requirement.Matches`` would with an empty set: In holds for nothing, NotIn for
    everything."""
    assert (
        matches({"matchExpressions": [{"key": "tier", "operator": "In", "values": []}]}, labels)
        is False
    )
    assert (
        matches({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": []}]}, labels)
        is True
    )
    assert matches(expression("In"), labels) is False  # values left out
    assert matches(expression("NotIn"), labels) is True


@MATCHERS
def test_exists_ignores_values(matches: Matcher) -> None:
    """Exists/DoesNotExist with values are invalid (``NewRequirement``: "values set must be
    empty"); kscan ignores the values."""
    assert matches(expression("Exists", "back"), FRONT) is True
    assert matches(expression("DoesNotExist", "back"), NONE) is True


@MATCHERS
@pytest.mark.parametrize("operator", ["in", "notin", "Equals", "Gt", "!", ""])
@pytest.mark.parametrize("labels", [FRONT, NONE], ids=["present", "absent"])
def test_unknown_operator_selects_nothing(matches: Matcher, operator: str, labels: Labels) -> None:
    """Operators are case-sensitive and only the four exist (``LabelSelectorAsSelector``
    returns an error for any other; ``Requirement.Matches`` falls to ``default: return
    false``). kscan treats a requirement with an unknown operator as matching nothing, so its
    selector selects no pod, whatever the labels."""
    assert matches(expression(operator, "front"), labels) is False
    assert matches(expression(operator), labels) is False


COMBINED: dict[str, Any] = {
    "matchLabels": {"app": "web", "team": ""},
    "matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["front", "edge"]},
        {"key": "env", "operator": "NotIn", "values": ["dev"]},
        {"key": "release", "operator": "Exists"},
        {"key": "canary", "operator": "DoesNotExist"},
    ],
}
ALL_HOLD: Labels = {"app": "web", "team": "", "tier": "edge", "release": "3", "extra": "x"}


@MATCHERS
def test_match_labels_and_expressions_are_anded(matches: Matcher) -> None:
    """``LabelSelectorAsSelector`` turns matchLabels into Equals requirements beside the
    expressions and ``internalSelector.Matches`` needs every one: the selector holds when
    all do (extra labels do not matter) and fails when any single one fails."""
    assert matches(COMBINED, ALL_HOLD) is True
    failing = [
        {"app": "api"},  # matchLabels value differs
        {"team": "x"},
        {"tier": "back"},  # In
        {"env": "dev"},  # NotIn, present and listed
        {"canary": "yes"},  # DoesNotExist
    ]
    for change in failing:
        assert matches(COMBINED, {**ALL_HOLD, **change}) is False, change
    for key in ("app", "team", "tier", "release"):  # absent: Equals, In, Exists fail
        labels = {k: v for k, v in ALL_HOLD.items() if k != key}
        assert matches(COMBINED, labels) is False, key
    assert matches(COMBINED, {**ALL_HOLD, "env": "prod"}) is True


@MATCHERS
def test_match_labels_need_the_key(matches: Matcher) -> None:
    """A matchLabels pair is an Equals requirement: absent key -> false, even for an empty
    value (``Requirement.Matches``, case Equals)."""
    assert matches({"matchLabels": {"team": ""}}, {"team": ""}) is True
    assert matches({"matchLabels": {"team": ""}}, {}) is False
    assert matches({"matchLabels": {"a": "1", "b": "2"}}, {"a": "1"}) is False
    assert matches({"matchLabels": {"a": "1", "b": "2"}}, {"a": "1", "b": "2", "c": "3"}) is True


@MATCHERS
@pytest.mark.parametrize(
    "selector",
    [
        {},
        {"matchLabels": {}},
        {"matchExpressions": []},
        {"matchLabels": {}, "matchExpressions": []},
    ],
)
def test_empty_selector_selects_everything(matches: Matcher, selector: dict[str, Any]) -> None:
    """No matchLabels and no matchExpressions: ``labels.Everything()``
    (``LabelSelectorAsSelector``)."""
    for labels in (NONE, FRONT, ALL_HOLD):
        assert matches(selector, labels) is True


def test_policy_outline_selects_all_only_for_an_empty_selector() -> None:
    """``selects_all`` (what default-deny relies on) is true exactly for an empty podSelector."""

    def outline(selector: dict[str, Any]) -> PolicyOutline:
        spec = {"podSelector": selector}
        return PolicyOutline.of(
            NetworkPolicy.model_validate({"kind": "NetworkPolicy", "spec": spec})
        )

    assert outline({}).selects_all
    assert outline({"matchLabels": {}, "matchExpressions": []}).selects_all
    assert not outline({"matchLabels": {"app": "web"}}).selects_all
    assert not outline(expression("NotIn", "back")).selects_all


PODS = """\
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: shop, labels: {labels}}}
spec:
  containers: [{{name: app, image: app:1}}]
---
"""
POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: isolate, namespace: shop}}
spec:
  podSelector:
    matchExpressions: [{expression}]
  policyTypes: [Ingress]
"""
LABELLED = {"plain": "{app: x}", "front": "{app: x, tier: front}", "back": "{app: x, tier: back}"}


@pytest.mark.parametrize(
    ("expression", "isolated"),
    [
        ("{key: tier, operator: NotIn, values: [back]}", {"plain", "front"}),
        ("{key: tier, operator: In, values: [front]}", {"front"}),
        ("{key: tier, operator: Exists}", {"front", "back"}),
        ("{key: tier, operator: DoesNotExist}", {"plain"}),
        ("{key: tier, operator: notin, values: [back]}", set()),
    ],
    ids=["NotIn", "In", "Exists", "DoesNotExist", "unknown"],
)
def test_selector_decides_pod_isolation(
    scan_text: Callable[..., ScanResult], expression: str, isolated: set[str]
) -> None:
    """Through a scan: the pods a NetworkPolicy's matchExpressions select are isolated for
    ingress, the others get a ``pod-ingress-not-isolated`` finding. With NotIn, the pod
    without the label is selected (``Requirement.Matches``: NotIn holds for an absent key)."""
    text = "".join(PODS.format(name=n, labels=ls) for n, ls in LABELLED.items())
    result = scan_text(text + POLICY.format(expression=expression))
    assert not result.errors
    unisolated = {f.name for f in result.findings if f.rule.name == "pod-ingress-not-isolated"}
    assert unisolated == set(LABELLED) - isolated


def test_policy_outline_keeps_same_namespace_peers_only_when_asked() -> None:
    """Rule peers of the policy's own namespace: a podSelector with no namespaceSelector
    (absent or null; k8s.io/api networking/v1 NetworkPolicyPeer: "Otherwise it selects the
    Pods matching PodSelector in the policy's own Namespace"); an empty podSelector (every
    pod), a namespaceSelector (other namespaces) or an ipBlock leaves the peer out. Facts keep
    them only for a rule that reports at them, since facts are kept for every object."""
    web = {"matchLabels": {"app": "web"}}
    spec = {
        "podSelector": {},
        "ingress": [
            {
                "from": [
                    {"podSelector": web},
                    {"podSelector": {}},
                    {"podSelector": web, "namespaceSelector": {}},
                    {"podSelector": web, "namespaceSelector": None},
                    {"ipBlock": {"cidr": "10.0.0.0/8"}},
                ]
            }
        ],
        "egress": [{"to": [{"podSelector": expression("In", "db")}]}, {"to": None}],
    }
    policy = NetworkPolicy.model_validate({"kind": "NetworkPolicy", "spec": spec})

    assert PolicyOutline.of(policy).peers == ()
    peers = PolicyOutline.of(policy, peers=True).peers
    assert [peer.pointer for peer in peers] == [
        ("ingress", 0, "from", 0, "podSelector"),
        ("ingress", 0, "from", 3, "podSelector"),
        ("egress", 0, "to", 0, "podSelector"),
    ]
    assert [peer.selects({"app": "web"}) for peer in peers] == [True, True, False]
    assert peers[2].selects({"tier": "db"})
