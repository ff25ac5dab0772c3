"""Linux capabilities: what containers drop and add."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import Field

from kscan.checks import Params, Violation, template
from kscan.objects import KubeObject


class CapabilitiesParams(Params):
    which: Literal["add", "drop"] = Field(alias="list")
    must_include: list[str] | None = None
    allowed: list[str] | None = None
    forbidden: list[str] | None = None
    linux_only: bool = True


def normalize_capability(name: str) -> str:
    """Container runtimes accept ``sys_admin`` and ``CAP_SYS_ADMIN`` for ``SYS_ADMIN``."""
    upper = name.upper()
    return upper[4:] if upper.startswith("CAP_") else upper


@template("capabilities", scope="object", params=CapabilitiesParams)
def capabilities(params: CapabilitiesParams, obj: KubeObject) -> Iterator[Violation]:
    """``drop`` must include the listed capabilities (``ALL`` covers any); ``add`` may hold only
    ``allowed`` ones and none of ``forbidden`` (``ALL`` is reported only where it is listed)."""
    pod = obj.pod
    if pod is None or (params.linux_only and pod.is_windows):
        return
    for ref in pod.containers():
        context = ref.container.security_context
        caps = context.capabilities if context is not None else None
        names = [normalize_capability(name) for name in getattr(caps, params.which, [])]
        subject = f"{ref.label} '{ref.name}' of {obj.display}"
        list_pointer = (*ref.pointer, "securityContext", "capabilities", params.which)
        field = f"securityContext.capabilities.{params.which}"
        if params.which == "drop":
            missing = (
                [] if "ALL" in names else [c for c in params.must_include or [] if c not in names]
            )
            if missing:
                message = f"{subject} does not drop {', '.join(missing)} in {field}."
                yield Violation(obj.document, list_pointer, message, obj, ref.name)
            continue
        bad = [index for index, name in enumerate(names) if _bad_addition(params, name)]
        if bad:
            listed = ", ".join(names[index] for index in bad)
            allowed = f"; only {', '.join(params.allowed)} may be added" if params.allowed else ""
            message = f"{subject} adds {listed} in {field}{allowed}."
            yield Violation(obj.document, (*list_pointer, bad[0]), message, obj, ref.name)


def _bad_addition(params: CapabilitiesParams, name: str) -> bool:
    if params.allowed is not None and name not in params.allowed:
        return True
    return params.forbidden is not None and name in params.forbidden
