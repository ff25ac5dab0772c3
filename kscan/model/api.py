"""The Kubernetes API's field names and types for everything a pod is made of, and one walk that
checks parsed data against them.

``api_fields.json`` lists, for each struct reachable from a PodTemplateSpec, its JSON field names
and Go types (facts from kubernetes/api ``core/v1/types.go``), and for the other kinds rules
read (``KIND_STRUCTS``) the fields they read. The API server decodes JSON
case-sensitively into those structs: a field it does not know is dropped (or the object refused
under strict field validation), never applied; a value of the wrong type makes it refuse the
object. ``check`` reports both, visiting each node once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from functools import cache
from typing import Any

from kscan.input.tree import Chain, Pointer, chain_pointer
from kscan.support.values import dataclass

_FIELDS_FILE = os.path.join(os.path.dirname(__file__), "api_fields.json")
_SUGGESTED = 200
"""Unknown fields per object given a suggestion (the closest spelling costs a little each)."""
TYPED = frozenset(
    {
        *("PodSpec", "PodSecurityContext", "SecurityContext", "Capabilities", "SELinuxOptions"),
        *("SeccompProfile", "AppArmorProfile", "WindowsSecurityContextOptions", "Sysctl"),
        *("Container", "EphemeralContainer", "ContainerPort", "VolumeMount", "Volume"),
        *("HostPathVolumeSource", "ObjectMeta", "PodTemplateSpec"),
        *("ServiceAccount", "Service", "ServiceSpec", "Ingress", "IngressSpec", "IngressTLS"),
        *("ConfigMap", "Secret", "CronJob", "CronJobSpec", "KubeletConfiguration"),
        *("KubeletAuthentication", "KubeletX509Authentication", "KubeletWebhookAuthentication"),
        *("KubeletAnonymousAuthentication", "KubeletAuthorization", "EncryptionConfiguration"),
        *("ResourceConfiguration", "ProviderConfiguration"),
    }
)
"""The structs whose fields the rules read: a value of the wrong type there is reported (the
API server refuses the object). Elsewhere (a volume plugin's options, affinity terms...) it
changes no finding and is left to the API server."""
KIND_STRUCTS = {
    ("", "ServiceAccount"): "ServiceAccount",
    ("", "Service"): "Service",
    ("", "ConfigMap"): "ConfigMap",
    ("", "Secret"): "Secret",
    ("networking.k8s.io", "Ingress"): "Ingress",
    ("extensions", "Ingress"): "Ingress",
    ("batch", "CronJob"): "CronJob",
    ("kubelet.config.k8s.io", "KubeletConfiguration"): "KubeletConfiguration",
    ("apiserver.config.k8s.io", "EncryptionConfiguration"): "EncryptionConfiguration",
    ("apiserver.config.k8s.io", "EncryptionConfig"): "EncryptionConfiguration",
}
"""(API group, kind) -> the struct of the fields rules read in objects outside pods. Only
those fields are listed (with a few neighbours), so other keys are not reported unknown; a
wrong type is, as the API server (or the kubelet, for its configuration file) refuses it."""


def struct_of(api_version: Any, kind: str) -> str | None:
    """The struct a top-level object of this apiVersion and kind decodes into, if listed."""
    group = api_version.rpartition("/")[0] if isinstance(api_version, str) else None
    return None if group is None else KIND_STRUCTS.get((group, kind))


_SCALARS = {
    "bool": "a boolean",
    "string": "a string",
    "int32": "an integer",
    "int64": "an integer",
    "integer": "an integer",
    "Quantity": "a quantity (a string or a number)",
    "IntOrString": "an integer or a string",
    "Time": "a time (a string)",
    "object": "",
}


@dataclass(frozen=True)
class UnknownField:
    """A key the API does not know in a struct it decodes (``security_context`` in a container):
    Kubernetes drops it."""

    pointer: Pointer
    """Where the key is written."""
    key: str
    struct: str
    suggestion: str | None
    removed: bool = False
    """A field the API once had and has removed."""


@dataclass(frozen=True)
class WrongType:
    """A value the API server cannot decode into its field (``privileged: "true"``)."""

    pointer: Pointer
    expected: str
    """``a boolean``, ``a list``, ``a mapping``..."""


class Findings:
    """What one walk found. (A plain class: cheaper to define at start-up than a
    dataclass.)"""

    __slots__ = ("seen", "unknown", "wrong")

    def __init__(self) -> None:
        self.unknown: list[UnknownField] = []
        self.wrong: list[WrongType] = []
        self.seen: set[tuple[int, str]] = set()
        """(id, type) of the mappings and lists already walked (aliases share them)."""


@cache
def _api() -> tuple[dict[str, dict[str, str]], dict[str, frozenset[str]]]:
    with open(_FIELDS_FILE, encoding="utf-8") as handle:
        data = json.loads(handle.read())
    removed = {name: frozenset(keys) for name, keys in data["removed"].items()}
    return data["structs"], removed


def fields(struct: str) -> dict[str, str]:
    """The JSON fields of a struct and their types."""
    return _api()[0][struct]


def check(
    value: Any,
    type_name: str,
    pointer: Pointer,
    found: Findings,
    extra: Iterable[str] = (),
    unknown: bool = True,
) -> None:
    """Check ``value`` against an API type (``PodSpec``, ``[]Volume``, ``bool``...). ``extra``
    names fields a custom resource adds to the top struct; with ``unknown`` False, keys the API
    does not know are not reported (a struct that may carry more than the API's fields)."""
    allowed = frozenset(extra)
    # Each entry's place is a Chain: a pointer is built only for a finding.
    stack: list[tuple[Any, _Shape, Chain, bool]] = [(value, _shape(type_name), (), True)]
    seen, push, pop = found.seen, stack.append, stack.pop
    while stack:
        value, shape, chain, typed = pop()
        if value is None:  # an explicit null leaves the field unset
            continue
        if isinstance(shape, _Struct):
            if not isinstance(value, dict):
                _wrong(found, typed, pointer, chain, "a mapping")
                continue
            visit = (id(value), shape.name)
            if visit in seen:
                continue
            seen.add(visit)
            checked, inner = shape.checked, shape.typed
            for key, item in value.items():
                field = checked.get(key)
                if field is None:
                    if key not in shape.known and unknown and (chain or key not in allowed):
                        _unknown(found, shape, chain_pointer(pointer, (chain, key)), key)
                elif type(field) is _Scalar:  # most fields: checked here, not stacked
                    fitting = field.fitting
                    if item is not None and type(item) not in fitting and not field.fits(item):
                        at = chain_pointer(pointer, (chain, key))
                        found.wrong.append(WrongType(at, field.expected))
                else:
                    push((item, field, (chain, key), inner))
        elif isinstance(shape, _Items):
            if not isinstance(value, shape.container):
                _wrong(found, typed, pointer, chain, shape.expected)
                continue
            visit = (id(value), shape.name)
            if visit in seen:
                continue
            seen.add(visit)
            item_shape = shape.item
            items = enumerate(value) if isinstance(value, list) else value.items()
            if not isinstance(item_shape, _Scalar):
                stack += [(v, item_shape, (chain, k), typed) for k, v in items]
            elif typed and not item_shape.anything:
                # Checked here, last item first, as they would be popped.
                fitting = item_shape.fitting
                for k, v in reversed(list(items)):
                    if v is not None and type(v) not in fitting and not item_shape.fits(v):
                        at = chain_pointer(pointer, (chain, k))
                        found.wrong.append(WrongType(at, item_shape.expected))
        elif not shape.fits(value):
            _wrong(found, typed, pointer, chain, shape.expected)


_NO_EXTRA: frozenset[str] = frozenset()


class _Scalar:
    """A scalar API type, and the Python types seen to fit it (the type alone decides)."""

    __slots__ = ("anything", "expected", "fitting", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.expected = _SCALARS.get(name, name)
        self.anything = name not in _SCALARS or name == "object"
        self.fitting: set[type] = set()

    def fits(self, value: Any) -> bool:
        if type(value) in self.fitting:
            return True
        fits = _scalar_fits(value, self.name)
        if fits:
            self.fitting.add(type(value))
        return fits


class _Items:
    """``[]T`` or ``map[string]T``."""

    __slots__ = ("container", "expected", "item", "name")

    def __init__(self, name: str, is_list: bool, item: _Shape) -> None:
        self.name, self.item = name, item
        self.container: type[Any] = list if is_list else dict
        self.expected = "a list" if is_list else "a mapping"


class _Struct:
    """A struct: its fields, and those of them ``check`` looks into: the scalars (checked in
    place, in a ``TYPED`` struct) and the fields walked further."""

    __slots__ = ("checked", "known", "name", "removed", "typed")

    def __init__(self, name: str, known: dict[str, str], removed: frozenset[str]) -> None:
        self.name, self.known, self.removed = name, known, removed
        self.typed = name in TYPED
        self.checked: dict[str, _Shape] = {}


_Shape = _Struct | _Items | _Scalar
_SHAPES: dict[str, _Shape] = {}


def _shape(type_name: str) -> _Shape:
    """The checking plan of an API type, built once (a struct before its fields, as structs
    may nest themselves)."""
    shape = _SHAPES.get(type_name)
    if shape is not None:
        return shape
    structs, removed = _api()
    if type_name in structs:
        struct = _Struct(type_name, structs[type_name], removed.get(type_name, _NO_EXTRA))
        _SHAPES[type_name] = struct
        for key, item_type in struct.known.items():
            item = _shape(item_type)
            if not isinstance(item, _Scalar) or (struct.typed and not item.anything):
                struct.checked[key] = item
        return struct
    for prefix in ("[]", "map[string]"):
        if type_name.startswith(prefix):
            shape = _Items(type_name, prefix == "[]", _shape(type_name[len(prefix) :]))
            break
    else:
        shape = _Scalar(type_name)
    _SHAPES[type_name] = shape
    return shape


def _unknown(found: Findings, struct: _Struct, pointer: Pointer, key: str) -> None:
    gone = key in struct.removed
    hint = suggest(key, struct.known) if not gone and len(found.unknown) < _SUGGESTED else None
    found.unknown.append(UnknownField(pointer, key, struct.name, hint, gone))


def _wrong(found: Findings, typed: bool, top: Pointer, chain: Chain, expected: str) -> None:
    if typed:
        found.wrong.append(WrongType(chain_pointer(top, chain), expected))


def _scalar_fits(value: Any, type_name: str) -> bool:
    if type_name == "bool":
        return isinstance(value, bool)
    if type_name in ("string", "Time"):
        return isinstance(value, str)
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if type_name in ("int32", "int64", "integer"):
        return is_number and isinstance(value, int)
    if type_name == "Quantity":
        return isinstance(value, str) or is_number
    if type_name == "IntOrString":
        return isinstance(value, (str, int)) and not isinstance(value, bool)
    return True  # "object": anything


def suggest(key: str, known: Iterable[str]) -> str | None:
    """The field a key was probably meant to be: the same letters in another case or without
    ``_``/``-`` (``security_context``, ``Privileged``), else the closest spelling."""
    names = list(known)
    folded = _fold(key)
    for name in names:
        if _fold(name) == folded:
            return name
    import difflib  # only for a field the API does not know

    close = difflib.get_close_matches(key, names, n=1, cutoff=0.75)
    return close[0] if close else None


def _fold(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()
