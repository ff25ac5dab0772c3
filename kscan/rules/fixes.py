"""The fix a rule file may carry: one field to set, one item to add to a list, or the field a
finding points at to remove, at a path relative to what the rule checks (the object, the pod
spec or the container), and whether it is safe to apply without asking."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from kscan.checks.paths import Condition, parse_path
from kscan.support.declared import Declared, Field, model_validator

Scalar = bool | int | str

SafeWhen = Literal["token-unused", "runs-unprivileged"]
"""Conditions under which an unsafe fix is safe for one finding: ``token-unused``, the pod's
service account (``serviceAccountName``, else ``serviceAccount``, else ``default``) is named
by no RoleBinding or ClusterRoleBinding of the scan (``--context`` included), directly, as
its user name or through its groups, and the pod does not ask for the token with
``automountServiceAccountToken: true``; ``runs-unprivileged``, the container runs as a user
other than root with ``allowPrivilegeEscalation: false`` (as the fixes before it leave it)
and is not privileged, so it holds no capability its bounding set could take away."""


class Fix(Declared):
    """``action: set`` writes ``value`` at ``path``; ``action: add`` appends ``value`` to the
    list at ``path`` (created when missing) unless it holds it already; ``action: remove``
    deletes the field the finding points at (``path`` may name list items with ``*``), and
    every other value of ``path`` in the target that the rule flags; ``action:
    remove-volume`` deletes the pod volume the finding's field is in (``path`` starts with
    ``volumes.*``) and every volumeMount that names it."""

    CONFIG: ClassVar[dict[str, Any]] = {"extra": "forbid", "frozen": True, "populate_by_name": True}

    action: Literal["set", "add", "remove", "remove-volume"]
    path: str
    """Dotted, relative to the rule's target; a finding is fixed only when its pointer ends
    with this path (another condition of the rule stays a finding)."""
    value: Scalar | None = None
    """What ``set`` writes and ``add`` appends; none for ``remove``."""
    safety: Literal["safe", "unsafe"]
    """safe: cannot change what a workload that runs as intended does; unsafe: may break it
    (applied only with ``--unsafe-fixes``, unless ``safe_when`` holds)."""
    safe_when: SafeWhen | None = Field(None, alias="safe-when")
    """For an unsafe fix: the condition under which it is safe for a finding, and applied
    without ``--unsafe-fixes``."""
    reason: str = Field(min_length=20)
    """Why the fix has that safety, in Kubernetes' terms."""
    inherit: bool = False
    """For a container field the pod spec can also hold: a container that does not write it
    gets it from one value written once in its pod spec (same path)."""
    requires: tuple[Condition, ...] = ()
    """Conditions the target must meet for the fix to apply (the API server rejects some
    combinations: ``allowPrivilegeEscalation: false`` with ``privileged: true``)."""

    @model_validator(mode="after")
    def _consistent(self) -> Fix:
        segments = parse_path(self.path)
        star = self.removes
        if any(
            len(names) > 1 or names[0].isdigit() or (names[0] == "*" and not star)
            for names in segments
        ):
            raise ValueError(
                "fix.path: a plain dotted path (no alternatives or indexes; '*' only to remove)"
            )
        if (self.value is None) != self.removes:
            raise ValueError("fix.value: 'set' and 'add' take a value, 'remove' none")
        if self.action == "remove-volume" and self.parts[:2] != ("volumes", "*"):
            raise ValueError("fix.path: 'remove-volume' takes a path in a volume (volumes.*.)")
        if self.action == "add" and not isinstance(self.value, str):
            raise ValueError("fix.value: 'add' appends a string to a list")
        if self.removes and self.inherit:
            raise ValueError("fix.inherit: a removal has nothing to write in the pod spec")
        if self.safe_when is not None and self.safety == "safe":
            raise ValueError("fix.safe-when: only an unsafe fix has a condition to be safe")
        return self

    @property
    def removes(self) -> bool:
        return self.action in ("remove", "remove-volume")

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(names[0] for names in parse_path(self.path))

    def matches(self, pointer: tuple[str | int, ...]) -> bool:
        """Whether a finding's pointer ends with the fix's path (``*``: any list index)."""
        tail = pointer[len(pointer) - len(self.parts) :] if len(pointer) >= len(self.parts) else ()
        return len(tail) == len(self.parts) and all(
            isinstance(got, int) if part == "*" else str(got) == part
            for part, got in zip(self.parts, tail, strict=True)
        )

    def describe(self) -> str:
        """``set securityContext.privileged: false [unsafe]``, for explain and reports."""
        value = str(self.value).lower() if isinstance(self.value, bool) else self.value
        if self.action == "set":
            verb = f"set {self.path}: {value}"
        elif self.action == "add":
            verb = f"add {value} to {self.path}"
        elif self.action == "remove":
            verb = f"remove {self.path}"
        else:
            verb = f"remove the volume of {self.path} and its volumeMounts"
        where = " (in the pod spec for containers that do not set it)" if self.inherit else ""
        when = f"; safe where {_SAFE_WHEN[self.safe_when]}" if self.safe_when else ""
        return f"{verb}{where} [{self.safety}{when}]"


_SAFE_WHEN: dict[str, str] = {
    "token-unused": "no binding of the scan names the pod's service account",
    "runs-unprivileged": (
        "the container runs as non-root with allowPrivilegeEscalation: false and holds no"
        " capability"
    ),
}
"""How ``describe`` says each ``safe_when`` condition."""
