"""Field paths and conditions, the building blocks of the ``field`` template."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from kscan.checks.fields import FieldParams
from kscan.checks.paths import MISSING, Condition, Match, dotted, parse_path, select

DATA = {
    "containers": [
        {"name": "a", "ports": [{"containerPort": 80}, {"containerPort": 22, "hostPort": 2222}]},
        {"name": "b", "livenessProbe": {"tcpSocket": {"host": "10.0.0.1"}}},
    ],
    "metadata": {"labels": {"app.kubernetes.io/name": "web", "tier": "front"}},
}


def found(path: str, key_pattern: str | None = None) -> list[tuple[tuple[object, ...], object]]:
    return [(m.pointer, m.value) for m in select(DATA, path, (), key_pattern)]


def test_parse_path() -> None:
    assert parse_path('a.b|c.*.0["x.y/z"]') == (("a",), ("b", "c"), ("*",), ("0",), ("x.y/z",))


def test_wildcards_indexes_and_alternatives() -> None:
    assert found("containers.*.ports.*.containerPort") == [
        (("containers", 0, "ports", 0, "containerPort"), 80),
        (("containers", 0, "ports", 1, "containerPort"), 22),
    ]
    assert found("containers.1.livenessProbe|readinessProbe.tcpSocket|httpGet.host") == [
        (("containers", 1, "livenessProbe", "tcpSocket", "host"), "10.0.0.1")
    ]
    assert found('metadata.labels["app.kubernetes.io/name"]') == [
        (("metadata", "labels", "app.kubernetes.io/name"), "web")
    ]
    assert found("metadata.labels.*", key_pattern="^tier$") == [
        (("metadata", "labels", "tier"), "front")
    ]


def test_missing_fields_point_where_they_belong() -> None:
    assert found("containers.*.securityContext.privileged") == [
        (("containers", 0, "securityContext", "privileged"), MISSING),
        (("containers", 1, "securityContext", "privileged"), MISSING),
    ]
    assert found("spec.*.x") == []  # nothing to expand a wildcard over: no claim is made


@pytest.mark.parametrize(
    ("condition", "value", "problem"),
    [
        ({"required": True}, MISSING, "is not set"),
        ({"required": True}, [], "is not set"),
        ({"required": True}, 0, None),
        ({"absent": True}, MISSING, None),
        ({"absent": True}, {}, None),
        ({"absent": True}, {"a": 1}, "is set"),
        ({"allowed": [True]}, 1, "is 1"),  # strict: 1 is not true
        ({"allowed": [True]}, True, None),
        ({"forbidden": [0]}, False, None),  # strict: false is not 0
        ({"forbidden": [0]}, 0, "is 0"),
        ({"minimum": 10000}, 999, "is 999"),
        ({"minimum": 10000}, "999", None),  # not a number: not compared
        ({"maximum": 0}, 8080, "is 8080"),
        ({"pattern": "@sha256:"}, "nginx:1", "is nginx:1"),
        ({"forbidden-pattern": "^k8s\\.gcr\\.io/"}, "k8s.gcr.io/pause", "is k8s.gcr.io/pause"),
        ({"forbidden-pattern": "x"}, 5, None),
    ],
)
def test_conditions(condition: dict[str, object], value: object, problem: str | None) -> None:
    check = Condition.model_validate({"path": "f", **condition})
    assert check.problem(Match(("f",), value)) == problem
    for _ in range(2):  # the second answer comes from the memo of scalar verdicts
        assert check.meets(value) is (problem is None)


def test_remembered_verdicts_keep_types_apart_and_stay_out_of_pickles() -> None:
    """``meets`` remembers a scalar's verdict by type and value: ``1`` is not ``true`` (they
    are equal in Python), and the memo is neither pickled nor unbounded."""
    check = Condition.model_validate({"path": "f", "allowed": [True]})
    assert check.meets(True) and not check.meets(1) and check.meets(True) and not check.meets(1.0)
    copy = pickle.loads(pickle.dumps(check))
    assert copy == check and "_memo_meets" not in copy.__dict__
    assert not copy.meets(1) and copy.meets(True)
    for number in range(10_000):
        check.meets(number)
    assert len(check.__dict__["_memo_meets"]) <= 4096
    assert check.meets("x" * 10_000) is False  # long strings judged, not remembered


def test_bad_conditions_and_params_are_rejected() -> None:
    with pytest.raises(ValidationError, match="needs at least one test"):
        Condition.model_validate({"path": "f"})
    with pytest.raises(ValidationError, match="not a regular expression"):
        Condition.model_validate({"path": "f", "pattern": "("})
    with pytest.raises(ValidationError, match="unknown placeholder"):
        FieldParams.model_validate(
            {"conditions": [{"path": "f", "required": True}], "message": "{oops}"}
        )
    with pytest.raises(ValidationError, match="'inherit' applies to the container target only"):
        FieldParams.model_validate(
            {"target": "pod", "conditions": [{"path": "f", "required": True, "inherit": True}]}
        )


def test_dotted() -> None:
    assert dotted(("ports", 0, "hostPort")) == "ports[0].hostPort"


@pytest.mark.parametrize(
    "path",
    [
        "containers.*.ports.*.containerPort",
        "containers.*.ports.*.hostPort",
        "containers.1.livenessProbe.tcpSocket|httpGet.host",
        "containers.5.name",
        "containers.0.ports.1.hostPort",
        "metadata.labels.*",
        "metadata.missing.*",
        "metadata.labels.tier",
        "metadata.labels.absent",
        "containers.*.image",
        "containers.name",
    ],
)
@pytest.mark.parametrize(
    "test",
    [{"required": True}, {"absent": True}, {"maximum": 100}, {"forbidden": ["web", 2222]}],
)
def test_judging_without_matches_agrees_with_the_matches(
    path: str, test: dict[str, object]
) -> None:
    """``met_by`` (no pointers built) says what judging every match of ``select`` says."""
    for key_pattern in (None, "^t"):
        check = Condition.model_validate({"path": path, "key-pattern": key_pattern, **test})
        matches = list(select(DATA, path, (), key_pattern))
        assert check.met_by(DATA) is all(check.problem(match) is None for match in matches)


_KEYS = st.sampled_from(["a", "b", "t1", "x"])
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(["", "t", "web"])
)
_DATA = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_KEYS, inner, max_size=3)),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    data=_DATA,
    path=st.sampled_from(["a.*", "a.*.b", "*", "*.a", "a.b.*.t1.x", "t1.*.a"]),
    test=st.sampled_from(
        [{"required": True}, {"absent": True}, {"maximum": 1}, {"forbidden": ["web", 2, True]}]
    ),
    key_pattern=st.sampled_from([None, "^t"]),
)
def test_one_wildcard_paths_are_judged_as_their_matches(
    data: object, path: str, test: dict[str, object], key_pattern: str | None
) -> None:
    """The short cut for paths with one ``*`` between plain keys (``Condition.spread``) says
    what judging every match of ``select`` says, whatever the data's shape."""
    check = Condition.model_validate({"path": path, "key-pattern": key_pattern, **test})
    assert check.spread is not None
    matches = list(select(data, path, (), key_pattern))
    assert check.met_by(data) is all(check.problem(match) is None for match in matches)


def test_only_one_wildcard_between_plain_keys_takes_the_short_cut() -> None:
    def spread(path: str) -> object:
        return Condition.model_validate({"path": path, "required": True}).spread

    assert spread("volumes.*.hostPath.path") == (("volumes",), ("hostPath", "path"))
    assert spread("capabilities.add.*") == (("capabilities", "add"), ())
    for other in ("a.*.b.*", "a|b.*", "a.0.*", "a.b", "*.*"):
        assert spread(other) is None
