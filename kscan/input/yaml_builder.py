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

_span = tuple.__new__
"""``_span(Span, (line, column, end_line, end_column))``: a Span without the Python-level
``__new__`` of a named tuple (half the cost; the builder makes one per key and item)."""

KeyKind = tuple[bool, bool, Any]
"""What a key is besides its JSON text, when it is more than a string: (a merge to kubectl,
a merge to kustomize, its Go value when that is not the string itself)."""


class _Keys:
    """What a mapping keeps about its keys once one of them is more than a new string key (a
    merge, a duplicate, a key that is not a string to Go)."""

    __slots__ = ("explicit", "go_keys", "kustomize_keys", "kustomize_merges", "written")

    def __init__(self, mapping: PosDict) -> None:
        self.written: set[str] = set()
        """The keys written in the mapping (not merged into it)."""
        for key in mapping:  # so far every key is written: a merge would have made a _Keys
            self.written.add(key)
        self.go_keys: dict[str, Any] | None = None
        """Go values of the keys written so far that are not their own string, to tell
        colliding keys apart."""
        self.explicit: dict[str, tuple[Any, Span]] | None = None
        """Explicit keys, kept once the mapping has a merge (for kustomize's reading)."""
        self.kustomize_merges: list[list[PosDict]] = []
        self.kustomize_keys: dict[str, tuple[Any, Span]] = {}
        """Keys only kustomize has: ``! <<`` is a merge to kubectl, a key to kyaml."""


_Frame = tuple[
    bool, Any, _Keys | None, Any, str | None, int, str | None, Span | None, KeyKind | None
]
"""An open collection around the innermost one: whether it is a mapping, its value, its
_Keys, where it starts, its anchor, the nodes counted before it, and (a mapping) the key, key
span and key kind of the collection being built inside it."""


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
        self.kept: list[Any] = []
        """The values ``alternates`` names by id, kept alive so that no id is reused."""

    def document(self, events: Iterator[Any], index: int) -> Document | None:
        """Build the document whose DocumentStartEvent was just read; None when it is empty.

        One loop over the events, the common cases written inline (a new string key, an
        untagged scalar, a collection opening and closing), with the innermost open collection
        in local variables; everything else (merges, duplicates, tags, aliases) goes to methods.
        """
        stack: list[_Frame] = []  # the open collections around the innermost one
        # The innermost open collection: its value (None: no collection is open), the spans
        # of its keys or items, whether it is a mapping, its _Keys (None: new string keys go
        # inline), where it starts, its anchor, and the nodes counted before it.
        container: Any = None
        pos: Any = None
        is_map = False
        keys: _Keys | None = None
        start_mark: Any = None
        anchor: str | None = None
        nodes_before = 0
        key: str | None = None  # the key whose value comes next (a mapping); None: one is awaited
        key_span: Span | None = None  # its span, made when needed: from these four
        key_line = key_column = key_end_line = key_end_column = 0
        kind: KeyKind | None = None  # what the key is besides a string (None: nothing)
        root: Any = _ABSENT
        root_span: Span | None = None
        nodes, max_nodes, max_depth = self.nodes, self.max_nodes, self.max_depth
        anchors, alternates = self.anchors, self.alternates
        codes, plain_keys, plain_values = CODES, _PLAIN_KEYS, _PLAIN_VALUES
        for event in events:
            code = codes.get(type(event))
            if code is None:
                code = event_code(event)
            if code == SCALAR:
                nodes += 1
                text = event.value
                if is_map and key is None:  # a key
                    start, end = event.start_mark, event.end_mark
                    key_line, key_column = start.line + 1, start.column + 1
                    key_end_line, key_end_column = end.line + 1, end.column + 1
                    known = (
                        plain_keys.get(text) if event.tag is None and event.implicit[0] else None
                    )
                    if known is None:
                        key, kind = self._key(event, text)
                    else:  # the common case: a plain string key seen before (``name``)
                        key, kind = known, None
                        if event.anchor:
                            anchors[event.anchor] = (known, 1)
                    key_span = None
                    continue
                tag = event.tag
                if tag is not None:
                    value = self._tagged(event, text, tag)
                elif not event.implicit[0]:
                    value = text  # quoted or block: always a string
                else:
                    value = plain_values.get(text, _ABSENT)
                    if value is _ABSENT:
                        value = _plain(event, text)
                if "#" in text:
                    self._text_region(event)
                if "{{" in text and type(value) is str and tag in (None, STR):
                    _refuse_template(event, value)
                if event.anchor:
                    anchors[event.anchor] = (value, 1)
                end = event.end_mark
                if is_map:
                    if keys is None and kind is None and key not in container:
                        container[key] = value
                        pos[key] = _span(Span, (key_line, key_column, end.line + 1, end.column + 1))
                    else:
                        if key_span is None:
                            key_span = _span(
                                Span, (key_line, key_column, key_end_line, key_end_column)
                            )
                        span = span_between(event.start_mark, end)
                        keys = self._add(
                            container, keys, key, key_span, kind, value, span, event, False, False
                        )
                    key = None
                    continue
                start = event.start_mark
                span = _span(Span, (start.line + 1, start.column + 1, end.line + 1, end.column + 1))
                if container is None:
                    root, root_span = value, span
                else:
                    container.append(value)
                    pos.append(span)
            elif code == END:
                if nodes > max_nodes:
                    raise self._too_big(start_mark)
                value = container
                if keys is not None or alternates:
                    value = self._finish(container, keys, is_map)
                if anchor:
                    anchors[anchor] = (value, nodes - nodes_before + 1)
                start = start_mark
                if not stack:
                    root, root_span = value, span_between(start, event.end_mark)
                    container, is_map = None, False
                    continue
                (is_map, container, keys, start_mark, anchor, nodes_before, key, key_span, kind) = (
                    stack.pop()
                )
                pos = container.pos
                if not is_map:
                    line, column = start.line + 1, start.column + 1
                    container.append(value)
                    pos.append(_span(Span, (line, column, line, column + 1)))
                    continue
                assert key_span is not None
                if keys is None and kind is None and key not in container:
                    container[key] = value
                    pos[key] = key_span
                else:
                    line, column = start.line + 1, start.column + 1
                    span = _span(Span, (line, column, line, column + 1))
                    keys = self._add(
                        container, keys, key, key_span, kind, value, span, event, True, False
                    )
                key = None
            elif code in (MAPPING, SEQUENCE):
                if is_map and key is None:
                    raise ParseError(_complex_key_message(event), *line_column(event.start_mark))
                if len(stack) + (container is not None) >= max_depth:
                    raise ParseError(
                        f"document is nested more than {max_depth} levels deep "
                        "(--max-depth raises the limit)",
                        *line_column(event.start_mark),
                    )
                nodes += 1
                if container is not None:
                    if is_map and key_span is None:
                        key_span = _span(Span, (key_line, key_column, key_end_line, key_end_column))
                    stack.append(
                        (
                            is_map,
                            container,
                            keys,
                            start_mark,
                            anchor,
                            nodes_before,
                            key,
                            key_span,
                            kind,
                        )
                    )
                is_map = code == MAPPING
                container = new_container(is_map)
                pos, keys, key = container.pos, None, None
                start_mark, anchor, nodes_before = event.start_mark, event.anchor, nodes
                if anchor:
                    anchors[anchor] = (_BUILDING, 0)
            elif code == ALIAS:
                self.nodes = nodes
                value = self._alias(event)
                nodes = self.nodes
                if is_map and key is None:
                    key, kind = self._alias_key(value, event)
                    start, end = event.start_mark, event.end_mark
                    key_line, key_column = start.line + 1, start.column + 1
                    key_end_line, key_end_column = end.line + 1, end.column + 1
                    key_span = None
                    continue
                span = span_between(event.start_mark, event.end_mark)
                if container is None:
                    root, root_span = value, span
                elif is_map:
                    if key_span is None:
                        key_span = _span(Span, (key_line, key_column, key_end_line, key_end_column))
                    is_container = isinstance(value, (PosDict, PosList))
                    keys = self._add(
                        container, keys, key, key_span, kind, value, span, event, is_container, True
                    )
                    key = None
                else:
                    container.append(value)
                    pos.append(span)
            elif code == DOCUMENT_END:
                break
        self.nodes = nodes
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

    def _tagged(self, event: Any, text: str, tag: str) -> Any:
        """The value of a scalar with an explicit tag."""
        try:
            return resolve(text, tag, event.implicit[0])
        except ScalarError as exc:
            raise ParseError(str(exc), *line_column(event.start_mark)) from None

    def _text_region(self, event: Any) -> None:
        start, end = event.start_mark, event.end_mark
        if event.style in ("|", ">"):  # the header line may hold a real comment: skip it
            self.text_regions.append(Span(start.line + 2, 1, end.line + 1, end.column + 1))
        else:
            self.text_regions.append(span_between(start, end))

    def _key(self, event: Any, text: str) -> tuple[str, KeyKind | None]:
        """A scalar key not seen before as a plain string key: its JSON text and kind."""
        tag, plain = event.tag, event.implicit[0]
        if "#" in text:
            self._text_region(event)
        merge = is_merge_key(text, tag, plain)
        kustomize_merge = tag == MERGE or (tag is None and plain and text == "<<")
        try:
            value = "<<" if merge else key_value(text, tag, plain)
            key = key_text(value)
        except ScalarError as exc:
            raise ParseError(str(exc), *line_column(event.start_mark)) from None
        go_key = None if type(value) is str else value
        cacheable = tag is None and plain and not merge and "#" not in text
        cacheable = cacheable and type(value) is str
        if cacheable and len(_PLAIN_KEYS) < _PLAIN_KEYS_KEPT and len(text) <= _PLAIN_KEY_LENGTH:
            _PLAIN_KEYS[text] = key
        if event.anchor and not merge:
            self.anchors[event.anchor] = (key, 1)
        if merge or kustomize_merge or go_key is not None:
            return key, (merge, kustomize_merge, go_key)
        return key, None

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

    def _alias_key(self, value: Any, event: Any) -> tuple[str, KeyKind | None]:
        if isinstance(value, (PosDict, PosList)):
            raise ParseError(
                "a mapping key must be a scalar (complex keys are not supported)",
                *line_column(event.start_mark),
            )
        try:
            key = key_text(value)  # the anchored scalar, resolved where it is written
        except ScalarError as exc:
            raise ParseError(str(exc), *line_column(event.start_mark)) from None
        return key, None if type(value) is str else (False, False, value)

    # -- building collections --

    def _add(
        self,
        mapping: PosDict,
        keys: _Keys | None,
        key: str | None,
        key_span: Span,
        kind: KeyKind | None,
        value: Any,
        span: Span,
        event: Any,
        container: bool,
        via_alias: bool,
    ) -> _Keys:
        """Put a finished value into an open mapping where the inline path does not (a merge,
        a duplicate, a key that is not a string to Go, an alias); the mapping's _Keys, made
        here the first time. The key decides, per client:

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
        assert key is not None
        merge, kustomize_merge, go_key = kind or (False, False, None)
        if keys is None:
            keys = _Keys(mapping)
        entry_span = key_span if container else Span(key_span[0], key_span[1], span[2], span[3])
        if merge or kustomize_merge:
            if keys.explicit is None:  # from now on, keep what kustomize reads differently
                keys.explicit = {
                    k: (mapping[k], mapping.pos[k]) for k in mapping if k in keys.written
                }
            if kustomize_merge:
                self._kustomize_merge(keys, value, via_alias)
            if merge:
                self._merge(mapping, value, event, via_alias)
                if not kustomize_merge:
                    keys.kustomize_keys[key] = (value, entry_span)
                return keys
        if key in keys.written:
            explicit = keys.explicit
            first = explicit[key][1] if explicit and key in explicit else None
            before = keys.go_keys.get(key, key) if keys.go_keys else key
            after = key if go_key is None else go_key
            alike = type(before) is type(after) and before == after
            self.duplicates.append((mapping, key, first or mapping.pos[key], entry_span, alike))
        keys.written.add(key)
        if go_key is not None:
            if keys.go_keys is None:
                keys.go_keys = {}
            keys.go_keys[key] = go_key
        mapping[key] = value
        mapping.pos[key] = entry_span
        if keys.explicit is not None:
            keys.explicit[key] = (value, entry_span)
        return keys

    def _merge(self, mapping: PosDict, value: Any, event: Any, via_alias: bool) -> None:
        """kubectl's ``<<``: a mapping, or a sequence of mappings (the first wins), applied
        where it is written (go-yaml v2 reads a mapping in order: later keys override it)."""
        sources = _merge_sources(value, via_alias)
        if sources is None:
            raise ParseError(
                "a '<<' merge key needs a mapping, or a list of mappings, as its value",
                *line_column(event.start_mark),
            )
        for source in reversed(sources):
            mapping.update(source)
            mapping.pos.update(source.pos)

    def _kustomize_merge(self, keys: _Keys, value: Any, via_alias: bool) -> None:
        """kyaml's merge (``DeAnchor``): refused when the value is not mappings, or when a
        mapping has a second merge key; applied when the mapping is complete."""
        sources = _merge_sources(value, via_alias)
        if sources is None or keys.kustomize_merges:
            self.kustomize_rejects = True
        else:
            keys.kustomize_merges.append(sources)

    def _finish(self, value: Any, keys: _Keys | None, is_map: bool) -> Any:
        """A closed collection; where kustomize reads it otherwise, its reading is recorded."""
        if (keys is None or keys.explicit is None) and not self.alternates:
            return value
        if is_map:
            self._kustomize_mapping(value, keys)
        else:
            alternates = self.alternates
            if any(id(item) in alternates for item in value):
                other = PosList(alternates.get(id(item), item) for item in value)
                other.pos = value.pos
                alternates[id(value)] = other
                self.kept.append(value)
        return value

    def _kustomize_mapping(self, mapping: PosDict, keys: _Keys | None) -> None:
        """kyaml merges the mappings of a mapping's merge key (the first one wins), then sets
        every explicit key over them, wherever it is written; values are kustomize's too."""
        alternates = self.alternates
        if keys is None or keys.explicit is None:
            if any(id(item) in alternates for item in mapping.values()):
                copied = PosDict((k, alternates.get(id(v), v)) for k, v in mapping.items())
                copied.pos = mapping.pos
                alternates[id(mapping)] = copied
                self.kept.append(mapping)
            return
        other: Any = new_container(True)
        for source in reversed(keys.kustomize_merges[0] if keys.kustomize_merges else []):
            read = alternates.get(id(source), source)  # the merged mapping as kustomize reads it
            for key, item in read.items():
                other[key] = alternates.get(id(item), item)
                other.pos[key] = read.pos[key]
        for key, (item, span) in (*keys.explicit.items(), *keys.kustomize_keys.items()):
            other[key] = alternates.get(id(item), item)
            other.pos[key] = span
        differs = False
        for key in {**mapping, **other}:  # both readings' keys, in a stable order (not a set's)
            kubectl = mapping.get(key, _ABSENT)
            kustomize = other.get(key, _ABSENT)
            if _same(alternates.get(id(kubectl), kubectl), kustomize):
                continue
            differs = True
            if mapping.pos.get(key) != other.pos.get(key):
                self.conflicts.append((mapping, key, mapping.pos.get(key), other.pos.get(key)))
        if differs:
            alternates[id(mapping)] = other
            self.kept.append(mapping)

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


def _plain(event: Any, text: str) -> Any:
    """The value of a plain, untagged scalar not in ``_PLAIN_VALUES`` (kept there when short)."""
    try:
        value = resolve(text, None, True)
    except ScalarError as exc:
        raise ParseError(str(exc), *line_column(event.start_mark)) from None
    if len(text) <= _PLAIN_KEY_LENGTH and len(_PLAIN_VALUES) < _PLAIN_KEYS_KEPT:
        _PLAIN_VALUES[text] = value
    return value


def _refuse_template(event: Any, value: str) -> None:
    """Raise for a string value holding ``{{``, written other than as a block, that is an
    unrendered template expression."""
    if event.style not in ("|", ">") and HELM_EXPRESSION.search(value):
        raise ParseError(
            "unrendered template expression in a value", *line_column(event.start_mark)
        )


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
