"""The typed field models (``kscan/model/fields.py``) read data as pydantic's strict mode does:
the same values, and for data they refuse the same problems (locations, types and words, which
kscan's findings show). Each model is compared with a pydantic twin built from its declared
fields, on generated data shaped like the model's."""

from __future__ import annotations

import inspect
from typing import Any, get_args, get_origin

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kscan.input.tree import PosDict, PosList
from kscan.model import fields
from kscan.model.fields import Invalid, KubeModel

MODELS = [
    model
    for _name, model in inspect.getmembers(fields, inspect.isclass)
    if issubclass(model, KubeModel) and model is not KubeModel
]
_TWINS: dict[type[KubeModel], type[pydantic.BaseModel]] = {}


def _null_is_unset(data: Any) -> Any:
    if isinstance(data, dict):
        return {key: value for key, value in data.items() if value is not None}
    return data


def twin(model: type[KubeModel]) -> type[pydantic.BaseModel]:
    """A strict pydantic model of the same fields, API names and defaults."""
    if model not in _TWINS:
        declared: dict[str, Any] = {}
        for name, spec in model.model_fields().items():
            annotation = _twin_type(spec.annotation)
            default = ... if spec.is_required() else spec.default
            if isinstance(default, KubeModel):
                default = twin(type(default)).model_validate({})
            declared[name] = (annotation, pydantic.Field(default, alias=spec.alias))
        _TWINS[model] = pydantic.create_model(  # type: ignore[call-overload]
            model.__name__,
            __config__=pydantic.ConfigDict(strict=True, extra="ignore"),
            __validators__={
                "nulls": pydantic.model_validator(mode="before")(_null_is_unset)  # type: ignore[arg-type]
            },
            **declared,
        )
    return _TWINS[model]


def _twin_type(annotation: Any) -> Any:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is list:
        return list[_twin_type(args[0])]  # type: ignore[misc]
    if origin is dict:
        return dict[_twin_type(args[0]), _twin_type(args[1])]  # type: ignore[misc]
    if args:
        (kept,) = (arg for arg in args if arg is not type(None))
        return _twin_type(kept) | None
    if isinstance(annotation, type) and issubclass(annotation, KubeModel):
        return twin(annotation)
    return annotation


def _dump(value: Any) -> Any:
    if isinstance(value, (KubeModel, pydantic.BaseModel)):
        return (type(value).__name__, {k: _dump(v) for k, v in vars(value).items()})
    if isinstance(value, list):
        return [_dump(item) for item in value]
    if isinstance(value, dict):
        return {key: _dump(item) for key, item in value.items()}
    return value


def read(model: type[KubeModel], data: Any) -> tuple[str, Any]:
    try:
        return "read", _dump(model.model_validate(data))
    except Invalid as exc:
        return "invalid", [(p.loc, p.type, p.msg) for p in exc.problems]


def read_by_twin(model: type[KubeModel], data: Any) -> tuple[str, Any]:
    try:
        return "read", _dump(twin(model).model_validate(data))
    except pydantic.ValidationError as exc:
        return "invalid", [(e["loc"], e["type"], e["msg"]) for e in exc.errors()]


def _positioned(value: Any) -> Any:
    """Data as kscan's parser gives it: mappings and lists that remember positions."""
    if isinstance(value, dict):
        mapping = PosDict({key: _positioned(item) for key, item in value.items()})
        mapping.pos = {}
        return mapping
    if isinstance(value, list):
        items = PosList(_positioned(item) for item in value)
        items.pos = []
        return items
    return value


_KEYS = st.sampled_from(
    sorted(
        {spec.alias for model in MODELS for spec in model.model_fields().values()}
        | {"name", "key", "x", "security_context"}
    )
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.sampled_from(["", "In", "NotIn", "Exists", "windows", "true", "x"]),
)
_ODD_KEYS = st.one_of(_KEYS, st.integers(-3, 3), st.booleans(), st.none(), st.just(1.5))
DATA = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(_ODD_KEYS, inner, max_size=5)
    ),
    max_leaves=25,
)


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=DATA)
def test_a_model_reads_as_strict_pydantic_does(model: type[KubeModel], data: Any) -> None:
    assert read(model, data) == read_by_twin(model, data)
    assert read(model, _positioned(data)) == read_by_twin(model, _positioned(data))


def test_the_problems_pydantic_words() -> None:
    """A few fixed cases, with the words findings show."""
    data = {"securityContext": {"privileged": "true", "runAsUser": True}, "name": 1}
    assert read(fields.Container, data) == (
        "invalid",
        [
            (("name",), "string_type", "Input should be a valid string"),
            (("securityContext", "privileged"), "bool_type", "Input should be a valid boolean"),
            (("securityContext", "runAsUser"), "int_type", "Input should be a valid integer"),
        ],
    )
    string = "Input should be a valid string"
    assert read(fields.ObjectMeta, {"labels": {None: "a", 2**70: "b"}})[1] == [
        (("labels", "None", "[key]"), "string_type", string),
        (("labels", "1180591620717411303424", "[key]"), "string_type", string),
    ]
    assert read(fields.KubeObjectModel, {"metadata": []})[1] == [
        (("kind",), "missing", "Field required"),
        (
            ("metadata",),
            "model_type",
            "Input should be a valid dictionary or instance of ObjectMeta",
        ),
    ]


def test_models_are_immutable_and_compare_by_value() -> None:
    first = fields.Capabilities.model_validate({"add": ["NET_ADMIN"]})
    assert first == fields.Capabilities.model_validate({"add": ["NET_ADMIN"], "drop": None})
    assert first != fields.Capabilities.model_validate({"drop": ["ALL"]})
    with pytest.raises(AttributeError):
        first.add = []  # type: ignore[misc]
    assert fields.Capabilities().add == [] and fields.Capabilities().add is not first.add
