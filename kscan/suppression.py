"""Suppressions, each with a reason: object and pod-template annotations (also per container),
inline comments on the finding's line or the comment line above it, and configuration entries.

Suppressed findings are marked, not dropped: reports show them as suppressed (SARIF
``suppressions``) and they do not count for the exit code.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from kscan.config import Config, matches_selector, path_matches
from kscan.documents import Document, Span
from kscan.objects import KubeObject
from kscan.sources import Source

ANNOTATION = "kscan.io/ignore"
SCOPE_KEYS = ("path", "kind", "namespace", "name", "container")
COMMENT = re.compile(r"(?:^|\s)#\s*kscan:\s*ignore\[([^\]]*)\]\s*([^#]*?)\s*(?:#.*)?$")
"""``# kscan: ignore[RULE, ...] reason``; the reason ends at a further ``#`` comment."""


@dataclass(frozen=True)
class Suppression:
    """Why a finding is suppressed, and by what (``inSource``: annotation or comment)."""

    kind: Literal["inSource", "external"]
    reason: str
    where: str


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
    document: Document | None = None
    scope: dict[str, str] = field(default_factory=dict)
    used: int = 0

    def covers(self, rule_id: str, rule_name: str) -> bool:
        return any(matches_selector(selector, rule_id, rule_name) for selector in self.rules)

    @property
    def suppression(self) -> Suppression:
        return Suppression(self.kind, self.reason, f"{self.path}:{self.line}")


def parse_rule_list(text: str) -> tuple[tuple[str, ...], str]:
    """``"KS101, host-path-*: vendor chart"`` -> ``(("KS101", "host-path-*"), "vendor chart")``."""
    rules, _, reason = text.partition(":")
    return tuple(r.strip() for r in rules.split(",") if r.strip()), reason.strip()


def annotation_directives(obj: KubeObject) -> Iterator[Directive]:
    """``kscan.io/ignore`` and ``kscan.io/ignore.<container>`` on the object and its pod
    template."""
    own = (*obj.pointer, "metadata")
    metadatas = [(own, obj.data.get("metadata"))]
    if obj.pod is not None and obj.pod.metadata_pointer != own:
        metadatas.append((obj.pod.metadata_pointer, obj.document.get(obj.pod.metadata_pointer)))
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
            where = obj.document.source.path
            yield Directive(
                rules, reason, "inSource", where, span.line, span.column, container, obj.document
            )


def comment_directives(document: Document) -> dict[int, Directive]:
    """``# kscan: ignore[RULE, ...] reason`` comments of a file, by line number."""
    source = document.source
    found = {}
    for number, line in enumerate(source.text.splitlines(), start=1):
        if "kscan:" not in line:
            continue
        match = COMMENT.search(line)
        if match:
            rules = tuple(r.strip() for r in match.group(1).split(",") if r.strip())
            column = line.index("#", match.start()) + 1
            found[number] = Directive(
                rules, match.group(2), "inSource", source.path, number, column, document=document
            )
    return found


class Suppressor:
    """Decides, finding by finding, whether a suppression applies; remembers which were used.
    The engine shows it every scanned document and object first (``see``), so that unused
    suppressions and suppressions without a reason can be reported too."""

    def __init__(self, config: Config | None = None) -> None:
        self.root = config.root if config else Path.cwd()
        self.config: list[Directive] = []
        if config is not None:
            where = str(config.file.path) if config.file else "command line"
            for index, entry in enumerate(config["suppressions"]):
                line, column = (
                    config.file.locate(("suppressions", index)) if config.file else (0, 0)
                )
                scope = {key: entry[key] for key in SCOPE_KEYS if key in entry}
                rules = tuple(entry["rules"])
                directive = Directive(rules, entry["reason"], "external", where, line, column or 1)
                directive.scope = scope
                self.config.append(directive)
        self._annotations: dict[int, list[Directive]] = {}
        self._comments: dict[int, dict[int, Directive]] = {}

    def see(self, document: Document, objects: list[KubeObject]) -> None:
        """Collect the suppressions written in a scanned document and its objects."""
        if id(document.source) not in self._comments:
            self._comments[id(document.source)] = comment_directives(document)
        for obj in objects:
            self._annotations[id(obj)] = list(annotation_directives(obj))

    def check(
        self,
        rule_id: str,
        rule_name: str,
        path: str,
        span: Span,
        document: Document,
        obj: KubeObject | None,
        identity: tuple[str | None, str | None, str | None],
        container: str | None,
    ) -> Suppression | None:
        """The suppression of this finding, if any (the first that applies)."""
        for directive in self._candidates(document, obj, span, container):
            if directive.covers(rule_id, rule_name):
                directive.used += 1
                return directive.suppression
        kind, namespace, name = identity
        values = {"kind": kind, "namespace": namespace, "name": name, "container": container}
        for directive in self.config:
            if directive.covers(rule_id, rule_name) and self._in_scope(directive, path, values):
                directive.used += 1
                return directive.suppression
        return None

    def _candidates(
        self, document: Document, obj: KubeObject | None, span: Span, container: str | None
    ) -> Iterator[Directive]:
        for directive in self._annotations.get(id(obj), []) if obj is not None else []:
            if directive.container is None or directive.container == container:
                yield directive
        source = document.source
        comments = self._comments.get(id(source), {})
        if span.line in comments:
            yield comments[span.line]
        above = comments.get(span.line - 1)
        if above is not None and _comment_only(source, span.line - 1):
            yield above

    def _in_scope(self, directive: Directive, path: str, values: dict[str, str | None]) -> bool:
        for key, pattern in directive.scope.items():
            if key == "path":
                if not path_matches(path, pattern, self.root):
                    return False
            elif values.get(key) is None or not fnmatch.fnmatchcase(str(values[key]), pattern):
                return False
        return True

    def all_directives(self) -> Iterator[Directive]:
        """Every suppression seen in the scanned files and the configuration."""
        for directives in self._annotations.values():
            yield from directives
        for comments in self._comments.values():
            yield from comments.values()
        yield from self.config

    def unused(self) -> list[Directive]:
        """Suppressions that matched no finding (annotations and comments of scanned objects)."""
        return [d for d in self.all_directives() if d.used == 0]


def _comment_only(source: Source, line: int) -> bool:
    lines = source.text.splitlines()
    return 0 < line <= len(lines) and lines[line - 1].lstrip().startswith("#")
