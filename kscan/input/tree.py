"""Parsed data that remembers where it was written: the shapes the YAML and JSON readers build."""

from __future__ import annotations

from typing import Any

from kscan.support.values import Record, dataclass


class Span(Record):
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
Chain = tuple[Any, ...]
"""A place in a walk, cheaper to extend than a pointer: ``()`` at the top, else (the parent's
chain, a key or index). ``chain_pointer`` makes it a pointer, for the few places reported."""


def new_container(is_map: bool) -> PosDict | PosList:
    """An empty mapping or sequence, ready for items and their spans."""
    if is_map:
        mapping = PosDict()
        mapping.pos = {}
        return mapping
    sequence = PosList()
    sequence.pos = []
    return sequence


@dataclass(frozen=True)
class DuplicateKey:
    """A key written twice in one mapping: the value at ``last`` wins. ``pointer`` is None when
    the mapping itself was replaced later (by a duplicate of an enclosing key)."""

    pointer: Pointer | None
    first: Span
    last: Span
    spelled_alike: bool = True
    """False when two different keys (``1`` and ``"1"``, ``y`` and ``true``) only become the
    same JSON key: then which value Kubernetes keeps is left to chance."""

    @property
    def span(self) -> Span:
        """Where the value that wins is written."""
        return self.last


@dataclass(frozen=True)
class SeparatorLine:
    """A ``---`` line that only kubectl reads as a document separator."""

    span: Span


@dataclass(frozen=True)
class MergeConflict:
    """A key whose value depends on the client because of a merge: go-yaml v2 (kubectl) applies
    ``<<`` in document order, kyaml (kustomize) lets explicit keys win wherever they are and
    also merges keys tagged ``!!merge``. ``kubectl`` and ``kustomize`` are where the value each
    applies is written."""

    pointer: Pointer | None
    kubectl: Span | None
    kustomize: Span | None
    """None where that client's reading has no such key."""

    @property
    def span(self) -> Span:
        """Where kubectl's value is written (else kustomize's)."""
        span = self.kubectl or self.kustomize
        assert span is not None, "a conflict has at least one reading"
        return span


class ParseError(Exception):
    """A document that cannot be turned into data; positions are 1-based."""

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.line, self.column = line, column


def chain_pointer(top: Pointer, chain: Chain) -> Pointer:
    """The pointer of a chain whose top is at ``top``."""
    keys = []
    while chain:
        chain, key = chain
        keys.append(key)
    return (*top, *reversed(keys))


def value_at(data: Any, pointer: Pointer) -> Any:
    """The value at ``pointer`` inside parsed data, or None where the path does not exist."""
    for part in pointer:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


def pointers_to(root: Any, targets: set[int]) -> dict[int, Pointer]:
    """Paths of some mapping objects inside a tree, in one walk that visits each object once
    (aliases share objects). Used only for the rare documents with duplicate or merged keys."""
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
