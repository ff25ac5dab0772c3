"""JSON as JSON: a stream of values (what kubectl reads from a file that starts with ``{``),
parsed into position-aware data.

kubectl decodes such a file with Go's ``encoding/json`` as a stream of concatenated values.
So does this reader: whitespace (space, tab, line breaks) may sit between any two tokens, a
key may be followed by a line break before its colon, ``\\ud83d\\ude00`` pairs make one
character while a lone surrogate escape becomes U+FFFD (as Go decodes it), and duplicate
keys keep the last value (and are recorded). Numbers with an integral value are integers, as
they reach the API server. It is iterative, so nesting costs no recursion, and linear: every
token is matched once at its position.
"""

from __future__ import annotations

import json.decoder
import re
from array import array
from bisect import bisect_right
from collections.abc import Iterator
from functools import cache
from typing import Any

from kscan.input.scalars import ScalarError, json_number
from kscan.input.tree import ParseError, PosDict, Span, new_container

_LITERALS = {"true": True, "false": False, "null": None}
_scanstring = json.decoder.scanstring  # type: ignore[attr-defined]  # the C scanner


def looks_like_json(text: str) -> bool:
    """kubectl's test (``GuessJSONStream``): the first character that is not (Unicode)
    whitespace is ``{``."""
    return text.lstrip().startswith("{")


@cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """Whitespace, a number and a lone surrogate, compiled when a first JSON text is read."""
    return (
        re.compile(r"[ \t\n\r]*"),
        re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?"),
        re.compile("[\ud800-\udfff]"),
    )


class JsonReader:
    """Reads the values of one JSON text, each as data with the span of every key and item."""

    def __init__(self, text: str, max_depth: int, max_nodes: int) -> None:
        self.text = text
        self.max_depth, self.max_nodes = max_depth, max_nodes
        self._line_starts = array("q", [0])  # 8 bytes a line, not a list of int objects
        self._line_starts.extend(match.end() for match in re.finditer("\n", text))
        self.duplicates: list[tuple[PosDict, str, Span, Span, bool]] = []
        self.nodes = 0
        self._space, self._number, self._surrogate = _patterns()

    def values(self) -> Iterator[tuple[Any, Span]]:
        """Each top-level value and its span, in order; raises ParseError at the first problem
        (the values before it have been yielded)."""
        text = self.text
        position = self._space.match(text, 0).end()  # type: ignore[union-attr]
        while position < len(text):
            self.duplicates = []
            self.nodes = 0
            start = position
            value, position = self._value(position)
            yield value, self._span(start, position)
            position = self._space.match(text, position).end()  # type: ignore[union-attr]

    def where(self, offset: int) -> tuple[int, int]:
        """1-based line and column (in code points) of an offset."""
        line = bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    def _span(self, start: int, end: int) -> Span:
        return Span(*self.where(start), *self.where(end))

    def _fail(self, message: str, offset: int) -> ParseError:
        return ParseError(f"invalid JSON: {message}", *self.where(offset))

    def _value(self, position: int) -> tuple[Any, int]:
        """One value from ``position``, containers built with an explicit stack."""
        text = self.text
        stack: list[_Open] = []
        while True:
            position = self._space.match(text, position).end()  # type: ignore[union-attr]
            start = position
            char = text[position : position + 1]
            if char in ("{", "["):
                if len(stack) >= self.max_depth:
                    raise ParseError(
                        f"document is nested more than {self.max_depth} levels deep "
                        "(--max-depth raises the limit)",
                        *self.where(position),
                    )
                self._count(position)
                opened = _Open(char == "{", start)
                stack.append(opened)
                position = self._space.match(text, position + 1).end()  # type: ignore[union-attr]
                closer = "}" if opened.is_object else "]"
                if text.startswith(closer, position):
                    position += 1
                    value: Any = stack.pop().value
                    is_container = True
                elif opened.is_object:
                    position = self._key(opened, position)
                    continue
                else:
                    continue
            else:
                value, position = self._scalar(position)
                is_container = False
            # a value is complete: hand it to the enclosing container, closing those it ends
            while True:
                if not stack:
                    return value, position
                parent = stack[-1]
                parent.add(value, self._item_span(parent, start, position, is_container), self)
                position = self._space.match(text, position).end()  # type: ignore[union-attr]
                char = text[position : position + 1]
                closer = "}" if parent.is_object else "]"
                if char == ",":
                    position += 1
                    if parent.is_object:
                        position = self._key(parent, position)
                    break
                if char != closer:
                    raise self._fail(
                        f"expected ',' or '{closer}' after an "
                        f"{'object member' if parent.is_object else 'array item'}",
                        position,
                    )
                position += 1
                stack.pop()
                value, start, is_container = parent.value, parent.start, True

    def _key(self, container: _Open, position: int) -> int:
        """Read ``"key":`` at ``position`` into the open object; returns where the value starts."""
        text = self.text
        position = self._space.match(text, position).end()  # type: ignore[union-attr]
        if not text.startswith('"', position):
            raise self._fail("expected a string key", position)
        key, end = self._string(position)
        container.key, container.key_start, container.key_end = key, position, end
        position = self._space.match(text, end).end()  # type: ignore[union-attr]
        if not text.startswith(":", position):
            raise self._fail("expected ':' after an object key", position)
        self._count(position)
        return position + 1

    def _item_span(self, parent: _Open, start: int, end: int, is_container: bool) -> Span:
        if parent.is_object:
            key_start = parent.key_start
            return self._span(key_start, parent.key_end if is_container else end)
        return self._span(start, start + 1) if is_container else self._span(start, end)

    def _scalar(self, position: int) -> tuple[Any, int]:
        text = self.text
        self._count(position)
        char = text[position : position + 1]
        if char == '"':
            return self._string(position)
        match = self._number.match(text, position)
        if match:
            is_integer = match.group(1) is None and match.group(2) is None
            literal = match.group()
            # beyond 20 characters an integer is no int64: read it as the float Go would make
            number = int(literal) if is_integer and len(literal) <= 20 else float(literal)
            try:  # as Kubernetes' unstructured decoding reads it: int64 if it fits, else float
                return json_number(number), match.end()
            except ScalarError:
                raise self._fail("a number out of range", position) from None
        for word, value in _LITERALS.items():
            if text.startswith(word, position):
                return value, position + len(word)
        raise self._fail("expected a value" if char else "unexpected end of input", position)

    def _string(self, position: int) -> tuple[str, int]:
        try:
            value, end = _scanstring(self.text, position + 1, True)
        except ValueError:
            raise self._fail(
                "bad string (an unescaped control character, a bad escape or no closing quote)",
                position,
            ) from None
        if "\\u" in self.text[position:end] and self._surrogate.search(value):
            value = self._surrogate.sub("\ufffd", value)  # Go's decoder replaces lone surrogates
        return value, end

    def _count(self, position: int) -> None:
        self.nodes += 1
        if self.nodes > self.max_nodes:
            raise ParseError(
                f"document has more than {self.max_nodes:,} nodes (--max-nodes raises the limit)",
                *self.where(position),
            )


class _Open:
    """An object or array being read."""

    __slots__ = ("is_object", "key", "key_end", "key_start", "start", "value")

    def __init__(self, is_object: bool, start: int) -> None:
        self.is_object = is_object
        self.start = start
        self.value: Any = new_container(is_object)
        self.key = ""
        self.key_start = self.key_end = start

    def add(self, value: Any, span: Span, reader: JsonReader) -> None:
        container = self.value
        if self.is_object:
            key = self.key
            if key in container:
                reader.duplicates.append((container, key, container.pos[key], span, True))
            container[key] = value
            container.pos[key] = span
        else:
            container.append(value)
            container.pos.append(span)
