"""Whether a container's processes hold no capability at all, whatever its bounding set: the
``runs-unprivileged`` condition of a fix (``kscan.rules.fixes.SafeWhen``).

A process that does not run as root holds capabilities only when ``execve`` grants them: a
set-user-ID-root binary, or file capabilities (capabilities(7), "Transformation of
capabilities during execve()"; containerd and CRI-O set no ambient capabilities for a
Kubernetes container). ``allowPrivilegeEscalation: false`` sets ``no_new_privs``, under which
``execve`` grants neither (the kernel's ``Documentation/userspace-api/no_new_privs.rst``).
Such a container loses nothing when its bounding set is emptied by ``drop: [ALL]``."""

from __future__ import annotations

from typing import Any


def _context(spec: dict[str, Any], key: str) -> dict[str, Any]:
    value = spec.get(key)
    return value if isinstance(value, dict) else {}


def _effective(container: dict[str, Any], pod_spec: dict[str, Any], field: str) -> Any:
    """The container's ``securityContext`` value, else the pod's (explicit ``null`` is unset:
    ``SecurityContext`` takes precedence over ``PodSecurityContext`` where both set it)."""
    own = _context(container, "securityContext").get(field)
    return own if own is not None else _context(pod_spec, "securityContext").get(field)


def runs_unprivileged(container: dict[str, Any], pod_spec: dict[str, Any]) -> bool:
    """The container runs as a user other than root (``runAsUser`` above 0, or
    ``runAsNonRoot: true``, which the kubelet enforces against the image's user) with
    ``allowPrivilegeEscalation: false`` and is not privileged."""
    security = _context(container, "securityContext")
    if security.get("privileged") is True or security.get("allowPrivilegeEscalation") is not False:
        return False
    user = _effective(container, pod_spec, "runAsUser")
    if isinstance(user, int) and not isinstance(user, bool):
        return user > 0
    return _effective(container, pod_spec, "runAsNonRoot") is True
