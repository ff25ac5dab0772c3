"""Baselines: accept today's findings, report only new ones.

A finding is identified by rule, file (relative to the repository root), object, container,
field (list items named by content, not position) and the rule's own detail (such as "unset"
versus "set to a bad value"), never by line: edits elsewhere in a file do not bring accepted
findings back, while a field that goes from unset to a bad value is a new finding.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kscan.results.findings import Finding
from kscan.results.store import FindingStore
from kscan.support.files import write_atomically
from kscan.support.locations import relative_to_base
from kscan.support.values import dataclass

VERSION = 1
KEY_FIELDS = (
    "rule",
    "path",
    "kind",
    "namespace",
    "name",
    "container",
    "field",
    "detail",
)


class BaselineError(Exception):
    """A baseline file that cannot be read or written (one line)."""


@dataclass(frozen=True)
class Entry:
    """One accepted finding, as stored."""

    rule: str
    path: str
    kind: str | None
    namespace: str | None
    name: str | None
    container: str | None
    field: str
    detail: str
    message: str = ""

    @property
    def key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in KEY_FIELDS)


def entry(finding: Finding, base_dir: str) -> Entry:
    """The baseline entry of a finding."""
    path = relative_to_base(finding.path, base_dir) or finding.path
    return Entry(
        finding.rule.id,
        path,
        finding.kind,
        finding.namespace,
        finding.name,
        finding.container,
        finding.stable_field,
        finding.detail,
        finding.message,
    )


def write(path: Path, findings: Iterable[Finding], base_dir: str) -> int:
    """Record the findings (suppressed ones are already accepted, so they are left out)."""
    entries = sorted(
        (entry(f, base_dir) for f in findings if f.suppression is None),
        key=lambda e: tuple(str(part) for part in e.key),
    )
    data = {
        "version": VERSION,
        "tool": "kscan",
        "findings": [
            {name: getattr(e, name) for name in (*KEY_FIELDS, "message")} for e in entries
        ],
    }
    try:
        write_atomically(path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise BaselineError(
            f"{path}: error: cannot write the baseline: {exc.strerror or exc}"
        ) from None
    return len(entries)


def load(path: Path) -> list[Entry]:
    """The entries of a baseline file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{path}: error: cannot read the baseline: {exc}") from None
    except ValueError as exc:
        raise BaselineError(f"{path}: error: invalid baseline: {exc}") from None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise BaselineError(
            f"{path}: error: invalid baseline: not a kscan baseline (version {VERSION})"
        )
    items = data.get("findings")
    if not isinstance(items, list) or not all(_valid(item) for item in items):
        raise BaselineError(
            f"{path}: error: invalid baseline: 'findings' must be a list of entries"
        )
    return [Entry(**{name: item.get(name) for name in (*KEY_FIELDS, "message")}) for item in items]


def _valid(item: object) -> bool:
    if not isinstance(item, dict):
        return False
    required = all(isinstance(item.get(name), str) for name in ("rule", "path", "field"))
    optional = all(isinstance(item.get(n), (str, type(None))) for n in (*KEY_FIELDS, "message"))
    return required and optional


def compare(
    findings: Iterable[Finding], entries: list[Entry], base_dir: str, scope: Coverage
) -> tuple[FindingStore, list[Entry]]:
    """Mark each finding ``new`` or ``unchanged``; return them with the entries no longer found
    (``absent``: fixed since the baseline). Only entries of files that were scanned and rules
    that ran can be absent: the rest were simply not looked at this time."""
    remaining = Counter(e.key for e in entries)
    marked = FindingStore()
    for finding in findings:
        key = entry(finding, base_dir).key
        if remaining[key] > 0:
            remaining[key] -= 1
            marked.extend([finding.with_baseline_state("unchanged")])
        else:
            marked.extend([finding.with_baseline_state("new")])
    absent = []
    for e in entries:
        if remaining[e.key] > 0:
            remaining[e.key] -= 1
            if e.rule in scope.rules and e.path in scope.paths:
                absent.append(e)
    return marked, absent


@dataclass(frozen=True)
class Coverage:
    """What a scan looked at: rule ids, and files relative to the base directory."""

    rules: frozenset[str]
    paths: frozenset[str]
