"""Parse YAML/JSON text into plain data that remembers where every key and item was written.

The C-backed libyaml composer (through PyYAML; ruamel.yaml's C parser where PyYAML was built
without libyaml) builds the node graph; ``_Builder`` turns nodes into
``PosDict``/``PosList`` trees. Scalars are resolved as Kubernetes' YAML decoder does (YAML 1.1
booleans, ints, floats, null); tags are never constructed as Python objects; a plain ``=`` stays a
string; ``<<`` merge keys are applied; a duplicate key keeps its last value and is recorded.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import yaml

from kscan.limits import DEFAULT_LIMITS, Limits
from kscan.sources import InputError, Source, read_source

_FRAMES_PER_LEVEL = 3
"""Python frames the node builder uses per nesting level, with a margin."""
_TAG = "tag:yaml.org,2002:"
_STR, _MERGE = _TAG + "str", _TAG + "merge"
_HELM_EXPRESSION = re.compile(
    r"\{\{-?\s*(\.Values|\.Release|\.Chart|\.Capabilities|\.Files|include\b|tpl\b)"
)


class Span(NamedTuple):
    """A region in a file: 1-based lines and columns, end column exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int


class PosDict(dict[str, Any]):
    """A mapping that also knows the span of each of its keys (``pos[key]``)."""

    __slots__ = ("pos",)
    pos: dict[str, Span]


class PosList(list[Any]):
    """A sequence that also knows the span of each of its items (``pos[index]``)."""

    __slots__ = ("pos",)
    pos: list[Span]


Pointer = tuple[str | int, ...]


@dataclass(frozen=True)
class DuplicateKey:
    """A key written twice in one mapping: the value at ``last`` wins. ``pointer`` is None when
    the mapping itself was replaced later (by a duplicate of an enclosing key)."""

    pointer: Pointer | None
    first: Span
    last: Span


class Located(Protocol):
    """Where a rule's pointers are written: a Document while its file is scanned, the
    ``ObjectFacts`` that cross-object rules keep once it is gone, or a fixed ``Place``."""

    @property
    def path(self) -> str: ...

    def locate(self, pointer: Pointer) -> tuple[Span, bool]: ...

    def stable_path(self, pointer: Pointer) -> str: ...


@dataclass(frozen=True)
class Place:
    """A position in a file with no document behind it (a comment): every pointer is there."""

    path: str
    span: Span

    def locate(self, pointer: Pointer) -> tuple[Span, bool]:
        return self.span, True

    def stable_path(self, pointer: Pointer) -> str:
        return plain_path(pointer)


def plain_path(pointer: Pointer) -> str:
    """``/spec/containers/0``: the pointer as a JSON pointer, without escaping."""
    return "".join(f"/{part}" for part in pointer)


@dataclass
class Document:
    """One YAML document of a source file."""

    source: Source
    index: int
    data: Any
    span: Span
    duplicates: list[DuplicateKey] = field(default_factory=list)

    @property
    def path(self) -> str:
        """The path of its file, as shown to users."""
        return self.source.path

    def get(self, pointer: Pointer) -> Any:
        """The value at ``pointer``, or None where the path does not exist."""
        node = self.data
        for part in pointer:
            if isinstance(node, dict):
                node = node.get(part)
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                node = node[part]
            else:
                return None
        return node

    def stable_path(self, pointer: Pointer) -> str:
        """The pointer with list items named by content, not position: ``containers[web]``
        for an item with a ``name``, ``add[SYS_ADMIN]`` for a scalar item, the index otherwise.
        Inserting a container or volume elsewhere does not change it."""
        node, text = self.data, ""
        for part in pointer:
            if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                node = node[part]
                name = node.get("name") if isinstance(node, dict) else node
                text += (
                    f"[{name}]"
                    if isinstance(name, (str, int)) and not isinstance(name, bool)
                    else f"[{part}]"
                )
            else:
                node = node.get(part) if isinstance(node, dict) else None
                text += f"/{part}"
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

    @staticmethod
    def _first_key(node: Any, span: Span, at_item: bool) -> Span:
        if at_item and isinstance(node, PosDict) and node:
            return node.pos[next(iter(node))]
        return span


class ParseError(Exception):
    """A document that cannot be turned into data; positions are 1-based."""

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.line, self.column = line, column


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
    """All documents of a source, and the errors met. A document that cannot be turned into data
    is reported and skipped; a YAML syntax error, or more documents than ``limits.documents``,
    ends the stream (documents before it are kept)."""
    text = source.text.replace("\t", " ") if source.is_json else source.text
    if sys.getrecursionlimit() < _FRAMES_PER_LEVEL * limits.depth + 200:  # the builder recurses
        sys.setrecursionlimit(_FRAMES_PER_LEVEL * limits.depth + 200)
    documents: list[Document] = []
    errors: list[InputError] = []
    try:
        for index, node in enumerate(_compose_all(text)):
            if index == limits.documents:
                message = (
                    f"more than {limits.documents:,} documents in one file; the rest are not "
                    "scanned (--max-documents raises the limit)"
                )
                errors.append(InputError(source.path, message, *_start(node)))
                break
            try:
                document = _document(source, index, node, limits)
            except ParseError as exc:
                errors.append(_parse_error(source, exc))
                continue
            except RecursionError:
                line, column = _start(node)
                errors.append(
                    InputError(source.path, "document is nested too deeply", line, column)
                )
                continue
            if document is not None:
                documents.append(document)
    except yaml.YAMLError as exc:
        errors.append(_yaml_error(source, text, exc))
    except RecursionError:
        errors.append(InputError(source.path, "document is nested too deeply"))
    return documents, errors


def _document(source: Source, index: int, node: Any, limits: Limits) -> Document | None:
    builder = _Builder(limits)
    data = builder.build(node)
    if data is None:  # an empty document: only comments, or nothing, between separators
        return None
    pointers = _pointers_to(data, {id(mapping) for mapping, *_ in builder.duplicates})
    duplicates = [
        DuplicateKey(
            (*pointers[id(mapping)], key) if id(mapping) in pointers else None, first, last
        )
        for mapping, key, first, last in builder.duplicates
    ]
    return Document(source, index, data, _span(node, node), duplicates)


def _parse_error(source: Source, exc: ParseError) -> InputError:
    message = str(exc)
    if "{{" in source.text and "template" not in message:
        message += " (the file looks like an unrendered Helm/Go template; render it first)"
    return InputError(source.path, message, exc.line, exc.column)


def compose_with_libyaml(text: str) -> Iterator[Any]:
    """Compose nodes with libyaml through PyYAML (the fast path)."""
    loader = yaml.CSafeLoader(text)
    try:
        while loader.check_node():
            yield loader.get_node()
    finally:
        loader.dispose()


def compose_with_ruamel(text: str) -> Iterator[Any]:
    """Compose nodes with ruamel.yaml's C parser: the fallback when PyYAML lacks libyaml."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError
    from ruamel.yaml.reader import ReaderError

    loader = YAML(typ="safe", pure=False)
    loader.version = (1, 1)  # resolve scalars as libyaml and Kubernetes do (yes/no are booleans)
    try:
        yield from loader.compose_all(text)
    except MarkedYAMLError as exc:  # the same report as PyYAML's, so one handler serves both
        raise yaml.MarkedYAMLError(
            exc.context, exc.context_mark, exc.problem, exc.problem_mark
        ) from None
    except ReaderError as exc:
        raise yaml.reader.ReaderError(
            exc.name, exc.position, exc.character, exc.encoding, exc.reason
        ) from None


_compose_all = compose_with_libyaml if yaml.__with_libyaml__ else compose_with_ruamel


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
    if "{{" in source.text:
        problem += " (the file looks like an unrendered Helm/Go template; render it first)"
    line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    return InputError(source.path, f"invalid YAML: {_one_line(problem)}", line, column)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _position_of(text: str, index: int) -> tuple[int, int]:
    before = text[:index]
    return before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1


def _span(start: Any, end: Any) -> Span:
    s, e = start.start_mark, end.end_mark
    return Span(s.line + 1, s.column + 1, e.line + 1, e.column + 1)


def _pointers_to(root: Any, targets: set[int]) -> dict[int, Pointer]:
    """Paths of some mapping objects inside a tree, in one walk that visits each object once
    (aliases share objects). Used only for the rare documents with duplicate keys."""
    found: dict[int, Pointer] = {}
    seen: set[int] = set()
    stack: list[tuple[Any, Pointer]] = [(root, ())]
    while stack and len(found) < len(targets):
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if id(node) in targets:
            found[id(node)] = path
        if isinstance(node, dict):
            stack.extend((value, (*path, key)) for key, value in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((value, (*path, i)) for i, value in reversed(list(enumerate(node))))
    return found


class _Builder:
    """Turns one document's node graph into PosDict/PosList data."""

    def __init__(self, limits: Limits) -> None:
        self.max_nodes, self.max_depth = limits.nodes, limits.depth
        self.nodes = 0
        self.depth = 0
        self.memo: dict[int, tuple[Any, int] | None] = {}
        self.duplicates: list[tuple[PosDict, str, Span, Span]] = []

    def build(self, node: Any) -> Any:
        kind = node.id
        if kind == "scalar":
            self.nodes += 1
            return _scalar(node)
        key = id(node)
        if key in self.memo:  # an alias: reuse what the anchor built, count its size again
            done = self.memo[key]
            if done is None:
                raise ParseError("recursive alias", *_start(node))
            value, size = done
            self.nodes += size
            self._check_budget(node)
            return value
        self.memo[key] = None
        before = self.nodes
        self.depth += 1
        if self.depth > self.max_depth:
            raise ParseError(
                f"document is nested more than {self.max_depth} levels deep "
                "(--max-depth raises the limit)",
                *_start(node),
            )
        value = self._mapping(node) if kind == "mapping" else self._sequence(node)
        self.depth -= 1
        self.memo[key] = (value, self.nodes - before)
        self._check_budget(node)
        return value

    def _check_budget(self, node: Any) -> None:
        if self.nodes > self.max_nodes:
            raise ParseError(
                f"document has more than {self.max_nodes:,} nodes once aliases are expanded "
                "(a YAML alias bomb?; --max-nodes raises the limit)",
                *_start(node),
            )

    def _sequence(self, node: Any) -> PosList:
        items = PosList()
        items.pos = spans = []
        self.nodes += 1
        for child in node.value:
            items.append(self.build(child))
            spans.append(_span(child, child) if child.id == "scalar" else _start_span(child))
        return items

    def _mapping(self, node: Any) -> PosDict:
        """Keys in document order, as Kubernetes' YAML decoder (go-yaml v2) applies them: a
        ``<<`` merge sets its keys at its place, so a later explicit key overrides it, and it
        overrides an earlier one."""
        mapping = PosDict()
        spans: dict[str, Span] = {}
        mapping.pos = spans
        self.nodes += 1
        written: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.id != "scalar":
                raise ParseError(_complex_key_message(key_node), *_start(key_node))
            if key_node.tag == _MERGE:
                self._merge(mapping, value_node)
                continue
            key = key_node.value
            span = _span(key_node, value_node) if value_node.id == "scalar" else _key_span(key_node)
            if key in written:
                self.duplicates.append((mapping, key, spans[key], span))
            written.add(key)
            mapping[key] = self.build(value_node)
            spans[key] = span
        return mapping

    def _merge(self, mapping: PosDict, merge: Any) -> None:
        sources = reversed(merge.value) if merge.id == "sequence" else [merge]
        for source in sources:  # a list merges last-to-first: its first mapping wins
            merged = self.build(source)
            if not isinstance(merged, PosDict):
                raise ParseError(
                    "a '<<' merge key needs a mapping or a list of mappings", *_start(source)
                )
            mapping.update(merged)
            mapping.pos.update(merged.pos)


def _start(node: Any) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _key_span(node: Any) -> Span:
    start, end = node.start_mark, node.end_mark
    if end.line != start.line:  # some parsers end a key at the next line: measure it instead
        return Span(
            start.line + 1, start.column + 1, start.line + 1, start.column + 1 + len(node.value)
        )
    return Span(start.line + 1, start.column + 1, end.line + 1, end.column + 1)


def _start_span(node: Any) -> Span:
    line, column = _start(node)
    return Span(line, column, line, column + 1)


def _complex_key_message(key_node: Any) -> str:
    if key_node.id == "mapping" and key_node.flow_style:
        return "unrendered template expression '{{ ... }}' used as a mapping key; render it first"
    return "a mapping key must be a scalar (complex keys are not supported)"


def _scalar(node: Any) -> Any:
    tag, value = node.tag, node.value
    if tag == _STR:
        if value in _YAML11_SHORT_BOOLS and not node.style:
            return _YAML11_SHORT_BOOLS[value]
        if "{{" in value and node.style not in ("|", ">") and _HELM_EXPRESSION.search(value):
            raise ParseError(f"unrendered template expression in {value!r}", *_start(node))
        return value
    convert = _CONVERTERS.get(tag)
    if convert is None:
        return value
    try:
        return convert(value)
    except ValueError:  # "!!int abc", or "0x_" that the YAML 1.1 resolver calls an int
        return value


_YAML11_SHORT_BOOLS = {"y": True, "Y": True, "n": False, "N": False}
"""Plain y/n: booleans to Kubernetes' decoder (go-yaml v2), strings to PyYAML's resolver."""


def _to_bool(value: str) -> bool:
    return value.lower() in ("y", "yes", "true", "on")


def _to_int(value: str) -> int:
    text = value.replace("_", "")
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("+-")
    if text == "0":
        return 0
    if text.startswith("0b"):
        return sign * int(text[2:], 2)
    if text.startswith("0x"):
        return sign * int(text[2:], 16)
    if text.startswith("0"):
        return sign * int(text, 8)
    if ":" in text:
        return sign * int(_sexagesimal(text))
    return sign * int(text)


def _to_float(value: str) -> float:
    text = value.replace("_", "").lower()
    sign = -1.0 if text.startswith("-") else 1.0
    text = text.lstrip("+-")
    if text == ".inf":
        return sign * math.inf
    if text == ".nan":
        return math.nan
    if ":" in text:
        return sign * float(_sexagesimal(text))
    return sign * float(text)


def _sexagesimal(text: str) -> Any:
    total: Any = 0
    for part in text.split(":"):
        total = total * 60 + (float(part) if "." in part else int(part))
    return total


_CONVERTERS = {
    _TAG + "null": lambda _value: None,
    _TAG + "bool": _to_bool,
    _TAG + "int": _to_int,
    _TAG + "float": _to_float,
}
