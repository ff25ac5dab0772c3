"""libyaml's event stream of a YAML text (through PyYAML, or ruamel.yaml's C parser where PyYAML
lacks libyaml), event codes, and the document separators only kubectl sees."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import yaml

from kscan.input.tree import (
    Span,
)

# --- YAML ---------------------------------------------------------------------------------

SCALAR, ALIAS, MAPPING, SEQUENCE, END, DOCUMENT_START, DOCUMENT_END, STREAM = range(8)


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
    """Parse events from libyaml through PyYAML (the fast path): an iterator over the C
    parser's ``get_event``, without a generator frame to resume per event (``CParser`` has
    nothing to dispose of; libyaml's state goes with the loader)."""
    return iter(yaml.CSafeLoader(_Chunks(text)).get_event, None)


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


event_stream: Callable[[str], Iterator[Any]] = (
    events_with_libyaml if yaml.__with_libyaml__ else events_with_ruamel
)


CODES: dict[type, int] = {}


def event_code(event: Any) -> int:
    """The kind of an event, for either parser's event classes (same names)."""
    kind = type(event)
    code = CODES.get(kind)
    if code is None:
        names = {
            "ScalarEvent": SCALAR,
            "AliasEvent": ALIAS,
            "MappingStartEvent": MAPPING,
            "SequenceStartEvent": SEQUENCE,
            "MappingEndEvent": END,
            "SequenceEndEvent": END,
            "DocumentStartEvent": DOCUMENT_START,
            "DocumentEndEvent": DOCUMENT_END,
        }
        code = CODES[kind] = names.get(kind.__name__, STREAM)
    return code


_DASHES = re.compile(r"---([^\n]*)")
"""``---`` and the rest of its line: a literal prefix, so the search skips to each ``---``
instead of trying every position (the caller keeps those that start a line)."""


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
    for match in _DASHES.finditer(text):
        start = match.start()
        if start and text[start - 1] != "\n":
            continue  # ``---`` inside a line (the match ends at the line's end)
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


def line_column(mark: Any) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


def span_between(start: Any, end: Any) -> Span:
    return Span(start.line + 1, start.column + 1, end.line + 1, end.column + 1)
