"""The iterative builder that turns one document's YAML events into position-aware data,
decoding as go-yaml v2 does (kubectl), with kustomize's reading of merge keys beside it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kscan.input.document import Document
from kscan.input.limits import Limits
from kscan.input.parse_errors import HELM_EXPRESSION
from kscan.input.scalars import MERGE, STR, ScalarError, is_merge_key, key_text, key_value, resolve
from kscan.input.sources import Source
from kscan.input.tree import (
    DuplicateKey,
    MergeConflict,
    ParseError,
    PosDict,
    PosList,
    Span,
    new_container,
    pointers_to,
)
from kscan.input.yaml_events import (
    ALIAS,
    CODES,
    DOCUMENT_END,
    END,
    MAPPING,
    SCALAR,
    SEQUENCE,
    event_code,
    line_column,
    span_between,
)

_PLAIN_KEYS: dict[str, str] = {}


"""Plain, untagged keys already resolved (their JSON key), shared by every document."""


_PLAIN_VALUES: dict[str, Any] = {}
"""Plain, untagged scalars of up to ``_PLAIN_KEY_LENGTH`` characters already resolved (``true``,
``80``, ``IfNotPresent``), shared by every document: values are immutable."""
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


class Builder:
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
        codes = CODES
        for event in events:
            code = codes.get(type(event))
            if code is None:
                code = event_code(event)
            if code == SCALAR:
                top = stack[-1] if stack else None
                if top is not None and top.is_map and top.key is None:
                    self._key(top, event)
                    continue
                value = self._scalar(event)
                if event.anchor:
                    self.anchors[event.anchor] = (value, 1)
                span = span_between(event.start_mark, event.end_mark)
                if top is None:
                    root, root_span = value, span
                else:
                    self._add(top, value, span, event, False, False)
            elif code == ALIAS:
                value = self._alias(event)
                top = stack[-1] if stack else None
                if top is not None and top.is_map and top.key is None:
                    self._alias_key(top, value, event)
                    continue
                span = span_between(event.start_mark, event.end_mark)
                if top is None:
                    root, root_span = value, span
                else:
                    container = isinstance(value, (PosDict, PosList))
                    self._add(top, value, span, event, container, True)
            elif code in (MAPPING, SEQUENCE):
                top = stack[-1] if stack else None
                if top is not None and top.is_map and top.key is None:
                    raise ParseError(_complex_key_message(event), *line_column(event.start_mark))
                if len(stack) >= self.max_depth:
                    raise ParseError(
                        f"document is nested more than {self.max_depth} levels deep "
                        "(--max-depth raises the limit)",
                        *line_column(event.start_mark),
                    )
                self.nodes += 1
                opened = _Open(code == MAPPING, event, self.nodes)
                if opened.anchor:
                    self.anchors[opened.anchor] = (_BUILDING, 0)
                stack.append(opened)
            elif code == END:
                closed = stack.pop()
                if self.nodes > self.max_nodes:
                    raise self._too_big(closed.start)
                value = self._finish(closed)
                if closed.anchor:
                    self.anchors[closed.anchor] = (value, self.nodes - closed.nodes_before + 1)
                if not stack:
                    root, root_span = value, span_between(closed.start, event.end_mark)
                else:
                    top = stack[-1]
                    line, column = line_column(closed.start)
                    self._add(top, value, Span(line, column, line, column + 1), event, True, False)
            elif code == DOCUMENT_END:
                break
        if root is _ABSENT or root is None or root_span is None:
            return None  # an empty document: only comments, or nothing, between separators
        rejected = self.kustomize_rejects  # then only kubectl's reading can be applied
        return Document(
            self.source,
            index,
            root,
            root_span,
            duplicate_keys(root, self.duplicates),
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
        memo = tag is None and plain and len(text) <= _PLAIN_KEY_LENGTH
        value = _PLAIN_VALUES.get(text, _BUILDING) if memo else _BUILDING
        if value is _BUILDING:
            try:
                value = resolve(text, tag, plain)
            except ScalarError as exc:
                raise ParseError(str(exc), *line_column(event.start_mark)) from None
            if memo and len(_PLAIN_VALUES) < _PLAIN_KEYS_KEPT:
                _PLAIN_VALUES[text] = value
        if (
            type(value) is str
            and "{{" in value
            and event.style not in ("|", ">")
            and tag in (None, STR)
            and HELM_EXPRESSION.search(value)
        ):
            raise ParseError(
                "unrendered template expression in a value", *line_column(event.start_mark)
            )
        return value

    def _text_region(self, event: Any) -> None:
        start, end = event.start_mark, event.end_mark
        if event.style in ("|", ">"):  # the header line may hold a real comment: skip it
            self.text_regions.append(Span(start.line + 2, 1, end.line + 1, end.column + 1))
        else:
            self.text_regions.append(span_between(start, end))

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
            raise ParseError(str(exc), *line_column(event.start_mark)) from None
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
            raise ParseError(
                "alias to an anchor that is not defined", *line_column(event.start_mark)
            )
        value, size = anchored
        if value is _BUILDING:
            raise ParseError("recursive alias", *line_column(event.start_mark))
        self.nodes += size
        if self.nodes > self.max_nodes:
            raise self._too_big(event.start_mark)
        return value

    def _too_big(self, mark: Any) -> ParseError:
        return ParseError(
            f"document has more than {self.max_nodes:,} nodes once aliases are expanded "
            "(a YAML alias bomb?; --max-nodes raises the limit)",
            *line_column(mark),
        )

    def _alias_key(self, mapping: _Open, value: Any, event: Any) -> None:
        if isinstance(value, (PosDict, PosList)):
            raise ParseError(
                "a mapping key must be a scalar (complex keys are not supported)",
                *line_column(event.start_mark),
            )
        try:
            mapping.key = key_text(value)  # the anchored scalar, resolved where it is written
        except ScalarError as exc:
            raise ParseError(str(exc), *line_column(event.start_mark)) from None
        mapping.merge = mapping.kustomize_merge = False
        mapping.go_key = None if type(value) is str else value
        mapping.key_span = span_between(event.start_mark, event.end_mark)

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
                *line_column(event.start_mark),
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
    if event_code(event) == MAPPING and event.flow_style:
        return "unrendered template expression '{{ ... }}' used as a mapping key; render it first"
    return "a mapping key must be a scalar (complex keys are not supported)"


def duplicate_keys(
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
