"""A parsed document: its data, where each key and item is written, and what the parser
recorded about how it is written (duplicate keys, merge conflicts, separators)."""

from __future__ import annotations

import sys
from bisect import bisect_right
from functools import cached_property
from typing import Any, Protocol

from kscan.input.sources import Source
from kscan.input.tree import (
    DuplicateKey,
    MergeConflict,
    Pointer,
    PosDict,
    PosList,
    SeparatorLine,
    Span,
    value_at,
)
from kscan.support.disclosure import quotable, shown_key
from kscan.support.values import dataclass, field, replace

_END_OF_LINE = sys.maxsize


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
        volume elsewhere does not change it. Each prefix is worked out once per document
        (a container's findings share theirs)."""
        memo: dict[Pointer, tuple[Any, str]] = (
            {} if any(type(part) is bool for part in pointer) else self._stable_prefixes
        )
        known = len(pointer)
        while known and pointer[:known] not in memo:
            known -= 1
        node, text = memo[pointer[:known]] if known else (self.data, "")
        for depth in range(known, len(pointer)):
            part = pointer[depth]
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
            memo[pointer[: depth + 1]] = (node, text)
        return text

    @cached_property
    def _stable_prefixes(self) -> dict[Pointer, tuple[Any, str]]:
        """Pointer prefix -> (the node there, its stable path): ``stable_path``'s memo. A
        pointer with a ``bool`` part is not remembered: ``("x", True)`` equals ``("x", 1)``."""
        return {}

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
