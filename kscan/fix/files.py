"""One file fixed: its findings' edits made in its text, kept only when the text parses back to
the objects expected (the original ones with the fixed fields changed), then written
atomically. A file that is not fixed is not written at all."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kscan.fix.plan import Edit, apply, plain, plan
from kscan.fix.text import EditError, compose, make
from kscan.input.documents import Document, parse
from kscan.input.limits import DEFAULT_LIMITS, Limits
from kscan.input.parse_errors import HELM_EXPRESSION
from kscan.input.sources import Source
from kscan.results.findings import Finding
from kscan.support.files import write_atomically


@dataclass
class FileFix:
    """What fixing one file did: the text before and after (equal when nothing changed), the
    edits made, and why the others were not."""

    path: str
    before: str
    after: str
    applied: list[Edit] = field(default_factory=list)
    refused: list[tuple[Edit, str]] = field(default_factory=list)
    skipped: str | None = None
    """Why the whole file was left alone (it does not parse, it is a Helm template, JSON)."""

    @property
    def changed(self) -> bool:
        return self.after != self.before

    def diff(self) -> str:
        """A unified diff that ``patch -p0`` applies from the directory the path is relative to."""
        lines = difflib.unified_diff(
            self.before.splitlines(keepends=True),
            self.after.splitlines(keepends=True),
            self.path,
            self.path,
        )
        return "".join(
            line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
            for line in lines
        )


def fix_file(
    path: str, findings: Iterable[Finding], unsafe: bool, limits: Limits = DEFAULT_LIMITS
) -> FileFix:
    """The fixed text of ``path`` for ``findings`` (the file's own); nothing is written."""
    try:
        raw = Path(path).read_bytes()
        before = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return FileFix(path, "", "", skipped=f"cannot be read as UTF-8 ({exc})")
    result = FileFix(path, before, before)
    if before.lstrip().startswith("{"):
        result.skipped = "JSON is not rewritten"
        return result
    if HELM_EXPRESSION.search(before):
        result.skipped = "it looks like an unrendered Helm template"
        return result
    documents, errors = parse(Source(path, before, len(raw), False), limits)
    if errors:
        result.skipped = "it does not parse"
        return result
    edits = plan(findings, documents, unsafe)
    if edits:
        _make_all(result, documents, edits)
    return result


def write(fixed: FileFix) -> None:
    """The fixed text written in place of the file, atomically, keeping its mode; raises OSError."""
    if fixed.changed:
        write_atomically(Path(fixed.path), fixed.after)


def _make_all(result: FileFix, documents: list[Document], edits: list[Edit]) -> None:
    """All edits at once if the text then reads back as expected; otherwise one at a time,
    keeping each that does."""
    whole = _attempt(result.before, documents, edits)
    if isinstance(whole, str):
        result.after, result.applied = whole, edits
        return
    text: str = result.before
    for edit in edits:
        attempt = _attempt(text, documents, [*result.applied, edit], [edit])
        if isinstance(attempt, str):
            text = attempt
            result.applied.append(edit)
        else:
            result.refused.append((edit, attempt[1]))
    result.after = text


def _attempt(
    text: str,
    documents: list[Document],
    expected_edits: list[Edit],
    edits: list[Edit] | None = None,
) -> str | tuple[None, str]:
    """``text`` with ``edits`` (default: ``expected_edits``) made, or why that failed: an edit
    that cannot be made, or a text that does not parse back to the original documents with
    ``expected_edits`` applied."""
    expected = [plain(document.data) for document in documents]
    for edit in expected_edits:
        apply(expected[edit.document], edit)
    for edit in edits if edits is not None else expected_edits:
        try:
            roots = compose(text)
            if len(roots) != len(documents):
                return None, "its documents could not be matched with the parser's"
            text = make(text, roots, edit)
        except (EditError, yaml.YAMLError, ValueError) as exc:
            return None, str(exc)
    reread, errors = parse(Source("fixed", text, len(text.encode()), False))
    if errors:
        return None, f"the fixed text would not parse: {errors[0].message}"
    if [plain(document.data) for document in reread] != expected:
        return None, "the fixed text would not read back as the objects expected"
    return text
