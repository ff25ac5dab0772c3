"""Linux capabilities: what containers drop and add."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import Field

from kscan.checks.base import PodParams, Violation, template
from kscan.model import KubeObject
from kscan.support.disclosure import shown


class CapabilitiesParams(PodParams):
    which: Literal["add", "drop"] = Field(alias="list")
    """Which list of ``securityContext.capabilities`` to check."""
    must_include: list[str] | None = None
    """For ``drop``: capabilities the list must hold (``ALL`` holds every one)."""
    allowed: list[str] | None = None
    """For ``add``: the only capabilities that may be added (unset: any)."""
    forbidden: list[str] | None = None
    """For ``add``: capabilities that may not be added, however they are spelled."""
    linux_only: bool = True
    """Skip Windows pods (``spec.os.name: windows``)."""


def normalize_capability(name: str) -> str:
    """Container runtimes accept ``sys_admin`` and ``CAP_SYS_ADMIN`` for ``SYS_ADMIN``."""
    upper = name.upper()
    return upper[4:] if upper.startswith("CAP_") else upper


@template("capabilities", scope="object", params=CapabilitiesParams)
def capabilities(params: CapabilitiesParams, obj: KubeObject) -> Iterator[Violation]:
    """``drop`` must include the listed capabilities (``ALL`` covers any); ``add`` may hold only
    ``allowed`` ones and none of ``forbidden`` (``ALL`` is reported only where it is listed).
    ``must-include`` and ``allowed`` compare names exactly, as Pod Security admission does;
    ``forbidden`` catches a capability however it is written (``cap_sys_admin``)."""
    for pod, ref in obj.containers():
        if params.linux_only and pod.is_windows:
            continue
        context = ref.container.security_context
        caps = context.capabilities if context is not None else None
        written = list(getattr(caps, params.which, []))
        subject = ref.subject(obj.display)
        list_pointer = (*ref.pointer, "securityContext", "capabilities", params.which)
        field = f"securityContext.capabilities.{params.which}"
        if params.which == "drop":
            if pod.partial:  # its drop list may be completed elsewhere
                continue
            required = params.must_include or []
            missing = [] if "ALL" in written else [c for c in required if c not in written]
            if missing:
                near = {normalize_capability(c) for c in written} & set(missing)
                hint = f" (write {', '.join(sorted(near))} exactly)" if near else ""
                message = f"{subject} does not drop {', '.join(missing)} in {field}{hint}."
                yield Violation(obj.document, list_pointer, message, obj, ref.name)
            continue
        bad = [index for index, name in enumerate(written) if _bad_addition(params, name)]
        if bad:
            listed = ", ".join(shown(written[index]) for index in bad)
            allowed = f"; only {', '.join(params.allowed)} may be added" if params.allowed else ""
            message = f"{subject} adds {listed} in {field}{allowed}."
            yield Violation(obj.document, (*list_pointer, bad[0]), message, obj, ref.name)


def _bad_addition(params: CapabilitiesParams, name: str) -> bool:
    if params.allowed is not None and name not in params.allowed:
        return True
    return params.forbidden is not None and normalize_capability(name) in params.forbidden
