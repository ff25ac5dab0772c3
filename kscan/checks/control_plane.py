"""Control-plane and node components run as static pods: their command-line flags."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from kscan.checks.base import PodParams, Violation, template
from kscan.checks.conditions import GO_FLAG, Conditions, Spelling, Test, go_flag_value
from kscan.input.documents import Pointer
from kscan.model import ContainerRef, KubeObject, Shape
from kscan.support.declared import model_validator
from kscan.support.disclosure import shown


class FlagParams(PodParams, Conditions):
    """One flag of the named components, tested in the condition language (``conditions``)
    with Go's spelling of flag values. A missing flag takes ``default``; ``required`` and
    ``absent`` test presence itself, and an empty value (``--flag=``) counts as not set.
    Flags are read as pflag reads them (``command_line.parse_flags``)."""

    tests: ClassVar[frozenset[Test]] = frozenset(
        {
            "required",
            "absent",
            "allowed",
            "forbidden",
            "contains",
            "not-contains",
            "minimum",
            "allowed-items",
        }
    )
    spelling: ClassVar[Spelling] = GO_FLAG

    components: list[str]
    """Programs whose containers are checked: ``kube-apiserver``, ``kube-controller-manager``,
    ``kube-scheduler``, ``etcd``, ``kubelet``."""
    flag: str
    """The flag, with its leading ``--``."""
    default: str | None = None
    """The value the component uses when the flag is missing (unset: a missing flag passes the
    value tests)."""
    same_as_unset: list[str] | None = None
    """Values the component reads as if the flag were missing (lumberjack's ``0`` for the
    audit log limits): judged as a missing flag, by ``default`` if there is one."""
    missing_ok_with: list[str] | None = None
    """When the flag is missing and one of these flags is set (``--config``), the value comes
    from a file kscan does not read: no default, no ``required``."""

    def applies_to(self, shape: Shape) -> bool:
        return not shape.programs.isdisjoint(self.components)

    @model_validator(mode="after")
    def _a_flag(self) -> FlagParams:
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
        unset = params.flag not in flags or not flags[params.flag][1]
        if unset and any(f in flags for f in params.missing_ok_with or ()):
            continue  # the value may come from the file: an empty flag says nothing either
        problem = _problem(params, flags.get(params.flag))
        if problem is not None:
            yield _violation(params, obj, ref, component, flags, problem)


def _reads_as_unset(params: FlagParams, value: str) -> bool:
    number = params.spelling.number(value)
    for unset in params.same_as_unset or ():
        if number is not None and number == params.spelling.number(unset):
            return True
        if go_flag_value(value) == go_flag_value(unset):
            return True
    return False


def _problem(params: FlagParams, found: tuple[Pointer, str] | None) -> str | None:
    if found is not None and not found[1] and (params.required or params.absent):
        # ``--flag=`` sets a string flag to "", which its component reads as unset (no audit
        # log, a self-signed serving certificate, no token file): ``""`` is not set.
        return "is empty, which leaves it unset" if params.required else None
    if found is not None and _reads_as_unset(params, found[1]):
        if params.default is None:
            return None
        value, suffix = params.default, f" ({found[1]}: the default)"
    elif found is None:
        if params.required:
            return "is not set"
        if params.default is None:
            return None
        value, suffix = params.default, " (the default when it is not set)"
    else:
        value, suffix = found[1], ""
    failed = params.failed(value)
    said = _shown_flag_value(params, value)
    if failed is None or failed == "required":
        return None
    if failed == "absent":
        return "is set" if found is not None else None
    if failed == "allowed":
        return f"is {said}{suffix}; expected {' or '.join(map(str, params.allowed or ()))}"
    if failed == "contains":
        return f"is {said if value else 'empty'}{suffix}, without {params.contains}"
    if failed == "not-contains":
        return f"is {said}{suffix}, which includes {params.not_contains}"
    if failed == "allowed-items":
        outside = params.outside(value)
        which = ", ".join(_ordinal(index + 1) for index in outside)
        items = "item" if len(outside) == 1 else "items"
        return f"lists {len(outside)} {items} outside the accepted ones (the {which})"
    if failed == "minimum":
        return f"is {said}{suffix}; expected at least {int(params.minimum or 0)}"
    return f"is {said}{suffix}"


def _ordinal(number: int) -> str:
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


def _shown_flag_value(params: FlagParams, value: str) -> str:
    """A flag's value as the message may show it: a number (``-1`` too), or a comma list of the
    words the rule itself names (``AlwaysAllow``, ``RotateKubeletServerCertificate=false``);
    anything else written on a command line is described, not shown (it may be an inline
    secret)."""
    words = {
        go_flag_value(word)
        for word in (
            *(params.allowed or ()),
            *(params.forbidden or ()),
            *((params.default,) if params.default else ()),
            *((params.contains,) if params.contains else ()),
            *((params.not_contains,) if params.not_contains else ()),
        )
        for word in (word, *word.split(","))
    }
    items = [go_flag_value(item.strip()) for item in value.split(",")]
    if GO_FLAG.number(value) is not None or all(item in words for item in items):
        return value
    return shown(value, ("command",))


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
    return Violation((*ref.pointer, *where), message, obj, ref.name)
