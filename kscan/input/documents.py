"""Parse YAML/JSON text into plain data that remembers where every key and item was written,
judged as Kubernetes' clients decode it.

A file whose first character (after whitespace) is ``{`` is JSON to kubectl and is read as JSON
(``json_reader``); a ``.json`` file that does not parse gets a JSON error. Everything else is YAML,
read from libyaml's event stream (through PyYAML; ruamel.yaml's C parser where PyYAML was built
without libyaml) by an iterative builder that decodes as go-yaml v2 does, which kubectl and the
API server use (``scalars`` has the scalar rules): tags are never constructed as objects;
``!!binary`` keys and values are decoded; keys become JSON keys; ``<<`` merges apply where they
are written; a duplicate key keeps its last value and is recorded. Where go-yaml v3 (kustomize)
reads a merge differently, the conflict is recorded and its reading is kept as ``alternate``.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import yaml

from kscan.input.json_reader import JsonReader, looks_like_json
from kscan.input.limits import DEFAULT_LIMITS, Limits
from kscan.input.scalars import MERGE, STR, ScalarError, is_merge_key, key_text, key_value, resolve
from kscan.input.sources import InputError, Source, read_source
from kscan.input.tree import (
    DuplicateKey,
    MergeConflict,
    ParseError,
    Pointer,
    PosDict,
    PosList,
    SeparatorLine,
    Span,
    new_container,
    pointers_to,
    value_at,
)
from kscan.support.disclosure import quotable, shown_key

__all__ = [
    "Document",
    "DuplicateKey",
    "Located",
    "MergeConflict",
    "ParseError",
    "Pointer",
    "PosDict",
    "PosList",
    "Span",
    "parse",
    "plain_path",
    "read_documents",
]

_FRAMES_PER_LEVEL = 3
"""Python frames per nesting level that recursive walkers of parsed data use, with a margin."""
_HELM_EXPRESSION = re.compile(
    r"\{\{-?\s*(\.Values|\.Release|\.Chart|\.Capabilities|\.Files|include\b|tpl\b)"
)
_END_OF_LINE = sys.maxsize
_HELM_HINT = " (the file looks like an unrendered Helm/Go template; render it first)"


class Located(Protocol):
    """Where a rule's pointers are written: a Document while its file is scanned, or the
    ``ObjectFacts`` that cross-object rules keep once it is gone."""

    @property
    def path(self) -> str: ...

    def locate(self, pointer: Pointer) -> tuple[Span, bool]: ...

    def stable_path(self, pointer: Pointer) -> str: ...


def plain_path(pointer: Pointer) -> str:
    """``/spec/containers/0``: the pointer as a JSON pointer, without escaping (keys that may
    not be shown are not)."""
    return "".join(f"/{shown_key(part)}" for part in pointer)


@dataclass
class Document:
    """One YAML document (or JSON value) of a source file."""

    source: Source
    index: int
    data: Any
    span: Span
    duplicates: list[DuplicateKey] = field(default_factory=list)
    merge_conflicts: list[MergeConflict] = field(default_factory=list)
    alternate: Any = None
    """kustomize's (go-yaml v3's) reading of the data, where its merges give another value."""
    is_json: bool = False
    text_regions: tuple[Span, ...] = ()
    """Where scalars holding ``#`` are written, in order: text there is data, never a comment."""
    kubectl_separator: SeparatorLine | None = None
    """The ``---`` line that starts it, when only kubectl reads that line as a separator."""

    @property
    def path(self) -> str:
        """The path of its file, as shown to users."""
        return self.source.path

    @property
    def has_comments(self) -> bool:
        """Whether its text can hold YAML comments (JSON cannot)."""
        return not self.is_json

    def alternate_reading(self) -> Document | None:
        """The document as kustomize reads it, when that differs; it carries no duplicates or
        conflicts of its own (they are the main reading's)."""
        if self.alternate is None:
            return None
        return replace(self, data=self.alternate, duplicates=[], merge_conflicts=[], alternate=None)

    def get(self, pointer: Pointer) -> Any:
        """The value at ``pointer``, or None where the path does not exist."""
        return value_at(self.data, pointer)

    def stable_path(self, pointer: Pointer) -> str:
        """The pointer with list items named by content, not position: ``containers[web]``
        for an item with a ``name``, ``add[SYS_ADMIN]`` for a scalar item that may be quoted
        (``disclosure``), the index otherwise (``command[2]``). Inserting a container or
        volume elsewhere does not change it."""
        node, text = self.data, ""
        for depth, part in enumerate(pointer):
            if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                node = node[part]
                name = node.get("name") if isinstance(node, dict) else node
                named = isinstance(name, (str, int)) and not isinstance(name, bool)
                # a name, or a scalar item that may be quoted (never a command line's words)
                safe = named and quotable(name, () if node is not name else pointer[:depth])
                text += f"[{name}]" if safe else f"[{part}]"
            else:
                node = node.get(part) if isinstance(node, dict) else None
                text += f"/{shown_key(part)}"
        return text

    def locate(self, pointer: Pointer) -> tuple[Span, bool]:
        """Span of the field at ``pointer``, or of its nearest existing parent; True if exact.

        A mapping reached as a list item (a container) or as the document is shown by its first key.
        """
        node, span, at_item = self.data, self.span, True
        for part in pointer:
            if isinstance(node, PosDict) and part in node:
                span, node, at_item = node.pos[part], node[part], False  # type: ignore[index]
            elif isinstance(node, PosList) and isinstance(part, int) and 0 <= part < len(node):
                span, node, at_item = node.pos[part], node[part], True
            else:
                return self._first_key(node, span, at_item), False
        return self._first_key(node, span, at_item), True

    def in_text(self, line: int, column: int) -> bool:
        """Whether a position lies inside a scalar that holds ``#`` (so is data, not a comment).
        Scalars do not overlap, so the one starting last before the position decides."""
        regions = self.text_regions
        index = bisect_right(regions, (line, column, _END_OF_LINE, _END_OF_LINE)) - 1
        if index < 0:
            return False
        region = regions[index]
        return (line, column) < (region.end_line, region.end_column)

    @staticmethod
    def _first_key(node: Any, span: Span, at_item: bool) -> Span:
        if at_item and isinstance(node, PosDict) and node:
            return node.pos[next(iter(node))]
        return span


_NOWHERE = Span(0, 0, 0, 0)


@dataclass
class EmbeddedDocument(Document):
    """A document written inside a string of another (an Argo resource template's manifest):
    its findings point at that string, which is all a file position can say of them."""

    host_span: Span = _NOWHERE
    host_path: str = ""
    """The stable path of the string holding it."""

    @property
    def has_comments(self) -> bool:
        return False  # its lines are not the file's: no comment of it is a suppression

    def locate(self, pointer: Pointer) -> tuple[Span, bool]:
        return self.host_span, False

    def stable_path(self, pointer: Pointer) -> str:
        return f"{self.host_path}!{super().stable_path(pointer)}"


def read_documents(path: str) -> list[Document] | InputError:
    """The documents of one of kscan's own small files (a configuration or rule file), or its
    first problem: unreadable, undecodable or invalid YAML."""
    source = read_source(path)
    if isinstance(source, InputError):
        return source
    documents, errors = parse(source)
    return errors[0] if errors else documents


def parse(
    source: Source, limits: Limits = DEFAULT_LIMITS
) -> tuple[list[Document], list[InputError]]:
    """All documents of a source, and the errors met (see ``iter_parse``)."""
    documents: list[Document] = []
    errors: list[InputError] = []
    for item in iter_parse(source, limits):
        if isinstance(item, InputError):
            errors.append(item)
        else:
            documents.append(item)
    return documents, errors


def iter_parse(source: Source, limits: Limits = DEFAULT_LIMITS) -> Iterator[Document | InputError]:
    """The documents of a source one at a time, in order, with the errors met where they are
    met, so that a file's documents can be checked and freed one by one. A document that cannot
    be turned into data is reported and skipped; a syntax error, or more documents than
    ``limits.documents``, ends the stream (documents before it are kept)."""
    if sys.getrecursionlimit() < _FRAMES_PER_LEVEL * limits.depth + 200:
        sys.setrecursionlimit(_FRAMES_PER_LEVEL * limits.depth + 200)  # for recursive walkers
    if source.is_json or (looks_like_json(source.text) and _json_parses(source, limits)):
        yield from _parse_json(source, limits)
    else:
        # kubectl reads a file that looks like JSON as JSON, and fails where it is not; kustomize
        # and Helm read it as YAML, the reading that can be applied (or whose error a YAML
        # author understands).
        yield from _parse_yaml(source, limits)


def _json_parses(source: Source, limits: Limits) -> bool:
    """Whether text that looks like JSON reads as JSON to its end: one value at a time is
    held, so that the decision costs a second pass, not the memory of every document."""
    return not any(isinstance(item, InputError) for item in _parse_json(source, limits))


def _parse_json(source: Source, limits: Limits) -> Iterator[Document | InputError]:
    reader = JsonReader(source.text, limits.depth, limits.nodes)
    try:
        for index, (data, span) in enumerate(reader.values()):
            if index == limits.documents:
                yield _too_many(source, limits, span.line, span.column)
                return
            duplicates = _duplicates(data, reader.duplicates)
            yield Document(source, index, data, span, duplicates, is_json=True)
    except ParseError as exc:
        yield InputError(source.path, str(exc), exc.line, exc.column)


def _too_many(source: Source, limits: Limits, line: int, column: int) -> InputError:
    message = (
        f"more than {limits.documents:,} documents in one file; the rest are not scanned "
        "(--max-documents raises the limit)"
    )
    return InputError(source.path, message, line, column)


def _duplicates(
    data: Any, found: list[tuple[PosDict, str, Span, Span, bool]]
) -> list[DuplicateKey]:
    if not found:
        return []
    pointers = pointers_to(data, {id(mapping) for mapping, *_ in found})
    return [
        DuplicateKey(
            (*pointers[id(mapping)], key) if id(mapping) in pointers else None, first, last, alike
        )
        for mapping, key, first, last, alike in found
    ]


# --- YAML ---------------------------------------------------------------------------------

_SCALAR, _ALIAS, _MAP, _SEQ, _END, _DOC_START, _DOC_END, _STREAM = range(8)


class _Chunks:
    """A text handed to libyaml a slice at a time: given the whole ``str``, PyYAML would first
    make a UTF-8 copy of all of it, as large as the file."""

    name = "<text>"

    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def read(self, size: int = -1, /) -> str:
        start = self.position
        self.position = len(self.text) if size < 0 else start + size
        return self.text[start : self.position]


def events_with_libyaml(text: str) -> Iterator[Any]:
    """Parse events from libyaml through PyYAML (the fast path)."""
    loader = yaml.CSafeLoader(_Chunks(text))
    try:
        while (event := loader.get_event()) is not None:
            yield event
    finally:
        loader.dispose()


def events_with_ruamel(text: str) -> Iterator[Any]:
    """Parse events from ruamel.yaml's C parser: the fallback when PyYAML lacks libyaml."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError
    from ruamel.yaml.reader import ReaderError

    loader = YAML(typ="safe", pure=False)
    loader.version = (1, 1)
    try:
        yield from loader.parse(text)
    except MarkedYAMLError as exc:  # the same report as PyYAML's, so one handler serves both
        raise yaml.MarkedYAMLError(
            exc.context, exc.context_mark, exc.problem, exc.problem_mark
        ) from None
    except ReaderError as exc:
        raise yaml.reader.ReaderError(
            exc.name, exc.position, exc.character, exc.encoding, exc.reason
        ) from None


_events: Callable[[str], Iterator[Any]] = (
    events_with_libyaml if yaml.__with_libyaml__ else events_with_ruamel
)
_CODES: dict[type, int] = {}


def _code(event: Any) -> int:
    """The kind of an event, for either parser's event classes (same names)."""
    kind = type(event)
    code = _CODES.get(kind)
    if code is None:
        names = {
            "ScalarEvent": _SCALAR,
            "AliasEvent": _ALIAS,
            "MappingStartEvent": _MAP,
            "SequenceStartEvent": _SEQ,
            "MappingEndEvent": _END,
            "SequenceEndEvent": _END,
            "DocumentStartEvent": _DOC_START,
            "DocumentEndEvent": _DOC_END,
        }
        code = _CODES[kind] = names.get(kind.__name__, _STREAM)
    return code


_DASHES_LINE = re.compile(r"^---([^\n]*)", re.MULTILINE)


def kubectl_separators(text: str) -> tuple[str, list[int]]:
    """The text with the document separators only kubectl sees made plain, and their lines.

    kubectl splits a file at every line that starts with ``---`` and holds nothing else but
    Unicode spaces or a comment (apimachinery's ``YAMLReader``, with ``strings.TrimSpace``), once
    the document it ends has some line. libyaml needs a space, a tab or the line's end right
    after ``---``, so to it ``---`` and a no-break space, or ``---#x``, start a plain scalar: a
    file can look like one harmless string to every other reader and hold a pod for kubectl.
    Only the lines starting with ``---`` are looked at; the text is copied only when one moves."""
    if "---" not in text:
        return text, []
    pieces: list[str] = []
    moved: list[int] = []
    copied = 0
    line = 1
    counted = 0
    previous_end = -2  # where the last separating line ended (-2: none yet; the start counts)
    for match in _DASHES_LINE.finditer(text):
        start = match.start()
        line += text.count("\n", counted, start)
        counted = start
        rest = match.group(1)
        trimmed = rest.strip()
        separates = not trimmed or trimmed.startswith("#")
        follows_separator = start == 0 or previous_end == start - 1
        if separates and rest and rest[0] not in " \t\r" and not follows_separator:
            pieces += (text[copied:start], f"--- {trimmed}" if trimmed else "---")
            copied = match.end()
            moved.append(line)
        previous_end = match.end() if separates else -2
    if not moved:
        return text, []
    pieces.append(text[copied:])
    return "".join(pieces), moved


def _parse_yaml(source: Source, limits: Limits) -> Iterator[Document | InputError]:
    text, moved = kubectl_separators(source.text)
    separators = set(moved)
    events = _events(text)
    index = 0
    try:
        for event in events:
            if _code(event) != _DOC_START:
                continue
            if index == limits.documents:
                first = next(events, event)  # the document's first node, if it has one
                mark = (first if _code(first) < _END else event).start_mark
                yield _too_many(source, limits, *_at(mark))
                return
            builder = _Builder(limits, source)
            document: Document | InputError | None
            try:
                if event.version not in (None, (1, 1)):
                    raise ParseError(
                        "a %YAML directive other than 1.1: kubectl's decoder (go-yaml v2) "
                        "refuses the document",
                        *_at(event.start_mark),
                    )
                document = builder.document(events, index)
            except ParseError as exc:
                _skip_document(events)  # a syntax error further on is reported instead
                document = _parse_error(source, exc)
            if isinstance(document, Document):
                line = event.start_mark.line + 1
                if line in separators:
                    document.kubectl_separator = SeparatorLine(Span(line, 1, line, 4))
            if document is not None:
                yield document
            index += 1
    except yaml.YAMLError as exc:
        yield _yaml_error(source, text, exc)


def _skip_document(events: Iterator[Any]) -> None:
    for event in events:
        if _code(event) == _DOC_END:
            return


def _parse_error(source: Source, exc: ParseError) -> InputError:
    message = str(exc)
    if source.has_braces and "template" not in message:
        message += _HELM_HINT
    return InputError(source.path, message, exc.line, exc.column)


def _yaml_error(source: Source, text: str, exc: Exception) -> InputError:
    """One-line error from a PyYAML or ruamel.yaml exception (marked, or a reader error)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None)
    if problem is None:  # reader errors (bad characters) carry a character position instead
        line, column = _position_of(text, getattr(exc, "position", 0) or 0)
        reason = _one_line(str(exc)).split(' in "')[0]
        return InputError(source.path, f"invalid YAML: {reason}", line, column)
    context = getattr(exc, "context", None)
    if context:
        problem = f"{context}, {problem}"
    if source.has_braces:
        problem += _HELM_HINT
    line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    return InputError(source.path, f"invalid YAML: {_one_line(problem)}", line, column)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _position_of(text: str, index: int) -> tuple[int, int]:
    before = text[:index]
    return before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1


def _at(mark: Any) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


def _span(start: Any, end: Any) -> Span:
    return Span(start.line + 1, start.column + 1, end.line + 1, end.column + 1)


_PLAIN_KEYS: dict[str, str] = {}
"""Plain, untagged keys already resolved (their JSON key), shared by every document."""
_PLAIN_KEYS_KEPT = 50_000
_PLAIN_KEY_LENGTH = 64
_BUILDING = object()
"""The value of an anchor whose node is still being built (an alias to it is recursive)."""
_ABSENT = object()


class _Open:
    """A mapping or sequence being built."""

    __slots__ = (
        "anchor",
        "explicit",
        "go_key",
        "go_keys",
        "is_map",
        "key",
        "key_span",
        "kustomize_keys",
        "kustomize_merge",
        "kustomize_merges",
        "merge",
        "nodes_before",
        "start",
        "value",
        "written",
    )

    def __init__(self, is_map: bool, event: Any, nodes_before: int) -> None:
        self.is_map = is_map
        self.start = event.start_mark
        self.anchor = event.anchor
        self.nodes_before = nodes_before
        self.value: Any = new_container(is_map)
        self.key: str | None = None
        """The key whose value comes next (mappings); None while a key is awaited."""
        self.key_span: Span | None = None
        self.go_key: Any = None
        """The Go value of the awaited key, when it is not the key's own string (``1``)."""
        self.go_keys: dict[str, Any] | None = None
        """Such Go values of the keys written so far, to tell colliding keys apart."""
        self.merge = False
        """Whether the awaited value is a merge to kubectl (go-yaml v2: plain ``<<``)..."""
        self.kustomize_merge = False
        """... and to kustomize (kyaml: a key tagged ``!!merge``, plain ``<<`` included)."""
        self.written: set[str] = set()
        self.explicit: dict[str, tuple[Any, Span]] | None = None
        """Explicit keys, kept once the mapping has a merge (for kustomize's reading)."""
        self.kustomize_merges: list[list[PosDict]] = []
        self.kustomize_keys: dict[str, tuple[Any, Span]] = {}
        """Keys only kustomize has: ``! <<`` is a merge to kubectl, a key to kyaml."""


class _Builder:
    """Turns one document's events into PosDict/PosList data, decoding as go-yaml v2 does."""

    def __init__(self, limits: Limits, source: Source) -> None:
        self.max_nodes, self.max_depth = limits.nodes, limits.depth
        self.source = source
        self.nodes = 0
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.duplicates: list[tuple[PosDict, str, Span, Span, bool]] = []
        self.conflicts: list[tuple[PosDict, str, Span | None, Span | None]] = []
        self.alternates: dict[int, Any] = {}
        """id(value) -> kustomize's reading of it, for the values where the two differ."""
        self.kustomize_rejects = False
        """Whether kustomize refuses the document (two merge keys in a mapping, a bad merge)."""
        self.text_regions: list[Span] = []

    def document(self, events: Iterator[Any], index: int) -> Document | None:
        """Build the document whose DocumentStartEvent was just read; None when it is empty."""
        stack: list[_Open] = []
        root: Any = _ABSENT
        root_span: Span | None = None
        codes = _CODES
        for event in events:
            code = codes.get(type(event))
            if code is None:
                code = _code(event)
            if code == _SCALAR:
                top = stack[-1] if stack else None
                if top is not None and top.is_map and top.key is None:
                    self._key(top, event)
                    continue
                value = self._scalar(event)
                if event.anchor:
                    self.anchors[event.anchor] = (value, 1)
                span = _span(event.start_mark, event.end_mark)
                if top is None:
                    root, root_span = value, span
                else:
                    self._add(top, value, span, event, False, False)
            elif code == _ALIAS:
                value = self._alias(event)
                top = stack[-1] if stack else None
                if top is not None and top.is_map and top.key is None:
                    self._alias_key(top, value, event)
                    continue
                span = _span(event.start_mark, event.end_mark)
                if top is None:
                    root, root_span = value, span
                else:
                    container = isinstance(value, (PosDict, PosList))
                    self._add(top, value, span, event, container, True)
            elif code in (_MAP, _SEQ):
                top = stack[-1] if stack else None
                if top is not None and top.is_map and top.key is None:
                    raise ParseError(_complex_key_message(event), *_at(event.start_mark))
                if len(stack) >= self.max_depth:
                    raise ParseError(
                        f"document is nested more than {self.max_depth} levels deep "
                        "(--max-depth raises the limit)",
                        *_at(event.start_mark),
                    )
                self.nodes += 1
                opened = _Open(code == _MAP, event, self.nodes)
                if opened.anchor:
                    self.anchors[opened.anchor] = (_BUILDING, 0)
                stack.append(opened)
            elif code == _END:
                closed = stack.pop()
                if self.nodes > self.max_nodes:
                    raise self._too_big(closed.start)
                value = self._finish(closed)
                if closed.anchor:
                    self.anchors[closed.anchor] = (value, self.nodes - closed.nodes_before + 1)
                if not stack:
                    root, root_span = value, _span(closed.start, event.end_mark)
                else:
                    top = stack[-1]
                    line, column = _at(closed.start)
                    self._add(top, value, Span(line, column, line, column + 1), event, True, False)
            elif code == _DOC_END:
                break
        if root is _ABSENT or root is None or root_span is None:
            return None  # an empty document: only comments, or nothing, between separators
        rejected = self.kustomize_rejects  # then only kubectl's reading can be applied
        return Document(
            self.source,
            index,
            root,
            root_span,
            _duplicates(root, self.duplicates),
            [] if rejected else self._merge_conflicts(root),
            None if rejected else self.alternates.get(id(root)),
            text_regions=tuple(sorted(self.text_regions)),
        )

    # -- scalars and keys --

    def _scalar(self, event: Any) -> Any:
        self.nodes += 1
        text, tag, plain = event.value, event.tag, event.implicit[0]
        if "#" in text:
            self._text_region(event)
        try:
            value = resolve(text, tag, plain)
        except ScalarError as exc:
            raise ParseError(str(exc), *_at(event.start_mark)) from None
        if (
            type(value) is str
            and "{{" in value
            and event.style not in ("|", ">")
            and tag in (None, STR)
            and _HELM_EXPRESSION.search(value)
        ):
            raise ParseError("unrendered template expression in a value", *_at(event.start_mark))
        return value

    def _text_region(self, event: Any) -> None:
        start, end = event.start_mark, event.end_mark
        if event.style in ("|", ">"):  # the header line may hold a real comment: skip it
            self.text_regions.append(Span(start.line + 2, 1, end.line + 1, end.column + 1))
        else:
            self.text_regions.append(_span(start, end))

    def _key(self, mapping: _Open, event: Any) -> None:
        self.nodes += 1
        text, tag, plain = event.value, event.tag, event.implicit[0]
        start, end = event.start_mark, event.end_mark
        if end.line == start.line:
            mapping.key_span = Span(start.line + 1, start.column + 1, end.line + 1, end.column + 1)
        else:  # some parsers end a key at the next line: measure it instead
            width = start.column + 1 + len(text)
            mapping.key_span = Span(start.line + 1, start.column + 1, start.line + 1, width)
        mapping.go_key = None
        if tag is None and plain:
            known = _PLAIN_KEYS.get(text)
            if known is not None:  # the common case: a plain string key seen before (``name``)
                mapping.key, mapping.merge, mapping.kustomize_merge = known, False, False
                if event.anchor:
                    self.anchors[event.anchor] = (known, 1)
                return
        if "#" in text:
            self._text_region(event)
        mapping.merge = is_merge_key(text, tag, plain)
        mapping.kustomize_merge = tag == MERGE or (tag is None and plain and text == "<<")
        try:
            value = "<<" if mapping.merge else key_value(text, tag, plain)
            mapping.key = key_text(value)
        except ScalarError as exc:
            raise ParseError(str(exc), *_at(event.start_mark)) from None
        if type(value) is not str:
            mapping.go_key = value
        cacheable = tag is None and plain and not mapping.merge and "#" not in text
        cacheable = cacheable and type(value) is str
        if cacheable and len(_PLAIN_KEYS) < _PLAIN_KEYS_KEPT and len(text) <= _PLAIN_KEY_LENGTH:
            _PLAIN_KEYS[text] = mapping.key
        if event.anchor and not mapping.merge:
            self.anchors[event.anchor] = (mapping.key, 1)

    def _alias(self, event: Any) -> Any:
        anchored = self.anchors.get(event.anchor)
        if anchored is None:
            raise ParseError("alias to an anchor that is not defined", *_at(event.start_mark))
        value, size = anchored
        if value is _BUILDING:
            raise ParseError("recursive alias", *_at(event.start_mark))
        self.nodes += size
        if self.nodes > self.max_nodes:
            raise self._too_big(event.start_mark)
        return value

    def _too_big(self, mark: Any) -> ParseError:
        return ParseError(
            f"document has more than {self.max_nodes:,} nodes once aliases are expanded "
            "(a YAML alias bomb?; --max-nodes raises the limit)",
            *_at(mark),
        )

    def _alias_key(self, mapping: _Open, value: Any, event: Any) -> None:
        if isinstance(value, (PosDict, PosList)):
            raise ParseError(
                "a mapping key must be a scalar (complex keys are not supported)",
                *_at(event.start_mark),
            )
        try:
            mapping.key = key_text(value)  # the anchored scalar, resolved where it is written
        except ScalarError as exc:
            raise ParseError(str(exc), *_at(event.start_mark)) from None
        mapping.merge = mapping.kustomize_merge = False
        mapping.go_key = None if type(value) is str else value
        mapping.key_span = _span(event.start_mark, event.end_mark)

    # -- building collections --

    def _add(
        self, top: _Open, value: Any, span: Span, event: Any, container: bool, via_alias: bool
    ) -> None:
        """Put a finished value into the open collection ``top``. For a mapping, the key read
        before it decides, per client:

        ============== ============================== ====================================
        key            kubectl (go-yaml v2)           kustomize (kyaml)
        ============== ============================== ====================================
        ``<<``         merge, where written           merge, under every explicit key
        ``!!merge <<`` merge, where written           merge, under every explicit key
        ``! <<``       merge, where written           the key ``<<``
        ``!!merge x``  the key ``x``                  merge, and the key ``x`` (only ``<<``
                                                      is cleared)
        ``"<<"``       the key ``<<``                 the key ``<<``
        ============== ============================== ====================================
        """
        if not top.is_map:
            top.value.append(value)
            top.value.pos.append(span)
            return
        key, key_span = top.key, top.key_span
        assert key is not None and key_span is not None
        top.key = None
        entry_span = key_span if container else Span(key_span[0], key_span[1], span[2], span[3])
        if top.merge or top.kustomize_merge:
            if top.explicit is None:  # from now on, keep what kustomize reads differently
                top.explicit = {k: (top.value[k], top.value.pos[k]) for k in top.written}
            if top.kustomize_merge:
                self._kustomize_merge(top, value, via_alias)
            if top.merge:
                self._merge(top, value, event, via_alias)
                if not top.kustomize_merge:
                    top.kustomize_keys[key] = (value, entry_span)
                return
        mapping = top.value
        go_key = top.go_key
        if key in top.written:
            first = top.explicit[key][1] if top.explicit and key in top.explicit else None
            before = top.go_keys.get(key, key) if top.go_keys else key
            after = key if go_key is None else go_key
            alike = type(before) is type(after) and before == after
            self.duplicates.append((mapping, key, first or mapping.pos[key], entry_span, alike))
        top.written.add(key)
        if go_key is not None:
            if top.go_keys is None:
                top.go_keys = {}
            top.go_keys[key] = go_key
        mapping[key] = value
        mapping.pos[key] = entry_span
        if top.explicit is not None:
            top.explicit[key] = (value, entry_span)

    def _merge(self, top: _Open, value: Any, event: Any, via_alias: bool) -> None:
        """kubectl's ``<<``: a mapping, or a sequence of mappings (the first wins), applied
        where it is written (go-yaml v2 reads a mapping in order: later keys override it)."""
        sources = _merge_sources(value, via_alias)
        if sources is None:
            raise ParseError(
                "a '<<' merge key needs a mapping, or a list of mappings, as its value",
                *_at(event.start_mark),
            )
        mapping = top.value
        for source in reversed(sources):
            mapping.update(source)
            mapping.pos.update(source.pos)

    def _kustomize_merge(self, top: _Open, value: Any, via_alias: bool) -> None:
        """kyaml's merge (``DeAnchor``): refused when the value is not mappings, or when a
        mapping has a second merge key; applied when the mapping is complete."""
        sources = _merge_sources(value, via_alias)
        if sources is None or top.kustomize_merges:
            self.kustomize_rejects = True
        else:
            top.kustomize_merges.append(sources)

    def _finish(self, closed: _Open) -> Any:
        """A closed collection; where kustomize reads it otherwise, its reading is recorded."""
        value = closed.value
        if closed.explicit is None and not self.alternates:
            return value
        if closed.is_map:
            self._kustomize_mapping(closed)
        else:
            alternates = self.alternates
            if any(id(item) in alternates for item in value):
                other = PosList(alternates.get(id(item), item) for item in value)
                other.pos = value.pos
                alternates[id(value)] = other
        return value

    def _kustomize_mapping(self, closed: _Open) -> None:
        """kyaml merges the mappings of a mapping's merge key (the first one wins), then sets
        every explicit key over them, wherever it is written; values are kustomize's too."""
        mapping, alternates = closed.value, self.alternates
        if closed.explicit is None:
            if any(id(item) in alternates for item in mapping.values()):
                copied = PosDict((k, alternates.get(id(v), v)) for k, v in mapping.items())
                copied.pos = mapping.pos
                alternates[id(mapping)] = copied
            return
        other: Any = new_container(True)
        for source in reversed(closed.kustomize_merges[0] if closed.kustomize_merges else []):
            read = alternates.get(id(source), source)  # the merged mapping as kustomize reads it
            for key, item in read.items():
                other[key] = alternates.get(id(item), item)
                other.pos[key] = read.pos[key]
        for key, (item, span) in (*closed.explicit.items(), *closed.kustomize_keys.items()):
            other[key] = alternates.get(id(item), item)
            other.pos[key] = span
        differs = False
        for key in mapping.keys() | other.keys():
            kubectl = mapping.get(key, _ABSENT)
            kustomize = other.get(key, _ABSENT)
            if _same(alternates.get(id(kubectl), kubectl), kustomize):
                continue
            differs = True
            if mapping.pos.get(key) != other.pos.get(key):
                self.conflicts.append((mapping, key, mapping.pos.get(key), other.pos.get(key)))
        if differs:
            alternates[id(mapping)] = other

    def _merge_conflicts(self, root: Any) -> list[MergeConflict]:
        if not self.conflicts:
            return []
        pointers = pointers_to(root, {id(mapping) for mapping, *_ in self.conflicts})
        return [
            MergeConflict(
                (*pointers[id(mapping)], key) if id(mapping) in pointers else None,
                kubectl,
                kustomize,
            )
            for mapping, key, kubectl, kustomize in self.conflicts
        ]


def _merge_sources(value: Any, via_alias: bool) -> list[PosDict] | None:
    """The mappings a merge key's value merges (None when it is not mappings): a mapping, or
    a sequence of mappings written in place (an alias to a sequence is refused by both)."""
    if isinstance(value, PosDict):
        return [value]
    if isinstance(value, PosList) and not via_alias and all(isinstance(v, PosDict) for v in value):
        return list(value)
    return None


def _same(first: Any, second: Any) -> bool:
    """Whether two readings give the same value: the same object for collections, an equal
    scalar of the same type otherwise (``1`` is not ``true``)."""
    if isinstance(first, (dict, list)) or isinstance(second, (dict, list)):
        return first is second
    return type(first) is type(second) and first == second


def _complex_key_message(event: Any) -> str:
    if _code(event) == _MAP and event.flow_style:
        return "unrendered template expression '{{ ... }}' used as a mapping key; render it first"
    return "a mapping key must be a scalar (complex keys are not supported)"
