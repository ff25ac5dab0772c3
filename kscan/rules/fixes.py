"""The fix a rule file may carry: one field to set, or one item to add to a list, at a path
relative to what the rule checks (the object, the pod spec or the container), and whether it
is safe to apply without asking."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from kscan.checks.paths import Condition, parse_path
from kscan.support.declared import Declared, Field, model_validator

Scalar = bool | int | str


class Fix(Declared):
    """``action: set`` writes ``value`` at ``path``; ``action: add`` appends ``value`` to the
    list at ``path`` (created when missing) unless it holds it already."""

    CONFIG: ClassVar[dict[str, Any]] = {"extra": "forbid", "frozen": True, "populate_by_name": True}

    action: Literal["set", "add"]
    path: str
    """Dotted, relative to the rule's target; a finding is fixed only when its pointer ends
    with this path (another condition of the rule stays a finding)."""
    value: Scalar
    safety: Literal["safe", "unsafe"]
    """safe: cannot change what a workload that runs as intended does; unsafe: may break it
    (applied only with ``--unsafe-fixes``)."""
    reason: str = Field(min_length=20)
    """Why the fix has that safety, in Kubernetes' terms."""
    inherit: bool = False
    """For a container field the pod spec can also hold: a container that does not write it
    gets it from one value written once in its pod spec (same path)."""
    requires: tuple[Condition, ...] = ()
    """Conditions the target must meet for the fix to apply (the API server rejects some
    combinations: ``allowPrivilegeEscalation: false`` with ``privileged: true``)."""

    @model_validator(mode="after")
    def _plain_path(self) -> Fix:
        segments = parse_path(self.path)
        if any(len(names) > 1 or names[0] == "*" or names[0].isdigit() for names in segments):
            raise ValueError("fix.path: a plain dotted path (no '*', alternatives or indexes)")
        if self.action == "add" and not isinstance(self.value, str):
            raise ValueError("fix.value: 'add' appends a string to a list")
        return self

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(names[0] for names in parse_path(self.path))

    def describe(self) -> str:
        """``set securityContext.privileged: false (unsafe)``, for explain and reports."""
        value = str(self.value).lower() if isinstance(self.value, bool) else self.value
        verb = (
            f"set {self.path}: {value}" if self.action == "set" else f"add {value} to {self.path}"
        )
        where = " (in the pod spec for containers that do not set it)" if self.inherit else ""
        return f"{verb}{where} [{self.safety}]"
