"""One file fixed: its findings' edits made in its text, kept only when the text parses back to
the objects expected (the original ones with the fixed fields changed), then written
atomically. A file that is not fixed is not written at all."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path

import yaml

from kscan.fix.plan import Edit, apply, key, plain, plan
from kscan.fix.text import EditError, compose, make
from kscan.fix.token_use import BoundAccounts
from kscan.input.documents import Document, Pointer, parse
from kscan.input.limits import DEFAULT_LIMITS, Limits
from kscan.input.parse_errors import HELM_EXPRESSION
from kscan.input.sources import Source
from kscan.results.findings import Finding
from kscan.rules.fixes import Scalar
from kscan.support.files import write_atomically
from kscan.support.values import dataclass, field


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
    roots: list[int | None] = field(default_factory=list)
    """For each document, the index of its text among ``document_texts`` (None: not found)."""
    parts: tuple[str, list[str]] = ("", [])
    """The original text cut by ``document_texts``."""
    held_back: int = 0
    """Findings whose fix is unsafe for them and was not asked for (``--unsafe-fixes``)."""
    documents: list[Document] = field(default_factory=list)
    """The documents of the original text, which ``Edit.document`` indexes."""

    @cached_property
    def first_lines(self) -> list[int]:
        """The 1-based line of ``before`` each text of ``parts`` starts on."""
        head, chunks = self.parts
        lines, line = [], head.count("\n") + 1
        for chunk in chunks:
            lines.append(line)
            line += chunk.count("\n")
        return lines

    @property
    def changed(self) -> bool:
        return self.after != self.before

    def diff(self) -> str:
        """A unified diff that ``patch -p0`` applies from the directory the path is relative to."""
        return unified_diff(self.before, self.after, self.path)


def unified_diff(
    before: str, after: str, path: str, old_path: str | None = None, context: int = 3
) -> str:
    """The unified diff of two texts, with every line compared (difflib's ``unified_diff``
    treats lines frequent in a long file as junk and shows them removed and added again)."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    pieces = []
    for group in matcher.get_grouped_opcodes(context):
        first, last = group[0], group[-1]
        pieces.append(f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                pieces += [_line(" ", line) for line in old[i1:i2]]
                continue
            pieces += [_line("-", line) for line in old[i1:i2]]
            pieces += [_line("+", line) for line in new[j1:j2]]
    if not pieces:
        return ""
    return f"--- {old_path or path}\n+++ {path}\n" + "".join(pieces)


def _range(start: int, stop: int) -> str:
    """A hunk's range as unified diffs write it: ``start,length`` (1-based; ``start-1,0`` when
    empty)."""
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"


def _line(mark: str, line: str) -> str:
    if line.endswith("\n"):
        return mark + line
    return f"{mark}{line}\n\\ No newline at end of file\n"


def fix_file(
    path: str,
    findings: Iterable[Finding],
    unsafe: bool,
    limits: Limits = DEFAULT_LIMITS,
    bound: BoundAccounts | None = None,
) -> FileFix:
    """The fixed text of ``path`` for ``findings`` (the file's own); nothing is written.
    ``bound``: the service accounts the scan's bindings name, for the fixes that are safe
    only where a token is unused."""
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
    result.documents = documents
    findings = list(findings)
    refused: dict[tuple[int, Pointer, str, Scalar | None], tuple[Edit, str]] = {}
    while True:
        # An edit the text does not take is planned again as not made: another edit planned
        # on its result (allowPrivilegeEscalation false once privileged is false, drop ALL
        # once allowPrivilegeEscalation is false) must not be made without it.
        edits = plan(findings, documents, unsafe, bound, frozenset(refused))
        result.after, result.applied, result.refused = before, [], []
        if edits:
            _make_all(result, documents, edits)
        new = {key(edit): (edit, why) for edit, why in result.refused if key(edit) not in refused}
        # the edits of one finding go together: a hostPath volume is not removed while a
        # mount of it stays (the API server refuses a mount of a missing volume)
        failed = {
            (edit.document, source): why for edit, why in result.refused for source in edit.sources
        }
        for edit in result.applied:
            sources = [(edit.document, source) for source in edit.sources]
            shared = next((failed[s] for s in sources if s in failed), None)
            if shared is not None and key(edit) not in refused:
                new[key(edit)] = (edit, f"another edit of the same fix was not applied: {shared}")
        if not new:
            break
        refused.update(new)
    result.refused = [*refused.values(), *result.refused]
    result.held_back = _held_back(findings, edits)
    return result


def _held_back(findings: list[Finding], edits: list[Edit]) -> int:
    """The findings with a fix that may be unsafe for them that no edit is for."""
    planned = {source for edit in edits for source in edit.sources}
    return sum(
        1
        for finding in findings
        if finding.rule.fix is not None
        and finding.rule.fix.safety == "unsafe"
        and (finding.rule.id, finding.pointer) not in planned
    )


def write(fixed: FileFix) -> None:
    """The fixed text written in place of the file, atomically, keeping its mode; raises OSError."""
    if fixed.changed:
        write_atomically(Path(fixed.path), fixed.after)


def _make_all(result: FileFix, documents: list[Document], edits: list[Edit]) -> None:
    """All edits at once if the text then reads back as expected; otherwise one at a time,
    keeping each that does."""
    try:
        roots = compose(result.before)
    except yaml.YAMLError:
        result.refused = [(edit, "the YAML parser reads the file differently") for edit in edits]
        return
    order = result.roots = _roots_of(documents, roots)
    result.parts = document_texts(result.before, roots)
    whole = _attempt(result.before, documents, order, edits, parts=result.parts)
    if isinstance(whole, str):
        result.after, result.applied = whole, edits
        return
    if not _one_at_a_time(result, documents, order, edits, in_documents=True):
        result.applied, result.refused = [], []
        _one_at_a_time(result, documents, order, edits, in_documents=False)


def _one_at_a_time(
    result: FileFix,
    documents: list[Document],
    order: list[int | None],
    edits: list[Edit],
    in_documents: bool,
) -> bool:
    """The edits one at a time, each kept if the text then reads back as expected. With
    ``in_documents``, each is read back in its own document's text (a file of many documents
    is not parsed again for each edit), one its document refuses on the whole text, and the
    whole text once at the end: False (nothing kept) if it does not read back."""
    head, chunks = result.parts[0], list(result.parts[1])
    for edit in edits:
        index = order[edit.document]
        own = [done for done in result.applied if done.document == edit.document]
        made = None
        if in_documents and index is not None:
            made = _made_in(chunks[index], documents[edit.document], own, edit)
        if index is not None and made is not None:
            chunks[index] = made
        else:
            text = head + "".join(chunks)
            expected = [*result.applied, edit]
            attempt = _attempt(text, documents, order, expected, [edit], parts=(head, chunks))
            if not isinstance(attempt, str):
                result.refused.append((edit, attempt[1]))
                continue
            head, chunks = document_texts(attempt)
        result.applied.append(edit)
    text = head + "".join(chunks)
    if in_documents and not isinstance(_attempt(text, documents, order, result.applied, []), str):
        return False
    result.after = text
    return True


def _made_in(text: str, document: Document, done: list[Edit], edit: Edit) -> str | None:
    """The text of one document with ``edit`` made, if it reads back, alone, as the document
    with the edits ``done`` in it and ``edit``; None otherwise."""
    try:
        roots = compose(text)
        if not roots:
            return None
        made = make(text, roots[0], edit)  # as ``_attempt`` makes it
    except (EditError, yaml.YAMLError, ValueError):
        return None
    reread, errors = parse(Source("fixed", made, len(made.encode()), False))
    if errors or len(reread) != 1:
        return None
    expected = plain(document.data)
    for earlier in (*done, edit):
        apply(expected, earlier)
    return made if plain(reread[0].data) == expected else None


def _roots_of(documents: list[Document], roots: list[yaml.Node]) -> list[int | None]:
    """For each document, the index of the node tree that starts where it does (None: none
    does, as where kubectl splits a file at a line libyaml reads as text)."""
    starts = {
        (root.start_mark.line + 1, root.start_mark.column + 1): i for i, root in enumerate(roots)
    }
    return [starts.get((document.span.line, document.span.column)) for document in documents]


def document_texts(text: str, roots: list[yaml.Node] | None = None) -> tuple[str, list[str]]:
    """The text before the first document, and each document's text: from the line it starts
    on to the line the next one starts on (so that each edit parses one document again, not
    the file). ``roots``: the documents' node trees, if composed already."""
    starts = []
    offset, line = 0, 0
    for root in compose(text) if roots is None else roots:
        while line < root.start_mark.line:
            found = text.find("\n", offset)
            offset = len(text) if found < 0 else found + 1
            line += 1
        starts.append(offset)
    if not starts:
        return text, []
    ends = [*starts[1:], len(text)]
    return text[: starts[0]], [text[start:end] for start, end in zip(starts, ends, strict=True)]


def _attempt(
    text: str,
    documents: list[Document],
    order: list[int | None],
    expected_edits: list[Edit],
    edits: list[Edit] | None = None,
    parts: tuple[str, list[str]] | None = None,
) -> str | tuple[None, str]:
    """``text`` with ``edits`` (default: ``expected_edits``) made, or why that failed: an edit
    that cannot be made, or a text that does not parse back to the original documents with
    ``expected_edits`` applied. ``parts``: ``text`` cut into documents already."""
    expected = [plain(document.data) for document in documents]
    for edit in expected_edits:
        apply(expected[edit.document], edit)
    try:
        head, chunks = document_texts(text) if parts is None else (parts[0], list(parts[1]))
        for edit in edits if edits is not None else expected_edits:
            index = order[edit.document]
            if index is None:
                return None, "its document starts where the YAML parser sees none"
            roots = compose(chunks[index])
            if not roots:
                return None, "its document could not be found again"
            chunks[index] = make(chunks[index], roots[0], edit)
    except (EditError, yaml.YAMLError, ValueError) as exc:
        return None, str(exc)
    text = head + "".join(chunks)
    reread, errors = parse(Source("fixed", text, len(text.encode()), False))
    if errors:
        return None, f"the fixed text would not parse: {errors[0].message}"
    if [plain(document.data) for document in reread] != expected:
        return None, "the fixed text would not read back as the objects expected"
    return text


def edits_alone(fixed: FileFix, edits: list[Edit]) -> tuple[int, str, str]:
    """The text of the one document ``edits`` are in, with only them made, in order: the line
    of ``fixed.before`` its text starts on, its text before and after; raises EditError."""
    documents = {edit.document for edit in edits}
    document = documents.pop()
    if documents:
        raise EditError("the edits are in several documents")
    index = fixed.roots[document] if document < len(fixed.roots) else None
    if index is None:
        raise EditError("its document starts where the YAML parser sees none")
    before = after = fixed.parts[1][index]
    for edit in edits:
        try:
            after = make(after, compose(after)[0], edit)
        except (yaml.YAMLError, ValueError, IndexError) as exc:
            raise EditError(str(exc)) from exc
    return fixed.first_lines[index], before, after
