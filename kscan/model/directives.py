"""Suppressions as written in manifests: ``kscan.io/ignore`` annotations on objects and pod
templates, and ``# kscan: ignore[RULE] reason`` comments. Which findings they hide is decided
in the results stage (``kscan.results.suppression``)."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from functools import cache
from typing import Literal

from kscan.config.selectors import matches_selector
from kscan.input.documents import Document
from kscan.input.tree import Pointer, Span
from kscan.model import KubeObject
from kscan.support.values import dataclass, field

ANNOTATION = "kscan.io/ignore"
_DIRECTIVE = r"#[ \t]*kscan:[ \t]*ignore\["
"""``# kscan: ignore[``, matched where a comment's ``#`` is (anchored); the rules follow up to
the next ``]``, then the reason up to a further ``#``."""


@dataclass
class Directive:
    """One suppression as written: which rules, why, where, and (config) what it applies to."""

    rules: tuple[str, ...]
    reason: str
    kind: Literal["inSource", "external"]
    path: str
    line: int
    column: int = 1
    container: str | None = None
    alone: bool = False
    """An inline comment on a line of its own (it then also covers the line below)."""
    scope: dict[str, str] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    """The selectors that matched a finding."""
    profile: int = 0
    """For configuration entries: the profile (configuration) whose files they apply to."""
    root: str | None = None
    """For configuration entries: the folder their path globs are relative to."""
    pointer: Pointer = ()
    """For annotations: the annotation's key in its document (a comment has no field)."""

    @property
    def span(self) -> Span:
        """Where it is written (the ``#`` of a comment, the key of an annotation)."""
        return Span(self.line, self.column, self.line, self.column + 1)

    def covering(self, rule_id: str, rule_name: str) -> list[str]:
        """The selectors of this directive that name the rule."""
        return [s for s in self.rules if matches_selector(s, rule_id, rule_name)]


def parse_rule_list(text: str) -> tuple[tuple[str, ...], str]:
    """``"KS101, host-path-*: vendor chart"`` -> ``(("KS101", "host-path-*"), "vendor chart")``."""
    rules, _, reason = text.partition(":")
    return tuple(r.strip() for r in rules.split(",") if r.strip()), reason.strip()


def annotation_directives(obj: KubeObject) -> Iterator[Directive]:
    """``kscan.io/ignore`` and ``kscan.io/ignore.<container>`` on the object and its pod
    template."""
    own = (*obj.pointer, "metadata")
    metadatas = [(own, obj.data.get("metadata"))]
    for pod in obj.pods:
        if all(pod.metadata_pointer != pointer for pointer, _ in metadatas):
            metadatas.append((pod.metadata_pointer, obj.document.get(pod.metadata_pointer)))
    for pointer, metadata in metadatas:
        annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
        if not isinstance(annotations, dict):
            continue
        for key, value in annotations.items():
            if not isinstance(key, str) or not key.startswith(ANNOTATION):
                continue
            container = key[len(ANNOTATION) + 1 :] if key.startswith(ANNOTATION + ".") else None
            if key != ANNOTATION and container is None:
                continue
            rules, reason = parse_rule_list(str(value))
            span, _ = obj.document.locate((*pointer, "annotations", key))
            yield Directive(
                rules,
                reason,
                "inSource",
                obj.document.path,
                span.line,
                span.column,
                container,
                pointer=(*pointer, "annotations", key),
            )


_LINE_BREAK = "\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]"
"""Where ``str.splitlines`` ends a line."""


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    """A pattern of this module, compiled when a file first holds ``kscan:``."""
    return re.compile(pattern)


@dataclass
class CommentLines:
    """The lines of a file that hold ``kscan:``, by line number: all a file keeps for its
    suppression comments (never every line of it)."""

    numbers: list[int] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, text: str) -> CommentLines:
        found = cls()
        line, counted, start = 1, 0, 0  # line number at ``counted``; where that line starts
        at = text.find("kscan:")
        if at < 0:
            return found
        line_break = _compiled(_LINE_BREAK)
        while at >= 0:
            for match in line_break.finditer(text, counted, at):
                line, start = line + 1, match.end()
            counted = at
            end = line_break.search(text, at)
            stop = len(text) if end is None else end.start()
            found.numbers.append(line)
            found.lines.append(text[start:stop])
            at = text.find("kscan:", stop)
        return found

    def between(self, first: int, last: int) -> Iterator[tuple[int, str]]:
        """The (number, line) pairs from line ``first`` to line ``last``."""
        index = bisect_left(self.numbers, first)
        while index < len(self.numbers) and self.numbers[index] <= last:
            yield self.numbers[index], self.lines[index]
            index += 1


def comment_directives(document: Document, lines: CommentLines) -> dict[int, Directive]:
    """``# kscan: ignore[RULE, ...] reason`` comments in a document's lines, by line number. Only
    real YAML comments count: text inside a scalar (a quoted env value, a script in a block
    scalar) is data, whatever it says, and JSON has no comments at all. ``lines``: the lines of
    the document's file that hold ``kscan:``."""
    if not document.has_comments:
        return {}
    found = {}
    first = max(1, document.span.line - 1)  # a comment alone above the first key counts too
    for number, line in lines.between(first, document.span.end_line):
        directive = _directive(document, line, number)
        if directive is not None:
            found[number] = directive
    return found


def _directive(document: Document, line: str, number: int) -> Directive | None:
    """The suppression written in the comment of one line, if it has one: the comment starts at
    the first ``#`` that begins a line or follows a space and lies outside every scalar. Linear
    in the line: each ``#`` is tried once, and the search for the ``]`` that closes the rules
    ends the search (a later ``#`` has no ``]`` after it either)."""
    at = line.find("#")
    while at >= 0 and not (
        (at == 0 or line[at - 1].isspace()) and not document.in_text(number, at + 1)
    ):
        at = line.find("#", at + 1)
    while at >= 0:
        start = at == 0 or line[at - 1].isspace()
        match = _compiled(_DIRECTIVE).match(line, at) if start else None
        if match is not None:
            close = line.find("]", match.end())
            if close < 0:
                return None
            rules = tuple(r.strip() for r in line[match.end() : close].split(",") if r.strip())
            reason = line[close + 1 :].split("#", 1)[0].strip()
            alone = not line[:at].strip()
            return Directive(
                rules, reason, "inSource", document.source.path, number, at + 1, alone=alone
            )
        at = line.find("#", at + 1)
    return None
