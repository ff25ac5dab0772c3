"""Typed views of the Kubernetes fields kscan checks.

Types are strict, as the API server's JSON decoding is: ``privileged: "true"`` is a wrong type,
not ``True``. Fields kscan does not check are ignored, so unrelated oddities never make an object
invalid. A model declares its fields as annotated class attributes with their defaults; its
validator is built from them on first use (plain code: a scan does without pydantic), and
reports problems as pydantic's strict mode words them (``Input should be a valid string``),
since those words appear in kscan's findings.

No ``from __future__ import annotations`` here: the fields' annotations are objects from the
start, so building a validator evaluates no annotation string (54 ``eval`` calls, about 1% of the
instructions of a one-file scan); a class may only name classes defined above it.
"""

import inspect
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar, get_args, get_origin

from kscan.support.values import Record

_M = TypeVar("_M", bound="KubeModel")
_MISSING: Any = object()
Loc = tuple[Any, ...]


class Problem(Record):
    """One field that fails validation: where (API names and list indexes), its kind of
    problem (``string_type``, ``missing``...) and what it should be."""

    loc: Loc
    type: str
    msg: str


class Invalid(ValueError):
    """Data a model cannot be read from, with every problem found in it."""

    def __init__(self, model: type["KubeModel"], problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problems validating {model.__name__}")
        self.problems = problems


class FieldSpec(Record):
    """One declared field: its API name, type and default (none: required)."""

    alias: str
    annotation: Any
    default: Any

    def is_required(self) -> bool:
        return self.default is _MISSING


Check = Callable[[Any, Loc, list[Problem]], Any]
"""Returns the value read, or ``_MISSING`` after appending the value's problems."""


def _scalar(kind: type, code: str, word: str) -> Check:
    def check(value: Any, loc: Loc, problems: list[Problem]) -> Any:
        if isinstance(value, kind) and (kind is not int or not isinstance(value, bool)):
            return value
        problems.append(Problem(loc, code, f"Input should be a valid {word}"))
        return _MISSING

    return check


def _anything(value: Any, loc: Loc, problems: list[Problem]) -> Any:
    return value


def _list_of(item: Check) -> Check:
    exact = _EXACT.get(item)

    def check(value: Any, loc: Loc, problems: list[Problem]) -> Any:
        if not isinstance(value, list):
            problems.append(Problem(loc, "list_type", "Input should be a valid list"))
            return _MISSING
        if exact is not None:
            for element in value:
                if type(element) is not exact:
                    break
            else:
                return list(value)  # every item fits: read as it is
        before = len(problems)
        items = [item(element, (*loc, index), problems) for index, element in enumerate(value)]
        return items if len(problems) == before else _MISSING

    return check


def _key_loc(key: Any) -> Any:
    """How pydantic names a mapping key in a location: strings and 64-bit integers (booleans
    as 0 and 1) as they are, anything else by its ``repr``."""
    if isinstance(key, str):
        return key
    if isinstance(key, int) and -(1 << 63) <= key < (1 << 63):
        return int(key)
    return repr(key)


def _dict_of(key_check: Check, value_check: Check) -> Check:
    exact_key, exact_value = _EXACT.get(key_check), _EXACT.get(value_check)
    exact = exact_key is not None and exact_value is not None

    def check(value: Any, loc: Loc, problems: list[Problem]) -> Any:
        if not isinstance(value, dict):
            problems.append(Problem(loc, "dict_type", "Input should be a valid dictionary"))
            return _MISSING
        if exact:
            for key, item in value.items():
                if type(key) is not exact_key or type(item) is not exact_value:
                    break
            else:
                return dict(value)  # every key and value fits: read as it is
        before = len(problems)
        read = {}
        for key, item in value.items():
            at = (*loc, _key_loc(key))
            read_key = key_check(key, (*at, "[key]"), problems)
            read[read_key] = value_check(item, at, problems)
        return read if len(problems) == before else _MISSING

    return check


_STR = _scalar(str, "string_type", "string")
_SCALARS: dict[Any, Check] = {
    str: _STR,
    bool: _scalar(bool, "bool_type", "boolean"),
    int: _scalar(int, "int_type", "integer"),
    object: _anything,
}
_EXACT: dict[Check, type] = {_SCALARS[kind]: kind for kind in (str, bool, int)}
"""The scalar checks, by the one Python type that passes them as it is (a subclass is checked:
a ``bool`` is no ``int``)."""


def _checker(annotation: Any) -> Check:
    """The check of one annotation: a scalar, ``list[...]``, ``dict[str, ...]``, a model, or
    any of them ``| None`` (null is unset, dropped before fields are read)."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is list:
        return _list_of(_checker(args[0]))
    if origin is dict:
        return _dict_of(_checker(args[0]), _checker(args[1]))
    if args:  # X | None
        (kept,) = (arg for arg in args if arg is not type(None))
        return _checker(kept)
    if isinstance(annotation, type) and issubclass(annotation, KubeModel):
        return annotation._read
    return _SCALARS[annotation]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


class _Read(Record):
    """How ``_read`` reads one field: a value of type ``exact`` as it is, any other through
    ``check``; without a value, ``default`` (``copied``, if mutable)."""

    name: str
    alias: str
    check: Check
    exact: type | None
    default: Any
    copied: bool


class KubeModel:
    """Base: fields read by their camelCase API name only (``security_context`` is an unknown
    field, never securityContext), as the API server's case-sensitive decoding does; strict
    types; unknown fields ignored; immutable. An explicit ``null`` (Helm's ``toYaml`` of
    nothing) means the field is unset, as it does to Kubernetes."""

    ALIASES: ClassVar[dict[str, str]] = {}
    """API names that camelCase does not give (``nonResourceURLs``)."""
    _schema: ClassVar[tuple[tuple[str, FieldSpec, Check], ...] | None] = None
    _plan: ClassVar[tuple[_Read, ...] | None] = None

    @classmethod
    def model_fields(cls) -> dict[str, FieldSpec]:
        """The declared fields, by Python name, bases' first (in declaration order)."""
        return {name: spec for name, spec, _check in cls._fields()}

    @classmethod
    def _fields(cls) -> tuple[tuple[str, FieldSpec, Check], ...]:
        schema = cls.__dict__.get("_schema")
        if schema is None:
            hints = {  # typing.get_type_hints, without its ForwardRef for every annotation
                name: annotation
                for base in reversed(cls.__mro__)
                for name, annotation in inspect.get_annotations(base, eval_str=True).items()
            }
            names = list(hints)
            schema = tuple(
                (
                    name,
                    FieldSpec(
                        cls.ALIASES.get(name, _camel(name)),
                        hints[name],
                        getattr(cls, name, _MISSING),
                    ),
                    _checker(hints[name]),
                )
                for name in dict.fromkeys(names)
                if get_origin(hints[name]) is not ClassVar
            )
            cls._schema = schema
        return schema

    @classmethod
    def model_validate(cls: type[_M], data: Any) -> _M:
        """The model read from ``data``, or ``Invalid`` with every problem in it."""
        problems: list[Problem] = []
        read = cls._read(data, (), problems)
        if problems:
            raise Invalid(cls, problems)
        return read  # type: ignore[no-any-return]

    @classmethod
    def _read(cls, data: Any, loc: Loc, problems: list[Problem]) -> Any:
        if isinstance(data, cls):
            return data
        if not isinstance(data, dict):
            word = f"Input should be a valid dictionary or instance of {cls.__name__}"
            problems.append(Problem(loc, "model_type", word))
            return _MISSING
        before = len(problems)
        model = object.__new__(cls)
        values = model.__dict__  # filled in place: the model is dropped if a field fails
        plan = cls.__dict__.get("_plan") or cls._read_plan()
        for name, alias, check, exact, default, copied in plan:
            value = data.get(alias)
            if value is None:
                if default is _MISSING:
                    problems.append(Problem((*loc, alias), "missing", "Field required"))
                    continue
                value = type(default)(default) if copied else default
            elif type(value) is not exact:
                value = check(value, (*loc, alias), problems)
            values[name] = value
        return model if len(problems) == before else _MISSING

    @classmethod
    def _read_plan(cls) -> tuple[_Read, ...]:
        """What ``_read`` does for each field, worked out once."""
        plan = tuple(
            _Read(
                name,
                spec.alias,
                check,
                _EXACT.get(check),
                spec.default,
                isinstance(spec.default, (list, dict)),
            )
            for name, spec, check in cls._fields()
        )
        cls._plan = plan
        return plan

    def __init__(self) -> None:
        """The model of defaults (required strings empty): a field's default, or what is left
        of data too broken to read."""
        for name, spec, _check in self._fields():
            self.__dict__[name] = "" if spec.is_required() else _fresh(spec.default)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.__dict__ == self.__dict__

    def __hash__(self) -> int:
        return hash((type(self), *self.__dict__.values()))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in self.__dict__.items())
        return f"{type(self).__name__}({shown})"


def _fresh(default: Any) -> Any:
    """A default as a field gets it: mutable ones copied, so that no two models share one."""
    return type(default)(default) if isinstance(default, (list, dict)) else default


class ObjectMeta(KubeModel):
    name: str | None = None
    generate_name: str | None = None
    namespace: str | None = None
    labels: dict[str, str] = {}


class KubeObjectModel(KubeModel):
    """The fields every object has."""

    api_version: str | None = None
    kind: str
    metadata: ObjectMeta = ObjectMeta()


class Capabilities(KubeModel):
    add: list[str] = []
    drop: list[str] = []


class SeccompProfile(KubeModel):
    type: str | None = None


class SecurityContext(KubeModel):
    """A container's securityContext."""

    privileged: bool | None = None
    allow_privilege_escalation: bool | None = None
    run_as_non_root: bool | None = None
    run_as_user: int | None = None
    read_only_root_filesystem: bool | None = None
    capabilities: Capabilities | None = None
    seccomp_profile: SeccompProfile | None = None


class PodSecurityContext(KubeModel):
    """A pod's securityContext: defaults for the fields its containers do not set."""

    run_as_non_root: bool | None = None
    run_as_user: int | None = None
    seccomp_profile: SeccompProfile | None = None


class Container(KubeModel):
    name: str = ""
    security_context: SecurityContext | None = None


class PodOS(KubeModel):
    name: str | None = None


class PodSpec(KubeModel):
    """A pod's own fields (its containers are validated one by one, wherever they are)."""

    security_context: PodSecurityContext | None = None
    os: PodOS | None = None
    service_account_name: str | None = None
    service_account: str | None = None
    """Deprecated alias of ``serviceAccountName``, still honoured."""
    automount_service_account_token: bool | None = None


class LabelSelectorRequirement(KubeModel):
    key: str
    operator: str
    values: list[str] = []

    def matches(self, labels: dict[str, str]) -> bool:
        """In, NotIn, Exists, DoesNotExist; an unknown operator selects nothing."""
        present = self.key in labels
        if self.operator == "In":
            return present and labels[self.key] in self.values
        if self.operator == "NotIn":
            return not present or labels[self.key] not in self.values
        if self.operator == "Exists":
            return present
        return self.operator == "DoesNotExist" and not present


class LabelSelector(KubeModel):
    match_labels: dict[str, str] = {}
    match_expressions: list[LabelSelectorRequirement] = []

    def matches(self, labels: dict[str, str]) -> bool:
        """Label-selector semantics: every matchLabels pair and every expression must hold."""
        if any(labels.get(key) != value for key, value in self.match_labels.items()):
            return False
        return all(requirement.matches(labels) for requirement in self.match_expressions)


class NetworkPolicySpec(KubeModel):
    pod_selector: LabelSelector = LabelSelector()
    policy_types: list[str] | None = None
    ingress: list[dict[str, object]] | None = None
    egress: list[dict[str, object]] | None = None

    @property
    def effective_policy_types(self) -> frozenset[str]:
        """Directions it isolates; without policyTypes, Ingress plus Egress if it has rules."""
        if self.policy_types:  # an empty list is defaulted like a missing one
            return frozenset(self.policy_types)
        return frozenset({"Ingress", "Egress"} if self.egress else {"Ingress"})


class NetworkPolicy(KubeObjectModel):
    spec: NetworkPolicySpec = NetworkPolicySpec()


class PolicyRule(KubeModel):
    ALIASES = {"non_resource_ur_ls": "nonResourceURLs"}
    api_groups: list[str] = []
    resources: list[str] = []
    verbs: list[str] = []
    resource_names: list[str] = []
    non_resource_ur_ls: list[str] = []


class Role(KubeObjectModel):
    """A Role or a ClusterRole."""

    rules: list[PolicyRule] | None = None


class RoleRef(KubeModel):
    api_group: str | None = None
    kind: str = ""
    name: str = ""


class Subject(KubeModel):
    kind: str = ""
    name: str = ""
    namespace: str | None = None


class RoleBinding(KubeObjectModel):
    """A RoleBinding or a ClusterRoleBinding."""

    role_ref: RoleRef = RoleRef()
    subjects: list[Subject] | None = None
