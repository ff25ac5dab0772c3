"""Suppressions, each with a reason: object and pod-template annotations (also per container),
inline comments on the finding's line or the comment line above it, and configuration entries.

Suppressed findings are marked, not dropped: reports show them as suppressed (SARIF
``suppressions``) and they do not count for the exit code.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from kscan.config.files import Config
from kscan.config.globs import path_matches
from kscan.config.selectors import matches_selector
from kscan.input.documents import Document, Span
from kscan.model import KubeObject, ObjectKey
from kscan.model.directives import (
    CommentLines,
    Directive,
    annotation_directives,
    comment_directives,
)
from kscan.results.findings import Suppression
from kscan.support.paths import relative_to
from kscan.support.values import replace

REASON_RULE = "suppression-without-reason"
SCOPE_KEYS = ("path", "kind", "namespace", "name", "container")


class Collected:
    """The suppressions written in some scanned files, and which configured ones matched
    findings there: what a worker hands back for the files it scanned. (A plain class:
    cheaper to define at start-up than a dataclass.)"""

    __slots__ = ("annotations", "comments", "config_used", "namespaces")

    def __init__(self) -> None:
        self.annotations: dict[ObjectKey, list[Directive]] = {}
        self.namespaces: dict[str, list[Directive]] = {}
        self.comments: dict[str, dict[int, Directive]] = {}
        self.config_used: list[set[str]] = []


class Suppressor:
    """Decides, finding by finding, whether a suppression applies; remembers which were used.
    The engine shows it every scanned document and object first (``see``), so that unused
    suppressions and suppressions without a reason can be reported too."""

    def __init__(self, config: Config | None = None) -> None:
        self.config: list[Directive] = []
        if config is not None:
            self.add_config(config)
        self._seen = Collected()
        self._lines: dict[str, CommentLines | None] = {}
        """Each file's lines that hold ``kscan:``, found once (None: it has none)."""
        self.known_rules: list[tuple[str, str]] = []
        """(id, name) of the scan's rules: what a written rule list may be quoted by."""

    def add_config(self, config: Config, profile: int = 0) -> None:
        """The ``suppressions`` entries of a configuration, for the files of its profile."""
        where = _display(config.file.path) if config.file else "command line"
        for index, entry in enumerate(config["suppressions"]):
            line, column = config.file.locate(("suppressions", index)) if config.file else (0, 0)
            directive = Directive(
                tuple(entry["rules"]), entry["reason"], "external", where, line, column or 1
            )
            directive.scope = {key: entry[key] for key in SCOPE_KEYS if key in entry}
            directive.profile, directive.root = profile, config.root
            self.config.append(directive)

    def names_a_rule(self, selector: str) -> bool:
        """Whether a selector written in a suppression names one of the scan's rules (then it
        may be shown; any other text of an annotation or comment is not)."""
        return any(matches_selector(selector, id_, name) for id_, name in self.known_rules)

    def fresh(self) -> Suppressor:
        """A suppressor with the same configuration and nothing seen or used yet, for scanning
        files apart (in this process or a worker) and ``add``-ing back what it collected."""
        copy = Suppressor()
        copy.config = [replace(d, used=set()) for d in self.config]
        return copy

    def take(self) -> Collected:
        """What was seen and used since the last ``take``; forgotten here."""
        seen, self._seen = self._seen, Collected()
        self._lines = {}
        seen.config_used = [d.used for d in self.config]
        for directive in self.config:
            directive.used = set()
        return seen

    def add(self, collected: Collected) -> None:
        """Merge what another suppressor collected (files are added in scan order)."""
        seen = self._seen
        seen.annotations.update(collected.annotations)
        seen.namespaces.update(collected.namespaces)
        for path, comments in collected.comments.items():
            seen.comments.setdefault(path, {}).update(comments)
        for directive, used in zip(self.config, collected.config_used, strict=False):
            directive.used |= used

    def see(self, document: Document, objects: list[KubeObject]) -> None:
        """Collect the suppressions written in a scanned document and its objects."""
        seen = self._seen
        path = document.path
        if path not in seen.comments:
            seen.comments[path] = {}
            text = document.source.text
            self._lines[path] = CommentLines.of(text) if "kscan:" in text else None  # once a file
        lines = self._lines.get(path)
        if lines is not None:
            seen.comments[path].update(comment_directives(document, lines))
        for obj in objects:
            directives = list(annotation_directives(obj))
            if directives:
                seen.annotations[obj.key] = directives
            if obj.kind == "Namespace" and directives:
                seen.namespaces[obj.name] = directives

    @contextmanager
    def reading(self, objects: list[KubeObject]) -> Iterator[None]:
        """While checking another reading of objects already seen (kustomize's), let their
        annotations be that reading's own: an annotation only kubectl sees suppresses nothing
        kustomize applies."""
        annotations = self._seen.annotations
        saved = {obj.key: annotations.get(obj.key) for obj in objects}
        for obj in objects:
            directives = list(annotation_directives(obj))
            if directives:
                annotations[obj.key] = directives
            else:
                annotations.pop(obj.key, None)
        try:
            yield
        finally:
            for key, kept in saved.items():
                if kept is None:
                    annotations.pop(key, None)
                else:
                    annotations[key] = kept

    def check(
        self,
        rule_id: str,
        rule_name: str,
        path: str,
        span: Span,
        obj: ObjectKey | None,
        identity: tuple[str | None, str | None, str | None],
        container: str | None,
        profile: int = 0,
    ) -> Suppression | None:
        """The suppression of this finding, if any: the first that applies. Every suppression
        that covers it counts as used. ``obj`` is the object the finding is about (None for a
        finding about a namespace, which takes the Namespace object's annotations); configured
        entries apply to the files of their ``profile``."""
        seen = self._seen
        nothing_written = not seen.comments.get(path) and not (
            seen.annotations.get(obj) if obj is not None else seen.namespaces
        )
        if nothing_written and not self.config:
            return None  # the common case, kept cheap: no suppression anywhere near
        kind, namespace, name = identity
        values = {"kind": kind, "namespace": namespace or "default", "name": name}
        values["container"] = container
        candidates = list(self._candidates(path, obj, span, container, identity))
        candidates += [
            d for d in self.config if d.profile == profile and self._in_scope(d, path, values)
        ]
        found = None
        for directive in candidates:
            if rule_name == REASON_RULE and not directive.reason:
                continue  # a suppression without a reason cannot hide that very finding
            selectors = directive.covering(rule_id, rule_name)
            if selectors:
                directive.used.update(selectors)
                found = found or _suppression(directive)
        return found

    def _candidates(
        self,
        path: str,
        obj: ObjectKey | None,
        span: Span,
        container: str | None,
        identity: tuple[str | None, str | None, str | None],
    ) -> Iterator[Directive]:
        seen = self._seen
        if obj is not None:
            for directive in seen.annotations.get(obj, []):
                if directive.container is None or directive.container == container:
                    yield directive
        elif identity[0] == "Namespace" and identity[2] is not None:
            yield from seen.namespaces.get(identity[2], [])
        comments = seen.comments.get(path, {})
        if span.line in comments:
            yield comments[span.line]
        above = comments.get(span.line - 1)
        if above is not None and above.alone:
            yield above

    def _in_scope(self, directive: Directive, path: str, values: dict[str, str | None]) -> bool:
        for key, pattern in directive.scope.items():
            if key == "path":
                if not path_matches(path, pattern, directive.root or os.getcwd()):
                    return False
            elif values.get(key) is None or not fnmatch.fnmatchcase(str(values[key]), pattern):
                return False
        return True

    def all_directives(self) -> Iterator[Directive]:
        """Every suppression seen in the scanned files and the configuration."""
        for directives in self._seen.annotations.values():
            yield from directives
        for comments in self._seen.comments.values():
            yield from comments.values()
        yield from self.config

    def unused(
        self, active: Callable[[Directive], list[tuple[str, str]]]
    ) -> list[tuple[Directive, str]]:
        """(suppression, selector) pairs that matched no finding. Only judged where it can be:
        a selector naming no rule that ran for the suppression's files (``active``: the rules
        of the configuration governing them), or a configuration entry whose path matches no
        scanned file, may be fine in another run (another selection, a full scan)."""
        unused = []
        paths = list(self._seen.comments)
        for directive in self.all_directives():
            scope = directive.scope.get("path")
            root = directive.root or os.getcwd()
            if scope and not any(path_matches(p, scope, root) for p in paths):
                continue
            ran_here = active(directive)
            for selector in directive.rules:
                ran = any(matches_selector(selector, rule_id, name) for rule_id, name in ran_here)
                if ran and selector not in directive.used:
                    unused.append((directive, selector))
        return unused


def _display(path: str) -> str:
    """A path relative to the current directory where it lies below it."""
    return relative_to(os.path.realpath(path), os.path.realpath(os.getcwd())) or path


def _suppression(directive: Directive) -> Suppression:
    """What a finding records of the suppression that hides it."""
    return Suppression(directive.kind, directive.reason, f"{directive.path}:{directive.line}")
