"""Terminal output (``--format text``): the findings of each file grouped by object and
container, a finding that is a special case or a consequence of another (a rule's ``refines``
and ``implied-by``) shown under it, one remediation per group, then a summary that names what
to fix first. ``--format concise`` keeps one line per finding."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator
from functools import lru_cache

from kscan.model.taxonomy import Severity
from kscan.report import ReportOptions, printable
from kscan.report.concise import COLORS, styled, summary
from kscan.results.findings import Finding
from kscan.results.scan_result import ScanResult
from kscan.rules.registry import Rule

WIDTH = 100
"""Lines are wrapped to this width, except where a ``path:line:col`` alone is longer."""
FIX_FIRST = 10
"""Groups the summary names at most; the rest are counted."""
_RANK = {severity: rank for rank, severity in enumerate(Severity)}
"""Severity order, most severe first (``Severity`` lists them so)."""


class Group:
    """One problem: a finding of a general rule (``head``) and the findings of the same block
    that refine it or follow from it (``related``), most severe first. (Plain classes here:
    cheaper to define at start-up than dataclasses.)"""

    __slots__ = ("head", "related")

    def __init__(self, head: Finding) -> None:
        self.head = head
        self.related: list[Finding] = []

    @property
    def severity(self) -> Severity:
        return min((f.severity for f in (self.head, *self.related)), key=_RANK.__getitem__)

    def members(self) -> list[Finding]:
        return [self.head, *self.related]


class Block:
    """The findings about one object, or one container of it, in one file."""

    __slots__ = ("groups", "subject")

    def __init__(self, subject: str, groups: list[Group]) -> None:
        self.subject = subject
        self.groups = groups


def render(result: ScanResult, rules: list[Rule], options: ReportOptions) -> Iterator[str]:
    """Each file's findings as blocks of groups, then the summary; suppressed findings only
    with ``show_suppressed``, findings accepted in a baseline never."""
    priorities = _Priorities()
    first_file = True
    for path, findings in _by_path(result.findings, options.show_suppressed):
        if not first_file:
            yield "\n"
        first_file = False
        yield _style(printable(path), options.color, bold=True) + "\n"
        for block in blocks(findings):
            yield "\n" + f"  {block.subject}\n"
            for group in block.groups:
                yield from _format_group(group, block.subject, options.color)
                priorities.add(block, group)
    if not first_file:
        yield "\n"
    yield summary(result, len(options.absent)) + "\n"
    yield from priorities.lines()


class _Priorities:
    """The problems the summary names: the critical and high groups that count, or the
    medium ones when there is nothing worse; at most ``FIX_FIRST``, the rest counted."""

    def __init__(self) -> None:
        self.urgent: list[tuple[Block, Group]] = []
        self.medium: list[tuple[Block, Group]] = []
        self.counts = {"urgent": 0, "medium": 0}

    def add(self, block: Block, group: Group) -> None:
        if not any(finding.counts for finding in group.members()):
            return
        rank = _RANK[group.severity]
        kind, kept = (
            ("urgent", self.urgent) if rank <= _RANK[Severity.HIGH] else ("medium", self.medium)
        )
        if rank > _RANK[Severity.MEDIUM]:
            return
        self.counts[kind] += 1
        if len(kept) < FIX_FIRST:
            kept.append((block, group))

    def lines(self) -> Iterator[str]:
        kind, kept = ("urgent", self.urgent) if self.urgent else ("medium", self.medium)
        if not kept:
            return
        worst = "critical or high" if kind == "urgent" else "medium"
        yield "Fix first:\n" if kind == "urgent" else "Fix first (nothing critical or high):\n"
        for block, group in sorted(kept, key=lambda item: _RANK[item[1].severity]):
            yield from _wrapped(_fix_first_line(block, group), "  ", "      ")
        if self.counts[kind] > len(kept):
            rest = self.counts[kind] - len(kept)
            yield f"  ... and {rest} more {worst} problem{'s' if rest > 1 else ''} above.\n"


def _by_path(
    findings: Iterable[Finding], show_suppressed: bool
) -> Iterator[tuple[str, list[Finding]]]:
    """The shown findings, one file at a time (the store keeps them sorted by file)."""
    current: list[Finding] = []
    for finding in findings:
        shown = finding.counts or (show_suppressed and finding.suppression is not None)
        if not shown:
            continue
        if current and finding.path != current[0].path:
            yield current[0].path, current
            current = []
        current.append(finding)
    if current:
        yield current[0].path, current


def blocks(findings: list[Finding]) -> list[Block]:
    """One file's findings by object and container, in the order they first appear; in each,
    the groups most severe first, then by position."""
    by_key: dict[tuple[str | None, ...], list[Finding]] = {}
    for finding in findings:
        key = (finding.kind, finding.namespace, finding.name, finding.container)
        by_key.setdefault(key, []).append(finding)
    return [Block(_subject(members), _groups(members)) for members in by_key.values()]


def _groups(findings: list[Finding]) -> list[Group]:
    """A finding goes under the finding of the most general rule above it (through ``refines``
    and ``implied-by``) that reports a related field of the same block; findings of one rule
    that stand alone make one group."""
    heads: dict[int, int] = {}  # index of a finding -> index of the head it goes under
    for index, finding in enumerate(findings):
        heads[index] = _head(index, finding, findings)
    for index in heads:  # a head that has a head of its own hands on its findings
        seen = {index}
        while heads[heads[index]] not in seen:
            seen.add(heads[index])
            heads[index] = heads[heads[index]]
        if heads[heads[index]] != heads[index]:
            heads[index] = index  # a cycle of rules naming each other: no grouping
    groups: dict[int, Group] = {}
    by_rule: dict[str, int] = {}
    for index, finding in enumerate(findings):
        head = heads[index]
        if head == index:
            same_rule = by_rule.get(finding.rule.id)
            if same_rule is not None:
                groups[same_rule].related.append(finding)
            else:
                by_rule[finding.rule.id] = index
                groups[index] = Group(finding)
    for index, finding in enumerate(findings):
        head = heads[index]
        if head != index:
            root = by_rule.get(findings[head].rule.id, head)
            groups[root].related.append(finding)
    ordered = sorted(groups.values(), key=lambda g: (_RANK[g.severity], _position(g.head)))
    for group in ordered:
        group.related.sort(key=lambda f: (_RANK[f.severity], _position(f), f.rule.id))
    return ordered


def _head(index: int, finding: Finding, findings: list[Finding]) -> int:
    """The index of the finding ``finding`` is shown under: the most general one reachable
    through the rules it refines or follows from, among related fields; itself if none."""
    head, seen = index, {finding.rule.id}
    frontier = [finding]
    while frontier:
        current = frontier.pop()
        for general in current.rule.general:
            if general in seen:
                continue
            seen.add(general)
            for other_index, other in enumerate(findings):
                if other.rule.id == general and _related(other.pointer, finding.pointer):
                    head = other_index
                    frontier.append(other)
                    break
    return head


def _related(one: tuple[str | int, ...], other: tuple[str | int, ...]) -> bool:
    """Whether two fields are one, or one holds the other; items of one list count as the
    list (``capabilities.add[0]`` and ``add[1]``)."""
    one, other = _without_item(one), _without_item(other)
    shorter = min(len(one), len(other))
    return one[:shorter] == other[:shorter]


def _without_item(pointer: tuple[str | int, ...]) -> tuple[str | int, ...]:
    return pointer[:-1] if pointer and isinstance(pointer[-1], int) else pointer


def _position(finding: Finding) -> tuple[int, int]:
    return finding.span.line, finding.span.column


def _subject(findings: list[Finding]) -> str:
    """What the block is about, as its messages name it (``Container 'web' of Deployment
    'shop/web'``), or from the finding's object when no message starts with a name."""
    for finding in findings:
        message = printable(finding.message)
        prefix, colon, _rest = message.partition(": ")
        if colon and prefix.endswith("'") and finding.name and finding.name in prefix:
            return prefix
    first = findings[0]
    where = first.name or ""
    if first.namespace and first.kind != "Namespace":
        where = f"{first.namespace}/{where}"
    text = f"{first.kind or 'Document'} '{where}'" if where else first.kind or "Document"
    text = printable(text)
    return f"Container '{printable(first.container)}' of {text}" if first.container else text


def _message(finding: Finding, subject: str) -> str:
    """The message without the block's subject it starts with (field names keep their case:
    ``securityContext.privileged is true.``)."""
    message = printable(finding.message)
    for joint in (": ", " "):
        if message.startswith(subject + joint):
            return message[len(subject) + len(joint) :]
    return message


def _format_group(group: Group, subject: str, color: bool) -> Iterator[str]:
    """The head finding with its threat, the findings under it, then one fix for them all:
    the remediation of the head's rule (its YAML example when the fix covers several rules)
    and the ``kscan explain`` hint."""
    head, rule = group.head, group.head.rule
    yield "\n"
    yield from _finding(head, subject, "    ", color)
    attack = f"{rule.tactic} {rule.tactic_name} / {rule.technique} {rule.technique_name}"
    for line in _wrapped(f"{rule.stride_name} | {attack}", "        "):
        yield _style(line.rstrip("\n"), color, dim=True) + "\n"
    same_rule = [f for f in group.related if f.rule.id == rule.id]
    others = [f for f in group.related if f.rule.id != rule.id]
    for finding in same_rule:
        yield from _finding(finding, subject, "    ", color)
    if others:
        yield "        Reported with it, as special cases or consequences:\n"
        for finding in others:
            yield from _finding(finding, subject, "        ", color)
    explain = _unbroken(f"(kscan explain {rule.id})")
    yield from _wrapped(f"Fix: {printable(rule.remediation)} {explain}", "        ")
    if others:
        yield f"        One change fixes all {len(group.members())} findings, for example:\n"
        yield textwrap.indent(rule.remediation_example, "            ")


def _finding(finding: Finding, subject: str, indent: str, color: bool) -> Iterator[str]:
    yield indent + _headline(finding, color) + "\n"
    yield from _wrapped(_message(finding, subject) + _suppressed(finding), indent + "    ")


def _headline(finding: Finding, color: bool) -> str:
    """``path:line:col: SEVERITY id name``, never wrapped."""
    where = f"{printable(finding.path)}:{finding.span.line}:{finding.span.column}:"
    severity = _style(finding.severity.value.upper(), color, fg=COLORS[finding.severity], bold=True)
    return f"{_style(where, color, bold=True)} {severity} {finding.rule.id} {finding.rule.name}"


def _suppressed(finding: Finding) -> str:
    if finding.suppression is None:
        return ""
    reason = finding.suppression.reason or "no reason given"
    return f" (suppressed at {printable(finding.suppression.where)}: {printable(reason)})"


def _fix_first_line(block: Block, group: Group) -> str:
    """``critical: Container 'web' of Deployment 'shop/web': privileged-container (path:26:13)``;
    the group's rule, then the most severe of the rules reported with it."""
    head = group.head
    where = _unbroken(f"({printable(head.path)}:{head.span.line}:{head.span.column})")
    names = [head.rule.name]
    for finding in sorted(group.related, key=lambda f: _RANK[f.severity]):
        if finding.rule.name not in names:
            names.append(finding.rule.name)
    shown = names[0]
    if len(names) > 1:
        shown += ", with " + ", ".join(names[1:3])
        shown += f" and {len(names) - 3} more" if len(names) > 3 else ""
    return f"{group.severity.value}: {block.subject}: {shown} {where}"


_NO_BREAK = "\x00"
"""Stands for a space that must not break a line while text is wrapped (``printable`` text
holds no NUL: control characters are shown as escapes)."""


def _unbroken(text: str) -> str:
    """``text`` kept on one line by ``_wrapped`` (a ``path:line:col`` with spaces in it)."""
    return text.replace(" ", _NO_BREAK)


def _wrapped(text: str, indent: str, subsequent: str | None = None) -> Iterator[str]:
    """``text`` wrapped to ``WIDTH``; words (paths, ``path:line:col``) are never cut."""
    if len(indent) + len(text) <= WIDTH and text.isprintable() and text == text.strip():
        yield indent + text + "\n"  # one line as it is, as textwrap would give it (faster)
        return
    yield from _wrapped_lines(text, indent, indent if subsequent is None else subsequent)


@lru_cache(maxsize=1024)
def _wrapped_lines(text: str, indent: str, subsequent: str) -> tuple[str, ...]:
    """The lines of ``_wrapped`` (remembered: rules' texts repeat in every group of a rule)."""
    lines = textwrap.wrap(
        text,
        WIDTH,
        initial_indent=indent,
        subsequent_indent=subsequent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return tuple(line.replace(_NO_BREAK, " ") + "\n" for line in lines or [indent])


def _style(
    text: str, color: bool, fg: int | None = None, bold: bool = False, dim: bool = False
) -> str:
    return styled(text, fg, bold, dim) if color else text
