"""Declared value classes (``kscan.support.declared``): validated by a pydantic twin, used as
plain instances (immutable, compared by their fields, pickled without pydantic)."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pydantic
import pytest

from kscan.checks.capabilities import CapabilitiesParams
from kscan.checks.fields import FieldParams
from kscan.checks.paths import Condition
from kscan.rules.fixes import Fix

CONDITION = {"path": "securityContext.privileged", "forbidden": [True]}
FIELD = {"target": "container", "conditions": [CONDITION]}


def test_a_validated_value_is_a_plain_instance_of_its_class() -> None:
    params = FieldParams.model_validate({**FIELD, "conditions": [{"path": "a", "absent": True}]})
    assert type(params) is FieldParams and type(params.conditions[0]) is Condition
    assert params.target == "container" and params.conditions[0].absent is True
    assert not isinstance(params, pydantic.BaseModel)
    with pytest.raises(AttributeError):
        params.target = "pod"  # type: ignore[misc]


def test_validators_of_the_class_and_its_bases_run() -> None:
    with pytest.raises(pydantic.ValidationError, match="needs at least one test"):
        Condition.model_validate({"path": "a"})  # Conditions' after validator, on a Condition
    with pytest.raises(pydantic.ValidationError, match="not a regular expression"):
        Condition.model_validate({"path": "a", "pattern": "("})  # a field validator
    with pytest.raises(pydantic.ValidationError, match=r"super-linear|backtrack"):
        Condition.model_validate({"path": "a", "pattern": "(a+)+$"})  # Params' own, on "*"
    with pytest.raises(pydantic.ValidationError, match="does not take minimum"):
        CapabilitiesParams.model_validate({"list": "add", "minimum": 1})  # the subclass' tests
    with pytest.raises(pydantic.ValidationError, match="at least 20 characters"):
        Fix.model_validate(
            {"action": "set", "path": "a", "value": True, "safety": "safe", "reason": "short"}
        )


def test_equal_by_fields_and_pickled_as_plain_values() -> None:
    params = FieldParams.model_validate(FIELD)
    again = FieldParams.model_validate(FIELD)
    assert params == again
    assert params != FieldParams.model_validate({**FIELD, "target": "pod"})
    _ = params.inherited  # a cached property is not a field
    assert params == again
    assert pickle.loads(pickle.dumps(params)) == params


def test_hashed_by_fields_as_pydantic_hashes_frozen_models() -> None:
    fix = {"action": "set", "path": "a", "value": True, "safety": "safe", "reason": "r" * 20}
    assert hash(Fix.model_validate(fix)) == hash(Fix.model_validate(fix))
    with pytest.raises(TypeError):  # a list field, as in pydantic
        hash(Condition.model_validate(CONDITION))


def test_a_dump_keeps_only_what_was_given() -> None:
    params = CapabilitiesParams.model_validate({"list": "drop", "must-include": ["ALL"]})
    assert params.model_dump(by_alias=True, exclude_unset=True) == {
        "list": "drop",
        "must-include": ["ALL"],
    }
    merged = {**params.model_dump(by_alias=True, exclude_unset=True), "spelling": "runtime"}
    assert CapabilitiesParams.model_validate(merged).names == "runtime"
    nested = FieldParams.model_validate(FIELD).model_dump(by_alias=True, exclude_defaults=True)
    assert nested == {"target": "container", "conditions": [CONDITION]}


def test_loading_a_cached_value_needs_no_pydantic() -> None:
    data = pickle.dumps(FieldParams.model_validate(FIELD))
    probe = (
        "import pickle, sys; value = pickle.loads(sys.stdin.buffer.read()); "
        "assert value.conditions[0].path == 'securityContext.privileged'; "
        "print('pydantic' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], input=data, capture_output=True, check=True
    )
    assert done.stdout.strip() == b"False"
