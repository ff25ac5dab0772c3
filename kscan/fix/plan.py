"""From findings to edits: which field of which document to set, or which list to extend, with
inheritance (a pod-level value written once in the pod spec) and each fix's requirements."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kscan.checks.paths import select
from kscan.input.documents import Document, Pointer
from kscan.results.findings import Finding
from kscan.rules.fixes import Fix, Scalar

CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


@dataclass(frozen=True)
class Edit:
    """Set ``value`` at ``pointer`` of document ``document`` (``add``: append it to the list
    there), for the findings of ``rules`` (``sources``: each one's rule id and pointer)."""

    document: int
    pointer: Pointer
    action: str
    value: Scalar
    rules: tuple[str, ...]
    sources: tuple[tuple[str, Pointer], ...] = ()


def plan(findings: Iterable[Finding], documents: list[Document], unsafe: bool) -> list[Edit]:
    """The edits for the findings of one file that have a fix (safe ones, and unsafe ones when
    asked), in rule order, each made once. Suppressed findings are left alone; a fix whose
    ``requires`` the target (as the edits before it leave it) does not meet is skipped."""
    chosen = sorted((f for f in findings if fixable(f, unsafe)), key=lambda f: (f.rule.id, f.span))
    data = [plain(document.data) for document in documents]
    edits: dict[tuple[int, Pointer, str, Scalar], list[tuple[str, Pointer]]] = {}
    for finding in chosen:
        index = _document_of(finding, documents)
        fix = finding.rule.fix
        if index is None or fix is None:
            continue
        base = finding.pointer[: len(finding.pointer) - len(fix.parts)]
        target = value_at(data[index], base)
        if not isinstance(target, dict) or not _meets(fix, target):
            continue
        pointer = _where(fix, base, data[index])
        pod = pointer[: len(pointer) - len(fix.parts)]
        if pod != base and not all(_meets(fix, c) for c in _pod_members(data[index], pod)):
            continue
        key = (index, pointer, fix.action, fix.value)
        if key not in edits:
            apply(data[index], Edit(index, pointer, fix.action, fix.value, ()))
        edits.setdefault(key, []).append((finding.rule.id, finding.pointer))
    return [
        Edit(
            index,
            pointer,
            action,
            value,
            tuple(dict.fromkeys(rule for rule, _ in sources)),
            tuple(sources),
        )
        for (index, pointer, action, value), sources in edits.items()
    ]


def fixable(finding: Finding, unsafe: bool) -> bool:
    """Whether the finding gets an edit: its rule has a fix that fixes this very field, it is
    not suppressed, and the fix is safe or unsafe ones were asked for."""
    fix = finding.rule.fix
    if fix is None or finding.suppression is not None:
        return False
    if fix.safety == "unsafe" and not unsafe:
        return False
    return tuple(map(str, finding.pointer[-len(fix.parts) :])) == fix.parts


def _document_of(finding: Finding, documents: list[Document]) -> int | None:
    """The document the finding was made in: the one that places its pointer where it is."""
    for index, document in enumerate(documents):
        if type(document) is Document and document.locate(finding.pointer)[0] == finding.span:
            return index
    return None


def _meets(fix: Fix, target: dict[str, Any]) -> bool:
    return all(
        condition.problem(match) is None
        for condition in fix.requires
        for match in select(target, condition.path)
    )


def _pod_members(data: Any, pod: Pointer) -> list[Any]:
    """The pod spec at ``pod`` and its containers: what a value written in the pod reaches."""
    spec = value_at(data, pod)
    members = [spec]
    for role in CONTAINER_LISTS:
        listed = spec.get(role) if isinstance(spec, dict) else None
        members += [c for c in listed if isinstance(c, dict)] if isinstance(listed, list) else []
    return members


def _where(fix: Fix, base: Pointer, data: Any) -> Pointer:
    """Where the value goes: at the target, or, for an inherited field a container does not
    write, in its pod spec (two levels up: ``.../spec/containers/0`` -> ``.../spec``)."""
    pointer = (*base, *fix.parts)
    in_container = len(base) >= 2 and base[-2] in CONTAINER_LISTS
    if fix.inherit and in_container and value_at(data, pointer) is None:
        return (*base[:-2], *fix.parts)
    return pointer


def plain(value: Any) -> Any:
    """A copy of parsed data as plain dicts and lists."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def value_at(data: Any, pointer: Pointer) -> Any:
    for part in pointer:
        in_dict = isinstance(data, dict) and part in data
        if in_dict or (isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)):
            data = data[part]
        else:
            return None
    return data


def apply(data: Any, edit: Edit) -> None:
    """The edit made in plain data (what the fixed text must parse back to)."""
    *parents, last = edit.pointer
    for part in parents:
        child = data[int(part)] if isinstance(data, list) else data.get(part)
        if child is None:
            child = data[part] = {}
        data = child
    if edit.action == "set":
        data[last] = edit.value
    elif not isinstance(data.get(last), list):
        data[last] = [edit.value]
    elif edit.value not in data[last]:
        data[last].append(edit.value)
