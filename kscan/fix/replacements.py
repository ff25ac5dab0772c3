"""Each fix as replacements in its file's original text (a region and what replaces it, empty
for a removal), for reports that carry fixes (SARIF ``fixes``): made only for files whose fixes
all read back as expected, each edit alone on the original text."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from kscan.fix.files import FileFix, edits_alone, fix_file
from kscan.fix.plan import DocumentIndex, Edit, fixable
from kscan.fix.text import EditError
from kscan.input.documents import Pointer
from kscan.results.findings import Finding
from kscan.support.values import dataclass


@dataclass(frozen=True)
class Replacement:
    """Replace the text from (``start_line``, ``start_column``) to (``end_line``,
    ``end_column``), 1-based in code points, end exclusive (equal: an insertion), with
    ``inserted``; ``description`` says what the fix does and whether it is safe."""

    description: str
    start_line: int
    start_column: int
    end_line: int
    end_column: int
    inserted: str


def replacements(findings: Iterable[Finding]) -> dict[FindingKey, list[Replacement]]:
    """The replacements fixing each finding that has a fix, by ``finding_key``: the smallest
    region its one edit changes, or, for a fix of several edits (the items and mounts a
    removal takes out), the lines they change together (in the order of the text, none
    overlapping). A finding's edits are those of its own document (another document of the
    file may have a field at the same pointer, with its own finding)."""
    by_path: dict[str, list[Finding]] = {}
    for finding in findings:
        if fixable(finding, True):
            by_path.setdefault(finding.path, []).append(finding)
    found: dict[FindingKey, list[Replacement]] = {}
    for path, listed in by_path.items():
        fixed = fix_file(path, listed, True)
        if fixed.refused or not fixed.applied:
            continue
        per_finding: dict[tuple[int | None, str, Pointer], list[Edit]] = {}
        for edit in fixed.applied:
            for rule, pointer in edit.sources:
                per_finding.setdefault((edit.document, rule, pointer), []).append(edit)
        located = DocumentIndex(fixed.documents)
        for finding in listed:
            index = located.of(finding)
            edits = per_finding.get((index, finding.rule.id, finding.pointer), [])
            if not edits or finding.rule.fix is None:
                continue
            made = _made(fixed, edits, f"kscan fix: {finding.rule.fix.describe()}")
            if made:
                found[finding_key(finding)] = made
    return found


FindingKey = tuple[str, int, int, str, Pointer]


def finding_key(finding: Finding) -> FindingKey:
    """What tells a finding apart from the others of its file: its position, rule and field."""
    return (*finding.sort_key(), finding.pointer)


def _made(fixed: FileFix, edits: list[Edit], description: str) -> list[Replacement]:
    """The edits made by themselves on the original text, as replacements of it (worked out
    in the text of their document, which starts at the beginning of a line)."""
    try:
        first_line, before, after = edits_alone(fixed, edits)
    except EditError:
        return []
    if len(edits) > 1:
        return _changed_lines(before, after, description, first_line)
    prefix = _common(before, after, len(before), forward=True)
    limit = min(len(before), len(after)) - prefix
    suffix = _common(before, after, limit, forward=False)
    start = _position(before, prefix, first_line)
    end = _position(before, len(before) - suffix, first_line)
    return [Replacement(description, *start, *end, after[prefix : len(after) - suffix])]


def _changed_lines(before: str, after: str, description: str, first_line: int) -> list[Replacement]:
    """One replacement per run of lines that differ between the texts (``before`` starting on
    line ``first_line`` of the file)."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    starts = [0]
    for line in old:
        starts.append(starts[-1] + len(line))
    # the lines before the first change and after the last are the same: only those between
    # are compared (difflib's time grows with the square of the lines it is given)
    most = min(len(old), len(new))
    head = next((i for i in range(most) if old[i] != new[i]), most)
    tail = next((i for i in range(most - head) if old[-1 - i] != new[-1 - i]), most - head)
    matcher = difflib.SequenceMatcher(
        None, old[head : len(old) - tail], new[head : len(new) - tail], autojunk=False
    )
    return [
        Replacement(
            description,
            *_position(before, starts[head + i1], first_line),
            *_position(before, starts[head + i2], first_line),
            "".join(new[head + j1 : head + j2]),
        )
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def _common(one: str, other: str, most: int, forward: bool) -> int:
    """The length of the longest common prefix (``forward``) or suffix of two texts, at most
    ``most``: a binary search over slice comparisons (each made in C, not a loop per
    character)."""
    low, high = 0, min(most, len(one), len(other))
    while low < high:
        middle = (low + high + 1) // 2
        same = (
            one[:middle] == other[:middle]
            if forward
            else one[len(one) - middle :] == other[len(other) - middle :]
        )
        low, high = (middle, high) if same else (low, middle - 1)
    return low


def _position(text: str, offset: int, first_line: int) -> tuple[int, int]:
    """The 1-based line and column of a character offset of ``text``, which starts at the
    beginning of line ``first_line``."""
    line_start = text.rfind("\n", 0, offset) + 1
    return first_line + text.count("\n", 0, offset), offset - line_start + 1
