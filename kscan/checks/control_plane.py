"""Control-plane and node components run as static pods: their command-line flags."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import model_validator

from kscan.checks.base import PodParams, Violation, template
from kscan.input.documents import Pointer
from kscan.model import ContainerRef, KubeObject, Shape
from kscan.support.disclosure import shown


class FlagParams(PodParams):
    """One flag of the named components. A missing flag takes ``default``; then the value must
    be ``allowed`` (not ``forbidden``), ``contains``/``not-contains`` an item of its comma list,
    or be at least ``minimum``; ``required``/``absent`` test presence itself."""

    components: list[str]
    """Programs whose containers are checked: ``kube-apiserver``, ``kube-controller-manager``,
    ``kube-scheduler``, ``etcd``, ``kubelet``."""
    flag: str
    """The flag, with its leading ``--``."""
    default: str | None = None
    """The value the component uses when the flag is missing (unset: a missing flag passes the
    value tests)."""
    missing_ok_with: list[str] | None = None
    """When the flag is missing and one of these flags is set (``--config``), the value comes
    from a file kscan does not read: no default, no ``required``."""
    required: bool = False
    """The flag must be set."""
    absent: bool = False
    """The flag must not be set."""
    allowed: list[str] | None = None
    """The value must be one of these (case-insensitive; Go's boolean spellings are equal)."""
    forbidden: list[str] | None = None
    """The value must not be one of these (compared as ``allowed`` is)."""
    contains: str | None = None
    """An item the comma-separated value must hold."""
    not_contains: str | None = None
    """An item the comma-separated value must not hold."""
    minimum: int | None = None
    """The value must be a whole number at least this large."""

    def applies_to(self, shape: Shape) -> bool:
        return not shape.programs.isdisjoint(self.components)

    @model_validator(mode="after")
    def _says_something(self) -> FlagParams:
        tests = (self.allowed, self.forbidden, self.contains, self.not_contains, self.minimum)
        if not (self.required or self.absent) and all(test is None for test in tests):
            raise ValueError("a flag check needs a test (required, absent, allowed, ...)")
        if not self.flag.startswith("--"):
            raise ValueError("flag must start with --")
        return self


@template("component-flag", scope="object", params=FlagParams)
def component_flag(params: FlagParams, obj: KubeObject) -> Iterator[Violation]:
    """A flag of kube-apiserver, kube-controller-manager, kube-scheduler, etcd or kubelet
    containers, in both ``--flag=value`` and ``--flag value`` forms, from command and args."""
    for pod, ref in obj.containers():
        component = ref.program
        if component not in params.components:
            continue
        flags = ref.flags
        if pod.partial and params.flag not in flags:
            continue  # what a pod seen in part lacks may be set by whatever completes it
        if params.flag not in flags and any(f in flags for f in params.missing_ok_with or ()):
            continue
        problem = _problem(params, flags.get(params.flag))
        if problem is not None:
            yield _violation(params, obj, ref, component, flags, problem)


def _problem(params: FlagParams, found: tuple[Pointer, str] | None) -> str | None:
    if found is None:
        if params.required:
            return "is not set"
        if params.default is None:
            return None
        value, suffix = params.default, " (the default when it is not set)"
    else:
        if params.absent:
            return "is set"
        value, suffix = found[1], ""
    items = [_canonical(item.strip()) for item in value.split(",")]
    canonical = _canonical(value).lower()
    said = _shown_flag_value(params, value)
    if params.allowed is not None and canonical not in [
        _canonical(a).lower() for a in params.allowed
    ]:
        return f"is {said}{suffix}; expected {' or '.join(params.allowed)}"
    if params.forbidden is not None and canonical in [
        _canonical(f).lower() for f in params.forbidden
    ]:
        return f"is {said}{suffix}"
    if params.contains is not None and _canonical(params.contains) not in items:
        return f"is {said if value else 'empty'}{suffix}, without {params.contains}"
    if params.not_contains is not None and _canonical(params.not_contains) in items:
        return f"is {said}{suffix}, which includes {params.not_contains}"
    if params.minimum is not None and not (value.isdigit() and int(value) >= params.minimum):
        return f"is {said}{suffix}; expected at least {params.minimum}"
    return None


def _shown_flag_value(params: FlagParams, value: str) -> str:
    """A flag's value as the message may show it: a number, or a comma list of the words the
    rule itself names (``AlwaysAllow``, ``RotateKubeletServerCertificate=false``); anything
    else written on a command line is described, not shown (it may be an inline secret)."""
    words = {
        _canonical(word).lower()
        for word in (
            *(params.allowed or ()),
            *(params.forbidden or ()),
            *((params.default,) if params.default else ()),
            *((params.contains,) if params.contains else ()),
            *((params.not_contains,) if params.not_contains else ()),
        )
        for word in (word, *word.split(","))
    }
    items = [_canonical(item.strip()).lower() for item in value.split(",")]
    if value.isdigit() or all(item in words for item in items):
        return value
    return shown(value, ("command",))


_GO_TRUE = frozenset({"1", "t", "true"})
_GO_FALSE = frozenset({"0", "f", "false"})


def _canonical(value: str) -> str:
    """Booleans as Go's flag parsing reads them: ``1``/``t``/``TRUE`` are ``true`` and
    ``0``/``f`` are ``false``, as plain values and in ``Key=value`` items (``--feature-gates``)."""
    key, equals, setting = value.rpartition("=")
    lowered = setting.lower()
    if lowered in _GO_TRUE or lowered in _GO_FALSE:
        setting = "true" if lowered in _GO_TRUE else "false"
    return f"{key}{equals}{setting}"


def _violation(
    params: FlagParams,
    obj: KubeObject,
    ref: ContainerRef,
    component: str,
    flags: dict[str, tuple[Pointer, str]],
    problem: str,
) -> Violation:
    found = flags.get(params.flag)
    where: Pointer = found[0] if found is not None else ("command",)
    message = f"{ref.subject(obj.display)} runs {component}: {params.flag} {problem}."
    return Violation(obj.document, (*ref.pointer, *where), message, obj, ref.name)
