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
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from kscan.input.tree import Pointer
from kscan.support.values import dataclass

_FIELDS_FILE = Path(__file__).with_name("api_fields.json")
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
    data = json.loads(_FIELDS_FILE.read_text(encoding="utf-8"))
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
    stack: list[tuple[Any, str, Pointer, frozenset[str], bool]] = [
        (value, type_name, pointer, frozenset(extra), True)
    ]
    structs, removed = _api()
    seen = found.seen
    while stack:
        value, type_name, pointer, allowed, typed = stack.pop()
        if value is None:  # an explicit null leaves the field unset
            continue
        if type_name in structs:
            if not isinstance(value, dict):
                _wrong(found, typed, pointer, "a mapping")
                continue
            visit = (id(value), type_name)
            if visit in seen:
                continue
            seen.add(visit)
            known = structs[type_name]
            inner = type_name in TYPED
            for key, item in value.items():
                item_type = known.get(key)
                if item_type is None:
                    if unknown and key not in allowed:
                        _unknown(found, removed, known, type_name, (*pointer, key), key)
                elif item_type in _SCALARS:  # most fields: checked here, not stacked
                    if item is not None and inner and not _fits(item, item_type):
                        found.wrong.append(WrongType((*pointer, key), _SCALARS[item_type]))
                else:
                    stack.append((item, item_type, (*pointer, key), _NO_EXTRA, inner))
        elif type_name.startswith("[]"):
            if not isinstance(value, list):
                _wrong(found, typed, pointer, "a list")
            elif (id(value), type_name) not in seen:
                seen.add((id(value), type_name))
                item = type_name[2:]
                stack.extend(
                    (v, item, (*pointer, i), _NO_EXTRA, typed) for i, v in enumerate(value)
                )
        elif type_name.startswith("map[string]"):
            if not isinstance(value, dict):
                _wrong(found, typed, pointer, "a mapping")
            elif (id(value), type_name) not in seen:
                seen.add((id(value), type_name))
                item = type_name[len("map[string]") :]
                stack.extend((v, item, (*pointer, k), _NO_EXTRA, typed) for k, v in value.items())
        elif not _scalar_fits(value, type_name):
            _wrong(found, typed, pointer, _SCALARS.get(type_name, type_name))


_NO_EXTRA: frozenset[str] = frozenset()


def _unknown(
    found: Findings,
    removed: dict[str, frozenset[str]],
    known: dict[str, str],
    type_name: str,
    pointer: Pointer,
    key: str,
) -> None:
    gone = key in removed.get(type_name, ())
    hint = suggest(key, known) if not gone and len(found.unknown) < _SUGGESTED else None
    found.unknown.append(UnknownField(pointer, key, type_name, hint, gone))


def _wrong(found: Findings, typed: bool, pointer: Pointer, expected: str) -> None:
    if typed:
        found.wrong.append(WrongType(pointer, expected))


_FITTING: dict[tuple[str, type], bool] = {}
"""``_scalar_fits`` by API type and Python type, which alone decide it."""


def _fits(value: Any, type_name: str) -> bool:
    """``_scalar_fits``, remembered for each API type and Python type."""
    key = (type_name, type(value))
    fits = _FITTING.get(key)
    if fits is None:
        fits = _FITTING[key] = _scalar_fits(value, type_name)
    return fits


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
