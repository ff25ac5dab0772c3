"""Value classes declared as pydantic models are (annotated fields with defaults, validators,
``Field(...)`` settings), whose validation pydantic builds only when data must be validated.

A scan reads its rules from the rule cache and never validates one, so it runs without
importing pydantic; validating (a rule file, a configuration's params) builds, once per class,
a pydantic model of the same fields, config and validators: the *twin*, named and placed as
its class is (its errors, docs and field docstrings are the class's). Validated values are
plain instances of the declared class: immutable, compared and hashed by their fields, and
pickled without pydantic.

Validators are declared with this module's ``field_validator``, ``model_validator`` and
``Field``, which take pydantic's arguments. An ``after`` model validator gets the plain
instance (its methods are the class's); field and ``before`` validators get the class.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from kscan.support.values import Record

_D = TypeVar("_D", bound="Declared")
_F = TypeVar("_F", bound=Callable[..., Any])
_VALIDATOR = "__declared_validator__"
_FIELDS_SET = "__fields_set__"


class _Validator(Record):
    kind: str  # "field" or "model"
    args: tuple[Any, ...]
    options: dict[str, Any]


class FieldSettings(Record):
    """``Field(...)`` as written in a class body: pydantic's ``Field`` arguments."""

    default: Any
    options: dict[str, Any]


def Field(default: Any = ..., **options: Any) -> Any:  # pydantic's name
    """A field's default with pydantic ``Field`` settings (``alias``, ``min_length``...)."""
    return FieldSettings(default, options)


def field_validator(*fields: str, **options: Any) -> Callable[[_F], _F]:
    """pydantic's ``field_validator``, applied when the twin is built."""

    def mark(function: _F) -> _F:
        setattr(function, _VALIDATOR, _Validator("field", fields, options))
        return function

    return mark


def model_validator(*, mode: str) -> Callable[[_F], _F]:
    """pydantic's ``model_validator`` (``before`` or ``after``), applied when the twin is built."""

    def mark(function: _F) -> _F:
        setattr(function, _VALIDATOR, _Validator("model", (), {"mode": mode}))
        return function

    return mark


class Declared:
    """Base of declared value classes. ``CONFIG``: pydantic ``ConfigDict`` settings, merged
    over those of the bases."""

    CONFIG: ClassVar[dict[str, Any]] = {}

    @classmethod
    def model_validate(cls: type[_D], data: Any) -> _D:
        """An instance read from ``data``; ``pydantic.ValidationError`` when it is invalid."""
        return _plain(cls, _twin(cls).model_validate(data))

    @classmethod
    def model_fields(cls) -> dict[str, Any]:
        """pydantic's ``FieldInfo`` of every field, by Python name."""
        return dict(_twin(cls).model_fields)

    def model_dump(self, **options: Any) -> dict[str, Any]:
        """pydantic's ``model_dump`` of this value (``by_alias``, ``exclude_unset``...)."""
        return _model(self).model_dump(**options)  # type: ignore[no-any-return]

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        """How a twin validates a field of this class: by this class's twin, into a plain
        instance."""
        from pydantic_core import core_schema

        return core_schema.no_info_after_validator_function(
            functools.partial(_plain, cls), handler.generate_schema(_twin(cls))
        )

    def _values(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k in _field_names(type(self))}

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Declared)
            and type(other) is type(self)
            and other._values() == self._values()
        )

    def __hash__(self) -> int:
        return hash((type(self), *self._values().values()))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in self._values().items())
        return f"{type(self).__name__}({shown})"


_NAMES: dict[type, frozenset[str]] = {}


def _field_names(cls: type[Declared]) -> frozenset[str]:
    """The fields of a class (its annotations and its bases', ``ClassVar`` ones left out),
    read without evaluating the annotations."""
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = frozenset(
            name
            for base in cls.__mro__
            for name, annotation in inspect.get_annotations(base).items()
            if not str(annotation).startswith(("ClassVar", "typing.ClassVar"))
        )
    return names


def _plain(cls: type[_D], model: Any) -> _D:
    """The plain instance of a validated twin instance."""
    value = object.__new__(cls)
    value.__dict__.update(model.__dict__)
    value.__dict__[_FIELDS_SET] = frozenset(model.model_fields_set)
    return value


def _model(value: Declared) -> Any:
    """The twin instance of a plain one (nested plain values made twins too), for dumping."""
    fields = {name: _modelled(item) for name, item in value._values().items()}
    twin = _twin(type(value))
    return twin.model_construct(_fields_set=set(value.__dict__.get(_FIELDS_SET, ())), **fields)


def _modelled(item: Any) -> Any:
    if isinstance(item, Declared):
        return _model(item)
    if isinstance(item, (list, tuple)):
        return type(item)(_modelled(element) for element in item)
    return item


_DECLARED: dict[Any, type[Declared]] = {}
"""Each twin's declared class."""
_TWINS: dict[type, Any] = {}


def _twin(cls: type[Declared]) -> Any:
    """The pydantic model of a declared class, built on first use."""
    if cls not in _TWINS:
        _TWINS[cls] = _build_twin(cls)
    return _TWINS[cls]


def _build_twin(cls: type[Declared]) -> Any:
    import pydantic

    bases = tuple(
        _twin(base) for base in cls.__bases__ if issubclass(base, Declared) and base is not Declared
    )
    config: dict[str, Any] = {}
    for base in reversed(cls.__mro__):
        config.update(base.__dict__.get("CONFIG", {}))
    hints = typing.get_type_hints(cls)
    namespace: dict[str, Any] = {
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
        "__annotations__": {},
        "model_config": pydantic.ConfigDict(**config),  # type: ignore[typeddict-item]
    }
    for name in inspect.get_annotations(cls):
        if typing.get_origin(hints[name]) is ClassVar:
            continue
        namespace["__annotations__"][name] = hints[name]
        if name in cls.__dict__:
            default = cls.__dict__[name]
            if isinstance(default, FieldSettings):
                default = pydantic.Field(default.default, **default.options)
            namespace[name] = default
    for name, function in cls.__dict__.items():
        marked = getattr(function, _VALIDATOR, None)  # on the classmethod, or the function
        if marked is not None:
            namespace[name] = _validator(function, marked)
    metaclass: Any = type(pydantic.BaseModel)
    twin = metaclass(cls.__name__, bases or (pydantic.BaseModel,), namespace)
    _DECLARED[twin] = cls
    return twin


def _validator(function: Any, marked: _Validator) -> Any:
    """A declared validator as pydantic's, given the declared class or a plain instance."""
    import pydantic

    if marked.kind == "field":
        inner = function.__func__
        with_info = len(inspect.signature(inner).parameters) == 3

        def field_check(twin_cls: Any, value: Any, *info: Any) -> Any:
            return inner(_DECLARED[twin_cls], value, *info)

        checked = _with_arity(field_check, with_info)
        validator: Any = pydantic.field_validator(*marked.args, **marked.options)
        return validator(classmethod(checked))
    if marked.options["mode"] == "before":
        inner = function.__func__

        def before(twin_cls: Any, data: Any) -> Any:
            return inner(_DECLARED[twin_cls], data)

        return pydantic.model_validator(mode="before")(classmethod(before))  # type: ignore[arg-type]

    def after(model: Any) -> Any:
        function(_plain(_DECLARED[type(model)], model))
        return model

    return pydantic.model_validator(mode="after")(after)


def _with_arity(check: Callable[..., Any], with_info: bool) -> Callable[..., Any]:
    """pydantic passes ``info`` to a field validator whose signature takes it."""
    if with_info:
        return lambda twin_cls, value, info: check(twin_cls, value, info)
    return lambda twin_cls, value: check(twin_cls, value)
