"""Linux capabilities: what containers drop and add."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, Literal

from kscan.checks.base import PodParams, Violation, template
from kscan.checks.conditions import (
    CAPABILITY,
    CAPABILITY_AT_RUNTIME,
    Conditions,
    Spelling,
    Test,
    normalize_capability,
)
from kscan.input.documents import Pointer
from kscan.model import KubeObject
from kscan.support.declared import Field
from kscan.support.disclosure import shown


class CapabilitiesParams(PodParams, Conditions):
    """A container's ``add`` or ``drop`` list, tested in the condition language
    (``conditions``) with the spelling of capability names: ``must-include`` for what ``drop``
    must hold, ``allowed`` and ``forbidden`` for each name ``add`` holds."""

    tests: ClassVar[frozenset[Test]] = frozenset({"must-include", "allowed", "forbidden"})
    spelling: ClassVar[Spelling] = CAPABILITY

    which: Literal["add", "drop"] = Field(alias="list")
    """Which list of ``securityContext.capabilities`` to check."""
    linux_only: bool = True
    """Skip Windows pods (``spec.os.name: windows``)."""
    names: Literal["admission", "runtime"] = Field("admission", alias="spelling")
    """How ``must-include`` reads the names in ``drop``: ``admission`` exactly, as Pod Security
    admission compares them (``all`` is not ``ALL``); ``runtime`` as containerd and CRI-O drop
    them (any case: ``all``, ``net_raw``), for rules about what the running container holds."""

    def reading(self) -> Spelling:
        return CAPABILITY_AT_RUNTIME if self.names == "runtime" else CAPABILITY


@template("capabilities", scope="object", params=CapabilitiesParams)
def capabilities(params: CapabilitiesParams, obj: KubeObject) -> Iterator[Violation]:
    """``drop`` must include the listed capabilities (``ALL`` covers any); ``add`` may hold only
    ``allowed`` ones and none of ``forbidden`` (``ALL`` is reported only where it is listed).
    ``must-include`` and ``allowed`` compare names exactly, as Pod Security admission does
    (``must-include`` reads them in any case, as the runtime does, with ``spelling: runtime``);
    ``forbidden`` catches a capability however it is written (``cap_sys_admin``)."""
    for pod, ref in obj.containers():
        if params.linux_only and pod.is_windows:
            continue
        context = ref.container.security_context
        caps = context.capabilities if context is not None else None
        written = list(getattr(caps, params.which, []))
        if params.which == "drop":
            if pod.partial:  # its drop list may be completed elsewhere
                continue
            missing = params.missing(written)
            if missing:
                near = {normalize_capability(c) for c in written} & set(missing)
                how = "without CAP_" if params.names == "runtime" else "exactly"
                hint = f" (write {', '.join(sorted(near))} {how})" if near else ""
                subject = ref.subject(obj.display)
                field = _FIELD + params.which
                message = f"{subject} does not drop {', '.join(missing)} in {field}{hint}."
                yield Violation(_list_pointer(ref.pointer, params.which), message, obj, ref.name)
            continue
        bad = [index for index, name in enumerate(written) if params.failed(name) is not None]
        if bad:
            listed = ", ".join(shown(written[index]) for index in bad)
            allowed = f"; only {', '.join(params.allowed)} may be added" if params.allowed else ""
            subject, field = ref.subject(obj.display), _FIELD + params.which
            message = f"{subject} adds {listed} in {field}{allowed}."
            list_pointer = _list_pointer(ref.pointer, params.which)
            yield Violation((*list_pointer, bad[0]), message, obj, ref.name)


_FIELD = "securityContext.capabilities."
"""The field of a message, before ``add`` or ``drop`` (formatted only for a violation)."""


def _list_pointer(container: Pointer, which: str) -> Pointer:
    """Where a container's ``add`` or ``drop`` list is (or would be) written."""
    return (*container, "securityContext", "capabilities", which)
