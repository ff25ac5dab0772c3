"""From findings to edits: which field of which document to set, which list to extend or which
field to remove, with inheritance (a pod-level value written once in the pod spec), each fix's
requirements and the conditions under which an unsafe fix is safe."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from typing import Any

from kscan.checks.capabilities import CapabilitiesParams
from kscan.checks.fields import FieldParams
from kscan.checks.paths import Match, select
from kscan.fix.token_use import BoundAccounts, token_unused
from kscan.fix.unprivileged import runs_unprivileged
from kscan.input.documents import Document, Pointer
from kscan.results.findings import Finding
from kscan.rules.fixes import Fix, Scalar
from kscan.support.values import dataclass

CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


@dataclass(frozen=True)
class Edit:
    """Set ``value`` at ``pointer`` of document ``document`` (``add``: append it to the list
    there; ``remove``: delete the key or list item there), for the findings of ``rules``
    (``sources``: each one's rule id and pointer)."""

    document: int
    pointer: Pointer
    action: str
    value: Scalar | None
    rules: tuple[str, ...]
    sources: tuple[tuple[str, Pointer], ...] = ()


def plan(
    findings: Iterable[Finding],
    documents: list[Document],
    unsafe: bool,
    bound: BoundAccounts | None = None,
    blocked: frozenset[tuple[int, Pointer, str, Scalar | None]] = frozenset(),
) -> list[Edit]:
    """The edits for the findings of one file that have a fix (safe ones, unsafe ones when
    asked or when their ``safe_when`` holds: ``bound`` says which accounts the scan's bindings
    name), each made once: removals first (a requirement may be met once an item is gone),
    then in rule order. Suppressed findings are left alone; a fix whose ``requires`` the
    target (as the edits before it leave it) does not meet is skipped. Removals come last
    in the list, each list's items from the last, so that no edit moves another's place.
    ``blocked``: the edits (``key``) the text cannot take, planned as not made, so that no
    edit whose requirement or condition only they meet is planned."""
    data = [plain(document.data) for document in documents]
    candidates = sorted(
        (f for f in findings if fixable(f, unsafe)),
        key=lambda f: (f.rule.fix is None or not f.rule.fix.removes, f.rule.id, f.span),
    )
    edits: dict[tuple[int, Pointer, str, Scalar | None], list[tuple[str, Pointer]]] = {}
    located = DocumentIndex(documents)
    for finding in candidates:
        index = located.of(finding)
        fix = finding.rule.fix
        if index is None or fix is None:
            continue
        base = finding.pointer[: len(finding.pointer) - len(fix.parts)]
        target = value_at(data[index], base)
        if not isinstance(target, dict) or not _meets(fix, target):
            continue
        if not unsafe and not is_safe(finding, target, bound, data[index], base):
            continue
        action = "remove" if fix.removes else fix.action
        for pointer in _pointers(finding, fix, base, data[index], documents[index].data):
            key = (index, pointer, action, fix.value)
            if key in blocked or not _editable(data[index], pointer):
                continue
            if key not in edits:
                if fix.removes and value_at(data[index], pointer) in (None, _GONE):
                    continue
                _plan_one(data[index], Edit(index, pointer, action, fix.value, ()))
            edits.setdefault(key, []).append((finding.rule.id, finding.pointer))
    made = [
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
    removals = sorted(
        (edit for edit in made if edit.action == "remove"),
        key=lambda edit: (edit.document, tuple(map(str, edit.pointer[:-1])), _order(edit)),
        reverse=True,
    )
    return [edit for edit in made if edit.action != "remove"] + removals


def _editable(data: Any, pointer: Pointer) -> bool:
    """Whether an edit at ``pointer`` can be made in ``data``: every parent on the way is a
    mapping or a list, or is not there yet (a ``securityContext`` written as a string or
    ``false`` is a wrong type, which the scan reports; no field is added inside it)."""
    for part in pointer[:-1]:
        if data is None:
            return True
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return False
    last = pointer[-1] if pointer else None
    return (
        data is None
        or isinstance(data, dict)
        or (isinstance(data, list) and isinstance(last, int) and 0 <= last < len(data))
    )


_GONE = ""
"""What a list item removed while planning is replaced with, so that the items after it keep
their indexes (the findings' pointers): a value no check flags or requires."""


def key(edit: Edit) -> tuple[int, Pointer, str, Scalar | None]:
    """What ``plan`` tells an edit by (its ``blocked``)."""
    return edit.document, edit.pointer, edit.action, edit.value


def _plan_one(data: Any, edit: Edit) -> None:
    """The edit made in the data being planned: as ``apply``, but a list item removed leaves
    ``_GONE`` in its place."""
    parent = value_at(data, edit.pointer[:-1])
    if edit.action == "remove" and isinstance(parent, list):
        parent[int(edit.pointer[-1])] = _GONE
    else:
        apply(data, edit)


def _order(edit: Edit) -> int:
    last = edit.pointer[-1]
    return last if isinstance(last, int) else -1


def _pointers(finding: Finding, fix: Fix, base: Pointer, data: Any, original: Any) -> list[Pointer]:
    """Where the finding's edits go: for ``set`` and ``add`` one place (the pod spec's, for
    an inherited field the container does not write, when every member of the pod meets the
    fix's requirements); for ``remove`` the field the finding points at and every other
    value the fix's path leads to in the target that the rule flags; for ``remove-volume``
    the volume and its mounts, as written (``original``: the same for every finding of it)."""
    if fix.action == "remove-volume":
        return _volume_and_mounts(finding.pointer[: len(base) + 2], original)
    if fix.action != "remove":
        pointer = _where(fix, base, data)
        pod = pointer[: len(pointer) - len(fix.parts)]
        if pod != base and not all(_meets(fix, c) for c in _pod_members(data, pod)):
            return []
        return [pointer]
    target = value_at(data, base)
    flagged = {match.pointer for match in select(target, fix.path, base) if _flags(finding, match)}
    return sorted(flagged | {finding.pointer}, key=lambda pointer: tuple(map(str, pointer)))


def _volume_and_mounts(volume: Pointer, data: Any) -> list[Pointer]:
    """A pod volume and every volumeMount of the pod's containers that names it: the API
    server refuses a mount whose volume is gone (``pkg/apis/core/validation/validation.go``,
    ``ValidateVolumeMounts``: ``field.NotFound`` for its name). None when the volume has no
    name, or its pod spec holds no containers (its mounts may be elsewhere: an Argo
    workflow's volumes serve the containers of its templates)."""
    spec = value_at(data, volume[:-2])
    item = value_at(data, volume)
    name = item.get("name") if isinstance(item, dict) else None
    if not isinstance(name, str) or not isinstance(spec, dict):
        return []
    if not isinstance(spec.get("containers"), list):
        return []
    found = [volume]
    for role in CONTAINER_LISTS:
        listed = spec.get(role)
        for at, container in enumerate(listed if isinstance(listed, list) else []):
            mounts = container.get("volumeMounts") if isinstance(container, dict) else None
            for index, mount in enumerate(mounts if isinstance(mounts, list) else []):
                if isinstance(mount, dict) and mount.get("name") == name:
                    found.append((*volume[:-2], role, at, "volumeMounts", index))
    return found


def _flags(finding: Finding, match: Match) -> bool:
    """Whether the finding's rule flags the value at ``match`` too (it reports only the first
    of a target's values it flags): a capabilities check by its test of each item, a field
    check by its condition on the fix's path."""
    if not match.present or match.value == _GONE:
        return False
    params = finding.rule.params
    if isinstance(params, CapabilitiesParams):
        return params.failed(match.value) is not None
    fix = finding.rule.fix
    if isinstance(params, FieldParams) and fix is not None:
        return any(c.problem(match) is not None for c in params.conditions if c.path == fix.path)
    return False


def fixable(finding: Finding, unsafe: bool) -> bool:
    """Whether the finding may get an edit: its rule has a fix that fixes this very field, it
    is not suppressed, and the fix is safe, unsafe ones were asked for, or it may be safe for
    this finding (``safe_when``: ``plan`` decides)."""
    fix = finding.rule.fix
    if fix is None or finding.suppression is not None:
        return False
    if fix.safety == "unsafe" and not unsafe and fix.safe_when is None:
        return False
    return fix.matches(finding.pointer)


def is_safe(
    finding: Finding,
    target: dict[str, Any],
    bound: BoundAccounts | None,
    document: Any = None,
    base: Pointer = (),
) -> bool:
    """Whether the finding's fix is safe for it: safe always, or unsafe with a ``safe_when``
    that holds of its target (``bound``: the accounts the scan's bindings name; None: not
    known, so no condition holds). ``document`` and ``base`` place the target, so that a
    container's condition can read its pod spec (the edits planned before it applied)."""
    fix = finding.rule.fix
    if fix is None:
        return False
    if fix.safety == "safe":
        return True
    if fix.safe_when == "token-unused" and bound is not None:
        return token_unused(target, finding.namespace or None, bound)
    if fix.safe_when == "runs-unprivileged" and len(base) >= 2:
        pod_spec = value_at(document, base[:-2])  # .../spec/containers/<n>
        return isinstance(pod_spec, dict) and runs_unprivileged(target, pod_spec)
    return False


class DocumentIndex:
    """Finds the document a finding was made in among a file's documents: the one that places
    the finding's pointer where the finding is. A document places its fields inside its own
    text, so the last one starting at or before the finding is tried first; the others, in
    order, only when it is not the one."""

    def __init__(self, documents: list[Document]) -> None:
        self.documents = documents
        self.starts = [(document.span[0], document.span[1]) for document in documents]

    def of(self, finding: Finding) -> int | None:
        """The index of the document ``finding`` was made in (None: none places it there)."""
        candidate = bisect_right(self.starts, (finding.span[0], finding.span[1])) - 1
        if candidate >= 0 and self._places(candidate, finding):
            return candidate
        return next(
            (index for index in range(len(self.documents)) if self._places(index, finding)), None
        )

    def _places(self, index: int, finding: Finding) -> bool:
        document = self.documents[index]
        return type(document) is Document and document.locate(finding.pointer)[0] == finding.span


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
    if edit.action == "remove":
        del data[last]
    elif edit.action == "set":
        data[last] = edit.value
    elif not isinstance(data.get(last), list):
        data[last] = [edit.value]
    elif edit.value not in data[last]:
        data[last].append(edit.value)
