"""Value classes: the part of :mod:`dataclasses` kscan uses, cheaper to define at start-up.

``@dataclass`` (``frozen``, ``slots``), ``field(default=..., default_factory=...)``,
``fields()`` and ``replace()`` behave as the standard library's do for the classes kscan
writes: the same ``__init__`` (with ``__post_init__``), ``__repr__``, ``__eq__`` and
``__hash__`` (a frozen class hashes the tuple of its fields), ``__match_args__``, frozen
instances that refuse assignment, slotted classes that pickle. What differs is the cost of a
class: the standard decorator compiles five or six methods per class as it is defined, about
a millisecond each time on a slow machine; here the methods are shared, and ``__init__``, the
only one that must know the fields, is compiled only once a class has made a few instances
(a class only ever unpickled, like most of a cached rule set, never compiles one).

``Record`` is ``typing.NamedTuple`` for class bodies, made the same way but without checking
each annotation (with postponed annotations, typing compiles every annotation string of every
field as a class is defined).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from operator import attrgetter
from types import CodeType, FunctionType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, overload

if TYPE_CHECKING:
    from typing import NamedTuple as Record

    from typing_extensions import dataclass_transform
else:

    def dataclass_transform(**_kwargs: Any) -> Callable[[Any], Any]:
        return lambda decorator: decorator

    class _RecordType(type):
        """Makes each class written on ``Record`` a ``collections.namedtuple`` of its annotated
        fields, with the body's defaults, methods and docstring, as ``typing.NamedTuple`` does."""

        def __new__(mcs, name: str, bases: tuple[type, ...], body: dict[str, Any]) -> Any:
            if not bases:
                return super().__new__(mcs, name, bases, body)
            if bases != (Record,) or "__classcell__" in body:
                raise TypeError(f"{name}: a Record derives from Record alone, without super()")
            annotations = body.get("__annotations__", {})
            names = list(annotations)
            first = next((i for i, field in enumerate(names) if field in body), len(names))
            if any(field not in body for field in names[first:]):
                raise TypeError(f"{name}: a field without a default follows one with a default")
            defaults = [body[field] for field in names[first:]]
            record = namedtuple(name, annotations, defaults=defaults, module=body["__module__"])
            record.__annotations__ = annotations
            for key, value in body.items():
                if key in _RECORD_FORBIDDEN:
                    raise AttributeError(f"{name}: cannot set {key} on a Record")
                if key not in annotations and key not in ("__module__", "__annotations__"):
                    setattr(record, key, value)
            return record

    Record = _RecordType("Record", (), {})
    _RECORD_FORBIDDEN = frozenset(
        ("__new__", "__init__", "__slots__", "__getnewargs__", "_fields", "_field_defaults")
    ) | {"_make", "_replace", "_asdict", "_source"}

__all__ = [
    "MISSING",
    "Field",
    "FrozenInstanceError",
    "Record",
    "dataclass",
    "field",
    "fields",
    "replace",
]

T = TypeVar("T")
C = TypeVar("C", bound=type)


class _Missing:
    """The default of a field without one."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class FrozenInstanceError(AttributeError):
    """An assignment to a field of a frozen instance."""


class Field:
    """One field of a value class: its name, and its default or the factory of its default."""

    __slots__ = ("default", "default_factory", "name")

    def __init__(self, default: Any = MISSING, default_factory: Any = MISSING) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.default = default
        self.default_factory = default_factory

    def __repr__(self) -> str:
        return f"Field(name={self.name!r})"


@overload
def field(*, default: T) -> T: ...
@overload
def field(*, default_factory: Callable[[], T]) -> T: ...
def field(*, default: Any = MISSING, default_factory: Any = MISSING) -> Any:
    """A field's default, or the factory called for each instance that is given none."""
    return Field(default, default_factory)


def fields(value: Any) -> tuple[Field, ...]:
    """The fields of a value class or of one of its instances, in ``__init__`` order."""
    try:
        found: tuple[Field, ...] = value.__value_fields__
    except AttributeError:
        raise TypeError("must be called with a value class or instance") from None
    return found


def replace(value: T, /, **changes: Any) -> T:
    """A copy of ``value`` with some fields changed, made by its class's ``__init__``."""
    for item in fields(value):
        if item.name not in changes:
            changes[item.name] = getattr(value, item.name)
    return type(value)(**changes)


@overload
def dataclass(cls: C, /) -> C: ...
@overload
def dataclass(*, frozen: bool = False, slots: bool = False) -> Callable[[C], C]: ...
@dataclass_transform(field_specifiers=(field, Field))
def dataclass(cls: Any = None, /, *, frozen: bool = False, slots: bool = False) -> Any:
    """Make ``cls`` a value class: its annotated class attributes (``ClassVar`` ones aside)
    are its fields, after those of the value classes it derives from."""
    if cls is None:
        return lambda cls: _make(cls, frozen, slots)
    return _make(cls, frozen, slots)


def _make(cls: Any, frozen: bool, slots: bool) -> Any:
    inherited: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for item in base.__dict__.get("__value_fields__", ()):
            inherited[item.name] = item
    own = cls.__dict__
    for name, annotation in own.get("__annotations__", {}).items():
        if _is_class_var(annotation):
            continue
        value = own.get(name, MISSING)
        item = value if isinstance(value, Field) else Field(default=value)
        item.name = name
        inherited[name] = item
        if slots and value is not MISSING:
            delattr(cls, name)  # a slot cannot share its name with a class attribute
        elif isinstance(value, Field):  # as dataclasses: the default, if any, stays the class's
            if item.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, item.default)
    items = tuple(inherited.values())
    names = tuple(item.name for item in items)
    if slots:
        cls = _slotted(cls, names)
    explicit_hash = "__hash__" in own and not (own["__hash__"] is None and "__eq__" in own)
    methods: dict[str, Any] = {
        "__value_fields__": items,
        "__match_args__": names,
        "__value_key__": staticmethod(_key_of(names)),
        "__init__": _lazy_init(cls),
        "__repr__": _repr,
        "__eq__": _eq,
    }
    if frozen:
        methods |= {"__setattr__": _refuse_setattr, "__delattr__": _refuse_delattr}
        if slots:
            methods |= {"__getstate__": _getstate, "__setstate__": _setstate}
    for name, method in methods.items():
        if name not in own or name.startswith("__value"):
            setattr(cls, name, method)
    if not explicit_hash:
        cls.__hash__ = _hash if frozen else None
    return cls


def _is_class_var(annotation: object) -> bool:
    if isinstance(annotation, str):
        return annotation.startswith(("ClassVar", "typing.ClassVar"))
    return annotation is ClassVar or getattr(annotation, "__origin__", None) is ClassVar


def _slotted(cls: Any, names: tuple[str, ...]) -> Any:
    """``cls`` again, with a slot for each field its bases have no slot for."""
    taken = {slot for base in cls.__mro__[1:] for slot in base.__dict__.get("__slots__", ())}
    body = {key: value for key, value in cls.__dict__.items() if key not in names}
    body.pop("__dict__", None)
    body.pop("__weakref__", None)
    body["__slots__"] = tuple(name for name in names if name not in taken)
    new = type(cls)(cls.__name__, cls.__bases__, body)
    new.__qualname__ = cls.__qualname__
    return new


def _key_of(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """A function from an instance to the tuple of its fields."""
    if len(names) >= 2:
        return attrgetter(*names)
    if names:
        one = attrgetter(names[0])
        return lambda value: (one(value),)
    return lambda value: ()


_COMPILE_AFTER = 16
"""Instances of a class made by the generic ``__init__`` before its own is compiled."""


def _lazy_init(cls: Any) -> Callable[..., None]:
    """The first ``__init__`` of ``cls``: it binds arguments in plain Python (slower per call,
    nothing to compile) until the class has made ``_COMPILE_AFTER`` instances, then puts the
    compiled one in its place. A short run compiles only the classes it makes many of."""
    made = 0

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        nonlocal made
        made += 1
        if made < _COMPILE_AFTER:
            _bind(cls, self, args, kwargs)
            return
        init = _init_of(cls)
        cls.__init__ = init
        init(self, *args, **kwargs)

    return __init__


def _bind(cls: Any, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """What the compiled ``__init__`` does, argument errors included."""
    items: tuple[Field, ...] = cls.__value_fields__
    where = f"{cls.__qualname__}.__init__()"
    if len(args) > len(items):
        given = f"{len(args) + 1} were given"
        raise TypeError(f"{where} takes {len(items) + 1} positional arguments but {given}")
    known = dict(zip((item.name for item in items), args, strict=False))
    for name, argument in kwargs.items():
        if name in known:
            raise TypeError(f"{where} got multiple values for argument {name!r}")
        known[name] = argument
    for item in items:
        argument = known.pop(item.name, MISSING)
        if argument is MISSING:
            if item.default_factory is not MISSING:
                argument = item.default_factory()
            elif item.default is not MISSING:
                argument = item.default
            else:
                raise TypeError(f"{where} missing required argument: {item.name!r}")
        object.__setattr__(value, item.name, argument)
    if known:
        raise TypeError(f"{where} got an unexpected keyword argument {next(iter(known))!r}")
    post_init = getattr(cls, "__post_init__", None)
    if post_init is not None:
        post_init(value)


_TEMPLATES: dict[tuple[int, bool], CodeType] = {}
"""The code of ``__init__`` by the number of fields and whether it calls ``_finish``, the
fields named ``_p0``, ``_p1``..."""


def _init_of(cls: Any) -> Callable[..., None]:
    """The ``__init__`` of ``cls``: the code of its shape with the fields' names put in, so
    that classes with as many fields compile it once. Defaults are the function's; default
    factories and ``__post_init__`` run in ``_finish``, after the fields are set."""
    items: tuple[Field, ...] = cls.__value_fields__
    defaults: list[Any] = []
    for item in items:
        if item.default is not MISSING or item.default_factory is not MISSING:
            defaults.append(item.default)  # MISSING for a factory: called in _finish
        elif defaults:
            raise TypeError(f"non-default argument {item.name!r} follows default argument")
    factories = tuple(item for item in items if item.default_factory is not MISSING)
    post_init = getattr(cls, "__post_init__", None)
    shape = (len(items), bool(factories or post_init))
    template = _TEMPLATES.get(shape) or _TEMPLATES.setdefault(shape, _template(*shape))
    names = {f"_p{index}": item.name for index, item in enumerate(items)}

    def renamed(values: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(
            names.get(value, value) if isinstance(value, str) else value for value in values
        )

    def _finish(self: Any) -> None:
        for item in factories:
            if getattr(self, item.name) is MISSING:
                object.__setattr__(self, item.name, item.default_factory())
        if post_init is not None:
            post_init(self)

    code = template.replace(
        co_varnames=renamed(template.co_varnames), co_consts=renamed(template.co_consts)
    )
    scope = {"_set": object.__setattr__, "_finish": _finish}
    init = FunctionType(code, scope, "__init__", tuple(defaults))
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def _template(count: int, finish: bool) -> CodeType:
    body = [f"_set(self, '_p{index}', _p{index})" for index in range(count)]
    if finish:
        body.append("_finish(self)")
    params = "".join(f", _p{index}" for index in range(count))
    scope: dict[str, Any] = {}
    exec(f"def __init__(self{params}):\n    " + "\n    ".join(body or ["pass"]), scope)
    code: CodeType = scope["__init__"].__code__
    return code


def _repr(self: Any) -> str:
    shown = ", ".join(f"{item.name}={getattr(self, item.name)!r}" for item in self.__value_fields__)
    return f"{type(self).__qualname__}({shown})"


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is self.__class__:
        return self.__value_key__(self) == self.__value_key__(other)
    return NotImplemented


def _hash(self: Any) -> int:
    return hash(self.__value_key__(self))


def _refuse_setattr(self: Any, name: str, value: object) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _refuse_delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _getstate(self: Any) -> tuple[Any, ...]:
    return tuple(self.__value_key__(self))


def _setstate(self: Any, state: tuple[Any, ...]) -> None:
    for item, value in zip(self.__value_fields__, state, strict=True):
        object.__setattr__(self, item.name, value)
